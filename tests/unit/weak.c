/*
 * weak.c: unit tests of weak references (gyre.h, gc/final/weak.h): a target that
 * something keeps alive is followed to wherever it moves, also by an old
 * weak reference to a young target (found through its card); a dead
 * target reads NULL for every weak reference to it, cleared by a minor
 * collection if young and by generation 2's collection if old, stop-the-
 * world or concurrent; the callback runs once, outside the pause, and
 * only if the weak reference itself was reachable; a target handed out
 * by gyre_weak_get while a concurrent cycle marks survives that cycle,
 * and one whose logging ended the cycle is never returned freed.
 * tests/misuse has the bad input.
 *
 * Finalizers and callbacks run only when a test calls gyre_run_finalizers
 * (finalizer_thread -1). As in cycle.c, what a test wants dead is made by
 * helper threads (harness_in_thread) whose stacks die with them, so that
 * no stale word on this thread's stack keeps it; handles carry what must
 * survive from one to the next. The build runs the tests with
 * GYRE_VERIFY=1: the verifier checks that no weak reference points at a
 * freed object and that one younger than its holder lies on a dirty card.
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
#include "gc/old/satb.h"
#include "threads/mutator.h"


/* ----------------------------------------------------------- fixtures */

static int calls;
static void *last_weak, *last_ctx;
/* Handles the helper threads fill: [0] a weak reference, [1] its target
 * (if kept), [2] another weak reference. */
static gyre_handle h[3];

static int up(void **state)
{
	(void)state;
	calls = 0;
	last_weak = last_ctx = NULL;
	h[0] = h[1] = h[2] = NULL;
	return node_up_with(&(gyre_config){.finalizer_thread = -1});
}

/* A pause target long enough that the marking increment a backlog asks
 * for (collect.c's pause_increment) finishes the cycle at once. */
static int up_long_increments(void **state)
{
	(void)state;
	h[0] = h[1] = h[2] = NULL;
	return node_up_with(&(gyre_config){.finalizer_thread = -1,
					   .pause_target_us = 1000000});
}

static int down(void **state)
{
	marker_hold(false);
	return node_down(state);
}

/* ------------------------------------------------------------ helpers */

/* Callbacks seen (calls, set up above): how many, and the last weak
 * reference and context. */
static void on_clear(void *weak, void *ctx)
{
	calls++;
	last_weak = weak;
	last_ctx = ctx;
}

static unsigned gen_of(const void *obj)
{
	return heap_gen_of((uintptr_t)obj);
}


static void make_weak(void *keep_target)
{
	struct node *t = node_new(42, node_new(43, NULL, NULL), NULL);
	h[0] = gyre_handle_new(gyre_weak_new(t, on_clear, &calls));
	h[1] = keep_target ? gyre_handle_new(t) : NULL;
	h[2] = gyre_handle_new(gyre_weak_new(t, NULL, NULL));
	assert_non_null(gyre_handle_get(h[0]));
}

static void free_handles(void)
{
	for (int i = 0; i < 3; i++)
		if (h[i])
			assert_int_equal(gyre_handle_free(h[i]), GYRE_OK);
	h[0] = h[1] = h[2] = NULL;
}

static void check_followed(void)
{
	struct node *t = gyre_handle_get(h[1]);
	assert_ptr_equal(gyre_weak_get(gyre_handle_get(h[0])), t);
	assert_ptr_equal(gyre_weak_get(gyre_handle_get(h[2])), t);
	assert_int_equal(t->value, 42);
	assert_int_equal(t->left->value, 43);
}

/* ------------------------------------------------------ 1. following */

/* A live target that moves (nursery, generation 1, generation 2) is read
 * at its new address. */
static void test_live_target_followed(void)
{
	harness_in_thread(make_weak, (void *)1);
	for (int g = 0; g <= 2; g++) {
		collect_clean(g);
		check_followed();
	}
	assert_int_equal(gyre_run_finalizers(100), 0);
	assert_int_equal(calls, 0);
	free_handles();
}

/* An old weak reference to a young target: the minor collection finds
 * it through its card. The target is pinned by a helper's stack while a
 * full collection promotes the weak reference, so it stays young. */
static pthread_barrier_t pinned_bar;

static void pin_target(void *arg)
{
	(void)arg;
	struct node *volatile t = node_new(42, node_new(43, NULL, NULL), NULL);
	h[0] = gyre_handle_new(gyre_weak_new(t, on_clear, &calls));
	h[1] = gyre_handle_new(t);
	assert_int_equal(gyre_blocking_begin(), GYRE_OK);
	pthread_barrier_wait(&pinned_bar); /* main collects now */
	pthread_barrier_wait(&pinned_bar);
	assert_int_equal(gyre_blocking_end(), GYRE_OK);
	assert_ptr_equal(gyre_weak_get(gyre_handle_get(h[0])), t);
}

static void *pin_thread(void *arg)
{
	assert_int_equal(gyre_thread_attach(), GYRE_OK);
	pin_target(arg);
	assert_int_equal(gyre_thread_detach(), GYRE_OK);
	return NULL;
}

static void old_weak_young_target(bool keep)
{
	pthread_t t;
	pthread_barrier_init(&pinned_bar, NULL, 2);
	assert_int_equal(pthread_create(&t, NULL, pin_thread, NULL), 0);
	assert_int_equal(gyre_blocking_begin(), GYRE_OK);
	pthread_barrier_wait(&pinned_bar);
	assert_int_equal(gyre_blocking_end(), GYRE_OK);
	collect_clean(2);
	void *w = gyre_handle_get(h[0]);
	assert_int_equal(gen_of(w), 2);
	assert_int_equal(gen_of(gyre_weak_get(w)), 0);
	assert_int_equal(gyre_blocking_begin(), GYRE_OK);
	pthread_barrier_wait(&pinned_bar);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(gyre_blocking_end(), GYRE_OK);
	pthread_barrier_destroy(&pinned_bar);
	if (!keep) {
		assert_int_equal(gyre_handle_free(h[1]), GYRE_OK);
		h[1] = NULL;
	}
	collect_clean(0);
}

static void test_old_weak_follows_young_target(void)
{
	old_weak_young_target(true);
	struct node *t = gyre_handle_get(h[1]);
	assert_int_not_equal(gen_of(t), 0);
	assert_ptr_equal(gyre_weak_get(gyre_handle_get(h[0])), t);
	assert_int_equal(t->left->value, 43);
	free_handles();
}

static void test_old_weak_to_young_target_cleared(void)
{
	old_weak_young_target(false);
	assert_null(gyre_weak_get(gyre_handle_get(h[0])));
	assert_int_equal(gyre_run_finalizers(100), 1);
	assert_int_equal(calls, 1);
	assert_ptr_equal(last_weak, gyre_handle_get(h[0]));
	free_handles();
}

/* ------------------------------------------------------- 2. clearing */

/* A young target that dies is cleared by a minor collection, for both
 * weak references; the callback runs once, when asked, not before. */
static void test_young_target_cleared_by_minor(void)
{
	harness_in_thread(make_weak, NULL);
	collect_clean(0);
	assert_null(gyre_weak_get(gyre_handle_get(h[0])));
	assert_null(gyre_weak_get(gyre_handle_get(h[2])));
	assert_int_equal(calls, 0);
	gyre_stats s;
	assert_int_equal(gyre_stats_get(&s), GYRE_OK);
	assert_int_equal(s.finalizers_pending, 1);
	assert_int_equal(gyre_run_finalizers(100), 1);
	assert_int_equal(calls, 1);
	assert_ptr_equal(last_weak, gyre_handle_get(h[0]));
	assert_ptr_equal(last_ctx, &calls);
	collect_clean(2);
	assert_int_equal(gyre_run_finalizers(100), 0);
	assert_int_equal(calls, 1);
	free_handles();
}

static void check_old_target(void *arg)
{
	(void)arg;
	assert_int_equal(gen_of(gyre_handle_get(h[1])), 2);
}

static void check_target_there(void *arg)
{
	(void)arg;
	assert_non_null(gyre_weak_get(gyre_handle_get(h[0])));
}

/* An old target that dies survives minor collections (they do not
 * collect its generation) and is cleared by generation 2's. Only helper
 * threads touch it: a copy of its address on this thread's stack would
 * keep it. */
static void old_target_dies(void)
{
	harness_in_thread(make_weak, (void *)1);
	collect_clean(2);
	harness_in_thread(check_old_target, NULL);
	assert_int_equal(gyre_handle_free(h[1]), GYRE_OK);
	h[1] = NULL;
	collect_clean(0);
	collect_clean(1);
	harness_in_thread(check_target_there, NULL);
}

static void check_cleared_once(void)
{
	assert_null(gyre_weak_get(gyre_handle_get(h[0])));
	assert_null(gyre_weak_get(gyre_handle_get(h[2])));
	assert_int_equal(gyre_run_finalizers(100), 1);
	assert_int_equal(calls, 1);
	free_handles();
}

static void test_old_target_cleared_by_full(void)
{
	old_target_dies();
	collect_clean(2);
	check_cleared_once();
}

static void test_old_target_cleared_by_concurrent_cycle(void)
{
	old_target_dies();
	run_cycle(NULL, NULL, NULL);
	check_cleared_once();
}

/* A weak reference that dies with its target gets no callback. */
static void dead_pair(void *arg)
{
	(void)arg;
	struct node *t = node_new(1, NULL, NULL);
	harness_launder(gyre_weak_new(t, on_clear, NULL));
}

static void test_no_callback_for_dead_weak(void)
{
	harness_in_thread(dead_pair, NULL);
	collect_clean(0);
	harness_in_thread(dead_pair, NULL);
	collect_clean(2);
	collect_clean(2);
	assert_int_equal(gyre_run_finalizers(100), 0);
	assert_int_equal(calls, 0);
}

/* ---------------------------------- 3. while a concurrent cycle marks */

/* The target of an old weak reference is dropped before a cycle starts;
 * once the collector thread has marked an old holder, the program reads
 * the target through the weak reference and stores it in that holder:
 * the cycle must keep it (nothing else would mark it: the barrier logs
 * the NULL it overwrites). gyre_disable holds the remark off meanwhile. */
static gyre_handle holder;

static void make_holder(void *arg)
{
	(void)arg;
	holder = gyre_handle_new(node_new(7, NULL, NULL));
}

static void read_through_weak(void *arg)
{
	(void)arg;
	struct node *t = gyre_weak_get(gyre_handle_get(h[0]));
	assert_non_null(t);
	struct node *o = gyre_handle_get(holder);
	GYRE_STORE(o, left, t);
}

static void test_weak_get_during_cycle_keeps_target(void)
{
	harness_in_thread(make_holder, NULL);
	old_target_dies();
	run_cycle(holder, read_through_weak, NULL);
	struct node *o = gyre_handle_get(holder);
	assert_non_null(o->left);
	assert_ptr_equal(gyre_weak_get(gyre_handle_get(h[0])), o->left);
	assert_int_equal(o->left->value, 42);
	assert_int_equal(o->left->left->value, 43);
	assert_int_equal(gyre_run_finalizers(100), 0);
	free_handles();
	assert_int_equal(gyre_handle_free(holder), GYRE_OK);
}

/* The log of a thread that reads through weak references all the time
 * fills up while the collector thread is held, until logging ends the
 * cycle in a pause (a backlog's increment, which finishes the marking
 * with a long pause target), from inside gyre_weak_get: the remark of
 * that pause never saw the value being logged, and clears it if its
 * strong references are gone. gyre_weak_get must then return NULL, not
 * the object just freed. */
#define VICTIMS 4096
static gyre_handle victims, strong, busy;
static bool returned_freed;

static void make_victims(void *arg)
{
	(void)arg;
	void **weak = gyre_alloc_array(GYRE_TYPE_PTR, VICTIMS);
	void **keep = gyre_alloc_array(GYRE_TYPE_PTR, VICTIMS + 1);
	victims = gyre_handle_new(weak);
	strong = gyre_handle_new(keep);
	for (int i = 0; i < VICTIMS; i++) {
		struct node *t = node_new((uint64_t)i, NULL, NULL);
		GYRE_STORE_AT(keep, i, t);
		GYRE_STORE_AT(weak, i, gyre_weak_new(t, NULL, NULL));
	}
	struct node *b = node_new(7, NULL, NULL);
	GYRE_STORE_AT(keep, VICTIMS, b);
	busy = gyre_handle_new(gyre_weak_new(b, NULL, NULL));
}

/* Reads the busy reference until the log buffer is full, then a victim,
 * until a read ends the cycle. */
static void read_until_cycle_ends(void *arg)
{
	(void)arg;
	void **weak = gyre_handle_get(victims);
	void *b = gyre_handle_get(busy);
	int next = 0;
	while (mark_old_active() && next < VICTIMS) {
		if (gyre__satb.cursor != gyre__satb.limit) {
			harness_launder(gyre_weak_get(b));
			continue;
		}
		void *w = weak[next++];
		struct node *t = gyre_weak_get(w);
		if (!mark_old_active()) {
			returned_freed = t && !gyre_weak_get(w);
			return;
		}
	}
}

static void test_weak_get_that_ends_cycle(void)
{
	returned_freed = false;
	harness_in_thread(make_victims, NULL);
	collect_clean(2);
	assert_int_equal(gyre_handle_free(strong), GYRE_OK);
	marker_hold(true);
	harness_clear_stack();
	assert_true(collect_start_cycle(mutator_current()));
	harness_in_thread(read_until_cycle_ends, NULL);
	assert_false(mark_old_active());
	assert_false(returned_freed);
	assert_int_equal(gyre_handle_free(victims), GYRE_OK);
	assert_int_equal(gyre_handle_free(busy), GYRE_OK);
}

/* A young weak reference whose young target dies, copied straight into
 * generation 2 (tenure_age 1) by a minor collection while a cycle marks:
 * the callback is queued with the weak reference a copy that the cycle
 * keeps (black), not an unmarked old object to shade (which checked
 * builds would find has no start bit yet, and abort). */
static int up_tenure1(void **state)
{
	(void)state;
	calls = 0;
	h[0] = h[1] = h[2] = NULL;
	return node_up_with(&(gyre_config){.finalizer_thread = -1, .tenure_age = 1});
}

static void test_callback_queued_by_minor_during_cycle(void)
{
	marker_hold(true);
	harness_clear_stack();
	assert_true(collect_start_cycle(mutator_current()));
	harness_in_thread(make_weak, NULL);
	collect_clean(0);
	assert_true(mark_old_active());
	assert_int_equal(gen_of(gyre_handle_get(h[0])), 2);
	assert_null(gyre_weak_get(gyre_handle_get(h[0])));
	marker_hold(false);
	collect_clean(2);
	assert_int_equal(gyre_run_finalizers(100), 1);
	assert_int_equal(calls, 1);
	free_handles();
}

/* ------------------------------------------------------ 4. as objects */

/* Weak references stored in a pointer array die with it, and are read
 * through it like any object. */
static void fill_array(void *arg)
{
	gyre_handle *ha = arg;
	void **arr = gyre_alloc_array(GYRE_TYPE_PTR, 64);
	*ha = gyre_handle_new(arr);
	h[1] = gyre_handle_new(node_new(5, NULL, NULL));
	for (int i = 0; i < 64; i++) {
		void *t = i % 2 ? gyre_handle_get(h[1]) : node_new((uint64_t)i, NULL, NULL);
		GYRE_STORE_AT(arr, i, gyre_weak_new(t, on_clear, NULL));
	}
}

static void test_weak_in_array(void)
{
	gyre_handle ha;
	harness_in_thread(fill_array, &ha);
	collect_clean(1);
	void **arr = gyre_handle_get(ha);
	for (int i = 0; i < 64; i++) {
		void *t = gyre_weak_get(arr[i]);
		if (i % 2)
			assert_ptr_equal(t, gyre_handle_get(h[1]));
		else
			assert_null(t);
	}
	assert_int_equal(gyre_run_finalizers(1000), 32);
	assert_int_equal(gyre_handle_free(ha), GYRE_OK);
	collect_clean(2);
	assert_int_equal(gyre_run_finalizers(1000), 0);
	assert_int_equal(calls, 32);
	free_handles();
}

#define TEST_WITH(fn, setup) {#fn, run_body, setup, down, &(struct body){fn}}
#define TEST(fn) TEST_WITH(fn, up)

int main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(test_live_target_followed),
		TEST(test_old_weak_follows_young_target),
		TEST(test_old_weak_to_young_target_cleared),
		TEST(test_young_target_cleared_by_minor),
		TEST(test_old_target_cleared_by_full),
		TEST(test_old_target_cleared_by_concurrent_cycle),
		TEST(test_no_callback_for_dead_weak),
		TEST(test_weak_get_during_cycle_keeps_target),
		TEST_WITH(test_weak_get_that_ends_cycle, up_long_increments),
		TEST_WITH(test_callback_queued_by_minor_during_cycle, up_tenure1),
		TEST(test_weak_in_array),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
