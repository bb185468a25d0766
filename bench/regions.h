/*
 * regions.h: churn's --regions N (issue 20's measure of no-GC regions): a
 * thread of its own opens N regions a second, each with a budget of 64 KiB
 * around REGION_WORK small allocations (a latency-critical step of a
 * request), sleeping between them in a blocking region. For gyre, an
 * event callback notes when every collection's pause ended, and the
 * thread notes each region that kept to its budget, from the return of
 * its begin to the call of its end; at the end, the collections whose
 * pause ended inside one of those are counted (gyre promises none). That
 * is exact: the region thread is stopped for the whole of every pause, so
 * a pause ends inside its region if and only if the thread stopped for it
 * there (a pause requested inside a region that runs once it has ended is
 * not one of them). With --regions-off the thread does the same work
 * without opening regions, which shows how many collections would have
 * run inside them. A run with regions and any collection inside one exits
 * with status 1.
 * Included by churn.c only (its mm.h and measure.h before it).
 */
#ifndef BENCH_REGIONS_H
#define BENCH_REGIONS_H

#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#define REGION_BUDGET (64 * 1024)
#define REGION_WORK 32         /* allocations of REGION_BYTES per region */
#define REGION_BYTES 256
#define REGIONS_MAX (1 << 20)  /* regions and collections noted, at most */

static struct {
	long per_s;                 /* regions a second; 0: no thread */
	bool off;                   /* the work without the regions */
	atomic_bool stop;
	pthread_t thread;
	/* The region thread's, read after it is joined. */
	uint64_t (*kept)[2];        /* [begun, ending) of regions within budget */
	uint64_t n_kept, opened, overrun;
	uint64_t sink;              /* what the work read, kept */
	/* Collections' pause ends, from the event callback (any thread). */
	uint64_t *ends;
	atomic_uint_fast64_t n_ends;
} regions;

static void regions_note_end(uint64_t time_ns)
{
	uint64_t i = atomic_fetch_add(&regions.n_ends, 1);

	if (i < REGIONS_MAX)
		regions.ends[i] = time_ns;
}

/* One region and its work; notes it if it kept to its budget. */
static void regions_one(void)
{
	bool opened = !regions.off && mm_critical_begin(REGION_BUDGET);
	uint64_t t0 = now_ns(), t1;
	uint64_t sink = 0;

	for (int i = 0; i < REGION_WORK; i++) {
		uint8_t *p = mm_alloc_bytes(REGION_BYTES);

		p[i] = (uint8_t)i;
		sink += p[0];
	}
	t1 = now_ns();
	regions.sink += sink;
	regions.opened += opened;
	if (!mm_critical_end(opened)) {
		regions.overrun++;
	} else if (regions.n_kept < REGIONS_MAX) {
		regions.kept[regions.n_kept][0] = t0;
		regions.kept[regions.n_kept++][1] = t1;
	}
}

static void *regions_main(void *arg)
{
	struct timespec next;

	(void)arg;
	mm_thread_attach();
	clock_gettime(CLOCK_MONOTONIC, &next);
	while (!atomic_load(&regions.stop)) {
		regions_one();
		next.tv_nsec += 1000000000L / regions.per_s;
		next.tv_sec += next.tv_nsec / 1000000000L;
		next.tv_nsec %= 1000000000L;
		MM_BLOCKING_BEGIN();
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
		MM_BLOCKING_END();
	}
	mm_thread_detach();
	return NULL;
}

static int regions_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Collections whose pause ended inside a region that kept to its budget
 * (both lists sorted by time: the regions' as the one thread noted them). */
static uint64_t regions_violations(void)
{
	uint64_t n = atomic_load(&regions.n_ends), bad = 0, k = 0;

	n = n < REGIONS_MAX ? n : REGIONS_MAX;
	qsort(regions.ends, n, sizeof(uint64_t), regions_cmp);
	for (uint64_t i = 0; i < n; i++) {
		while (k < regions.n_kept && regions.kept[k][1] < regions.ends[i])
			k++;
		bad += k < regions.n_kept && regions.kept[k][0] <= regions.ends[i];
	}
	return bad;
}

/* Before the workers start (main attached): the callback and the thread. */
static void regions_start(void)
{
	if (regions.per_s == 0)
		return;
	regions.kept = calloc(REGIONS_MAX, sizeof(regions.kept[0]));
	regions.ends = calloc(REGIONS_MAX, sizeof(uint64_t));
	if (!regions.kept || !regions.ends)
		mm_die("regions", "out of memory");
	mm_on_collection(regions_note_end);
	mm_thread_create(&regions.thread, regions_main, NULL);
}

/* After the workers have ended (main in a blocking region or not). */
static void regions_stop(void)
{
	if (regions.per_s == 0)
		return;
	atomic_store(&regions.stop, true);
	MM_BLOCKING_BEGIN();
	mm_thread_join(regions.thread);
	MM_BLOCKING_END();
}

/* Prints the figures; false if a collection ran inside a region. */
static bool regions_report(void)
{
	uint64_t inside;

	if (regions.per_s == 0)
		return true;
	inside = regions_violations();
	printf("  regions%s: %llu opened, %llu over budget, %llu kept; "
	       "collections: %llu, inside a kept region: %llu\n",
	       regions.off ? " (off: the work alone)" : "",
	       (unsigned long long)regions.opened,
	       (unsigned long long)regions.overrun,
	       (unsigned long long)regions.n_kept,
	       (unsigned long long)atomic_load(&regions.n_ends),
	       (unsigned long long)inside);
	return regions.off || inside == 0;
}

#endif
