/*
 * collect.h: collections, start to finish, and the policy that decides when
 * one starts (DESIGN.md, "Generations and the write barrier", thresholds):
 * - generation 0 once threshold0 bytes of nursery have been handed out;
 * - generation 1 instead, every threshold1-th time;
 * - generation 2 once the bytes added to it (promoted or allocated there)
 *   since its last collection reach threshold2 % of what survived it (and
 *   at least heap_min, and capped by the room under a memory limit),
 *   or when the heap is full, or (full) when the heap nears the memory
 *   limit (limit.h);
 * checked at the next allocation slow path; or when gyre_collect asks.
 */
#ifndef GYRE_COLLECT_H
#define GYRE_COLLECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "threads/mutator.h"

int collect_init(void);

/* Counts bytes added to generation 2 outside collections (large objects). */
void collect_note_alloc(size_t bytes);

/* Runs the collection a trigger asks for, if automatic collection is
 * enabled, once the memory limit's cap lets it (limit_hold). `m` is the
 * calling, RUNNING mutator. */
void collect_if_due(struct mutator *m);
/* What collect_for_space did: nothing (automatic collection is disabled,
 * or the memory limit refuses the allocation: limit_refuse), waited
 * behind another thread's collection, or collected itself. */
enum for_space { FOR_SPACE_NONE, FOR_SPACE_OTHER, FOR_SPACE_OWN };
/* The heap is full: collects everything if automatic collection is
 * enabled and the memory limit does not refuse it (once its cap lets
 * it), unless another thread's collection ran while this one waited
 * for the collector (a retry may then succeed without one). */
enum for_space collect_for_space(struct mutator *m);
/* The collector thread (`m`): no grey object of cycle `cycle`
 * (mark_old_cycle) is left, so the remark ends it. True if that cycle is
 * over (this call or another collection ended it), false if the remark
 * was called off: automatic collection is disabled. */
bool collect_remark(struct mutator *m, uint64_t cycle);
/* A thread whose log hand-off found the collector thread far behind
 * (satb_backlogged): drains the logs and marks in a bounded pause
 * (R_PACE, an increment, which ends the cycle if nothing is left), if
 * automatic collection is enabled. Moves no object. */
void collect_end_cycle_early(struct mutator *m);
/* The collector thread (`m`), once the lazy sweep has nothing left to
 * claim: if it has ended, its figures go to the statistics and set the
 * next trigger (else the first pause after its end does that). */
void collect_sweep_end(struct mutator *m);
/* Starts a concurrent cycle now, as the growth trigger would (unless one
 * is running, automatic collection is disabled or stw_mark is set: then
 * nothing happens); true if it started one. For tests. */
bool collect_start_cycle(struct mutator *m);
/* The growth of generation 2 that ends the next collection of it (the
 * pacer's allowance, set_trigger in collect.c). For tests. */
size_t collect_allowance(void);
/* gyre_collect(gen): always collects; returns the objects freed. */
uint64_t collect_explicit(struct mutator *m, unsigned gen);
/* gyre_freeze / gyre_unfreeze: a full collection that ends by freezing
 * every survivor, or that first hands the frozen objects back to
 * generation 2 (gc/heap/freeze.h); runs even while automatic collection
 * is disabled, as gyre_collect does. Returns the objects freed. */
uint64_t collect_freeze(struct mutator *m, bool unfreeze);

/* Automatic collection on/off (gyre_disable/gyre_enable nest per thread;
 * this counts the depth summed over threads). */
void collect_disable(void);
void collect_enable(void);
bool collect_enabled(void);
/* The gyre_disable calls not yet matched, summed over threads. */
long collect_disabled_depth(void);

/* gyre_set_threshold / get_threshold / get_count; values validated. */
void collect_set_thresholds(const size_t t[3]);
void collect_get_thresholds(size_t t[3]);
void collect_get_counts(size_t c[3]);

/* fork (runtime/fork.c). Takes the collector lock, so that no collection
 * runs: a RUNNING caller (`m`) waits in a blocking region, so that the
 * collection it waits behind, if one is under way, finishes without it;
 * a caller that is BLOCKING or not attached (NULL) simply waits. */
void collect_fork_lock(struct mutator *m);
void collect_fork_unlock(void);
/* In the child, the only thread: the gyre_disable calls still open are
 * the forking thread's (`depth`); the other threads' are gone with them. */
void collect_after_fork_child(int depth);

#endif
