/*
 * limit.h: the soft memory limit (gyre_config.memory_limit; gyre.h says
 * the policy): what gyre holds from the system, the room left under the
 * limit that the pacer (pacer.c) and the memory thread (decommit.c) keep
 * to, and the cap on the collector's share of time that lets the heap
 * pass the limit when the live data does not fit under it.
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
/* What gyre holds from the system, as the limit counts it. */
size_t limit_total(void);
/* The bytes the heap in use (blocks, large objects, side tables) may
 * still grow by before it reaches the limit (free committed blocks count
 * as room: growth takes them first); 0 at or past it; SIZE_MAX with no
 * limit, or while the collector is over its share of time. Any thread. */
size_t limit_room(void);
/* pacer_due, on an allocating thread: the heap in use
 * is within `margin` bytes and LIMIT_RESERVE of the limit, and no lazy
 * sweep is pending:
 * a cycle is due (R_LIMIT). Counts, and queues the event of, a pass over
 * the collector's share of time at the limit. */
bool limit_due(size_t margin);
/* A collection starts for the limit (R_LIMIT): counted, and its event
 * queued on the calling thread. */
void limit_note_reached(void);
/* gyre_stats_get: memory_limit, memory_total, memory_limit_reached and
 * memory_limit_exceeded. */
void limit_read(gyre_stats *out);

#endif
