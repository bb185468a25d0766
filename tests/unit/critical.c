/*
 * critical.c: unit tests of no-GC regions (issue 20, item 1): no
 * collection starts inside a region that keeps to its budget, even past
 * the nursery's trigger, on one thread or several; regions nest; begin
 * collects first when the heap lacks room; a budget that runs out ends
 * the guarantee (the default) or fails the allocation (critical_fail);
 * the statistics; and each bad input's status.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "node.h"

#define KIB ((size_t)1 << 10)
#define MIB ((size_t)1 << 20)

/* Collections that began, counted by a callback (not assumed). */
static atomic_uint began;
static atomic_uint overruns;

static void count(const gyre_event *ev, void *ctx)
{
	(void)ctx;
	if (ev->kind == GYRE_EVENT_COLLECTION_BEGIN)
		atomic_fetch_add(&began, 1);
	if (ev->kind == GYRE_EVENT_CRITICAL_OVERRUN)
		atomic_fetch_add(&overruns, 1);
}

static void up(const gyre_config *c)
{
	assert_int_equal(gyre_init(c), GYRE_OK);
	assert_int_equal(gyre_thread_attach(), GYRE_OK);
	assert_int_equal(harness_node_register(), 0);
	atomic_store(&began, 0);
	atomic_store(&overruns, 0);
	assert_int_equal(gyre_callback_add(count, NULL), GYRE_OK);
}

static void down(void)
{
	assert_int_equal(gyre_thread_detach(), GYRE_OK);
	assert_int_equal(gyre_shutdown(), GYRE_OK);
}

/* Allocates `bytes` of small garbage. */
__attribute__((noinline)) static void garbage(size_t bytes)
{
	for (size_t done = 0; done < bytes; done += 1024)
		harness_launder(gyre_alloc_bytes(1024 - 16));
}

/* The nursery's trigger is 256 KiB; 2 MiB inside a 4 MiB region runs no
 * collection; the first allocation slow path after it does. */
static void test_no_collection_inside(void **state)
{
	(void)state;
	up(&(gyre_config){.nursery_size = 256 * KIB});
	garbage(MIB);
	assert_true(atomic_load(&began) > 0);
	atomic_store(&began, 0);
	assert_int_equal(gyre_critical_begin(4 * MIB), GYRE_OK);
	garbage(2 * MIB);
	assert_int_equal(atomic_load(&began), 0);
	assert_int_equal(gyre_critical_end(), GYRE_OK);
	garbage(MIB);
	assert_true(atomic_load(&began) > 0);
	gyre_stats s = harness_stats();
	assert_int_equal(s.critical_opened, 1);
	assert_int_equal(s.critical_overrun, 0);
	assert_true(s.critical_bytes >= 2 * MIB && s.critical_bytes <= 4 * MIB);
	assert_true(s.critical_longest_ns > 0);
	down();
}

/* Regions nest: the guarantee lasts until the outermost ends. */
static void test_nesting(void **state)
{
	(void)state;
	up(&(gyre_config){.nursery_size = 256 * KIB});
	assert_int_equal(gyre_critical_begin(2 * MIB), GYRE_OK);
	assert_int_equal(gyre_critical_begin(2 * MIB), GYRE_OK);
	garbage(MIB);
	assert_int_equal(gyre_critical_end(), GYRE_OK);
	garbage(2 * MIB);
	assert_int_equal(atomic_load(&began), 0);
	assert_int_equal(gyre_critical_end(), GYRE_OK);
	assert_int_equal(harness_stats().critical_opened, 2);
	down();
}

struct worker {
	pthread_barrier_t *both_open;
	int rc_begin, rc_end;
};

static void *region_worker(void *p)
{
	struct worker *w = p;
	assert_int_equal(gyre_thread_attach(), GYRE_OK);
	w->rc_begin = gyre_critical_begin(2 * MIB);
	assert_int_equal(gyre_blocking_begin(), GYRE_OK);
	pthread_barrier_wait(w->both_open);
	assert_int_equal(gyre_blocking_end(), GYRE_OK);
	garbage(MIB);
	w->rc_end = gyre_critical_end();
	assert_int_equal(gyre_thread_detach(), GYRE_OK);
	return NULL;
}

/* Two threads hold regions at once; together they stay in the sum of
 * their budgets. */
static void test_two_threads(void **state)
{
	(void)state;
	up(&(gyre_config){.nursery_size = 256 * KIB});
	pthread_barrier_t both;
	pthread_barrier_init(&both, NULL, 2);
	struct worker w = {.both_open = &both};
	pthread_t t;
	assert_int_equal(gyre_critical_begin(2 * MIB), GYRE_OK);
	assert_int_equal(pthread_create(&t, NULL, region_worker, &w), 0);
	assert_int_equal(gyre_blocking_begin(), GYRE_OK);
	pthread_barrier_wait(&both);
	assert_int_equal(gyre_blocking_end(), GYRE_OK);
	garbage(MIB);
	assert_int_equal(gyre_blocking_begin(), GYRE_OK);
	pthread_join(t, NULL);
	assert_int_equal(gyre_blocking_end(), GYRE_OK);
	assert_int_equal(w.rc_begin, GYRE_OK);
	assert_int_equal(w.rc_end, GYRE_OK);
	assert_int_equal(atomic_load(&began), 0);
	assert_int_equal(gyre_critical_end(), GYRE_OK);
	pthread_barrier_destroy(&both);
	down();
}

/* A heap too full for the budget is collected before the region opens,
 * and not inside it. */
static void test_collects_first(void **state)
{
	(void)state;
	up(&(gyre_config){.heap_max = 16 * MIB});
	assert_int_equal(gyre_disable(), GYRE_OK);
	garbage(12 * MIB);
	assert_int_equal(gyre_enable(), GYRE_OK);
	assert_true(harness_stats().heap_size >= 12 * MIB);
	unsigned before = atomic_load(&began);
	assert_int_equal(gyre_critical_begin(8 * MIB), GYRE_OK);
	assert_int_equal(atomic_load(&began), before + 1);
	garbage(4 * MIB);
	assert_int_equal(atomic_load(&began), before + 1);
	assert_int_equal(gyre_critical_end(), GYRE_OK);
	/* More than the heap can hold at all, even after collecting. */
	assert_int_equal(gyre_critical_begin(16 * MIB), GYRE_ENOMEM);
	down();
}

/* The default policy: past the budget the guarantee ends (collections
 * may run again) and the end says so. */
static void test_overrun_ends(void **state)
{
	(void)state;
	up(&(gyre_config){.nursery_size = 256 * KIB});
	assert_int_equal(gyre_critical_begin(256 * KIB), GYRE_OK);
	garbage(2 * MIB);
	assert_int_equal(atomic_load(&overruns), 1);
	assert_true(atomic_load(&began) > 0);
	assert_int_equal(gyre_critical_end(), GYRE_EBUDGET);
	assert_int_equal(gyre_last_error(), GYRE_EBUDGET);
	/* A new region has a guarantee of its own. */
	assert_int_equal(gyre_critical_begin(256 * KIB), GYRE_OK);
	assert_int_equal(gyre_critical_end(), GYRE_OK);
	assert_int_equal(harness_stats().critical_overrun, 1);
	down();
}

/* critical_fail: the allocation that would overrun fails; the guarantee
 * holds and the region ends normally. */
static void test_overrun_fails(void **state)
{
	(void)state;
	up(&(gyre_config){.nursery_size = 256 * KIB, .critical_fail = 1});
	assert_int_equal(gyre_critical_begin(256 * KIB), GYRE_OK);
	void *last = NULL;
	size_t n = 0;
	do {
		last = gyre_alloc_bytes(1024 - 16);
		n++;
	} while (last && n < 100000);
	assert_null(last);
	assert_int_equal(gyre_last_error(), GYRE_EBUDGET);
	assert_int_equal(atomic_load(&began), 0);
	assert_int_equal(atomic_load(&overruns), 1);
	assert_int_equal(gyre_critical_end(), GYRE_OK);
	assert_non_null(gyre_alloc_bytes(1024));
	down();
}

/* ------------------------------------------------------------ bad input */

static int attached_init(void)
{
	gyre_init(&(gyre_config){.heap_max = 64 * MIB});
	return gyre_thread_attach();
}

static int budget_zero(void)
{
	attached_init();
	return gyre_critical_begin(0);
}

static int budget_too_big(void)
{
	attached_init();
	return gyre_critical_begin(64 * MIB + 1);
}

static int end_without_begin(void)
{
	attached_init();
	gyre_critical_begin(MIB);
	gyre_critical_end();
	return gyre_critical_end();
}

static int detach_in_region(void)
{
	attached_init();
	gyre_critical_begin(MIB);
	return gyre_thread_detach();
}

static int begin_unattached(void)
{
	gyre_init(NULL);
	return gyre_critical_begin(MIB);
}

static void test_bad_input(void **state)
{
	(void)state;
	harness_expect_misuse(budget_zero, GYRE_EINVAL, "gyre_critical_begin: budget 0");
	harness_expect_misuse(budget_too_big, GYRE_EINVAL, "is 0 or above heap_max");
	harness_expect_misuse(end_without_begin, GYRE_EUNBALANCED,
		      "gyre_critical_end: no gyre_critical_begin");
	harness_expect_misuse(detach_in_region, GYRE_EUNBALANCED,
		      "gyre_thread_detach: 1 no-GC region(s) still open");
	harness_expect_misuse(begin_unattached, GYRE_ENOTATTACHED,
		      "gyre_critical_begin: the calling thread is not attached");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_collection_inside),
		cmocka_unit_test(test_nesting),
		cmocka_unit_test(test_two_threads),
		cmocka_unit_test(test_collects_first),
		cmocka_unit_test(test_overrun_ends),
		cmocka_unit_test(test_overrun_fails),
		cmocka_unit_test(test_bad_input),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
