/*
 * alloc.h: allocation by mutator threads. Small objects are bump-allocated
 * in the thread's nursery buffer (gc/young/nursery.h), inline in gyre.h and here
 * on the slow path; large objects go to the large-object space. The slow
 * path is the allocation safepoint: it polls, starts a collection when a
 * trigger says so, and on exhaustion collects once more before it reports
 * GYRE_ENOMEM.
 */
#ifndef GYRE_ALLOC_H
#define GYRE_ALLOC_H

#include "gc/heap/heap.h"
#include "gc/old/satb.h"
#include "threads/mutator.h"

/* gc/'s per-thread state, behind mutator.heap_local. Sync: the owner, or
 * the collector with the world stopped. */
struct alloc_local {
	struct gyre__tlab *tlab; /* the thread's gyre__tlab (thread-local) */
	struct block *block;     /* the nursery block behind it, or NULL */
	char *start;             /* where the buffer began in the block */
	/* The buffer's limit while the thread is in a blocking region (the
	 * inline path sees a full buffer then); NULL outside one. */
	char *saved_limit;
	struct satb_local satb;  /* the barrier's log (satb.h) */
};

int alloc_attach(struct mutator *m);
/* Gives back the thread's buffer; the caller is RUNNING. */
void alloc_detach(struct mutator *m);
/* Around a gyre_blocking_begin/end region. */
void alloc_blocking_begin(struct mutator *m);
void alloc_blocking_end(struct mutator *m);
/* With the world stopped: retires every thread's buffer, so that every
 * nursery block's `top` is exact. Returns how many threads had one (have
 * allocated since the last collection). */
unsigned alloc_retire_all(void);

/* Allocates `bytes` (header included) with the given header; the caller is
 * an attached, RUNNING thread and has validated the request. NULL means
 * GYRE_ENOMEM, already recorded, with on_oom called. */
void *alloc_object(struct mutator *m, size_t bytes, uint64_t header,
		   bool has_pointers);

#endif
