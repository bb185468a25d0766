/*
 * memlimit.c: the soft memory limit (gyre_config.memory_limit, issue 20
 * item 3; the policy in gyre.h).
 *
 * - configuration: GYRE_MEMORY_LIMIT with K/M/G, the struct field, the
 *   environment winning; bad input (a limit below heap_min, a malformed
 *   variable) is GYRE_EINVAL, named by checked builds;
 * - the default, the cgroup's limit, read from files that the test hook
 *   config_cgroup_paths points elsewhere: v2's memory.max, "max", v1's
 *   limit_in_bytes, v1's "unlimited", one below heap_min, none;
 * - fits: live data growing to 85% of a 128 MiB limit while the program
 *   replaces it and makes short-lived garbage keeps what gyre holds
 *   (gyre_stats.memory_total, and heap_committed) under the limit,
 *   sampled all along, and never lets the collector exceed its share;
 * - exceeds: live data growing past a 48 MiB limit (heap_max 192 MiB)
 *   ends in GYRE_ENOMEM within a bounded time, after the heap was let
 *   grow past the limit (counted, and the events delivered); the
 *   collector's share past the limit, its pauses and its thread's CPU
 *   time (/proc), stays under the cap;
 * - held: live data over the limit churned, without other work, with
 *   room under heap_max: the program runs on, its collections held back
 *   so that the collector's share stays under the cap (73-75% without);
 * - refused: the same churn with heap_max just above the live data:
 *   GYRE_ENOMEM at a full heap, without the collection that would only
 *   recover what died since the last (it ran to the deadline without);
 * - what memory_total counts: what is mapped ahead of the heap, large
 *   objects, and with jemalloc its freed pages until they are purged.
 *
 * The behaviour tests run with the verifier off whatever the build's
 * environment says: its checks run inside pauses, which count towards
 * the collector's share, so with it the policy under test would act on
 * the verifier's time.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gc/heap/prefault.h"
#include "harness.h"
#include "runtime/config.h"

#define MIB ((size_t)1 << 20)
/* 8 header bytes and 1016 of payload: 1 KiB objects, a size class. */
#define OBJECT_PAYLOAD 1016
#define OBJECT_BYTES 1024

/* --------------------------------------------------------------- events */

static struct {
	unsigned reached, exceeded;
	uint64_t limit;
} seen;

static void on_event(const gyre_event *ev, void *ctx)
{
	(void)ctx;
	if (ev->kind != GYRE_EVENT_MEMORY_LIMIT)
		return;
	if (!strcmp(ev->reason, "reached"))
		seen.reached++;
	else if (!strcmp(ev->reason, "exceeded"))
		seen.exceeded++;
	seen.limit = ev->budget;
}

static void up(size_t limit, size_t heap_max)
{
	setenv("GYRE_VERIFY", "0", 1);
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(gyre_init(&(gyre_config){.memory_limit = limit,
						   .heap_max = heap_max}), GYRE_OK);
	assert_int_equal(gyre_thread_attach(), GYRE_OK);
	assert_int_equal(gyre_callback_add(on_event, NULL), GYRE_OK);
}

static void down(void)
{
	assert_int_equal(gyre_callback_remove(on_event, NULL), GYRE_OK);
	assert_int_equal(gyre_thread_detach(), GYRE_OK);
	assert_int_equal(gyre_shutdown(), GYRE_OK);
	unsetenv("GYRE_VERIFY");
}

/* -------------------------------------------------------- configuration */

static char dir[64];
static char v2[96], v1[96];

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* The limit gyre_init would run with, the cgroup files holding `t2` and
 * `t1` (NULL: absent). */
static size_t resolved(const char *t2, const char *t1)
{
	unlink(v2);
	unlink(v1);
	if (t2)
		write_file(v2, t2);
	if (t1)
		write_file(v1, t1);
	gyre_config c;
	assert_int_equal(config_resolve(NULL, &c), GYRE_OK);
	return c.memory_limit;
}

static void test_cgroup_default(void **state)
{
	(void)state;
	unsetenv("GYRE_MEMORY_LIMIT");
	strcpy(dir, "/tmp/gyre-memlimit-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(v2, sizeof(v2), "%s/memory.max", dir);
	snprintf(v1, sizeof(v1), "%s/memory.limit_in_bytes", dir);
	config_cgroup_paths(v2, v1);
	assert_int_equal(resolved("100663296\n", NULL), 96 * MIB);
	assert_int_equal(resolved("max\n", "67108864\n"), 64 * MIB);
	assert_int_equal(resolved(NULL, "67108864\n"), 64 * MIB);
	/* v1's "unlimited", and a limit above physical memory. */
	assert_int_equal(resolved(NULL, "9223372036854771712\n"), 0);
	assert_int_equal(resolved("max\n", NULL), 0);
	assert_int_equal(resolved(NULL, NULL), 0);
	/* Below heap_min (32 MiB): not asked for, ignored. */
	assert_int_equal(resolved("1048576\n", NULL), 0);
	assert_int_equal(resolved("garbage\n", NULL), 0);
	/* The field and the environment win; GYRE_MEMORY_LIMIT=0 is none. */
	resolved("100663296\n", NULL);
	gyre_config c;
	assert_int_equal(config_resolve(&(gyre_config){.memory_limit = 200 * MIB}, &c),
			 GYRE_OK);
	assert_int_equal(c.memory_limit, 200 * MIB);
	setenv("GYRE_MEMORY_LIMIT", "0", 1);
	assert_int_equal(config_resolve(NULL, &c), GYRE_OK);
	assert_int_equal(c.memory_limit, 0);
	setenv("GYRE_MEMORY_LIMIT", "1G", 1);
	assert_int_equal(config_resolve(&(gyre_config){.memory_limit = 200 * MIB}, &c),
			 GYRE_OK);
	assert_int_equal(c.memory_limit, 1024 * MIB);
	setenv("GYRE_MEMORY_LIMIT", "65536k", 1);
	assert_int_equal(config_resolve(NULL, &c), GYRE_OK);
	assert_int_equal(c.memory_limit, 64 * MIB);
	unsetenv("GYRE_MEMORY_LIMIT");
	unlink(v2);
	unlink(v1);
	rmdir(dir);
	/* The other cases: no cgroup limit, whatever the machine's. */
	config_cgroup_paths("/nonexistent/memory.max", "/nonexistent/limit_in_bytes");
}

static int below_heap_min(void)
{
	return gyre_init(&(gyre_config){.heap_min = 32 * MIB, .memory_limit = 16 * MIB});
}

static int env_malformed(void)
{
	setenv("GYRE_MEMORY_LIMIT", "96X", 1);
	return gyre_init(NULL);
}

static int env_below_heap_min(void)
{
	setenv("GYRE_MEMORY_LIMIT", "1M", 1);
	return gyre_init(NULL);
}

static void test_bad_input(void **state)
{
	(void)state;
	harness_expect_misuse(below_heap_min, GYRE_EINVAL,
			      "memory_limit = 16777216 is below heap_min");
	harness_expect_misuse(env_malformed, GYRE_EINVAL,
			      "GYRE_MEMORY_LIMIT=\"96X\" is not a size");
	harness_expect_misuse(env_below_heap_min, GYRE_EINVAL,
			      "memory_limit = 1048576 is below heap_min");
}

/* ------------------------------------------------------------ behaviour */

static void sample(uint64_t *peak_total, uint64_t *peak_committed)
{
	gyre_stats s = harness_stats();
	if (s.memory_total > *peak_total)
		*peak_total = s.memory_total;
	if (s.heap_committed > *peak_committed)
		*peak_committed = s.heap_committed;
}

/* The program's own work on an object it made, timed so that every
 * build does as much (an optimised loop of writes took 0.3 us, and the
 * release build's runs ended within the cap's first window): the runs
 * last a few windows of the cap (a second each), and the collector's
 * share is that of a program that does more than allocate. The
 * sanitizers slow the collector several times over but not a timed
 * loop: under TSan, at 10 us, the collector passed half in `fits` and
 * the heap its limit (97.7 MiB), so the work there is as many times
 * longer. */
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
#define WORK_NS 40000
#else
#define WORK_NS 10000
#endif

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void work_for(char *p, size_t len, uint64_t ns)
{
	uint64_t end = now_ns() + ns;
	for (unsigned i = 0; now_ns() < end; i++)
		p[i % len] += (char)i;
}

static uint64_t rng = 88172645463325252ull;

static uint64_t next_random(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

#define FITS_LIMIT (128 * MIB)
/* 85% of the limit, the table and the side tables included. Not more:
 * what gyre holds besides the live data is counted whole (the side
 * tables, the metadata in the large objects' arena, what is mapped
 * ahead), and a nursery of up to 8 MiB, the reserve (1/32) and what the
 * replacements leave dead in generation 2 until a cycle frees it must
 * fit beside it. At 90% of 96 MiB they did not: the limit's collections
 * followed each other until the cap engaged (1 run in 3); it passed
 * before only because the 16 MiB mapped ahead of the heap were not
 * counted. */
#define FITS_OBJECTS (FITS_LIMIT / 100 * 85 / OBJECT_BYTES * 63 / 64)

/* A table of FITS_OBJECTS slots filled with 1 KiB objects, one step in
 * eight replacing one at random instead (leaving one dead in generation
 * 2), and 256 bytes of short-lived garbage made per step; then, with the
 * table full, the 1 KiB objects of seven steps in eight die young. */
static void test_fits(void **state)
{
	(void)state;
	up(FITS_LIMIT, 2 * FITS_LIMIT);
	void **table = gyre_alloc_array(GYRE_TYPE_PTR, FITS_OBJECTS);
	assert_non_null(table);
	size_t filled = 0;
	uint64_t peak_total = 0, peak_committed = 0;
	for (size_t step = 0; step < 2 * FITS_OBJECTS; step++) {
		void *obj = gyre_alloc_bytes(OBJECT_PAYLOAD);
		assert_non_null(obj);
		work_for(obj, OBJECT_PAYLOAD, WORK_NS);
		for (unsigned i = 0; i < 4; i++)
			assert_non_null(harness_launder(gyre_alloc_bytes(56)));
		if (step % 8 == 7)
			GYRE_STORE_AT(table, next_random() % filled, obj);
		else if (filled < FITS_OBJECTS)
			GYRE_STORE_AT(table, filled++, obj);
		if (step % 256 == 0)
			sample(&peak_total, &peak_committed);
	}
	sample(&peak_total, &peak_committed);
	gyre_stats s = harness_stats();
	print_message("fits: %zu objects (%.1f MiB), peak total %.1f MiB, peak committed "
		      "%.1f MiB, limit %.0f MiB; reached %llu exceeded %llu, gen-2 %llu\n",
		      (size_t)FITS_OBJECTS, FITS_OBJECTS * OBJECT_BYTES / 1048576.0,
		      peak_total / 1048576.0, peak_committed / 1048576.0,
		      FITS_LIMIT / 1048576.0, (unsigned long long)s.memory_limit_reached,
		      (unsigned long long)s.memory_limit_exceeded,
		      (unsigned long long)s.gen[2].collections);
	assert_int_equal(s.memory_limit, FITS_LIMIT);
	assert_true(peak_total <= FITS_LIMIT);
	assert_true(peak_committed <= FITS_LIMIT);
	assert_int_equal(s.memory_limit_exceeded, 0);
	assert_int_equal(seen.exceeded, 0);
	assert_true(s.gen[2].collections > 0);
	GYRE_STORE_AT(table, 0, NULL);
	down();
}

#define EXCEED_LIMIT (48 * MIB)
#define EXCEED_MAX (192 * MIB)
/* Bounded time: the growth to heap_max and the collections at the
 * maximum, with the TSan build's slowdown. */
#define EXCEED_DEADLINE_MS 60000

struct node {
	struct node *next;
	char payload[OBJECT_PAYLOAD - sizeof(struct node *)];
};

/* The CPU time, in ns, of gyre's collector thread ("gyre-marker"), from
 * /proc: utime and stime, fields 14 and 15. */
static uint64_t marker_cpu_ns(void)
{
	DIR *d = opendir("/proc/self/task");
	assert_non_null(d);
	uint64_t ns = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		char path[300], buf[1024];
		snprintf(path, sizeof(path), "/proc/self/task/%s/stat", e->d_name);
		FILE *f = fopen(path, "r");
		if (!f)
			continue;
		size_t n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[n] = '\0';
		char *close_paren = strrchr(buf, ')');
		if (!strstr(buf, "(gyre-marker)") || !close_paren)
			continue;
		unsigned long long utime, stime;
		/* After ")": state (3), then fields 4..13, then 14 and 15. */
		if (sscanf(close_paren + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
			   &utime, &stime) == 2)
			ns += (utime + stime) * (1000000000ull / (uint64_t)sysconf(_SC_CLK_TCK));
	}
	closedir(d);
	return ns;
}

/* A chain of nodes, WORK_NS of the program's work on each, growing until
 * an allocation fails. Past the limit, a full collection finds the live
 * data over it and the limit stops being enforced ("exceeded"), and the
 * heap grows to its maximum, where GYRE_ENOMEM comes. */
static void test_exceeds(void **state)
{
	(void)state;
	up(EXCEED_LIMIT, EXCEED_MAX);
	static const size_t offs[] = {0};
	gyre_type_desc d = {.name = "node", .size = sizeof(struct node),
			    .ptr_offsets = offs, .n_ptrs = 1};
	gyre_type node = gyre_type_register(&d);
	assert_true(node != 0);
	uint64_t start = harness_now_ms(), t0 = 0, marker0 = 0;
	gyre_stats s0 = {0};
	struct node *head = NULL;
	size_t count;
	for (count = 0;; count++) {
		/* Timed from the limit on, as bench/memlimit's phase 2. */
		if (!t0 && count * OBJECT_BYTES >= EXCEED_LIMIT) {
			t0 = harness_now_ms();
			marker0 = marker_cpu_ns();
			s0 = harness_stats();
		}
		struct node *n = gyre_alloc(node);
		if (!n)
			break;
		GYRE_STORE(n, next, head);
		head = n;
		work_for(n->payload, sizeof(n->payload), WORK_NS);
		assert_true(harness_now_ms() - start < EXCEED_DEADLINE_MS);
	}
	uint64_t ms = harness_now_ms() - t0;
	uint64_t marker = marker_cpu_ns() - marker0;
	assert_int_equal(gyre_last_error(), GYRE_ENOMEM);
	gyre_stats s = harness_stats();
	double share = (double)(s.pause_total_ns - s0.pause_total_ns + marker) / (ms * 1e6);
	print_message("exceeds: ENOMEM after %zu objects (%.1f MiB), %llu ms past the limit; "
		      "reached %llu exceeded %llu; pauses %.0f ms, collector thread %.0f ms: "
		      "share %.0f%%; held back %.0f ms, refused %llu\n", count,
		      count * OBJECT_BYTES / 1048576.0, (unsigned long long)ms,
		      (unsigned long long)s.memory_limit_reached,
		      (unsigned long long)s.memory_limit_exceeded,
		      (s.pause_total_ns - s0.pause_total_ns) / 1e6, marker / 1e6, 100 * share,
		      s.memory_limit_held_ns / 1e6, (unsigned long long)s.memory_limit_refused);
	/* Past the limit: the heap was let grow to its maximum. */
	assert_true(count * OBJECT_BYTES > EXCEED_LIMIT);
	assert_true(s.memory_limit_reached > 0);
	assert_true(s.memory_limit_exceeded > 0);
	assert_true(seen.reached > 0 && seen.exceeded > 0);
	assert_int_equal(seen.limit, EXCEED_LIMIT);
	assert_true(share < 0.5);
	down();
}

/* Live data over the limit, under heap_max. */
#define OVER_LIVE (80 * MIB)
#define OVER_OBJECTS (OVER_LIVE / OBJECT_BYTES)

struct churn {
	uint64_t ms;          /* how long it churned */
	double share;         /* the collector's share of that time */
	bool failed;          /* it ended in a failed allocation */
	size_t steps;
};

/* A table of OVER_OBJECTS 1 KiB objects filled, then one replaced at
 * random each step, without other work (everything it allocates
 * survives its first collection), for at most `ms`, or until an
 * allocation fails; every entry is checked. */
static struct churn fill_and_churn(uint64_t ms)
{
	void **table = gyre_alloc_array(GYRE_TYPE_PTR, OVER_OBJECTS);
	assert_non_null(table);
	assert_int_equal(gyre_root_add(&table, sizeof(table)), GYRE_OK);
	for (size_t i = 0; i < OVER_OBJECTS; i++) {
		uint64_t *obj = gyre_alloc_bytes(OBJECT_PAYLOAD);
		assert_non_null(obj);
		obj[0] = i;
		GYRE_STORE_AT(table, i, obj);
	}
	struct churn c = {0};
	uint64_t t0 = harness_now_ms(), marker0 = marker_cpu_ns();
	gyre_stats s0 = harness_stats();
	while (!c.failed && harness_now_ms() - t0 < ms) {
		size_t slot = next_random() % OVER_OBJECTS;
		uint64_t *obj = gyre_alloc_bytes(OBJECT_PAYLOAD);
		c.failed = obj == NULL;
		if (obj) {
			obj[0] = slot;
			assert_int_equal(*(uint64_t *)table[slot], slot);
			GYRE_STORE_AT(table, slot, obj);
			c.steps++;
		}
	}
	c.ms = harness_now_ms() - t0;
	gyre_stats s = harness_stats();
	c.share = (double)(s.pause_total_ns - s0.pause_total_ns + marker_cpu_ns() - marker0) /
		  (c.ms * 1e6);
	for (size_t i = 0; i < OVER_OBJECTS; i++)
		assert_int_equal(*(uint64_t *)table[i], i);
	assert_int_equal(gyre_root_remove(&table), GYRE_OK);
	print_message("%s after %zu steps in %llu ms: share %.0f%%; reached %llu exceeded %llu, "
		      "held back %.0f ms, refused %llu\n",
		      c.failed ? gyre_strerror(gyre_last_error()) : "still running", c.steps,
		      (unsigned long long)c.ms, 100 * c.share,
		      (unsigned long long)s.memory_limit_reached,
		      (unsigned long long)s.memory_limit_exceeded, s.memory_limit_held_ns / 1e6,
		      (unsigned long long)s.memory_limit_refused);
	return c;
}

/* The churn of live data over the limit with room under heap_max: the
 * program runs on past the limit (no allocation is refused: the heap
 * never fills), and its collections, which would take most of its time
 * (73-75% without the cap's hold), wait for the collector's share to
 * fall back under the cap (memory_limit_held_ns). Long enough for the
 * share of a second that the cap looks at to be the churn's. */
#define HELD_CHURN_MS 3000

static void test_held(void **state)
{
	(void)state;
	up(EXCEED_LIMIT, 512 * MIB);
	struct churn c = fill_and_churn(HELD_CHURN_MS);
	gyre_stats s = harness_stats();
	assert_false(c.failed);
	assert_true(s.memory_limit_exceeded > 0);
	assert_true(s.memory_limit_held_ns > 0);
	assert_int_equal(s.memory_limit_refused, 0);
	assert_true(c.share < 0.5);
	down();
}

/* The churn at heap_max without the refusal goes on for good (every
 * full collection frees what died since the last); this is far past
 * the refusal's seconds. */
#define REFUSE_DEADLINE_MS 30000

/* The same churn with heap_max just above the live data: the heap fills
 * up to heap_max again and again, and each full collection frees only
 * what died since the last. Once the cap is engaged and a full
 * collection has found the live data over the limit, the full heap fails
 * the allocation at once (memory_limit_refused), where it would
 * otherwise collect in a loop, held to the cap, for as long as the
 * program runs. */
static void test_refused(void **state)
{
	(void)state;
	up(EXCEED_LIMIT, 96 * MIB);
	struct churn c = fill_and_churn(REFUSE_DEADLINE_MS);
	gyre_stats s = harness_stats();
	assert_true(c.failed);
	assert_int_equal(gyre_last_error(), GYRE_ENOMEM);
	assert_true(s.memory_limit_refused > 0);
	down();
}

/* ---------------------------------------------------- what is counted */

/* Waits, asleep in a blocking region, until the memory thread has
 * measured the heap's resident memory (its first look comes a period
 * after gyre_init), at most `ms`. */
static gyre_stats wait_measured(unsigned ms)
{
	gyre_stats s = harness_stats();
	for (unsigned i = 0; i < ms / 10 && !s.heap_resident; i++) {
		assert_int_equal(gyre_blocking_begin(), GYRE_OK);
		usleep(10000);
		assert_int_equal(gyre_blocking_end(), GYRE_OK);
		s = harness_stats();
	}
	return s;
}

/* The memory thread maps 16 MiB past the heap's top ahead of use: those
 * pages are resident, so memory_total counts them: with a small heap,
 * it covers what the reservation has resident. (Without them counted:
 * 4.1 MiB counted of 20.0 MiB resident.) */
static void test_total_ahead(void **state)
{
	(void)state;
	up(0, 256 * MIB);
	void **keep = gyre_alloc_array(GYRE_TYPE_PTR, 4096);
	assert_non_null(keep);
	for (size_t i = 0; i < 4096; i++)
		GYRE_STORE_AT(keep, i, gyre_alloc_bytes(OBJECT_PAYLOAD));
	gyre_stats s = wait_measured(5000);
	print_message("ahead: total %.1f MiB, resident %.1f MiB, in use %.1f MiB, mapped "
		      "ahead %.1f MiB\n", s.memory_total / 1048576.0,
		      s.heap_resident / 1048576.0, s.heap_size / 1048576.0,
		      prefault_ahead() / 1048576.0);
	assert_true(s.heap_resident > 0);
	assert_true(s.memory_total >= s.heap_resident);
	GYRE_STORE_AT(keep, 0, NULL);
	down();
}

#define TOTAL_LARGE 32
#define TOTAL_LARGE_BYTES MIB

/* Large objects count while they live, in every build; with jemalloc,
 * their pages also count once they are freed, until the arena gives
 * them back (its decay: a second; the memory thread's looks drive it),
 * and then no longer. The system allocator's (sanitizer builds) are its
 * own business: there they stop counting when freed. */
static void test_total_large(void **state)
{
	(void)state;
	up(0, 256 * MIB);
	uint64_t base = harness_stats().memory_total;
	void **all = gyre_alloc_array(GYRE_TYPE_PTR, TOTAL_LARGE);
	assert_non_null(all);
	assert_int_equal(gyre_root_add(&all, sizeof(all)), GYRE_OK);
	for (unsigned k = 0; k < TOTAL_LARGE; k++) {
		void *p = gyre_alloc_bytes(TOTAL_LARGE_BYTES);
		assert_non_null(p);
		memset(p, 0x5a, TOTAL_LARGE_BYTES);
		GYRE_STORE_AT(all, k, p);
	}
	uint64_t live = harness_stats().memory_total;
	assert_true(live >= base + TOTAL_LARGE * TOTAL_LARGE_BYTES);
	for (unsigned k = 0; k < TOTAL_LARGE; k++)
		GYRE_STORE_AT(all, k, NULL);
	assert_true(gyre_collect(2) >= 0);
	uint64_t freed = harness_stats().memory_total, low = freed;
	for (unsigned i = 0; i < 500 && low + TOTAL_LARGE * TOTAL_LARGE_BYTES / 2 > live; i++) {
		assert_int_equal(gyre_blocking_begin(), GYRE_OK);
		usleep(10000);
		assert_int_equal(gyre_blocking_end(), GYRE_OK);
		low = harness_stats().memory_total;
	}
	print_message("large: total %.1f MiB before, %.1f MiB with %d MiB of large objects, "
		      "%.1f MiB once they are freed, %.1f MiB after the arena's decay\n",
		      base / 1048576.0, live / 1048576.0, TOTAL_LARGE, freed / 1048576.0,
		      low / 1048576.0);
	if (GYRE_JEMALLOC)
		assert_true(freed + TOTAL_LARGE * TOTAL_LARGE_BYTES / 2 > live);
	assert_true(low + TOTAL_LARGE * TOTAL_LARGE_BYTES / 2 <= live);
	assert_int_equal(gyre_root_remove(&all), GYRE_OK);
	down();
}

int main(void)
{
	config_cgroup_paths("/nonexistent/memory.max", "/nonexistent/limit_in_bytes");
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cgroup_default),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_fits),
		cmocka_unit_test(test_exceeds),
		cmocka_unit_test(test_held),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_total_ahead),
		cmocka_unit_test(test_total_large),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
