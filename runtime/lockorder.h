/*
 * lockorder.h: gyre's lock order, and its check in checked builds
 * (STYLE.md, "liburcu, jemalloc": lock ranks checked in debug builds).
 *
 * [INV-LOCK-ORDER] A thread that holds a gyre lock takes only locks of a
 * higher rank (enum lock_rank, outermost first), and never two of one
 * rank. fork() depends on it: its prepare handler (runtime/fork.c) takes
 * every lock in this order, so it cannot wait for a thread that waits for
 * it; a collection depends on it too (the collector lock, then the
 * registry, then what the pause needs).
 *
 * Each lock declares its rank beside its definition (LOCK_RANKED). With
 * checks on, every pthread_mutex_lock in gyre goes through
 * gyre_mutex_lock (the macros at the end of this file, which internal.h
 * brings into every gyre source file), which aborts, naming both locks,
 * when a thread takes a lock out of order; a per-thread mask records the
 * ranks held. pthread_cond_wait releases and retakes its lock inside
 * libc: the mask still counts it as held, which is what the order means
 * for a thread asleep there (it takes nothing else meanwhile). A lock
 * gyre did not rank (a test's own) is not checked.
 */
#ifndef GYRE_LOCKORDER_H
#define GYRE_LOCKORDER_H

#include <pthread.h>
#include <stddef.h>

/* Outermost first; the comment says where each is defined and why it
 * sits there. */
enum lock_rank {
	/* gc/driver/collect.c: held for a whole collection; taken in a blocking
	 * region by RUNNING threads (lock_collector). */
	LOCK_COLLECTOR,
	/* threads/mutator.c: held by the collection's initiator from the
	 * stop to the restart (stw.h). */
	LOCK_REGISTRY,
	/* gc/final/final.c: the finalizer registry (running threads only). */
	LOCK_FINAL_REGISTRY,
	/* gc/final/final.c: the queue of finalizers and callbacks due; a pause
	 * visits its roots under it, copying or marking what they name. */
	LOCK_FINAL_QUEUE,
	/* gc/heap/roots.c: registered root areas, then handles. */
	LOCK_ROOT_AREAS,
	LOCK_HANDLES,
	/* gc/heap/type.c: the type table. */
	LOCK_TYPES,
	/* gc/heap/large.c: the list of large objects. */
	LOCK_LARGE,
	/* gc/heap/heap.c: one per size-class list (heap.classes); a block taken
	 * off a list may need heap.lock. */
	LOCK_CLASS,
	/* gc/heap/heap.c: the free blocks and the heap's top. */
	LOCK_HEAP,
	/* gc/young/nursery.c: the list of nursery blocks. */
	LOCK_NURSERY,
	/* gc/heap/prefault.c: the memory thread's orders (prefault_note runs
	 * under heap.lock). */
	LOCK_PREFAULT,
	/* gc/old/satb.c: the log's shared lists. */
	LOCK_SATB,
	/* gc/old/mark.c and gc/young/minor.c: taken by workers inside a pause only. */
	LOCK_MARK_PARTIAL,
	LOCK_PIN,
	/* gc/heap/packed.c: the lists of packed blocks' holes (sweepers and
	 * copiers, which hold no other lock then). */
	LOCK_HOLES,
	/* gc/old/marker.c: the collector thread's orders. */
	LOCK_MARKER,
	/* threads/workers.c: the worker pool. */
	LOCK_WORKERS,
	/* runtime/events.c: the registered callbacks (never held while one
	 * runs, nor in a pause). */
	LOCK_EVENTS,
	/* runtime/critical.c: the no-GC regions' window (running threads, in
	 * gyre_critical_begin/end and the allocation slow path). */
	LOCK_CRITICAL,
	/* runtime/stats.c: the statistics (pauses record into them). */
	LOCK_STATS,
	/* threads/stw.c: the stop's handshake; a leaf, taken by threads that
	 * park or leave a blocking region while they hold the collector
	 * lock (lock_collector). */
	LOCK_STW,
	LOCK_RANKS
};

/* Gives `n` locks, `stride` bytes apart from `first`, the rank `r`. One
 * call per rank (a later call replaces it). */
void lockorder_add(enum lock_rank r, pthread_mutex_t *first, size_t n, size_t stride);

/* Declares the rank of the lock(s) defined above it, at load time. */
#define LOCK_RANKED(r, first, n, stride)                                       \
	__attribute__((constructor)) static void lock_ranked_##r(void)          \
	{                                                                       \
		lockorder_add(r, first, n, stride);                              \
	}

/* fork (runtime/fork.c), with the collector lock held and the world
 * stopped: takes every ranked lock of rank `from` and above, in order
 * (but the size-class lists', which nobody can hold then: see
 * lockorder.c); drops them in reverse. */
void lockorder_lock_from(enum lock_rank from);
void lockorder_unlock_from(enum lock_rank from);

/* Checked builds: the rank checks around a lock, an unlock, a successful
 * trylock (which cannot deadlock, so it is not checked, only recorded). */
void lockorder_taking(pthread_mutex_t *m);
void lockorder_took(pthread_mutex_t *m);
void lockorder_dropped(pthread_mutex_t *m);

/* The parenthesised names call libc's functions, not the macros below. */
static inline int gyre_mutex_lock(pthread_mutex_t *m)
{
	if (GYRE_DEBUG)
		lockorder_taking(m);
	int rc = (pthread_mutex_lock)(m);
	if (GYRE_DEBUG)
		lockorder_took(m);
	return rc;
}

static inline int gyre_mutex_trylock(pthread_mutex_t *m)
{
	int rc = (pthread_mutex_trylock)(m);
	if (GYRE_DEBUG && rc == 0)
		lockorder_took(m);
	return rc;
}

static inline int gyre_mutex_unlock(pthread_mutex_t *m)
{
	if (GYRE_DEBUG)
		lockorder_dropped(m);
	return (pthread_mutex_unlock)(m);
}

#define pthread_mutex_lock(m) gyre_mutex_lock(m)
#define pthread_mutex_trylock(m) gyre_mutex_trylock(m)
#define pthread_mutex_unlock(m) gyre_mutex_unlock(m)

#endif
