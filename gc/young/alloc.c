/*
 * alloc.c: nursery buffers, the slow path and the large-object path (see
 * alloc.h).
 */
#include <string.h>

#include "gc/young/alloc.h"
#include "gc/driver/collect.h"
#include "gc/heap/large.h"
#include "gc/young/nursery.h"
#include "gc/old/sweep.h"
#include "runtime/config.h"
#include "runtime/critical.h"
#include "runtime/events.h"
#include "runtime/meta.h"
#include "runtime/stats.h"
#include "threads/safepoint.h"

/* The inline path's buffer (gyre.h). Owner only, or the collector while
 * the owner is stopped (through alloc_local.tlab). */
GYRE_API __thread struct gyre__tlab gyre__tlab
	__attribute__((tls_model("initial-exec")));

static inline struct alloc_local *local_of(struct mutator *m)
{
	return m->heap_local;
}

/* Ends the thread's buffer: the block's used extent and the buffer's
 * objects are recorded, and the thread has no buffer. */
static void buffer_retire(struct alloc_local *a)
{
	struct block *b = a->block;
	struct gyre__tlab *t = a->tlab;
	if (b) {
		size_t used = (size_t)(t->cursor - a->start);
		b->top = (uint32_t)(t->cursor - block_base(b));
		atomic_add_relaxed(&nursery.bytes, used);
		atomic_add_relaxed(&nursery.objects, t->objects);
		stats_note_alloc(used, t->objects);
	}
	*t = (struct gyre__tlab){0};
	a->block = NULL;
	a->start = a->saved_limit = NULL;
}

/* Buffers are zeroed a chunk at a time, just ahead of the cursor: the
 * chunk is still in the cache when objects are bump-allocated into it,
 * where zeroing a whole block up front would have evicted its start. A
 * block that is zero already (`zeroed`: its memory was returned to the
 * kernel, or never used) is not zeroed again, but still handed out a
 * chunk at a time: the slow path, and its safepoint poll, come as
 * often. */
#define ZERO_CHUNK ((size_t)8 << 10)

/* How many times more alloc_object tries to allocate behind other
 * threads' collections before it gives up. */
#define RETRIES 4
/* How long a thread that found the heap full waits for the lazy sweep's
 * last chunks, another thread's, before it looks again. */
#define SWEEP_WAIT_NS 50000

/* Zeroes chunks past the limit until `bytes` fit or the block ends;
 * true if they fit. */
static bool buffer_extend(struct alloc_local *a, size_t bytes)
{
	struct gyre__tlab *t = a->tlab;
	if (!a->block)
		return false;
	char *end = block_base(a->block) + BLOCK_SIZE;
	bool zeroed = a->block->zeroed;
	while ((size_t)(t->limit - t->cursor) < bytes && t->limit < end) {
		if (!zeroed)
			memset(t->limit, 0, ZERO_CHUNK);
		t->limit += ZERO_CHUNK;
	}
	return (size_t)(t->limit - t->cursor) >= bytes;
}

static void *bump(struct gyre__tlab *t, size_t bytes, uint64_t header)
{
	if ((size_t)(t->limit - t->cursor) < bytes)
		return NULL;
	char *p = t->cursor;
	t->cursor += bytes;
	t->objects++;
	*(uint64_t *)p = header;
	return object_from_slot(p);
}

/* A new buffer, and the object in it; NULL at the heap maximum. */
static void *buffer_refill(struct alloc_local *a, size_t bytes, uint64_t header)
{
	buffer_retire(a);
	struct block *b = nursery_take();
	if (!b)
		return NULL;
	a->block = b;
	a->start = block_base(b);
	*a->tlab = (struct gyre__tlab){.cursor = a->start, .limit = a->start};
	buffer_extend(a, bytes);
	return bump(a->tlab, bytes, header);
}

static void *try_alloc(struct mutator *m, size_t bytes, uint64_t header,
		       bool has_pointers)
{
	if (bytes > SIZECLASS_MAX_SIZE) {
		void *obj = large_alloc(bytes, header, has_pointers);
		if (obj) {
			collect_note_alloc(bytes);
			stats_note_alloc(bytes, 1);
		}
		return obj;
	}
	size_t step = (bytes + GRANULE - 1) & ~(size_t)(GRANULE - 1);
	/* The buffer is full (alloc_object tried to extend it) or was
	 * retired by a collection: a new one. */
	return buffer_refill(local_of(m), step, header);
}

void *alloc_object(struct mutator *m, size_t bytes, uint64_t header,
		   bool has_pointers)
{
	size_t step = (bytes + GRANULE - 1) & ~(size_t)(GRANULE - 1);
	if (bytes <= SIZECLASS_MAX_SIZE) {
		void *obj = bump(local_of(m)->tlab, step, header);
		if (obj)
			return obj;
	}
	safepoint_poll(m);
	/* The next chunk of the buffer, without the collection checks:
	 * those come once per buffer, below. */
	if (bytes <= SIZECLASS_MAX_SIZE && buffer_extend(local_of(m), step))
		return bump(local_of(m)->tlab, step, header);
	collect_if_due(m);
	/* A new buffer, or a large object, counts against the no-GC regions'
	 * budget; the critical_fail policy refuses the allocation. */
	if (critical_charge(bytes > SIZECLASS_MAX_SIZE ? bytes : BLOCK_SIZE))
		return NULL;
	void *obj = try_alloc(m, bytes, header, has_pointers);
	/* The heap is full while the last remark's sweep is under way:
	 * sweeping what it left frees blocks sooner than a collection (a
	 * chunk at a time, polling between: a pause waits for one chunk). */
	while (!obj && sweep_old_step()) {
		safepoint_poll(m);
		obj = try_alloc(m, bytes, header, has_pointers);
	}
	/* Every chunk is claimed, some not swept yet (the collector thread
	 * is in one): what they free is moments away. */
	while (!obj && sweep_old_pending()) {
		safepoint_nap(m, SWEEP_WAIT_NS);
		obj = try_alloc(m, bytes, header, has_pointers);
	}
	/* What another thread's collection freed (collect_for_space waited
	 * behind it) the other threads may take before this one runs again:
	 * try again, up to RETRIES times more. A collection of this thread's
	 * own that leaves no room is final. */
	for (unsigned tries = 0; !obj && tries <= RETRIES; tries++) {
		enum for_space ran = collect_for_space(m);
		if (ran == FOR_SPACE_NONE)
			break;
		obj = try_alloc(m, bytes, header, has_pointers);
		if (ran == FOR_SPACE_OWN)
			break;
	}
	if (!obj) {
		if (gyre_cfg.on_oom)
			gyre_cfg.on_oom(bytes - HEADER_SIZE, gyre_cfg.oom_ctx);
		gyre_fail(GYRE_ENOMEM);
		events_queue(&(gyre_event){.kind = GYRE_EVENT_ALLOC_FAILED,
					   .generation = -1, .bytes = bytes - HEADER_SIZE});
		events_deliver();
	}
	return obj;
}

int alloc_attach(struct mutator *m)
{
	struct alloc_local *a = meta_calloc(sizeof(*a));
	if (!a)
		return GYRE_ENOMEM;
	a->tlab = &gyre__tlab;
	*a->tlab = (struct gyre__tlab){0};
	satb_attach(&a->satb);
	m->heap_local = a;
	return GYRE_OK;
}

void alloc_detach(struct mutator *m)
{
	struct alloc_local *a = local_of(m);
	/* The block stays in the nursery: its objects may be live. */
	buffer_retire(a);
	satb_detach(&a->satb);
	meta_free(a);
	m->heap_local = NULL;
}

void alloc_blocking_begin(struct mutator *m)
{
	struct alloc_local *a = local_of(m);
	a->saved_limit = a->tlab->limit;
	a->tlab->limit = a->tlab->cursor;
}

void alloc_blocking_end(struct mutator *m)
{
	struct alloc_local *a = local_of(m);
	/* A collection during the region retired the buffer (and the
	 * saved limit with it). */
	if (a->saved_limit)
		a->tlab->limit = a->saved_limit;
	a->saved_limit = NULL;
}

unsigned alloc_retire_all(void)
{
	GYRE_ASSERT(stw_world_stopped());
	unsigned allocated = 0;
	struct mutator *m;
	mutator_for_each(m) {
		/* A detaching thread gave its buffer back before it stopped
		 * being RUNNING, and stays registered until the pause ends. */
		if (local_of(m)) {
			allocated += local_of(m)->block != NULL;
			buffer_retire(local_of(m));
		}
	}
	return allocated;
}
