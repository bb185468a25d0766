/*
 * limit.h: the soft memory limit (gyre_config.memory_limit; gyre.h says
 * the policy): what gyre holds from the system, the room left under the
 * limit that the pacer (pacer.c) and the memory threads (decommit.c,
 * prefault.c) keep to, the judgement of the last full collection that
 * the live data does not fit, and the cap on the collector's share of
 * time: either lets the heap pass the limit; the cap also holds back
 * the collections allocations need (collect.c), and with the judgement
 * refuses a full heap's.
 */
#ifndef GYRE_LIMIT_H
#define GYRE_LIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gyre.h"

/* Kept free under the limit `l`, by the pacer's allowance and its
 * backstop (limit_due): what the heap in use grows by between a slow
 * path's check and the collection it runs, and the free blocks the
 * memory thread has not returned yet (it looks 100 ms after a
 * collection). Without it, live data at 90% of a 96 MiB limit made
 * gyre hold up to 96.4 MiB (tests/unit/memlimit.c). */
#define LIMIT_RESERVE(l) ((l) / 32)

/* gyre_init (collect_init): no time noted, nothing counted. */
void limit_init(void);
/* `ns` of the collector's time just ended: a pause, or a stretch of the
 * collector thread's marking or sweeping. Any thread. */
void limit_note_gc(uint64_t ns);
/* For a loop of short work steps: adds the time since `since` to
 * `pending` and notes it once it reaches a millisecond; returns what is
 * left pending (the caller notes it with limit_note_gc at the end). */
uint64_t limit_note_work(uint64_t pending, uint64_t since);
/* What gyre holds from the system, as the limit counts it: the heap's
 * blocks in use, free and not returned, and mapped ahead of its top
 * (prefault_ahead); their side tables; and the large objects: with
 * jemalloc, its arena's pages in use, and freed but not purged, which
 * hold gyre's other metadata too (meta_footprint); with the system
 * allocator, their bytes. Any thread; asks jemalloc (a refresh of its
 * statistics), so not for every slow path. */
size_t limit_total(void);
/* The memory thread, at each look, after the arena's decay: what the
 * arena holds beyond the large objects' bytes, which the room left under
 * the limit (limit_room, limit_due) counts until the next look. */
void limit_refresh_arena(void);
/* The bytes the heap in use (blocks, large objects, side tables) may
 * still grow by before it reaches the limit (free committed blocks count
 * as room: growth takes them first); 0 at or past it; SIZE_MAX with no
 * limit, while the collector is over its share of time, or while the
 * last full collection could not bring the heap under the limit's
 * trigger (limit_note_full). Any thread. */
size_t limit_room(void);
/* The same, whatever the cap: what the memory thread may map ahead of
 * the heap's top (prefault.c), which growth past the limit does without.
 * Any thread. */
size_t limit_headroom(void);
/* pacer_due, on an allocating thread: the heap in use
 * is within `margin` bytes and LIMIT_RESERVE of the limit, no lazy
 * sweep is pending, and the last full collection did not leave it there
 * (limit_note_full): a full collection is due (R_LIMIT). Counts, and queues the event of, a pass over
 * the collector's share of time at the limit. */
bool limit_due(size_t margin);
/* The cap governs every collection an allocation needs, past the limit:
 * true while the cap is engaged (the share passed CAP_ON_PCT at the
 * limit and has not fallen under CAP_OFF_PCT since) and the share is
 * over CAP_ON_PCT: such a collection waits (collect.c, hold_for_share)
 * rather than take the collector further past its share. Any thread. */
bool limit_hold(void);
/* A thread waited `ns` for limit_hold (gyre_stats.memory_limit_held_ns). */
void limit_note_held(uint64_t ns);
/* World stopped, at the end of a full collection: the heap's data then
 * is the live data limit_refuse judges by; and if it alone is still
 * where limit_due asks for another (`margin` as it passes), the
 * limit stops being enforced (counted and told as "exceeded"): no
 * collection starts for it and limit_room is SIZE_MAX, since another
 * full collection would only take the collector's time, until a
 * cycle's sweep (limit_note_swept) or a full collection finds the heap's
 * data back under. */
void limit_note_full(size_t margin);
/* Under collector.lock, as a cycle's lazy sweep is counted: a heap's
 * data under the last judgement is the new one, and one back under
 * where limit_due asks (`margin`) has the limit enforced again. */
void limit_note_swept(size_t margin);
/* collect_for_space, the heap full: true (counted, traced) if the
 * allocation fails at once, without a collection: the cap is engaged and
 * the last full collection left more in use than the limit (the live
 * data does not fit, and collecting again would only recover what died
 * since, over the collector's share: Java's GC overhead limit). Any
 * thread. */
bool limit_refuse(void);
/* A collection starts for the limit (R_LIMIT): counted, and its event
 * queued on the calling thread. */
void limit_note_reached(void);
/* gyre_stats_get: memory_limit, memory_total and the memory_limit_*
 * counters. */
void limit_read(gyre_stats *out);

#endif
