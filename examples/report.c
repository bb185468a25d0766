/*
 * report.c: gathers and prints gyre-workload's report (see report.h). The
 * percentiles come from log2 histograms, the workers' latency histograms
 * and gyre's pause histogram alike, so one estimator serves both; the
 * figures are gathered once into a struct report and then printed in
 * either format, so that the table and the JSON always agree.
 */
#include "report.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

/* Estimates quantile q of a log2 histogram whose bucket i holds values in
 * [2^i, 2^(i+1)) (bucket 0 from 0). Where values fall inside a bucket is
 * unknown, so it interpolates linearly there, and it never exceeds the
 * exact maximum, which callers know. */
static double hist_quantile(const uint64_t *buckets, unsigned n, double q,
	double max)
{
	uint64_t total = 0, below = 0;
	for (unsigned i = 0; i < n; i++)
		total += buckets[i];
	if (total == 0)
		return 0;
	double rank = q * (double)total;
	for (unsigned i = 0; i < n; i++) {
		if (buckets[i] && (double)(below + buckets[i]) >= rank) {
			double lo = i ? (double)(UINT64_C(1) << i) : 0;
			double hi = i ? 2 * lo : 2;
			double v = lo + (hi - lo) * (rank - (double)below)
				/ (double)buckets[i];
			return v < max ? v : max;
		}
		below += buckets[i];
	}
	return max;
}

void report_requests(struct report *r, const struct worker *ws)
{
	uint64_t lat[LAT_BUCKETS] = { 0 }, max_ns = 0;
	for (uint32_t i = 0; i < r->opt->threads; i++) {
		r->requests += ws[i].requests;
		r->critical += ws[i].critical;
		r->bad += ws[i].bad;
		for (unsigned b = 0; b < LAT_BUCKETS; b++)
			lat[b] += ws[i].lat[b];
		if (ws[i].lat_max_ns > max_ns)
			max_ns = ws[i].lat_max_ns;
	}
	static const double q[3] = { 0.5, 0.99, 0.999 };
	for (unsigned i = 0; i < 3; i++)
		r->lat_us[i] = hist_quantile(lat, LAT_BUCKETS, q[i],
			(double)max_ns) / 1e3;
	r->lat_us[3] = (double)max_ns / 1e3;
}

void report_gc(struct report *r)
{
	check(gyre_stats_get(&r->gc), "gyre_stats_get");
	double max_us = (double)r->gc.pause_max_ns / 1e3;
	r->pause_ms[0] = (double)r->gc.pause_total_ns / 1e6;
	r->pause_ms[1] = max_us / 1e3;
	r->pause_ms[2] = hist_quantile(r->gc.pause_histogram,
		GYRE_PAUSE_BUCKETS, 0.5, max_us) / 1e3;
	r->pause_ms[3] = hist_quantile(r->gc.pause_histogram,
		GYRE_PAUSE_BUCKETS, 0.99, max_us) / 1e3;

	struct rusage ru;
	if (getrusage(RUSAGE_SELF, &ru) != 0)
		die("getrusage", strerror(errno));
	r->peak_rss = (uint64_t)ru.ru_maxrss * 1024;  /* Linux: KiB */
}

static double mib(uint64_t bytes)
{
	return (double)bytes / (1024.0 * 1024.0);
}

void report_table(const struct report *r)
{
	const gyre_stats *gc = &r->gc;
	printf("gyre-workload: %" PRIu32 " threads, %.2f s, table %" PRIu32
		", seed %" PRIu64 "\n", r->opt->threads, r->elapsed_s,
		r->opt->table, r->opt->seed);
	printf("requests\n  done           %12" PRIu64 "\n"
		"  per second     %12.0f\n  critical       %12" PRIu64
		"  (gyre_disable)\n", r->requests,
		(double)r->requests / r->elapsed_s, r->critical);
	printf("  latency p50    %12.1f us\n  latency p99    %12.1f us\n"
		"  latency p99.9  %12.1f us\n  latency max    %12.1f us\n",
		r->lat_us[0], r->lat_us[1], r->lat_us[2], r->lat_us[3]);
	printf("gc (since gyre_init, cache fill included)\n"
		"  collections    %12" PRIu64 "\n  pauses         %12" PRIu64
		"\n", gc->collections, gc->pause_count);
	printf("  pause total    %12.3f ms\n  pause max      %12.3f ms\n"
		"  pause p50      %12.3f ms  (from histogram)\n"
		"  pause p99      %12.3f ms  (from histogram)\n",
		r->pause_ms[0], r->pause_ms[1], r->pause_ms[2], r->pause_ms[3]);
	for (int g = 0; g < 3; g++) {
		const gyre_gen_stats *gs = &gc->gen[g];
		double max_us = (double)gs->pause_max_ns / 1e3;
		printf("  gen %d          %12" PRIu64 " collections, pause p99 "
			"%.3f ms, max %.3f ms, %" PRIu64 " objects promoted\n", g,
			gs->collections,
			hist_quantile(gs->pause_histogram, GYRE_PAUSE_BUCKETS, 0.99,
				      max_us) / 1e3, max_us / 1e3,
			gs->objects_promoted);
	}
	printf("  allocated      %12.1f MiB\n  freed          %12.1f MiB\n"
		"  heap now       %12.1f MiB\n  heap live      %12.1f MiB"
		"  (after the last collection)\n  heap max       %12.1f MiB\n",
		mib(gc->bytes_allocated), mib(gc->bytes_freed),
		mib(gc->heap_size), mib(gc->heap_live), mib(gc->heap_max));
	printf("process\n  peak RSS       %12.1f MiB\n"
		"check            %s\n", mib(r->peak_rss),
		r->intact ? "ok: every entry present, every document intact"
			: "FAILED");
}

void report_json(const struct report *r)
{
	const gyre_stats *gc = &r->gc;
	printf("{\"threads\": %" PRIu32 ", \"seconds\": %.3f, \"table\": %"
		PRIu32 ", \"seed\": %" PRIu64 ", ", r->opt->threads,
		r->elapsed_s, r->opt->table, r->opt->seed);
	printf("\"requests\": %" PRIu64 ", \"requests_per_s\": %.1f, "
		"\"critical_requests\": %" PRIu64 ", ", r->requests,
		(double)r->requests / r->elapsed_s, r->critical);
	printf("\"latency_us\": {\"p50\": %.3f, \"p99\": %.3f, "
		"\"p99_9\": %.3f, \"max\": %.3f}, ",
		r->lat_us[0], r->lat_us[1], r->lat_us[2], r->lat_us[3]);
	printf("\"gc\": {\"collections\": %" PRIu64 ", \"pause_count\": %"
		PRIu64 ", \"pause_total_ms\": %.3f, \"pause_max_ms\": %.3f, "
		"\"pause_p50_ms\": %.3f, \"pause_p99_ms\": %.3f, ",
		gc->collections, gc->pause_count, r->pause_ms[0],
		r->pause_ms[1], r->pause_ms[2], r->pause_ms[3]);
	printf("\"bytes_allocated\": %" PRIu64 ", \"bytes_freed\": %" PRIu64
		", \"heap_size\": %" PRIu64 ", \"heap_live\": %" PRIu64
		", \"heap_max\": %" PRIu64 "}, ", gc->bytes_allocated,
		gc->bytes_freed, gc->heap_size, gc->heap_live, gc->heap_max);
	printf("\"peak_rss_bytes\": %" PRIu64 ", \"check\": \"%s\"}\n",
		r->peak_rss, r->intact ? "ok" : "failed");
}
