/*
 * final.c: unit tests of finalizers (gyre.h, gc/final/final.h): a finalizer runs
 * once for an object that died, young (a minor collection finds it) or
 * old (stop-the-world or concurrent generation 2), and sees it intact,
 * with what it reaches; a cancelled one never runs; a resurrected object
 * lives on and is not finalized again; a cycle of finalizable objects is
 * finalized at once, a chain one link per collection, from its head;
 * weak references to the object read NULL before its finalizer runs, and
 * a weak reference that only a dying object reaches gets no callback;
 * the finalizer thread runs them by itself, also finalizers that
 * allocate and collect, and one that blocks holds up only the queue;
 * shutdown drops what is still queued.
 *
 * As in weak.c, what must die is made by helper threads, and finalizers
 * run when the test calls gyre_run_finalizers unless a test starts gyre
 * with its finalizer thread.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"
#include "node.h"
#include "cycles.h"
#include "gc/driver/collect.h"
#include "gc/heap/heap.h"
#include "gc/old/mark.h"
#include "gc/old/marker.h"
#include "threads/mutator.h"

#define MAX_SEEN 64

/* What the finalizers saw, in the order they ran: the value of the
 * object, of what its left field reaches, and of that one's left. */
static struct seen {
	uint64_t value, left, left_left;
} seen[MAX_SEEN];
static _Atomic int nseen;

static int up(void **state)
{
	(void)state;
	nseen = 0;
	memset(seen, 0, sizeof(seen));
	return node_up_with(&(gyre_config){.finalizer_thread = -1});
}

static int up_thread(void **state)
{
	(void)state;
	nseen = 0;
	return node_up_with(NULL);
}

static int down(void **state)
{
	marker_hold(false);
	return node_down(state);
}

static void record(void *obj, void *ctx)
{
	(void)ctx;
	struct node *n = obj;
	int i = nseen;
	assert_true(i < MAX_SEEN);
	seen[i].value = n->value;
	seen[i].left = n->left ? n->left->value : 0;
	seen[i].left_left = n->left && n->left->left ? n->left->left->value : 0;
	nseen = i + 1;
}

/* A finalizable node valued `value` whose left field reaches a plain one
 * valued value + 1. */
static struct node *finalizable(uint64_t value, struct node *left)
{
	struct node *n = node_new(value, left ? left : node_new(value + 1, NULL, NULL), NULL);
	/* Registered while n is in this frame: a collection inside the
	 * call would pin it. */
	assert_int_equal(gyre_finalizer_register(n, record, NULL), GYRE_OK);
	return n;
}

/* -------------------------------------------------- 1. exactly once */

static void make_young(void *arg)
{
	(void)arg;
	finalizable(10, NULL);
}

static void test_young_finalized_once(void)
{
	harness_in_thread(make_young, NULL);
	collect_clean(0);
	assert_int_equal(nseen, 0);
	gyre_stats s;
	assert_int_equal(gyre_stats_get(&s), GYRE_OK);
	assert_int_equal(s.finalizers_pending, 1);
	assert_int_equal(gyre_run_finalizers(100), 1);
	assert_int_equal(nseen, 1);
	assert_int_equal(seen[0].value, 10);
	assert_int_equal(seen[0].left, 11);
	for (int g = 0; g <= 2; g++)
		collect_clean(g);
	assert_int_equal(gyre_run_finalizers(100), 0);
	assert_int_equal(gyre_stats_get(&s), GYRE_OK);
	assert_int_equal(s.finalizers_run, 1);
	assert_int_equal(s.finalizers_pending, 0);
}

static gyre_handle kept;

static void make_old(void *arg)
{
	kept = gyre_handle_new(finalizable(20, arg));
}

static void check_old(void *arg)
{
	(void)arg;
	assert_int_equal(heap_gen_of((uintptr_t)gyre_handle_get(kept)), 2);
}

/* Old, then dropped: minor collections leave it, generation 2 finds it.
 * Only helper threads touch it: a copy of its address on this thread's
 * stack would keep it. */
static void old_dropped(struct node *left)
{
	harness_in_thread(make_old, left);
	collect_clean(2);
	harness_in_thread(check_old, NULL);
	assert_int_equal(gyre_handle_free(kept), GYRE_OK);
	collect_clean(0);
	collect_clean(1);
	assert_int_equal(gyre_run_finalizers(100), 0);
}

static void test_old_finalized_by_full(void)
{
	old_dropped(NULL);
	collect_clean(2);
	assert_int_equal(gyre_run_finalizers(100), 1);
	assert_int_equal(seen[0].value, 20);
	assert_int_equal(seen[0].left, 21);
	collect_clean(2);
	assert_int_equal(gyre_run_finalizers(100), 0);
}

static void test_old_finalized_by_concurrent_cycle(void)
{
	old_dropped(NULL);
	run_cycle(NULL, NULL, NULL);
	assert_int_equal(gyre_run_finalizers(100), 1);
	assert_int_equal(seen[0].value, 20);
	assert_int_equal(seen[0].left, 21);
}

static void make_cancelled(void *arg)
{
	(void)arg;
	struct node *n = finalizable(30, NULL);
	assert_int_equal(gyre_finalizer_cancel(n), GYRE_OK);
	kept = gyre_handle_new(finalizable(40, NULL));
	assert_int_equal(gyre_finalizer_cancel(gyre_handle_get(kept)), GYRE_OK);
}

/* Cancelled, young or old: never runs. */
static void test_cancelled_never_runs(void)
{
	harness_in_thread(make_cancelled, NULL);
	collect_clean(2);
	assert_int_equal(gyre_handle_free(kept), GYRE_OK);
	collect_clean(2);
	assert_int_equal(gyre_run_finalizers(100), 0);
	assert_int_equal(nseen, 0);
}

/* -------------------------------------------------- 2. resurrection */

static gyre_handle revived;

static void resurrect(void *obj, void *ctx)
{
	record(obj, ctx);
	revived = gyre_handle_new(obj);
}

static void make_resurrecting(void *arg)
{
	(void)arg;
	struct node *n = node_new(50, node_new(51, NULL, NULL), NULL);
	assert_int_equal(gyre_finalizer_register(n, resurrect, NULL), GYRE_OK);
}

static gyre_handle watch;

static void check_revived(void *arg)
{
	(void)arg;
	struct node *n = gyre_handle_get(revived);
	assert_int_equal(n->value, 50);
	assert_int_equal(n->left->value, 51);
	if (!watch)
		watch = gyre_handle_new(gyre_weak_new(n, NULL, NULL));
	assert_ptr_equal(gyre_weak_get(gyre_handle_get(watch)), n);
}

static void test_resurrected_lives_and_is_not_refinalized(void)
{
	watch = NULL;
	harness_in_thread(make_resurrecting, NULL);
	collect_clean(0);
	assert_int_equal(gyre_run_finalizers(100), 1);
	for (int g = 0; g <= 2; g++) {
		collect_clean(g);
		harness_in_thread(check_revived, NULL);
	}
	assert_int_equal(gyre_handle_free(revived), GYRE_OK);
	collect_clean(2);
	assert_null(gyre_weak_get(gyre_handle_get(watch)));
	assert_int_equal(gyre_run_finalizers(100), 0);
	assert_int_equal(nseen, 1);
	assert_int_equal(gyre_handle_free(watch), GYRE_OK);
}

/* ------------------------------------------------ 3. cycles, chains */

static void make_cycle(void *arg)
{
	(void)arg;
	struct node *a = finalizable(60, NULL);
	struct node *b = finalizable(70, a);
	GYRE_STORE(a, left, b);
}

static void test_young_cycle_finalized_at_once(void)
{
	harness_in_thread(make_cycle, NULL);
	collect_clean(0);
	assert_int_equal(gyre_run_finalizers(100), 2);
	/* Each saw the other intact, and itself through it. */
	for (int i = 0; i < 2; i++) {
		assert_int_equal(seen[i].left, seen[i].value == 60 ? 70 : 60);
		assert_int_equal(seen[i].left_left, seen[i].value);
	}
	collect_clean(2);
	assert_int_equal(gyre_run_finalizers(100), 0);
}

static gyre_handle chain_head;

/* A -> B -> C, all finalizable (values 80, 90, 100), C's left a plain
 * node (101). */
static void make_chain(void *arg)
{
	(void)arg;
	struct node *c = finalizable(100, NULL);
	struct node *b = finalizable(90, c);
	chain_head = gyre_handle_new(finalizable(80, b));
}

/* The collections after the first are of generation 2: what the first
 * kept alive for A's finalizer has aged out of the young generations. */
static void chain_in_order(int first)
{
	harness_in_thread(make_chain, NULL);
	if (first == 2)
		collect_clean(2);
	assert_int_equal(gyre_handle_free(chain_head), GYRE_OK);
	const uint64_t order[3][3] = {{80, 90, 100}, {90, 100, 101}, {100, 101, 0}};
	for (int i = 0; i < 3; i++) {
		collect_clean(i == 0 ? first : 2);
		assert_int_equal(gyre_run_finalizers(100), 1);
		assert_int_equal(seen[i].value, order[i][0]);
		assert_int_equal(seen[i].left, order[i][1]);
		assert_int_equal(seen[i].left_left, order[i][2]);
	}
	collect_clean(2);
	assert_int_equal(gyre_run_finalizers(100), 0);
}

static void test_young_chain_head_first(void)
{
	chain_in_order(0);
}

static void test_old_chain_head_first(void)
{
	chain_in_order(2);
}

static gyre_handle cycle_handle;

static void make_old_cycle(void *arg)
{
	(void)arg;
	struct node *a = finalizable(60, NULL);
	struct node *b = finalizable(70, a);
	GYRE_STORE(a, left, b);
	cycle_handle = gyre_handle_new(a);
}

static void test_old_cycle_finalized_at_once(void)
{
	harness_in_thread(make_old_cycle, NULL);
	collect_clean(2);
	assert_int_equal(gyre_handle_free(cycle_handle), GYRE_OK);
	collect_clean(2);
	assert_int_equal(gyre_run_finalizers(100), 2);
	for (int i = 0; i < 2; i++)
		assert_int_equal(seen[i].left_left, seen[i].value);
	collect_clean(2);
	assert_int_equal(gyre_run_finalizers(100), 0);
}

/* A -> E (an ephemeron whose key K lives) -> B, A and B finalizable: A
 * reaches B while K lives, so A is finalized first and B waits. */
static gyre_handle eph_key;

static void make_eph_chain(void *arg)
{
	(void)arg;
	struct node *k = node_new(1, NULL, NULL);
	struct node *b = finalizable(90, NULL);
	void *e = gyre_ephemeron_new(k, b);
	chain_head = gyre_handle_new(finalizable(80, (struct node *)e));
	eph_key = gyre_handle_new(k);
}

static void eph_chain_in_order(int first)
{
	harness_in_thread(make_eph_chain, NULL);
	if (first == 2)
		collect_clean(2);
	assert_int_equal(gyre_handle_free(chain_head), GYRE_OK);
	collect_clean(first);
	assert_int_equal(gyre_run_finalizers(100), 1);
	assert_int_equal(seen[0].value, 80);
	collect_clean(2);
	assert_int_equal(gyre_run_finalizers(100), 1);
	assert_int_equal(seen[1].value, 90);
	assert_int_equal(gyre_handle_free(eph_key), GYRE_OK);
}

static void test_young_chain_through_ephemeron(void)
{
	eph_chain_in_order(0);
}

static void test_old_chain_through_ephemeron(void)
{
	eph_chain_in_order(2);
}

/* ----------------------------------------------- 4. weak references */

static gyre_handle weak_to;
static void *weak_read_in_finalizer = (void *)1;
static int callbacks;

static void read_weak(void *obj, void *ctx)
{
	record(obj, ctx);
	weak_read_in_finalizer = gyre_weak_get(gyre_handle_get(weak_to));
}

static void count_callback(void *weak, void *ctx)
{
	(void)weak;
	(void)ctx;
	callbacks++;
}

static void make_watched(void *arg)
{
	(void)arg;
	struct node *n = node_new(110, node_new(111, NULL, NULL), NULL);
	assert_int_equal(gyre_finalizer_register(n, read_weak, NULL), GYRE_OK);
	weak_to = gyre_handle_new(gyre_weak_new(n, count_callback, NULL));
}

static void test_weak_cleared_before_finalizer(void)
{
	callbacks = 0;
	harness_in_thread(make_watched, NULL);
	collect_clean(0);
	assert_null(gyre_weak_get(gyre_handle_get(weak_to)));
	assert_int_equal(gyre_run_finalizers(100), 2);
	assert_int_equal(nseen, 1);
	assert_null(weak_read_in_finalizer);
	assert_int_equal(callbacks, 1);
	assert_int_equal(gyre_handle_free(weak_to), GYRE_OK);
}

/* A dying finalizable object holds a weak reference to another dying
 * object: the reference is cleared, its callback not called (only the
 * dying object reached it). */
static void make_weak_holder(void *arg)
{
	(void)arg;
	struct node *target = node_new(121, NULL, NULL);
	struct node *n = node_new(120, NULL, gyre_weak_new(target, count_callback, NULL));
	assert_int_equal(gyre_finalizer_register(n, record, NULL), GYRE_OK);
}

static void test_no_callback_for_weak_only_dying_reach(void)
{
	callbacks = 0;
	harness_in_thread(make_weak_holder, NULL);
	collect_clean(0);
	assert_int_equal(gyre_run_finalizers(100), 1);
	assert_int_equal(seen[0].value, 120);
	assert_int_equal(callbacks, 0);
	collect_clean(2);
	assert_int_equal(gyre_run_finalizers(100), 0);
	assert_int_equal(callbacks, 0);
}

/* ------------------------------------------------ 5. finalizer thread */

static _Atomic int collected_in_finalizer;

/* Allocates, registers another finalizer and collects: user code on the
 * finalizer thread may do all of it. */
static void busy_finalizer(void *obj, void *ctx)
{
	record(obj, ctx);
	struct node *more = node_new(200, NULL, NULL);
	if (((struct node *)obj)->value < 13)
		assert_int_equal(gyre_finalizer_register(more, busy_finalizer, NULL), GYRE_OK);
	else
		harness_launder(more);
	assert_true(gyre_collect(0) >= 0);
	collected_in_finalizer++;
}

static void make_busy(void *arg)
{
	(void)arg;
	struct node *n = node_new(10, NULL, NULL);
	assert_int_equal(gyre_finalizer_register(n, busy_finalizer, NULL), GYRE_OK);
}

static void test_finalizer_thread_runs_them(void)
{
	collected_in_finalizer = 0;
	harness_in_thread(make_busy, NULL);
	uint64_t deadline = (uint64_t)time(NULL) + CYCLE_WAIT_MS / 1000;
	/* The first, then the one it registers (value 200, which registers
	 * no other), found by the collection the first ran. */
	while (collected_in_finalizer < 2) {
		collect_clean(0);
		sleep_blocking();
		assert_true((uint64_t)time(NULL) <= deadline);
	}
	assert_int_equal(seen[0].value, 10);
	assert_int_equal(seen[1].value, 200);
	gyre_stats s;
	assert_int_equal(gyre_stats_get(&s), GYRE_OK);
	assert_true(s.finalizers_run >= 2);
}

/* ------------------------------------------------------- bad input */

/* An address inside a young object passes the checks registration can
 * make (nursery blocks have no start bits while threads fill them); the
 * next collection finds it: checked builds abort naming the misuse,
 * others drop the registration, and nothing runs. */
static void register_interior_child(void)
{
	if (node_up_with(&(gyre_config){.finalizer_thread = -1}))
		exit(2);
	struct node *n = node_new(1, NULL, NULL);
	if (gyre_finalizer_register((char *)n + 16, record, NULL) != GYRE_OK)
		exit(3);
	gyre_collect(0);
	exit(gyre_run_finalizers(10) == 0 && nseen == 0 ? 0 : 4);
}

static void test_young_interior_registration(void)
{
	if (GYRE_DEBUG)
		harness_expect_abort(register_interior_child, "is not the start of a gyre object");
	else
		harness_expect_exit0(register_interior_child);
}

/* A finalizer that blocks (in a blocking region, as gyre.h asks) holds
 * up only the queue: collections go on, and finalizers_pending shows the
 * queue growing behind it; released, the thread runs the rest. */
static pthread_mutex_t gate = PTHREAD_MUTEX_INITIALIZER;
static _Atomic int blocked_in;

static void blocking_finalizer(void *obj, void *ctx)
{
	record(obj, ctx);
	blocked_in = 1;
	assert_int_equal(gyre_blocking_begin(), GYRE_OK);
	pthread_mutex_lock(&gate);
	pthread_mutex_unlock(&gate);
	assert_int_equal(gyre_blocking_end(), GYRE_OK);
}

static void make_blocking(void *arg)
{
	(void)arg;
	struct node *n = node_new(300, NULL, NULL);
	assert_int_equal(gyre_finalizer_register(n, blocking_finalizer, NULL), GYRE_OK);
}

static void make_ten(void *arg)
{
	(void)arg;
	for (int i = 0; i < 10; i++)
		finalizable(400 + (uint64_t)i, NULL);
}

static void test_blocked_finalizer_holds_only_the_queue(void)
{
	pthread_mutex_lock(&gate);
	harness_in_thread(make_blocking, NULL);
	uint64_t deadline = (uint64_t)time(NULL) + CYCLE_WAIT_MS / 1000;
	while (!blocked_in) {
		collect_clean(0);
		sleep_blocking();
		assert_true((uint64_t)time(NULL) <= deadline);
	}
	harness_in_thread(make_ten, NULL);
	gyre_stats s0, s1;
	assert_int_equal(gyre_stats_get(&s0), GYRE_OK);
	for (int g = 0; g <= 2; g++)
		collect_clean(g);
	assert_int_equal(gyre_stats_get(&s1), GYRE_OK);
	assert_int_equal(s1.collections - s0.collections, 3);
	assert_int_equal(s1.finalizers_pending, 10);
	assert_int_equal(nseen, 1);
	pthread_mutex_unlock(&gate);
	while (nseen < 11) {
		sleep_blocking();
		assert_true((uint64_t)time(NULL) <= deadline);
	}
	assert_int_equal(gyre_stats_get(&s1), GYRE_OK);
	assert_int_equal(s1.finalizers_pending, 0);
}

/* ---------------------------------------------------------- shutdown */

static void test_shutdown_drops_pending(void)
{
	assert_int_equal(node_up_with(&(gyre_config){.finalizer_thread = -1}), 0);
	nseen = 0;
	harness_in_thread(make_young, NULL);
	harness_in_thread(make_cancelled, NULL);
	collect_clean(0);
	gyre_stats s;
	assert_int_equal(gyre_stats_get(&s), GYRE_OK);
	assert_int_equal(s.finalizers_pending, 1);
	assert_int_equal(node_down(NULL), 0);
	assert_int_equal(nseen, 0);
}

#define TEST_WITH(fn, setup) {#fn, run_body, setup, down, &(struct body){fn}}
#define TEST(fn) TEST_WITH(fn, up)

int main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(test_young_finalized_once),
		TEST(test_old_finalized_by_full),
		TEST(test_old_finalized_by_concurrent_cycle),
		TEST(test_cancelled_never_runs),
		TEST(test_resurrected_lives_and_is_not_refinalized),
		TEST(test_young_cycle_finalized_at_once),
		TEST(test_old_cycle_finalized_at_once),
		TEST(test_young_chain_head_first),
		TEST(test_old_chain_head_first),
		TEST(test_young_chain_through_ephemeron),
		TEST(test_old_chain_through_ephemeron),
		TEST(test_weak_cleared_before_finalizer),
		TEST(test_no_callback_for_weak_only_dying_reach),
		TEST_WITH(test_finalizer_thread_runs_them, up_thread),
		TEST_WITH(test_blocked_finalizer_holds_only_the_queue, up_thread),
		{"test_shutdown_drops_pending", run_body, NULL, NULL,
		 &(struct body){test_shutdown_drops_pending}},
		{"test_young_interior_registration", run_body, NULL, NULL,
		 &(struct body){test_young_interior_registration}},
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
