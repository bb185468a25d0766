/*
 * gyre_observe.h: what a program can learn of gyre's work: statistics
 * (gyre_stats_get) and event callbacks (gyre_callback_add). Part of gyre's
 * API: include <gyre.h>, which includes this file.
 */
#ifndef GYRE_OBSERVE_H
#define GYRE_OBSERVE_H

#ifndef GYRE_H
#error "include <gyre.h>, not <gyre_observe.h>"
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* --------------------------------------------------------------- observing */

/* A pause runs from the collecting thread's stop request to the restart:
 * it includes the time the other threads take to reach a safepoint, not
 * the wait before the request (up to 200 us, while the world runs) that
 * lets the threads the last restart woke leave first.
 * Pause histogram: bucket i counts pauses in [2^i, 2^(i+1)) microseconds;
 * bucket 0 also holds pauses under 1 us, the last bucket everything above. */
#define GYRE_PAUSE_BUCKETS 24

/* What the collections of one generation did: gyre_stats.gen[g] counts the
 * collections whose oldest generation was g, as gyre_collect(g) runs them. */
typedef struct gyre_gen_stats {
	uint64_t collections;
	uint64_t objects_collected;
	uint64_t bytes_collected;
	/* Copied out of the nursery or generation 1 into an older
	 * generation. */
	uint64_t objects_promoted;
	uint64_t bytes_promoted;
	/* Of those, the bytes promoted with their nursery block to
	 * generation 2 without a copy (gyre_config.promote_in_place), and
	 * the blocks. */
	uint64_t bytes_in_place;
	uint64_t blocks_in_place;
	/* Young objects a stack, register or root area pointed at, or that
	 * found no room to be copied into, which stayed in place (those of
	 * blocks promoted in place count as promoted too). */
	uint64_t objects_pinned;
	/* Generations 0 and 1 (minor collections): what their pauses spent
	 * their time on. Stopping the threads (from the stop request until
	 * the last reached a safepoint); roots (pinning what stacks,
	 * registers and root areas point at, and turning dirty cards into
	 * roots); copying (everything reachable from the roots, dirty cards
	 * and handles); releasing from-space. The rest of pause_total_ns is
	 * bookkeeping. cards_scanned counts the dirty cards scanned as roots
	 * (each 512 bytes of an old object, or 64 bytes of a large one). */
	uint64_t stop_total_ns;
	uint64_t roots_total_ns;
	uint64_t copy_total_ns;
	uint64_t release_total_ns;
	uint64_t cards_scanned;
	uint64_t pause_total_ns;
	uint64_t pause_max_ns;
	uint64_t pause_histogram[GYRE_PAUSE_BUCKETS];
} gyre_gen_stats;

typedef struct gyre_stats {
	uint64_t collections;      /* completed collections, all generations */
	/* Totals since init, headers included, counted when a thread's
	 * nursery buffer is retired (so a little behind the truth). */
	uint64_t bytes_allocated;
	uint64_t bytes_freed;      /* freed by collections, same units */
	uint64_t objects_allocated;
	uint64_t objects_freed;
	/* Bytes the heap uses now: its 64 KiB blocks that hold objects (or
	 * serve as allocation buffers) and its large objects. heap_max bounds
	 * it. */
	uint64_t heap_size;
	uint64_t heap_live;        /* bytes that survived the last collection
				      of generation 2 */
	uint64_t heap_max;         /* the configured maximum */
	/* The heap's memory, from the system's side. Free blocks are kept
	 * for the next cycle, and those beyond that which stay free for a
	 * second are given back to the kernel (MADV_DONTNEED) by gyre's
	 * memory thread; large objects' freed memory goes back after a
	 * second too (their jemalloc arena's decay).
	 * heap_reserved: the blocks' virtual reservation (heap_max rounded up
	 * to whole blocks): address space, not memory.
	 * heap_committed: heap_size plus the free blocks not given back: the
	 * most the heap may hold resident (up to 16 MiB more is mapped
	 * ahead of the highest block in use, so that threads do not fault
	 * it in).
	 * heap_resident: the bytes of the reservation the kernel held
	 * resident (mincore) when the memory thread last measured them:
	 * about a second after collections, or after it gave memory back
	 * (0 until the first measure, a second after gyre_init). It counts
	 * blocks, free or not, and the memory mapped ahead; not large
	 * objects, gyre's tables or anything else of the process.
	 * bytes_returned: blocks' bytes given back to the kernel since
	 * gyre_init (a block reused and given back again counts again). */
	uint64_t heap_reserved;
	uint64_t heap_committed;
	uint64_t heap_resident;
	uint64_t bytes_returned;
	/* Generation 2's fragmentation, as the last sweep of it found it:
	 * old_block_bytes, the bytes of its blocks that hold objects, and
	 * old_free_bytes, the free slots' bytes in the partly used
	 * size-class blocks and the holes of packed ones (promote_in_place).
	 * old_free_bytes / old_block_bytes is the share that only a
	 * compaction gives back (a full collection compacts,
	 * gyre_config.compact; promotion fills free slots meanwhile), or for
	 * a packed block the death of its last object. Large objects are not
	 * counted. */
	uint64_t old_block_bytes;
	uint64_t old_free_bytes;
	/* Compaction: the pauses that evacuated blocks (full collections,
	 * and remarks with compact_budget_us set), the blocks they
	 * evacuated, the objects they moved and those objects' slot bytes,
	 * and the time it took (part of those pauses; a full collection's
	 * mark_total_ns and sweep_total_ns do not include it, a remark's
	 * mark_total_ns does). */
	uint64_t compactions;
	uint64_t blocks_evacuated;
	uint64_t objects_evacuated;
	uint64_t bytes_evacuated;
	uint64_t compact_total_ns;
	/* The permanent generation (gyre_freeze): frozen objects and their
	 * bytes (size-class slots, and large objects whole, headers
	 * included). Not in heap_live or old_*. */
	uint64_t frozen_objects;
	uint64_t frozen_bytes;
	/* Pauses: each from when the program was first paused by it to the
	 * restart. A pause a program thread asks for (an allocation's minor
	 * collection, gyre_collect) begins at its request, as that thread
	 * waits from then; one gyre's collector thread asks for (a remark, an
	 * increment, a cycle's start) begins when the first thread parks for
	 * it: the threads still running until their safepoint are not paused
	 * meanwhile (that wait is in ttsp_*, and in the trace's "stop"). */
	uint64_t pause_count;
	uint64_t pause_total_ns;
	uint64_t pause_max_ns;
	/* Pauses that marked part of a concurrent cycle of generation 2, for
	 * at most pause_target_us, because the program allocated faster than
	 * the collector thread marked (counted in pause_count and in gen[2]'s
	 * pause figures, not as collections). */
	uint64_t increments;
	/* The parts of pause_total_ns spent marking and sweeping (the rest
	 * is stopping the world and bookkeeping). */
	uint64_t mark_total_ns;
	uint64_t sweep_total_ns;
	uint64_t pause_histogram[GYRE_PAUSE_BUCKETS];
	gyre_gen_stats gen[3];
	/* Finalizers and weak-reference callbacks due and not run yet, and
	 * run since init. */
	uint64_t finalizers_pending;
	uint64_t finalizers_run;
	/* Time to safepoint: for each stop of the world, how long each
	 * other thread took from the stop request to its safepoint (0 for a
	 * thread already stopped or blocking), in the pause histogram's
	 * buckets; the longest; and the stops in which one took longer than
	 * ttsp_threshold_us (GYRE_EVENT_SLOW_SAFEPOINT). */
	uint64_t ttsp_histogram[GYRE_PAUSE_BUCKETS];
	uint64_t ttsp_max_ns;
	uint64_t slow_stops;
	/* No-GC regions (gyre_critical_begin): regions opened; times the
	 * open regions' budget ran out (once per set of regions open
	 * together, whichever policy); the longest region (ns, from begin
	 * to end, the nested ones too); and the bytes the threads took from
	 * the heap while any was open (whole nursery buffers, large
	 * objects). */
	uint64_t critical_opened;
	uint64_t critical_overrun;
	uint64_t critical_longest_ns;
	uint64_t critical_bytes;
	/* The memory limit (gyre_config.memory_limit; 0: none); what gyre
	 * holds from the system as the limit counts it (computed whether or
	 * not a limit is set); the full collections run because the heap
	 * reached the limit (reason "limit"); the times the limit stopped
	 * being enforced, so that the heap was let grow past it (a full
	 * collection could not bring the heap back under it, or the
	 * collector's share of time passed the cap, 45%, at the limit; each
	 * time anew); the time allocating threads waited for the
	 * collector's share to fall back under the cap (ns, summed over
	 * threads); and the allocations at a full heap refused without a
	 * collection because the live data exceeds the limit
	 * (gyre_config.memory_limit's policy). */
	uint64_t memory_limit;
	uint64_t memory_total;
	uint64_t memory_limit_reached;
	uint64_t memory_limit_exceeded;
	uint64_t memory_limit_held_ns;
	uint64_t memory_limit_refused;
} gyre_stats;

/* Fills *out. Any thread. Errors: GYRE_ESTATE, GYRE_EINVAL (out NULL). */
int gyre_stats_get(gyre_stats *out);

/* Event callbacks (Python's gc.callbacks). gyre_callback_add(fn, ctx)
 * registers fn to be called with each event below and ctx; a pair may be
 * registered once. No callback ever runs with the world stopped: the
 * events of a pause are queued and delivered once the world has restarted
 * and the collector is free, on the thread that collected:
 * - a program thread whose allocation (or GYRE_STORE, or gyre_collect,
 *   or gyre_critical_begin) ran the pause: inside that call, before it
 *   returns;
 * - gyre's collector thread ("gyre-marker"), for the pauses it runs: the
 *   remark that ends a concurrent cycle, and the increments;
 * and so are the other events, on the thread they concern: ALLOC_FAILED
 * on the allocating thread, just before the allocation returns NULL (after
 * on_oom); CRITICAL_OVERRUN on the thread whose allocation ran past the
 * budget; MEMORY_LIMIT "exceeded" on the allocating thread that found
 * the collector over its share, in that allocation, or with the pause of
 * the full collection that could not bring the heap under the limit
 * ("reached" comes with the pause it runs). Events of one thread are
 * delivered in order; callbacks in the order they were added.
 *
 * A callback may read its event, call gyre_stats_get, gyre_get_count,
 * gyre_get_threshold, gyre_is_enabled, gyre_last_error, gyre_strerror,
 * gyre_callback_add and gyre_callback_remove, and do its own work
 * (counters, logging). It must not touch the heap nor collect: every call
 * that needs an attached thread outside a blocking region (allocation,
 * handles, gyre_collect, gyre_critical_begin, gyre_disable, ...) fails
 * with GYRE_ESTATE from inside a callback (checked builds abort, naming
 * it), because on the collector thread there is no heap to use and a
 * collection started there would deliver events inside a delivery. The
 * event and its strings live only for the call. A callback runs on an
 * attached, running thread (no safepoint in between): a stop of the world
 * waits for it to return, so it should be short, and a call in it that may
 * block goes inside gyre_blocking_begin/end like any other.
 *
 * Registration is safe at any time, from any thread, including from
 * inside a callback: an added callback gets the events delivered after
 * gyre_callback_add returns; after gyre_callback_remove returns, no
 * delivery that starts calls it, but one already under way on another
 * thread may still call it once (ctx must stay valid until then).
 *
 * Errors: GYRE_ESTATE (not initialised), GYRE_EINVAL (fn NULL; add: the
 * pair is already registered), GYRE_ENOTFOUND (remove: not registered),
 * GYRE_ENOMEM. */
typedef enum gyre_event_kind {
	/* A collection: `generation`, `reason` ("nursery", "gen1",
	 * "growth", "time", "full", "explicit", "low-memory", "remark",
	 * "pace", "limit"),
	 * `time_ns` (when its stop was requested); END adds `pause_ns`,
	 * `bytes_freed` (what its pause freed; a lazy sweep's blocks are
	 * counted in gyre_stats later) and `bytes_promoted`. Both are
	 * delivered after the pause. A marking increment that does not end
	 * its cycle is not a collection. */
	GYRE_EVENT_COLLECTION_BEGIN = 1,
	GYRE_EVENT_COLLECTION_END,
	/* A concurrent cycle of generation 2: BEGIN with the pause that
	 * starts it (generation 1), END with the remark that ends its
	 * marking (its blocks are swept lazily afterwards). */
	GYRE_EVENT_CYCLE_BEGIN,
	GYRE_EVENT_CYCLE_END,
	/* The heap's size (gyre_stats.heap_size) as a collection left it
	 * differs by at least an eighth (and 1 MiB) from the last size
	 * reported: `heap_size` is the new one, `bytes` the old one. */
	GYRE_EVENT_HEAP_GROW,
	GYRE_EVENT_HEAP_SHRINK,
	/* An allocation of `bytes` failed with GYRE_ENOMEM. */
	GYRE_EVENT_ALLOC_FAILED,
	/* The no-GC regions allocated `bytes`, past their `budget`. */
	GYRE_EVENT_CRITICAL_OVERRUN,
	/* A stop of the world in which a thread took `ttsp_ns` (at least
	 * ttsp_threshold_us) to reach its safepoint; `thread_name` is the
	 * slowest thread's name (pthread_setname_np; "" if it cannot be
	 * read), `thread_id` its kernel id, `pause_ns` the whole stop's
	 * wait. */
	GYRE_EVENT_SLOW_SAFEPOINT,
	/* The memory limit (gyre_config.memory_limit): `reason` "reached",
	 * a full collection runs because the heap reached the limit
	 * (delivered after its pause, with its collection events); or
	 * "exceeded", the limit stops being enforced and the heap is let
	 * grow past it: the collector's share of time passed the cap (45%)
	 * while at the limit (delivered on the allocating thread that found
	 * it, from its allocation), or a full collection could not bring
	 * the heap back under it (delivered after its pause). `bytes` is
	 * what gyre holds (gyre_stats.memory_total), or for a full
	 * collection's "exceeded" the heap's data it left (blocks in use,
	 * large objects, side tables); `budget` the limit. */
	GYRE_EVENT_MEMORY_LIMIT,
} gyre_event_kind;

typedef struct gyre_event {
	gyre_event_kind kind;
	int generation;          /* COLLECTION_*, CYCLE_*; else -1 */
	const char *reason;      /* COLLECTION_*, CYCLE_*, MEMORY_LIMIT;
	                            else "" */
	uint64_t time_ns;        /* CLOCK_MONOTONIC, when it happened */
	uint64_t pause_ns;       /* COLLECTION_END, SLOW_SAFEPOINT */
	uint64_t bytes_freed;    /* COLLECTION_END */
	uint64_t bytes_promoted; /* COLLECTION_END */
	uint64_t heap_size;      /* every event: the heap's size then */
	uint64_t bytes;          /* HEAP_*, ALLOC_FAILED, CRITICAL_OVERRUN,
	                            MEMORY_LIMIT */
	uint64_t budget;         /* CRITICAL_OVERRUN, MEMORY_LIMIT */
	uint64_t ttsp_ns;        /* SLOW_SAFEPOINT */
	int thread_id;           /* SLOW_SAFEPOINT */
	char thread_name[16];    /* SLOW_SAFEPOINT */
} gyre_event;

typedef void (*gyre_event_fn)(const gyre_event *event, void *ctx);
int gyre_callback_add(gyre_event_fn fn, void *ctx);
int gyre_callback_remove(gyre_event_fn fn, void *ctx);

#ifdef __cplusplus
}
#endif

#endif /* GYRE_OBSERVE_H */
