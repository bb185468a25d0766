/*
 * mutator.h: an attached thread, as threads/ knows it, and the registry of
 * all of them (DESIGN.md, "Threads, safepoints, handshakes"). threads/ knows
 * nothing of the heap: gc/ keeps its per-thread allocator state behind
 * `heap_local`.
 */
#ifndef GYRE_MUTATOR_H
#define GYRE_MUTATOR_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <urcu/list.h>

#include "runtime/atomics.h"
#include "runtime/internal.h"
#include "threads/context.h"

enum mutator_state {
	MUTATOR_RUNNING,  /* may touch the heap; must reach a safepoint */
	MUTATOR_PARKED,   /* stopped at a safepoint for a collection */
	MUTATOR_BLOCKING, /* in a blocking region: does not touch the heap */
};

struct mutator {
	/* One of mutator_state. Sync: written only by the owner; the writes
	 * that leave RUNNING are seq_cst and pair with the seq_cst store of
	 * stw_requested in stw_stop_world [INV-STW-DEKKER]. */
	_Atomic int state;
	/* Registers and stack pointer at the last park or blocking_begin.
	 * Sync: written by the owner before it leaves RUNNING; read by the
	 * collector only while the owner is not RUNNING. */
	struct context ctx;
	/* When the thread last left RUNNING (parked, or entered a blocking
	 * region), for the time-to-safepoint of a stop (threads/ttsp.c).
	 * Sync: stored relaxed by the owner before its seq_cst store of
	 * `state`, which publishes it to the initiator's seq_cst load. */
	_Atomic uint64_t stopped_ns;
	/* The thread's kernel id, for naming the one that held up a stop
	 * (threads/ttsp.c). Immutable after attach. */
	int tid;
	/* Highest address of the thread's stack. Immutable after attach. */
	void *stack_hi;
	/* One of gyre's own threads (the collector thread): it stops for
	 * collections like any other, but holds no roots, so its stack is not
	 * scanned, and it does not count as the embedder's. Immutable after
	 * attach. */
	bool internal;
	/* One of gyre's own threads that runs the embedder's code (the
	 * finalizer thread): its stack is scanned like any other, but it
	 * does not count as the embedder's. Immutable after attach. */
	bool service;
	/* gyre_disable calls not yet matched on this thread. Owner only. */
	int disable_depth;
	/* gc/'s allocator state for this thread. Sync: owner, or the
	 * collector with the world stopped. */
	void *heap_local;
	/* In the registry. Sync: registry lock. */
	struct cds_list_head link;
};

/* The calling thread's mutator, or NULL if it is not attached. Sync:
 * thread-local. */
extern __thread struct mutator *mutator_self
	__attribute__((tls_model("initial-exec")));

static inline struct mutator *mutator_current(void)
{
	return mutator_self;
}

/* Adds the calling thread to the registry; on return it is RUNNING (having
 * waited out a collection in progress). Returns GYRE_OK or GYRE_ENOMEM
 * (stack bounds unavailable). */
int mutator_register(struct mutator *m);
/* Removes the calling thread; its stack is no longer scanned. */
void mutator_unregister(struct mutator *m);

/* fork's child, world stopped by the forking thread (`self`, or NULL if
 * it is not attached): every other mutator leaves the registry, handed to
 * `drop` (their threads do not exist here). */
void mutator_after_fork_child(struct mutator *self, void (*drop)(struct mutator *m));

/* True if a thread of the embedder's is attached. Takes registry_lock. */
bool mutator_any_external(void);

/* The registry. Sync: registry_lock; held by the collection initiator for
 * the whole stop-the-world pause, so no thread attaches or detaches then. */
extern pthread_mutex_t registry_lock;
extern struct cds_list_head registry;

#define mutator_for_each(m) cds_list_for_each_entry(m, &registry, link)

#endif
