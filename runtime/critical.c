/*
 * critical.c: no-GC regions (see critical.h and gyre.h, "No-GC regions").
 *
 * The window's state is under one mutex: begin and end take it once each
 * (uncontended, tens of nanoseconds), the allocation slow path once per
 * nursery buffer while a window is open. A thread's own regions are a
 * thread-local stack (their window's number and start time), so nesting
 * costs nothing shared beyond the window's sums.
 */
#include <pthread.h>

#include "gc/driver/collect.h"
#include "gc/heap/heap.h"
#include "runtime/config.h"
#include "runtime/critical.h"
#include "runtime/events.h"

_Atomic unsigned critical_open;

static struct {
	pthread_mutex_t lock;
	/* Below: Sync: lock. */
	uint64_t window;     /* the current window's number */
	uint64_t allowance;  /* budgets of the regions opened in it */
	uint64_t used;       /* bytes threads took from the heap in it */
	bool ran_out;        /* its budget ran out (critical_fail: refused) */
	/* gyre_stats' figures. */
	uint64_t opened, overrun, longest_ns, bytes;
} crit = {.lock = PTHREAD_MUTEX_INITIALIZER};
LOCK_RANKED(LOCK_CRITICAL, &crit.lock, 1, sizeof(pthread_mutex_t))

/* The calling thread's open regions, innermost last. Owner only. */
static _Thread_local struct {
	unsigned depth;
	struct {
		uint64_t window;
		uint64_t start_ns;
	} region[CRITICAL_DEPTH_MAX];
} mine;

/* Under lock: a new, empty window; regions of the old one see their
 * number is stale. */
static void window_new(void)
{
	crit.window++;
	crit.allowance = crit.used = 0;
	crit.ran_out = false;
	atomic_store_relaxed(&critical_open, 0);
}

/* Under lock: the window ends (its last region closed, or its budget ran
 * out): its disable goes back, and the next region opens a new one. */
static void window_end(void)
{
	collect_enable();
	window_new();
}

void critical_reset(void)
{
	pthread_mutex_lock(&crit.lock);
	window_new();
	crit.opened = crit.overrun = crit.longest_ns = crit.bytes = 0;
	pthread_mutex_unlock(&crit.lock);
}

/* Under lock: room for the window's remaining budget and `budget` more
 * (and a block's slack for a large object's rounding). */
static bool room_for(size_t budget)
{
	uint64_t room = heap_room();
	uint64_t left = crit.allowance > crit.used ? crit.allowance - crit.used : 0;
	return room >= left + budget + BLOCK_SIZE;
}

/* Under lock: the region opens in the current window. */
static void open_region(size_t budget, uint64_t now)
{
	unsigned open = atomic_load_relaxed(&critical_open);
	if (open == 0)
		collect_disable();
	/* Relaxed: see critical_open (critical.h). */
	atomic_store_relaxed(&critical_open, open + 1);
	crit.allowance += budget;
	crit.opened++;
	mine.region[mine.depth].window = crit.window;
	mine.region[mine.depth].start_ns = now;
	mine.depth++;
}

int critical_begin(struct mutator *m, size_t budget)
{
	uint64_t now = gyre_now_ns();
	for (bool collected = false;; collected = true) {
		pthread_mutex_lock(&crit.lock);
		if (room_for(budget)) {
			open_region(budget, now);
			pthread_mutex_unlock(&crit.lock);
			return GYRE_OK;
		}
		/* A collection now would run inside another thread's region. */
		bool may_collect = !collected && atomic_load_relaxed(&critical_open) == 0;
		pthread_mutex_unlock(&crit.lock);
		if (!may_collect)
			return gyre_fail(GYRE_ENOMEM);
		collect_explicit(m, 2);
		now = gyre_now_ns();
	}
}

int critical_end(void)
{
	GYRE_ASSERT(mine.depth > 0);
	mine.depth--;
	uint64_t ns = gyre_now_ns() - mine.region[mine.depth].start_ns;
	pthread_mutex_lock(&crit.lock);
	bool ended = mine.region[mine.depth].window != crit.window;
	if (!ended && atomic_load_relaxed(&critical_open) == 1)
		window_end();
	else if (!ended)
		atomic_store_relaxed(&critical_open, atomic_load_relaxed(&critical_open) - 1);
	if (ns > crit.longest_ns)
		crit.longest_ns = ns;
	pthread_mutex_unlock(&crit.lock);
	return ended ? gyre_fail(GYRE_EBUDGET) : GYRE_OK;
}

unsigned critical_depth(void)
{
	return mine.depth;
}

void critical_close_all(void)
{
	while (mine.depth)
		critical_end();
}

void critical_after_fork_child(void)
{
	unsigned open = 0;
	pthread_mutex_lock(&crit.lock);
	for (unsigned i = 0; i < mine.depth; i++)
		open += mine.region[i].window == crit.window;
	atomic_store_relaxed(&critical_open, open);
	/* The other threads' regions are gone with them: with none of its
	 * own, the window is over (collect_after_fork_child has already
	 * dropped its disable). */
	if (open)
		collect_disable();
	else
		window_new();
	pthread_mutex_unlock(&crit.lock);
}

/* Under lock: the budget runs out. The default policy ends the window's
 * guarantee (its regions' ends will say so); critical_fail refuses the
 * allocation and keeps it. Fills *ev; true the first time in a window
 * (the one to report and count: with critical_fail every later
 * allocation of the window is refused too). */
static bool run_out(size_t bytes, gyre_event *ev)
{
	bool first = !crit.ran_out;
	*ev = (gyre_event){.kind = GYRE_EVENT_CRITICAL_OVERRUN, .generation = -1,
			   .bytes = crit.used + bytes, .budget = crit.allowance};
	crit.ran_out = true;
	if (first)
		crit.overrun++;
	if (!gyre_cfg.critical_fail) {
		crit.bytes += bytes;
		window_end();
	}
	return first;
}

int critical_charge_slow(size_t bytes)
{
	gyre_event ev;
	bool report = false;
	int rc = GYRE_OK;
	pthread_mutex_lock(&crit.lock);
	/* The window may have closed since the hint. */
	bool open = atomic_load_relaxed(&critical_open) != 0;
	if (open && crit.used + bytes > crit.allowance) {
		report = run_out(bytes, &ev);
		rc = gyre_cfg.critical_fail ? GYRE_EBUDGET : GYRE_OK;
	} else if (open) {
		crit.used += bytes;
		crit.bytes += bytes;
	}
	pthread_mutex_unlock(&crit.lock);
	/* On the allocating thread, no lock held, not in a pause. */
	if (report) {
		events_queue(&ev);
		events_deliver();
	}
	return rc ? gyre_fail(rc) : GYRE_OK;
}

void critical_read(gyre_stats *out)
{
	pthread_mutex_lock(&crit.lock);
	out->critical_opened = crit.opened;
	out->critical_overrun = crit.overrun;
	out->critical_longest_ns = crit.longest_ns;
	out->critical_bytes = crit.bytes;
	pthread_mutex_unlock(&crit.lock);
}
