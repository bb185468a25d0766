/*
 * sweep.h: the sweep phase (DESIGN.md, "The old generation": parallel,
 * lazy sweep). It reads only the mark bitmaps: a block's start bits become
 * its mark bits, and the block goes to its class list, to the free list,
 * or (full) to neither. A full collection sweeps in its pause, in
 * parallel; a concurrent cycle's remark leaves generation 2's blocks to
 * the lazy sweep, which runs while the program does.
 */
#ifndef GYRE_SWEEP_H
#define GYRE_SWEEP_H

#include <stdbool.h>
#include <stddef.h>

struct block;

struct sweep_result {
	size_t freed_bytes;
	size_t freed_objects;
	size_t live_bytes;
	size_t live_objects;
	/* Generation 2's size-class blocks that hold objects, and the free
	 * slots' bytes in the partly used ones (gyre_stats.old_*). */
	size_t old_blocks;
	size_t old_free_bytes;
};

int sweep_init(unsigned workers);
void sweep_shutdown(void);

/* With the world stopped, after mark_heap, no lazy sweep pending: frees
 * every unmarked object and clears every mark [INV-MARKS-CLEAR]. */
struct sweep_result sweep_heap(void);

/* The remark's sweep, world stopped, after mark_old_finish: large objects
 * are swept now (their result is returned); generation 2's blocks become
 * unswept [INV-UNSWEPT] and leave their class lists, for the lazy sweep.
 * Young blocks carry no marks: their objects are the minor collections'
 * to free. */
struct sweep_result sweep_old_begin(void);
/* World stopped, after sweep_old_begin: the lazy sweep will count
 * `objects` (`bytes`) as freed that a compaction moved (less the dead
 * ones its copies overwrote): they are taken off its totals. */
void sweep_old_uncount(size_t objects, size_t bytes);
/* True until every block the last remark left unswept has been swept.
 * Any thread. */
bool sweep_old_pending(void);
/* Sweeps the next chunk of unswept blocks, relisting or freeing them;
 * false once none is left to claim (other threads may still be sweeping
 * theirs). Any thread but a pause's worker, or all of a pause's workers
 * at once (sweep_old_finish): a running thread must not poll a safepoint
 * inside, so a pause never finds a chunk half swept. */
bool sweep_old_step(void);
/* Test hook, with the collector thread held (marker_hold): sweeps b now
 * if it is unswept, out of the claims' order. */
void sweep_old_block(struct block *b);
/* World stopped: sweeps what is left, in parallel. */
void sweep_old_finish(void);
/* Once, after the lazy sweep has ended: its totals, large objects
 * included, in *out, and true. The caller holds collector.lock. */
bool sweep_old_result(struct sweep_result *out);

#endif
