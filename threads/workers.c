/*
 * workers.c: the worker pool (see workers.h). A job has one share per
 * worker; the caller runs share 0 and publishes the others through one
 * atomic word, the job's number and the next share to hand out. Any
 * thread takes a share by bumping that word: a pool thread once it sees
 * the job, or the caller once it is done with its own. So a pool thread
 * that the scheduler has yet to run holds up nothing: its share runs on
 * the caller instead (on 2 cores, with the collector and prefault threads
 * busy, GCBench's caller spent a seventh of its time spinning for a worker
 * that had not started).
 *
 * Handing a job to a sleeping thread costs a wake-up, tens of microseconds
 * on a virtual machine, several times per collection; that would be most
 * of a short minor pause. So a worker that finishes a job spins a little
 * (SPIN_NS) for the next one, since a collection's jobs come back to back,
 * and workers_warm (called once a collection has stopped the world) wakes
 * sleeping workers to spin (WARM_NS) while its first, serial steps run;
 * not earlier, as a spinner would take a core from a thread that has yet
 * to reach its safepoint. Past that they sleep
 * on a condition variable, and so does a caller whose job runs long.
 * workers_rest (called as a collection ends) stops the spinning at once:
 * between collections a spinner only takes a core from the program and
 * the collector thread (measured: on 2 cores, bench/churn with a 1 MiB
 * nursery spent a fifth of all CPU time spinning after collections).
 */
#include <pthread.h>
#include <stdbool.h>

#include "runtime/atomics.h"
#include "runtime/fork.h"
#include "runtime/internal.h"
#include "runtime/meta.h"
#include "threads/workers.h"

#define SPIN_NS 200000
#define WARM_NS 5000000
/* The low bits of pool.job: the next share to hand out. */
#define SHARE_BITS 16
#define SHARE_MASK ((UINT64_C(1) << SHARE_BITS) - 1)

static struct {
	pthread_mutex_t lock;
	pthread_cond_t work;     /* a new job, a warm-up, or shutdown */
	pthread_cond_t done;     /* pending reached 0 */
	/* The current job's number (high bits) and its next unclaimed share
	 * (low SHARE_BITS; count or more: all are claimed). The caller's
	 * release store publishes a job after fn and arg are written; a
	 * claim is an acquire CAS, which reads that store or a later claim
	 * in its release sequence, so a claimer sees that job's fn and arg.
	 * They stay that job's while it holds its share: the next job is
	 * published only once every share has returned. */
	_Atomic uint64_t job;
	/* Shares 1 .. count - 1 not yet returned. Each decrement is a
	 * release that the caller's acquire load pairs with: the job's
	 * writes are visible once it reads 0. */
	_Atomic unsigned pending;
	/* Bumped by workers_warm. Relaxed: only a hint to spin. */
	_Atomic unsigned long warm;
	/* Between workers_warm and workers_rest: a collection is running, so
	 * spinning for its next job is worth a core. Relaxed: a hint too; a
	 * spinner that sees it late spins at most SPIN_NS longer. */
	_Atomic bool busy;
	/* Test hook: pool threads claim no share. Relaxed: a claim that
	 * races with setting it is a share run as before. */
	_Atomic bool held;
	worker_fn fn;            /* Sync: written before the job's publication */
	void *arg;
	/* Workers waiting on `work`, and shutdown. Sync: `lock`. */
	unsigned sleepers;
	bool stopping;
	/* Shares per job: helpers + the caller. Immutable while threads
	 * run (set before the first is created). */
	unsigned count;
	unsigned created;        /* threads to join */
	pthread_t *threads;
} pool = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.work = PTHREAD_COND_INITIALIZER,
	.done = PTHREAD_COND_INITIALIZER,
};
LOCK_RANKED(LOCK_WORKERS, &pool.lock, 1, sizeof(pthread_mutex_t))

static unsigned long job_number(uint64_t job)
{
	return (unsigned long)(job >> SHARE_BITS);
}

/* Spins up to ns for the job number to differ from seen, while a
 * collection runs; true if it did. Naps now and then (every 1024 rounds,
 * about 40 us), so that a spinner never starves a thread the job waits on:
 * a mutator yet to reach its safepoint, or a worker in its share. */
static bool spin_for_job(unsigned long seen, uint64_t ns)
{
	uint64_t until = gyre_now_ns() + ns;
	for (unsigned i = 1;; i++) {
		/* Relaxed: the claim that follows is the acquire. */
		if (job_number(atomic_load_relaxed(&pool.job)) != seen)
			return true;
		if (i % 64 == 0 &&
		    (gyre_now_ns() > until || !atomic_load_relaxed(&pool.busy)))
			return false;
		if (i % 1024 == 0)
			spin_nap();
		cpu_relax();
	}
}

/* The last share to return wakes the caller, which may sleep on `done`. */
static void share_returned(void)
{
	if (atomic_fetch_sub_explicit(&pool.pending, 1, memory_order_release) == 1) {
		pthread_mutex_lock(&pool.lock);
		pthread_cond_signal(&pool.done);
		pthread_mutex_unlock(&pool.lock);
	}
}

bool workers_help(void)
{
	uint64_t job = atomic_load_relaxed(&pool.job);
	do {
		if ((job & SHARE_MASK) >= pool.count)
			return false;
	} while (!atomic_compare_exchange_weak_explicit(&pool.job, &job, job + 1,
			memory_order_acquire, memory_order_relaxed));
	pool.fn((unsigned)(job & SHARE_MASK), pool.arg);
	share_returned();
	return true;
}

static void *worker_main(void *arg)
{
	(void)arg;
	/* Named for top -H, perf and debuggers; a failure only loses the
	 * name. */
	pthread_setname_np(pthread_self(), "gyre-worker");
	unsigned long seen = 0, warm_seen = 0;
	uint64_t spin = 0;
	for (;;) {
		if (!spin || !spin_for_job(seen, spin)) {
			pthread_mutex_lock(&pool.lock);
			pool.sleepers++;
			while (!pool.stopping &&
			       job_number(atomic_load_relaxed(&pool.job)) == seen &&
			       atomic_load_relaxed(&pool.warm) == warm_seen)
				pthread_cond_wait(&pool.work, &pool.lock);
			pool.sleepers--;
			bool stop = pool.stopping;
			pthread_mutex_unlock(&pool.lock);
			if (stop)
				break;
			if (job_number(atomic_load_relaxed(&pool.job)) == seen) {
				warm_seen = atomic_load_relaxed(&pool.warm);
				spin = WARM_NS;
				continue;
			}
		}
		seen = job_number(atomic_load_relaxed(&pool.job));
		while (!atomic_load_relaxed(&pool.held) && workers_help())
			;
		spin = SPIN_NS;
	}
	return NULL;
}

int workers_start(unsigned n)
{
	GYRE_ASSERT(n >= 1 && n <= SHARE_MASK && pool.count == 0);
	/* A previous pool (before a shutdown and a new init) left its job
	 * word behind; all of its shares read as claimed. */
	atomic_store_relaxed(&pool.job, SHARE_MASK);
	atomic_store_relaxed(&pool.pending, 0);
	atomic_store_relaxed(&pool.warm, 0);
	atomic_store_relaxed(&pool.busy, false);
	atomic_store_relaxed(&pool.held, false);
	pool.fn = NULL;
	pool.sleepers = 0;
	pool.stopping = false;
	pool.count = n;
	pool.created = 0;
	if (n == 1)
		return GYRE_OK;
	pool.threads = meta_calloc(sizeof(pthread_t) * (n - 1));
	if (!pool.threads) {
		pool.count = 0;
		return GYRE_ENOMEM;
	}
	for (unsigned i = 1; i < n; i++) {
		if (pthread_create(&pool.threads[i - 1], NULL, worker_main, NULL) != 0) {
			workers_stop();
			return GYRE_ENOMEM;
		}
		pool.created++;
	}
	return GYRE_OK;
}

void workers_stop(void)
{
	pthread_mutex_lock(&pool.lock);
	pool.stopping = true;
	pthread_cond_broadcast(&pool.work);
	pthread_mutex_unlock(&pool.lock);
	for (unsigned i = 0; i < pool.created; i++)
		fork_join(pool.threads[i], NULL);
	meta_free(pool.threads);
	pool.threads = NULL;
	pool.created = 0;
	pool.count = 0;
}

int workers_after_fork_child(void)
{
	unsigned n = pool.count;
	pthread_cond_init(&pool.work, NULL);
	pthread_cond_init(&pool.done, NULL);
	meta_free(pool.threads);
	pool.threads = NULL;
	pool.count = 0;
	pool.created = 0;
	if (n == 0 || workers_start(n) == GYRE_OK)
		return GYRE_OK;
	workers_start(1);
	return GYRE_ENOMEM;
}

unsigned workers_count(void)
{
	return pool.count;
}

/* Wakes sleeping workers if any. A worker counts itself a sleeper and
 * tests the job number and warm counter under the lock, so a bump made
 * before this lock is taken is seen either by its test or by this. */
static void wake_sleepers(void)
{
	pthread_mutex_lock(&pool.lock);
	if (pool.sleepers)
		pthread_cond_broadcast(&pool.work);
	pthread_mutex_unlock(&pool.lock);
}

unsigned long workers_jobs(void)
{
	return job_number(atomic_load_relaxed(&pool.job));
}

void workers_hold(bool held)
{
	atomic_store_relaxed(&pool.held, held);
}

void workers_warm(void)
{
	if (pool.count == 1)
		return;
	atomic_store_relaxed(&pool.busy, true);
	atomic_add_relaxed(&pool.warm, 1);
	wake_sleepers();
}

void workers_rest(void)
{
	atomic_store_relaxed(&pool.busy, false);
}

void workers_run(worker_fn fn, void *arg)
{
	if (pool.count == 1) {
		fn(0, arg);
		return;
	}
	pool.fn = fn;
	pool.arg = arg;
	atomic_store_relaxed(&pool.pending, pool.count - 1);
	/* Release: pairs with the claims' acquire (see pool.job). Share 0
	 * is the caller's. */
	uint64_t next = (uint64_t)(job_number(atomic_load_relaxed(&pool.job)) + 1);
	atomic_store_release(&pool.job, next << SHARE_BITS | 1);
	wake_sleepers();
	fn(0, arg);
	/* Shares no pool thread has started yet: here, not later. */
	while (workers_help())
		;
	uint64_t until = gyre_now_ns() + SPIN_NS;
	for (unsigned i = 1; atomic_load_acquire(&pool.pending) > 0; i++) {
		if (i % 64 == 0 && gyre_now_ns() > until) {
			pthread_mutex_lock(&pool.lock);
			while (atomic_load_acquire(&pool.pending) > 0)
				pthread_cond_wait(&pool.done, &pool.lock);
			pthread_mutex_unlock(&pool.lock);
			break;
		}
		cpu_relax();
	}
}
