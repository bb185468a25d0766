/*
 * collect.c: the collection driver. collect_run reads like the phase
 * diagram of this stop-the-world collector:
 *
 *   stop the world -> retire allocation runs -> [verify] -> mark (parallel)
 *   -> sweep (parallel) -> [verify] -> set the next trigger -> restart
 *
 * Only one collection runs at a time (collector.lock); a thread that
 * waits for that lock does so inside a blocking region, so it never holds
 * up the collection it waits behind.
 */
#include <stdio.h>

#include "gc/alloc.h"
#include "gc/collect.h"
#include "gc/large.h"
#include "gc/mark.h"
#include "gc/sweep.h"
#include "gc/verify.h"
#include "runtime/config.h"
#include "runtime/stats.h"
#include "threads/safepoint.h"
#include "threads/workers.h"

static struct {
	/* Held for a whole collection. */
	pthread_mutex_t lock;
	/* Completed collections. Sync: written under `lock`; read relaxed
	 * to tell whether one ran while a thread waited for `lock`. */
	_Atomic uint64_t epoch;
	/* Bytes handed to allocation since the last collection. Relaxed:
	 * a counter for a heuristic; a late sight only delays a trigger. */
	_Atomic size_t allocated;
	/* Collect when `allocated` reaches it. Sync: written under `lock`
	 * with the world stopped, read relaxed. */
	_Atomic size_t trigger;
	/* Sum of open gyre_disable calls over all threads. Relaxed: a
	 * thread's own disable is program-ordered before its allocations;
	 * other threads' need no ordering (CPython's flag has none). */
	_Atomic long disabled;
} collector = {.lock = PTHREAD_MUTEX_INITIALIZER};

int collect_init(void)
{
	atomic_store_relaxed(&collector.epoch, 0);
	atomic_store_relaxed(&collector.allocated, 0);
	atomic_store_relaxed(&collector.trigger, gyre_cfg.heap_min);
	atomic_store_relaxed(&collector.disabled, 0);
	return GYRE_OK;
}

void collect_note_alloc(size_t bytes)
{
	atomic_add_relaxed(&collector.allocated, bytes);
}

void collect_disable(void)
{
	atomic_add_relaxed(&collector.disabled, 1);
}

void collect_enable(void)
{
	atomic_sub_relaxed(&collector.disabled, 1);
}

bool collect_enabled(void)
{
	return atomic_load_relaxed(&collector.disabled) == 0;
}

static void set_trigger(size_t live)
{
	size_t next = live / 100 * gyre_cfg.growth_percent;
	if (next < gyre_cfg.heap_min)
		next = gyre_cfg.heap_min;
	atomic_store_relaxed(&collector.trigger, next);
	atomic_store_relaxed(&collector.allocated, 0);
}

/* When each phase of one collection began or ended. */
struct phase_times {
	uint64_t start, stopped, mark_start, marked, swept, end;
};

static void trace_line(const char *reason, const struct phase_times *t,
		       const struct sweep_result *r)
{
	fprintf(stderr,
		"gyre: gc %llu reason=%s pause=%.3fms (stop %.3f mark %.3f sweep "
		"%.3f) freed=%zuobj/%.1fMiB live=%.1fMiB heap=%.1fMiB workers=%u\n",
		(unsigned long long)atomic_load_relaxed(&collector.epoch), reason,
		(t->end - t->start) / 1e6, (t->stopped - t->start) / 1e6,
		(t->marked - t->mark_start) / 1e6, (t->swept - t->marked) / 1e6,
		r->freed_objects, r->freed_bytes / 1048576.0,
		r->live_bytes / 1048576.0,
		atomic_load_relaxed(&heap.used) / 1048576.0, workers_count());
}

/* One collection; the caller holds collector.lock and is RUNNING. */
static uint64_t collect_run(struct mutator *m, const char *reason)
{
	struct phase_times t = {.start = gyre_now_ns()};
	/* Taken here, in the frame that lives through the pause: this
	 * thread's stack is a root like the others. */
	context_save(&m->ctx);
	stw_stop_world(m);
	t.stopped = gyre_now_ns();
	alloc_retire_all();
	large_prepare();
	if (gyre_cfg.verify)
		verify_heap("before mark");
	t.mark_start = gyre_now_ns();
	mark_heap();
	t.marked = gyre_now_ns();
	struct sweep_result r = sweep_heap();
	t.swept = gyre_now_ns();
	if (gyre_cfg.verify)
		verify_heap("after sweep");
	set_trigger(r.live_bytes);
	atomic_store_relaxed(&collector.epoch,
			     atomic_load_relaxed(&collector.epoch) + 1);
	t.end = gyre_now_ns();
	stw_start_world();
	stats_note_collection(t.end - t.start, t.marked - t.mark_start,
			      t.swept - t.marked, &r);
	if (gyre_cfg.trace)
		trace_line(reason, &t, &r);
	return r.freed_objects;
}

/* Takes collector.lock without holding up a collection that another
 * thread is starting meanwhile. Returns the epoch seen before waiting. */
static uint64_t lock_collector(struct mutator *m)
{
	uint64_t seen = atomic_load_relaxed(&collector.epoch);
	if (pthread_mutex_trylock(&collector.lock) != 0) {
		safepoint_enter_blocking(m);
		pthread_mutex_lock(&collector.lock);
		safepoint_leave_blocking(m);
	}
	return seen;
}

static bool due(void)
{
	return collect_enabled() && atomic_load_relaxed(&collector.allocated) >=
					    atomic_load_relaxed(&collector.trigger);
}

void collect_if_due(struct mutator *m)
{
	if (!due())
		return;
	uint64_t seen = lock_collector(m);
	/* Another thread may have collected while we waited. */
	if (atomic_load_relaxed(&collector.epoch) == seen && due())
		collect_run(m, "growth");
	pthread_mutex_unlock(&collector.lock);
}

bool collect_for_space(struct mutator *m)
{
	if (!collect_enabled())
		return false;
	uint64_t seen = lock_collector(m);
	/* One that ran while we waited freed what it could: retry first. */
	if (atomic_load_relaxed(&collector.epoch) == seen)
		collect_run(m, "full");
	pthread_mutex_unlock(&collector.lock);
	return true;
}

uint64_t collect_explicit(struct mutator *m)
{
	lock_collector(m);
	uint64_t freed = collect_run(m, "explicit");
	pthread_mutex_unlock(&collector.lock);
	return freed;
}
