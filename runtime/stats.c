/*
 * stats.c: collection and allocation statistics. Allocation counters are
 * relaxed atomics bumped once per allocation run; collection figures are
 * written by the collecting thread under the stats lock, which readers
 * take too, so a reader sees one collection's figures whole.
 */
#include <pthread.h>
#include <string.h>

#include "gc/driver/limit.h"
#include "gc/heap/decommit.h"
#include "gc/heap/freeze.h"
#include "gc/final/final.h"
#include "gc/heap/heap.h"
#include "runtime/atomics.h"
#include "runtime/config.h"
#include "runtime/critical.h"
#include "runtime/internal.h"
#include "runtime/stats.h"
#include "threads/ttsp.h"

static struct {
	/* Relaxed: totals with no ordering against other memory. */
	_Atomic uint64_t bytes_allocated, objects_allocated;
	pthread_mutex_t lock;
	gyre_stats s;             /* collection fields; Sync: lock */
} stats = {.lock = PTHREAD_MUTEX_INITIALIZER};
LOCK_RANKED(LOCK_STATS, &stats.lock, 1, sizeof(pthread_mutex_t))

void stats_reset(void)
{
	atomic_store_relaxed(&stats.bytes_allocated, 0);
	atomic_store_relaxed(&stats.objects_allocated, 0);
	memset(&stats.s, 0, sizeof(stats.s));
}

void stats_note_alloc(size_t bytes, size_t objects)
{
	atomic_add_relaxed(&stats.bytes_allocated, bytes);
	atomic_add_relaxed(&stats.objects_allocated, objects);
}

/* Under stats.lock: what a sweep of generation 2 found alive. */
static void note_old(gyre_stats *s, const struct sweep_result *r)
{
	s->heap_live = r->live_bytes;
	s->old_block_bytes = (uint64_t)r->old_blocks * BLOCK_SIZE;
	s->old_free_bytes = r->old_free_bytes;
}

/* Under stats.lock: a pause, in the totals and its generation's. */
static void note_pause(gyre_stats *s, gyre_gen_stats *g, uint64_t pause_ns)
{
	s->pause_count++;
	s->pause_total_ns += pause_ns;
	if (pause_ns > s->pause_max_ns)
		s->pause_max_ns = pause_ns;
	s->pause_histogram[gyre_us_bucket(pause_ns)]++;
	g->pause_total_ns += pause_ns;
	if (pause_ns > g->pause_max_ns)
		g->pause_max_ns = pause_ns;
	g->pause_histogram[gyre_us_bucket(pause_ns)]++;
}

void stats_note_collection(unsigned gen, uint64_t pause_ns, uint64_t stop_ns,
			   uint64_t mark_ns, uint64_t sweep_ns,
			   const struct minor_result *m, const struct sweep_result *r)
{
	pthread_mutex_lock(&stats.lock);
	gyre_stats *s = &stats.s;
	gyre_gen_stats *g = &s->gen[gen];
	size_t objects = m->collected_objects + r->freed_objects;
	size_t bytes = m->collected_bytes + r->freed_bytes;
	s->mark_total_ns += mark_ns;
	s->sweep_total_ns += sweep_ns;
	s->collections++;
	s->bytes_freed += bytes;
	s->objects_freed += objects;
	note_pause(s, g, pause_ns);
	atomic_add_relaxed(&stats.bytes_allocated, m->growth_bytes);
	g->collections++;
	g->objects_collected += objects;
	g->bytes_collected += bytes;
	g->objects_promoted += m->promoted_objects;
	g->bytes_promoted += m->promoted_bytes;
	g->bytes_in_place += m->in_place_bytes;
	g->blocks_in_place += m->in_place_blocks;
	g->objects_pinned += m->pinned_objects;
	if (gen < 2) {
		g->stop_total_ns += stop_ns;
		g->roots_total_ns += m->prepare_ns;
		g->copy_total_ns += m->copy_ns;
		g->release_total_ns += m->release_ns;
		g->cards_scanned += m->dirty_cards;
	}
	pthread_mutex_unlock(&stats.lock);
}

void stats_note_increment(uint64_t pause_ns, uint64_t mark_ns)
{
	pthread_mutex_lock(&stats.lock);
	gyre_stats *s = &stats.s;
	gyre_gen_stats *g = &s->gen[2];
	s->mark_total_ns += mark_ns;
	s->increments++;
	note_pause(s, g, pause_ns);
	pthread_mutex_unlock(&stats.lock);
}

void stats_note_compaction(const struct compact_result *r, uint64_t ns)
{
	pthread_mutex_lock(&stats.lock);
	gyre_stats *s = &stats.s;
	s->compactions++;
	s->blocks_evacuated += r->blocks;
	s->objects_evacuated += r->objects;
	s->bytes_evacuated += r->bytes;
	s->compact_total_ns += ns;
	pthread_mutex_unlock(&stats.lock);
}

void stats_note_live(const struct sweep_result *r)
{
	pthread_mutex_lock(&stats.lock);
	note_old(&stats.s, r);
	pthread_mutex_unlock(&stats.lock);
}

void stats_note_swept(const struct sweep_result *r)
{
	pthread_mutex_lock(&stats.lock);
	gyre_stats *s = &stats.s;
	s->bytes_freed += r->freed_bytes;
	s->objects_freed += r->freed_objects;
	s->gen[2].objects_collected += r->freed_objects;
	s->gen[2].bytes_collected += r->freed_bytes;
	note_old(s, r);
	pthread_mutex_unlock(&stats.lock);
}

void stats_read(gyre_stats *out)
{
	pthread_mutex_lock(&stats.lock);
	*out = stats.s;
	pthread_mutex_unlock(&stats.lock);
	out->bytes_allocated = atomic_load_relaxed(&stats.bytes_allocated);
	out->objects_allocated = atomic_load_relaxed(&stats.objects_allocated);
	/* Relaxed, each on its own: a snapshot of counters that move
	 * independently (a block in the middle of being taken or returned
	 * may be counted on either side). */
	out->heap_size = atomic_load_relaxed(&heap.used);
	out->heap_max = gyre_cfg.heap_max;
	out->heap_reserved = (uint64_t)heap.nblocks << BLOCK_SHIFT;
	out->heap_committed = out->heap_size +
			      (atomic_load_relaxed(&heap.nfree) +
			       atomic_load_relaxed(&heap.nreturning)) * BLOCK_SIZE;
	out->heap_resident = decommit_resident();
	out->bytes_returned = atomic_load_relaxed(&heap.returned_bytes);
	out->frozen_objects = freeze_objects();
	out->frozen_bytes = freeze_bytes();
	out->finalizers_pending = final_pending();
	out->finalizers_run = final_ran();
	ttsp_read(out);
	critical_read(out);
	limit_read(out);
}
