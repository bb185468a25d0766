/*
 * workers.c: the worker pool (see workers.h). A job is published by bumping
 * `generation`; each worker runs every generation once and the last to
 * finish tells the caller.
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
#include <sched.h>
#include <stdbool.h>

#include "runtime/atomics.h"
#include "runtime/internal.h"
#include "runtime/meta.h"
#include "threads/workers.h"

#define SPIN_NS 200000
#define WARM_NS 5000000

static struct {
	pthread_mutex_t lock;
	pthread_cond_t work;     /* a new generation, a warm-up, or shutdown */
	pthread_cond_t done;     /* pending reached 0 */
	/* The current job. Release store after fn and arg are written,
	 * acquire loads by the workers, so they see the job whole. */
	_Atomic unsigned long generation;
	/* Helpers still running the current job. Each decrement is a
	 * release that the caller's acquire load pairs with: the job's
	 * writes are visible once it reads 0. */
	_Atomic unsigned pending;
	/* Bumped by workers_warm. Relaxed: only a hint to spin. */
	_Atomic unsigned long warm;
	/* Between workers_warm and workers_rest: a collection is running, so
	 * spinning for its next job is worth a core. Relaxed: a hint too; a
	 * spinner that sees it late spins at most SPIN_NS longer. */
	_Atomic bool busy;
	worker_fn fn;            /* Sync: written before generation */
	void *arg;
	/* Workers waiting on `work`, and shutdown. Sync: `lock`. */
	unsigned sleepers;
	bool stopping;
	unsigned count;          /* helpers + the caller; immutable */
	pthread_t *threads;
} pool = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.work = PTHREAD_COND_INITIALIZER,
	.done = PTHREAD_COND_INITIALIZER,
};

/* Spins up to ns for *v to differ from seen, while a collection runs;
 * true if it did. Yields now and then, so that a spinner never starves a
 * thread the job waits on. */
static bool spin_for_change(_Atomic unsigned long *v, unsigned long seen,
			    uint64_t ns)
{
	uint64_t until = gyre_now_ns() + ns;
	for (unsigned i = 1;; i++) {
		if (atomic_load_acquire(v) != seen)
			return true;
		if (i % 64 == 0) {
			if (gyre_now_ns() > until || !atomic_load_relaxed(&pool.busy))
				return false;
			sched_yield();
		}
		cpu_relax();
	}
}

static void *worker_main(void *idp)
{
	unsigned id = (unsigned)(uintptr_t)idp;
	/* Named for top -H, perf and debuggers; a failure only loses the
	 * name. */
	pthread_setname_np(pthread_self(), "gyre-worker");
	unsigned long seen = 0, warm_seen = 0;
	uint64_t spin = 0;
	for (;;) {
		if (!spin || !spin_for_change(&pool.generation, seen, spin)) {
			pthread_mutex_lock(&pool.lock);
			pool.sleepers++;
			while (!pool.stopping &&
			       atomic_load_relaxed(&pool.generation) == seen &&
			       atomic_load_relaxed(&pool.warm) == warm_seen)
				pthread_cond_wait(&pool.work, &pool.lock);
			pool.sleepers--;
			bool stop = pool.stopping;
			pthread_mutex_unlock(&pool.lock);
			if (stop)
				break;
			if (atomic_load_acquire(&pool.generation) == seen) {
				warm_seen = atomic_load_relaxed(&pool.warm);
				spin = WARM_NS;
				continue;
			}
		}
		seen = atomic_load_acquire(&pool.generation);
		pool.fn(id, pool.arg);
		if (atomic_fetch_sub_explicit(&pool.pending, 1,
					      memory_order_release) == 1) {
			pthread_mutex_lock(&pool.lock);
			pthread_cond_signal(&pool.done);
			pthread_mutex_unlock(&pool.lock);
		}
		spin = SPIN_NS;
	}
	return NULL;
}

int workers_start(unsigned n)
{
	GYRE_ASSERT(n >= 1 && pool.count == 0);
	/* A previous pool (before a shutdown and a new init) left its job
	 * count behind; new workers start from generation 0. */
	atomic_store_relaxed(&pool.generation, 0);
	atomic_store_relaxed(&pool.pending, 0);
	atomic_store_relaxed(&pool.warm, 0);
	atomic_store_relaxed(&pool.busy, false);
	pool.fn = NULL;
	pool.sleepers = 0;
	pool.stopping = false;
	pool.count = 1;
	if (n == 1)
		return GYRE_OK;
	pool.threads = meta_calloc(sizeof(pthread_t) * (n - 1));
	if (!pool.threads)
		return GYRE_ENOMEM;
	for (unsigned i = 1; i < n; i++) {
		if (pthread_create(&pool.threads[i - 1], NULL, worker_main,
				   (void *)(uintptr_t)i) != 0) {
			workers_stop();
			return GYRE_ENOMEM;
		}
		pool.count++;
	}
	return GYRE_OK;
}

void workers_stop(void)
{
	pthread_mutex_lock(&pool.lock);
	pool.stopping = true;
	pthread_cond_broadcast(&pool.work);
	pthread_mutex_unlock(&pool.lock);
	for (unsigned i = 1; i < pool.count; i++)
		pthread_join(pool.threads[i - 1], NULL);
	meta_free(pool.threads);
	pool.threads = NULL;
	pool.count = 0;
}

unsigned workers_count(void)
{
	return pool.count;
}

/* Wakes sleeping workers if any. A worker counts itself a sleeper and
 * tests the generation and warm counters under the lock, so a bump made
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
	return atomic_load_relaxed(&pool.generation);
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
	if (pool.count > 1) {
		pool.fn = fn;
		pool.arg = arg;
		atomic_store_relaxed(&pool.pending, pool.count - 1);
		atomic_store_release(&pool.generation,
				     atomic_load_relaxed(&pool.generation) + 1);
		wake_sleepers();
	}
	fn(0, arg);
	if (pool.count == 1)
		return;
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
