/*
 * mark.c: parallel marking (see mark.h). Each worker owns a mark stack;
 * when its stack is deep and the shared pool is empty it moves a packet of
 * entries into the pool (a liburcu lock-free stack), and an idle worker
 * takes one. Termination: a worker finishes when its stack is empty, the
 * pool is empty and no worker is active; only an active worker pushes
 * packets, and each re-checks the pool before it stops being active, so
 * no packet is left behind.
 *
 * If a mark stack cannot grow (memory exhausted inside a pause), the object
 * stays marked but unscanned and the overflow flag is raised; the heap is
 * then rescanned for marked objects until no overflow remains. Marking
 * therefore never fails for want of memory.
 */
#include <sched.h>
#include <string.h>

#include <urcu/lfstack.h>

#include "gc/heap.h"
#include "gc/large.h"
#include "gc/mark.h"
#include "gc/roots.h"
#include "gc/type.h"
#include "runtime/meta.h"
#include "threads/stw.h"
#include "threads/workers.h"

#define PACKET_CAP 256
#define STACK_INITIAL 4096
#define SHARE_CHECK_EVERY 32
#define PREFETCH_DIST 8

struct packet {
	struct cds_lfs_node node;
	unsigned n;
	void *objs[PACKET_CAP];
};

struct marker {
	void **stack;      /* objects marked, not yet scanned */
	size_t n, cap;
	unsigned pops;     /* since the last look at the pool */
	unsigned id;       /* worker id */
};

static struct {
	struct marker *markers;  /* one per worker */
	unsigned nmarkers;
	/* Packets waiting for a worker. The push is a release and the pop an
	 * acquire (cmpxchg, full barriers in liburcu), so a packet's entries
	 * are visible to whoever pops it. Library calls, not liburcu's inline
	 * versions, so that sanitizers do not instrument liburcu's
	 * deliberately racy reads; tsan_release/acquire restate the pairing. */
	struct cds_lfs_stack pool;
	/* Workers that may still push packets. seq_cst: its decrement must
	 * not pass the pool check that precedes it (see the file comment). */
	_Atomic unsigned active;
	/* A push was dropped for want of memory. Relaxed: read after
	 * workers_run returns, which orders it. */
	_Atomic bool overflow;
	size_t stack_limit;      /* test hook; 0 = none */
	size_t rescans;          /* overflow recoveries; collector only */
} mk;

int mark_init(unsigned workers)
{
	mk.markers = meta_calloc(sizeof(struct marker) * workers);
	if (!mk.markers)
		return GYRE_ENOMEM;
	mk.nmarkers = workers;
	mk.rescans = 0;
	for (unsigned i = 0; i < workers; i++)
		mk.markers[i].id = i;
	cds_lfs_init(&mk.pool);
	return GYRE_OK;
}

void mark_shutdown(void)
{
	cds_lfs_destroy(&mk.pool);
	for (unsigned i = 0; i < mk.nmarkers; i++)
		meta_free(mk.markers[i].stack);
	meta_free(mk.markers);
	mk.markers = NULL;
	mk.nmarkers = 0;
}

void mark_set_stack_limit(size_t entries)
{
	mk.stack_limit = entries;
}

size_t mark_rescans(void)
{
	return mk.rescans;
}

static bool stack_grow(struct marker *w)
{
	size_t cap = w->cap ? w->cap * 2 : STACK_INITIAL;
	if (mk.stack_limit && cap > mk.stack_limit)
		cap = mk.stack_limit;
	if (cap <= w->cap)
		return false;
	void **s = meta_realloc(w->stack, cap * sizeof(void *));
	if (!s)
		return false;
	w->stack = s;
	w->cap = cap;
	return true;
}

static GYRE_NOINLINE void push_slow(struct marker *w, void *obj)
{
	if (!stack_grow(w)) {
		atomic_store_relaxed(&mk.overflow, true);
		return;
	}
	w->stack[w->n++] = obj;
}

static inline void push(struct marker *w, void *obj)
{
	if (GYRE_LIKELY(w->n < w->cap))
		w->stack[w->n++] = obj;
	else
		push_slow(w, obj);
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
static void mark_field(struct marker *w, void *obj, void *holder)
{
	if (GYRE_DEBUG && !mark_is_object((uintptr_t)obj))
		gyre_fatal("%s %p holds %p, which is not a gyre object",
			   holder ? "a pointer field of object" : "handle",
			   holder ? holder : obj, obj);
	if (set_mark(obj))
		push(w, obj);
}

struct trace_ctx {
	struct marker *w;
	void *holder;
};

static void visit(void **slot, void *ctx)
{
	struct trace_ctx *c = ctx;
	if (*slot)
		mark_field(c->w, *slot, c->holder);
}

static void scan_object(struct marker *w, void *obj)
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
static void mark_word(struct marker *w, uintptr_t v)
{
	void *obj = heap_find_small(v);
	if (!obj && !heap_contains(v))
		obj = large_find(v);
	if (obj && set_mark(obj))
		push(w, obj);
}

/* Reads stacks that their threads may still be using below the saved
 * stack pointer, and the redzones ASan puts between locals: neither
 * sanitizer may instrument it. */
__attribute__((no_sanitize_address, no_sanitize_thread))
static void scan_range(uintptr_t lo, uintptr_t hi, void *ctx)
{
	lo = (lo + sizeof(void *) - 1) & ~(uintptr_t)(sizeof(void *) - 1);
	for (uintptr_t p = lo; p + sizeof(void *) <= hi; p += sizeof(void *))
		mark_word(ctx, *(const uintptr_t *)p);
}

static void scan_handle(void **slot, void *ctx)
{
	mark_field(ctx, *slot, NULL);
}

static void scan_roots(struct marker *w)
{
	unsigned i = 0;
	struct mutator *m;
	mutator_for_each(m) {
		if (i++ % mk.nmarkers != w->id)
			continue;
		scan_range((uintptr_t)m->ctx.regs,
			   (uintptr_t)(m->ctx.regs + CONTEXT_REGS), w);
		scan_range((uintptr_t)m->ctx.sp, (uintptr_t)m->stack_hi, w);
	}
	if (w->id == mk.nmarkers - 1) {
		roots_for_each_area(scan_range, w);
		roots_for_each_handle(scan_handle, w);
	}
}

/* Moves the oldest half of the stack (at most PACKET_CAP entries) into the
 * pool. In a depth-first trace the oldest entries are the roots of the
 * largest untraced subgraphs, so a deep tree is split usefully even when
 * the stack is shallow. */
static void share(struct marker *w)
{
	unsigned k = w->n / 2 < PACKET_CAP ? (unsigned)(w->n / 2) : PACKET_CAP;
	struct packet *p = meta_alloc(sizeof(*p));
	if (!p)
		return;
	cds_lfs_node_init(&p->node);
	p->n = k;
	memcpy(p->objs, w->stack, k * sizeof(void *));
	memmove(w->stack, w->stack + k, (w->n - k) * sizeof(void *));
	w->n -= k;
	tsan_release(p);
	cds_lfs_push(&mk.pool, &p->node);
}

/* Worth sharing: another worker is idle and nothing waits in the pool.
 * Relaxed: a stale `active` only makes a share early or late. */
static bool should_share(const struct marker *w)
{
	return w->n >= 2 &&
	       atomic_load_explicit(&mk.active, memory_order_relaxed) < mk.nmarkers &&
	       cds_lfs_empty(&mk.pool);
}

static bool take(struct marker *w)
{
	struct cds_lfs_node *node = cds_lfs_pop_blocking(&mk.pool);
	if (!node)
		return false;
	struct packet *p = caa_container_of(node, struct packet, node);
	tsan_acquire(p);
	for (unsigned i = 0; i < p->n; i++)
		push(w, p->objs[i]);
	meta_free(p);
	return true;
}

/* Scans until the local stack is empty. Objects pass through a small ring
 * on their way from the stack to scan_object, and are prefetched as they
 * enter it: scanning is bound by the cache miss on each object's first
 * word, and the ring gives the prefetch PREFETCH_DIST objects of lead. */
static void drain_local(struct marker *w)
{
	void *ring[PREFETCH_DIST];
	unsigned head = 0, n = 0;
	while (w->n || n) {
		while (n < PREFETCH_DIST && w->n) {
			void *obj = w->stack[--w->n];
			__builtin_prefetch(object_header(obj));
			ring[(head + n++) % PREFETCH_DIST] = obj;
		}
		void *obj = ring[head];
		head = (head + 1) % PREFETCH_DIST;
		n--;
		scan_object(w, obj);
		if (++w->pops >= SHARE_CHECK_EVERY) {
			w->pops = 0;
			if (should_share(w))
				share(w);
		}
	}
}

/* Returns when no work is left anywhere (see the file comment). */
static void drain(struct marker *w)
{
	for (;;) {
		drain_local(w);
		if (take(w))
			continue;
		atomic_fetch_sub(&mk.active, 1);
		for (;;) {
			if (!cds_lfs_empty(&mk.pool)) {
				atomic_fetch_add(&mk.active, 1);
				if (take(w))
					break;
				atomic_fetch_sub(&mk.active, 1);
			} else if (atomic_load(&mk.active) == 0) {
				return;
			}
			sched_yield();
		}
	}
}

static void mark_worker(unsigned id, void *arg)
{
	(void)arg;
	struct marker *w = &mk.markers[id];
	scan_roots(w);
	drain(w);
}

/* Drains this worker's stack and the pool, alone. */
static void drain_alone(struct marker *w)
{
	do
		drain_local(w);
	while (take(w));
}

/* Overflow recovery: scan every marked object again (its unmarked
 * children get marked and pushed), on this thread, until nothing is
 * dropped. */
static void rescan_heap(struct marker *w)
{
	for (size_t bi = 0; bi < heap.top; bi++) {
		struct block *b = &heap.blocks[bi];
		if (b->state != BLOCK_SMALL)
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
	for (unsigned i = 0; i < mk.nmarkers && mk.stack_limit; i++)
		if (mk.markers[i].cap > mk.stack_limit)
			mk.markers[i].cap = mk.stack_limit;
	atomic_store(&mk.active, workers_count());
	atomic_store_relaxed(&mk.overflow, false);
	workers_run(mark_worker, NULL);
	while (atomic_load_relaxed(&mk.overflow)) {
		atomic_store_relaxed(&mk.overflow, false);
		mk.rescans++;
		rescan_heap(&mk.markers[0]);
	}
	GYRE_ASSERT(cds_lfs_empty(&mk.pool));
}
