/*
 * lifecycle.c: unit tests of gyre_init/gyre_shutdown cycles: a process can
 * bring gyre up and down many times, each time with a fresh worker pool
 * and fresh statistics, and every collection in every cycle works; and a
 * blocking region ended after the function that began it has returned is
 * caught in checked builds.
 */
#include <stdlib.h>

#include "harness.h"
#include "runtime/internal.h"

static void cycle(unsigned workers)
{
	gyre_config c = {.workers = workers, .heap_min = 256 << 10, .verify = 1};
	assert_int_equal(gyre_init(&c), GYRE_OK);
	assert_int_equal(gyre_thread_attach(), GYRE_OK);
	gyre_stats s;
	assert_int_equal(gyre_stats_get(&s), GYRE_OK);
	assert_int_equal(s.collections, 0);
	void **volatile keep = gyre_alloc_array(GYRE_TYPE_PTR, 64);
	for (int i = 0; i < 20000; i++)
		GYRE_STORE_AT(keep, i % 64, gyre_alloc_bytes(24));
	assert_true(gyre_collect() >= 0);
	assert_int_equal(gyre_stats_get(&s), GYRE_OK);
	assert_true(s.collections >= 2);
	for (int i = 0; i < 64; i++)
		assert_int_equal(gyre_length(keep[i]), 24);
	assert_int_equal(gyre_thread_detach(), GYRE_OK);
	assert_int_equal(gyre_shutdown(), GYRE_OK);
}

static void test_init_shutdown_cycles(void **state)
{
	(void)state;
	for (int i = 0; i < 40; i++)
		cycle(1 + (unsigned)i % 4);
}

/* Begins a region and returns inside it: the misuse under test. */
static __attribute__((noinline)) void begin_and_return(void)
{
	if (gyre_blocking_begin() != GYRE_OK)
		abort();
}

static void end_after_return(void)
{
	if (gyre_init(NULL) || gyre_thread_attach())
		abort();
	begin_and_return();
	gyre_blocking_end();
	exit(0);
}

static void test_blocking_end_after_begin_returned(void **state)
{
	(void)state;
	if (!GYRE_DEBUG)
		skip(); /* the check exists in checked builds only */
	harness_expect_abort(end_after_return, "gyre_blocking_end");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_shutdown_cycles),
		cmocka_unit_test(test_blocking_end_after_begin_returned),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
