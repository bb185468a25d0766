/*
 * collect_impl.h: what the driver's two files share: collect.c (the
 * pauses and the entry points that run them) and pacer.c (the settings,
 * the counters and the triggers that decide when a collection is due).
 */
#ifndef GYRE_COLLECT_IMPL_H
#define GYRE_COLLECT_IMPL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/atomics.h"
#include "runtime/lockorder.h"
#include "threads/mutator.h"

/* The old generation between collections: nothing under way, a
 * concurrent cycle marking, or the lazy sweep after its remark. */
enum old_phase { OLD_IDLE, OLD_MARKING, OLD_SWEEPING };

struct collector_state {
	/* Held for a whole collection. */
	pthread_mutex_t lock;
	/* Completed collections. Sync: written under `lock`; read relaxed
	 * to tell whether one ran while a thread waited for `lock`. */
	_Atomic uint64_t epoch;
	/* Bytes added to generation 2 since its last collection. Relaxed:
	 * a counter for a heuristic; a late sight only delays a trigger. */
	_Atomic size_t allocated;
	/* Collect generation 2 when `allocated` reaches it. Sync: written
	 * under `lock` (with the world stopped, or by the collector thread
	 * when it counts a lazy sweep), read relaxed: a late sight only
	 * delays a trigger. */
	_Atomic size_t trigger;
	/* During a concurrent cycle: mark in a pause (R_PACE) once it has
	 * allocated this much, the growth that threshold 2 allows. Sync: as
	 * trigger. */
	_Atomic size_t pace_limit;
	/* The same for the next increment (pause_increment): pace_limit at
	 * the cycle's start, then a step further after each increment.
	 * Sync: as trigger. */
	_Atomic size_t pace_next;
	/* Increments in the cycle in progress, or the last one until the
	 * next starts (its lazy sweep has been counted by then). Sync:
	 * under `lock`. */
	unsigned cycle_increments;
	/* `allocated` when the current cycle started. Sync: written under
	 * `lock` with the world stopped, read relaxed (due). */
	_Atomic size_t allocated_at_start;
	/* What the last concurrent cycle allocated while it marked (all
	 * kept: allocated black): with cycle_increments, the next trigger's
	 * inputs besides what its lazy sweep finds. Sync: under `lock`. */
	size_t cycle_black;
	/* When the last collection of generation 2 took its snapshot (the
	 * pause that started the last concurrent cycle, or the last full
	 * collection): what died since, only a later one can find. Sync:
	 * written under `lock` with the world stopped, read relaxed (due). */
	_Atomic uint64_t snapshot_ns;
	/* A cycle is due by time (pacer_due) once `allocated` reaches this,
	 * a share of what the last collection found live. Sync: as trigger. */
	_Atomic size_t time_share;
	/* When `allocated` was last set to 0: with it, the pace at which
	 * generation 2 grows (pacer_due). Sync: as snapshot_ns. */
	_Atomic uint64_t allocated_since_ns;
	/* The collection of generation 2 in progress, or the last one, was
	 * started by time. Sync: under `lock`. */
	bool by_time;
	/* The last collection started by time freed little: none starts by
	 * time before one has started by growth (pacer_set_trigger). Sync:
	 * as trigger. */
	_Atomic bool time_off;
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
	/* What the old generation is doing (set_phase). Sync: under `lock`. */
	enum old_phase phase;
	/* Sum of open gyre_disable calls over all threads. Relaxed: a
	 * thread's own disable is program-ordered before its allocations;
	 * other threads' need no ordering (CPython's flag has none). */
	_Atomic long disabled;
};

/* Sync: as its fields say. */
extern struct collector_state collector;

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
/* A marking increment (pause_increment) marks for at least this long, and
 * the next waits for this share of the allowance to be allocated. */
#define MIN_INCREMENT_NS 200000
#define INCREMENT_SHARE 8
/* [time trigger] A concurrent cycle is due once this long has passed
 * since the last snapshot of generation 2 and the program has allocated
 * a TIME_SHARE-th of what that collection found live into it
 * (pacer_due). */
#define CYCLE_INTERVAL_NS 1000000000u
#define TIME_SHARE 32
/* The least growth allowance a memory limit leaves generation 2
 * (pacer_set_trigger). */
#define LIMIT_MIN_ALLOW MIB
/* A collection held back by the memory limit's cap (hold_for_share)
 * looks again after this long. */
#define HOLD_NAP_NS 1000000

/* When one collection was called, asked for the stop, began, stopped the
 * world and ended, and the time its phases took. `called` is before the
 * [INV-STW-FAIR] wait in stw_stop_world, which leaves the world running;
 * `requested` is the stop request; the pause begins (`start`) when the
 * program is first paused (stw_paused_since): at the request when a
 * program thread asks, at the first park when the collector thread does. */
struct phase_times {
	uint64_t called, requested, start, stopped, end;
	uint64_t minor_ns, mark_ns, sweep_ns;
	uint64_t verify_ns;  /* GYRE_VERIFY's checks so far */
};

/* R_REMARK ends a cycle when the collector thread has traced everything;
 * R_PACE marks a bounded increment of it (pause_increment) when the
 * program allocates faster than the collector thread marks; R_LIMIT
 * starts one because the heap reached the memory limit (limit.h); R_TIME
 * starts one because the last snapshot of generation 2 is a second old
 * (pacer.c, [time trigger]). */
enum reason { R_NURSERY, R_GEN1, R_GROWTH, R_FULL, R_EXPLICIT, R_LOW_MEMORY,
	      R_REMARK, R_PACE, R_FREEZE, R_UNFREEZE, R_LIMIT, R_TIME };

/* Takes collector.lock without holding up a collection that another
 * thread is starting meanwhile. Returns the epoch seen before waiting. */
uint64_t lock_collector(struct mutator *m);

/* pacer.c: after a collection of generation 2 (set_trigger's comment). */
void pacer_set_trigger(size_t live, size_t black, bool paced, size_t freed);
/* pacer.c: after a minor collection, outside the pause: the machine's
 * free memory against free_floor. */
void pacer_check_free_floor(void);
/* pacer.c: the collection a trigger asks for: 0, 1 or 2, or -1 for
 * none, and why. */
int pacer_due(enum reason *why);

#endif
