/*
 * Tests of compaction at the end of a concurrent cycle (gc/old/
 * compact_cycle.c): candidates chosen when the cycle starts, the slots
 * that point into them recorded while it marks, evacuated by the pause
 * that ends it.
 *
 *   1. a cycle after one that left the table sparse compacts it; every
 *      survivor is intact and linked to its neighbours' copies;
 *   2. a store into an old object while the cycle marks is recorded by
 *      the write barrier, and follows the object;
 *   3. a young object promoted while the cycle marks is recorded by the
 *      copier, and follows;
 *   4. a young object pinned by a C local at the end follows, and an
 *      object a C local points at does not move.
 *
 * Each runs the cycles from the test's thread, the collector thread held
 * (marker_hold), with GYRE_VERIFY=1: the verifier fails any pointer left
 * to an evacuated object (dead, in a block not swept yet).
 */
#include <stdlib.h>

#include "harness.h"
#include "node.h"
#include "gc/driver/collect.h"
#include "gc/heap/heap.h"
#include "gc/old/compact.h"
#include "gc/old/mark.h"
#include "gc/old/marker.h"
#include "threads/mutator.h"

#define N 40000
#define KEEP 4
#define HOLD 16

/* Survivors go straight to generation 2 (the copier's records are those
 * of generation-2 holders); the budget does not limit the tests. */
static int up(void **state)
{
	(void)state;
	return node_up_with(&(gyre_config){.tenure_age = 1, .compact_budget_us = 1000000});
}

static int down(void **state)
{
	marker_hold(false);
	return node_down(state);
}

static gyre_handle table, hold;

static void **tab(void)
{
	return gyre_handle_get(table);
}

static void **held(void)
{
	return gyre_handle_get(hold);
}

/* N nodes dense in generation 2, then all but one in KEEP dropped, each
 * survivor linked to the next; and a small old array, `hold`. On another
 * thread: no stale word of this one's stack names them. */
static void build(void *arg)
{
	(void)arg;
	void **t = gyre_alloc_array(GYRE_TYPE_PTR, N);
	assert_non_null(t);
	table = gyre_handle_new(t);
	hold = gyre_handle_new(gyre_alloc_array(GYRE_TYPE_PTR, HOLD));
	assert_non_null(gyre_handle_get(hold));
	for (unsigned i = 0; i < N; i++)
		GYRE_STORE_AT(tab(), i, node_new(i, NULL, NULL));
	assert_true(gyre_collect(2) >= 0);
	t = tab();
	for (unsigned i = 0; i + KEEP < N; i += KEEP)
		GYRE_STORE((struct node *)t[i], left, (struct node *)t[i + KEEP]);
	for (unsigned i = 0; i < N; i++)
		if (i % KEEP)
			GYRE_STORE_AT(t, i, NULL);
}

static void check_survivors(void)
{
	void **t = tab();
	for (unsigned i = 0; i < N; i += KEEP) {
		struct node *n = t[i];
		assert_non_null(n);
		assert_int_equal(n->value, i);
		assert_ptr_equal(n->left, i + KEEP < N ? t[i + KEEP] : NULL);
	}
}

/* A cycle that sweeps the sparse table (its lazy sweep notes the blocks),
 * then one that starts with candidates, left marking. */
static void start_compacting_cycle(void)
{
	marker_hold(true);
	harness_clear_stack();
	assert_true(collect_start_cycle(mutator_current()));
	assert_true(collect_remark(mutator_current(), mark_old_cycle()));
	assert_true(collect_start_cycle(mutator_current()));
	assert_true(compact_cycle_planned());
}

static void end_cycle(void)
{
	assert_true(collect_remark(mutator_current(), mark_old_cycle()));
	assert_false(mark_old_active());
	marker_hold(false);
}

/* A survivor in a candidate block, or fails. */
static unsigned candidate(void)
{
	void **t = tab();
	for (unsigned i = 0; i < N; i += KEEP)
		if (space_of((uintptr_t)t[i]) & SPACE_EVAC)
			return i;
	fail_msg("no survivor in a candidate block");
	return 0;
}

static void test_cycle_compacts(void)
{
	harness_in_thread(build, NULL);
	gyre_stats s0 = harness_stats();
	start_compacting_cycle();
	end_cycle();
	gyre_stats s1 = harness_stats();
	assert_int_equal(s1.compactions, s0.compactions + 1);
	assert_true(s1.objects_evacuated - s0.objects_evacuated >= N / KEEP / 2);
	check_survivors();
	gyre_handle_free(table);
	gyre_handle_free(hold);
}

/* Stores while the cycle marks, into `hold` (old, marked or not yet: the
 * records do not depend on it). */
static void test_barrier_records(void)
{
	harness_in_thread(build, NULL);
	start_compacting_cycle();
	unsigned i = candidate();
	size_t r0 = compact_records();
	GYRE_STORE_AT(held(), 0, tab()[i]);
	assert_int_equal(compact_records(), r0 + 1);
	/* A store of a pointer elsewhere records nothing. */
	GYRE_STORE_AT(held(), 1, (void *)held());
	assert_int_equal(compact_records(), r0 + 1);
	end_cycle();
	assert_ptr_equal(held()[0], tab()[i]);
	assert_int_equal(((struct node *)held()[0])->value, i);
	check_survivors();
	gyre_handle_free(table);
	gyre_handle_free(hold);
}

/* A young node pointing at a candidate, promoted by a collection while
 * the cycle marks. */
static void make_young(void *arg)
{
	unsigned i = *(unsigned *)arg;
	GYRE_STORE_AT(held(), 2, node_new(7, tab()[i], NULL));
}

static void test_copier_records(void)
{
	harness_in_thread(build, NULL);
	start_compacting_cycle();
	unsigned i = candidate();
	harness_in_thread(make_young, &i);
	size_t r0 = compact_records();
	harness_clear_stack();
	assert_true(gyre_collect(0) >= 0);
	assert_true(compact_records() > r0);
	end_cycle();
	struct node *y = held()[2];
	assert_int_equal(y->value, 7);
	assert_ptr_equal(y->left, tab()[i]);
	assert_int_equal(y->left->value, i);
	check_survivors();
	gyre_handle_free(table);
	gyre_handle_free(hold);
}

/* Young nodes that C locals pin through the end of the cycle point at a
 * candidate's object: they are updated in place, every one of them (200,
 * side by side in the nursery: many to a word of its start bits). Another
 * local points at a candidate's object: that block stays, the object too. */
#define YOUNG 200

static void test_locals(void)
{
	harness_in_thread(build, NULL);
	start_compacting_cycle();
	unsigned i = candidate();
	struct node *volatile y = node_new(9, tab()[i], NULL);
	struct node *volatile ys[YOUNG];
	for (unsigned k = 0; k < YOUNG; k++)
		ys[k] = node_new(k, tab()[i], NULL);
	unsigned j = i;
	void **t = tab();
	for (unsigned k = 0; k < N; k += KEEP)
		if ((space_of((uintptr_t)t[k]) & SPACE_EVAC) &&
		    block_of((uintptr_t)t[k]) != block_of((uintptr_t)t[i]))
			j = k;
	assert_true(j != i);
	struct node *volatile pinned = t[j];
	t = NULL;
	end_cycle();
	assert_ptr_equal(y->left, tab()[i]);
	assert_int_equal(y->left->value, i);
	for (unsigned k = 0; k < YOUNG; k++)
		assert_ptr_equal(ys[k]->left, tab()[i]);
	assert_ptr_equal(tab()[j], pinned);
	assert_int_equal(pinned->value, j);
	check_survivors();
	gyre_handle_free(table);
	gyre_handle_free(hold);
}

#define BODY(fn) (&(struct body){fn})

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_prestate_setup_teardown(run_body, up, down,
							 BODY(test_cycle_compacts)),
		cmocka_unit_test_prestate_setup_teardown(run_body, up, down,
							 BODY(test_barrier_records)),
		cmocka_unit_test_prestate_setup_teardown(run_body, up, down,
							 BODY(test_copier_records)),
		cmocka_unit_test_prestate_setup_teardown(run_body, up, down,
							 BODY(test_locals)),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
