/*
 * pacer.c: unit tests of generation 2's time trigger (gc/driver/pacer.c,
 * "[time trigger]"): a program that drops most of its old data and goes
 * on allocating gets a concurrent cycle (reason "time") about a second
 * after generation 2's last snapshot, long before its growth allowance is
 * used up, and that cycle frees what was dropped; a program that promotes
 * almost nothing into generation 2 gets none; none is due while
 * generation 2 grows fast enough to reach its allowance within half the
 * interval (a program that builds up: its cycles come by growth), nor
 * after a collection by time that freed little, until one by growth.
 *
 * Growth is kept out of the way: growth_percent is at its maximum
 * (10000 %), so the allowance after the first full collection is far
 * beyond what the tests promote, and any generation-2 collection that
 * starts by itself is the time trigger's. The dropped data is built by a
 * helper thread (harness_in_thread), whose stack dies with it, so that no
 * stale word keeps it alive; the build runs the tests with GYRE_VERIFY=1.
 * The last two set the pacer's inputs directly (pacer_set_trigger, the
 * fields it sets) and ask pacer_due, on a gyre where nothing allocates.
 */
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>

#include "harness.h"
#include "node.h"
#include "gc/driver/collect_impl.h"

#define KIB ((size_t)1 << 10)
#define MIB ((size_t)1 << 20)
/* What the tests drop: 8 MiB of nodes (a node takes 32 bytes). */
#define DROPPED_NODES (8 * MIB / 32)
/* What the churn keeps, in all: well over the trigger's share (1 MiB:
 * a 32nd of heap_min, the live size being smaller) once promoted. */
#define KEPT_NODES (4 * MIB / 32)
/* Garbage nodes per kept one. */
#define GARBAGE_PER_KEPT 8
/* How long a churn runs at most; the trigger comes after about 1 s, and
 * its cycle is marked and swept within a second more on a quiet machine
 * (6 s was once too short beside the release build's other tests). */
#define CHURN_MS 20000
/* How long the idle churn runs: past the trigger's second. */
#define IDLE_MS 1500

/* Generation-2 collections begun by the time trigger. */
static _Atomic unsigned time_cycles;

static void record(const gyre_event *ev, void *ctx)
{
	(void)ctx;
	if (ev->kind == GYRE_EVENT_COLLECTION_BEGIN && strcmp(ev->reason, "time") == 0)
		atomic_fetch_add(&time_cycles, 1);
}

static int up(void **state)
{
	(void)state;
	atomic_store(&time_cycles, 0);
	if (node_up_with(&(gyre_config){.nursery_size = MIB, .growth_percent = 10000}))
		return -1;
	return gyre_callback_add(record, NULL) == GYRE_OK ? 0 : -1;
}

static int down(void **state)
{
	if (gyre_callback_remove(record, NULL) != GYRE_OK)
		return -1;
	return node_down(state);
}

static gyre_stats stats(void)
{
	return harness_stats();
}

/* Set when the dropped list's last node dies (its weak reference's
 * callback, on gyre's finalizer thread): every node reaches that one, so
 * then none is left. */
static atomic_bool tail_died;

static void tail_cleared(void *weak, void *ctx)
{
	(void)weak;
	(void)ctx;
	atomic_store(&tail_died, true);
}

struct dropped {
	gyre_handle list, tail_weak;
};

/* The data to drop, in generation 2 after a full collection: built by a
 * helper thread, held by a handle only; its last node is watched by a
 * weak reference that a handle keeps. */
static void build_dropped(void *arg)
{
	struct dropped *d = arg;
	struct node *head = chain(1, DROPPED_NODES), *tail = head;
	while (tail->left)
		tail = tail->left;
	d->tail_weak = gyre_handle_new(gyre_weak_new(tail, tail_cleared, NULL));
	d->list = gyre_handle_new(head);
}

/* Returns the handle of the tail's weak reference (the caller frees it). */
static gyre_handle drop_setup(void)
{
	struct dropped d = {NULL, NULL};
	atomic_store(&tail_died, false);
	harness_in_thread(build_dropped, &d);
	assert_non_null(d.list);
	assert_non_null(d.tail_weak);
	assert_int_equal(gyre_collect(2), GYRE_OK);
	assert_int_equal(gyre_handle_free(d.list), GYRE_OK);
	return d.tail_weak;
}

struct churn {
	unsigned kept;       /* nodes to keep (promoted to generation 2) */
	unsigned ms;         /* how long at most */
	uint64_t collected;  /* generation 2's collected objects at the start */
	/* out: most of the dropped nodes were collected (the churn's stop;
	 * the first test then waits for the tail's weak reference, which says
	 * all were). A stale stack word that found a node kept it and the
	 * list after it: in about one run in four under load, a word in the
	 * churning thread's stack (glibc reuses the builder's) holding a
	 * block's base address found the block's first node, until headers
	 * stopped being part of objects (heap_find_small); 24 runs since, the
	 * tail died in each. */
	bool freed;
};

/* Allocates kept nodes (a list on this thread's stack) and garbage for
 * up to c->ms, in batches a millisecond apart, until generation 2 has
 * collected most of the dropped nodes. */
static void churn(void *arg)
{
	struct churn *c = arg;
	struct node *keep = NULL;
	unsigned kept = 0;
	uint64_t deadline = harness_now_ms() + c->ms;
	while (!c->freed && harness_now_ms() < deadline) {
		for (unsigned i = 0; i < 1024; i++) {
			if (kept < c->kept) {
				keep = node_new(kept, keep, NULL);
				kept++;
			}
			for (unsigned g = 0; g < GARBAGE_PER_KEPT; g++)
				(void)harness_launder(node_new(g, NULL, NULL));
		}
		c->freed = stats().gen[2].objects_collected - c->collected >= DROPPED_NODES / 2;
		sleep_blocking();
	}
	assert_int_equal(keep ? (unsigned)keep->value + 1 : 0, kept);
}

/* The two tests of the trigger at work measure a program's pace against
 * the clock: under ThreadSanitizer (allocation 5-15 times slower, every
 * pause verified) the churn did not promote its 4 MiB and get its cycle
 * marked and swept within CHURN_MS, and the idle one's few pinned
 * survivors reached the trigger's share. That build checks the trigger's
 * code for races through the other two tests and the stress tests. */
static void skip_under_tsan(void)
{
#if defined(__SANITIZE_THREAD__)
	skip();
#endif
}

/* The dropped 8 MiB are freed by a cycle of the time trigger while the
 * program promotes 4 MiB, 1/200 of what growth would wait for. */
static void test_time_trigger_collects_dropped_data(void)
{
	skip_under_tsan();
	gyre_handle tail_weak = drop_setup();
	struct churn c = {.kept = KEPT_NODES, .ms = CHURN_MS,
			  .collected = stats().gen[2].objects_collected};
	harness_in_thread(churn, &c);
	assert_true(atomic_load(&time_cycles) >= 1);
	if (!c.freed)
		fail_msg("%u cycles by time, %llu collections of generation 2, "
			 "%llu of its objects collected: most dropped nodes are not",
			 atomic_load(&time_cycles),
			 (unsigned long long)stats().gen[2].collections,
			 (unsigned long long)(stats().gen[2].objects_collected - c.collected));
	/* All of them: the tail's callback comes on the finalizer thread,
	 * after the cycle that freed it. */
	uint64_t deadline = harness_now_ms() + 2000;
	while (!atomic_load(&tail_died) && harness_now_ms() < deadline) {
		sleep_blocking();
	}
	assert_true(atomic_load(&tail_died));
	assert_int_equal(gyre_handle_free(tail_weak), GYRE_OK);
}

/* A program that promotes nothing gets no cycle by time, and the
 * dropped data stays (growth never fires either). */
static void test_time_trigger_waits_for_promotion(void)
{
	skip_under_tsan();
	gyre_handle tail_weak = drop_setup();
	struct churn c = {.kept = 0, .ms = IDLE_MS,
			  .collected = stats().gen[2].objects_collected};
	harness_in_thread(churn, &c);
	assert_int_equal(atomic_load(&time_cycles), 0);
	assert_false(c.freed);
	assert_false(atomic_load(&tail_died));
	assert_int_equal(gyre_handle_free(tail_weak), GYRE_OK);
}

/* Whether pacer_due asks for a cycle by time. */
static bool due_by_time(void)
{
	enum reason why;
	return pacer_due(&why) == 2 && why == R_TIME;
}

/* The pacer's inputs as after a collection: the last snapshot two
 * intervals old, generation 2 grown by 10 MiB towards a 100 MiB trigger
 * (a 1 MiB share) over `since_ns`. */
static void set_inputs(uint64_t since_ns)
{
	uint64_t now = gyre_now_ns();
	atomic_store(&collector.snapshot_ns, now - 2 * (uint64_t)CYCLE_INTERVAL_NS);
	atomic_store(&collector.time_share, MIB);
	atomic_store(&collector.trigger, 100 * MIB);
	atomic_store(&collector.allocated, 10 * MIB);
	atomic_store(&collector.allocated_since_ns, now - since_ns);
}

/* Grown in the last hundredth of an interval, growth comes within the
 * next tenth and no cycle is due by time; grown over two intervals, one
 * is; with nothing grown, none. */
static void test_time_trigger_waits_while_growth_is_near(void)
{
	set_inputs(CYCLE_INTERVAL_NS / 100);
	assert_false(due_by_time());
	set_inputs(2 * (uint64_t)CYCLE_INTERVAL_NS);
	assert_true(due_by_time());
	atomic_store(&collector.allocated, (size_t)0);
	assert_false(due_by_time());
	atomic_store(&collector.snapshot_ns, gyre_now_ns());
}

/* A collection by time that freed under an eighth of what it swept
 * (64 MiB live, 4 MiB freed) turns the trigger off until a collection by
 * growth has run; one that freed more (64 MiB of 128) leaves it on. */
static void test_time_trigger_off_after_a_collection_that_freed_little(void)
{
	collector.by_time = true;
	pacer_set_trigger(64 * MIB, 0, false, 4 * MIB);
	set_inputs(2 * (uint64_t)CYCLE_INTERVAL_NS);
	assert_false(due_by_time());
	pacer_set_trigger(64 * MIB, 0, false, 64 * MIB);
	set_inputs(2 * (uint64_t)CYCLE_INTERVAL_NS);
	assert_true(due_by_time());
	pacer_set_trigger(64 * MIB, 0, false, 4 * MIB);
	collector.by_time = false;
	pacer_set_trigger(64 * MIB, 0, false, 4 * MIB);
	set_inputs(2 * (uint64_t)CYCLE_INTERVAL_NS);
	assert_true(due_by_time());
	atomic_store(&collector.allocated, (size_t)0);
	atomic_store(&collector.snapshot_ns, gyre_now_ns());
}

/* Every test runs through run_body (node.h). */
#define TEST(fn) {#fn, run_body, up, down, &(struct body){fn}}

int main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(test_time_trigger_collects_dropped_data),
		TEST(test_time_trigger_waits_for_promotion),
		TEST(test_time_trigger_waits_while_growth_is_near),
		TEST(test_time_trigger_off_after_a_collection_that_freed_little),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
