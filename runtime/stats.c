/*
 * stats.c: collection and allocation statistics. Allocation counters are
 * relaxed atomics bumped once per allocation run; collection figures are
 * written by the collecting thread under the stats lock, which readers
 * take too, so a reader sees one collection's figures whole.
 */
#include <pthread.h>
#include <string.h>

#include "gc/heap.h"
#include "runtime/atomics.h"
#include "runtime/config.h"
#include "runtime/internal.h"
#include "runtime/stats.h"

static struct {
	/* Relaxed: totals with no ordering against other memory. */
	_Atomic uint64_t bytes_allocated, objects_allocated;
	pthread_mutex_t lock;
	gyre_stats s;             /* collection fields; Sync: lock */
} stats = {.lock = PTHREAD_MUTEX_INITIALIZER};

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

static unsigned pause_bucket(uint64_t ns)
{
	uint64_t us = ns / 1000;
	unsigned b = 0;
	while (us > 1 && b < GYRE_PAUSE_BUCKETS - 1) {
		us >>= 1;
		b++;
	}
	return b;
}

void stats_note_collection(uint64_t pause_ns, uint64_t mark_ns, uint64_t sweep_ns,
			   const struct sweep_result *r)
{
	pthread_mutex_lock(&stats.lock);
	gyre_stats *s = &stats.s;
	s->mark_total_ns += mark_ns;
	s->sweep_total_ns += sweep_ns;
	s->collections++;
	s->bytes_freed += r->freed_bytes;
	s->objects_freed += r->freed_objects;
	s->heap_live = r->live_bytes;
	s->pause_count++;
	s->pause_total_ns += pause_ns;
	if (pause_ns > s->pause_max_ns)
		s->pause_max_ns = pause_ns;
	s->pause_histogram[pause_bucket(pause_ns)]++;
	pthread_mutex_unlock(&stats.lock);
}

void stats_read(gyre_stats *out)
{
	pthread_mutex_lock(&stats.lock);
	*out = stats.s;
	pthread_mutex_unlock(&stats.lock);
	out->bytes_allocated = atomic_load_relaxed(&stats.bytes_allocated);
	out->objects_allocated = atomic_load_relaxed(&stats.objects_allocated);
	out->heap_size = atomic_load_relaxed(&heap.used);
	out->heap_max = gyre_cfg.heap_max;
}
