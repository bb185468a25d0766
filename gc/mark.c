/*
 * mark.c: parallel marking (see mark.h). Work moves between the workers'
 * mark stacks through the shared pool of work.h.
 *
 * If a mark stack cannot grow (memory exhausted inside a pause), the object
 * stays marked but unscanned and the overflow flag is raised; the heap is
 * then rescanned for marked objects until no overflow remains. Marking
 * therefore never fails for want of memory.
 */
#include "gc/heap.h"
#include "gc/large.h"
#include "gc/mark.h"
#include "gc/roots.h"
#include "gc/type.h"
#include "gc/work.h"
#include "threads/stw.h"
#include "threads/workers.h"

#define PREFETCH_DIST 8

static struct {
	struct work_pool wp;
	/* A push was dropped for want of memory. Relaxed: read after
	 * workers_run returns, which orders it. */
	_Atomic bool overflow;
	size_t rescans;          /* overflow recoveries; collector only */
} mk;

int mark_init(unsigned workers)
{
	mk.rescans = 0;
	return work_pool_init(&mk.wp, workers);
}

void mark_shutdown(void)
{
	work_pool_shutdown(&mk.wp);
}

void mark_set_stack_limit(size_t entries)
{
	mk.wp.stack_limit = entries;
}

size_t mark_rescans(void)
{
	return mk.rescans;
}

/* The object stays marked but unscanned: the heap rescan finds it. */
static void lost(struct work_stack *w, void *obj)
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
static bool set_mark(void *obj)
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

bool mark_is_object(uintptr_t p)
{
	if (heap_contains(p))
		return heap_is_small_object(p);
	return large_find(p) == (void *)p;
}

/* `holder` is the object whose field holds obj, or NULL for a handle. */
static void mark_field(struct work_stack *w, void *obj, void *holder)
{
	if (GYRE_DEBUG && !mark_is_object((uintptr_t)obj))
		gyre_fatal("%s %p holds %p, which is not a gyre object",
			   holder ? "a pointer field of object" : "handle",
			   holder ? holder : obj, obj);
	if (set_mark(obj))
		push(w, obj);
}

struct trace_ctx {
	struct work_stack *w;
	void *holder;
};

static void visit(void **slot, void *ctx)
{
	struct trace_ctx *c = ctx;
	if (*slot)
		mark_field(c->w, *slot, c->holder);
}

static void scan_object(struct work_stack *w, void *obj)
{
	uint64_t h = *object_header(obj);
	const struct type *t = type_get(header_type(h));
	uint32_t n = header_length(h);
	char *elem = obj;
	if (t->kind == TYPE_OFFSETS) {
		for (uint32_t e = 0; e < n; e++, elem += t->size)
			for (uint32_t i = 0; i < t->n_ptrs; i++) {
				void *v = ((void **)elem)[t->word_offsets[i]];
				if (v)
					mark_field(w, v, obj);
			}
	} else if (t->kind == TYPE_TRACE) {
		struct trace_ctx c = {w, obj};
		for (uint32_t e = 0; e < n; e++, elem += t->size)
			t->trace(elem, visit, &c);
	}
}

/* Conservative: any word may be a pointer into an object. */
static void mark_word(struct work_stack *w, uintptr_t v)
{
	void *obj = heap_find_small(v);
	if (!obj && !heap_contains(v))
		obj = large_find(v);
	if (obj && set_mark(obj))
		push(w, obj);
}

static void mark_word_cb(uintptr_t v, void *ctx)
{
	mark_word(ctx, v);
}

static void scan_range(uintptr_t lo, uintptr_t hi, void *ctx)
{
	roots_scan_words(lo, hi, mark_word_cb, ctx);
}

static void scan_handle(void **slot, void *ctx)
{
	mark_field(ctx, *slot, NULL);
}

static void scan_roots(struct work_stack *w)
{
	roots_for_each_stack(w->id, mk.wp.nstacks, scan_range, w);
	if (w->id == mk.wp.nstacks - 1) {
		roots_for_each_area(scan_range, w);
		roots_for_each_handle(scan_handle, w);
	}
}

/* Scans until the local stack is empty. Objects pass through a small ring
 * on their way from the stack to scan_object, and are prefetched as they
 * enter it: scanning is bound by the cache miss on each object's first
 * word, and the ring gives the prefetch PREFETCH_DIST objects of lead. */
static void drain_local(struct work_stack *w, void *ctx)
{
	(void)ctx;
	void *ring[PREFETCH_DIST];
	unsigned head = 0, n = 0;
	while (w->n || n) {
		while (n < PREFETCH_DIST && w->n) {
			void *obj = w->items[--w->n];
			__builtin_prefetch(object_header(obj));
			ring[(head + n++) % PREFETCH_DIST] = obj;
		}
		void *obj = ring[head];
		head = (head + 1) % PREFETCH_DIST;
		n--;
		scan_object(w, obj);
		work_note_pop(&mk.wp, w);
	}
}

static void mark_worker(unsigned id, void *arg)
{
	(void)arg;
	struct work_stack *w = &mk.wp.stacks[id];
	scan_roots(w);
	work_drain(&mk.wp, w, drain_local, NULL, lost, NULL);
}

/* Drains this worker's stack and the pool, alone. */
static void drain_alone(struct work_stack *w)
{
	do
		drain_local(w, NULL);
	while (work_take(&mk.wp, w, lost));
}

/* Overflow recovery: scan every marked object again (its unmarked
 * children get marked and pushed), on this thread, until nothing is
 * dropped. */
static void rescan_heap(struct work_stack *w)
{
	for (size_t bi = 0; bi < heap.top; bi++) {
		struct block *b = &heap.blocks[bi];
		if (b->state == BLOCK_FREE)
			continue;
		for (uint32_t s = 0; s < b->nslots; s++)
			if (atomic_load_relaxed(&b->marks[s / 64]) >> (s % 64) & 1) {
				scan_object(w, object_from_slot(block_base(b) +
						(size_t)s * b->obj_size));
				drain_alone(w);
			}
	}
	for (size_t i = 0; i < large.count; i++)
		if (atomic_load_relaxed(&large.objs[i]->mark)) {
			scan_object(w, large_object(large.objs[i]));
			drain_alone(w);
		}
}

void mark_heap(void)
{
	GYRE_ASSERT(stw_world_stopped());
	GYRE_ASSERT(mk.wp.nstacks == workers_count());
	work_pool_start(&mk.wp);
	atomic_store_relaxed(&mk.overflow, false);
	workers_run(mark_worker, NULL);
	while (atomic_load_relaxed(&mk.overflow)) {
		atomic_store_relaxed(&mk.overflow, false);
		mk.rescans++;
		rescan_heap(&mk.wp.stacks[0]);
	}
	GYRE_ASSERT(cds_lfs_empty(&mk.wp.pool));
}
