/*
 * workers.c: the worker pool (see workers.h). A job is published by bumping
 * `generation` under the pool lock; each worker runs every generation once
 * and the last to finish signals the caller. Jobs are rare (a few per
 * collection) and long, so a mutex and two condition variables cost
 * nothing that matters.
 */
#include <pthread.h>
#include <stdbool.h>

#include "runtime/internal.h"
#include "runtime/meta.h"
#include "threads/workers.h"

static struct {
	pthread_mutex_t lock;
	pthread_cond_t work;     /* a new generation, or shutdown */
	pthread_cond_t done;     /* pending reached 0 */
	/* Everything below: Sync: `lock`. */
	unsigned long generation;
	unsigned pending;        /* helpers still running the current job */
	worker_fn fn;
	void *arg;
	bool stopping;
	unsigned count;          /* helpers + the caller */
	pthread_t *threads;
} pool = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.work = PTHREAD_COND_INITIALIZER,
	.done = PTHREAD_COND_INITIALIZER,
};

static void *worker_main(void *idp)
{
	unsigned id = (unsigned)(uintptr_t)idp;
	unsigned long seen = 0;
	pthread_mutex_lock(&pool.lock);
	for (;;) {
		while (!pool.stopping && pool.generation == seen)
			pthread_cond_wait(&pool.work, &pool.lock);
		if (pool.stopping)
			break;
		seen = pool.generation;
		worker_fn fn = pool.fn;
		void *arg = pool.arg;
		pthread_mutex_unlock(&pool.lock);
		fn(id, arg);
		pthread_mutex_lock(&pool.lock);
		if (--pool.pending == 0)
			pthread_cond_signal(&pool.done);
	}
	pthread_mutex_unlock(&pool.lock);
	return NULL;
}

int workers_start(unsigned n)
{
	GYRE_ASSERT(n >= 1 && pool.count == 0);
	/* A previous pool (before a shutdown and a new init) left its job
	 * count behind; new workers start from generation 0. */
	pool.generation = 0;
	pool.pending = 0;
	pool.fn = NULL;
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

void workers_run(worker_fn fn, void *arg)
{
	pthread_mutex_lock(&pool.lock);
	pool.fn = fn;
	pool.arg = arg;
	pool.pending = pool.count - 1;
	pool.generation++;
	pthread_cond_broadcast(&pool.work);
	pthread_mutex_unlock(&pool.lock);
	fn(0, arg);
	pthread_mutex_lock(&pool.lock);
	while (pool.pending > 0)
		pthread_cond_wait(&pool.done, &pool.lock);
	pthread_mutex_unlock(&pool.lock);
}
