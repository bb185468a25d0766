/*
 * marker.h: the collector thread (DESIGN.md, "The old generation:
 * concurrent mark"). It sleeps until a pause starts a concurrent cycle,
 * then traces generation 2 while the program runs, and asks for the remark
 * when nothing is left to trace.
 */
#ifndef GYRE_MARKER_H
#define GYRE_MARKER_H

#include <stdbool.h>

/* Starts the thread (gyre_init); GYRE_OK or GYRE_ENOMEM. */
int marker_start(void);
/* Stops it (gyre_shutdown); a cycle in progress is abandoned, which is
 * fine only because the heap is about to go. */
void marker_stop(void);
/* fork's child, with no collection running: the collector thread exists
 * only in the parent; a new one starts (if there was one) and is woken at
 * once, so that it carries on a cycle the fork found marking, or the lazy
 * sweep after one, where the parent's thread left them (it left no unit
 * of work half done: the fork stopped the world). A hold is not
 * inherited. Aborts if the thread cannot be started. */
void marker_after_fork_child(void);
/* A cycle has started (collect.c, after the world restarts). */
void marker_wake(void);
/* Test hook: while held, the collector thread neither traces nor asks for
 * the remark (pauses still end or advance a cycle), so that a test can
 * change the heap in the middle of a cycle before any tracing, nor
 * sweeps after one, so that a test can act while blocks are unswept. */
void marker_hold(bool hold);

#endif
