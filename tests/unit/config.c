/*
 * config.c: unit tests of configuration: defaults fill zero fields, the
 * environment wins over the struct, sizes take K/M/G suffixes. (Rejected
 * values are covered by tests/misuse.)
 */
#include <stdlib.h>

#include "harness.h"
#include "runtime/config.h"

static const char *const vars[] = {"GYRE_HEAP_MAX", "GYRE_HEAP_MIN", "GYRE_GROWTH",
				   "GYRE_WORKERS", "GYRE_VERIFY", "GYRE_TRACE"};

static void test_defaults(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		unsetenv(vars[i]);
	gyre_config c;
	assert_int_equal(config_resolve(NULL, &c), GYRE_OK);
	assert_true(c.heap_max >= ((size_t)64 << 20));
	assert_int_equal(c.heap_min, (size_t)32 << 20);
	assert_int_equal(c.growth_percent, 33);
	assert_true(c.workers >= 1);
	assert_int_equal(c.verify, 0);
	assert_int_equal(c.trace, 0);
}

static void test_environment_wins(void **state)
{
	(void)state;
	gyre_config in = {.heap_max = (size_t)1 << 30, .growth_percent = 50}, c;
	setenv("GYRE_HEAP_MAX", "256M", 1);
	setenv("GYRE_HEAP_MIN", "512K", 1);
	setenv("GYRE_GROWTH", "300", 1);
	setenv("GYRE_WORKERS", "3", 1);
	setenv("GYRE_VERIFY", "1", 1);
	assert_int_equal(config_resolve(&in, &c), GYRE_OK);
	assert_int_equal(c.heap_max, (size_t)256 << 20);
	assert_int_equal(c.heap_min, (size_t)512 << 10);
	assert_int_equal(c.growth_percent, 300);
	assert_int_equal(c.workers, 3);
	assert_int_equal(c.verify, 1);
	setenv("GYRE_HEAP_MAX", "2g", 1);
	assert_int_equal(config_resolve(&in, &c), GYRE_OK);
	assert_int_equal(c.heap_max, (size_t)2 << 30);
	unsetenv("GYRE_HEAP_MAX");
	unsetenv("GYRE_HEAP_MIN");
	unsetenv("GYRE_GROWTH");
	unsetenv("GYRE_WORKERS");
	unsetenv("GYRE_VERIFY");
	assert_int_equal(config_resolve(&in, &c), GYRE_OK);
	assert_int_equal(c.heap_max, (size_t)1 << 30);
	assert_int_equal(c.growth_percent, 50);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_environment_wins),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
