/*
 * cases_controls.c: the misuse cases of no-GC regions, event callbacks,
 * the memory limit and their configuration (issue 20), one function per
 * bad input that gyre.h
 * names; misuse.c's table pairs each with the function that must name the
 * misuse and its status. (tests/unit/critical.c and events.c check the
 * messages' wording; here every case runs through the one harness.)
 */
#include "misuse.h"

int critical_budget_zero(void)
{
	init_attached();
	return gyre_critical_begin(0);
}

int critical_budget_above_max(void)
{
	init_or_die(&(gyre_config){ .heap_max = 64 * MIB });
	if (gyre_thread_attach() != GYRE_OK)
		setup_failed("gyre_thread_attach");
	return gyre_critical_begin(64 * MIB + 1);
}

int critical_end_without_begin(void)
{
	init_attached();
	return gyre_critical_end();
}

int critical_begin_blocking(void)
{
	init_attached();
	if (gyre_blocking_begin() != GYRE_OK)
		setup_failed("gyre_blocking_begin");
	return gyre_critical_begin(MIB);
}

int detach_in_critical(void)
{
	init_attached();
	if (gyre_critical_begin(MIB) != GYRE_OK)
		setup_failed("gyre_critical_begin");
	return gyre_thread_detach();
}

static void nothing(const gyre_event *ev, void *ctx)
{
	(void)ev;
	(void)ctx;
}

int callback_add_null(void)
{
	init_or_die(NULL);
	return gyre_callback_add(NULL, NULL);
}

int callback_add_twice(void)
{
	init_or_die(NULL);
	if (gyre_callback_add(nothing, NULL) != GYRE_OK)
		setup_failed("gyre_callback_add");
	return gyre_callback_add(nothing, NULL);
}

int callback_remove_absent(void)
{
	init_or_die(NULL);
	return gyre_callback_remove(nothing, NULL);
}

int callback_add_uninitialised(void)
{
	return gyre_callback_add(nothing, NULL);
}

/* What the callback's gyre_collect returned (1 until it ran). */
static int64_t inside = 1;

static void collecting(const gyre_event *ev, void *ctx)
{
	(void)ctx;
	if (ev->kind == GYRE_EVENT_COLLECTION_END && inside == 1)
		inside = gyre_collect(0);
}

int collect_in_callback(void)
{
	init_attached();
	if (gyre_callback_add(collecting, NULL) != GYRE_OK)
		setup_failed("gyre_callback_add");
	if (gyre_collect(0) < 0)
		setup_failed("gyre_collect");
	return (int)inside;
}

int ttsp_threshold_too_big(void)
{
	return gyre_init(&(gyre_config){ .ttsp_threshold_us = 60000001 });
}

int env_ttsp_threshold_banana(void)
{
	setenv("GYRE_TTSP_THRESHOLD", "banana", 1);
	return gyre_init(NULL);
}

int env_critical_fail_bad(void)
{
	setenv("GYRE_CRITICAL_FAIL", "2", 1);
	return gyre_init(NULL);
}

int memory_limit_below_heap_min(void)
{
	return gyre_init(&(gyre_config){ .heap_min = 32 * MIB, .memory_limit = 16 * MIB });
}

int env_memory_limit_banana(void)
{
	setenv("GYRE_MEMORY_LIMIT", "banana", 1);
	return gyre_init(NULL);
}
