/*
 * decommit.c: free memory goes back to the kernel, and what went back is
 * reused safely (gc/heap/decommit.h).
 *
 * A 200 MiB list of 1 KiB objects is built, with automatic collection off
 * (so that the TSan build takes seconds, not a minute: the verifier checks
 * the whole heap at every collection), and dropped; after a collection
 * the process's resident set (the kernel's figure, /proc/self/statm) falls
 * by at least half of it within a bounded wait, and gyre_stats says where
 * it went. A second list of the same size then takes the returned blocks
 * before the heap's top grows: its objects come back zeroed (a block
 * whose memory was returned is not zeroed by gyre again, and one that was
 * not returned must be) and hold what was written into them to the end.
 *
 * Large objects' memory goes back too (in builds with jemalloc).
 *
 * A last case returns memory while collections run, from blocks a sweep
 * freed: with a small heap kept (heap_min and the nursery at 1 MiB), a
 * 32 MiB list promoted to generation 2 is dropped and goes back while a
 * thread makes garbage and minor collections follow each other; twice,
 * the second list built on what the first gave back.
 *
 * And what the memory thread maps ahead of the heap's top goes back once
 * the top stops moving, and is mapped again when it moves (prefault.h).
 *
 * The build runs it with GYRE_VERIFY=1: the verifier checks the free,
 * returning and returned lists at every collection [INV-FREE-LISTS].
 */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "gc/heap/decommit.h"
#include "gc/heap/heap.h"
#include "gc/heap/prefault.h"

#define MIB ((size_t)1 << 20)
#define LIST_BYTES (200 * MIB)
#define SMALL_LIST_BYTES (32 * MIB)
/* 8 header bytes and a next pointer: 1 KiB objects, a size class. */
#define WORDS 126
#define OBJECT_BYTES 1024
/* The wait for memory to go back: a collection's blocks are returned one
 * to two periods (1 s) after it, plus the madvise calls. */
#define WAIT_NS ((uint64_t)15 * 1000000000)

struct big {
	struct big *next;
	uint64_t w[WORDS];
};

static gyre_type big_type;

static int up_with(const gyre_config *c)
{
	if (gyre_init(c) || gyre_thread_attach())
		return -1;
	static const size_t offs[] = {0};
	gyre_type_desc d = {.name = "big", .size = sizeof(struct big),
			    .ptr_offsets = offs, .n_ptrs = 1};
	big_type = gyre_type_register(&d);
	return big_type ? 0 : -1;
}

/* The heap keeps the pacer's allowance (heap_min, 32 MiB, with nothing
 * live) and twice the nursery: 48 MiB. */
static int up(void **state)
{
	(void)state;
	return up_with(&(gyre_config){.nursery_size = 8 * MIB});
}

static int up_small(void **state)
{
	(void)state;
	return up_with(&(gyre_config){.nursery_size = MIB, .heap_min = MIB,
				      .tenure_age = 1});
}

static int down(void **state)
{
	return harness_down(state);
}

/* An object's contents: its number in the first word, then one byte,
 * over and over (whole-object memset and memcmp, which the sanitizers
 * check a range at a time, where a loop over the words took the TSan build
 * tens of seconds). */
static uint64_t first_word(uint64_t seed, uint64_t i)
{
	return seed << 56 ^ i;
}

static int fill_byte(uint64_t seed, uint64_t i)
{
	return (int)((seed * 31 + i) % 255 + 1);
}

#define REST_BYTES ((WORDS - 1) * sizeof(uint64_t))

struct list {
	uint64_t seed;
	uint64_t nodes;
	bool uncollected;  /* built with automatic collection off */
	gyre_handle head;
	size_t dirty;  /* fresh objects with a byte that was not zero */
};

/* Builds the list on a helper thread (no stale word of this thread's
 * stack keeps it), each object checked zero as it comes, then filled. */
static void build(void *arg)
{
	static const uint8_t zero[REST_BYTES];
	struct list *l = arg;
	struct big *head = NULL;
	if (l->uncollected)
		assert_int_equal(gyre_disable(), GYRE_OK);
	for (uint64_t i = 0; i < l->nodes; i++) {
		struct big *n = gyre_alloc(big_type);
		assert_non_null(n);
		l->dirty += n->next || n->w[0] || memcmp(&n->w[1], zero, REST_BYTES);
		n->w[0] = first_word(l->seed, i);
		memset(&n->w[1], fill_byte(l->seed, i), REST_BYTES);
		GYRE_STORE(n, next, head);
		head = n;
	}
	l->head = gyre_handle_new(head);
	assert_non_null(l->head);
	if (l->uncollected)
		assert_int_equal(gyre_enable(), GYRE_OK);
}

/* Every object of the list holds what build wrote. */
static void check(const struct list *l)
{
	static uint8_t want[REST_BYTES];
	uint64_t i = l->nodes;
	for (struct big *n = gyre_handle_get(l->head); n; n = n->next) {
		assert_true(i > 0);
		i--;
		memset(want, fill_byte(l->seed, i), REST_BYTES);
		if (n->w[0] != first_word(l->seed, i) || memcmp(&n->w[1], want, REST_BYTES))
			fail_msg("object %llu does not hold what was written",
				 (unsigned long long)i);
	}
	assert_int_equal(i, 0);
}

static size_t rss(void)
{
	long pages = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	assert_non_null(f);
	assert_int_equal(fscanf(f, "%ld %ld", &pages, &resident), 2);
	fclose(f);
	return (size_t)resident * (size_t)sysconf(_SC_PAGESIZE);
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Whether the resident set is at most `target`, the heap holds no more
 * than it keeps (48 MiB, with a margin), and the memory thread has
 * measured what is resident since (with what it maps ahead, 16 MiB, and a
 * margin). */
static bool memory_back(size_t target, size_t *resident, gyre_stats *s)
{
	*resident = rss();
	assert_int_equal(gyre_stats_get(s), GYRE_OK);
	return *resident <= target && s->heap_committed <= s->heap_size + 64 * MIB &&
	       s->heap_resident <= s->heap_committed + 32 * MIB;
}

/* Waits, in a blocking region (collections need not wait for this
 * thread), until memory_back() or WAIT_NS have passed. */
static bool wait_returned(size_t target, size_t *resident, gyre_stats *s)
{
	uint64_t t0 = now_ns();
	bool done;
	assert_int_equal(gyre_blocking_begin(), GYRE_OK);
	while (!(done = memory_back(target, resident, s)) && now_ns() - t0 < WAIT_NS)
		usleep(20000);
	assert_int_equal(gyre_blocking_end(), GYRE_OK);
	return done;
}

static void heap_blocks(size_t *top, size_t *returned)
{
	pthread_mutex_lock(&heap.lock);
	*top = heap.top;
	*returned = atomic_load(&heap.nreturned);
	pthread_mutex_unlock(&heap.lock);
}

static void test_free_memory_goes_back_and_is_reused(void **state)
{
	(void)state;
	struct list first = {.seed = 1, .nodes = LIST_BYTES / OBJECT_BYTES,
			     .uncollected = true};
	struct list second = {.seed = 2, .nodes = LIST_BYTES / OBJECT_BYTES,
			      .uncollected = true};
	harness_in_thread(build, &first);
	assert_int_equal(first.dirty, 0);
	check(&first);
	size_t peak = rss();
	gyre_handle_free(first.head);
	assert_true(gyre_collect(2) >= 0);
	uint64_t collected = now_ns();
	size_t low;
	gyre_stats s;
	if (!wait_returned(peak - LIST_BYTES / 2, &low, &s))
		fail_msg("resident %zu MiB at the peak, %zu MiB after the wait; the "
			 "heap uses %zu MiB, holds %zu MiB, %zu MiB resident", peak / MIB,
			 low / MIB, (size_t)s.heap_size / MIB,
			 (size_t)s.heap_committed / MIB, (size_t)s.heap_resident / MIB);
	/* The heap is mostly free after the drop: it goes back at the first
	 * look, a tenth of a period after the collection, not after a
	 * period or two (decommit.c). */
	uint64_t took = now_ns() - collected;
	if (took >= DECOMMIT_PERIOD_NS)
		fail_msg("the dropped list went back %.0f ms after the collection",
			 took / 1e6);
	assert_true(s.bytes_returned >= LIST_BYTES / 2);
	assert_true(s.heap_committed <= s.heap_reserved);

	/* The second list takes the returned blocks before the top grows
	 * (by a quarter of the list at most, where it would grow by what
	 * was returned). */
	size_t top0, returned0, top1, returned1;
	heap_blocks(&top0, &returned0);
	assert_true(returned0 * BLOCK_SIZE >= LIST_BYTES / 2);
	harness_in_thread(build, &second);
	heap_blocks(&top1, &returned1);
	assert_int_equal(second.dirty, 0);
	check(&second);
	assert_true(returned1 < returned0 / 4);
	assert_true((top1 - top0) * BLOCK_SIZE <= LIST_BYTES / 4);
	gyre_handle_free(second.head);
	assert_true(gyre_collect(2) >= 0);
}

/* Large objects: LARGE_COUNT byte arrays of LARGE_BYTES each, written
 * whole, held by a pointer array. */
#define LARGE_BYTES MIB
#define LARGE_COUNT 128

static void build_large(void *arg)
{
	gyre_handle *h = arg;
	void **all = gyre_alloc_array(GYRE_TYPE_PTR, LARGE_COUNT);
	assert_non_null(all);
	*h = gyre_handle_new(all);
	for (unsigned k = 0; k < LARGE_COUNT; k++) {
		void *p = gyre_alloc_bytes(LARGE_BYTES);
		assert_non_null(p);
		memset(p, 0x5a, LARGE_BYTES);
		GYRE_STORE_AT(all, k, p);
	}
}

/* Their memory goes back once they are dropped, nearly all of it: the
 * large-object arena's decay (META_DECAY_MS), driven by the memory
 * thread's looks (without them, jemalloc purged about 60% as the
 * collection went on using the arena, and kept the rest while it sat
 * idle). Only with jemalloc: the system allocator of sanitizer builds
 * returns memory by its own rules (ASan's quarantine keeps it). */
static void test_large_objects_memory_goes_back(void **state)
{
	(void)state;
	if (!GYRE_JEMALLOC)
		skip();
	gyre_handle h;
	harness_in_thread(build_large, &h);
	size_t peak = rss();
	gyre_handle_free(h);
	assert_true(gyre_collect(2) >= 0);
	size_t low;
	gyre_stats s;
	if (!wait_returned(peak - LARGE_COUNT * LARGE_BYTES / 8 * 7, &low, &s))
		fail_msg("resident %zu MiB with the large objects, %zu MiB after the "
			 "wait", peak / MIB, low / MIB);
}

/* Garbage, 8 KiB a millisecond (a collection of the 1 MiB nursery every
 * eighth of a second), until the memory thread has returned `want` bytes
 * since `base` (bytes_returned before the drop's collection) and
 * GARBAGE_COLLECTIONS collections have run meanwhile, or WAIT_NS have
 * passed. (Stopping at `want` alone failed once under TSan on a loaded
 * machine: the memory came back within 3 collections. Counting returns
 * from this call's start failed too, since a drop goes back a tenth of a
 * period after its collection: under TSan and load, 29 MiB came back
 * before this thread had started, and none after.) */
#define GARBAGE_COLLECTIONS 4
struct garbage {
	uint64_t want, base;
	uint64_t returned, collections;  /* since base, during the call */
};

static void make_garbage(void *arg)
{
	struct garbage *g = arg;
	gyre_stats s0, s;
	assert_int_equal(gyre_stats_get(&s0), GYRE_OK);
	uint64_t t0 = now_ns();
	do {
		for (int k = 0; k < 8; k++)
			assert_non_null(gyre_alloc(big_type));
		sleep_blocking();
		assert_int_equal(gyre_stats_get(&s), GYRE_OK);
	} while ((s.bytes_returned - g->base < g->want ||
		  s.collections - s0.collections < GARBAGE_COLLECTIONS) &&
		 now_ns() - t0 < WAIT_NS);
	g->returned = s.bytes_returned - g->base;
	g->collections = s.collections - s0.collections;
}

static void test_memory_goes_back_while_collections_run(void **state)
{
	(void)state;
	for (uint64_t round = 1; round <= 2; round++) {
		struct list l = {.seed = round, .nodes = SMALL_LIST_BYTES / OBJECT_BYTES};
		harness_in_thread(build, &l);
		assert_int_equal(l.dirty, 0);
		check(&l);
		struct garbage g = {.want = SMALL_LIST_BYTES / 2,
				    .base = harness_stats().bytes_returned};
		gyre_handle_free(l.head);
		assert_true(gyre_collect(2) >= 0);
		harness_in_thread(make_garbage, &g);
		if (g.returned < g.want || g.collections < GARBAGE_COLLECTIONS)
			fail_msg("round %llu: %llu MiB returned, %llu collections",
				 (unsigned long long)round,
				 (unsigned long long)(g.returned / MIB),
				 (unsigned long long)g.collections);
	}
}

/* Resident bytes of the PREFAULT_AHEAD above the heap's top. */
static size_t resident_ahead(void)
{
	static unsigned char vec[PREFAULT_AHEAD / 4096];
	size_t top, returned;
	heap_blocks(&top, &returned);
	size_t len = (heap.nblocks - top) << BLOCK_SHIFT;
	len = len < PREFAULT_AHEAD ? len : PREFAULT_AHEAD;
	assert_int_equal(mincore(heap.base + (top << BLOCK_SHIFT), len, vec), 0);
	size_t n = 0;
	for (size_t i = 0; i < len / 4096; i++)
		n += vec[i] & 1;
	return n * 4096;
}

/* Waits up to WAIT_NS for memory to be mapped ahead of the top (`mapped`)
 * or for none to be; for the latter, with a young collection every 20 ms
 * (that top stays): the memory thread looks a period after collections. */
static bool wait_ahead(bool mapped)
{
	uint64_t t0 = now_ns();
	while ((resident_ahead() > 0) != mapped) {
		if (now_ns() - t0 > WAIT_NS)
			return false;
		if (!mapped)
			assert_true(gyre_collect(0) >= 0);
		assert_int_equal(gyre_blocking_begin(), GYRE_OK);
		usleep(20000);
		assert_int_equal(gyre_blocking_end(), GYRE_OK);
	}
	return true;
}

/* Builds a list past the free blocks (taken before the top grows) and
 * checks that the top grew. Automatic collection is off while it grows:
 * collections meanwhile (the sanitizer builds verify the heap at each,
 * for seconds) would let looks a period apart find the top still and
 * give the memory back before the test saw it mapped. */
static void grow(struct list *l, uint64_t seed)
{
	size_t top, returned, top2;
	heap_blocks(&top, &returned);
	size_t room = (atomic_load(&heap.nfree) + returned) * BLOCK_SIZE;
	*l = (struct list){.seed = seed, .nodes = (room + SMALL_LIST_BYTES) / OBJECT_BYTES,
			   .uncollected = true};
	harness_in_thread(build, l);
	heap_blocks(&top2, &returned);
	assert_true(top2 > top);
}

/* The heap grows and the memory thread maps ahead of its top; the top
 * stays, and a look a period after another finds it where it was and
 * gives that memory back; the heap grows again, and it is mapped again.
 * The lists stay whole: no block in use went with it. */
static void test_mapped_ahead_goes_back(void **state)
{
	(void)state;
	struct list first, second;
	grow(&first, 5);
	if (!wait_ahead(true))
		fail_msg("nothing mapped ahead of the top after it grew");
	if (!wait_ahead(false))
		fail_msg("%zu KiB still mapped ahead of a top that stayed",
			 resident_ahead() >> 10);
	grow(&second, 6);
	if (!wait_ahead(true))
		fail_msg("nothing mapped ahead of the top after it grew again");
	check(&first);
	check(&second);
	gyre_handle_free(first.head);
	gyre_handle_free(second.head);
}

int main(void)
{
	const struct CMUnitTest big[] = {
		cmocka_unit_test(test_free_memory_goes_back_and_is_reused),
		cmocka_unit_test(test_large_objects_memory_goes_back),
	};
	const struct CMUnitTest small[] = {
		cmocka_unit_test(test_memory_goes_back_while_collections_run),
		cmocka_unit_test(test_mapped_ahead_goes_back),
	};
	return cmocka_run_group_tests_name("big", big, up, down) +
	       cmocka_run_group_tests_name("small", small, up_small, down);
}
