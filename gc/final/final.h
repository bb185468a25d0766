/*
 * final.h: finalizers, and the queue of what is due to run (DESIGN.md,
 * "Finalizers and weak references").
 *
 * The registry maps each object with a finalizer to its entry, by
 * address; entries of young objects are also on a list that every minor
 * collection walks (they move), those of old objects on a list that
 * marking walks. A collection that finds registered objects unreachable
 * (its set U) orders them (final_order.c), keeps every one of them and
 * everything they reach alive, and moves those that are *ready* to the
 * queue, in the registry's place: an object is ready unless another
 * object of U reaches it without being reached by it (so in a chain A ->
 * B, A is finalized first and B stays intact for it; a cycle is finalized
 * at once, in no particular order). The rest stay registered and are
 * found again by a later collection, once what reached them has gone.
 *
 * The queue also holds weak references whose targets died and whose
 * callbacks are due (linked through their `next` field). Both are roots
 * until their code has run. Collections add to it with the world
 * stopped; a finalizer thread (gyre_config.finalizer_thread) or
 * gyre_run_finalizers takes from it with the world running, so no user
 * code ever runs in a pause.
 *
 * Sync: the registry's lock is taken by running threads only (never
 * across a safepoint), so a pause reads and changes the registry without
 * it; the queue's lock is taken by pauses too (a thread waiting for work
 * holds it only inside a blocking region, and never waits for a pause
 * while holding it).
 */
#ifndef GYRE_FINAL_H
#define GYRE_FINAL_H

#include <stdbool.h>
#include <stddef.h>

#include "gc/final/weak.h"
#include "runtime/internal.h"

struct fin {
	void *obj;
	gyre_finalize_fn fn;
	void *ctx;
	struct fin *prev, *next; /* its registry list, or the queue */
	struct fin *hnext;       /* its hash chain */
	/* In a collection: the next entry found unreached, and whether it
	 * is ready (see above). */
	struct fin *unext;
	bool ready;
	bool young;              /* on the young list */
};

int final_init(void);
/* Stops the finalizer thread (first at shutdown: it is a mutator). */
void final_stop_thread(void);
/* Frees the registry and drops what is still queued (last at shutdown,
 * once no collection can run: the collector thread reads them). */
void final_shutdown(void);
/* Starts the finalizer thread (after everything else is up). */
int final_start_thread(void);

/* fork's child, once the world runs again: the finalizer thread exists
 * only in the parent; a new one starts (if there was one), unless the
 * forking thread is it (`forker_is_it`: a finalizer forked), and runs
 * what the queue holds (finalizers queued before the fork run in both
 * processes). Aborts if the thread cannot be started. */
void final_after_fork_child(bool forker_is_it);

/* The API (runtime/api_final.c checks the arguments first). */
int final_register(void *obj, gyre_finalize_fn fn, void *ctx); /* EINVAL: twice */
int final_cancel(void *obj);                                  /* ENOTFOUND */
size_t final_run(size_t max);
size_t final_pending(void);
uint64_t final_ran(void);

/* World stopped: calls fn on every root the queue holds. */
void final_for_each_root(void (*fn)(void **slot, void *ctx), void *ctx);
/* World stopped: calls fn on the `next` link of every queued weak
 * reference (heap fields the collector writes, so no barrier records
 * them). */
void final_for_each_weak_link(void (*fn)(void **slot, void *ctx), void *ctx);
/* World stopped, for the verifier: calls fn on every registered object
 * (the registry's weak keys; not roots). */
void final_for_each_registered(void (*fn)(void **slot, void *ctx), void *ctx);
/* World stopped: queues w's callback (its target was just cleared). */
void final_queue_weak(struct weak_obj *w);
/* After a pause that queued something, world running: wakes the thread. */
void final_wake(void);

/* World stopped, before a minor collection copies anything: the young
 * entries whose objects are in the nursery (whose blocks have no start
 * bits while threads fill them, so registration could not check them)
 * are checked now; one that names no object start is a misuse, reported
 * and dropped. */
void final_check_young(void);

/* A collection's view of one object: its address after the collection,
 * or NULL if nothing reached it (yet). */
typedef void *(*final_survivor_fn)(void *obj);

/* World stopped. Walks the registry's young list (and old list, if
 * asked): entries whose objects `survivor` finds moved are moved; those
 * it finds unreached are returned, linked by `unext` (U). The entries
 * stay registered: the caller keeps every object of U alive, then calls
 * final_order and final_settle. */
struct fin *final_unreached(bool young, bool old, final_survivor_fn survivor);
/* final_order.c. Sets `ready` on the entries of U (see above): the
 * objects `survivor` finds unreached are the graph to order; an object's
 * strong fields (and an ephemeron's value) are its edges. Without memory
 * for its tables, every entry is ready (the order is then not kept). */
void final_order(struct fin *u, final_survivor_fn survivor);
/* World stopped, after a compaction: every entry whose object `moved`
 * finds forwarded follows it (rehashed under its new address). */
void final_follow(final_survivor_fn moved);
/* World stopped, after the collection kept U's objects alive: their
 * entries follow them, and the ready ones leave the registry for the
 * queue. */
void final_settle(struct fin *u, final_survivor_fn survivor);

#endif
