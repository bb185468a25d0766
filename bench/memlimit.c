/*
 * memlimit.c: the soft memory limit (issue 20 item 3; gyre.h,
 * gyre_config.memory_limit). gyre only.
 *
 * Phase 1, "fits": a table of 1 KiB objects is filled to --start-mb of
 * live data, then grows steadily to --end-percent of --limit-mb over
 * --seconds while the program churns: every step makes a 1 KiB object
 * and works on it (--work rounds over its bytes), keeps it in a new slot
 * if the table is behind its schedule, else replaces a random entry with
 * it one step in eight (the old one dies in generation 2) or drops it,
 * and makes 256 bytes of short-lived garbage. A thread that is not
 * attached samples the process's resident set (/proc/self/statm) and
 * gyre_stats.memory_total every 10 ms; the phase reports their peaks
 * against the limit and the target, limit + 5%.
 *
 * Phase 2, "exceeds": the table keeps growing, past the limit, until an
 * allocation fails; it reports how long after the limit was passed that
 * came (the heap may grow to --max-mb, twice the limit by default), its
 * status (GYRE_ENOMEM expected), and the collector's share of the
 * phase's wall time: pauses (gyre_stats.pause_total_ns) and the
 * collector thread's CPU time (/proc/self/task/.../stat, "gyre-marker"),
 * against the cap of half.
 *
 * Exits 1 if an entry of the table does not hold what was written into
 * it (checked when it is replaced and at the end of phase 1), or phase 2
 * ends in anything but GYRE_ENOMEM.
 *
 * Usage: memlimit [--limit-mb N] [--start-mb N] [--end-percent P]
 *                 [--seconds S] [--max-mb N] [--work N]
 */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <gyre.h>

#define MIB ((size_t)1 << 20)
/* 8 header bytes and 1016 of payload: a 1 KiB size class. */
#define PAYLOAD 1016
#define OBJECT_BYTES 1024

static struct {
	size_t limit_mb, start_mb, end_percent, max_mb, work;
	double seconds;
} opt = {1024, 100, 90, 0, 1000, 20.0};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t rng = 88172645463325252ull;

static uint64_t next_random(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* ------------------------------------------------------------ sampling */

/* Relaxed: peaks read by the main thread after the sampler has stopped
 * (pthread_join orders them), or as progress figures. */
static struct {
	_Atomic bool stop;
	_Atomic uint64_t peak_rss, peak_total;
} smp;

static uint64_t rss_bytes(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	unsigned long size = 0, resident = 0;
	if (f) {
		if (fscanf(f, "%lu %lu", &size, &resident) != 2)
			resident = 0;
		fclose(f);
	}
	return (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE);
}

static void *sampler(void *arg)
{
	(void)arg;
	while (!atomic_load_explicit(&smp.stop, memory_order_relaxed)) {
		uint64_t rss = rss_bytes();
		gyre_stats s;
		gyre_stats_get(&s);
		if (rss > atomic_load_explicit(&smp.peak_rss, memory_order_relaxed))
			atomic_store_explicit(&smp.peak_rss, rss, memory_order_relaxed);
		if (s.memory_total > atomic_load_explicit(&smp.peak_total, memory_order_relaxed))
			atomic_store_explicit(&smp.peak_total, s.memory_total,
					      memory_order_relaxed);
		nanosleep(&(struct timespec){.tv_nsec = 10000000}, NULL);
	}
	return NULL;
}

/* The CPU time of gyre's collector thread, from /proc. */
static uint64_t marker_cpu_ns(void)
{
	DIR *d = opendir("/proc/self/task");
	uint64_t ns = 0;
	struct dirent *e;
	while (d && (e = readdir(d))) {
		char path[300], buf[1024];
		snprintf(path, sizeof(path), "/proc/self/task/%s/stat", e->d_name);
		FILE *f = fopen(path, "r");
		if (!f)
			continue;
		size_t n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[n] = '\0';
		char *paren = strrchr(buf, ')');
		unsigned long long ut, st;
		if (strstr(buf, "(gyre-marker)") && paren &&
		    sscanf(paren + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
			   &ut, &st) == 2)
			ns += (ut + st) * (1000000000ull / (uint64_t)sysconf(_SC_CLK_TCK));
	}
	if (d)
		closedir(d);
	return ns;
}

/* ------------------------------------------------------------ workload */

static void **table;
static size_t cap, filled;

/* Writes the object's pattern (its slot) and works on it. */
static void *make(size_t slot)
{
	uint64_t *p = gyre_alloc_bytes(PAYLOAD);
	if (!p)
		return NULL;
	p[0] = slot;
	char *c = (char *)(p + 1);
	for (size_t i = 0; i < opt.work; i++)
		c[i % (PAYLOAD - 8)] += (char)i;
	return p;
}

static void check(size_t slot)
{
	uint64_t *p = table[slot];
	if (!p || p[0] != slot) {
		fprintf(stderr, "memlimit: entry %zu damaged\n", slot);
		exit(1);
	}
}

/* One step; false if the allocation failed. */
static bool step(bool grow)
{
	size_t slot = grow ? filled : next_random() % filled;
	void *obj = make(slot);
	if (!obj)
		return false;
	for (unsigned i = 0; i < 4; i++)
		if (!gyre_alloc_bytes(56))
			return false;
	if (grow) {
		GYRE_STORE_AT(table, filled, obj);
		filled++;
	} else if (next_random() % 8 == 0) {
		check(slot);
		GYRE_STORE_AT(table, slot, obj);
	}
	return true;
}

static void usage(void)
{
	fprintf(stderr, "usage: memlimit [--limit-mb N] [--start-mb N] [--end-percent P] "
		"[--seconds S] [--max-mb N] [--work N]\n");
	exit(2);
}

static void parse(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (i + 1 >= argc)
			usage();
		const char *a = argv[i], *v = argv[++i];
		if (!strcmp(a, "--limit-mb"))
			opt.limit_mb = strtoul(v, NULL, 10);
		else if (!strcmp(a, "--start-mb"))
			opt.start_mb = strtoul(v, NULL, 10);
		else if (!strcmp(a, "--end-percent"))
			opt.end_percent = strtoul(v, NULL, 10);
		else if (!strcmp(a, "--seconds"))
			opt.seconds = strtod(v, NULL);
		else if (!strcmp(a, "--max-mb"))
			opt.max_mb = strtoul(v, NULL, 10);
		else if (!strcmp(a, "--work"))
			opt.work = strtoul(v, NULL, 10);
		else
			usage();
	}
	if (!opt.max_mb)
		opt.max_mb = 2 * opt.limit_mb;
	if (!opt.limit_mb || opt.start_mb >= opt.limit_mb * opt.end_percent / 100)
		usage();
}

int main(int argc, char **argv)
{
	parse(argc, argv);
	size_t limit = opt.limit_mb * MIB;
	gyre_config c = {.memory_limit = limit, .heap_max = opt.max_mb * MIB,
			 .heap_min = limit / 32};
	if (gyre_init(&c) || gyre_thread_attach()) {
		fprintf(stderr, "memlimit: gyre_init failed: %s\n",
			gyre_strerror(gyre_last_error()));
		return 1;
	}
	cap = opt.max_mb * MIB / OBJECT_BYTES;
	/* The table is a large object outside what the limit's live target
	 * counts as the program's data, so it is sized for phase 2 too. */
	table = gyre_alloc_array(GYRE_TYPE_PTR, cap);
	if (!table || gyre_root_add(&table, sizeof(table)))
		return 1;
	size_t start = opt.start_mb * MIB / OBJECT_BYTES;
	size_t end = limit / 100 * opt.end_percent / OBJECT_BYTES - cap * sizeof(void *) /
									 OBJECT_BYTES;
	pthread_t th;
	pthread_create(&th, NULL, sampler, NULL);

	uint64_t t0 = now_ns();
	while (filled < start)
		if (!step(true))
			return 1;
	uint64_t t1 = now_ns();
	double span = opt.seconds * 1e9;
	while (filled < end) {
		double done = (double)(now_ns() - t1) / span;
		size_t due = start + (size_t)((end - start) * (done < 1 ? done : 1));
		if (!step(filled < due)) {
			fprintf(stderr, "memlimit: allocation failed in phase 1 (%s)\n",
				gyre_strerror(gyre_last_error()));
			return 1;
		}
	}
	for (size_t i = 0; i < filled; i++)
		check(i);
	uint64_t t2 = now_ns();
	gyre_stats s1;
	gyre_stats_get(&s1);
	uint64_t rss1 = atomic_load_explicit(&smp.peak_rss, memory_order_relaxed);
	uint64_t total1 = atomic_load_explicit(&smp.peak_total, memory_order_relaxed);
	printf("fits: live %.0f -> %.0f MiB (%zu%% of the %zu MiB limit) in %.1f s (fill %.1f s): "
	       "peak RSS %.1f MiB, peak gyre total %.1f MiB (target %.1f MiB); "
	       "gen-2 collections %llu, reached %llu, exceeded %llu, pauses %.0f ms\n",
	       start * (double)OBJECT_BYTES / MIB, end * (double)OBJECT_BYTES / MIB,
	       opt.end_percent, opt.limit_mb, (t2 - t0) / 1e9, (t1 - t0) / 1e9, rss1 / 1048576.0,
	       total1 / 1048576.0, limit * 1.05 / 1048576.0,
	       (unsigned long long)s1.gen[2].collections,
	       (unsigned long long)s1.memory_limit_reached,
	       (unsigned long long)s1.memory_limit_exceeded, s1.pause_total_ns / 1e6);

	/* Phase 2: grows until an allocation fails; timed from when the
	 * live data passes the limit. */
	uint64_t marker0 = 0, t3 = 0;
	gyre_stats s3 = {0};
	while (filled < cap) {
		if (!t3 && (filled + cap * sizeof(void *) / OBJECT_BYTES) * OBJECT_BYTES >= limit) {
			t3 = now_ns();
			marker0 = marker_cpu_ns();
			gyre_stats_get(&s3);
		}
		if (!step(true))
			break;
	}
	uint64_t t4 = now_ns();
	int status = gyre_last_error();
	gyre_stats s4;
	gyre_stats_get(&s4);
	double wall = (double)(t4 - t3);
	double pauses = (double)(s4.pause_total_ns - s3.pause_total_ns);
	double marker = (double)(marker_cpu_ns() - marker0);
	printf("exceeds: %s after %.0f MiB live, %.1f s after passing the limit; heap %.0f MiB; "
	       "collector share %.0f%% (pauses %.0f ms, collector thread %.0f ms, of %.0f ms); "
	       "reached %llu, exceeded %llu; held back %.0f ms, refused %llu\n",
	       status == GYRE_ENOMEM ? "GYRE_ENOMEM" : gyre_strerror(status),
	       filled * (double)OBJECT_BYTES / MIB, wall / 1e9, s4.heap_size / 1048576.0,
	       100 * (pauses + marker) / wall, pauses / 1e6, marker / 1e6, wall / 1e6,
	       (unsigned long long)s4.memory_limit_reached,
	       (unsigned long long)s4.memory_limit_exceeded,
	       (s4.memory_limit_held_ns - s3.memory_limit_held_ns) / 1e6,
	       (unsigned long long)s4.memory_limit_refused);
	atomic_store_explicit(&smp.stop, true, memory_order_relaxed);
	pthread_join(th, NULL);
	gyre_root_remove(&table);
	gyre_thread_detach();
	gyre_shutdown();
	return status == GYRE_ENOMEM ? 0 : 1;
}
