/*
 * report.h: the report gyre-workload prints after a run: request throughput
 * and latency percentiles from the workers' own histograms, and collection
 * pauses and heap figures from gyre_stats_get, as a table or as one JSON
 * object. It is apart from workload.c because it only reads what the run
 * left behind; it serves the "load benchmarks" use of DESIGN.md, "Who uses
 * it, and for what" (GC behaviour under load must be observable).
 */
#ifndef WORKLOAD_REPORT_H
#define WORKLOAD_REPORT_H

#include <stdbool.h>
#include <stdint.h>

#include <gyre.h>

#include "workload.h"

/* What the report shows, gathered once for both formats. */
struct report {
	const struct options *opt;
	double elapsed_s;
	uint64_t requests, critical, bad;
	double lat_us[4];     /* p50, p99, p99.9, max */
	double pause_ms[4];   /* total, max, p50, p99 */
	gyre_stats gc;
	uint64_t peak_rss;    /* bytes */
	bool intact;          /* the final check passed */
};

/* Sums the counters and latency histograms of the opt->threads workers in
 * `ws` into r, with the latency percentiles. */
void report_requests(struct report *r, const struct worker *ws);

/* Reads gyre's statistics, the pause percentiles and the peak RSS into r. */
void report_gc(struct report *r);

/* Prints r to stdout as a table, or as one line of JSON. */
void report_table(const struct report *r);
void report_json(const struct report *r);

#endif
