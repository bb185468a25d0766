/*
 * ephemeron.c: unit tests of ephemerons (gyre.h, gc/final/weak.h): the value of
 * an ephemeron whose key is alive survives and follows its moves; once
 * the key dies both words read NULL, in minor, full and concurrent
 * collections, also for an old ephemeron whose young key and value are
 * found through its card; a value that reaches its own key keeps
 * nothing; chains of ephemerons and a weak-keyed table of them resolve
 * completely, also when a gather of notes finds no memory; a key handed
 * out while a concurrent cycle marks survives that cycle.
 *
 * As in weak.c, what a test wants dead is made and inspected by helper
 * threads, whose stacks die with them. The build runs the tests with
 * GYRE_VERIFY=1: the verifier checks that no ephemeron points at a freed
 * object and that one holding a younger key or value lies on a dirty
 * card.
 */
#include <pthread.h>
#include <stdbool.h>
#include <time.h>

#include "harness.h"
#include "node.h"
#include "cycles.h"
#include "gc/driver/collect.h"
#include "gc/heap/heap.h"
#include "gc/old/mark.h"
#include "gc/old/marker.h"
#include "threads/mutator.h"

#define TABLE 2000

static int up(void **state)
{
	(void)state;
	return node_up_with(&(gyre_config){.finalizer_thread = -1});
}

static int down(void **state)
{
	marker_hold(false);
	return node_down(state);
}

/* [0] an ephemeron, [1] its key when kept. */
static gyre_handle h[2];

/* An ephemeron whose key is node 1 and value node 2 -> node 3; only the
 * ephemeron holds the value. */
static void make_pair(void *keep_key)
{
	struct node *k = node_new(1, NULL, NULL);
	struct node *v = node_new(2, node_new(3, NULL, NULL), NULL);
	h[0] = gyre_handle_new(gyre_ephemeron_new(k, v));
	h[1] = keep_key ? gyre_handle_new(k) : NULL;
}

static void check_kept(void *arg)
{
	(void)arg;
	void *e = gyre_handle_get(h[0]);
	struct node *v = gyre_ephemeron_value(e);
	assert_ptr_equal(gyre_ephemeron_key(e), gyre_handle_get(h[1]));
	assert_non_null(v);
	assert_int_equal(v->value, 2);
	assert_int_equal(v->left->value, 3);
}

static void check_cleared(void *arg)
{
	(void)arg;
	void *e = gyre_handle_get(h[0]);
	assert_null(gyre_ephemeron_key(e));
	assert_null(gyre_ephemeron_value(e));
}

static void free_handles(void)
{
	for (int i = 0; i < 2; i++)
		if (h[i])
			assert_int_equal(gyre_handle_free(h[i]), GYRE_OK);
	h[0] = h[1] = NULL;
}

/* ------------------------------------------------------ 1. one pair */

static void test_live_key_keeps_value(void)
{
	harness_in_thread(make_pair, (void *)1);
	for (int g = 0; g <= 2; g++) {
		collect_clean(g);
		harness_in_thread(check_kept, NULL);
	}
	free_handles();
}

static void test_dead_young_key_clears(void)
{
	harness_in_thread(make_pair, NULL);
	collect_clean(0);
	harness_in_thread(check_cleared, NULL);
	free_handles();
}

static void check_value_only(void *arg)
{
	(void)arg;
	struct node *v = gyre_ephemeron_value(gyre_handle_get(h[0]));
	assert_non_null(v);
	assert_int_equal(v->left->value, 3);
}

/* Old, key dropped: minor collections keep it, generation 2 clears it. */
static void old_key_dropped(void)
{
	harness_in_thread(make_pair, (void *)1);
	collect_clean(2);
	assert_int_equal(gyre_handle_free(h[1]), GYRE_OK);
	h[1] = NULL;
	collect_clean(0);
	collect_clean(1);
	harness_in_thread(check_value_only, NULL);
}

static void test_dead_old_key_clears_by_full(void)
{
	old_key_dropped();
	collect_clean(2);
	harness_in_thread(check_cleared, NULL);
	free_handles();
}

static void test_dead_old_key_clears_by_concurrent_cycle(void)
{
	old_key_dropped();
	run_cycle(NULL, NULL, NULL);
	harness_in_thread(check_cleared, NULL);
	free_handles();
}

/* A value that reaches its key: nothing else holds the key, so both go. */
static void make_self_keeping(void *arg)
{
	(void)arg;
	struct node *k = node_new(1, NULL, NULL);
	struct node *v = node_new(2, k, NULL);
	h[0] = gyre_handle_new(gyre_ephemeron_new(k, v));
}

static void test_value_reaching_key_keeps_nothing(void)
{
	for (int g = 0; g <= 2; g += 2) {
		harness_in_thread(make_self_keeping, NULL);
		collect_clean(g);
		harness_in_thread(check_cleared, NULL);
		free_handles();
	}
}

/* ----------------------------------------- 2. old pair, young key */

/* A helper's stack pins the key and the value while a full collection
 * promotes the ephemeron: old ephemeron, young key and value, found by
 * the next minor collection through its card. */
static pthread_barrier_t bar;

static void *pin_main(void *arg)
{
	assert_int_equal(gyre_thread_attach(), GYRE_OK);
	struct node *volatile k = node_new(1, NULL, NULL);
	struct node *volatile v = node_new(2, node_new(3, NULL, NULL), NULL);
	h[0] = gyre_handle_new(gyre_ephemeron_new(k, v));
	h[1] = arg ? gyre_handle_new(k) : NULL;
	assert_int_equal(gyre_blocking_begin(), GYRE_OK);
	pthread_barrier_wait(&bar);
	pthread_barrier_wait(&bar);
	assert_int_equal(gyre_blocking_end(), GYRE_OK);
	assert_int_equal(gyre_thread_detach(), GYRE_OK);
	return NULL;
}

static void check_old_young(void *arg)
{
	(void)arg;
	void *e = gyre_handle_get(h[0]);
	assert_int_equal(heap_gen_of((uintptr_t)e), 2);
	assert_int_equal(heap_gen_of((uintptr_t)gyre_ephemeron_key(e)), 0);
	assert_int_equal(heap_gen_of((uintptr_t)gyre_ephemeron_value(e)), 0);
}

static void old_pair_young_key(bool keep)
{
	pthread_t t;
	pthread_barrier_init(&bar, NULL, 2);
	assert_int_equal(pthread_create(&t, NULL, pin_main, keep ? (void *)1 : NULL), 0);
	assert_int_equal(gyre_blocking_begin(), GYRE_OK);
	pthread_barrier_wait(&bar);
	assert_int_equal(gyre_blocking_end(), GYRE_OK);
	collect_clean(2);
	harness_in_thread(check_old_young, NULL);
	assert_int_equal(gyre_blocking_begin(), GYRE_OK);
	pthread_barrier_wait(&bar);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(gyre_blocking_end(), GYRE_OK);
	pthread_barrier_destroy(&bar);
	collect_clean(0);
}

static void test_old_pair_young_key_kept(void)
{
	old_pair_young_key(true);
	harness_in_thread(check_kept, NULL);
	free_handles();
}

static void test_old_pair_young_key_cleared(void)
{
	old_pair_young_key(false);
	harness_in_thread(check_cleared, NULL);
	free_handles();
}

/* --------------------------------------------- 3. chains and tables */

/* A chain of CHAIN ephemerons: e_i has key k_i and value k_(i+1), the
 * last one's value is node 9 -> 10; only k_0 is kept. Each key is made
 * alive by the previous value alone. The ephemerons sit in an array in
 * chain order or in the reverse order (`reversed`): one of the two
 * defeats whatever order a collection scans them in, so that a single
 * pass over the noted ones would resolve one link only. */
#define CHAIN 64
static gyre_handle links, first_key;
static bool reversed;

static int at(int i)
{
	return reversed ? CHAIN - 1 - i : i;
}

static void make_chain(void *arg)
{
	(void)arg;
	void **arr = gyre_alloc_array(GYRE_TYPE_PTR, CHAIN);
	links = gyre_handle_new(arr);
	struct node *next = node_new(9, node_new(10, NULL, NULL), NULL);
	for (int i = CHAIN - 1; i >= 0; i--) {
		struct node *k = node_new((uint64_t)i, NULL, NULL);
		GYRE_STORE_AT(arr, at(i), gyre_ephemeron_new(k, next));
		next = k;
	}
	first_key = gyre_handle_new(next);
}

static void check_chain(void *alive)
{
	void **arr = gyre_handle_get(links);
	for (int i = 0; i < CHAIN; i++) {
		struct node *k = gyre_ephemeron_key(arr[at(i)]);
		struct node *v = gyre_ephemeron_value(arr[at(i)]);
		if (!alive) {
			assert_null(k);
			assert_null(v);
			continue;
		}
		assert_non_null(v);
		assert_int_equal(k->value, (uint64_t)i);
		if (i == CHAIN - 1)
			assert_int_equal(v->left->value, 10);
		else
			assert_ptr_equal(v, gyre_ephemeron_key(arr[at(i + 1)]));
	}
}

/* Resolved by a minor collection (young), then by marking alone (old:
 * the second full collection finds nothing young), then cleared. */
static void test_chain_resolved(void)
{
	for (int r = 0; r < 2; r++) {
		reversed = r;
		harness_in_thread(make_chain, NULL);
		collect_clean(0);
		harness_in_thread(check_chain, (void *)1);
		collect_clean(2);
		collect_clean(2);
		harness_in_thread(check_chain, (void *)1);
		assert_int_equal(gyre_handle_free(first_key), GYRE_OK);
		collect_clean(2);
		harness_in_thread(check_chain, NULL);
		assert_int_equal(gyre_handle_free(links), GYRE_OK);
	}
}

/* A weak-keyed table: TABLE ephemerons in a pointer array, each value
 * pointing back at its key; the keys are kept in a second array, until
 * all but every third are dropped. */
static gyre_handle table, keys;

static void make_table(void *arg)
{
	(void)arg;
	void **t = gyre_alloc_array(GYRE_TYPE_PTR, TABLE);
	void **k = gyre_alloc_array(GYRE_TYPE_PTR, TABLE);
	table = gyre_handle_new(t);
	keys = gyre_handle_new(k);
	for (uint64_t i = 0; i < TABLE; i++) {
		struct node *key = node_new(i, NULL, NULL);
		GYRE_STORE_AT(t, i, gyre_ephemeron_new(key, node_new(i + TABLE, key, NULL)));
		GYRE_STORE_AT(k, i, key);
	}
}

static void drop_keys(void *arg)
{
	(void)arg;
	void **k = gyre_handle_get(keys);
	for (uint64_t i = 0; i < TABLE; i++)
		if (i % 3)
			GYRE_STORE_AT(k, i, NULL);
}

static void check_table(void *arg)
{
	(void)arg;
	void **t = gyre_handle_get(table), **k = gyre_handle_get(keys);
	for (uint64_t i = 0; i < TABLE; i++) {
		struct node *key = gyre_ephemeron_key(t[i]);
		struct node *v = gyre_ephemeron_value(t[i]);
		if (i % 3) {
			assert_null(key);
			assert_null(v);
			continue;
		}
		assert_ptr_equal(key, k[i]);
		assert_int_equal(v->value, i + TABLE);
		assert_ptr_equal(v->left, key);
	}
}

/* how: 0 young (minor), 2 old (full), 3 old (concurrent cycle). */
static void table_resolved(int how)
{
	harness_in_thread(make_table, NULL);
	if (how)
		collect_clean(2);
	harness_in_thread(drop_keys, NULL);
	if (how == 3)
		run_cycle(NULL, NULL, NULL);
	else
		collect_clean(how);
	harness_in_thread(check_table, NULL);
	assert_int_equal(gyre_handle_free(table), GYRE_OK);
	assert_int_equal(gyre_handle_free(keys), GYRE_OK);
}

static void test_table_resolved_by_minor(void)
{
	table_resolved(0);
}

static void test_table_resolved_by_full(void)
{
	table_resolved(2);
}

static void test_table_resolved_by_concurrent_cycle(void)
{
	table_resolved(3);
}

/* ------------------------------------------- 4. without memory for notes */

/* The ephemerons a pass notes are gathered; a gather without memory
 * makes them strong instead, and the pass after it must not be the last:
 * it looks at its ephemerons before it traces from the strong ones.
 * Here e2 is noted only while a pass traces from e3's value (k3 is deep
 * under a chain, marked after e3 is scanned); the gather that finds e2
 * has no memory, so e2's value, which alone reaches e1's key, is marked
 * by the next pass's tracing, after that pass has looked at e1. One
 * worker, so the order is the one described. */
static int up_one_worker(void **state)
{
	(void)state;
	return node_up_with(&(gyre_config){.finalizer_thread = -1, .workers = 1});
}

static int down_refuse(void **state)
{
	mark_refuse_gather(0);
	return down(state);
}

static gyre_handle nr_arr, nr_chain, nr_k2;

static void build_noroom(void *arg)
{
	(void)arg;
	struct node *k1 = node_new(1, NULL, NULL);
	void *e1 = gyre_ephemeron_new(k1, node_new(42, NULL, NULL));
	struct node *k2 = node_new(2, NULL, NULL);
	void *e2 = gyre_ephemeron_new(k2, node_new(20, k1, NULL));
	struct node *k3 = node_new(3, NULL, NULL);
	void *e3 = gyre_ephemeron_new(k3, node_new(30, (struct node *)e2, NULL));
	struct node *p = k3;
	for (int i = 0; i < 64; i++)
		p = node_new(100 + (uint64_t)i, p, NULL);
	void **a = gyre_alloc_array(GYRE_TYPE_PTR, 2);
	GYRE_STORE_AT(a, 0, e3);
	GYRE_STORE_AT(a, 1, e1);
	nr_chain = gyre_handle_new(p);
	nr_arr = gyre_handle_new(a);
	nr_k2 = gyre_handle_new(k2);
}

static void check_noroom(void *arg)
{
	(void)arg;
	void **a = gyre_handle_get(nr_arr);
	struct node *n = gyre_ephemeron_value(a[0]);
	assert_non_null(n);
	struct node *v2 = gyre_ephemeron_value(n->left);
	assert_non_null(v2);
	assert_ptr_equal(gyre_ephemeron_key(a[1]), v2->left);
	struct node *v1 = gyre_ephemeron_value(a[1]);
	assert_non_null(v1);
	assert_int_equal(v1->value, 42);
}

static void test_gather_without_memory(void)
{
	harness_in_thread(build_noroom, NULL);
	collect_clean(2);
	assert_int_equal(gyre_handle_free(nr_k2), GYRE_OK);
	mark_refuse_gather(2);
	collect_clean(2);
	mark_refuse_gather(0);
	harness_in_thread(check_noroom, NULL);
	assert_int_equal(gyre_handle_free(nr_arr), GYRE_OK);
	assert_int_equal(gyre_handle_free(nr_chain), GYRE_OK);
}

/* ------------------------------------------ 5. during a concurrent cycle */

/* The key of an old ephemeron is dropped before a cycle; once the
 * collector thread has marked an old holder, the program reads the key
 * and stores it there: the key survives, and with it the value. */
static gyre_handle holder;

static void make_holder(void *arg)
{
	(void)arg;
	holder = gyre_handle_new(node_new(7, NULL, NULL));
}

static void read_key(void *arg)
{
	(void)arg;
	struct node *k = gyre_ephemeron_key(gyre_handle_get(h[0]));
	assert_non_null(k);
	struct node *o = gyre_handle_get(holder);
	GYRE_STORE(o, left, k);
}

static void check_held(void *arg)
{
	(void)arg;
	struct node *o = gyre_handle_get(holder);
	assert_ptr_equal(gyre_ephemeron_key(gyre_handle_get(h[0])), o->left);
	check_value_only(NULL);
}

static void test_key_read_during_cycle_survives(void)
{
	harness_in_thread(make_holder, NULL);
	old_key_dropped();
	run_cycle(holder, read_key, NULL);
	harness_in_thread(check_held, NULL);
	free_handles();
	assert_int_equal(gyre_handle_free(holder), GYRE_OK);
}

#define TEST_WITH(fn, setup, teardown) {#fn, run_body, setup, teardown, &(struct body){fn}}
#define TEST(fn) TEST_WITH(fn, up, down)

int main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(test_live_key_keeps_value),
		TEST(test_dead_young_key_clears),
		TEST(test_dead_old_key_clears_by_full),
		TEST(test_dead_old_key_clears_by_concurrent_cycle),
		TEST(test_value_reaching_key_keeps_nothing),
		TEST(test_old_pair_young_key_kept),
		TEST(test_old_pair_young_key_cleared),
		TEST(test_chain_resolved),
		TEST(test_table_resolved_by_minor),
		TEST(test_table_resolved_by_full),
		TEST(test_table_resolved_by_concurrent_cycle),
		TEST(test_key_read_during_cycle_survives),
		TEST_WITH(test_gather_without_memory, up_one_worker, down_refuse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
