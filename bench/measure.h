/*
 * measure.h: what the newer macro workloads (binarytrees.c, churn.c,
 * mutator.c, shrink.c) share besides the memory manager: clocks, random
 * numbers, peak and current RSS, command-line numbers, a per-thread
 * latency histogram, and the JSON fields every workload reports (peak
 * RSS, collections, and the collectors' pauses from mm_pauses_get).
 * Include it after mm.h. Everything is static and inline: each workload is
 * still one translation unit, built once per manager.
 */
#ifndef BENCH_MEASURE_H
#define BENCH_MEASURE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "mm.h"

static inline uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* xorshift64: the workloads' random numbers (s must not be 0). */
static inline uint64_t rng_next(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

/* Uniform in [0, n). */
static inline uint32_t rng_below(uint64_t *s, uint32_t n)
{
	return (uint32_t)((rng_next(s) >> 32) * n >> 32);
}

/* Peak resident set of the whole process, in KiB (Linux's ru_maxrss unit). */
static inline long peak_rss_kb(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return -1;
	return ru.ru_maxrss;
}

/* The resident set of the whole process now, in KiB, as the kernel counts
 * it (/proc/self/statm: anonymous, file and shared pages); -1 if unknown.
 * A few microseconds: a system call's worth of reading. */
static inline long rss_kb(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	long size, resident = -1;

	if (f == NULL)
		return -1;
	if (fscanf(f, "%ld %ld", &size, &resident) != 2)
		resident = -1;
	fclose(f);
	return resident < 0 ? -1 : resident * (sysconf(_SC_PAGESIZE) / 1024);
}

/* The number after argv[*k], in [lo, hi], or false (the caller prints its
 * usage). Advances *k past it. */
static inline bool double_arg(int argc, char **argv, int *k, double lo,
                              double hi, double *out)
{
	char *end;

	if (++*k >= argc)
		return false;
	*out = strtod(argv[*k], &end);
	return *argv[*k] != '\0' && *end == '\0' && *out >= lo && *out <= hi;
}

static inline bool long_arg(int argc, char **argv, int *k, long lo, long hi,
                            long *out)
{
	char *end;

	if (++*k >= argc)
		return false;
	*out = strtol(argv[*k], &end, 10);
	return *argv[*k] != '\0' && *end == '\0' && *out >= lo && *out <= hi;
}

/* The upper bound, in microseconds, of the histogram bucket that holds
 * the q-quantile pause (0 when there are none). */
static inline uint64_t pause_quantile_us(const uint64_t *hist, double q)
{
	uint64_t n = 0, seen = 0;

	for (int b = 0; b < MM_PAUSE_BUCKETS; b++)
		n += hist[b];
	for (int b = 0; b < MM_PAUSE_BUCKETS; b++) {
		seen += hist[b];
		if (n && (double)seen >= q * (double)n)
			return (uint64_t)2 << b;
	}
	return 0;
}

/* A pause histogram's buckets as a JSON array's elements, and its close. */
static inline void print_hist_json(const uint64_t *hist)
{
	for (int b = 0; b < MM_PAUSE_BUCKETS; b++)
		printf("%s%llu", b ? "," : "", (unsigned long long)hist[b]);
	printf("]");
}

/* Minor-collection fields (gyre only; null otherwise): count, max, the
 * bucket bound of the 99th percentile, and the histogram. */
static inline void print_minor_json(const struct mm_pauses *p)
{
	if (!p->minor_known) {
		printf(",\"minor_count\":null,\"minor_max_us\":null,"
		       "\"minor_p99_us_le\":null,\"minor_hist\":null");
		return;
	}
	printf(",\"minor_count\":%llu,\"minor_max_us\":%.1f,"
	       "\"minor_p99_us_le\":%llu,\"minor_hist\":[",
	       (unsigned long long)p->minor_count, (double)p->minor_max_ns / 1e3,
	       (unsigned long long)pause_quantile_us(p->minor_histogram, 0.99));
	print_hist_json(p->minor_histogram);
}

/* The minor pauses between two readings (`before`, then now), as
 * "<prefix>minor_p99_us_le" and "<prefix>minor_hist" (gyre only; null
 * otherwise): what a workload's measured window saw, without its setup. */
static inline void print_minor_window_json(const char *prefix,
                                           const struct mm_pauses *before)
{
	struct mm_pauses p;
	uint64_t h[MM_PAUSE_BUCKETS];

	mm_pauses_get(&p);
	if (!p.minor_known) {
		printf(",\"%sminor_p99_us_le\":null,\"%sminor_hist\":null", prefix,
		       prefix);
		return;
	}
	for (int b = 0; b < MM_PAUSE_BUCKETS; b++)
		h[b] = p.minor_histogram[b] - before->minor_histogram[b];
	printf(",\"%sminor_p99_us_le\":%llu,\"%sminor_hist\":[", prefix,
	       (unsigned long long)pause_quantile_us(h, 0.99), prefix);
	print_hist_json(h);
}

/* The JSON fields that follow a workload's own: peak RSS, collections, and
 * the pauses (null for the malloc managers, which have none). pause_hist
 * bucket i counts pauses in [2^i, 2^(i+1)) microseconds. */
static inline void print_mm_json(void)
{
	struct mm_pauses p;

	mm_pauses_get(&p);
	printf(",\"peak_rss_kb\":%ld,\"gc_count\":%llu", peak_rss_kb(),
	       (unsigned long long)mm_gc_count());
	if (!p.known) {
		printf(",\"pause_count\":null,\"pause_total_ms\":null,"
		       "\"pause_max_us\":null,\"pause_hist\":null");
		return;
	}
	printf(",\"pause_count\":%llu,\"pause_total_ms\":%.3f,"
	       "\"pause_max_us\":%.1f,\"pause_hist\":[",
	       (unsigned long long)p.count, (double)p.total_ns / 1e6,
	       (double)p.max_ns / 1e3);
	print_hist_json(p.histogram);
	print_minor_json(&p);
	if (p.minor_known)
		printf(",\"old_frag_pct\":%.1f,\"increments\":%llu",
		       p.old_block_bytes ? 100.0 * p.old_free_bytes / p.old_block_bytes : 0.0,
		       (unsigned long long)p.increments);
}

/* The same, for people. */
static inline void print_mm_text(void)
{
	struct mm_pauses p;

	mm_pauses_get(&p);
	printf("peak RSS %.1f MiB, %llu collections", peak_rss_kb() / 1024.0,
	       (unsigned long long)mm_gc_count());
	if (p.known)
		printf(", pauses: %llu, total %.1f ms, max %.1f ms",
		       (unsigned long long)p.count, (double)p.total_ns / 1e6,
		       (double)p.max_ns / 1e6);
	if (p.minor_known)
		printf("; minor: %llu, p99 <= %llu us, max %.2f ms",
		       (unsigned long long)p.minor_count,
		       (unsigned long long)pause_quantile_us(p.minor_histogram, 0.99),
		       (double)p.minor_max_ns / 1e6);
	printf("\n");
}

/* ------------------------------------------------------ latency histogram */

/* Log-linear: values below 2^LAT_SUB_BITS nanoseconds have a bucket each;
 * above, each power of two is cut into 2^LAT_SUB_BITS equal buckets, so a
 * bucket's width is at most 1/16 of its value (percentiles from it are
 * within 6.25%). LAT_TOP_EXP bounds the range at 2^40 ns (18 minutes). */
enum {
	LAT_SUB_BITS = 4,
	LAT_SUB = 1 << LAT_SUB_BITS,
	LAT_TOP_EXP = 40,
	LAT_BUCKETS = (LAT_TOP_EXP - LAT_SUB_BITS + 2) * LAT_SUB,
};

struct latency {
	uint64_t count[LAT_BUCKETS];
	uint64_t max_ns;
	uint64_t n;
};

static inline unsigned latency_bucket(uint64_t ns)
{
	unsigned e, b;

	if (ns < LAT_SUB)
		return (unsigned)ns;
	e = 63 - (unsigned)__builtin_clzll(ns);
	if (e > LAT_TOP_EXP)
		return LAT_BUCKETS - 1;
	b = (e - LAT_SUB_BITS + 1) * LAT_SUB +
	    (unsigned)((ns >> (e - LAT_SUB_BITS)) & (LAT_SUB - 1));
	return b;
}

/* The smallest value above every value of bucket b, in nanoseconds. */
static inline uint64_t latency_upper_ns(unsigned b)
{
	unsigned e;

	if (b < LAT_SUB)
		return b + 1;
	e = b / LAT_SUB + LAT_SUB_BITS - 1;
	return (uint64_t)(LAT_SUB + b % LAT_SUB + 1) << (e - LAT_SUB_BITS);
}

static inline void latency_add(struct latency *l, uint64_t ns)
{
	l->count[latency_bucket(ns)]++;
	l->n++;
	if (ns > l->max_ns)
		l->max_ns = ns;
}

static inline void latency_merge(struct latency *into, const struct latency *l)
{
	for (unsigned b = 0; b < LAT_BUCKETS; b++)
		into->count[b] += l->count[b];
	into->n += l->n;
	if (l->max_ns > into->max_ns)
		into->max_ns = l->max_ns;
}

/* The upper bound of the bucket holding quantile q, capped at the maximum
 * seen, in microseconds. */
static inline double latency_quantile_us(const struct latency *l, double q)
{
	uint64_t want = (uint64_t)(q * (double)l->n), seen = 0;

	for (unsigned b = 0; b < LAT_BUCKETS; b++) {
		seen += l->count[b];
		if (seen > want || seen == l->n) {
			uint64_t up = latency_upper_ns(b);
			return (double)(up < l->max_ns ? up : l->max_ns) / 1e3;
		}
	}
	return (double)l->max_ns / 1e3;
}

/* Two columns per non-empty bucket, upper bound in microseconds (capped at
 * the maximum seen) and the fraction of operations at or below it: the CDF. */
static inline bool latency_write(const struct latency *l, const char *path)
{
	FILE *f = fopen(path, "w");
	uint64_t seen = 0;

	if (f == NULL)
		return false;
	fprintf(f, "# upper_us cumulative_fraction (%llu operations)\n",
	        (unsigned long long)l->n);
	for (unsigned b = 0; b < LAT_BUCKETS; b++) {
		if (l->count[b] == 0)
			continue;
		uint64_t up = latency_upper_ns(b);

		seen += l->count[b];
		fprintf(f, "%.3f %.9f\n",
		        (double)(up < l->max_ns ? up : l->max_ns) / 1e3,
		        (double)seen / (double)l->n);
	}
	return fclose(f) == 0;
}

#endif /* BENCH_MEASURE_H */
