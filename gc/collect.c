/*
 * collect.c: the collection driver. collect_run reads like the phase
 * diagram of every pause:
 *
 *   stop the world -> retire nursery buffers -> [drain the barrier's log]
 *   -> [verify] -> [end a concurrent cycle: remark (parallel), sweep gen 2]
 *   -> minor collection: copy nursery (and gen 1) survivors (parallel)
 *   -> generation 2: start a concurrent cycle, or mark (parallel) and
 *      sweep (parallel) now
 *   -> [verify] -> counters and triggers -> restart
 *
 * A generation-2 collection first runs a minor one that sends every
 * survivor to generation 2, as Python's collect(2) leaves every survivor
 * in the oldest generation; marking then sees the young objects that
 * stayed pinned as the only ones outside it. (Aging them normally instead
 * was measured: no change on GCBench.)
 *
 * A generation-2 collection that a trigger asks for is concurrent (unless
 * stw_mark): its pause ends after that minor collection and the roots'
 * scan (mark_old_start), the collector thread (marker.c) traces while the
 * program runs, and asks for the remark, a second pause that finishes the
 * marking and sweeps generation 2 (R_REMARK). A collection that must free
 * all it can (gyre_collect(2), a full heap) ends a cycle in progress and
 * then collects with the world stopped, in the same pause.
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
#include "gc/final.h"
#include "gc/large.h"
#include "gc/marker.h"
#include "gc/mark.h"
#include "gc/minor.h"
#include "gc/nursery.h"
#include "gc/prefault.h"
#include "gc/satb.h"
#include "gc/sizer.h"
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
	/* During a concurrent cycle: end it in a pause (R_PACE) once it has
	 * allocated this much, the growth that threshold 2 allows. Sync: as
	 * trigger. */
	_Atomic size_t pace_limit;
	/* `allocated` when the current cycle started. Sync: written under
	 * `lock` with the world stopped, read relaxed (due). */
	_Atomic size_t allocated_at_start;
	/* What the last concurrent cycle allocated while it marked (all
	 * kept: allocated black), and whether it ended in a pause before
	 * its collector thread was done (R_PACE): the next trigger's inputs
	 * besides what its lazy sweep finds. Sync: under `lock`. */
	size_t cycle_black;
	bool cycle_paced;
	/* When the last remark ended (for the trace). Sync: under `lock`. */
	uint64_t remark_ns;
	/* Generation-0 collections since the last of generation 1 or 2.
	 * Sync: written under `lock`, read relaxed (get_count). */
	_Atomic size_t young_count;
	/* The thresholds. Relaxed: each is a number read on its own; a
	 * change takes effect at the next check. */
	_Atomic size_t threshold[3];
	/* threshold[0] is the sizer's (nursery_size not set, no
	 * gyre_set_threshold). Sync: written under `lock` (the sizer's store
	 * of threshold[0] too); relaxed, as the triggers read threshold[0]
	 * without it. */
	_Atomic bool adaptive;
	/* The machine's available memory fell below free_floor: the next
	 * automatic collection is of generation 2. Relaxed: a hint. */
	_Atomic bool low_memory;
	/* What the last generation-0 collection kept (copied or pinned),
	 * and the dirty cards it scanned. Sync: under `lock`. */
	size_t last_survived;
	size_t last_cards;
	/* When the concurrent cycle in progress started (for the trace).
	 * Sync: under `lock`. */
	uint64_t cycle_start_ns;
	/* Sum of open gyre_disable calls over all threads. Relaxed: a
	 * thread's own disable is program-ordered before its allocations;
	 * other threads' need no ordering (CPython's flag has none). */
	_Atomic long disabled;
} collector = {.lock = PTHREAD_MUTEX_INITIALIZER};

#define DEFAULT_THRESHOLD1 10
#define MIB ((size_t)1 << 20)
/* The sizer's range (sizer.h): it starts at a nursery that stays in the
 * cache (the 32-byte allocation micro: 2.2 ns per object at 8 MiB, 3.4 ns
 * at 32 MiB), and goes up to one that holds GCBench's largest trees. */
#define NURSERY_BASE (8 * MIB)
#define NURSERY_MAX (128 * MIB)
/* Generation 1 holds at most this fraction of threshold0 (see
 * minor_collect): a collection of generation 1 then copies no more than
 * a quarter of a nursery's worth on top of the nursery's survivors. */
#define GEN1_SHARE 4
/* A minor collection after one that kept less than SOLO_BYTES and
 * scanned fewer than SOLO_CARDS dirty cards runs on the calling thread
 * alone (collect_run). */
#define SOLO_BYTES ((size_t)128 << 10)
#define SOLO_CARDS 1024

int collect_init(void)
{
	atomic_store_relaxed(&collector.epoch, 0);
	atomic_store_relaxed(&collector.allocated, 0);
	atomic_store_relaxed(&collector.trigger, gyre_cfg.heap_min);
	atomic_store_relaxed(&collector.pace_limit, gyre_cfg.heap_min);
	collector.cycle_black = 0;
	collector.last_survived = SOLO_BYTES;
	collector.last_cards = 0;
	atomic_store_relaxed(&collector.allocated_at_start, 0);
	atomic_store_relaxed(&collector.young_count, 0);
	size_t max = NURSERY_MAX < gyre_cfg.heap_max / 4 ? NURSERY_MAX
							 : gyre_cfg.heap_max / 4;
	size_t base = NURSERY_BASE < max ? NURSERY_BASE : max;
	size_t first = sizer_init(base, max, (uint64_t)gyre_cfg.pause_target_us * 1000);
	atomic_store_relaxed(&collector.adaptive, gyre_cfg.nursery_size == 0);
	atomic_store_relaxed(&collector.threshold[0],
			     gyre_cfg.nursery_size ? gyre_cfg.nursery_size : first);
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

static uint64_t lock_collector(struct mutator *m);

/* Under collector.lock: a collection that is running reads `adaptive`
 * and then stores the sizer's threshold0, and would otherwise overwrite a
 * threshold0 set in between, for good. A RUNNING caller waits for the
 * lock in a blocking region, so it never holds up that collection. */
void collect_set_thresholds(const size_t t[3])
{
	struct mutator *m = mutator_current();
	if (m && atomic_load_relaxed(&m->state) == MUTATOR_RUNNING)
		lock_collector(m);
	else
		pthread_mutex_lock(&collector.lock);
	atomic_store_relaxed(&collector.adaptive, false);
	for (unsigned i = 0; i < 3; i++)
		atomic_store_relaxed(&collector.threshold[i], t[i]);
	pthread_mutex_unlock(&collector.lock);
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

/* After a collection of generation 2 that found `live` bytes, of which
 * `black` were allocated while a concurrent cycle marked (kept whether
 * live or not). Threshold 2 allows generation 2 to grow by growth% of
 * what was really live (at least heap_min) before the next collection
 * ends. A concurrent cycle that could not finish within that (it was
 * `paced`: ended in a pause), and freed under an eighth of what it swept
 * (`freed`), marked a heap that is only growing: collecting it again as
 * soon is pointless, and would end in a pause again. The allowance is
 * then twice the last one, up to half the live size (GCBench building its
 * 128 MiB tree, kvserver filling its cache: cycles that freed nothing
 * ended in 22-60 ms pauses, one after the other). A concurrent cycle
 * allocates while it marks, so it starts early, by twice what the last
 * one allocated (a margin for a slower cycle; Go's pacer does the same),
 * but not before a quarter of the allowance is used; if it still reaches
 * the allowance, it ends in a pause (R_PACE). */
static void set_trigger(size_t live, size_t black, bool paced, size_t freed)
{
	size_t real = live > black ? live - black : 0;
	size_t allow = real / 100 * atomic_load_relaxed(&collector.threshold[2]);
	if (allow < gyre_cfg.heap_min)
		allow = gyre_cfg.heap_min;
	if (paced && freed < (live + freed) / 8) {
		size_t grown = 2 * atomic_load_relaxed(&collector.pace_limit);
		grown = grown < live / 2 ? grown : live / 2;
		allow = grown > allow ? grown : allow;
	}
	size_t early = 2 * collector.cycle_black;
	size_t next = gyre_cfg.stw_mark ? allow
		      : early < allow - allow / 4 ? allow - early : allow / 4;
	atomic_store_relaxed(&collector.pace_limit, allow);
	atomic_store_relaxed(&collector.trigger, next);
}

size_t collect_allowance(void)
{
	return atomic_load_relaxed(&collector.pace_limit);
}

/* When one collection was called, began, stopped the world and ended,
 * and the time its phases took. It begins (`start`, the pause) when the
 * stop is requested; `called` is earlier, before the [INV-STW-FAIR] wait
 * in stw_stop_world, which leaves the world running (in the trace only). */
struct phase_times {
	uint64_t called, start, stopped, end;
	uint64_t minor_ns, mark_ns, sweep_ns;
};

static const char *const reasons[] = {"nursery", "gen1", "growth", "full",
				      "explicit", "low-memory", "remark", "pace"};
/* R_REMARK ends a cycle when the collector thread has traced everything;
 * R_PACE ends it earlier, with the rest of the tracing in the pause, when
 * the program allocates faster than the collector thread marks. */
enum reason { R_NURSERY, R_GEN1, R_GROWTH, R_FULL, R_EXPLICIT, R_LOW_MEMORY,
	      R_REMARK, R_PACE };

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

static void trace_line(unsigned gen, enum reason why, bool started, bool ended,
		       const struct phase_times *t, const struct minor_result *mr,
		       const struct sweep_result *r)
{
	char cycle[64] = "";
	if (started)
		snprintf(cycle, sizeof(cycle), " (cycle started)");
	else if (ended)
		snprintf(cycle, sizeof(cycle), " (cycle ended, %.1fms after its start)",
			 (t->start - collector.cycle_start_ns) / 1e6);
	fprintf(stderr,
		"gyre: t=%.6f gc %llu gen=%u reason=%s%s pause=%.3fms (wait %.3f stop %.3f minor %.3f "
		"[prepare %.3f copy %.3f release %.3f] mark %.3f sweep %.3f) "
		"cards=%zu freed=%zuobj promoted=%zuobj/%.1fMiB pinned=%zu live=%.1fMiB "
		"heap=%.1fMiB nursery=%.1fMiB survived=%.0f%% gen1_died=%.0f%% workers=%u\n",
		t->start / 1e9, (unsigned long long)atomic_load_relaxed(&collector.epoch), gen,
		reasons[why], cycle,
		(t->end - t->start) / 1e6, (t->start - t->called) / 1e6,
		(t->stopped - t->start) / 1e6, t->minor_ns / 1e6,
		mr->prepare_ns / 1e6, mr->copy_ns / 1e6, mr->release_ns / 1e6,
		t->mark_ns / 1e6, t->sweep_ns / 1e6, mr->dirty_cards,
		mr->collected_objects + r->freed_objects, mr->promoted_objects,
		mr->promoted_bytes / 1048576.0, mr->pinned_objects,
		r->live_bytes / 1048576.0,
		atomic_load_relaxed(&heap.used) / 1048576.0,
		atomic_load_relaxed(&collector.threshold[0]) / 1048576.0,
		mr->young_bytes ? 100.0 * mr->young_survived / mr->young_bytes : 0.0,
		mr->gen1_bytes ? 100.0 - 100.0 * mr->gen1_survived / mr->gen1_bytes : 0.0,
		workers_count());
}

static void add_sweep(struct sweep_result *to, const struct sweep_result *r)
{
	to->freed_bytes += r->freed_bytes;
	to->freed_objects += r->freed_objects;
	to->live_bytes = r->live_bytes;
	to->live_objects = r->live_objects;
}

/* World stopped, the log drained: the remark that ends a concurrent
 * cycle (`paced`: before the collector thread was done). Large objects
 * are swept in it, generation 2's blocks afterwards, while the program
 * runs (sweep.h), so the pause does not grow with the old generation.
 * The next trigger needs what that sweep finds (after_sweep): until then
 * no cycle starts by growth, and what is allocated meanwhile counts
 * towards the next one. */
static void end_cycle(struct phase_times *t, bool paced)
{
	uint64_t t0 = gyre_now_ns();
	atomic_store_relaxed(&collector.low_memory, false);
	mark_old_finish();
	mark_final();
	if (gyre_cfg.verify)
		verify_old_marks("remark");
	satb_stop();
	uint64_t t1 = gyre_now_ns();
	sweep_old_begin();
	collector.cycle_black = atomic_load_relaxed(&collector.allocated) -
				atomic_load_relaxed(&collector.allocated_at_start);
	collector.cycle_paced = paced;
	atomic_store_relaxed(&collector.trigger, SIZE_MAX);
	atomic_store_relaxed(&collector.allocated, 0);
	t->mark_ns += t1 - t0;
	t->sweep_ns += gyre_now_ns() - t1;
	collector.remark_ns = gyre_now_ns();
}

/* Under `lock`: once the lazy sweep of the last remark has ended, its
 * figures go to the statistics (as generation 2's) and set the next
 * trigger. Returns the objects it freed, 0 if it was not over or was
 * already reported. */
static uint64_t after_sweep(void)
{
	struct sweep_result sr;
	if (!sweep_old_result(&sr))
		return 0;
	stats_note_swept(&sr);
	set_trigger(sr.live_bytes, collector.cycle_black, collector.cycle_paced,
		    sr.freed_bytes);
	if (gyre_cfg.trace)
		fprintf(stderr, "gyre: t=%.6f sweep of gen 2 ended %.1fms after the remark: "
			"freed=%zuobj/%.1fMiB live=%.1fMiB heap=%.1fMiB\n",
			gyre_now_ns() / 1e9, (gyre_now_ns() - collector.remark_ns) / 1e6,
			sr.freed_objects, sr.freed_bytes / 1048576.0,
			sr.live_bytes / 1048576.0,
			atomic_load_relaxed(&heap.used) / 1048576.0);
	return sr.freed_objects;
}

/* One collection of generations 0..gen (R_REMARK, R_PACE: the end of a
 * concurrent cycle, no minor collection); the caller holds
 * collector.lock and is RUNNING. Returns the objects freed. */
static uint64_t collect_run(struct mutator *m, unsigned gen, enum reason why)
{
	struct phase_times t = {.called = gyre_now_ns()};
	/* Taken here, in the frame that lives through the pause: this
	 * thread's stack is a root like the others. */
	context_save(&m->ctx);
	/* A minor collection after one that kept little and scanned few
	 * dirty cards (one with few survivors may still have a large old
	 * table to scan), with little in generation 1 if it is collected
	 * too, runs on this thread alone: waking and handing work to the
	 * other workers costs 80-100 us here (stopping 37 us, the pin pass
	 * 45-70 us instead of 20), more than they save on a small one. */
	bool solo = gen < 2 && collector.last_cards < SOLO_CARDS &&
		    collector.last_survived + (gen == 1 ? minor_gen1_bytes() : 0) < SOLO_BYTES;
	stw_stop_world(m);
	t.start = stw.requested_ns;
	prefault_hold(true);
	/* Workers wake now, not before the stop: a worker spinning while the
	 * world stops takes a core from a thread that has yet to reach its
	 * safepoint (bench/churn on 2 cores: stops of 2-5 ms, where the
	 * collector thread waited a whole scheduler tick). Their wake-up
	 * overlaps the pause's first steps instead. */
	if (!solo)
		workers_warm();
	/* [INV-DISABLE] No automatic collection runs while a thread holds a
	 * gyre_disable. The trigger checked before stopping, but a thread
	 * may have disabled since; it did so while running, before it parked
	 * or blocked, and the stop's seq_cst handshake [INV-STW-DEKKER]
	 * makes that store visible here. So this check, with the world
	 * stopped, is the one that holds. */
	if (why != R_EXPLICIT && !collect_enabled()) {
		workers_rest();
		prefault_hold(false);
		stw_start_world();
		return 0;
	}
	t.stopped = gyre_now_ns();
	bool end_only = why == R_REMARK || why == R_PACE;
	/* Ending a cycle moves nothing: threads keep their nursery buffers,
	 * unless the verifier is to parse the nursery. */
	unsigned allocators = 0;
	if (!end_only || gyre_cfg.verify)
		allocators = alloc_retire_all();
	bool cycle = mark_old_active();
	/* [INV-SATB] Before the minor collection moves or frees the young
	 * objects some entries name. */
	if (cycle)
		satb_drain_all(mark_old_shade);
	if (gyre_cfg.verify || gen == 2)
		large_prepare();
	if (gyre_cfg.verify)
		verify_heap("before collection");
	struct sweep_result r = {0};
	struct minor_result mr = {0};
	if (cycle && gen == 2)
		end_cycle(&t, why == R_PACE);
	/* [INV-UNSWEPT] Marking, and the roots' scan that starts a cycle,
	 * need every block swept: a stale word pointing at a dead object
	 * would bring it back, with fields that point at freed memory. The
	 * collector thread has usually finished long before. */
	if (gen == 2 && !end_only) {
		uint64_t t0 = gyre_now_ns();
		sweep_old_finish();
		t.sweep_ns += gyre_now_ns() - t0;
	}
	uint64_t swept = after_sweep();
	bool start = gen == 2 && !gyre_cfg.stw_mark &&
		     (why == R_GROWTH || why == R_LOW_MEMORY);
	if (!end_only) {
		uint64_t t0 = gyre_now_ns();
		mr = minor_collect(gen >= 1, gen == 2,
				   atomic_load_relaxed(&collector.threshold[0]) / GEN1_SHARE,
				   solo);
		t.minor_ns = gyre_now_ns() - t0;
		if (gen == 0) {
			collector.last_survived = mr.survived_bytes;
			collector.last_cards = mr.dirty_cards;
		}
		if (gen == 0 && atomic_load_relaxed(&collector.adaptive))
			atomic_store_relaxed(&collector.threshold[0],
					     sizer_next(t.minor_ns + (t.stopped - t.start),
							mr.copy_ns, t.start - t.called,
							mr.young_bytes, mr.young_survived,
							allocators));
		atomic_store_relaxed(&collector.young_count,
				     gen == 0 ? atomic_load_relaxed(&collector.young_count) + 1 : 0);
	}
	if (gen == 2 && !end_only) {
		atomic_store_relaxed(&collector.low_memory, false);
		if (gyre_cfg.verify)
			verify_heap("after minor");
	}
	if (start) {
		uint64_t t0 = gyre_now_ns();
		mark_old_start();
		t.mark_ns += gyre_now_ns() - t0;
		atomic_store_relaxed(&collector.allocated_at_start,
				     atomic_load_relaxed(&collector.allocated));
		collector.cycle_start_ns = gyre_now_ns();
	} else if (gen == 2 && !end_only) {
		uint64_t t0 = gyre_now_ns();
		mark_heap();
		mark_final();
		uint64_t t1 = gyre_now_ns();
		struct sweep_result sr = sweep_heap();
		add_sweep(&r, &sr);
		heap_prune_gen1();
		minor_recount();
		set_trigger(sr.live_bytes, 0, false, 0);
		atomic_store_relaxed(&collector.allocated, 0);
		stats_note_live(sr.live_bytes);
		t.mark_ns += t1 - t0;
		t.sweep_ns += gyre_now_ns() - t1;
	} else if (gen < 2) {
		collect_note_alloc(mr.gen2_bytes);
	}
	if (gyre_cfg.verify)
		verify_heap("after collection");
	atomic_store_relaxed(&collector.epoch,
			     atomic_load_relaxed(&collector.epoch) + 1);
	t.end = gyre_now_ns();
	/* The pause that starts a cycle collects generations 0 and 1; the
	 * remark counts as the collection of generation 2. Counted before
	 * the world restarts, so a running thread sees the count change only
	 * across a collection that stopped it or ran while it was blocking:
	 * comparing gyre_stats.collections before and after a stretch of its
	 * code tells whether one ran inside it. */
	unsigned counted = start ? 1 : gen;
	stats_note_collection(counted, t.end - t.start, t.stopped - t.start, t.mark_ns,
			      t.sweep_ns, &mr, &r);
	workers_rest();
	prefault_hold(false);
	stw_start_world();
	final_wake();
	if (start)
		marker_wake();
	if (gyre_cfg.trace)
		trace_line(counted, why, start, cycle && gen == 2, &t, &mr, &r);
	if (gen < 2)
		check_free_floor();
	return mr.collected_objects + r.freed_objects + swept;
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
	/* A concurrent cycle in progress is the collection of generation 2
	 * that these triggers would ask for; but once it has itself
	 * allocated the whole allowance (set_trigger), or the log is
	 * backlogged, the collector thread is falling behind, and this pause
	 * ends the cycle (the rest of the marking then runs on every
	 * worker). */
	bool cycle = mark_old_active();
	size_t allocated = atomic_load_relaxed(&collector.allocated);
	if (cycle ? allocated - atomic_load_relaxed(&collector.allocated_at_start) >=
		    atomic_load_relaxed(&collector.pace_limit) || satb_backlogged()
		  : allocated >= atomic_load_relaxed(&collector.trigger)) {
		*why = cycle ? R_PACE : R_GROWTH;
		return 2;
	}
	if (!cycle && atomic_load_relaxed(&collector.low_memory)) {
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

enum for_space collect_for_space(struct mutator *m)
{
	if (!collect_enabled())
		return FOR_SPACE_NONE;
	uint64_t seen = lock_collector(m);
	/* Disabled while we waited: no need to stop the world only for
	 * collect_run to call the collection off [INV-DISABLE]. */
	enum for_space ran = FOR_SPACE_NONE;
	if (collect_enabled()) {
		/* One that ran while we waited freed what it could: retry
		 * first. */
		ran = FOR_SPACE_OTHER;
		if (atomic_load_relaxed(&collector.epoch) == seen) {
			collect_run(m, 2, R_FULL);
			ran = FOR_SPACE_OWN;
		}
	}
	pthread_mutex_unlock(&collector.lock);
	return ran;
}

uint64_t collect_explicit(struct mutator *m, unsigned gen)
{
	lock_collector(m);
	uint64_t freed = collect_run(m, gen, R_EXPLICIT);
	pthread_mutex_unlock(&collector.lock);
	return freed;
}

bool collect_remark(struct mutator *m, uint64_t cycle)
{
	lock_collector(m);
	/* While it waited for the lock, other pauses may have ended that
	 * cycle and started the next, whose marking has only begun. */
	bool ours = mark_old_active() && mark_old_cycle() == cycle;
	/* Disabled: no need to stop the world only for collect_run to call
	 * the remark off [INV-DISABLE]. */
	if (ours && collect_enabled())
		collect_run(m, 2, R_REMARK);
	bool over = !mark_old_active() || mark_old_cycle() != cycle;
	pthread_mutex_unlock(&collector.lock);
	return over;
}

void collect_end_cycle_early(struct mutator *m)
{
	if (!collect_enabled())
		return;
	lock_collector(m);
	if (mark_old_active() && satb_backlogged())
		collect_run(m, 2, R_PACE);
	pthread_mutex_unlock(&collector.lock);
}

void collect_sweep_end(struct mutator *m)
{
	lock_collector(m);
	after_sweep();
	pthread_mutex_unlock(&collector.lock);
}

bool collect_start_cycle(struct mutator *m)
{
	lock_collector(m);
	bool start = !mark_old_active() && !gyre_cfg.stw_mark && collect_enabled();
	if (start)
		collect_run(m, 2, R_GROWTH);
	start = start && mark_old_active();
	pthread_mutex_unlock(&collector.lock);
	return start;
}
