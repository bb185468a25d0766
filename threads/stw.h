/*
 * stw.h: stopping and restarting the world (DESIGN.md, "Threads,
 * safepoints, handshakes"). The initiator raises stw_requested and waits
 * until every other attached thread is PARKED at a safepoint or BLOCKING;
 * the heap is then the collector's alone until stw_start_world.
 *
 * [INV-STW-DEKKER] A thread leaving BLOCKING stores RUNNING and then loads
 * stw_requested; the initiator stores stw_requested and then loads each
 * state. Both sides use seq_cst, so at least one sees the other: either the
 * initiator waits for the thread, or the thread parks before touching the
 * heap.
 */
#ifndef GYRE_STW_H
#define GYRE_STW_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "threads/mutator.h"

struct stw {
	/* Guards the waits below; never held while running collector work. */
	pthread_mutex_t lock;
	/* Broadcast when a thread parks or enters a blocking region while a
	 * stop is requested, and when the last waiter for a restart leaves
	 * (`waiting` drops to 0): the initiator waits on it for both. */
	pthread_cond_t parked;
	/* Broadcast by stw_start_world: parked threads wait on it. */
	pthread_cond_t resume;
	/* Sync: written by the initiator, seq_cst [INV-STW-DEKKER]; polled
	 * relaxed by safepoint_poll, whose slow path re-reads it under
	 * `lock`. */
	_Atomic bool requested;
	/* Threads waiting for a restart (parked, or leaving a blocking
	 * region). [INV-STW-FAIR] A stop is not requested while any is left
	 * from the last one: for up to 200 us, or, when the last 8 stops went
	 * ahead without one (`skipped`), until all have gone. So a thread
	 * that collects back to back cannot starve the others (a woken
	 * waiter needs tens of microseconds to take `lock`, and a tiny
	 * collection used to come round again first), and no waiter misses
	 * more than 8 restarts in a row. One left behind is still PARKED or
	 * BLOCKING and has not run since it was counted stopped, so the next
	 * stop counts it as stopped too. The embedder's threads only:
	 * gyre's own are counted in `waiting_internal`. Sync: changed under
	 * `lock`; also read relaxed by the initiator's spin, as a hint. */
	_Atomic unsigned waiting;
	/* Stops in a row requested while `waiting` was not 0. Sync:
	 * `lock`. */
	unsigned skipped;
	/* gyre's own threads (the collector thread) waiting for a restart.
	 * [INV-STW-FAIR] for them: no stop waits for them at all until they
	 * have been left behind FAIR_SKIPS_INTERNAL times in a row; then one
	 * waits, asleep, until they have gone. Waiting for the collector
	 * thread to get a core after every restart, as for the embedder's,
	 * held a program that collects every half millisecond for 200 us one
	 * collection in five (bench/mutator: 12-23% of its wall time); never
	 * waiting starved it, and its marking slid into paced pauses (a
	 * reviewer's test: every restart missed in 3,000). Sync: as
	 * `waiting`. */
	_Atomic unsigned waiting_internal;
	/* Stops in a row requested while `waiting_internal` was not 0.
	 * Sync: `lock`. */
	unsigned skipped_internal;
	/* When the last stop was requested: its pause begins here, not at
	 * the call of stw_stop_world, whose [INV-STW-FAIR] wait leaves the
	 * world running. Sync: written by the initiator under registry_lock,
	 * read by it. */
	uint64_t requested_ns;
	/* True from the end of stw_stop_world to stw_start_world. Sync:
	 * written by the initiator under registry_lock; read in assertions. */
	bool stopped;
};

extern struct stw stw;

/* Stops every attached thread but `self` (the caller's mutator, which must
 * be RUNNING, or NULL for a thread that is not attached). Takes
 * registry_lock, held until stw_start_world. The caller must first have
 * saved its context (context_save(&self->ctx)) in a frame that stays
 * alive until stw_start_world, so that its own stack is scanned like the
 * others. */
void stw_stop_world(struct mutator *self);
/* World stopped by `self` (as stw_stop_world's): when the program was
 * first paused by this stop. A program thread that asks (attached, not
 * one of gyre's own) is paused from the request; when gyre's collector
 * thread (or an unattached thread) asks, the program is paused from the
 * moment its first thread parked for the stop, no earlier (the request
 * plus that thread's time to safepoint), or from now if none did (every
 * one was in a blocking region). Pause figures count from here: a
 * remark that waited 41 ms for the one thread of binary-trees to finish
 * a walk without safepoints paused nobody during those 41 ms, and the
 * wait is in the time-to-safepoint figures. */
uint64_t stw_paused_since(const struct mutator *self);
void stw_start_world(void);
/* fork's child, world stopped by the forking thread: the condition
 * variables may hold waiters that exist only in the parent (glibc's can
 * then block a signal), and the counts of threads waiting for a restart
 * count them [INV-STW-FAIR]: both start afresh. */
void stw_after_fork_child(void);

static inline bool stw_world_stopped(void)
{
	return stw.stopped;
}

#endif
