/*
 * cycles.h: what the tests of weak references, ephemerons and finalizers
 * share (weak.c, ephemeron.c, final.c): a collection with nothing of the
 * caller's past on its dead stack, and a concurrent cycle run to its end
 * with a step in the middle (harness.h has the short sleep in a blocking
 * region they use).
 */
#ifndef GYRE_TEST_CYCLES_H
#define GYRE_TEST_CYCLES_H

#include "harness.h"

/* How long a test waits for the collector thread before it fails. */
#define CYCLE_WAIT_MS 10000

/* gyre_collect(generation), which must succeed, after clearing the dead
 * stack (a stale word there would keep what a test wants dead). */
void collect_clean(int generation);
/* Starts a concurrent cycle and runs it to its end. With `marked`, the
 * remark is held off (gyre_disable) until the collector thread has
 * marked the handle's object, and `during(arg)` runs then, on a helper
 * thread; either may be NULL. Fails after CYCLE_WAIT_MS. */
void run_cycle(gyre_handle marked, void (*during)(void *arg), void *arg);

#endif
