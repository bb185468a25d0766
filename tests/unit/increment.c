/*
 * Tests of marking increments (gc/driver/collect.c's pause_increment): a
 * concurrent cycle that the program outruns is marked in pauses bounded by
 * the pause target, not finished in one long pause.
 */
#include <stdlib.h>
#include <time.h>

#include "harness.h"
#include "node.h"
#include "gc/driver/collect.h"
#include "gc/heap/heap.h"
#include "gc/old/mark.h"
#include "gc/old/marker.h"
#include "gc/old/sweep.h"
#include "threads/mutator.h"

#define WAIT_MS 20000
#define CHAINS 4
#define CHAIN 4096u
#define LARGE_BYTES (64u << 10)
/* A table of nodes large enough to be scanned in chunks (partial). */
#define TABLE 65536u

/* The shortest pause target: every increment marks for 200 us at most
 * (MIN_INCREMENT_NS), far less than this test's graph takes. Without the
 * verifier: its pass over the heap in every increment would leave the
 * increments no time under the sanitizers (hundreds of them, half a
 * second each); the check after the lazy sweep finds a lost object
 * instead (its slot is free). */
static int up(void **state)
{
	(void)state;
	unsetenv("GYRE_VERIFY");
	return node_up_with(&(gyre_config){.pause_target_us = 100, .heap_min = (size_t)1 << 20});
}

static int down(void **state)
{
	marker_hold(false);
	return node_down(state);
}

/* Releases the collector thread and waits for its lazy sweep: a node
 * that marking lost is freed by then. */
static void sweep_to_end(void)
{
	marker_hold(false);
	uint64_t deadline = harness_now_ms() + WAIT_MS;
	while (sweep_old_pending()) {
		assert_true(harness_now_ms() < deadline);
		assert_int_equal(gyre_blocking_begin(), GYRE_OK);
		nanosleep(&(struct timespec){.tv_nsec = 1000000}, NULL);
		assert_int_equal(gyre_blocking_end(), GYRE_OK);
	}
}

/* holder[0 .. CHAINS) are chains, holder[CHAINS] a table of nodes. */
static void plant(void *arg)
{
	void **holder = gyre_alloc_array(GYRE_TYPE_PTR, CHAINS + 1);
	assert_non_null(holder);
	*(gyre_handle *)arg = gyre_handle_new(holder);
	for (unsigned i = 0; i < CHAINS; i++)
		GYRE_STORE_AT(holder, i, chain((uint64_t)i * CHAIN, CHAIN));
	void **table = gyre_alloc_array(GYRE_TYPE_PTR, TABLE);
	assert_non_null(table);
	GYRE_STORE_AT(holder, CHAINS, table);
	for (unsigned i = 0; i < TABLE; i++)
		GYRE_STORE_AT(table, i, node_new(i, NULL, NULL));
}

/* Every chain whole, its nodes valued in order and allocated. */
static void check_chains(gyre_handle h)
{
	void **holder = gyre_handle_get(h);
	for (unsigned i = 0; i < CHAINS; i++) {
		unsigned n = 0;
		for (struct node *c = holder[i]; c; c = c->left, n++) {
			assert_true(heap_is_small_object((uintptr_t)c));
			assert_int_equal(c->value, (uint64_t)i * CHAIN + n);
		}
		assert_int_equal(n, CHAIN);
	}
	void **table = holder[CHAINS];
	for (unsigned i = 0; i < TABLE; i++) {
		struct node *c = table[i];
		assert_true(heap_is_small_object((uintptr_t)c));
		assert_int_equal(c->value, i);
	}
}

/* The old graph: chains, and a table that increments scan in chunks.
 * Large objects count as generation 2's growth at once: allocating them
 * while a cycle marks, with the collector thread held, passes the
 * cycle's allowance again and again, so pauses of the allocating thread
 * mark the old graph, a bounded increment at a time, until one of them
 * finds nothing left and ends the cycle. Nothing of the graph is lost.
 * With the increments unbounded, a single one marks everything. */
static void test_outrun_cycle_marks_in_increments(void **state)
{
	(void)state;
	gyre_handle h = NULL;
	harness_in_thread(plant, &h);
	harness_clear_stack();
	assert_true(gyre_collect(2) >= 0);

	marker_hold(true);
	harness_clear_stack();
	assert_true(collect_start_cycle(mutator_current()));
	gyre_stats s0 = harness_stats();
	uint64_t deadline = harness_now_ms() + WAIT_MS;
	while (mark_old_active()) {
		assert_non_null(gyre_alloc_bytes(LARGE_BYTES));
		if (harness_now_ms() > deadline)
			fail_msg("the cycle did not end within %d ms (%llu increments)", WAIT_MS,
				 (unsigned long long)(harness_stats().increments - s0.increments));
	}
	gyre_stats s1 = harness_stats();
	/* Ended by an increment: the collector thread never asked. */
	assert_int_equal(s1.gen[2].collections - s0.gen[2].collections, 1);
	assert_true(s1.increments - s0.increments >= 2);
	sweep_to_end();
	check_chains(h);
	harness_clear_stack();
	assert_true(gyre_collect(2) >= 0);
	check_chains(h);
	assert_int_equal(gyre_handle_free(h), GYRE_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_outrun_cycle_marks_in_increments, up, down),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
