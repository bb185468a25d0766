/*
 * alloc.h: thread-local allocation (DESIGN.md, "Heap layout"; the nursery
 * of generation 0 arrives with the generational issue). Each thread owns
 * one block per size class and bump-allocates through a run of free slots
 * in it: no lock and no atomic on the fast path.
 */
#ifndef GYRE_ALLOC_H
#define GYRE_ALLOC_H

#include "gc/heap.h"
#include "threads/mutator.h"

struct tlab {
	char *run_start;     /* [run_start, cursor) is allocated */
	char *cursor;        /* next free slot of the run */
	char *limit;         /* end of the run */
	uint32_t scan;       /* first slot of the block not yet looked at */
	struct block *block; /* owned block, or NULL */
};

/* gc/'s per-thread state, behind mutator.heap_local. Sync: the owner, or
 * the collector with the world stopped. */
struct alloc_local {
	struct tlab tlabs[SIZECLASS_COUNT];
};

int alloc_attach(struct mutator *m);
/* Gives back the thread's blocks; the caller is RUNNING. */
void alloc_detach(struct mutator *m);
/* With the world stopped: retires every thread's runs and blocks, so that
 * start bits are exact [INV-STARTS]. */
void alloc_retire_all(void);

/* Allocates `bytes` (header included) with the given header; the caller is
 * an attached, RUNNING thread and has validated the request. NULL means
 * GYRE_ENOMEM, already recorded, with on_oom called. */
void *alloc_object(struct mutator *m, size_t bytes, uint64_t header);

#endif
