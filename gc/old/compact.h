/*
 * compact.h: compaction of generation 2 (DESIGN.md, "The old
 * generation"), in a full collection (below, compact_full.c) and at the
 * end of a concurrent cycle within a pause budget (compact_cycle.c says
 * how); compact.c is the evacuation both use. Between marking and
 * sweeping, the sparsest
 * size-class blocks of generation 2 are evacuated: their marked objects
 * are copied into the free slots of the other blocks of their class, and
 * every reference to them is updated, so that the sweep frees them whole.
 *
 * How a full collection compacts (compact_full.c):
 *
 * 1. *census* (parallel): each generation-2 block's live slots are
 *    counted from its mark bits (exact: marking is complete, finalizers
 *    and ephemerons included), and binned by occupancy per size class.
 *    Blocks that a conservative root points into are left alone
 *    (`compact_note_held`, from marking): their objects cannot move.
 * 2. *choice* (serial, per class): the sparsest blocks are chosen while
 *    their live slots fit in the free slots of the class's other blocks,
 *    and only blocks under 7/8 full: copying more than 7 bytes to free 1
 *    is not worth it. So compaction never needs a free block, and never
 *    fails for want of memory: at its maximum the heap compacts too.
 * 3. *evacuate* (parallel, a candidate block per claim): each marked
 *    object is copied into a free slot of a destination block of its
 *    class (one worker fills a destination at a time), its old header
 *    becomes the copy's address | HDR_FORWARDED and its old mark bit is
 *    cleared. Objects that found no room while another worker still held
 *    a destination with some move there afterwards, on one thread (the
 *    mop-up). One that finds none at all (never expected) stays, marked,
 *    and its block with it.
 * 4. *update* (parallel, by block and large-object chunks): every marked
 *    object's pointer fields (gyre's own words of weak references and
 *    ephemerons, and what tracers visit, included) that point into an
 *    evacuated block are redirected to the copies; then handles, the
 *    finalizer queue and the finalizer registry (rehashed). A copy that
 *    points at a young (pinned) object gets its card dirtied
 *    [INV-CARDS]. With GYRE_VERIFY=1, nothing may then point at an
 *    evacuated object (verify_compaction).
 *
 * At the end of a concurrent cycle (compact_cycle.c, with
 * compact_budget_us set) candidates are chosen when the cycle starts,
 * within the budget; the slots pointing into them are recorded while it
 * marks (compact_record: marking, the write barrier, the copier); the
 * pause that ends it evacuates them and updates the records, the young
 * objects and the roots, not the whole heap.
 *
 * The sweep that follows frees the evacuated blocks (their old objects
 * are unmarked). Its object counts see evacuated objects as freed and
 * dead objects overwritten by copies as live: compact_result says by how
 * much.
 */
#ifndef GYRE_COMPACT_H
#define GYRE_COMPACT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gc/heap/heap.h"
#include "gc/old/sweep.h"
#include "runtime/atomics.h"

struct compact_result {
	size_t blocks;            /* blocks chosen for evacuation */
	size_t objects;           /* objects evacuated */
	size_t bytes;             /* their slots' bytes */
	size_t stayed;            /* objects that found no room */
	/* Dead objects whose slots the copies took: the sweep counts them
	 * as live (and the evacuated ones as freed). */
	size_t overwritten_objects, overwritten_bytes;
	/* The phases' times (the choice's is in the census's; the mop-up's
	 * in the evacuation's). */
	uint64_t census_ns, evacuate_ns, update_ns;
};

int compact_init(void);
void compact_shutdown(void);

/* Per block: a conservative root points into it (set by marking in a
 * full collection, cleared by compact_heap). Relaxed: the workers that
 * set it join before the census reads it. */
extern _Atomic uint8_t *compact_held;

/* A full collection's marking found a conservative root pointing at an
 * object of block b: its objects stay where they are. */
static inline void compact_note_held(const struct block *b)
{
	atomic_store_relaxed(&compact_held[block_index(b)], 1);
}

/* World stopped, after mark_heap and mark_final of a full collection,
 * before sweep_heap: compacts generation 2 as above (if
 * gyre_config.compact allows) and clears the blocks' held notes.
 * Without memory for its tables, it moves nothing. */
void compact_heap(struct compact_result *r);
/* Test hooks: from now on, every n-th slot the parallel evacuation asks
 * for is refused (0: none), so that the mop-up has work; what the last
 * mop-up moved. */
void compact_refuse_every(unsigned n);
size_t compact_mopped(void);

/* ------------------------------------------- in a concurrent cycle */

int compact_cycle_init(void);
void compact_cycle_shutdown(void);

/* Sweeps (compact_cycle.c, step 1): a sweep of generation 2 begins (world
 * stopped); a sweeper found `live` objects in generation-2 block b. */
void compact_sweep_begin(void);
void compact_note_swept(const struct block *b, uint32_t live);

/* World stopped, in the pause that starts a cycle, after its young
 * collection and the last sweep: chooses the cycle's candidates. */
void compact_cycle_choose(void);
/* The cycle in progress has candidates: the pause that ends it must
 * retire the threads' nursery buffers first, then call
 * compact_cycle_remark; meanwhile marking records the slots that point
 * into them (compact_note). Relaxed: written with the world stopped (by
 * compact_cycle_choose, compact_cycle_remark and _abandon), read by
 * marking threads, which the pause's stop and restart order after the
 * write. */
extern _Atomic bool compact_recording;

static inline bool compact_cycle_planned(void)
{
	return atomic_load_relaxed(&compact_recording);
}

/* Records that `slot`, a field of `holder`, may hold a pointer into a
 * candidate (young holders and roots are ignored). Any thread; without
 * memory, the cycle moves nothing. */
void compact_record(const void *holder, void **slot);

/* A field `slot` of `holder` holds v: recorded if v lies in a candidate
 * of the cycle in progress. Marking calls it for every field: one flag
 * test when no cycle compacts (the default). */
static inline void compact_note(const void *holder, void **slot, const void *v)
{
	uintptr_t p = (uintptr_t)v;
	if (compact_cycle_planned() && heap_contains(p) && (space_of(p) & SPACE_EVAC))
		compact_record(holder, slot);
}

/* Test hook, world stopped or the threads that record quiet: the
 * records so far. */
size_t compact_records(void);

/* World stopped, in the pause that ends the cycle, after marking, the
 * nursery buffers retired: evacuates the candidates no root
 * pins and updates what the records, pinned young objects and roots hold.
 * r says what moved (nothing if nothing was planned). */
void compact_cycle_remark(struct compact_result *r);
/* World stopped: the cycle ends without moving anything. */
void compact_cycle_abandon(void);

/* The sweep after compact_heap counted r's evacuated objects as freed and
 * the dead objects its copies overwrote as alive: sets s right. */
void compact_fix_counts(const struct compact_result *r, struct sweep_result *s);

#endif
