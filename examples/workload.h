/*
 * workload.h: what the files of gyre-workload share: the options of a run,
 * a worker thread's counters and latency histogram, and the error helpers
 * that end the program on any failure. It exists so that the report of a
 * run (report.c) can live apart from the workload that produces it
 * (workload.c) while both read the same structs. Private to examples/; like
 * workload.c, it serves the "load benchmarks" use of DESIGN.md, "Who uses
 * it, and for what".
 */
#ifndef WORKLOAD_H
#define WORKLOAD_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define LAT_BUCKETS 64         /* log2 buckets of nanoseconds */

/* The command line of a run (options_parse in workload.c). */
struct options {
	uint32_t threads;
	double seconds;
	uint32_t table;
	uint64_t seed;
	bool json;
};

/* One worker thread's state. Allocated with calloc, which gyre does not
 * scan: it must hold no gyre pointers. */
struct worker {
	pthread_t thread;
	uint32_t index;
	uint32_t table;      /* keys are 0 .. table-1 */
	uint64_t rng;
	uint64_t requests;
	uint64_t critical;   /* requests served under gyre_disable */
	uint64_t bad;        /* reads that found a missing or damaged document */
	uint64_t lat_max_ns;
	uint64_t lat[LAT_BUCKETS];  /* bucket i: [2^i, 2^(i+1)) ns; 0 from 0 */
};

/* Prints "gyre-workload: <what>: <why>" and exits with a failure. */
_Noreturn void die(const char *what, const char *why);

/* Dies unless a gyre call returned GYRE_OK: this program expects none of
 * them to fail. */
void check(int status, const char *what);

#endif
