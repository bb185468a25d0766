/*
 * run.h: allocation runs in size-class blocks (generations 1 and 2). An
 * owned block is allocated through runs of consecutive free slots, found
 * from its start bits: no lock and no atomic per object. A finished run
 * records its slots in the block's mark bits, not its start bits: runs
 * serve the minor collection, whose card scanners read start bits
 * meanwhile; it turns the marks into start bits at its end.
 */
#ifndef GYRE_RUN_H
#define GYRE_RUN_H

#include "gc/heap/heap.h"

struct run {
	char *start;         /* [start, cursor) is allocated, not yet recorded */
	char *cursor;        /* next free slot of the run */
	char *limit;         /* end of the run */
	uint32_t scan;       /* first slot of the block not yet looked at */
	struct block *block; /* owned block, or NULL */
};

/* Makes room in r for a slot of class c (the caller then takes it from
 * the cursor), taking blocks of generation gen as needed; false when the
 * heap is at its maximum. A block whose free slots are used up is dropped
 * from the run and is on no list (its user lists it again if slots are
 * freed). */
bool run_refill(struct run *r, unsigned gen, unsigned c);

/* Takes back the slot just taken from the cursor. */
static inline void run_unalloc(struct run *r, char *slot)
{
	GYRE_ASSERT(slot + r->block->obj_size == r->cursor);
	r->cursor = slot;
}

/* Sets the mark bits of the slots allocated since the last record. */
void run_record(struct run *r);

/* Records the run's slots, returns its block to its class list and
 * empties the run. */
void run_release(struct run *r);

#endif
