/*
 * stw.c: the initiator's side of stop-the-world (see stw.h); the mutators'
 * side is in safepoint.c.
 */
#include <sched.h>

#include "threads/stw.h"
#include "threads/ttsp.h"

/* How long a stop waits for the threads the last restart woke to go
 * [INV-STW-FAIR]. */
#define FAIR_WAIT_NS 200000
/* Stops in a row that may go ahead with waiters left (see below), and
 * with gyre's own threads left (stw.h). */
#define FAIR_SKIPS 8
#define FAIR_SKIPS_INTERNAL 8
/* How long a stop spins for the threads to park before it sleeps. */
#define PARK_SPIN_NS 100000

struct stw stw = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.parked = PTHREAD_COND_INITIALIZER,
	.resume = PTHREAD_COND_INITIALIZER,
};
LOCK_RANKED(LOCK_STW, &stw.lock, 1, sizeof(pthread_mutex_t))

/* Whether the process may run on more than one CPU, read once (from its
 * affinity mask, which a container's cpuset narrows). On one CPU the
 * spins below only keep the threads they wait for off it. Sync: the
 * initiator's, under registry_lock. */
static bool can_spin(void)
{
	static unsigned cpus;
	if (!cpus) {
		cpu_set_t set;
		cpus = sched_getaffinity(0, sizeof(set), &set) == 0
			       ? (unsigned)CPU_COUNT(&set)
			       : 2;
	}
	return cpus > 1;
}

/* True once every attached thread but self is PARKED or BLOCKING. seq_cst
 * loads [INV-STW-DEKKER]; a load that reads a stopped state also acquires
 * what the thread wrote before it stored it (its context, its heap
 * writes). */
static bool all_stopped(const struct mutator *self)
{
	struct mutator *m;
	mutator_for_each(m) {
		if (m != self && atomic_load_seq_cst(&m->state) == MUTATOR_RUNNING)
			return false;
	}
	return true;
}

/* Spins, with `lock` free (a parking thread takes it), for up to
 * PARK_SPIN_NS until all_stopped. Why not sleep on `parked` at once: the
 * initiator's core went to whatever else was runnable there, and the
 * wake-up from the last thread to park queued it behind that thread
 * while the other core went idle, for a slice: on 2 cores, in
 * bench/churn's growing heap, the prefault thread's huge-page zeroing
 * held it 1-3.4 ms (perf sched: the initiator woken, runnable, a core
 * idle), the most common cause of stops over 1 ms. Threads on a core
 * park within tens of microseconds (median stop 40 us); one that is not
 * is waited for asleep, as before. */
static void spin_for_parking(const struct mutator *self)
{
	if (!can_spin())
		return;
	uint64_t deadline = gyre_now_ns() + PARK_SPIN_NS;
	for (unsigned i = 1; !all_stopped(self); i++) {
		if (i % 16 == 0 && gyre_now_ns() > deadline)
			return;
		cpu_relax();
	}
}

void stw_stop_world(struct mutator *self)
{
	GYRE_ASSERT(!self || atomic_load_relaxed(&self->state) == MUTATOR_RUNNING);
	pthread_mutex_lock(&registry_lock);
	pthread_mutex_lock(&stw.lock);
	/* [INV-STW-FAIR] First spinning, not asleep, with `lock` free for
	 * the waiters to take: one that is on a core goes within tens of
	 * microseconds. An initiator that slept on `parked` gave its own
	 * core away and waited for a scheduler tick to get one back, and a
	 * waiter it let go was often preempted before its next safepoint
	 * poll: on 2 cores, bench/churn had 330 stops over 0.5 ms in 10 s
	 * (most 2-4 ms), and 10-20 with this bounded spin. Only after
	 * FAIR_SKIPS stops in a row went ahead without a waiter does one
	 * wait for them asleep, however long: no waiter misses more than
	 * FAIR_SKIPS restarts in a row (waiting so after a single skip gave
	 * 50-80 slow stops again). Relaxed loads of `waiting` while
	 * spinning: only a hint; it is read again under `lock`. */
	if (atomic_load_relaxed(&stw.waiting) && stw.skipped < FAIR_SKIPS && can_spin()) {
		uint64_t deadline = gyre_now_ns() + FAIR_WAIT_NS;
		pthread_mutex_unlock(&stw.lock);
		while (atomic_load_relaxed(&stw.waiting) && gyre_now_ns() < deadline)
			cpu_relax();
		pthread_mutex_lock(&stw.lock);
	}
	while (atomic_load_relaxed(&stw.waiting) && stw.skipped >= FAIR_SKIPS)
		pthread_cond_wait(&stw.parked, &stw.lock);
	stw.skipped = atomic_load_relaxed(&stw.waiting) ? stw.skipped + 1 : 0;
	while (atomic_load_relaxed(&stw.waiting_internal) &&
	       stw.skipped_internal >= FAIR_SKIPS_INTERNAL)
		pthread_cond_wait(&stw.parked, &stw.lock);
	stw.skipped_internal = atomic_load_relaxed(&stw.waiting_internal)
				       ? stw.skipped_internal + 1 : 0;
	stw.requested_ns = gyre_now_ns();
	/* seq_cst: pairs with the seq_cst state stores of threads leaving
	 * BLOCKING [INV-STW-DEKKER]. */
	atomic_store_seq_cst(&stw.requested, true);
	pthread_mutex_unlock(&stw.lock);
	spin_for_parking(self);
	pthread_mutex_lock(&stw.lock);
	struct mutator *m;
	mutator_for_each(m) {
		if (m == self)
			continue;
		/* seq_cst load [INV-STW-DEKKER]; the mutex then orders
		 * everything the thread wrote before it parked. */
		while (atomic_load_seq_cst(&m->state) == MUTATOR_RUNNING)
			pthread_cond_wait(&stw.parked, &stw.lock);
	}
	pthread_mutex_unlock(&stw.lock);
	stw.stopped = true;
	ttsp_measure(self, stw.requested_ns);
}

uint64_t stw_paused_since(const struct mutator *self)
{
	GYRE_ASSERT(stw.stopped);
	if (self && !self->internal)
		return stw.requested_ns;
	uint64_t first = gyre_now_ns();
	struct mutator *m;
	mutator_for_each(m) {
		if (m == self || m->internal ||
		    atomic_load_relaxed(&m->state) != MUTATOR_PARKED)
			continue;
		/* Relaxed: stamped before its seq_cst state store, which the
		 * stop loaded (threads/ttsp.c). A thread parked since an
		 * earlier stop [INV-STW-FAIR] is paused from this request. */
		uint64_t at = atomic_load_relaxed(&m->stopped_ns);
		at = at > stw.requested_ns ? at : stw.requested_ns;
		first = at < first ? at : first;
	}
	return first;
}

void stw_start_world(void)
{
	GYRE_ASSERT(stw.stopped);
	stw.stopped = false;
	pthread_mutex_lock(&stw.lock);
	atomic_store_seq_cst(&stw.requested, false);
	pthread_cond_broadcast(&stw.resume);
	pthread_mutex_unlock(&stw.lock);
	pthread_mutex_unlock(&registry_lock);
}

void stw_after_fork_child(void)
{
	GYRE_ASSERT(stw.stopped);
	pthread_cond_init(&stw.parked, NULL);
	pthread_cond_init(&stw.resume, NULL);
	atomic_store_relaxed(&stw.waiting, 0);
	atomic_store_relaxed(&stw.waiting_internal, 0);
	stw.skipped = 0;
	stw.skipped_internal = 0;
}
