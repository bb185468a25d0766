/*
 * collect.c: the collection driver. Every pause is one of four kinds, each
 * a straight-line function that reads like its phase list:
 *
 *   young   stop · retire buffers · drain the log · copy generation 0
 *           (and 1) from roots and cards · release · restart
 *   start   stop · retire buffers · [finish the last sweep] · young,
 *           promoting all · shade roots · log on · restart · wake the
 *           collector thread
 *   remark  stop · drain the logs · finish marking · weak references,
 *           ephemerons, finalizers · sweep large objects · restart; the
 *           collector thread then sweeps generation 2 (lazily)
 *   full    stop · retire buffers · [remark] · [finish the sweep] · young,
 *           promoting all · [unfreeze] · mark · weak references,
 *           ephemerons, finalizers · sweep · [freeze] · restart
 *
 * The old generation's phase (idle, marking, sweeping) changes in one
 * place, set_phase, which rejects an illegal edge. A collection of
 * generation 2 that a trigger asks for starts a concurrent cycle (unless
 * stw_mark): its collector thread (marker.c) traces while the program
 * runs, and asks for the remark. A collection that must free all it can
 * (gyre_collect(2), a full heap) is full: it ends a cycle in progress and
 * collects with the world stopped, in the same pause. A generation-2
 * collection first runs a minor one that sends every survivor to
 * generation 2 (aging them normally instead was measured: no change on
 * GCBench).
 *
 * Only one collection runs at a time (collector.lock); a thread that
 * waits for that lock does so inside a blocking region, so it never holds
 * up the collection it waits behind.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gc/young/alloc.h"
#include "gc/driver/collect.h"
#include "gc/driver/collect_impl.h"
#include "gc/driver/limit.h"
#include "gc/final/final.h"
#include "gc/heap/freeze.h"
#include "gc/heap/large.h"
#include "gc/old/compact.h"
#include "gc/old/marker.h"
#include "gc/old/mark.h"
#include "gc/young/minor.h"
#include "gc/young/nursery.h"
#include "gc/heap/prefault.h"
#include "gc/old/satb.h"
#include "gc/young/sizer.h"
#include "gc/old/sweep.h"
#include "gc/driver/verify.h"
#include "runtime/config.h"
#include "runtime/events.h"
#include "runtime/stats.h"
#include "threads/safepoint.h"
#include "threads/workers.h"

static const char *const reasons[] = {"nursery", "gen1", "growth", "full",
				      "explicit", "low-memory", "remark", "pace",
				      "freeze", "unfreeze", "limit", "time"};

struct collector_state collector = {.lock = PTHREAD_MUTEX_INITIALIZER};
LOCK_RANKED(LOCK_COLLECTOR, &collector.lock, 1, sizeof(pthread_mutex_t))


static void trace_line(unsigned gen, enum reason why, bool started, bool ended,
		       bool increment, const struct phase_times *t,
		       const struct minor_result *mr, const struct sweep_result *r)
{
	char cycle[64] = "";
	if (started)
		snprintf(cycle, sizeof(cycle), " (cycle started)");
	else if (increment && !ended)
		snprintf(cycle, sizeof(cycle), " (increment)");
	else if (ended)
		snprintf(cycle, sizeof(cycle), " (cycle ended, %.1fms after its start)",
			 (t->start - collector.cycle_start_ns) / 1e6);
	fprintf(stderr,
		"gyre: t=%.6f gc %llu gen=%u reason=%s%s pause=%.3fms (wait %.3f stop %.3f minor %.3f "
		"[prepare %.3f copy %.3f release %.3f] mark %.3f sweep %.3f) "
		"cards=%zu freed=%zuobj promoted=%zuobj/%.1fMiB in_place=%zublk/%.1fMiB "
		"pinned=%zu live=%.1fMiB "
		"heap=%.1fMiB nursery=%.1fMiB survived=%.0f%% gen1_died=%.0f%% workers=%u\n",
		t->start / 1e9, (unsigned long long)atomic_load_relaxed(&collector.epoch), gen,
		reasons[why], cycle,
		(t->end - t->start) / 1e6, (t->requested - t->called) / 1e6,
		(t->stopped - t->requested) / 1e6, t->minor_ns / 1e6,
		mr->prepare_ns / 1e6, mr->copy_ns / 1e6, mr->release_ns / 1e6,
		t->mark_ns / 1e6, t->sweep_ns / 1e6, mr->dirty_cards,
		mr->collected_objects + r->freed_objects, mr->promoted_objects,
		mr->promoted_bytes / 1048576.0, mr->in_place_blocks,
		mr->in_place_bytes / 1048576.0, mr->pinned_objects,
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

/* ------------------------------------------------ the old generation's phase */

static const char *const phase_names[] = {"idle", "marking", "sweeping"};

/* Under `lock`: the one place the old generation's phase changes. The
 * legal edges: idle -> marking (a cycle's start), marking -> sweeping
 * (its remark), sweeping -> idle (its lazy sweep has ended and been
 * counted). */
static void set_phase(enum old_phase to)
{
	enum old_phase from = collector.phase;
	bool legal = (from == OLD_IDLE && to == OLD_MARKING) ||
		     (from == OLD_MARKING && to == OLD_SWEEPING) ||
		     (from == OLD_SWEEPING && to == OLD_IDLE);
	if (!legal)
		gyre_fatal("collector: old generation phase %s -> %s is not legal",
			   phase_names[from], phase_names[to]);
	collector.phase = to;
}

/* Under `lock`: the phase agrees with marking and sweeping. */
static void check_phase(void)
{
	GYRE_ASSERT((collector.phase == OLD_MARKING) == mark_old_active());
	GYRE_ASSERT(!sweep_old_pending() || collector.phase == OLD_SWEEPING);
}

/* World stopped, the log drained: the remark that ends a concurrent
 * cycle. Large objects are swept in it, generation 2's blocks
 * afterwards, while the program runs (sweep.h), so the pause does not grow with the old generation.
 * The next trigger needs what that sweep finds (after_sweep): until then
 * no cycle starts by growth, and what is allocated meanwhile counts
 * towards the next one. */
static void end_cycle(struct phase_times *t, struct compact_result *cr)
{
	uint64_t t0 = gyre_now_ns();
	atomic_store_relaxed(&collector.low_memory, false);
	mark_old_finish();
	mark_final();
	if (gyre_cfg.verify)
		verify_old_marks("remark");
	satb_stop();
	if (cr)
		compact_cycle_remark(cr);
	else
		compact_cycle_abandon();
	uint64_t t1 = gyre_now_ns();
	sweep_old_begin();
	if (cr && cr->blocks) {
		sweep_old_uncount(cr->objects - cr->overwritten_objects,
				  cr->bytes - cr->overwritten_bytes);
		stats_note_compaction(cr, cr->evacuate_ns + cr->update_ns);
	}
	set_phase(OLD_SWEEPING);
	collector.cycle_black = atomic_load_relaxed(&collector.allocated) -
				atomic_load_relaxed(&collector.allocated_at_start);
	atomic_store_relaxed(&collector.trigger, SIZE_MAX);
	atomic_store_relaxed(&collector.allocated, 0);
	atomic_store_relaxed(&collector.allocated_since_ns, gyre_now_ns());
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
	set_phase(OLD_IDLE);
	stats_note_swept(&sr);
	limit_note_swept(atomic_load_relaxed(&collector.threshold[0]) / GEN1_SHARE);
	pacer_set_trigger(sr.live_bytes, collector.cycle_black, collector.cycle_increments > 0,
		    sr.freed_bytes);
	/* The look a collection's end asked for came before its lazy sweep
	 * freed anything: one that freed more than it left asks again. */
	if (sr.freed_bytes > sr.live_bytes)
		prefault_stir();
	if (gyre_cfg.trace)
		fprintf(stderr, "gyre: t=%.6f sweep of gen 2 ended %.1fms after the remark: "
			"freed=%zuobj/%.1fMiB live=%.1fMiB heap=%.1fMiB\n",
			gyre_now_ns() / 1e9, (gyre_now_ns() - collector.remark_ns) / 1e6,
			sr.freed_objects, sr.freed_bytes / 1048576.0,
			sr.live_bytes / 1048576.0,
			atomic_load_relaxed(&heap.used) / 1048576.0);
	return sr.freed_objects;
}

/* World stopped: [INV-UNSWEPT] marking, and the roots' scan that starts a
 * cycle, need every block swept (a stale word pointing at a dead object
 * would bring it back, with fields that point at freed memory). The
 * collector thread has usually finished long before. */
static uint64_t finish_sweep(struct phase_times *t)
{
	uint64_t t0 = gyre_now_ns();
	sweep_old_finish();
	t->sweep_ns += gyre_now_ns() - t0;
	uint64_t freed = after_sweep();
	GYRE_ASSERT(collector.phase == OLD_IDLE);
	return freed;
}

/* ------------------------------------------------------------- the pauses */

/* What one pause did, for its statistics and trace line. */
struct pause {
	struct mutator *m;
	enum reason why;
	struct phase_times t;
	struct minor_result mr;
	struct sweep_result r;
	unsigned allocators;  /* threads that allocated since the last one */
	uint64_t swept;       /* objects of a lazy sweep counted in it */
	bool started, ended;  /* it started, or ended, a concurrent cycle */
	bool increment;       /* it marked for a bounded time */
};

/* Stops the world (the caller holds `lock` and is RUNNING); false, with
 * the world running again, if the pause is called off [INV-DISABLE]. The
 * caller's frame lives through the pause (collect_run saved its context:
 * its stack is a root like the others). `workers`: wake the workers (a
 * pause that works on this thread alone does not). */
static bool pause_begin(struct pause *p, bool workers)
{
	stw_stop_world(p->m);
	p->t.requested = stw.requested_ns;
	p->t.start = stw_paused_since(p->m);
	prefault_hold(true);
	/* Workers wake now, not before the stop: a worker spinning while the
	 * world stops takes a core from a thread that has yet to reach its
	 * safepoint (bench/churn on 2 cores: stops of 2-5 ms, where the
	 * collector thread waited a whole scheduler tick). Their wake-up
	 * overlaps the pause's first steps instead. */
	if (workers)
		workers_warm();
	/* [INV-DISABLE] No automatic collection runs while a thread holds a
	 * gyre_disable. The trigger checked before stopping, but a thread
	 * may have disabled since; it did so while running, before it parked
	 * or blocked, and the stop's seq_cst handshake [INV-STW-DEKKER]
	 * makes that store visible here. So this check, with the world
	 * stopped, is the one that holds. */
	bool asked = p->why == R_EXPLICIT || p->why == R_FREEZE || p->why == R_UNFREEZE;
	if (!asked && !collect_enabled()) {
		workers_rest();
		prefault_hold(false);
		stw_start_world();
		return false;
	}
	p->t.stopped = gyre_now_ns();
	check_phase();
	p->swept = after_sweep();
	return true;
}

/* The steps every pause that moves objects begins with: every thread's
 * nursery buffer ends, [INV-SATB] the log is drained before a minor
 * collection moves or frees the young objects some entries name, and the
 * heap is verified. */
static void pause_prepare(struct pause *p, bool large_sorted)
{
	p->allocators = alloc_retire_all();
	if (mark_old_active())
		satb_drain_all(mark_old_shade);
	if (gyre_cfg.verify || large_sorted)
		large_prepare();
	if (gyre_cfg.verify) {
		uint64_t t0 = gyre_now_ns();
		verify_heap("before collection");
		p->t.verify_ns += gyre_now_ns() - t0;
	}
}

/* Copies the nursery's survivors (and generation 1's with `gen1`), or
 * with `all` sends every survivor to generation 2. */
static void young(struct pause *p, bool gen1, bool all, bool solo)
{
	uint64_t t0 = gyre_now_ns();
	size_t room = heap_room();
	/* Headroom, not room: a limit given up (limit_room's SIZE_MAX)
	 * still makes holes cost memory the program cannot spare. */
	size_t limit = limit_headroom();
	p->mr = minor_collect(gen1, all,
			      atomic_load_relaxed(&collector.threshold[0]) / GEN1_SHARE, solo,
			      limit < room ? limit : room);
	p->t.minor_ns = gyre_now_ns() - t0;
	atomic_store_relaxed(&collector.young_count,
			     gen1 ? 0 : atomic_load_relaxed(&collector.young_count) + 1);
}

/* What a pause that marks generation 2 begins with: [INV-UNSWEPT] the
 * last lazy sweep finished, then a young collection that sends every
 * survivor to generation 2. */
static void young_all(struct pause *p)
{
	p->swept += finish_sweep(&p->t);
	atomic_store_relaxed(&collector.low_memory, false);
	young(p, true, true, false);
	if (gyre_cfg.verify)
		verify_heap("after minor");
}

/* Ends every pause: verification, counters, restart, then what runs with
 * the world running again. `counted`: the generation it counts as. */
static uint64_t pause_end(struct pause *p, unsigned counted)
{
	if (gyre_cfg.verify)
		verify_heap("after collection");
	check_phase();
	atomic_store_relaxed(&collector.epoch,
			     atomic_load_relaxed(&collector.epoch) + 1);
	p->t.end = gyre_now_ns();
	/* Counted before the world restarts, so a running thread sees the
	 * count change only across a collection that stopped it or ran
	 * while it was blocking: comparing gyre_stats.collections before and
	 * after a stretch of its code tells whether one ran inside it. */
	if (p->increment && !p->ended)
		stats_note_increment(p->t.end - p->t.start, p->t.mark_ns);
	else
		stats_note_collection(counted, p->t.end - p->t.start,
				      p->t.stopped - p->t.start, p->t.mark_ns,
				      p->t.sweep_ns, &p->mr, &p->r);
	events_pause(&(struct events_pause){
		.generation = counted, .reason = reasons[p->why],
		.collection = !p->increment || p->ended, .started = p->started,
		.ended = p->ended, .start_ns = p->t.start, .end_ns = p->t.end,
		.freed = p->mr.collected_bytes + p->r.freed_bytes,
		.promoted = p->mr.promoted_bytes});
	workers_rest();
	prefault_hold(false);
	stw_start_world();
	/* The memory limit's cap counts every pause whole: all the threads
	 * were stopped. */
	limit_note_gc(gyre_now_ns() - p->t.start);
	final_wake();
	if (p->started)
		marker_wake();
	if (gyre_cfg.trace)
		trace_line(counted, p->why, p->started, p->ended, p->increment, &p->t, &p->mr,
			   &p->r);
	if (counted < 2 && !p->started)
		pacer_check_free_floor();
	/* A lazy sweep's objects count for the collections of generation
	 * 2 that reported it (gyre_collect(0) returns what it freed). */
	return p->mr.collected_objects + p->r.freed_objects + (counted == 2 ? p->swept : 0);
}

/* With GYRE_TRACE, after the pause: what a compaction moved. */
static void trace_compaction(const struct compact_result *cr, uint64_t at)
{
	if (!gyre_cfg.trace || !cr->blocks)
		return;
	fprintf(stderr, "gyre: t=%.6f compaction in gc %llu: %zu blocks evacuated, "
		"%zu objects (%.1f MiB) moved, %zu stayed, in %.3fms (census %.3f "
		"evacuate %.3f update %.3f)\n",
		at / 1e9, (unsigned long long)atomic_load_relaxed(&collector.epoch),
		cr->blocks, cr->objects, cr->bytes / 1048576.0, cr->stayed,
		(cr->census_ns + cr->evacuate_ns + cr->update_ns) / 1e6,
		cr->census_ns / 1e6, cr->evacuate_ns / 1e6, cr->update_ns / 1e6);
}

/* young: stop · retire buffers · drain the log · copy generation 0 (and
 * 1) from roots and cards · release · restart. A collection after one
 * that kept little and scanned few dirty cards (one with few survivors
 * may still have a large old table to scan), with little in generation 1
 * if it is collected too, runs on this thread alone: waking and handing
 * work to the other workers costs 80-100 us here (stopping 37 us, the pin
 * pass 45-70 us instead of 20), more than they save on a small one. */
static uint64_t pause_young(struct pause *p, bool gen1)
{
	bool solo = collector.last_cards < SOLO_CARDS &&
		    collector.last_survived + (gen1 ? minor_gen1_bytes() : 0) < SOLO_BYTES;
	if (!pause_begin(p, !solo))
		return 0;
	pause_prepare(p, false);
	young(p, gen1, false, solo);
	if (!gen1) {
		collector.last_survived = p->mr.survived_bytes;
		collector.last_cards = p->mr.dirty_cards;
		if (atomic_load_relaxed(&collector.adaptive))
			atomic_store_relaxed(&collector.threshold[0],
					     sizer_next(p->t.minor_ns + (p->t.stopped - p->t.requested),
							p->mr.copy_ns, p->t.requested - p->t.called,
							p->mr.young_bytes, p->mr.young_survived,
							p->allocators));
	}
	collect_note_alloc(p->mr.gen2_bytes);
	return pause_end(p, gen1 ? 1 : 0);
}

/* start: stop · retire buffers · [finish the last sweep] · young (promote
 * all) · shade roots · log on · restart · wake the collector thread.
 * Every survivor goes to generation 2, as Python's collect(2) leaves
 * every survivor in the oldest generation; the cycle then sees the young
 * objects that stayed pinned as the only ones outside it. Counted as a
 * collection of generation 1; the remark counts as generation 2's. */
static uint64_t pause_start(struct pause *p)
{
	GYRE_ASSERT(collector.phase != OLD_MARKING);
	if (!pause_begin(p, true))
		return 0;
	pause_prepare(p, true);
	young_all(p);
	compact_cycle_choose();
	uint64_t t0 = gyre_now_ns();
	mark_old_start();
	set_phase(OLD_MARKING);
	p->t.mark_ns += gyre_now_ns() - t0;
	atomic_store_relaxed(&collector.allocated_at_start,
			     atomic_load_relaxed(&collector.allocated));
	atomic_store_relaxed(&collector.pace_next, atomic_load_relaxed(&collector.pace_limit));
	collector.cycle_increments = 0;
	collector.cycle_start_ns = gyre_now_ns();
	atomic_store_relaxed(&collector.snapshot_ns, collector.cycle_start_ns);
	collector.by_time = p->why == R_TIME;
	p->started = true;
	return pause_end(p, 1);
}

/* The steps of a pause that moves nothing: threads keep their nursery
 * buffers (unless the verifier is to parse the nursery); the log is
 * drained. */
static void pause_prepare_still(struct pause *p)
{
	if (gyre_cfg.verify) {
		pause_prepare(p, true);
	} else {
		satb_drain_all(mark_old_shade);
		large_prepare();
	}
}

/* The end of a pause that ends the cycle (a remark, or an increment that
 * found nothing left): the remark's steps, then restart. A cycle that
 * compacts first retires the threads' nursery buffers, so that its
 * compaction can parse and update every young object (compact_cycle.c). */
static uint64_t end_cycle_pause(struct pause *p)
{
	if (compact_cycle_planned())
		p->allocators = alloc_retire_all();
	struct compact_result cr;
	end_cycle(&p->t, &cr);
	p->ended = true;
	uint64_t freed = pause_end(p, 2);
	trace_compaction(&cr, p->t.start);
	return freed;
}

/* remark: stop · drain the logs · finish marking · weak references,
 * ephemerons, finalizers · [compact] · large objects swept · restart
 * (generation 2's blocks are swept afterwards). */
static uint64_t pause_remark(struct pause *p)
{
	GYRE_ASSERT(collector.phase == OLD_MARKING);
	if (!pause_begin(p, true))
		return 0;
	pause_prepare_still(p);
	return end_cycle_pause(p);
}

/* increment: stop · drain the logs · mark in parallel until the pause
 * target · [remark, if nothing is left] · restart. The program allocates
 * faster than the collector thread marks (the cycle has allocated its
 * allowance, or its log is backlogged): instead of ending the cycle in
 * one pause as long as the rest of its marking (20-150 ms on bench/churn),
 * each increment marks for what is left of the pause target, at least
 * MIN_INCREMENT_NS, and the next one waits until the program has
 * allocated another INCREMENT_SHARE-th of the allowance, so that the
 * program runs between them. Counted as a pause of generation 2, not a
 * collection, unless it ends the cycle (then it is the remark). */
static uint64_t pause_increment(struct pause *p)
{
	GYRE_ASSERT(collector.phase == OLD_MARKING);
	if (!pause_begin(p, true))
		return 0;
	pause_prepare_still(p);
	p->increment = true;
	collector.cycle_increments++;
	uint64_t t0 = gyre_now_ns();
	uint64_t target = (uint64_t)gyre_cfg.pause_target_us * 1000;
	/* The verifier's checks do not count: with GYRE_VERIFY=1 an
	 * increment marks as much as it would without. */
	uint64_t spent = t0 - p->t.start - p->t.verify_ns;
	uint64_t budget = spent + MIN_INCREMENT_NS < target ? target - spent : MIN_INCREMENT_NS;
	bool done = mark_old_increment(t0 + budget);
	p->t.mark_ns += gyre_now_ns() - t0;
	if (done)
		return end_cycle_pause(p);
	size_t used = atomic_load_relaxed(&collector.allocated) -
		      atomic_load_relaxed(&collector.allocated_at_start);
	atomic_store_relaxed(&collector.pace_next,
			     used + atomic_load_relaxed(&collector.pace_limit) / INCREMENT_SHARE);
	return pause_end(p, 2);
}

/* full: stop · retire buffers · [end the cycle: remark] · [finish the
 * sweep] · young (promote all) · [unfreeze] · mark · weak references,
 * ephemerons, finalizers · sweep · [freeze] · restart. What must free all
 * it can (gyre_collect(2), a full heap): it also frees what a concurrent
 * cycle would keep, the objects that died during it. gyre_freeze and
 * gyre_unfreeze are full collections too (gc/heap/freeze.h). */
static uint64_t pause_full(struct pause *p)
{
	if (!pause_begin(p, true))
		return 0;
	pause_prepare(p, true);
	if (collector.phase == OLD_MARKING) {
		end_cycle(&p->t, NULL);
		p->ended = true;
	}
	young_all(p);
	if (p->why == R_UNFREEZE)
		unfreeze_heap();
	uint64_t t0 = gyre_now_ns();
	atomic_store_relaxed(&collector.snapshot_ns, t0);
	collector.by_time = p->why == R_TIME;
	mark_heap();
	mark_final();
	uint64_t t1 = gyre_now_ns();
	struct compact_result cr;
	compact_heap(&cr);
	uint64_t t2 = gyre_now_ns();
	struct sweep_result sr = sweep_heap();
	compact_fix_counts(&cr, &sr);
	if (p->why == R_FREEZE)
		freeze_heap(&sr);
	add_sweep(&p->r, &sr);
	heap_prune_gen1();
	minor_recount();
	limit_note_full(atomic_load_relaxed(&collector.threshold[0]) / GEN1_SHARE);
	pacer_set_trigger(sr.live_bytes, 0, false, sr.freed_bytes);
	atomic_store_relaxed(&collector.allocated, 0);
	atomic_store_relaxed(&collector.allocated_since_ns, gyre_now_ns());
	stats_note_live(&sr);
	p->t.mark_ns += t1 - t0;
	p->t.sweep_ns += gyre_now_ns() - t2;
	if (cr.blocks)
		stats_note_compaction(&cr, t2 - t1);
	uint64_t freed = pause_end(p, 2);
	trace_compaction(&cr, t1);
	return freed;
}

/* One collection of generations 0..gen for `why` (R_REMARK: the end of a
 * concurrent cycle; R_PACE: an increment of it); the caller holds
 * collector.lock and is
 * RUNNING. A collection of generation 2 that a trigger asks for starts a
 * concurrent cycle (unless stw_mark); one that must free all it can is
 * full: a full heap, and the memory limit reached although the capped
 * allowance started cycles early (pacer_set_trigger): a cycle keeps
 * what it allocated while it marked and frees no block that is partly
 * used, and only compaction gives those back. Returns the objects
 * freed. */
static uint64_t collect_run(struct mutator *m, unsigned gen, enum reason why)
{
	struct pause p = {.m = m, .why = why, .t.called = gyre_now_ns()};
	/* Taken here, in the frame that lives through the pause: this
	 * thread's stack is a root like the others. */
	context_save(&m->ctx);
	if (why == R_REMARK)
		return pause_remark(&p);
	if (why == R_PACE)
		return pause_increment(&p);
	if (gen < 2)
		return pause_young(&p, gen == 1);
	if (why == R_LIMIT)
		limit_note_reached();
	if ((why == R_GROWTH || why == R_LOW_MEMORY || why == R_TIME) && !gyre_cfg.stw_mark)
		return pause_start(&p);
	return pause_full(&p);
}

/* Takes collector.lock without holding up a collection that another
 * thread is starting meanwhile. Returns the epoch seen before waiting. */
uint64_t lock_collector(struct mutator *m)
{
	uint64_t seen = atomic_load_relaxed(&collector.epoch);
	if (pthread_mutex_trylock(&collector.lock) != 0) {
		safepoint_enter_blocking(m);
		pthread_mutex_lock(&collector.lock);
		safepoint_leave_blocking(m);
	}
	return seen;
}

/* Releases collector.lock, then delivers the events of the pause this
 * thread ran, if any: on the thread that collected, with the world
 * running and no gyre lock held, so a callback blocks nothing. */
static void unlock_collector(void)
{
	pthread_mutex_unlock(&collector.lock);
	events_deliver();
}

/* The memory limit's cap on the collector's share of time, past the limit
 * (limit_hold): a collection that this thread's allocation needs waits,
 * in a blocking region (other threads' collections go on), until the
 * share is back under the cap. Only there: a collection the program asks
 * for (gyre_collect, freeze) and the collector thread's own steps never
 * wait. The program slows down instead of the collector passing its
 * share; the share moves by a 100 ms slot at most, so a short nap finds
 * the change soon enough. */
static void hold_for_share(struct mutator *m)
{
	if (!limit_hold())
		return;
	uint64_t t0 = gyre_now_ns();
	do
		safepoint_nap(m, HOLD_NAP_NS);
	while (limit_hold());
	limit_note_held(gyre_now_ns() - t0);
}

void collect_if_due(struct mutator *m)
{
	enum reason why;
	if (pacer_due(&why) < 0) {
		/* pacer_due may have queued GYRE_EVENT_MEMORY_LIMIT. */
		events_deliver();
		return;
	}
	hold_for_share(m);
	uint64_t seen = lock_collector(m);
	/* Another thread may have collected while we waited. */
	int gen;
	if (atomic_load_relaxed(&collector.epoch) == seen && (gen = pacer_due(&why)) >= 0)
		collect_run(m, (unsigned)gen, why);
	unlock_collector();
}

enum for_space collect_for_space(struct mutator *m)
{
	if (!collect_enabled() || limit_refuse())
		return FOR_SPACE_NONE;
	hold_for_share(m);
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
	unlock_collector();
	return ran;
}

uint64_t collect_freeze(struct mutator *m, bool unfreeze)
{
	lock_collector(m);
	uint64_t freed = collect_run(m, 2, unfreeze ? R_UNFREEZE : R_FREEZE);
	pthread_mutex_unlock(&collector.lock);
	return freed;
}

long collect_disabled_depth(void)
{
	return atomic_load_relaxed(&collector.disabled);
}

uint64_t collect_explicit(struct mutator *m, unsigned gen)
{
	lock_collector(m);
	uint64_t freed = collect_run(m, gen, R_EXPLICIT);
	unlock_collector();
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
	unlock_collector();
	return over;
}

void collect_end_cycle_early(struct mutator *m)
{
	if (!collect_enabled())
		return;
	lock_collector(m);
	if (mark_old_active() && satb_backlogged())
		collect_run(m, 2, R_PACE);
	unlock_collector();
}

void collect_sweep_end(struct mutator *m)
{
	lock_collector(m);
	after_sweep();
	unlock_collector();
}

bool collect_start_cycle(struct mutator *m)
{
	lock_collector(m);
	bool start = !mark_old_active() && !gyre_cfg.stw_mark && collect_enabled();
	if (start)
		collect_run(m, 2, R_GROWTH);
	start = start && mark_old_active();
	unlock_collector();
	return start;
}

void collect_fork_lock(struct mutator *m)
{
	if (m && atomic_load_relaxed(&m->state) == MUTATOR_RUNNING)
		lock_collector(m);
	else
		pthread_mutex_lock(&collector.lock);
}

void collect_fork_unlock(void)
{
	pthread_mutex_unlock(&collector.lock);
}

void collect_after_fork_child(int depth)
{
	atomic_store_relaxed(&collector.disabled, depth);
}
