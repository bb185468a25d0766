/*
 * mark_impl.h: what marking's two files share: mark.c (the marking
 * itself, stop-the-world and concurrent) and mark_final.c (the end of
 * every marking: ephemerons, weak references, finalizers). The state of
 * the marking, and the steps on the hot path, inline.
 */
#ifndef GYRE_MARK_IMPL_H
#define GYRE_MARK_IMPL_H

#include <pthread.h>

#include "gc/driver/work.h"
#include "gc/heap/heap.h"
#include "gc/heap/large.h"
#include "gc/heap/ptrvec.h"
#include "gc/old/mark.h"
#include "gc/old/satb.h"
#include "runtime/atomics.h"

struct mark_state {
	struct work_pool wp;
	/* A push was dropped for want of memory. Relaxed: read after
	 * workers_run returns, which orders it. */
	_Atomic bool overflow;
	size_t rescans;          /* overflow recoveries; collector only */
	/* A bounded increment (mark_old_increment) is running: its workers
	 * stop scanning once `deadline` (ns) has passed, and `stop` says so.
	 * Sync: `bounded` and `deadline` are written before the job starts
	 * (its start publishes them); `stop` relaxed, each worker polls it
	 * and its items stay on its stack either way. */
	bool bounded;
	uint64_t deadline;
	_Atomic bool stop;
	/* Guards `partials` while an increment's workers add to it. */
	pthread_mutex_t partial_lock;
	/* The cycle's grey objects, and the objects of tracer types, which
	 * are scanned only with the world stopped (gyre.h's promise to
	 * tracers). Sync: the collector thread while the world runs, the
	 * pause's initiator while it is stopped. */
	struct work_stack cstack, deferred;
	/* Grey objects with more than PARTIAL_FIELDS pointer fields, which
	 * the collector thread scans a chunk at a time, so that a pause never
	 * waits for it to scan a whole large array: `next` is the first
	 * element not scanned yet. Sync: as cstack. */
	struct partial {
		void *obj;
		uint32_t next;
	} *partials;
	size_t npartials, partials_cap;
	/* Cycles started since init. Sync: written with the world stopped,
	 * read by the collector thread and by pauses. */
	uint64_t cycle;
	/* What each worker marked of gyre's own references (noted[i] is
	 * stack i's; the collector thread uses 0 between pauses), to be
	 * resolved once marking is complete: weak references (`weak_seen`
	 * of them resolved already), and ephemerons whose keys were not
	 * marked when they were scanned. */
	struct noted {
		struct ptrvec weak, eph;
		size_t weak_seen;
	} *noted;
	/* mark_old_ephemerons' pass over the collector thread's notes: the
	 * next to look at, and whether this pass kept a value. Sync: the
	 * collector thread; a cycle's start resets them. */
	size_t eph_cursor;
	bool eph_kept;
	unsigned eph_passes;   /* finished this cycle */
};

/* Sync: as its fields say. */
extern struct mark_state mk;

/* The object stays marked but unscanned: the heap rescan finds it. */
static inline void lost(struct work_stack *w, void *obj)
{
	(void)w;
	(void)obj;
	atomic_store_relaxed(&mk.overflow, true);
}

static inline void push(struct work_stack *w, void *obj)
{
	if (!work_push(&mk.wp, w, obj))
		lost(w, obj);
}

/* Sets obj's mark bit; true if this call set it. Relaxed: the bit only
 * decides who scans the object; its contents were published to every
 * worker by the stop-the-world handshake and the pool's job start. */
static inline bool set_mark(void *obj)
{
	uintptr_t p = (uintptr_t)obj;
	if (heap_contains(p)) {
		struct block *b = block_of(p);
		uint32_t slot = block_slot(b, p - HEADER_SIZE);
		uint64_t bit = UINT64_C(1) << (slot % 64);
		_Atomic uint64_t *word = &b->marks[slot / 64];
		if (atomic_load_relaxed(word) & bit)
			return false;
		return !(atomic_or_relaxed(word, bit) & bit);
	}
	struct large *l = large_of(obj);
	if (atomic_load_relaxed(&l->mark))
		return false;
	return !atomic_exchange_explicit(&l->mark, 1, memory_order_relaxed);
}

/* While a concurrent cycle marks (the barrier logs, satb.h), only
 * generation 2 and large objects are marked; young ones are neither
 * marked nor traced (the cycle's first pause scanned all of them). */
static inline bool old_only(void)
{
	return satb_active();
}

/* True if obj (the start of an object) is one a concurrent cycle marks:
 * in a generation-2 block, or large. */
static inline bool old_target(const void *obj)
{
	uintptr_t p = (uintptr_t)obj;
	return !heap_contains(p) || (space_of(p) & SPACE_GEN_MASK) == 2;
}

/* For checks while the world may run: large_find needs the set sorted
 * with the world stopped, so a large object is known by its record
 * (large_valid). */
static inline bool valid_old_target(const void *obj)
{
	uintptr_t p = (uintptr_t)obj;
	if (heap_contains(p))
		return block_old_format(block_of(p)) && heap_is_small_object(p);
	return large_valid(obj);
}

/* `holder` is the object whose field holds obj, or NULL for a handle. */
static inline void mark_field(struct work_stack *w, void *obj, void *holder)
{
	bool cycle = old_only();
	if (cycle && !old_target(obj))
		return;
	if (GYRE_DEBUG && !(cycle ? valid_old_target(obj)
					: mark_is_object((uintptr_t)obj)))
		gyre_fatal("%s %p holds %p, which is not a gyre object",
			   holder ? "a pointer field of object" : "handle",
			   holder ? holder : obj, obj);
	if (set_mark(obj))
		push(w, obj);
}

/* True if obj survives this marking: marked, or young while a concurrent
 * cycle marks only generation 2. */
static inline bool survives(const void *obj)
{
	return (old_only() && !old_target(obj)) || mark_old_marked(obj);
}


/* Scans until the local stack is empty (or a bounded increment's time is
 * up); work_drain's step. */
void mark_drain_local(struct work_stack *w, void *ctx);
/* A job's worker: `roots` (non-NULL) asks for the roots to be scanned
 * first. */
void mark_worker(unsigned id, void *roots);
/* After a parallel phase: recovers from overflow (rescans the heap). */
void mark_finish(void);
/* mark_final.c's tables. */
void mark_final_shutdown(void);

#endif
