/*
 * cycles.c: see cycles.h.
 */
#include <time.h>

#include "cycles.h"
#include "node.h"
#include "gc/driver/collect.h"
#include "gc/old/mark.h"
#include "gc/old/marker.h"
#include "threads/mutator.h"

void collect_clean(int generation)
{
	harness_clear_stack();
	assert_true(gyre_collect(generation) >= 0);
}

void run_cycle(gyre_handle marked, void (*during)(void *arg), void *arg)
{
	uint64_t deadline = (uint64_t)time(NULL) + CYCLE_WAIT_MS / 1000;
	marker_hold(true);
	harness_clear_stack();
	assert_true(collect_start_cycle(mutator_current()));
	if (marked)
		disable();
	marker_hold(false);
	while (marked && !mark_old_marked(gyre_handle_get(marked))) {
		sleep_blocking();
		assert_true((uint64_t)time(NULL) <= deadline);
	}
	if (during)
		harness_in_thread(during, arg);
	if (marked)
		enable();
	while (mark_old_active()) {
		sleep_blocking();
		assert_true((uint64_t)time(NULL) <= deadline);
	}
}
