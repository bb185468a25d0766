/*
 * pacer.c: when collections are due (gc/README.md, "Triggers"): the
 * driver's settings (thresholds, disables), its counters, the trigger of
 * generation 2 after each of its collections, and the test each
 * allocation slow path makes (pacer_due).
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gc/driver/collect.h"
#include "gc/driver/collect_impl.h"
#include "gc/driver/limit.h"
#include "gc/old/mark.h"
#include "gc/old/satb.h"
#include "gc/young/nursery.h"
#include "gc/young/sizer.h"
#include "runtime/config.h"

int collect_init(void)
{
	atomic_store_relaxed(&collector.epoch, 0);
	atomic_store_relaxed(&collector.allocated, 0);
	atomic_store_relaxed(&collector.allocated_since_ns, gyre_now_ns());
	collector.by_time = false;
	atomic_store_relaxed(&collector.time_off, false);
	atomic_store_relaxed(&collector.trigger, gyre_cfg.heap_min);
	atomic_store_relaxed(&collector.pace_limit, gyre_cfg.heap_min);
	atomic_store_relaxed(&collector.snapshot_ns, gyre_now_ns());
	atomic_store_relaxed(&collector.time_share, gyre_cfg.heap_min / TIME_SHARE);
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
	collector.phase = OLD_IDLE;
	limit_init();
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
 * `paced`: it needed marking increments), and freed under an eighth of
 * what it swept (`freed`), marked a heap that is only growing: collecting
 * it again as soon is pointless, and would need increments again. The
 * allowance is then twice the last one, up to half the live size (GCBench
 * building its 128 MiB tree, kvserver filling its cache: cycles that
 * freed nothing ended in 22-60 ms pauses, one after the other, before
 * increments). A concurrent cycle allocates while it marks, so it starts
 * early, by twice what the last one allocated (a margin for a slower
 * cycle; Go's pacer does the same), but not before a quarter of the
 * allowance is used; if it still reaches the allowance, pauses mark in
 * bounded increments (R_PACE, pause_increment).
 *
 * With a memory limit, the allowance is capped by the room left under it
 * (limit_room: what the heap in use may still grow by), less a nursery,
 * which fills between two minor collections on top of what generation 2
 * grows by, and the limit's reserve (LIMIT_RESERVE): the heap then
 * reaches the limit only when the next cycle ends, and as the live data
 * grows towards the limit, cycles start ever earlier. Never below LIMIT_MIN_ALLOW: a cycle needs room to allocate
 * while it marks; when even that is missing, the live data does not fit,
 * cycles follow each other, and the cap on the collector's share of time
 * (limit.c) lets the heap pass the limit. */
void pacer_set_trigger(size_t live, size_t black, bool paced, size_t freed)
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
	size_t room = limit_room(), nursery = atomic_load_relaxed(&collector.threshold[0]);
	if (room != SIZE_MAX) {
		size_t keep = nursery + LIMIT_RESERVE(gyre_cfg.memory_limit);
		size_t cap = room > keep + LIMIT_MIN_ALLOW ? room - keep : LIMIT_MIN_ALLOW;
		allow = cap < allow ? cap : allow;
	}
	size_t early = 2 * collector.cycle_black;
	size_t next = gyre_cfg.stw_mark ? allow
		      : early < allow - allow / 4 ? allow - early : allow / 4;
	atomic_store_relaxed(&collector.pace_limit, allow);
	atomic_store_relaxed(&collector.trigger, next);
	size_t share = (real > gyre_cfg.heap_min ? real : gyre_cfg.heap_min) / TIME_SHARE;
	atomic_store_relaxed(&collector.time_share, share);
	/* [time trigger] A collection by time that freed under an eighth of
	 * what it swept found a heap that is not dying (one that builds up,
	 * or a large one that changes slowly): none starts by time again
	 * until growth has started one, so such a program runs at most one
	 * collection by time per collection by growth. */
	atomic_store_relaxed(&collector.time_off,
			     collector.by_time && freed < (live + freed) / 8);
}


size_t collect_allowance(void)
{
	return atomic_load_relaxed(&collector.pace_limit);
}


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
void pacer_check_free_floor(void)
{
	if (gyre_cfg.free_floor && machine_available() < gyre_cfg.free_floor)
		atomic_store_relaxed(&collector.low_memory, true);
}


/* [copy reserve] Near heap_max a minor collection is due before the
 * nursery outgrows the room left to copy its survivors into: twice what
 * it handed out, for the copies' size-class rounding and the workers'
 * part-filled runs. Without it a nursery larger than that room (a 16 MiB
 * one in a full 64 MiB heap) left its survivors in place for want of
 * to-space, and the blocks they held failed allocation with 11 MiB live.
 * Far from heap_max it never fires. Relaxed: a trigger. */
static bool copy_reserve_short(size_t handed)
{
	return heap_room() < 2 * handed;
}

/* [time trigger] Growth measures what the program adds to generation 2,
 * not what dies in it: a program that built a large heap and then drops
 * most of it while it goes on allocating at its usual pace waits for an
 * allowance that was sized for the whole heap (growth% of it, doubled
 * while it was only growing) before anything is freed (bench/shrink: up
 * to 7 s after dropping 90% of 1.2 GiB). So a cycle is also due once
 * CYCLE_INTERVAL_NS has passed since the last snapshot of generation 2
 * (the start of the last cycle, or the last full collection), provided
 * - the program has since added a TIME_SHARE-th of what that collection
 *   found live to generation 2 (an idle program has changed little);
 * - at the pace generation 2 has grown since `allocated` was last reset,
 *   growth would not trigger within half an interval: a program that
 *   builds up reaches its allowance soon and gets its cycles by growth
 *   (a cycle by time would only find its data alive; bench/shrink's fill
 *   at 250-580 MB/s had growth 0.2-0.3 s away, its churn after the drop
 *   0.7 s and more);
 * - the last collection by time freed something (time_off, above);
 * - the last lazy sweep has been counted (`trigger` is set again then).
 * Relaxed loads: a late sight delays a trigger by an allocation slow
 * path. The clock is read only past the cheap tests; the pace is
 * compared in doubles (bytes times nanoseconds overflow 64 bits). */
static bool time_due(size_t allocated)
{
	size_t trigger = atomic_load_relaxed(&collector.trigger);
	if (allocated < atomic_load_relaxed(&collector.time_share) || trigger == SIZE_MAX ||
	    atomic_load_relaxed(&collector.time_off))
		return false;
	uint64_t now = gyre_now_ns();
	if (now - atomic_load_relaxed(&collector.snapshot_ns) < CYCLE_INTERVAL_NS)
		return false;
	double left = trigger > allocated ? (double)(trigger - allocated) : 0;
	double since = (double)(now - atomic_load_relaxed(&collector.allocated_since_ns));
	return 2 * left * since > (double)allocated * CYCLE_INTERVAL_NS;
}

/* The collection a trigger asks for: 0, 1 or 2, or -1 for none. */
int pacer_due(enum reason *why)
{
	if (!collect_enabled())
		return -1;
	/* The memory limit's backstop to the capped allowance: the heap in
	 * use (the nursery's blocks included) is within what a minor
	 * collection may add to it (a quarter of a nursery: generation 1's
	 * share) of the limit, during a cycle (it allocates while it marks)
	 * or once the last cycle's sweep is over (cycles did not keep it
	 * under: fragmentation, what they allocated while marking), or the
	 * limit applies again after a stretch over the collector's share of
	 * time. Before the other triggers: this one asks for a full,
	 * compacting collection, which ends a cycle in progress. */
	if (limit_due(atomic_load_relaxed(&collector.threshold[0]) / GEN1_SHARE)) {
		*why = R_LIMIT;
		return 2;
	}
	/* A concurrent cycle in progress is the collection of generation 2
	 * that these triggers would ask for; but once it has itself
	 * allocated the whole allowance (set_trigger), or the log is
	 * backlogged, the collector thread is falling behind, and this pause
	 * ends the cycle (the rest of the marking then runs on every
	 * worker). */
	bool cycle = mark_old_active();
	size_t allocated = atomic_load_relaxed(&collector.allocated);
	if (cycle ? allocated - atomic_load_relaxed(&collector.allocated_at_start) >=
		    atomic_load_relaxed(&collector.pace_next) || satb_backlogged()
		  : allocated >= atomic_load_relaxed(&collector.trigger)) {
		*why = cycle ? R_PACE : R_GROWTH;
		return 2;
	}
	if (!cycle && time_due(allocated)) {
		*why = R_TIME;
		return 2;
	}
	if (!cycle && atomic_load_relaxed(&collector.low_memory)) {
		*why = R_LOW_MEMORY;
		return 2;
	}
	size_t handed = atomic_load_relaxed(&nursery.handed);
	if (handed < atomic_load_relaxed(&collector.threshold[0]) &&
	    !copy_reserve_short(handed))
		return -1;
	if (atomic_load_relaxed(&collector.young_count) + 1 >=
	    atomic_load_relaxed(&collector.threshold[1])) {
		*why = R_GEN1;
		return 1;
	}
	*why = R_NURSERY;
	return 0;
}

