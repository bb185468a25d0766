/*
 * stats.h: the counters behind gyre_stats_get (DESIGN.md, "Observing").
 */
#ifndef GYRE_STATS_H
#define GYRE_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "gc/young/minor.h"
#include "gc/old/compact.h"
#include "gc/old/sweep.h"

void stats_reset(void);
/* Bytes and objects handed out; called per retired nursery buffer and
 * per large object. */
void stats_note_alloc(size_t bytes, size_t objects);
/* One collection of generations 0..gen: its pause, the part of it spent
 * stopping the threads, the parts spent marking and sweeping, what the
 * minor collection did (its phases are counted for generations 0 and 1)
 * and what a full collection's sweep freed. */
void stats_note_collection(unsigned gen, uint64_t pause_ns, uint64_t stop_ns,
			   uint64_t mark_ns, uint64_t sweep_ns,
			   const struct minor_result *m, const struct sweep_result *r);
/* A pause that marked for a bounded time, part of a concurrent cycle of
 * generation 2 (not a collection: it counts in the pause figures and in
 * gyre_stats.increments). */
void stats_note_increment(uint64_t pause_ns, uint64_t mark_ns);
/* A full collection's compaction that evacuated r->blocks blocks, in ns. */
void stats_note_compaction(const struct compact_result *r, uint64_t ns);
/* What a full collection's sweep found alive (gyre_stats.heap_live,
 * old_*). */
void stats_note_live(const struct sweep_result *r);
/* What the lazy sweep after a remark found: freed (counted as collected
 * by generation 2) and alive. */
void stats_note_swept(const struct sweep_result *r);
void stats_read(gyre_stats *out);

#endif
