/*
 * collect.c: the collection driver. collect_run reads like the phase
 * diagram of this stop-the-world generational collector:
 *
 *   stop the world -> retire nursery buffers -> [verify]
 *   -> minor collection: copy nursery (and gen 1) survivors (parallel)
 *   -> generation 2 only: mark (parallel) -> sweep (parallel)
 *   -> [verify] -> counters and triggers -> restart
 *
 * A generation-2 collection first runs a minor one that sends every
 * survivor to generation 2, as Python's collect(2) leaves every survivor
 * in the oldest generation; marking then sees the young objects that
 * stayed pinned as the only ones outside it. (Aging them normally instead
 * was measured: no change on GCBench.)
 *
 * Only one collection runs at a time (collector.lock); a thread that
 * waits for that lock does so inside a blocking region, so it never holds
 * up the collection it waits behind.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gc/alloc.h"
#include "gc/collect.h"
#include "gc/large.h"
#include "gc/mark.h"
#include "gc/minor.h"
#include "gc/nursery.h"
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
	/* Bytes added to generation 2 since its last collection. Relaxed:
	 * a counter for a heuristic; a late sight only delays a trigger. */
	_Atomic size_t allocated;
	/* Collect generation 2 when `allocated` reaches it. Sync: written
	 * under `lock` with the world stopped, read relaxed. */
	_Atomic size_t trigger;
	/* Generation-0 collections since the last of generation 1 or 2.
	 * Sync: written under `lock`, read relaxed (get_count). */
	_Atomic size_t young_count;
	/* The thresholds. Relaxed: each is a number read on its own; a
	 * change takes effect at the next check. */
	_Atomic size_t threshold[3];
	/* threshold[0] follows the minor pauses (pause_target_us set,
	 * nursery_size not, no gyre_set_threshold). Relaxed: read and
	 * written under `lock`, and cleared by gyre_set_threshold, after
	 * which a stale sight only resizes once more. */
	_Atomic bool adaptive;
	size_t nursery_min, nursery_max;  /* adaptive bounds; immutable */
	/* The machine's available memory fell below free_floor: the next
	 * automatic collection is of generation 2. Relaxed: a hint. */
	_Atomic bool low_memory;
	/* Sum of open gyre_disable calls over all threads. Relaxed: a
	 * thread's own disable is program-ordered before its allocations;
	 * other threads' need no ordering (CPython's flag has none). */
	_Atomic long disabled;
} collector = {.lock = PTHREAD_MUTEX_INITIALIZER};

#define DEFAULT_THRESHOLD1 10
#define MIB ((size_t)1 << 20)
/* Generation 1 holds at most this fraction of threshold0 (see
 * minor_collect): a collection of generation 1 then copies no more than
 * a quarter of a nursery's worth on top of the nursery's survivors. */
#define GEN1_SHARE 4

int collect_init(void)
{
	atomic_store_relaxed(&collector.epoch, 0);
	atomic_store_relaxed(&collector.allocated, 0);
	atomic_store_relaxed(&collector.trigger, gyre_cfg.heap_min);
	atomic_store_relaxed(&collector.young_count, 0);
	collector.nursery_max = 32 * MIB < gyre_cfg.heap_max / 4 ? 32 * MIB
								  : gyre_cfg.heap_max / 4;
	collector.nursery_min = MIB < collector.nursery_max ? MIB : collector.nursery_max;
	atomic_store_relaxed(&collector.adaptive,
			     gyre_cfg.nursery_size == 0 && gyre_cfg.pause_target_us);
	atomic_store_relaxed(&collector.threshold[0],
			     gyre_cfg.nursery_size ? gyre_cfg.nursery_size
						   : collector.nursery_max);
	atomic_store_relaxed(&collector.threshold[1], DEFAULT_THRESHOLD1);
	atomic_store_relaxed(&collector.threshold[2], gyre_cfg.growth_percent);
	atomic_store_relaxed(&collector.disabled, 0);
	atomic_store_relaxed(&collector.low_memory, false);
	nursery_init();
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

void collect_set_thresholds(const size_t t[3])
{
	atomic_store_relaxed(&collector.adaptive, false);
	for (unsigned i = 0; i < 3; i++)
		atomic_store_relaxed(&collector.threshold[i], t[i]);
}

void collect_get_thresholds(size_t t[3])
{
	for (unsigned i = 0; i < 3; i++)
		t[i] = atomic_load_relaxed(&collector.threshold[i]);
}

void collect_get_counts(size_t c[3])
{
	c[0] = atomic_load_relaxed(&nursery.handed);
	c[1] = atomic_load_relaxed(&collector.young_count);
	c[2] = atomic_load_relaxed(&collector.allocated);
}

static void set_trigger(size_t live)
{
	size_t next = live / 100 * atomic_load_relaxed(&collector.threshold[2]);
	if (next < gyre_cfg.heap_min)
		next = gyre_cfg.heap_min;
	atomic_store_relaxed(&collector.trigger, next);
	atomic_store_relaxed(&collector.allocated, 0);
}

/* Adaptive nursery: the pause of a generation-0 collection grows with the
 * bytes that survive it, which grow with the nursery; so the nursery is
 * scaled by target / pause, damped to [1/2, 2] per step, within bounds. */
static void resize_nursery(uint64_t minor_ns)
{
	if (!atomic_load_relaxed(&collector.adaptive))
		return;
	size_t n = atomic_load_relaxed(&collector.threshold[0]);
	double ratio = gyre_cfg.pause_target_us * 1e3 / (double)(minor_ns ? minor_ns : 1);
	ratio = ratio < 0.5 ? 0.5 : ratio > 2.0 ? 2.0 : ratio;
	size_t next = (size_t)((double)n * ratio) & ~(BLOCK_SIZE - 1);
	if (next < collector.nursery_min)
		next = collector.nursery_min;
	if (next > collector.nursery_max)
		next = collector.nursery_max;
	atomic_store_relaxed(&collector.threshold[0], next);
}

/* When each phase of one collection began or ended. */
struct phase_times {
	uint64_t start, stopped, minor_start, minored, marked, swept, end;
};

static const char *const reasons[] = {"nursery", "gen1", "growth", "full",
				      "explicit", "low-memory"};
enum reason { R_NURSERY, R_GEN1, R_GROWTH, R_FULL, R_EXPLICIT, R_LOW_MEMORY };

/* MemAvailable from /proc/meminfo in bytes, or SIZE_MAX if unknown. Read
 * with plain syscalls into a stack buffer: no allocation. */
static size_t machine_available(void)
{
	char buf[4096];
	int fd = open("/proc/meminfo", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return SIZE_MAX;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return SIZE_MAX;
	buf[n] = '\0';
	const char *p = strstr(buf, "MemAvailable:");
	return p ? (size_t)strtoull(p + 13, NULL, 10) * 1024 : SIZE_MAX;
}

/* After a minor collection, outside the pause. */
static void check_free_floor(void)
{
	if (gyre_cfg.free_floor && machine_available() < gyre_cfg.free_floor)
		atomic_store_relaxed(&collector.low_memory, true);
}

static void trace_line(unsigned gen, enum reason why, const struct phase_times *t,
		       const struct minor_result *mr, const struct sweep_result *r)
{
	fprintf(stderr,
		"gyre: gc %llu gen=%u reason=%s pause=%.3fms (stop %.3f minor %.3f "
		"[prepare %.3f copy %.3f release %.3f] mark %.3f sweep %.3f) "
		"freed=%zuobj promoted=%zuobj/%.1fMiB pinned=%zu live=%.1fMiB "
		"heap=%.1fMiB nursery=%.1fMiB workers=%u\n",
		(unsigned long long)atomic_load_relaxed(&collector.epoch), gen,
		reasons[why], (t->end - t->start) / 1e6,
		(t->stopped - t->start) / 1e6, (t->minored - t->minor_start) / 1e6,
		mr->prepare_ns / 1e6, mr->copy_ns / 1e6, mr->release_ns / 1e6,
		(t->marked - t->minored) / 1e6, (t->swept - t->marked) / 1e6,
		mr->collected_objects + r->freed_objects, mr->promoted_objects,
		mr->promoted_bytes / 1048576.0, mr->pinned_objects,
		r->live_bytes / 1048576.0,
		atomic_load_relaxed(&heap.used) / 1048576.0,
		atomic_load_relaxed(&collector.threshold[0]) / 1048576.0,
		workers_count());
}

/* One collection of generations 0..gen; the caller holds collector.lock
 * and is RUNNING. Returns the objects freed. */
static uint64_t collect_run(struct mutator *m, unsigned gen, enum reason why)
{
	struct phase_times t = {.start = gyre_now_ns()};
	/* Taken here, in the frame that lives through the pause: this
	 * thread's stack is a root like the others. */
	context_save(&m->ctx);
	workers_warm();
	stw_stop_world(m);
	/* [INV-DISABLE] No automatic collection runs while a thread holds a
	 * gyre_disable. The trigger checked before stopping, but a thread
	 * may have disabled since; it did so while running, before it parked
	 * or blocked, and the stop's seq_cst handshake [INV-STW-DEKKER]
	 * makes that store visible here. So this check, with the world
	 * stopped, is the one that holds. */
	if (why != R_EXPLICIT && !collect_enabled()) {
		stw_start_world();
		return 0;
	}
	t.stopped = gyre_now_ns();
	alloc_retire_all();
	if (gyre_cfg.verify || gen == 2)
		large_prepare();
	if (gyre_cfg.verify)
		verify_heap("before collection");
	t.minor_start = gyre_now_ns();
	struct minor_result mr = minor_collect(gen >= 1, gen == 2,
			atomic_load_relaxed(&collector.threshold[0]) / GEN1_SHARE);
	t.minored = t.marked = t.swept = gyre_now_ns();
	if (gen == 0)
		resize_nursery(t.minored - t.minor_start);
	struct sweep_result r = {0};
	if (gen == 2) {
		atomic_store_relaxed(&collector.low_memory, false);
		if (gyre_cfg.verify)
			verify_heap("after minor");
		mark_heap();
		t.marked = gyre_now_ns();
		r = sweep_heap();
		heap_prune_gen1();
		minor_recount();
		t.swept = gyre_now_ns();
		set_trigger(r.live_bytes);
	} else {
		collect_note_alloc(mr.gen2_bytes);
	}
	atomic_store_relaxed(&collector.young_count,
			     gen == 0 ? atomic_load_relaxed(&collector.young_count) + 1 : 0);
	if (gyre_cfg.verify)
		verify_heap("after collection");
	atomic_store_relaxed(&collector.epoch,
			     atomic_load_relaxed(&collector.epoch) + 1);
	t.end = gyre_now_ns();
	/* Counted before the world restarts, so a running thread sees the
	 * count change only across a collection that stopped it or ran
	 * while it was blocking: comparing gyre_stats.collections before and
	 * after a stretch of its code tells whether one ran inside it. */
	stats_note_collection(gen, t.end - t.start, t.marked - t.minored,
			      t.swept - t.marked, &mr, &r);
	stw_start_world();
	if (gyre_cfg.trace)
		trace_line(gen, why, &t, &mr, &r);
	if (gen < 2)
		check_free_floor();
	return mr.collected_objects + r.freed_objects;
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

/* The collection a trigger asks for: 0, 1 or 2, or -1 for none. */
static int due(enum reason *why)
{
	if (!collect_enabled())
		return -1;
	if (atomic_load_relaxed(&collector.allocated) >=
	    atomic_load_relaxed(&collector.trigger)) {
		*why = R_GROWTH;
		return 2;
	}
	if (atomic_load_relaxed(&collector.low_memory)) {
		*why = R_LOW_MEMORY;
		return 2;
	}
	if (atomic_load_relaxed(&nursery.handed) <
	    atomic_load_relaxed(&collector.threshold[0]))
		return -1;
	if (atomic_load_relaxed(&collector.young_count) + 1 >=
	    atomic_load_relaxed(&collector.threshold[1])) {
		*why = R_GEN1;
		return 1;
	}
	*why = R_NURSERY;
	return 0;
}

void collect_if_due(struct mutator *m)
{
	enum reason why;
	if (due(&why) < 0)
		return;
	uint64_t seen = lock_collector(m);
	/* Another thread may have collected while we waited. */
	int gen;
	if (atomic_load_relaxed(&collector.epoch) == seen && (gen = due(&why)) >= 0)
		collect_run(m, (unsigned)gen, why);
	pthread_mutex_unlock(&collector.lock);
}

bool collect_for_space(struct mutator *m)
{
	if (!collect_enabled())
		return false;
	uint64_t seen = lock_collector(m);
	/* Disabled while we waited: no need to stop the world only for
	 * collect_run to call the collection off [INV-DISABLE]. */
	bool enabled = collect_enabled();
	/* One that ran while we waited freed what it could: retry first. */
	if (enabled && atomic_load_relaxed(&collector.epoch) == seen)
		collect_run(m, 2, R_FULL);
	pthread_mutex_unlock(&collector.lock);
	return enabled;
}

uint64_t collect_explicit(struct mutator *m, unsigned gen)
{
	lock_collector(m);
	uint64_t freed = collect_run(m, gen, R_EXPLICIT);
	pthread_mutex_unlock(&collector.lock);
	return freed;
}
