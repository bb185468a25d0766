/*
 * prefault.c: the heap's memory thread (see prefault.h): it faults the
 * heap in ahead of use and, once a period while collections run, gives
 * free memory back (decommit.c).
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/mman.h>

#include "gc/driver/collect.h"
#include "gc/driver/limit.h"
#include "gc/heap/decommit.h"
#include "gc/heap/heap.h"
#include "gc/heap/prefault.h"
#include "runtime/atomics.h"
#include "runtime/config.h"
#include "runtime/fork.h"
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
	/* When the next look at free memory is due (decommit_begin), on the
	 * monotonic clock; 0: none is (nothing happened since the last
	 * one). Sync: lock. */
	uint64_t look_at;
	/* A collection ended since the last look. Sync: lock. */
	bool stirred;
	/* When the last collection ended (or a sweep freed much), 0 once a
	 * look a period later came: a look then is due however early the
	 * last one was, since the large objects' arena purges only pages
	 * freed a period ago (meta_decay). Sync: lock. */
	uint64_t stirred_ns;
	/* The last look left blocks to return (decommit_step). Sync: lock. */
	bool returning;
	/* The thread sleeps until the collection that holds it ends, with
	 * no timeout: prefault_hold wakes it. Sync: lock. */
	bool parked;
	char *base;
	size_t bytes;
	/* [0, done) is done with (mapped, skipped after a failure, or passed
	 * because the heap's top was beyond it); the thread goes on up to
	 * `wanted`. Sync: lock; `wanted` is also read relaxed by
	 * prefault_note, as a hint. */
	size_t done;
	_Atomic size_t wanted;
	/* `done` where the thread mapped (0 while it does not: alive
	 * false), for prefault_ahead. Sync: written under lock; read
	 * relaxed, as a figure of its own. */
	_Atomic size_t mapped;
	/* The last top prefault_note was told of; it only grows. Relaxed: a
	 * stale sight only maps blocks that are already in use. */
	_Atomic size_t top;
	/* The heap's top (bytes) at the last look (trim_ahead). Sync: the
	 * thread's own. */
	size_t look_top;
} pf = {.lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER};
LOCK_RANKED(LOCK_PREFAULT, &pf.lock, 1, sizeof(pthread_mutex_t))

/* One step of mapping ahead; called with pf.lock held, which it drops
 * while it maps. */
static void map_step(void)
{
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
	/* Not supported here: first writes fault pages in instead (the
	 * thread stays, to return memory). Any other failure (no memory
	 * just now) only skips a step. */
	if (rc && errno == EINVAL)
		atomic_store_relaxed(&pf.alive, false);
	pf.done = to;
	atomic_store_relaxed(&pf.mapped, atomic_load_relaxed(&pf.alive) ? to : 0);
}

/* How far past `top` the thread maps: PREFAULT_AHEAD, or near a memory
 * limit no more than the room left under it (limit_headroom: whether or
 * not the collector's cap lets the heap pass the limit, growth does
 * without this; it counts what is mapped ahead already) beyond the
 * committed free blocks (growth takes those first, and both count
 * towards the limit), a nursery and the limit's reserve (what the pacer
 * keeps free: mapping into them would only bring the limit's collections
 * sooner), in whole steps only. */
static size_t want_for(size_t top)
{
	size_t room = limit_headroom();
	if (room == SIZE_MAX)
		return (top + PREFAULT_AHEAD + STEP - 1) & ~(STEP - 1);
	size_t t[3];
	collect_get_thresholds(t);
	size_t kept = (atomic_load_relaxed(&heap.nfree) + atomic_load_relaxed(&heap.nreturning)) *
			      BLOCK_SIZE +
		      t[0] + LIMIT_RESERVE(gyre_cfg.memory_limit);
	room += prefault_ahead();
	size_t ahead = room > kept ? room - kept : 0;
	ahead = ahead < PREFAULT_AHEAD ? ahead : PREFAULT_AHEAD;
	return (top + ahead) & ~(STEP - 1);
}

/* A look near a memory limit, with pf.lock dropped: gives back what was
 * mapped past the top beyond what want_for allows now. The room shrinks
 * as the heap grows under the limit, and a heap that reuses its free
 * blocks never grows into what was mapped ahead when the room was
 * larger: it would stay resident, counted, and bring the limit's
 * collections (tests/unit/memlimit.c: 2 MiB so left at 90% of a 96 MiB
 * limit made them follow each other). heap.lock is held across the
 * madvise, so that no block above the top is handed out under it (the
 * order: heap.lock, then pf.lock); it is short (a few MiB at most, near
 * the limit only). */
static void trim_to_room(void)
{
	pthread_mutex_lock(&heap.lock);
	size_t top = heap.top << BLOCK_SHIFT;
	pthread_mutex_lock(&pf.lock);
	size_t keep = want_for(top);
	keep = keep > top ? keep : top;
	if (pf.done > keep && atomic_load_relaxed(&pf.mapped) > keep) {
		/* Small pages from now on, as for returned blocks (decommit.c,
		 * give_back): the heap may reach them before this thread maps
		 * them again, and a thread must not fault a whole huge page
		 * in, nor khugepaged fill one again. */
		madvise(pf.base + keep, pf.done - keep, MADV_NOHUGEPAGE);
		madvise(pf.base + keep, pf.done - keep, MADV_DONTNEED);
		pf.done = keep;
		atomic_store_relaxed(&pf.mapped, keep);
		atomic_store_relaxed(&pf.wanted, keep);
	}
	pthread_mutex_unlock(&pf.lock);
	pthread_mutex_unlock(&heap.lock);
}

size_t prefault_ahead(void)
{
	size_t mapped = atomic_load_relaxed(&pf.mapped), top = atomic_load_relaxed(&pf.top);
	return mapped > top ? mapped - top : 0;
}

/* Gives back what was mapped ahead of the top if the top has not moved
 * since the last look: a heap that stopped growing would keep up to
 * PREFAULT_AHEAD resident for nothing, and in a forked child that is
 * private memory (bench/prefork: 17 MiB a child, 1.2% of its 1.4 GiB
 * frozen heap, where the mapping ahead had copied the parent's shared
 * pages). The next block taken above the top asks for the pages again
 * (prefault_note raises `wanted` past `done`). Called with pf.lock held;
 * takes heap.lock first [INV-LOCK-ORDER] and holds it while the pages go,
 * so that no block above the top is handed out meanwhile (its objects
 * would be zeroed under its thread): prefault_note, under heap.lock too,
 * then sees the lowered `wanted`. */
static void trim_ahead(void)
{
	pthread_mutex_unlock(&pf.lock);
	pthread_mutex_lock(&heap.lock);
	pthread_mutex_lock(&pf.lock);
	size_t top = heap.top << BLOCK_SHIFT;
	bool still = top == pf.look_top;
	pf.look_top = top;
	if (still && pf.done > top) {
		madvise(pf.base + top, pf.done - top, MADV_DONTNEED);
		pf.done = top;
		atomic_store_relaxed(&pf.mapped, atomic_load_relaxed(&pf.mapped) ? top : 0);
		atomic_store_relaxed(&pf.wanted, top);
	}
	pthread_mutex_unlock(&pf.lock);
	pthread_mutex_unlock(&heap.lock);
	pthread_mutex_lock(&pf.lock);
}

/* A look at free memory (decommit.h); called with pf.lock held, which it
 * drops meanwhile: decommit takes heap.lock, which is taken before
 * pf.lock (prefault_note). The next look is a period later, unless
 * nothing happened since this one and nothing was left to return: the
 * next collection asks for one again (prefault_hold). */
static void look(uint64_t now)
{
	bool stirred = pf.stirred;
	pf.stirred = false;
	trim_ahead();
	size_t top = atomic_load_relaxed(&pf.top);
	size_t mapped = pf.done > top ? pf.done : top;
	pthread_mutex_unlock(&pf.lock);
	bool returning = decommit_begin(mapped);
	if (gyre_cfg.memory_limit)
		trim_to_room();
	pthread_mutex_lock(&pf.lock);
	pf.returning = returning;
	pf.look_at = returning || stirred ? now + decommit_delay_ns() : 0;
	if (pf.stirred_ns && now >= pf.stirred_ns + DECOMMIT_PERIOD_NS)
		pf.stirred_ns = 0;
	else if (pf.stirred_ns && (!pf.look_at || pf.look_at > pf.stirred_ns + DECOMMIT_PERIOD_NS))
		pf.look_at = pf.stirred_ns + DECOMMIT_PERIOD_NS;
}

/* One step of returning memory, with pf.lock dropped meanwhile (see
 * look). */
static void return_step(void)
{
	pthread_mutex_unlock(&pf.lock);
	bool more = decommit_step();
	pthread_mutex_lock(&pf.lock);
	pf.returning = more;
}

/* Sleeps until signalled or, if a look is due, until then. */
static void sleep_until_due(void)
{
	if (!pf.look_at) {
		pthread_cond_wait(&pf.wake, &pf.lock);
		return;
	}
	struct timespec ts = {.tv_sec = (time_t)(pf.look_at / 1000000000u),
			      .tv_nsec = (long)(pf.look_at % 1000000000u)};
	pthread_cond_timedwait(&pf.wake, &pf.lock, &ts);
}

/* Mapping ahead comes first: a program that grows needs it now. Nothing
 * starts while a collection runs (prefault_hold). */
static void *prefault_main(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "gyre-prefault");
	pthread_mutex_lock(&pf.lock);
	while (!pf.stopping) {
		uint64_t now = gyre_now_ns();
		if (pf.held) {
			pf.parked = true;
			pthread_cond_wait(&pf.wake, &pf.lock);
			pf.parked = false;
		} else if (atomic_load_relaxed(&pf.alive) &&
			   pf.done < atomic_load_relaxed(&pf.wanted)) {
			map_step();
		} else if (pf.returning) {
			return_step();
		} else if (pf.look_at && now >= pf.look_at) {
			look(now);
		} else {
			sleep_until_due();
		}
	}
	pthread_mutex_unlock(&pf.lock);
	return NULL;
}

/* `wake` and the thread; false, with the thread marked gone, if it
 * could not be created. */
static bool start_thread(void)
{
	/* Timed waits on the clock gyre_now_ns reads. */
	pthread_condattr_t attr;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&pf.wake, &attr);
	pthread_condattr_destroy(&attr);
	pf.started = pthread_create(&pf.thread, NULL, prefault_main, NULL) == 0;
	if (!pf.started) {
		atomic_store_relaxed(&pf.alive, false);
		pthread_cond_destroy(&pf.wake);
	}
	return pf.started;
}

bool prefault_start(char *base, size_t bytes)
{
	pf.base = base;
	pf.bytes = bytes;
	pf.done = 0;
	atomic_store_relaxed(&pf.mapped, 0);
	pf.stopping = false;
	pf.held = false;
	pf.returning = false;
	pf.stirred = false;
	pf.stirred_ns = 0;
	pf.parked = false;
	/* The first look measures what is resident. */
	pf.look_at = gyre_now_ns() + DECOMMIT_PERIOD_NS;
	atomic_store_relaxed(&pf.top, 0);
	pf.look_top = 0;
	atomic_store_relaxed(&pf.wanted, PREFAULT_AHEAD < bytes ? PREFAULT_AHEAD : bytes);
	atomic_store_relaxed(&pf.alive, true);
	return start_thread();
}

void prefault_after_fork_child(void)
{
	if (!pf.started)
		return;
	GYRE_ASSERT(!pf.held && !pf.stopping);
	pf.parked = false;
	start_thread();
}

void prefault_note(size_t top)
{
	/* Whole steps: the thread is signalled once a step, not once a
	 * block. */
	atomic_store_relaxed(&pf.top, top);
	size_t want = want_for(top);
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

/* Blocks may have been freed: a look is due decommit_delay_ns from now
 * (a period, sooner near a memory limit or after a drop), if none is due
 * by then already. Caller holds pf.lock. */
static void stir(void)
{
	uint64_t now = gyre_now_ns();
	pf.stirred = true;
	pf.stirred_ns = now;
	bool wake = pf.done < atomic_load_relaxed(&pf.wanted) || pf.parked;
	uint64_t at = now + decommit_delay_ns();
	if (!pf.look_at || pf.look_at > at) {
		pf.look_at = at;
		wake = true;
	}
	if (wake && !pf.held)
		pthread_cond_signal(&pf.wake);
}

void prefault_hold(bool held)
{
	if (!pf.started)
		return;
	pthread_mutex_lock(&pf.lock);
	pf.held = held;
	if (!held)
		stir();
	pthread_mutex_unlock(&pf.lock);
}

void prefault_stir(void)
{
	if (!pf.started)
		return;
	pthread_mutex_lock(&pf.lock);
	stir();
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
	fork_join(pf.thread, NULL);
	pthread_cond_destroy(&pf.wake);
	pf.started = false;
	atomic_store_relaxed(&pf.alive, false);
}
