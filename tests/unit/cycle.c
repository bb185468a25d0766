/*
 * cycle.c: unit tests of the concurrent (snapshot-at-the-beginning) cycle
 * that collects generation 2: a pointer moved out of an old field in the
 * middle of a cycle keeps its target alive through the barrier's log
 * (also the full buffers of a thread that exits in the middle of it); the
 * cycle frees what was garbage when it began; what is allocated or
 * promoted while it runs survives it (and the next cycle frees it once
 * dropped); a capped mark stack is recovered from at the remark; a large
 * array, scanned a chunk at a time, keeps every node it holds, also those
 * moved out of its last chunks while it is scanned;
 * gyre_collect(2) ends a cycle and collects everything in the same pause;
 * a log the collector thread cannot drain ends the cycle on the storing
 * thread, in a pause, and the value that thread's store overwrites is not
 * logged into the next cycle;
 * gyre_disable holds the remark off; stw_mark (config or
 * GYRE_STW_MARK) runs no cycle; and, in checked builds, a GYRE_STORE that
 * overwrites junk during a cycle is caught when the log is drained.
 *
 * The cycles are started with collect_start_cycle (gc/driver/collect.h) and held
 * before any tracing with marker_hold (gc/old/marker.h), so that a test can
 * change the heap at a known point of the cycle. Every wait for the
 * collector thread polls with a deadline (WAIT_MS), sleeping in a
 * blocking region so that the pause it waits for does not wait for it.
 *
 * As in generations.c, every test gets a fresh gyre, and the objects a
 * test wants dead or unmarked are made and inspected by helper threads
 * (harness_in_thread) whose stacks die with them: a stale word on this
 * thread's stack would otherwise be a conservative root, and a root at
 * the start of a cycle marks its target, which would make the tests of
 * the barrier pass whatever the barrier did. The build runs the tests with
 * GYRE_VERIFY=1, so the remark also checks that every generation-2 object
 * a young object, a marked object or a handle points at is marked.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "node.h"
#include "gc/driver/collect.h"
#include "gc/heap/heap.h"
#include "gc/heap/large.h"
#include "gc/old/mark.h"
#include "gc/old/marker.h"
#include "gc/heap/object.h"
#include "gc/old/satb.h"
#include "gc/old/sweep.h"
#include "gc/heap/sizeclass.h"
#include "runtime/atomics.h"
#include "runtime/config.h"
#include "threads/mutator.h"

/* A node's footprint: header, payload, granule-rounded. */
#define NODE_BYTES ((HEADER_SIZE + sizeof(struct node) + GRANULE - 1) & ~(GRANULE - 1))

/* How long a test waits for the collector thread before it fails. */
#define WAIT_MS 10000
/* A pause target long enough for any marking increment of these tests. */
#define LONG_TARGET_US 1000000

/* ----------------------------------------------------------- fixtures */

static int up(void **state)
{
	(void)state;
	return node_up_with(NULL);
}

/* Young objects stored into old ones age in generation 1 as the others
 * do (tenure_from_old off), so that one cycle sees objects of every
 * generation. */
static int up_aging(void **state)
{
	(void)state;
	return node_up_with(&(gyre_config){.tenure_from_old = -1});
}

static int up_stw_mark(void **state)
{
	(void)state;
	return node_up_with(&(gyre_config){.stw_mark = 1});
}

static int down(void **state)
{
	marker_hold(false);
	return node_down(state);
}

/* Generation 2 grows by a node's survival at once, and heap_min is low,
 * so that the allowance follows the live size. The pause target is long:
 * a marking increment (collect.c's pause_increment) then finishes the
 * cycle at once, as the tests of a cycle that falls behind need while
 * the collector thread is held (tests/unit/increment.c tests bounded
 * increments). */
static int up_growing(void **state)
{
	(void)state;
	return node_up_with(&(gyre_config){.heap_min = (size_t)1 << 20,
					   .tenure_age = 1, .pause_target_us = LONG_TARGET_US});
}

static int up_long_increments(void **state)
{
	(void)state;
	return node_up_with(&(gyre_config){.pause_target_us = LONG_TARGET_US});
}

/* ------------------------------------------------------------ helpers */

/* Collects with nothing of this thread's past on its dead stack. */
static int64_t collect(int generation)
{
	harness_clear_stack();
	int64_t freed = gyre_collect(generation);
	assert_true(freed >= 0);
	return freed;
}

/* Starts a concurrent cycle from this thread, with nothing of its past on
 * its dead stack (the start scans the stacks as roots). */
static void start_cycle(void)
{
	harness_clear_stack();
	assert_true(collect_start_cycle(mutator_current()));
	assert_true(mark_old_active());
}

/* Sleeps in a blocking region: pauses (the collector thread's remark)
 * run meanwhile without waiting for this thread. */
static void sleep_ms(unsigned ms)
{
	struct timespec t = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};
	assert_int_equal(gyre_blocking_begin(), GYRE_OK);
	nanosleep(&t, NULL);
	assert_int_equal(gyre_blocking_end(), GYRE_OK);
}

/* Waits until the remark of the cycle in progress has run (a collection
 * of generation 2 was counted since `before`, gen[2].collections then, and
 * no cycle is running) and the lazy sweep after it has ended and been
 * counted (gen[2].objects_collected), so that a test compares what the
 * whole cycle freed. Fails after WAIT_MS. */
static void wait_for_remark(uint64_t before)
{
	uint64_t deadline = harness_now_ms() + WAIT_MS;
	for (;;) {
		uint64_t n = harness_stats().gen[2].collections;
		if (n > before && !mark_old_active() && !sweep_old_pending()) {
			/* Counts it now if the collector thread has not yet. */
			collect_sweep_end(mutator_current());
			return;
		}
		if (harness_now_ms() > deadline)
			fail_msg("no remark and sweep within %d ms: gen[2].collections "
				 "%llu (%llu before), cycle %s, sweep %s", WAIT_MS,
				 (unsigned long long)n, (unsigned long long)before,
				 mark_old_active() ? "still running" : "over",
				 sweep_old_pending() ? "pending" : "over");
		sleep_ms(1);
	}
}

/* Waits until the collector thread has marked obj. Fails after WAIT_MS. */
static void wait_marked(const void *obj)
{
	uint64_t deadline = harness_now_ms() + WAIT_MS;
	while (!mark_old_marked(obj)) {
		if (harness_now_ms() > deadline)
			fail_msg("the collector thread did not mark %p within %d ms",
				 obj, WAIT_MS);
		sleep_ms(1);
	}
}

/* False if obj, an object of the block heap, was freed: its block was
 * emptied, or (a generation-1 or -2 block) lost its start bit. True for
 * nursery and large objects (not asked). */
static bool not_freed(const void *obj)
{
	uintptr_t p = (uintptr_t)obj;
	if (!heap_contains(p))
		return true;
	switch (block_of(p)->state) {
	case BLOCK_SMALL:
		return heap_is_small_object(p);
	case BLOCK_NURSERY:
		return true;
	default:
		return false;
	}
}

/* Asserts that n heads an intact list of `length` nodes valued value,
 * value + 1, ..., each in generation 2 and not freed. */
static void assert_old_chain(const struct node *n, uint64_t value, unsigned length)
{
	for (unsigned i = 0; i < length; i++, n = n->left) {
		assert_non_null(n);
		assert_true(not_freed(n));
		assert_int_equal(heap_gen_of((uintptr_t)n), 2);
		assert_int_equal(n->value, value + i);
	}
	assert_null(n);
}

/* ------------------------------------------------- 1. the barrier's log */

/* A holder A whose left field points at X, the head of a list of
 * X_LENGTH nodes: made by a helper thread, held by a handle to A only. */
#define A_VALUE 0xa0
#define X_VALUE 0x5a7b0000
#define X_LENGTH 4
#define Y_VALUE 0x70

static void plant_holder(void *arg)
{
	gyre_handle *h = arg;
	*h = gyre_handle_new(node_new(A_VALUE, chain(X_VALUE, X_LENGTH), NULL));
}

/* What a helper thread saw of the holder: numbers, not pointers. */
struct holder_seen {
	gyre_handle h;
	unsigned a_gen;
	uint64_t a_value;
	unsigned x_gens[X_LENGTH];
	uint64_t x_values[X_LENGTH];
	unsigned x_length;
};

static void look_holder(void *arg)
{
	struct holder_seen *s = arg;
	struct node *a = gyre_handle_get(s->h);
	s->a_gen = heap_gen_of((uintptr_t)a);
	s->a_value = a->value;
	s->x_length = 0;
	for (struct node *n = a->left; n && s->x_length < X_LENGTH; n = n->left) {
		s->x_gens[s->x_length] = heap_gen_of((uintptr_t)n);
		s->x_values[s->x_length++] = n->value;
	}
}

/* The holder, made old by a collection of generation 2 that this thread
 * runs without ever having held a pointer to X. */
static gyre_handle old_holder(void)
{
	struct holder_seen s = {0};
	harness_in_thread(plant_holder, &s.h);
	assert_non_null(s.h);
	collect(2);
	harness_in_thread(look_holder, &s);
	assert_int_equal(s.a_gen, 2);
	assert_int_equal(s.a_value, A_VALUE);
	assert_int_equal(s.x_length, X_LENGTH);
	for (unsigned i = 0; i < X_LENGTH; i++) {
		assert_int_equal(s.x_gens[i], 2);
		assert_int_equal(s.x_values[i], X_VALUE + i);
	}
	return s.h;
}

/*
 * Where the test keeps the pointer to X once it is out of A's field: in a
 * young object Y that only a local points at, or in a local alone.
 *
 * Why X would be freed without the log: when the cycle begins, the only
 * path to X is A's field (no stack word, handle or young object points at
 * X; the held collector thread has scanned nothing, which the test
 * checks: X is unmarked). In the middle of the cycle the test copies the
 * pointer into Y (or a local) and clears A's field. The cycle never looks
 * at those places again: roots are scanned once, at the start; Y was
 * allocated after it, and young objects are not traced by the cycle at
 * all (minor collections take care of them); the remark drains the log
 * and traces what is grey, nothing else. So when the collector thread
 * scans A it finds NULL, and the only record that X was reachable when the
 * cycle began is the old value that GYRE_STORE(A, left, NULL) logged. A
 * store that did not log it (a plain store, or a barrier that forgot
 * during marking) would leave X and its list white; the remark's sweep
 * would free them while Y->left (or the local) still points at X: the
 * verifier aborts at the remark for Y, and not_freed / the values fail
 * for the local.
 */
enum keeper { KEEP_IN_YOUNG_OBJECT, KEEP_IN_LOCAL };

static void satb_keeps(enum keeper where)
{
	gyre_handle h = old_holder();
	marker_hold(true);
	uint64_t before = harness_stats().gen[2].collections;
	start_cycle();

	struct node *a = gyre_handle_get(h);
	struct node *x = a->left;
	assert_non_null(x);
	assert_int_equal(heap_gen_of((uintptr_t)x), 2);
	/* A, held by a handle, is grey; X has not been reached: only the
	 * log can keep it now. */
	assert_true(mark_old_marked(a));
	assert_false(mark_old_marked(x));

	struct node *volatile y = NULL;
	struct node *volatile local = NULL;
	if (where == KEEP_IN_YOUNG_OBJECT) {
		y = node_new(Y_VALUE, NULL, NULL);
		assert_int_equal(heap_gen_of((uintptr_t)y), 0);
		GYRE_STORE(y, left, x);
	} else {
		local = x;
	}
	GYRE_STORE(a, left, NULL);
	x = NULL;
	a = NULL;

	marker_hold(false);
	wait_for_remark(before);

	struct node *kept = where == KEEP_IN_YOUNG_OBJECT ? y->left : local;
	if (where == KEEP_IN_YOUNG_OBJECT)
		assert_int_equal(y->value, Y_VALUE);
	assert_old_chain(kept, X_VALUE, X_LENGTH);
	/* A lives on, its field cleared. */
	a = gyre_handle_get(h);
	assert_int_equal(a->value, A_VALUE);
	assert_null(a->left);
	assert_true(not_freed(a));

	/* And a stop-the-world collection afterwards agrees (the verifier
	 * checks its heap before and after). */
	collect(2);
	kept = where == KEEP_IN_YOUNG_OBJECT ? y->left : local;
	assert_old_chain(kept, X_VALUE, X_LENGTH);
	assert_int_equal(gyre_handle_free(h), GYRE_OK);
}

static void test_satb_keeps_object_moved_out_of_old_field(void)
{
	satb_keeps(KEEP_IN_YOUNG_OBJECT);
}

static void test_satb_keeps_object_moved_out_to_local(void)
{
	satb_keeps(KEEP_IN_LOCAL);
}

/* The log of a thread that fills buffers and exits in the middle of a
 * cycle: MOVED old nodes, each reachable when the cycle began only from
 * an old array, are moved by a helper thread into a young array that a
 * handle made in the middle of the cycle holds. Each move logs the old
 * node it takes out (more than a buffer's worth, so full buffers go to the
 * shared list through gyre__satb_record); the thread's last buffer is
 * handed off when it detaches; the released collector thread drains the
 * full ones while the program runs, the remark the rest. Neither the young
 * array nor the new handle is looked at by the cycle (the verifier checks
 * the handle at the remark), so only the log keeps the nodes. */
#define MOVED 1000  /* a young array: 8000 bytes */

struct move {
	gyre_handle from;  /* the old array */
	gyre_handle to;    /* out: the young array */
};

static void plant_nodes(void *arg)
{
	gyre_handle *h = arg;
	void **array = gyre_alloc_array(GYRE_TYPE_PTR, MOVED);
	assert_non_null(array);
	for (unsigned i = 0; i < MOVED; i++)
		GYRE_STORE_AT(array, i, node_new(X_VALUE + i, NULL, NULL));
	*h = gyre_handle_new(array);
}

static void move_nodes(void *arg)
{
	struct move *m = arg;
	void **from = gyre_handle_get(m->from);
	void **to = gyre_alloc_array(GYRE_TYPE_PTR, MOVED);
	assert_non_null(to);
	m->to = gyre_handle_new(to);
	for (unsigned i = 0; i < MOVED; i++) {
		GYRE_STORE_AT(to, i, from[i]);
		GYRE_STORE_AT(from, i, NULL);
	}
}

struct moved_seen {
	gyre_handle from, to;
	unsigned to_gen;
	unsigned left_in_from;  /* non-NULL elements of the old array */
	unsigned intact;        /* old, not freed, with their values */
};

static void look_moved(void *arg)
{
	struct moved_seen *s = arg;
	void **from = gyre_handle_get(s->from), **to = gyre_handle_get(s->to);
	s->to_gen = heap_gen_of((uintptr_t)to);
	s->left_in_from = s->intact = 0;
	for (unsigned i = 0; i < MOVED; i++) {
		const struct node *n = to[i];
		s->left_in_from += from[i] != NULL;
		s->intact += n && not_freed(n) && heap_gen_of((uintptr_t)n) == 2 &&
			     n->value == X_VALUE + i;
	}
}

static void test_satb_log_of_exited_thread_keeps_objects(void)
{
	struct move m = {0};
	harness_in_thread(plant_nodes, &m.from);
	assert_non_null(m.from);
	collect(2);

	marker_hold(true);
	gyre_stats s0 = harness_stats();
	start_cycle();
	harness_in_thread(move_nodes, &m);
	assert_non_null(m.to);
	marker_hold(false);
	wait_for_remark(s0.gen[2].collections);

	struct moved_seen s = {.from = m.from, .to = m.to};
	harness_in_thread(look_moved, &s);
	assert_int_equal(s.to_gen, 0);
	assert_int_equal(s.left_in_from, 0);
	assert_int_equal(s.intact, MOVED);
	/* Nothing old died: the nodes are still there, and so is the old
	 * array. */
	assert_int_equal(harness_stats().gen[2].objects_collected, s0.gen[2].objects_collected);
	assert_int_equal(gyre_handle_free(m.from), GYRE_OK);
	assert_int_equal(gyre_handle_free(m.to), GYRE_OK);
}

/* ----------------------------------------- 2. what the cycle frees */

#define GARBAGE 1000

/* An array of GARBAGE nodes, held by a new handle. */
static void plant_array(void *arg)
{
	gyre_handle *h = arg;
	void **array = gyre_alloc_array(GYRE_TYPE_PTR, GARBAGE);
	assert_non_null(array);
	for (unsigned i = 0; i < GARBAGE; i++)
		GYRE_STORE_AT(array, i, node_new(i, NULL, NULL));
	*h = gyre_handle_new(array);
}

struct array_seen {
	gyre_handle h;
	unsigned gen2;   /* the array and its nodes in generation 2 */
	unsigned intact; /* nodes with their values */
};

static void look_array(void *arg)
{
	struct array_seen *s = arg;
	void **array = gyre_handle_get(s->h);
	s->gen2 = heap_gen_of((uintptr_t)array) == 2;
	s->intact = 0;
	for (unsigned i = 0; i < GARBAGE; i++) {
		struct node *n = array[i];
		s->gen2 += n && heap_gen_of((uintptr_t)n) == 2;
		s->intact += n && n->value == i;
	}
}

/* GARBAGE + 1 objects in generation 2, held only by the handle returned. */
static gyre_handle old_array(void)
{
	struct array_seen s = {0};
	harness_in_thread(plant_array, &s.h);
	assert_non_null(s.h);
	collect(2);
	harness_in_thread(look_array, &s);
	assert_int_equal(s.gen2, GARBAGE + 1);
	assert_int_equal(s.intact, GARBAGE);
	return s.h;
}

/* Old objects dropped before a cycle begins are freed by its remark and
 * the lazy sweep after it (counted then, as generation 2's); the pause
 * that starts the cycle is a collection of generation 1 and frees none
 * of them. */
static void test_cycle_frees_garbage_from_before_it(void)
{
	gyre_handle h = old_array();
	assert_int_equal(gyre_handle_free(h), GYRE_OK);

	marker_hold(true);
	gyre_stats s0 = harness_stats();
	start_cycle();
	gyre_stats s1 = harness_stats();
	assert_int_equal(s1.gen[1].collections - s0.gen[1].collections, 1);
	assert_int_equal(s1.gen[2].collections, s0.gen[2].collections);
	assert_int_equal(s1.gen[2].objects_collected, s0.gen[2].objects_collected);

	marker_hold(false);
	wait_for_remark(s0.gen[2].collections);
	gyre_stats s2 = harness_stats();
	assert_int_equal(s2.gen[2].collections - s0.gen[2].collections, 1);
	assert_true(s2.gen[2].objects_collected - s0.gen[2].objects_collected >= GARBAGE + 1);
	assert_true(s2.gen[2].bytes_collected - s0.gen[2].bytes_collected >=
		    GARBAGE * NODE_BYTES);
	assert_true(s2.objects_freed - s0.objects_freed >= GARBAGE + 1);
}

/* ------------------------------- 3. what is allocated during a cycle */

/* An old GYRE_TYPE_PTR array H holds, in slot SENTINEL, an old list that
 * tells when the collector thread has scanned H; the rest is filled in the
 * middle of a cycle, in three batches of lists and one large array:
 * batch 1 and the large array's lists end in generation 2 (promoted by a
 * collection of generation 0 and then 1), batch 2 in generation 1, batch 3
 * in the nursery. */
#define SLOTS 64
#define BATCH 8
#define LIST 3
#define SENTINEL 0
#define BATCH1 1
#define BATCH2 (BATCH1 + BATCH)
#define BATCH3 (BATCH2 + BATCH)
#define BIG (BATCH3 + BATCH)
#define BIG_LEN 4096   /* 32 KiB: a large object */
#define SENTINEL_VALUE 0x5e000
#define BIG_VALUE 0xb1000

static uint64_t slot_value(unsigned slot)
{
	return 0x10000 + (uint64_t)slot * 0x100;
}

static void plant_h(void *arg)
{
	gyre_handle *h = arg;
	void **array = gyre_alloc_array(GYRE_TYPE_PTR, SLOTS);
	assert_non_null(array);
	GYRE_STORE_AT(array, SENTINEL, chain(SENTINEL_VALUE, LIST));
	*h = gyre_handle_new(array);
}

struct fill {
	gyre_handle h;
	unsigned from;   /* first slot of the batch */
	bool big;        /* also the large array */
};

static void fill_batch(void *arg)
{
	struct fill *f = arg;
	void **array = gyre_handle_get(f->h);
	for (unsigned i = f->from; i < f->from + BATCH; i++)
		GYRE_STORE_AT(array, i, chain(slot_value(i), LIST));
	if (!f->big)
		return;
	void **big = gyre_alloc_array(GYRE_TYPE_PTR, BIG_LEN);
	assert_non_null(big);
	GYRE_STORE_AT(big, 0, chain(BIG_VALUE, LIST));
	GYRE_STORE_AT(big, BIG_LEN - 1, chain(BIG_VALUE + 0x100, LIST));
	GYRE_STORE_AT(array, BIG, big);
}

/* What a helper thread saw in H. */
struct h_seen {
	gyre_handle h;
	unsigned broken;          /* lists missing, cut short or with wrong values */
	unsigned freed;           /* nodes of gen-1/2 blocks without a start bit */
	unsigned gen[SLOTS];      /* generation of each slot's head (BIG: the array) */
	unsigned big_lists_gen;   /* lowest generation of the large array's nodes */
	bool big_large, big_marked;
	unsigned old_objects;     /* H and everything in it in generation 2 */
};

static void see_list(struct h_seen *s, const struct node *n, uint64_t value)
{
	for (unsigned i = 0; i < LIST; i++, n = n->left) {
		if (!n || n->value != value + i) {
			s->broken++;
			return;
		}
		s->freed += !not_freed(n);
		s->old_objects += heap_gen_of((uintptr_t)n) == 2;
	}
	s->broken += n != NULL;
}

static unsigned list_gen(const struct node *n)
{
	unsigned g = 2;
	for (; n; n = n->left)
		if (heap_gen_of((uintptr_t)n) < g)
			g = heap_gen_of((uintptr_t)n);
	return g;
}

static void look_h(void *arg)
{
	struct h_seen *s = arg;
	gyre_handle h = s->h;
	memset(s, 0, sizeof(*s));
	s->h = h;
	void **array = gyre_handle_get(h);
	s->old_objects = heap_gen_of((uintptr_t)array) == 2;
	s->freed = !not_freed(array);
	see_list(s, array[SENTINEL], SENTINEL_VALUE);
	s->gen[SENTINEL] = list_gen(array[SENTINEL]);
	for (unsigned i = BATCH1; i < BIG; i++) {
		see_list(s, array[i], slot_value(i));
		s->gen[i] = list_gen(array[i]);
	}
	void **big = array[BIG];
	if (!big) {
		s->broken++;
		return;
	}
	s->big_large = !heap_contains((uintptr_t)big);
	s->big_marked = s->big_large && mark_old_marked(big);
	s->gen[BIG] = heap_gen_of((uintptr_t)big);
	s->old_objects += s->gen[BIG] == 2;
	see_list(s, big[0], BIG_VALUE);
	see_list(s, big[BIG_LEN - 1], BIG_VALUE + 0x100);
	unsigned g0 = list_gen(big[0]), g1 = list_gen(big[BIG_LEN - 1]);
	s->big_lists_gen = g0 < g1 ? g0 : g1;
	for (unsigned i = 1; i < BIG_LEN - 1; i++)
		s->broken += big[i] != NULL;
}

static struct h_seen look_at_h(gyre_handle h)
{
	struct h_seen s = {.h = h};
	harness_in_thread(look_h, &s);
	return s;
}

/* Everything in H intact, nothing freed; batch 1 and the large array's
 * lists in generation 2, batch 2 in 1; batch 3 in `batch3_gen`. */
static void assert_h(const struct h_seen *s, unsigned batch3_gen)
{
	assert_int_equal(s->broken, 0);
	assert_int_equal(s->freed, 0);
	assert_int_equal(s->gen[SENTINEL], 2);
	for (unsigned i = BATCH1; i < BATCH2; i++)
		assert_int_equal(s->gen[i], 2);
	for (unsigned i = BATCH2; i < BATCH3; i++)
		assert_int_equal(s->gen[i], 1);
	for (unsigned i = BATCH3; i < BIG; i++)
		assert_int_equal(s->gen[i], batch3_gen);
	assert_true(s->big_large);
	assert_int_equal(s->gen[BIG], 2);
	assert_int_equal(s->big_lists_gen, 2);
}

/* Lets the held collector thread go until it has scanned H (H's sentinel
 * list is marked). A function of its own, so that no word of the caller's
 * frame keeps pointing at H once the test drops it. */
static __attribute__((noinline)) void release_until_scanned(gyre_handle h)
{
	void **array = gyre_handle_get(h);
	const struct node *sentinel = array[SENTINEL];
	/* H is grey (a handle holds it), its sentinel not reached yet. */
	assert_true(mark_old_marked(array));
	assert_false(mark_old_marked(sentinel));
	marker_hold(false);
	wait_marked(sentinel);
	assert_true(mark_old_active());
}

/*
 * Objects allocated in the middle of a cycle, and stored into an old
 * object, survive it: small ones in the nursery, promoted by collections
 * run in the middle of the cycle (batch 1 into generation 2), and a large
 * array (generation 2 from the start). `after_scan` chooses when:
 *
 * - false: with the collector thread held, before it scanned H. H is
 *   grey, so the collector thread reaches them through H later anyway;
 *   this exercises minor collections and the barrier in the middle of a
 *   cycle, and the remark's verifier.
 * - true: after the collector thread has scanned H (its sentinel list is
 *   marked); automatic collection is disabled meanwhile, which calls the
 *   remark off while the collector thread keeps tracing. Nothing will
 *   scan H again, so only allocating black (a large object marked when
 *   allocated, a copy into generation 2 marked when made) keeps what
 *   reached generation 2 in the middle of the cycle: without it, the
 *   remark's sweep frees batch 1, the large array and its lists.
 *
 * Either way the remark frees nothing (everything in generation 2 is
 * reachable), and once H is dropped the next cycle frees all of it: a
 * mark that stayed set after the cycle would keep it for ever.
 */
static void allocated_during_cycle(bool after_scan)
{
	gyre_handle h = NULL;
	harness_in_thread(plant_h, &h);
	assert_non_null(h);
	collect(2);

	marker_hold(true);
	gyre_stats s0 = harness_stats();
	start_cycle();
	if (after_scan) {
		disable();
		release_until_scanned(h);
	}

	struct fill f = {.h = h, .from = BATCH1, .big = true};
	harness_in_thread(fill_batch, &f);
	collect(0);
	f = (struct fill){.h = h, .from = BATCH2};
	harness_in_thread(fill_batch, &f);
	collect(1);
	f = (struct fill){.h = h, .from = BATCH3};
	harness_in_thread(fill_batch, &f);
	assert_true(mark_old_active());

	struct h_seen mid = look_at_h(h);
	assert_h(&mid, 0);
	/* Allocated black. */
	assert_true(mid.big_marked);

	if (after_scan)
		enable();
	else
		marker_hold(false);
	wait_for_remark(s0.gen[2].collections);
	gyre_stats s1 = harness_stats();
	assert_int_equal(s1.gen[2].collections - s0.gen[2].collections, 1);
	assert_int_equal(s1.gen[2].objects_collected, s0.gen[2].objects_collected);

	struct h_seen after = look_at_h(h);
	assert_h(&after, 0);
	assert_int_equal(after.old_objects, mid.old_objects);
	/* H, its sentinel list, batch 1, the large array and its lists. */
	assert_int_equal(after.old_objects, 1 + LIST + BATCH * LIST + 1 + 2 * LIST);

	/* The next cycle frees all of it once it is dropped (batches 2 and 3
	 * die young, in the minor collection that starts it). */
	assert_int_equal(gyre_handle_set(h, NULL), GYRE_OK);
	start_cycle();
	wait_for_remark(s1.gen[2].collections);
	gyre_stats s2 = harness_stats();
	assert_true(s2.gen[2].objects_collected - s1.gen[2].objects_collected >=
		    after.old_objects);
	assert_int_equal(gyre_handle_free(h), GYRE_OK);
}

static void test_objects_allocated_during_cycle_survive(void)
{
	allocated_during_cycle(false);
}

static void test_objects_stored_into_scanned_object_survive(void)
{
	allocated_during_cycle(true);
}

/* The collector thread's grey stack, and the remark's, capped at a few
 * entries: what cannot be pushed is left marked for the remark's heap
 * rescan, which must still reach every node of a wide old array. */
#define WIDE 900

static void plant_wide(void *arg)
{
	gyre_handle *h = arg;
	void **array = gyre_alloc_array(GYRE_TYPE_PTR, WIDE);
	assert_non_null(array);
	for (unsigned i = 0; i < WIDE; i++)
		GYRE_STORE_AT(array, i, chain(slot_value(i), LIST));
	*h = gyre_handle_new(array);
}

struct wide_seen {
	gyre_handle h;
	unsigned intact;   /* lists intact, old and not freed */
};

static void look_wide(void *arg)
{
	struct wide_seen *s = arg;
	void **array = gyre_handle_get(s->h);
	s->intact = 0;
	for (unsigned i = 0; i < WIDE; i++) {
		const struct node *n = array[i];
		unsigned k = 0;
		for (; n && k < LIST; n = n->left, k++)
			if (!not_freed(n) || heap_gen_of((uintptr_t)n) != 2 ||
			    n->value != slot_value(i) + k)
				break;
		s->intact += k == LIST && !n;
	}
}

static void test_mark_stack_overflow_during_cycle_recovers(void)
{
	struct wide_seen s = {0};
	harness_in_thread(plant_wide, &s.h);
	assert_non_null(s.h);
	collect(2);
	harness_in_thread(look_wide, &s);
	assert_int_equal(s.intact, WIDE);

	size_t rescans = mark_rescans();
	gyre_stats s0 = harness_stats();
	mark_set_stack_limit(16);
	start_cycle();
	wait_for_remark(s0.gen[2].collections);
	mark_set_stack_limit(0);
	assert_true(mark_rescans() > rescans);
	harness_in_thread(look_wide, &s);
	assert_int_equal(s.intact, WIDE);
	assert_int_equal(harness_stats().gen[2].objects_collected, s0.gen[2].objects_collected);
	assert_int_equal(gyre_handle_free(s.h), GYRE_OK);
}

/* A large old array whose grey scan the collector thread splits into
 * chunks (mark.c's partial objects, PARTIAL_FIELDS pointers at a time,
 * with safepoint polls between them): LARGE_SLOTS slots, each holding an
 * old node valued large_value(slot). In the middle of the cycle a helper
 * thread moves the nodes of the array's last MOVED_LATE slots into young
 * holders (made in the middle of the cycle, so the cycle never looks into
 * them) and clears those slots with GYRE_STORE_AT. At the snapshot these
 * nodes were reachable only through the array's last chunks: the log has
 * to keep them, and every node left in the array has to be reached by
 * the chunk that holds it. The first half moves before the collector
 * thread has scanned anything (held); the second half once it has begun
 * on the array (its slot 0 node is marked) and is going through the
 * chunks while the helper moves. A chunk skipped, or scanned with the
 * wrong bounds, leaves nodes white: the remark's verifier aborts (the
 * array is marked and points at them), and without the verifier the
 * sweep frees them, which the counts below see. */
#define LARGE_SLOTS 200000   /* 1.6 MB: a large object, 196 chunks */
#define HOLDERS 4
#define HOLDER_SLOTS 1000    /* 8000 bytes: young */
#define MOVED_LATE (HOLDERS * HOLDER_SLOTS)

static uint64_t large_value(unsigned slot)
{
	return 0x1a000000 + (uint64_t)slot;
}

static void plant_large(void *arg)
{
	gyre_handle *h = arg;
	void **array = gyre_alloc_array(GYRE_TYPE_PTR, LARGE_SLOTS);
	assert_non_null(array);
	for (unsigned i = 0; i < LARGE_SLOTS; i++)
		GYRE_STORE_AT(array, i, node_new(large_value(i), NULL, NULL));
	*h = gyre_handle_new(array);
}

struct late_move {
	gyre_handle array;     /* the old array */
	gyre_handle holders;   /* out: a young array of HOLDERS young arrays */
	unsigned unmarked;     /* moved nodes not marked yet when they moved */
	unsigned unmarked_late; /* of them, in the second half */
	bool scan_seen;        /* the collector thread had begun on the array */
	bool timed_out;
};

/* The i-th node moved, from slot LARGE_SLOTS - 1 - i, goes to
 * holder i / HOLDER_SLOTS at i % HOLDER_SLOTS. */
static void move_late(void *arg)
{
	struct late_move *m = arg;
	void **array = gyre_handle_get(m->array);
	void **outer = gyre_alloc_array(GYRE_TYPE_PTR, HOLDERS);
	m->holders = gyre_handle_new(outer);
	for (unsigned k = 0; k < HOLDERS; k++)
		GYRE_STORE_AT(outer, k, gyre_alloc_array(GYRE_TYPE_PTR, HOLDER_SLOTS));
	const void *first = array[0];
	uint64_t cycle = mark_old_cycle();
	for (unsigned i = 0; i < MOVED_LATE; i++) {
		if (i == MOVED_LATE / 2) {
			/* Let the collector thread go, and wait until it is
			 * inside the array. */
			marker_hold(false);
			uint64_t deadline = harness_now_ms() + WAIT_MS;
			while (!(m->scan_seen = mark_old_marked(first)) &&
			       mark_old_active() && mark_old_cycle() == cycle) {
				gyre_safepoint();
				if (harness_now_ms() > deadline) {
					m->timed_out = true;
					return;
				}
			}
		}
		if (i % 256 == 0)
			gyre_safepoint();
		unsigned slot = LARGE_SLOTS - 1 - i;
		void *n = array[slot];
		bool unmarked = !mark_old_marked(n);
		m->unmarked += unmarked;
		m->unmarked_late += unmarked && i >= MOVED_LATE / 2;
		void **holder = outer[i / HOLDER_SLOTS];
		GYRE_STORE_AT(holder, i % HOLDER_SLOTS, n);
		GYRE_STORE_AT(array, slot, NULL);
	}
}

struct large_seen {
	gyre_handle array, holders;
	unsigned intact;      /* nodes with their values, old and not freed */
	unsigned cleared;     /* NULL slots of the array */
	unsigned array_gen;
};

static bool large_node_ok(const struct node *n, unsigned slot)
{
	return n && not_freed(n) && heap_gen_of((uintptr_t)n) == 2 &&
	       n->value == large_value(slot) && !n->left && !n->right;
}

static void look_large(void *arg)
{
	struct large_seen *s = arg;
	void **array = gyre_handle_get(s->array);
	void **outer = gyre_handle_get(s->holders);
	s->intact = s->cleared = 0;
	s->array_gen = heap_gen_of((uintptr_t)array);
	for (unsigned slot = 0; slot < LARGE_SLOTS; slot++) {
		s->cleared += array[slot] == NULL;
		if (slot < LARGE_SLOTS - MOVED_LATE)
			s->intact += large_node_ok(array[slot], slot);
	}
	for (unsigned i = 0; i < MOVED_LATE; i++) {
		void **holder = outer[i / HOLDER_SLOTS];
		s->intact += large_node_ok(holder[i % HOLDER_SLOTS],
					   LARGE_SLOTS - 1 - i);
	}
}

static void test_large_array_scanned_in_chunks_keeps_all(void)
{
	struct late_move m = {0};
	harness_in_thread(plant_large, &m.array);
	assert_non_null(m.array);
	collect(2);

	marker_hold(true);
	gyre_stats s0 = harness_stats();
	start_cycle();
	/* The array is large, so not moved, and grey (a handle holds it). */
	void **array = gyre_handle_get(m.array);
	assert_false(heap_contains((uintptr_t)array));
	assert_true(mark_old_marked(array));
	assert_false(mark_old_marked(array[0]));
	assert_false(mark_old_marked(array[LARGE_SLOTS - 1]));
	array = NULL;

	harness_in_thread(move_late, &m);
	marker_hold(false);
	assert_false(m.timed_out);
	assert_non_null(m.holders);
	/* The first half moved before any tracing; when the second half
	 * moved, the collector thread had begun on the array (or was done
	 * already: then it passed unseen). */
	assert_true(m.unmarked >= MOVED_LATE / 2);
	wait_for_remark(s0.gen[2].collections);
	print_message("      chunked scan: %u of the second half of the moved "
		      "nodes were still unmarked when moved (scan %s)\n",
		      m.unmarked_late, m.scan_seen ? "seen in progress" : "not seen");

	/* Nothing old died, and every node is where the test put it. */
	gyre_stats s1 = harness_stats();
	assert_int_equal(s1.gen[2].collections - s0.gen[2].collections, 1);
	assert_int_equal(s1.gen[2].objects_collected, s0.gen[2].objects_collected);
	struct large_seen s = {.array = m.array, .holders = m.holders};
	harness_in_thread(look_large, &s);
	assert_int_equal(s.array_gen, 2);
	assert_int_equal(s.cleared, MOVED_LATE);
	assert_int_equal(s.intact, LARGE_SLOTS);

	/* A stop-the-world collection agrees. */
	collect(2);
	harness_in_thread(look_large, &s);
	assert_int_equal(s.cleared, MOVED_LATE);
	assert_int_equal(s.intact, LARGE_SLOTS);
	assert_int_equal(gyre_handle_free(m.array), GYRE_OK);
	assert_int_equal(gyre_handle_free(m.holders), GYRE_OK);
}

/* -------------------------------------------------- 4. ending a cycle */

/* gyre_collect(2) in the middle of a cycle ends the cycle and then
 * collects everything with the world stopped, in one pause counted as
 * one collection of generation 2: it frees both the old garbage from
 * before the cycle and old objects dropped during it, which the cycle
 * alone would keep (they were reachable when it began). Afterwards the
 * collector thread, released, asks for no remark. */
static void test_collect2_ends_cycle(void)
{
	gyre_handle before_cycle = old_array();
	gyre_handle during_cycle = old_array();
	assert_int_equal(gyre_handle_free(before_cycle), GYRE_OK);

	marker_hold(true);
	gyre_stats s0 = harness_stats();
	start_cycle();
	assert_int_equal(gyre_handle_free(during_cycle), GYRE_OK);
	int64_t freed = collect(2);
	assert_false(mark_old_active());
	gyre_stats s1 = harness_stats();
	assert_int_equal(s1.gen[2].collections - s0.gen[2].collections, 1);
	assert_true(freed >= 2 * (GARBAGE + 1));
	assert_true(s1.gen[2].objects_collected - s0.gen[2].objects_collected >=
		    2 * (GARBAGE + 1));

	marker_hold(false);
	sleep_ms(20);
	assert_false(mark_old_active());
	assert_int_equal(harness_stats().gen[2].collections, s1.gen[2].collections);

	/* A new cycle can start. */
	start_cycle();
	wait_for_remark(s1.gen[2].collections);
}

/*
 * A log the collector thread cannot drain: while it is held, threads keep
 * overwriting the pointer fields of an old array, swapping its elements
 * and allocating nothing. Every overwritten element is an old node that
 * is not marked (the cycle has traced nothing: only the array is grey),
 * so the barrier's filter keeps every entry, and full buffers pile up on
 * the shared list. Past its limit (BACKLOG_MAX in satb.c) the storing
 * thread that hands off one more buffer ends the cycle itself, in a pause
 * (R_PACE): the remark runs on that thread, with the collector thread
 * still held. Counted as one collection of generation 2, and one pause;
 * the log it drained is gone, and the array holds every node, old and
 * intact. Each storing thread gives up after SWAP_STORES stores or WAIT_MS
 * (the test then fails instead of hanging), and polls a safepoint every
 * so often (it allocates nothing), so that the other one's pause can stop
 * it. The log must not eat memory without bound on the way: the process's
 * resident set may grow by RSS_SLACK at most.
 */
#define BACKLOG_BUFFERS 1024 /* satb.c's BACKLOG_MAX */
#define SWAPPED 1000         /* old nodes in an old array (8000 bytes) */
#define SWAPPERS 2
/* Stores of one thread before it gives up: eight times what fills the
 * list past its limit. */
#define SWAP_STORES (8 * (uint64_t)(BACKLOG_BUFFERS + 1) * SATB_ENTRIES)
#define RSS_SLACK ((size_t)64 << 20)

/* The resident set of this process, in bytes (/proc/self/statm). */
static size_t rss_bytes(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	assert_non_null(f);
	unsigned long size, resident;
	assert_int_equal(fscanf(f, "%lu %lu", &size, &resident), 2);
	fclose(f);
	return (size_t)resident * (size_t)sysconf(_SC_PAGESIZE);
}

struct thread_call {
	void (*fn)(void *arg);
	void *arg;
	bool failed;
};

static void *attached_main(void *p)
{
	struct thread_call *c = p;
	if (gyre_thread_attach() != GYRE_OK) {
		c->failed = true;
		return NULL;
	}
	c->fn(c->arg);
	c->failed = gyre_thread_detach() != GYRE_OK;
	return NULL;
}

/* Runs fn(args[i]) on n new attached threads at once, and joins them (in
 * a blocking region: their pauses do not wait for this thread). */
static void in_threads(void (*fn)(void *arg), void *const args[], unsigned n)
{
	pthread_t t[SWAPPERS];
	struct thread_call c[SWAPPERS];
	assert_true(n <= SWAPPERS);
	for (unsigned i = 0; i < n; i++) {
		c[i] = (struct thread_call){fn, args[i], false};
		assert_int_equal(pthread_create(&t[i], NULL, attached_main, &c[i]), 0);
	}
	assert_int_equal(gyre_blocking_begin(), GYRE_OK);
	for (unsigned i = 0; i < n; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	assert_int_equal(gyre_blocking_end(), GYRE_OK);
	for (unsigned i = 0; i < n; i++)
		assert_false(c[i].failed);
}

static void plant_swapped(void *arg)
{
	gyre_handle *h = arg;
	void **array = gyre_alloc_array(GYRE_TYPE_PTR, SWAPPED);
	assert_non_null(array);
	for (unsigned i = 0; i < SWAPPED; i++)
		GYRE_STORE_AT(array, i, node_new(X_VALUE + i, NULL, NULL));
	*h = gyre_handle_new(array);
}

struct swapper {
	gyre_handle h;
	unsigned from, to;     /* its slots of the array: [from, to) */
	uint64_t stores;       /* out */
	bool ended;            /* out: it saw the cycle end */
	bool timed_out;
};

static void swap_until_cycle_ends(void *arg)
{
	struct swapper *w = arg;
	void **a = gyre_handle_get(w->h);
	unsigned n = w->to - w->from;
	uint64_t deadline = harness_now_ms() + WAIT_MS;
	for (uint64_t k = 0; w->stores < SWAP_STORES; k++) {
		if (!mark_old_active()) {
			w->ended = true;
			return;
		}
		if (k % 256 == 0) {
			gyre_safepoint();
			if (harness_now_ms() > deadline) {
				w->timed_out = true;
				return;
			}
		}
		unsigned i = w->from + (unsigned)(k % n);
		unsigned j = w->from + (unsigned)((k * 7 + k / n + 1) % n);
		void *t = a[i];
		GYRE_STORE_AT(a, i, a[j]);
		GYRE_STORE_AT(a, j, t);
		w->stores += 2;
	}
}

struct swapped_seen {
	gyre_handle h;
	unsigned array_gen;
	unsigned intact;   /* distinct nodes, old, not freed, valued X_VALUE + 0.. */
};

static void look_swapped(void *arg)
{
	struct swapped_seen *s = arg;
	void **a = gyre_handle_get(s->h);
	bool seen[SWAPPED] = {false};
	s->array_gen = heap_gen_of((uintptr_t)a);
	s->intact = 0;
	for (unsigned i = 0; i < SWAPPED; i++) {
		const struct node *n = a[i];
		if (!n || !not_freed(n) || heap_gen_of((uintptr_t)n) != 2 ||
		    n->value < X_VALUE || n->value >= X_VALUE + SWAPPED ||
		    seen[n->value - X_VALUE])
			continue;
		seen[n->value - X_VALUE] = true;
		s->intact++;
	}
}

static void test_log_backlog_ends_cycle(void)
{
	size_t rss0 = rss_bytes();
	struct swapped_seen seen = {0};
	harness_in_thread(plant_swapped, &seen.h);
	assert_non_null(seen.h);
	collect(2);
	harness_in_thread(look_swapped, &seen);
	assert_int_equal(seen.array_gen, 2);
	assert_int_equal(seen.intact, SWAPPED);

	marker_hold(true);
	start_cycle();
	gyre_stats s0 = harness_stats();
	/* The array is grey, none of its nodes marked: the filter will keep
	 * every entry. */
	void **a = gyre_handle_get(seen.h);
	assert_true(mark_old_marked(a));
	unsigned marked = 0;
	for (unsigned i = 0; i < SWAPPED; i++)
		marked += mark_old_marked(a[i]);
	assert_int_equal(marked, 0);
	a = NULL;

	struct swapper w[SWAPPERS];
	void *args[SWAPPERS];
	for (unsigned i = 0; i < SWAPPERS; i++) {
		w[i] = (struct swapper){.h = seen.h, .from = i * SWAPPED / SWAPPERS,
					.to = (i + 1) * SWAPPED / SWAPPERS};
		args[i] = &w[i];
	}
	in_threads(swap_until_cycle_ends, args, SWAPPERS);
	uint64_t stores = 0;
	for (unsigned i = 0; i < SWAPPERS; i++) {
		assert_false(w[i].timed_out);
		if (!w[i].ended)
			fail_msg("thread %u stored %llu times and the cycle did not end",
				 i, (unsigned long long)w[i].stores);
		stores += w[i].stores;
	}
	/* Ended in a pause of a storing thread, with the collector thread
	 * held: one pause, the collection of generation 2, no minor one. */
	assert_false(mark_old_active());
	assert_false(satb_active());
	assert_false(satb_backlogged());
	gyre_stats s1 = harness_stats();
	assert_int_equal(s1.gen[2].collections - s0.gen[2].collections, 1);
	assert_int_equal(s1.collections - s0.collections, 1);
	assert_int_equal(s1.gen[2].objects_collected, s0.gen[2].objects_collected);
	/* Not before the list was past its limit. */
	assert_true(stores >= (uint64_t)(BACKLOG_BUFFERS + 1) * SATB_ENTRIES);

	harness_in_thread(look_swapped, &seen);
	assert_int_equal(seen.array_gen, 2);
	assert_int_equal(seen.intact, SWAPPED);
	collect(2);
	harness_in_thread(look_swapped, &seen);
	assert_int_equal(seen.intact, SWAPPED);

	marker_hold(false);
	sleep_ms(5);
	assert_false(mark_old_active());
	assert_int_equal(harness_stats().gen[2].collections, s1.gen[2].collections + 1);
	assert_int_equal(gyre_handle_free(seen.h), GYRE_OK);

	size_t rss1 = rss_bytes();
	if (rss1 > rss0 + RSS_SLACK)
		fail_msg("the resident set grew by %zu KiB", (rss1 - rss0) >> 10);
}

/*
 * The store that ends the cycle does not log into the next one: when the
 * backlog makes a storing thread end the cycle (gyre__satb_record ->
 * collect_end_cycle_early), the value that store overwrites was still in
 * its field during that pause, so it is not logged. Logged after the
 * pause, it would outlive the cycle in the thread's buffer (and on the
 * full list once the thread detaches), and the next cycle's first drain
 * would shade it whether or not it had died meanwhile. Here it has: one
 * storing thread swaps elements of an old array until a store of its own
 * ends the cycle, notes the node that store overwrote (its value; its
 * address masked, so no root names it), drops it (marking is off: nothing
 * logged) and detaches; gyre_collect(2) frees it; a new cycle starts and
 * gyre_collect(0) drains its log in a pause. A stale entry makes checked
 * builds abort there ("GYRE_STORE overwrote ..., which is not a gyre
 * object"), and unchecked ones set a mark bit on the free slot, which the
 * remark's sweep turns into an object: the slot must still be free after
 * the remark. All in a child (the failure is an abort), which reports
 * with an exit status and a line on stderr rather than cmocka's asserts.
 */
#define ADDR_MASK ((uintptr_t)0x5555555555555555ULL)

struct ending_store {
	gyre_handle h;
	bool found;          /* out: a store of this thread ended the cycle */
	uint64_t victim;     /* out: the value of the node it overwrote */
	uintptr_t victim_x;  /* out: its address ^ ADDR_MASK */
	unsigned dropped;    /* out: slots that held it, now NULL */
	uint64_t stores;     /* out */
	bool timed_out;
};

static void swap_until_own_store_ends_cycle(void *arg)
{
	struct ending_store *e = arg;
	void **a = gyre_handle_get(e->h);
	uint64_t deadline = harness_now_ms() + WAIT_MS;
	for (uint64_t k = 0; !e->found && e->stores < SWAP_STORES; k++) {
		if (k % 256 == 0) {
			gyre_safepoint();
			if (harness_now_ms() > deadline) {
				e->timed_out = true;
				return;
			}
		}
		unsigned i = (unsigned)(k % SWAPPED);
		unsigned j = (unsigned)((k * 7 + k / SWAPPED + 1) % SWAPPED);
		struct node *t = a[i], *u = a[j];
		/* Only this thread stores, nothing allocates and the
		 * collector thread is held: a cycle that is over after a
		 * store was ended by that store. */
		GYRE_STORE_AT(a, i, u); /* overwrites t */
		if (!mark_old_active()) {
			e->found = true;
			e->victim = t->value;
		}
		GYRE_STORE_AT(a, j, t); /* overwrites u */
		if (!e->found && !mark_old_active()) {
			e->found = true;
			e->victim = u->value;
		}
		e->stores += 2;
	}
	if (!e->found)
		return;
	/* Marking is off: dropping the victim logs nothing. */
	for (unsigned i = 0; i < SWAPPED; i++) {
		struct node *n = a[i];
		if (n && n->value == e->victim) {
			e->victim_x = (uintptr_t)n ^ ADDR_MASK;
			GYRE_STORE_AT(a, i, NULL);
			e->dropped++;
		}
	}
	/* Detaching hands this thread's log buffer (a stale entry, if the
	 * ending store logged one) to the shared full list. */
}

/* Whether the victim's slot holds an object; the unmasked address lives
 * in this frame only. */
static __attribute__((noinline)) bool victim_slot_in_use(const struct ending_store *e)
{
	return not_freed((const void *)(e->victim_x ^ ADDR_MASK));
}

#define CHILD_CHECK(cond, code, ...)                          \
	do {                                                  \
		if (!(cond)) {                                \
			fprintf(stderr, __VA_ARGS__);         \
			fputc('\n', stderr);                  \
			_exit(code);                          \
		}                                             \
	} while (0)

static void backlog_end_child(void)
{
	CHILD_CHECK(node_up_with(&(gyre_config){.pause_target_us = LONG_TARGET_US}) == 0, 2,
		    "gyre did not start");
	struct ending_store e = {0};
	harness_in_thread(plant_swapped, &e.h);
	CHILD_CHECK(e.h, 3, "no array");
	harness_clear_stack();
	CHILD_CHECK(gyre_collect(2) >= 0, 3, "gyre_collect(2) failed");

	marker_hold(true);
	harness_clear_stack();
	CHILD_CHECK(collect_start_cycle(mutator_current()), 4, "no cycle started");
	harness_in_thread(swap_until_own_store_ends_cycle, &e);
	CHILD_CHECK(!e.timed_out && e.found, 5,
		    "the storing thread did not end the cycle (%llu stores%s)",
		    (unsigned long long)e.stores, e.timed_out ? ", timed out" : "");
	CHILD_CHECK(!mark_old_active() && !satb_active(), 5, "the cycle is not over");
	CHILD_CHECK(e.dropped >= 1, 5, "victim %llu not found in the array",
		    (unsigned long long)e.victim);
	fprintf(stderr, "cycle ended by a store after %llu stores; victim node %#llx\n",
		(unsigned long long)e.stores, (unsigned long long)e.victim);

	/* No cycle runs: this frees the victim and drains no log. */
	harness_clear_stack();
	CHILD_CHECK(gyre_collect(2) >= 0, 6, "gyre_collect(2) failed");
	CHILD_CHECK(!victim_slot_in_use(&e), 6, "gyre_collect(2) did not free the victim");

	gyre_stats s0;
	CHILD_CHECK(gyre_stats_get(&s0) == GYRE_OK, 7, "no stats");
	harness_clear_stack();
	CHILD_CHECK(collect_start_cycle(mutator_current()), 7, "no second cycle started");
	/* A pause during the cycle drains every log (satb_drain_all): a
	 * stale entry naming the freed victim aborts here in checked
	 * builds. */
	CHILD_CHECK(gyre_collect(0) >= 0, 8, "gyre_collect(0) failed");
	marker_hold(false);
	uint64_t deadline = harness_now_ms() + WAIT_MS;
	for (;;) {
		gyre_stats s;
		CHILD_CHECK(gyre_stats_get(&s) == GYRE_OK, 9, "no stats");
		if (s.gen[2].collections > s0.gen[2].collections && !mark_old_active())
			break;
		CHILD_CHECK(harness_now_ms() <= deadline, 9, "no remark within %d ms", WAIT_MS);
		struct timespec ms = {.tv_nsec = 1000000};
		CHILD_CHECK(gyre_blocking_begin() == GYRE_OK, 9, "blocking_begin");
		nanosleep(&ms, NULL);
		CHILD_CHECK(gyre_blocking_end() == GYRE_OK, 9, "blocking_end");
	}
	CHILD_CHECK(!victim_slot_in_use(&e), 10,
		    "the freed victim's slot is an object again after the remark "
		    "(a stale log entry was shaded)");

	CHILD_CHECK(gyre_handle_free(e.h) == GYRE_OK, 11, "handle_free");
	harness_clear_stack();
	CHILD_CHECK(gyre_collect(2) >= 0, 11, "gyre_collect(2) failed");
	CHILD_CHECK(gyre_thread_detach() == GYRE_OK && gyre_shutdown() == GYRE_OK, 11,
		    "teardown failed");
}

static void test_backlog_end_leaves_no_stale_entry(void)
{
	harness_expect_exit0(backlog_end_child);
}

/* ----------------------------------------------- 5. gyre_disable */

/* While a thread holds a gyre_disable, the collector thread traces but
 * the remark is called off: no collection of generation 2 is counted and
 * the cycle stays open; a cycle cannot be started either. After
 * gyre_enable the remark comes. */
static void test_disable_holds_off_remark(void)
{
	gyre_handle h = old_array();
	marker_hold(true);
	gyre_stats s0 = harness_stats();
	start_cycle();
	/* A second one does not start while one runs. */
	assert_false(collect_start_cycle(mutator_current()));
	assert_int_equal(harness_stats().collections, s0.collections + 1);
	disable();
	marker_hold(false);

	sleep_ms(50);
	gyre_stats s1 = harness_stats();
	assert_int_equal(s1.gen[2].collections, s0.gen[2].collections);
	assert_int_equal(s1.collections, s0.collections + 1);
	assert_true(mark_old_active());
	assert_false(collect_start_cycle(mutator_current()));

	enable();
	wait_for_remark(s0.gen[2].collections);
	struct array_seen s = {.h = h};
	harness_in_thread(look_array, &s);
	assert_int_equal(s.gen2, GARBAGE + 1);
	assert_int_equal(s.intact, GARBAGE);
	assert_int_equal(gyre_handle_free(h), GYRE_OK);
}

/* ------------------------------------------------------ 6. stw_mark */

/* gyre_config.stw_mark = 1: no concurrent cycle; gyre_collect(2) still
 * collects generation 2, with the world stopped. */
static void test_stw_mark_config_runs_no_cycle(void)
{
	assert_int_equal(gyre_cfg.stw_mark, 1);
	gyre_stats s0 = harness_stats();
	assert_false(collect_start_cycle(mutator_current()));
	assert_false(mark_old_active());
	assert_int_equal(harness_stats().collections, s0.collections);

	gyre_handle h = old_array();
	assert_int_equal(gyre_handle_free(h), GYRE_OK);
	gyre_stats s1 = harness_stats();
	collect(2);
	assert_false(mark_old_active());
	gyre_stats s2 = harness_stats();
	assert_int_equal(s2.gen[2].collections - s1.gen[2].collections, 1);
	assert_true(s2.gen[2].objects_collected - s1.gen[2].objects_collected >=
		    GARBAGE + 1);
}

/* The same through the environment, in a child (gyre_init reads it). */
static void stw_mark_env_child(void)
{
	if (setenv("GYRE_STW_MARK", "1", 1) || gyre_init(NULL) || gyre_thread_attach())
		_exit(2);
	if (!gyre_cfg.stw_mark)
		_exit(3);
	if (collect_start_cycle(mutator_current()) || mark_old_active())
		_exit(4);
	if (gyre_collect(2) < 0 || mark_old_active())
		_exit(5);
	if (gyre_thread_detach() || gyre_shutdown())
		_exit(6);
}

static void test_stw_mark_env_runs_no_cycle(void)
{
	harness_expect_exit0(stw_mark_env_child);
}

/* ------------------------------------------------- 6b. the allowance */

#define GROW_CHAINS 64
#define GROW_CHAIN (4096u)

/* Chains held by a handle's array, each a new one stored in the next
 * slot: a heap that only grows. */
static void grow_by_chain(gyre_handle h, unsigned i)
{
	void **holder = gyre_handle_get(h);
	GYRE_STORE_AT(holder, i, chain(i, GROW_CHAIN));
}

/* A concurrent cycle that cannot finish (the collector thread is held)
 * while the program only adds live data ends in a pause once it has
 * allocated the allowance (R_PACE), having freed nothing: the next
 * allowance doubles, where the normal rule (growth% of what the cycle
 * found live, less what it allocated black) would leave it as it was. A
 * stop-the-world collection afterwards applies the normal rule. */
static void test_paced_cycle_of_growing_heap_doubles_allowance(void)
{
	void **holder = gyre_alloc_array(GYRE_TYPE_PTR, GROW_CHAINS);
	assert_non_null(holder);
	gyre_handle h = gyre_handle_new(holder);
	assert_non_null(h);
	holder = NULL;
	for (unsigned i = 0; i < GROW_CHAINS / 2; i++)
		grow_by_chain(h, i);
	collect(2);
	size_t first = collect_allowance();
	marker_hold(true);
	uint64_t before = harness_stats().gen[2].collections;
	start_cycle();
	unsigned i = GROW_CHAINS / 2;
	for (; i < GROW_CHAINS && harness_stats().gen[2].collections == before; i++) {
		grow_by_chain(h, i);
		collect(0);
	}
	assert_true(harness_stats().gen[2].collections > before);
	assert_false(mark_old_active());
	/* The allowance is set once the lazy sweep after the pause has
	 * ended, which the collector thread does when released. */
	marker_hold(false);
	uint64_t deadline = harness_now_ms() + WAIT_MS;
	while (collect_allowance() == first && harness_now_ms() < deadline)
		sleep_ms(1);
	size_t second = collect_allowance();
	assert_true(second > first + first / 2);
	assert_true(second <= 2 * first);
	gyre_handle_free(h);
	collect(2);
	assert_int_equal(collect_allowance(), gyre_cfg.heap_min);
}

/* --------------------------------------------------------- 7. misuse */

#define JUNK ((void *)(uintptr_t)0x5a5a5a5a5a5a5a5bULL)
/* Aligned, past the first page, and below the lowest address Linux maps
 * (vm.mmap_min_addr, 64 KiB by default): the check must read around it
 * without faulting. */
#define LOW_JUNK ((void *)(uintptr_t)0x9000)

/* What store_over_junk_child stores. */
static void *junk_value;

/* In a child: a plain store puts junk in an object's pointer field in
 * the middle of a cycle, then GYRE_STORE overwrites it, which logs the
 * junk (the barrier logs what it overwrites in any object, young or old);
 * the next pause drains the log and must catch it. */
static void store_over_junk_child(void)
{
	if (node_up_with(NULL))
		_exit(2);
	marker_hold(true);
	if (!collect_start_cycle(mutator_current()))
		_exit(3);
	struct node *volatile a = node_new(1, NULL, NULL);
	a->left = junk_value; /* the misuse: not a gyre object, and no barrier */
	GYRE_STORE(a, left, NULL);
	gyre_collect(0);
	_exit(0);        /* not caught: the parent reports it */
}

static void test_store_over_junk_during_cycle_aborts(void)
{
	if (!GYRE_DEBUG)
		skip(); /* the check exists in checked builds only */
	junk_value = JUNK;
	harness_expect_abort(store_over_junk_child,
			     "GYRE_STORE overwrote 0x5a5a5a5a5a5a5a5b, which is not a gyre object");
}

static void test_store_over_low_junk_during_cycle_aborts(void)
{
	if (!GYRE_DEBUG)
		skip();
	junk_value = LOW_JUNK;
	harness_expect_abort(store_over_junk_child,
			     "GYRE_STORE overwrote 0x9000, which is not a gyre object");
}

/* Every test runs through run_body (node.h). */
#define TEST_WITH(fn, setup) \
	{#fn, run_body, setup, down, &(struct body){fn}}
#define TEST(fn) TEST_WITH(fn, up)
#define TEST_ALONE(fn) \
	{#fn, run_body, NULL, NULL, &(struct body){fn}}

int main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(test_satb_keeps_object_moved_out_of_old_field),
		TEST(test_satb_keeps_object_moved_out_to_local),
		TEST(test_satb_log_of_exited_thread_keeps_objects),
		TEST(test_cycle_frees_garbage_from_before_it),
		TEST_WITH(test_objects_allocated_during_cycle_survive, up_aging),
		TEST_WITH(test_objects_stored_into_scanned_object_survive, up_aging),
		TEST(test_mark_stack_overflow_during_cycle_recovers),
		TEST(test_large_array_scanned_in_chunks_keeps_all),
		TEST(test_collect2_ends_cycle),
		TEST_WITH(test_log_backlog_ends_cycle, up_long_increments),
		TEST_ALONE(test_backlog_end_leaves_no_stale_entry),
		TEST(test_disable_holds_off_remark),
		TEST_WITH(test_stw_mark_config_runs_no_cycle, up_stw_mark),
		TEST_WITH(test_paced_cycle_of_growing_heap_doubles_allowance, up_growing),
		TEST_ALONE(test_stw_mark_env_runs_no_cycle),
		TEST_ALONE(test_store_over_junk_during_cycle_aborts),
		TEST_ALONE(test_store_over_low_junk_during_cycle_aborts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
