/*
 * prefault.c: faulting the heap in ahead of use (see prefault.h).
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <sys/mman.h>

#include "gc/heap.h"
#include "gc/prefault.h"
#include "runtime/atomics.h"
#include "runtime/internal.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

/* One madvise call: a huge page. */
#define STEP HUGE_PAGE

static struct {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	pthread_t thread;
	/* The thread was started and not yet joined. Sync: written by
	 * prefault_start and prefault_stop, with no other gyre thread
	 * running. */
	bool started;
	/* The thread still maps: cleared by it where the kernel lacks
	 * MADV_POPULATE_WRITE. Relaxed: a stale sight costs one signal. */
	_Atomic bool alive;
	bool stopping; /* Sync: lock */
	/* A collection runs: no step starts, and none is signalled for
	 * (see prefault_hold). Sync: lock. */
	bool held;
	char *base;
	size_t bytes;
	/* [0, done) is done with (mapped, skipped after a failure, or passed
	 * because the heap's top was beyond it); the thread goes on up to
	 * `wanted`. Sync: lock; `wanted` is also read relaxed by
	 * prefault_note, as a hint. */
	size_t done;
	_Atomic size_t wanted;
	/* The last top prefault_note was told of; it only grows. Relaxed: a
	 * stale sight only maps blocks that are already in use. */
	_Atomic size_t top;
} pf = {.lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER};

static void *prefault_main(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "gyre-prefault");
	pthread_mutex_lock(&pf.lock);
	while (!pf.stopping) {
		if (pf.held || pf.done >= atomic_load_relaxed(&pf.wanted)) {
			pthread_cond_wait(&pf.wake, &pf.lock);
			continue;
		}
		/* Never below the top: the blocks there are in use, their
		 * threads fault them in as they write them, and mapping one
		 * under them only makes them wait for this thread (bench/churn
		 * had the collector thread asleep in such faults for 4 ms,
		 * holding up pauses). The top is block-aligned; a step ends on
		 * a huge-page boundary. */
		size_t top = atomic_load_relaxed(&pf.top);
		size_t from = pf.done > top ? pf.done : top;
		size_t to = (from & ~(STEP - 1)) + STEP;
		to = to < pf.bytes ? to : pf.bytes;
		pthread_mutex_unlock(&pf.lock);
		/* Huge pages for a whole step mapped here, ahead of use (see
		 * heap.c); a failure (THP off) leaves small ones. The rest of
		 * a step the top is in keeps small pages: the step's blocks in
		 * use must not be collapsed into a huge page under their
		 * threads. So does a step that starts less than a step above
		 * the top: mapping one takes 2-3 ms here, and a pause whose
		 * to-space reached the step meanwhile (bench/churn's fill
		 * grows the heap 2 MiB in 5 ms) faulted the huge page in
		 * itself (perf: collections of 3-14 ms copying 0.3 MiB, in
		 * do_huge_pmd_anonymous_page). */
		if (from % STEP == 0 && from - top >= STEP)
			madvise(pf.base + from, to - from, MADV_HUGEPAGE);
		int rc = madvise(pf.base + from, to - from, MADV_POPULATE_WRITE);
		pthread_mutex_lock(&pf.lock);
		/* Not supported here: first writes fault pages in instead.
		 * Any other failure (no memory just now) only skips a step. */
		if (rc && errno == EINVAL)
			break;
		pf.done = to;
	}
	atomic_store_relaxed(&pf.alive, false);
	pthread_mutex_unlock(&pf.lock);
	return NULL;
}

bool prefault_start(char *base, size_t bytes)
{
	pf.base = base;
	pf.bytes = bytes;
	pf.done = 0;
	pf.stopping = false;
	atomic_store_relaxed(&pf.top, 0);
	atomic_store_relaxed(&pf.wanted, PREFAULT_AHEAD < bytes ? PREFAULT_AHEAD : bytes);
	atomic_store_relaxed(&pf.alive, true);
	pf.started = pthread_create(&pf.thread, NULL, prefault_main, NULL) == 0;
	if (!pf.started)
		atomic_store_relaxed(&pf.alive, false);
	return pf.started;
}

void prefault_note(size_t top)
{
	/* Whole steps: the thread is signalled once a step, not once a
	 * block. */
	atomic_store_relaxed(&pf.top, top);
	size_t want = (top + PREFAULT_AHEAD + STEP - 1) & ~(STEP - 1);
	want = want < pf.bytes ? want : pf.bytes;
	/* Most calls: the thread already has this much to do. */
	if (!atomic_load_relaxed(&pf.alive) || want <= atomic_load_relaxed(&pf.wanted))
		return;
	pthread_mutex_lock(&pf.lock);
	if (want > atomic_load_relaxed(&pf.wanted)) {
		atomic_store_relaxed(&pf.wanted, want);
		if (!pf.held)
			pthread_cond_signal(&pf.wake);
	}
	pthread_mutex_unlock(&pf.lock);
}

void prefault_hold(bool held)
{
	if (!pf.started)
		return;
	pthread_mutex_lock(&pf.lock);
	pf.held = held;
	if (!held && pf.done < atomic_load_relaxed(&pf.wanted))
		pthread_cond_signal(&pf.wake);
	pthread_mutex_unlock(&pf.lock);
}

void prefault_stop(void)
{
	if (!pf.started)
		return;
	pthread_mutex_lock(&pf.lock);
	pf.stopping = true;
	pthread_cond_signal(&pf.wake);
	pthread_mutex_unlock(&pf.lock);
	pthread_join(pf.thread, NULL);
	pf.started = false;
	atomic_store_relaxed(&pf.alive, false);
}
