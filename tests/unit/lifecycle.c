/*
 * lifecycle.c: unit tests of gyre_init/gyre_shutdown cycles: a process can
 * bring gyre up and down many times, each time with a fresh worker pool
 * and fresh statistics, and every collection in every cycle works; and a
 * blocking region ended after the function that began it has returned is
 * caught in checked builds; a thread that exits attached is caught in
 * checked builds and detached on its behalf in others.
 */
#include <pthread.h>
#include <stdlib.h>

#include "harness.h"
#include "runtime/internal.h"

static void cycle(unsigned workers)
{
	gyre_config c = {.workers = workers, .heap_min = 256 << 10,
			 .nursery_size = 256 << 10, .verify = 1};
	assert_int_equal(gyre_init(&c), GYRE_OK);
	assert_int_equal(gyre_thread_attach(), GYRE_OK);
	gyre_stats s;
	assert_int_equal(gyre_stats_get(&s), GYRE_OK);
	assert_int_equal(s.collections, 0);
	void **volatile keep = gyre_alloc_array(GYRE_TYPE_PTR, 64);
	for (int i = 0; i < 20000; i++)
		GYRE_STORE_AT(keep, i % 64, gyre_alloc_bytes(24));
	assert_true(gyre_collect(2) >= 0);
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

static void *exit_attached(void *arg)
{
	(void)arg;
	if (gyre_thread_attach() || !gyre_alloc_bytes(64) || gyre_disable())
		abort();
	return NULL;
}

/* A thread exits attached, with a gyre_disable open; then this thread
 * collects, which would wait for ever on the dead thread if nothing had
 * detached it. */
static void thread_exits_attached(void)
{
	if (gyre_init(NULL) || gyre_thread_attach())
		abort();
	pthread_t t;
	if (pthread_create(&t, NULL, exit_attached, NULL))
		abort();
	gyre_blocking_begin();
	pthread_join(t, NULL);
	gyre_blocking_end();
	exit(gyre_collect(2) >= 0 && gyre_is_enabled() == 1 ? 0 : 1);
}

static void test_thread_exiting_attached(void **state)
{
	(void)state;
	if (GYRE_DEBUG)
		harness_expect_abort(thread_exits_attached, "exited while still attached");
	else
		harness_expect_exit0(thread_exits_attached);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_shutdown_cycles),
		cmocka_unit_test(test_blocking_end_after_begin_returned),
		cmocka_unit_test(test_thread_exiting_attached),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
