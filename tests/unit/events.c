/*
 * events.c: unit tests of event callbacks and time to safepoint (issue
 * 20, items 2 and 4): a collection's events arrive after its pause, on
 * the thread that collected, with its figures; a cycle's begin and end;
 * the heap's growth; a failed allocation; registration's bad input and
 * changes from inside a callback; a callback that collects; a thread
 * that runs 50 ms without a safepoint poll is named by the stop it held
 * up, in the event, the statistics and the trace; and a pause that the
 * collector thread asks for counts from the program's first park, not
 * from its request.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"
#include "node.h"
#include "gc/driver/collect.h"
#include "gc/old/mark.h"
#include "gc/old/marker.h"
#include "threads/mutator.h"
#include "threads/stw.h"

#define MIB ((size_t)1 << 20)
#define SEEN_MAX 256

/* What the recording callback saw. Sync: seen_lock (events arrive on
 * the collector thread too). */
static pthread_mutex_t seen_lock = PTHREAD_MUTEX_INITIALIZER;
static gyre_event seen[SEEN_MAX];
static pthread_t seen_thread[SEEN_MAX];
static uint64_t seen_collections[SEEN_MAX];
static unsigned n_seen;

static void record(const gyre_event *ev, void *ctx)
{
	(void)ctx;
	gyre_stats s;
	assert_int_equal(gyre_stats_get(&s), GYRE_OK);
	pthread_mutex_lock(&seen_lock);
	if (n_seen < SEEN_MAX) {
		seen[n_seen] = *ev;
		seen_thread[n_seen] = pthread_self();
		seen_collections[n_seen] = s.collections;
		n_seen++;
	}
	pthread_mutex_unlock(&seen_lock);
}

/* The index of the first event of `kind` from `from` on, or -1. */
static int find_kind(gyre_event_kind kind, unsigned from)
{
	pthread_mutex_lock(&seen_lock);
	int found = -1;
	for (unsigned i = from; i < n_seen && found < 0; i++)
		if (seen[i].kind == kind)
			found = (int)i;
	pthread_mutex_unlock(&seen_lock);
	return found;
}

static void up(const gyre_config *c)
{
	assert_int_equal(gyre_init(c), GYRE_OK);
	assert_int_equal(gyre_thread_attach(), GYRE_OK);
	assert_int_equal(harness_node_register(), 0);
	n_seen = 0;
	assert_int_equal(gyre_callback_add(record, NULL), GYRE_OK);
}

static void down(void)
{
	assert_int_equal(gyre_callback_remove(record, NULL), GYRE_OK);
	assert_int_equal(gyre_thread_detach(), GYRE_OK);
	assert_int_equal(gyre_shutdown(), GYRE_OK);
}

/* A collection's begin and end arrive once its pause is over (the
 * count of collections already includes it), on the collecting thread,
 * in order, with its generation, reason and figures. */
static void test_collection_events(void **state)
{
	(void)state;
	up(NULL);
	gyre_stats before = harness_stats();
	assert_true(gyre_collect(1) >= 0);
	int b = find_kind(GYRE_EVENT_COLLECTION_BEGIN, 0);
	int e = find_kind(GYRE_EVENT_COLLECTION_END, 0);
	assert_true(b >= 0 && e > b);
	assert_int_equal(seen[b].generation, 1);
	assert_string_equal(seen[b].reason, "explicit");
	assert_int_equal(seen[e].generation, 1);
	assert_true(seen[e].pause_ns > 0);
	assert_true(seen[e].time_ns >= seen[b].time_ns);
	assert_true(pthread_equal(seen_thread[e], pthread_self()));
	assert_int_equal(seen_collections[b], before.collections + 1);
	down();
}

/* Promoted bytes are reported: objects kept by the stack are copied out
 * of the nursery by a collection of generation 1. */
static void test_collection_figures(void **state)
{
	(void)state;
	up(NULL);
	struct node *volatile keep = NULL;
	for (int i = 0; i < 1000; i++)
		keep = node_new((uint64_t)i, (struct node *)keep, NULL);
	assert_true(gyre_collect(1) >= 0);
	int e = find_kind(GYRE_EVENT_COLLECTION_END, 0);
	assert_true(e >= 0);
	assert_true(seen[e].bytes_promoted >= 1000 * sizeof(struct node));
	assert_true(seen[e].heap_size > 0);
	down();
}

/* A cycle's begin comes with the pause that starts it, on this thread;
 * its end with the remark, on the collector thread. */
static void test_cycle_events(void **state)
{
	(void)state;
	up(NULL);
	assert_true(collect_start_cycle(mutator_current()));
	assert_true(find_kind(GYRE_EVENT_CYCLE_BEGIN, 0) >= 0);
	uint64_t deadline = harness_now_ms() + 20000;
	while (find_kind(GYRE_EVENT_CYCLE_END, 0) < 0 && harness_now_ms() < deadline) {
		sleep_blocking();
	}
	int e = find_kind(GYRE_EVENT_CYCLE_END, 0);
	assert_true(e >= 0);
	assert_int_equal(seen[e].generation, 2);
	assert_false(pthread_equal(seen_thread[e], pthread_self()));
	down();
}

/* A heap that grew by megabytes since the last report is reported. */
static void test_heap_grow(void **state)
{
	(void)state;
	up(&(gyre_config){.heap_min = 64 << 10});
	void *volatile keep[64];
	for (int i = 0; i < 64; i++)
		keep[i] = gyre_alloc_bytes(256 << 10);
	assert_true(gyre_collect(0) >= 0);
	/* The last report: a cycle may have reported part of the growth, and
	 * what grew since is reported only from an eighth on, so the last
	 * report saw at least 8/9 of the 16 MiB kept. */
	int g = -1;
	for (int i = find_kind(GYRE_EVENT_HEAP_GROW, 0); i >= 0;
	     i = find_kind(GYRE_EVENT_HEAP_GROW, (unsigned)i + 1))
		g = i;
	assert_true(g >= 0);
	assert_true(seen[g].heap_size >= 14 * MIB);
	assert_true(seen[g].heap_size > seen[g].bytes);
	assert_non_null(keep[63]);
	down();
}

/* An allocation that fails for memory is reported with its size, on the
 * allocating thread. */
static void test_alloc_failed(void **state)
{
	(void)state;
	up(&(gyre_config){.heap_max = 8 * MIB});
	void *volatile keep = gyre_alloc_bytes(5 * MIB);
	assert_non_null(keep);
	assert_null(gyre_alloc_bytes(5 * MIB));
	assert_int_equal(gyre_last_error(), GYRE_ENOMEM);
	int f = find_kind(GYRE_EVENT_ALLOC_FAILED, 0);
	assert_true(f >= 0);
	assert_int_equal(seen[f].bytes, 5 * MIB);
	assert_true(pthread_equal(seen_thread[f], pthread_self()));
	down();
}

static unsigned calls_other;

/* Counts a collection's begin and end only: a heap size event may come
 * with a collection too. */
static bool is_collection(const gyre_event *ev)
{
	return ev->kind == GYRE_EVENT_COLLECTION_BEGIN ||
	       ev->kind == GYRE_EVENT_COLLECTION_END;
}

static void other(const gyre_event *ev, void *ctx)
{
	(void)ctx;
	calls_other += is_collection(ev);
}

/* Removes itself and adds `other` from inside the delivery: the rest of
 * this delivery is unchanged, the next sees the change. */
static void self_removing(const gyre_event *ev, void *ctx)
{
	if (!is_collection(ev) || (*(unsigned *)ctx)++ > 0)
		return;
	assert_int_equal(gyre_callback_remove(self_removing, ctx), GYRE_OK);
	assert_int_equal(gyre_callback_add(other, NULL), GYRE_OK);
}

static void test_change_inside_callback(void **state)
{
	(void)state;
	up(NULL);
	unsigned calls = 0;
	calls_other = 0;
	assert_int_equal(gyre_callback_add(self_removing, &calls), GYRE_OK);
	assert_true(gyre_collect(0) >= 0);
	assert_int_equal(calls, 2); /* begin and end of the same delivery */
	assert_int_equal(calls_other, 0);
	assert_true(gyre_collect(0) >= 0);
	assert_int_equal(calls, 2);
	assert_int_equal(calls_other, 2);
	assert_int_equal(gyre_callback_remove(other, NULL), GYRE_OK);
	down();
}

/* ------------------------------------------- registration under delivery */

static atomic_uint_fast64_t counted;
static atomic_bool churning;

static void counting(const gyre_event *ev, void *ctx)
{
	(void)ev;
	atomic_fetch_add(&counted, (uintptr_t)ctx);
}

/* Allocates garbage until told to stop: its collections deliver events
 * while the main thread changes the registrations. */
static void *collector_thread(void *arg)
{
	(void)arg;
	assert_int_equal(gyre_thread_attach(), GYRE_OK);
	while (atomic_load(&churning))
		for (int i = 0; i < 1000; i++)
			harness_launder(node_new((uint64_t)i, NULL, NULL));
	assert_int_equal(gyre_thread_detach(), GYRE_OK);
	return NULL;
}

/* Callbacks added and removed by one thread while two others collect
 * and deliver: every array a delivery still reads stays alive (ASan), and
 * the registrations race with nothing (TSan). */
static void test_registration_under_delivery(void **state)
{
	(void)state;
	up(&(gyre_config){.nursery_size = 256 << 10});
	atomic_store(&counted, 0);
	atomic_store(&churning, true);
	pthread_t t[2];
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, collector_thread, NULL), 0);
	uint64_t deadline = harness_now_ms() + 300;
	bool registered[9] = {false};
	for (uintptr_t k = 1; harness_now_ms() < deadline; k = k % 8 + 1) {
		assert_int_equal(gyre_callback_add(counting, (void *)k), GYRE_OK);
		registered[k] = true;
		/* Each even one removes the odd one before it; the eighth
		 * also every even one. */
		for (uintptr_t j = 1; j <= k; j++) {
			bool drop = k % 2 == 0 && (j == k - 1 || (k == 8 && j % 2 == 0));
			if (drop && registered[j]) {
				assert_int_equal(gyre_callback_remove(counting, (void *)j),
						 GYRE_OK);
				registered[j] = false;
			}
		}
		gyre_safepoint();
	}
	atomic_store(&churning, false);
	assert_int_equal(gyre_blocking_begin(), GYRE_OK);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	assert_int_equal(gyre_blocking_end(), GYRE_OK);
	for (uintptr_t j = 1; j <= 8; j++)
		if (registered[j])
			assert_int_equal(gyre_callback_remove(counting, (void *)j), GYRE_OK);
	assert_true(atomic_load(&counted) > 0);
	down();
}

/* ------------------------------------------------------------ bad input */

static int add_null(void)
{
	gyre_init(NULL);
	return gyre_callback_add(NULL, NULL);
}

static int add_twice(void)
{
	gyre_init(NULL);
	gyre_callback_add(other, &calls_other);
	return gyre_callback_add(other, &calls_other);
}

static int remove_absent(void)
{
	gyre_init(NULL);
	gyre_callback_add(other, NULL);
	return gyre_callback_remove(other, &calls_other);
}

static int rc_inside;

static void collecting(const gyre_event *ev, void *ctx)
{
	(void)ctx;
	if (ev->kind == GYRE_EVENT_COLLECTION_END)
		rc_inside = (int)gyre_collect(0);
}

static void critical_inside(const gyre_event *ev, void *ctx)
{
	(void)ctx;
	if (ev->kind == GYRE_EVENT_COLLECTION_END)
		rc_inside = gyre_critical_begin(MIB);
}

static int from_callback(gyre_event_fn fn)
{
	gyre_init(NULL);
	gyre_thread_attach();
	gyre_callback_add(fn, NULL);
	rc_inside = 1;
	gyre_collect(0);
	return rc_inside;
}

static int collect_in_callback(void)
{
	return from_callback(collecting);
}

static int critical_in_callback(void)
{
	return from_callback(critical_inside);
}

static void test_bad_input(void **state)
{
	(void)state;
	harness_expect_misuse(add_null, GYRE_EINVAL, "gyre_callback_add: fn is NULL");
	harness_expect_misuse(add_twice, GYRE_EINVAL, "is already registered");
	harness_expect_misuse(remove_absent, GYRE_ENOTFOUND, "is not registered");
	harness_expect_misuse(collect_in_callback, GYRE_ESTATE,
		      "gyre_collect: called from inside an event callback");
	harness_expect_misuse(critical_in_callback, GYRE_ESTATE,
		      "gyre_critical_begin: called from inside an event callback");
}

/* ---------------------------------------------------- time to safepoint */

static atomic_int spinner_state; /* 1: attached, spinning; 2: done */

/* Attached, runs 50 ms without a safepoint poll, then polls. */
static void *spinner(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "spinner");
	assert_int_equal(gyre_thread_attach(), GYRE_OK);
	atomic_store(&spinner_state, 1);
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do
		clock_gettime(CLOCK_MONOTONIC, &t);
	while ((t.tv_sec - t0.tv_sec) * 1000000000L + (t.tv_nsec - t0.tv_nsec) < 50000000L);
	gyre_safepoint();
	assert_int_equal(gyre_thread_detach(), GYRE_OK);
	atomic_store(&spinner_state, 2);
	return NULL;
}

/* The spinner holds up the stop of a collection: the event names it,
 * with its wait, and the statistics count it. */
static void test_slow_safepoint(void **state)
{
	(void)state;
	up(NULL);
	atomic_store(&spinner_state, 0);
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, spinner, NULL), 0);
	while (atomic_load(&spinner_state) == 0)
		sched_yield();
	assert_true(gyre_collect(0) >= 0);
	int s = find_kind(GYRE_EVENT_SLOW_SAFEPOINT, 0);
	assert_true(s >= 0);
	assert_string_equal(seen[s].thread_name, "spinner");
	assert_true(seen[s].ttsp_ns >= 20000000);
	assert_true(seen[s].pause_ns >= seen[s].ttsp_ns);
	assert_true(pthread_equal(seen_thread[s], pthread_self()));
	gyre_stats st = harness_stats();
	assert_true(st.slow_stops >= 1);
	assert_true(st.ttsp_max_ns >= 20000000);
	uint64_t counted = 0;
	for (unsigned i = 0; i < GYRE_PAUSE_BUCKETS; i++)
		counted += st.ttsp_histogram[i];
	assert_true(counted >= 1);
	unsigned bucket = 0; /* the spinner's: [2^b, 2^(b+1)) us */
	for (uint64_t us = seen[s].ttsp_ns / 1000; us > 1; us >>= 1)
		bucket++;
	assert_true(st.ttsp_histogram[bucket < GYRE_PAUSE_BUCKETS ? bucket
								    : GYRE_PAUSE_BUCKETS - 1] >= 1);
	assert_int_equal(gyre_blocking_begin(), GYRE_OK);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(gyre_blocking_end(), GYRE_OK);
	down();
}

/* Runs `ns` without a safepoint poll. */
static void spin_ns(uint64_t ns)
{
	uint64_t t0 = gyre_now_ns();
	while (gyre_now_ns() - t0 < ns)
		;
}

/* The remark, asked for by the collector thread while the one program
 * thread (this one) runs 300 ms more without a poll, pauses the program
 * only from this thread's park: its COLLECTION_END's pause is the
 * remark's work (well under 250 ms even on a loaded machine, where one
 * took 79 ms), and the 300 ms are this thread's time to safepoint.
 * Counted from the request (stw_paused_since broken), the pause passed
 * 300 ms. */
static void test_collector_pause_begins_at_the_first_park(void **state)
{
	(void)state;
	up(NULL);
	marker_hold(true);
	assert_true(collect_start_cycle(mutator_current()));
	pthread_mutex_lock(&seen_lock);
	unsigned from = n_seen;
	pthread_mutex_unlock(&seen_lock);
	marker_hold(false);
	uint64_t deadline = gyre_now_ns() + 10 * (uint64_t)1000000000;
	while (!atomic_load_seq_cst(&stw.requested) && gyre_now_ns() < deadline)
		;
	assert_true(atomic_load_seq_cst(&stw.requested));
	spin_ns(300 * (uint64_t)1000000);
	gyre_safepoint();
	/* The remark's events come on the collector thread, after it. */
	int e = -1;
	while (e < 0) {
		sleep_blocking();
		assert_true(gyre_now_ns() < deadline);
		e = find_kind(GYRE_EVENT_COLLECTION_END, from);
		while (e >= 0 && strcmp(seen[e].reason, "remark") != 0)
			e = find_kind(GYRE_EVENT_COLLECTION_END, (unsigned)e + 1);
	}
	assert_false(mark_old_active());
	if (seen[e].pause_ns >= 250 * (uint64_t)1000000)
		fail_msg("the remark's pause took %.1f ms", seen[e].pause_ns / 1e6);
	assert_true(harness_stats().ttsp_max_ns >= 300 * (uint64_t)1000000);
	down();
}

/* GYRE_TRACE=1 prints the slow stop with the thread's name (the child
 * aborts at the end so that harness_expect_abort shows its stderr). */
static void traced_slow_stop(void)
{
	setenv("GYRE_TRACE", "1", 1);
	gyre_init(NULL);
	gyre_thread_attach();
	pthread_t t;
	pthread_create(&t, NULL, spinner, NULL);
	while (atomic_load(&spinner_state) == 0)
		sched_yield();
	gyre_collect(0);
	abort();
}

static void test_slow_safepoint_trace(void **state)
{
	(void)state;
	atomic_store(&spinner_state, 0);
	harness_expect_abort(traced_slow_stop, "slowest thread \"spinner\"");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_collection_events),
		cmocka_unit_test(test_collection_figures),
		cmocka_unit_test(test_cycle_events),
		cmocka_unit_test(test_heap_grow),
		cmocka_unit_test(test_alloc_failed),
		cmocka_unit_test(test_change_inside_callback),
		cmocka_unit_test(test_registration_under_delivery),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_slow_safepoint),
		cmocka_unit_test(test_collector_pause_begins_at_the_first_park),
		cmocka_unit_test(test_slow_safepoint_trace),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
