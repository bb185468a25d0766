/*
 * safepoint.c: parking at a safepoint and entering/leaving blocking regions
 * (see safepoint.h and [INV-STW-DEKKER] in stw.h).
 */
#include <time.h>

#include "threads/safepoint.h"

/* Shows `m` as `stopped_state` until no stop is requested, then RUNNING,
 * all under stw.lock. The initiator raises `requested` and reads states
 * under the same lock, so it either sees us still stopped or sees RUNNING
 * (and then waits for our next poll). Were RUNNING stored after the
 * unlock, a new stop could count us as parked while we run on. */
static void wait_for_restart(struct mutator *m, int stopped_state)
{
	pthread_mutex_lock(&stw.lock);
	atomic_store_relaxed(&m->stopped_ns, gyre_now_ns());
	atomic_store_seq_cst(&m->state, stopped_state);
	pthread_cond_broadcast(&stw.parked);
	/* Relaxed: the counts change only under `lock`; the initiator's
	 * unlocked spin reads `waiting` as a hint. gyre's own threads are
	 * counted apart [INV-STW-FAIR]. */
	_Atomic unsigned *waiting = m->internal ? &stw.waiting_internal : &stw.waiting;
	atomic_add_relaxed(waiting, 1);
	while (atomic_load_relaxed(&stw.requested))
		pthread_cond_wait(&stw.resume, &stw.lock);
	/* The last waiter to go lets the next stop begin [INV-STW-FAIR]. */
	if (atomic_sub_relaxed(waiting, 1) == 1)
		pthread_cond_broadcast(&stw.parked);
	atomic_store_seq_cst(&m->state, MUTATOR_RUNNING);
	pthread_mutex_unlock(&stw.lock);
}

void safepoint_park(struct mutator *m)
{
	GYRE_ASSERT(atomic_load_relaxed(&m->state) == MUTATOR_RUNNING);
	context_save(&m->ctx);
	/* The mutex orders the collector's heap writes before ours. */
	wait_for_restart(m, MUTATOR_PARKED);
}

void safepoint_enter_blocking_ctx(struct mutator *m, const struct context *ctx)
{
	GYRE_ASSERT(atomic_load_relaxed(&m->state) == MUTATOR_RUNNING);
	m->ctx = *ctx;
	/* Read by a stop that this entry lets go ahead (threads/ttsp.c). */
	atomic_store_relaxed(&m->stopped_ns, gyre_now_ns());
	/* seq_cst: publishes ctx, stopped_ns and our heap writes, and pairs with the
	 * initiator's store of `requested` [INV-STW-DEKKER]. */
	atomic_store_seq_cst(&m->state, MUTATOR_BLOCKING);
	if (atomic_load_seq_cst(&stw.requested)) {
		/* The initiator may be waiting for us: wake it. */
		pthread_mutex_lock(&stw.lock);
		pthread_cond_broadcast(&stw.parked);
		pthread_mutex_unlock(&stw.lock);
	}
}

void safepoint_leave_blocking(struct mutator *m)
{
	GYRE_ASSERT(atomic_load_relaxed(&m->state) == MUTATOR_BLOCKING);
	atomic_store_seq_cst(&m->state, MUTATOR_RUNNING);
	if (!atomic_load_seq_cst(&stw.requested))
		return;
	/* A stop is in progress: we have touched nothing, so stay out of
	 * its way with the context saved at entry. */
	wait_for_restart(m, MUTATOR_BLOCKING);
}

void safepoint_nap(struct mutator *m, long ns)
{
	safepoint_enter_blocking(m);
	nanosleep(&(struct timespec){.tv_nsec = ns}, NULL);
	safepoint_leave_blocking(m);
}
