/*
 * mark.h: the mark phase, parallel over the worker pool (DESIGN.md, "The
 * shape": worker pool). Roots are stacks and registers and registered areas
 * (conservative) and handles (precise); the heap is traced precisely
 * through registered types.
 *
 * [INV-MARKED-CLOSED] When mark_heap returns, every object reachable from a
 * root is marked.
 */
#ifndef GYRE_MARK_H
#define GYRE_MARK_H

#include <stdbool.h>
#include <stdint.h>

int mark_init(unsigned workers);
void mark_shutdown(void);

/* With the world stopped and runs retired: marks everything reachable. */
void mark_heap(void);

/* The concurrent cycle of generation 2 (DESIGN.md, "The old generation"):
 * snapshot at the beginning. Only generation-2 and large objects are
 * marked; young objects are the minor collections' business.
 *
 * World stopped, right after a minor collection that tenured every
 * survivor: starts a cycle. What roots and the remaining (pinned) young
 * objects point at in generation 2 turns grey, and the barrier starts
 * logging (satb.h). */
void mark_old_start(void);
/* True from mark_old_start until satb_stop ends the cycle: the cycle is
 * the barrier's log being on (satb_active). Any thread; it changes only
 * with the world stopped. */
bool mark_old_active(void);
/* Cycles started since init: tells one cycle from the next. */
uint64_t mark_old_cycle(void);
/* The collector thread, world running: scans grey objects worth about
 * `budget` pointer fields (large arrays a chunk at a time); true when
 * none is left. */
bool mark_old_step(size_t budget);
/* The collector thread, world running, when no grey object is left: the
 * ephemerons it noted whose keys are marked now have their values shaded
 * and leave its notes, so that the remark decides only the rest; a few
 * thousand per call (a pause waits for the thread between two calls).
 * True while there is more to do: a pass not finished, or one that kept a
 * value (grey work again, then another pass). */
bool mark_old_ephemerons(void);
/* The mark of a generation-2 or large object. Any thread. */
bool mark_old_marked(const void *obj);
/* True if a logged pointer still matters to the cycle: an old object not
 * marked yet. Any thread that read obj from a field (acquire) since the
 * last pause. */
bool mark_old_wanted(void *obj);
/* A logged pointer (satb.h): if it names an old object not yet marked, it
 * turns grey. The collector thread, or the world stopped. */
void mark_old_shade(void *obj);
/* The same from a mutator that has no log buffer (no memory): the object
 * is marked and left for the remark's rescan. Any RUNNING thread. */
void mark_old_shade_lost(void *obj);
/* World stopped, log drained: traces what is still grey, in parallel.
 * [INV-MARKED-OLD] On return every generation-2 or large object that was
 * reachable when the cycle began, or was allocated since, is marked. The
 * caller then ends the cycle with satb_stop. */
void mark_old_finish(void);
/* World stopped, log drained: traces what is grey, in parallel, until
 * `deadline` (gyre_now_ns) at the latest; what is left waits for the
 * collector thread again. True if nothing is left (mark_old_finish then
 * only recovers from an overflow, if there was none: nothing). */
bool mark_old_increment(uint64_t deadline);

/* World stopped, right after mark_heap or mark_old_finish: resolves the
 * ephemerons (weak.h), clears the weak references whose targets were not
 * marked, queueing their callbacks, and finds the finalizable objects
 * that were not, marks them and what they reach, and queues the ready
 * ones (final.h). */
void mark_final(void);

/* True if `p` is the payload start of a live small or large object (needs
 * large_prepare). For checks. */
bool mark_is_object(uintptr_t p);

/* Test hook: the nth gather of each ephemeron fixpoint (1 the first, 0
 * none) acts as if memory for the notes ran out. */
void mark_refuse_gather(unsigned nth);
/* Test hook: caps each worker's mark stack at `entries` (0 = no cap) so
 * that tests can drive the overflow path. */
void mark_set_stack_limit(size_t entries);
/* Heap rescans the overflow path has run since init. */
size_t mark_rescans(void);

#endif
