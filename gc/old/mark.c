/*
 * mark.c: parallel marking (see mark.h). Work moves between the workers'
 * mark stacks through the shared pool of work.h. A concurrent cycle marks
 * only generation 2 (while satb_active): its grey objects wait on the collector
 * thread's stack between pauses, and the remark hands them to the workers.
 *
 * If a mark stack cannot grow (memory exhausted inside a pause), the object
 * stays marked but unscanned and the overflow flag is raised; the heap is
 * then rescanned for marked objects until no overflow remains. Marking
 * therefore never fails for want of memory.
 */
#include "gc/final/final.h"
#include "gc/old/compact.h"
#include "runtime/config.h"
#include "gc/heap/freeze.h"
#include "gc/heap/heap.h"
#include "gc/heap/large.h"
#include "gc/old/mark_impl.h"
#include "gc/young/nursery.h"
#include "gc/heap/ptrvec.h"
#include "gc/heap/roots.h"
#include "gc/old/satb.h"
#include "gc/heap/type.h"
#include "gc/final/weak.h"
#include "gc/driver/work.h"
#include "runtime/meta.h"
#include "threads/stw.h"
#include "threads/workers.h"

#define PREFETCH_DIST 8

struct mark_state mk = {.partial_lock = PTHREAD_MUTEX_INITIALIZER};
LOCK_RANKED(LOCK_MARK_PARTIAL, &mk.partial_lock, 1, sizeof(pthread_mutex_t))

/* Ephemerons mark_old_ephemerons looks at between two safepoint polls,
 * and the passes it makes per cycle: each is a walk over every ephemeron
 * not decided yet, most of which have dead keys once the first pass is
 * done (a table's), so more passes would only walk them again while the
 * program allocates; chains are left to the remark's fixpoint. */
#define EPH_STEP 4096
#define EPH_PASSES 2

#define PARTIAL_FIELDS 1024


int mark_init(unsigned workers)
{
	mk.rescans = 0;
	mk.noted = meta_calloc(workers * sizeof(*mk.noted));
	if (!mk.noted)
		return GYRE_ENOMEM;
	if (work_pool_init(&mk.wp, workers)) {
		meta_free(mk.noted);
		return GYRE_ENOMEM;
	}
	return GYRE_OK;
}

void mark_shutdown(void)
{
	for (unsigned i = 0; i < mk.wp.nstacks; i++) {
		ptrvec_free(&mk.noted[i].weak);
		ptrvec_free(&mk.noted[i].eph);
	}
	meta_free(mk.noted);
	mk.noted = NULL;
	mark_final_shutdown();
	work_pool_shutdown(&mk.wp);
	meta_free(mk.cstack.items);
	meta_free(mk.deferred.items);
	meta_free(mk.partials);
	mk.cstack = mk.deferred = (struct work_stack){0};
	mk.partials = NULL;
	mk.npartials = mk.partials_cap = 0;
}

void mark_set_stack_limit(size_t entries)
{
	mk.wp.stack_limit = entries;
}

size_t mark_rescans(void)
{
	return mk.rescans;
}

bool mark_is_object(uintptr_t p)
{
	if (heap_contains(p))
		return heap_is_small_object(p);
	return large_find(p) == (void *)p;
}

/* A pointer field, read while a mutator may store into it. Acquire, paired
 * with GYRE_STORE's release: the storing thread's writes before it (the
 * target's block metadata, which old_target reads) are visible here. With
 * the world stopped it costs nothing extra (a plain move on x86). */
static inline void *load_field(void **slot)
{
	return __atomic_load_n(slot, __ATOMIC_ACQUIRE);
}

struct trace_ctx {
	struct work_stack *w;
	void *holder;
};

static void visit(void **slot, void *ctx)
{
	struct trace_ctx *c = ctx;
	void *v = load_field(slot);
	if (v) {
		compact_note(c->holder, slot, v);
		mark_field(c->w, v, c->holder);
	}
}

/* The pointer fields of elements [from, to) of obj. */
static void scan_fields(struct work_stack *w, void *obj, const struct type *t,
			uint32_t from, uint32_t to)
{
	char *elem = (char *)obj + (size_t)from * t->size;
	for (uint32_t e = from; e < to; e++, elem += t->size)
		for (uint32_t i = 0; i < t->n_ptrs; i++) {
			void **slot = (void **)elem + t->word_offsets[i];
			void *v = load_field(slot);
			if (v) {
				compact_note(obj, slot, v);
				mark_field(w, v, obj);
			}
		}
}

/* gyre's own words of obj (weak.h), noted to be resolved once the
 * marking is complete: a weak reference's target, an ephemeron whose key
 * is not marked yet (one whose key is has its value marked now). Young
 * ones in a concurrent cycle (only its first pause scans those) are
 * strong [INV-WEAK-SHADE]; without memory for the note, so is any: what
 * it holds survives this collection. */
static void special_found(struct work_stack *w, void *obj, const struct type *t)
{
	void **words = obj;
	void *first = load_field(&words[0]);
	if (!first)
		return;
	compact_note(obj, &words[0], first);
	if (t->special == SPECIAL_EPHEMERON)
		compact_note(obj, &words[1], load_field(&words[1]));
	bool strong = old_only() && !old_target(obj);
	struct noted *n = &mk.noted[w->id];
	if (t->special == SPECIAL_WEAK) {
		if (strong || !ptrvec_push(&n->weak, obj))
			mark_field(w, first, obj);
		return;
	}
	if (strong || survives(first) || !ptrvec_push(&n->eph, obj)) {
		mark_field(w, first, obj);
		void *value = load_field(&words[1]);
		if (value)
			mark_field(w, value, obj);
	}
}

static bool defer_partial(void *obj);

static void scan_object(struct work_stack *w, void *obj)
{
	uint64_t h = *object_header(obj);
	const struct type *t = type_get(header_type(h));
	uint32_t n = header_length(h);
	char *elem = obj;
	if (t->kind == TYPE_OFFSETS) {
		/* In a bounded increment a large array is scanned a chunk at
		 * a time, between deadline checks (mark_old_increment): one
		 * scanned whole (a server's 16 MiB table) took 7 ms. */
		if (mk.bounded && (size_t)n * t->n_ptrs > PARTIAL_FIELDS && defer_partial(obj))
			return;
		scan_fields(w, obj, t, 0, n);
		if (t->special)
			special_found(w, obj, t);
	} else if (t->kind == TYPE_TRACE) {
		struct trace_ctx c = {w, obj};
		for (uint32_t e = 0; e < n; e++, elem += t->size)
			t->trace(elem, visit, &c);
	}
}

/* Conservative: any word may be a pointer into an object. In a full
 * collection that compacts, the object's block is noted held: it is not
 * evacuated (compact.h). */
static void mark_word(struct work_stack *w, uintptr_t v)
{
	void *obj = heap_find_small(v);
	if (obj && !old_only() && gyre_cfg.compact > 0)
		compact_note_held(block_of(v));
	if (!obj && !heap_contains(v))
		obj = large_find(v);
	if (obj && (!old_only() || old_target(obj)) && set_mark(obj))
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

/* A field of a frozen object on a card that is not clean: frozen objects
 * are never scanned, and what they point at outside the permanent
 * generation is found this way [INV-FROZEN]. */
static void scan_frozen_slot(void **slot, void *holder, void *ctx)
{
	void *v = load_field(slot);
	if (v) {
		compact_note(holder, slot, v);
		mark_field(ctx, v, holder);
	}
}

static void scan_roots(struct work_stack *w)
{
	roots_for_each_stack(w->id, mk.wp.nstacks, scan_range, w);
	if (w->id == mk.wp.nstacks - 1) {
		roots_for_each_area(scan_range, w);
		roots_for_each_handle(scan_handle, w);
		final_for_each_root(scan_handle, w);
		freeze_for_each_card_slot(scan_frozen_slot, w);
	}
}

/* In a bounded increment: true once its time is up (the clock is read
 * every POLL_EVERY objects). */
#define POLL_EVERY 64
static bool time_up(unsigned *polls)
{
	if (atomic_load_relaxed(&mk.stop))
		return true;
	if (++*polls % POLL_EVERY || gyre_now_ns() < mk.deadline)
		return false;
	atomic_store_relaxed(&mk.stop, true);
	return true;
}

/* Scans until the local stack is empty (or a bounded increment's time is
 * up). Objects pass through a small ring
 * on their way from the stack to scan_object, and are prefetched as they
 * enter it: scanning is bound by the cache miss on each object's first
 * word, and the ring gives the prefetch PREFETCH_DIST objects of lead. */
void mark_drain_local(struct work_stack *w, void *ctx)
{
	(void)ctx;
	void *ring[PREFETCH_DIST];
	unsigned head = 0, n = 0;
	unsigned polls = 0;
	while (w->n || n) {
		if (mk.bounded && time_up(&polls)) {
			/* The ring's objects go back on the stack, unscanned. */
			for (; n; n--, head = (head + 1) % PREFETCH_DIST)
				push(w, ring[head]);
			return;
		}
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

/* `roots` (non-NULL) asks for the roots to be scanned first. */
void mark_worker(unsigned id, void *roots)
{
	struct work_stack *w = &mk.wp.stacks[id];
	if (roots)
		scan_roots(w);
	work_drain(&mk.wp, w, mark_drain_local, NULL, lost, NULL);
}

/* Drains this worker's stack and the pool, alone. */
static void drain_alone(struct work_stack *w)
{
	do
		mark_drain_local(w, NULL);
	while (work_take(&mk.wp, w, lost));
}

/* Overflow recovery: scan every marked object again (its unmarked
 * children get marked and pushed), on this thread, until nothing is
 * dropped. */
static void rescan_heap(struct work_stack *w)
{
	for (size_t bi = 0; bi < heap.top; bi++) {
		struct block *b = &heap.blocks[bi];
		/* Frozen objects are marked but never scanned: what they
		 * point at came from their cards [INV-FROZEN]. */
		if (b->state == BLOCK_FREE || block_frozen(b))
			continue;
		for (unsigned i = 0; i < BITMAP_WORDS; i++)
			for (uint64_t m = atomic_load_relaxed(&b->marks[i]); m; m &= m - 1) {
				uint32_t s = bitmap_slot(i, m);
				scan_object(w, object_from_slot(block_base(b) +
						(size_t)s * b->obj_size));
				drain_alone(w);
			}
	}
	for (size_t i = 0; i < large.count; i++)
		if (atomic_load_relaxed(&large.objs[i]->mark) == 1) {
			scan_object(w, large_object(large.objs[i]));
			drain_alone(w);
		}
}


void mark_heap(void)
{
	GYRE_ASSERT(stw_world_stopped());
	GYRE_ASSERT(mk.wp.nstacks == workers_count());
	GYRE_ASSERT(!old_only());
	work_pool_start(&mk.wp, mk.wp.nstacks);
	atomic_store_relaxed(&mk.overflow, false);
	workers_run(mark_worker, &mk);
	mark_finish();
}

/* ------------------------------------------- the concurrent cycle (gen 2) */

/* Every object of a young block (its start bits) as a root, a word of
 * bits at a time: a retained nursery block has 4,096 slots and a few
 * objects. */
static void scan_young_block(struct work_stack *w, struct block *b)
{
	char *base = block_base(b);
	for (unsigned i = 0; i < BITMAP_WORDS; i++)
		for (uint64_t m = b->starts[i]; m; m &= m - 1) {
			uint32_t s = bitmap_slot(i, m);
			scan_object(w, object_from_slot(base + (size_t)s * b->obj_size));
		}
}

void mark_old_start(void)
{
	GYRE_ASSERT(stw_world_stopped() && !old_only() && !mk.cstack.n &&
		    !mk.deferred.n);
	satb_start();
	atomic_store_relaxed(&mk.overflow, false);
	mk.eph_cursor = 0;
	mk.eph_kept = false;
	mk.eph_passes = 0;
	struct work_stack *w = &mk.cstack;
	roots_for_each_stack(0, 1, scan_range, w);
	roots_for_each_area(scan_range, w);
	roots_for_each_handle(scan_handle, w);
	final_for_each_root(scan_handle, w);
	freeze_for_each_card_slot(scan_frozen_slot, w);
	/* The minor collection before this tenured every survivor, so the
	 * young objects left are the pinned ones: all are scanned, those
	 * that nothing points at any more too (a blocking thread may have
	 * changed its stack since the pin pass read it). */
	for (struct block *b = nursery.blocks; b; b = b->next)
		scan_young_block(w, b);
	for (struct block *b = heap.gen1; b; b = b->gnext)
		scan_young_block(w, b);
	mk.cycle++;
}

uint64_t mark_old_cycle(void)
{
	return mk.cycle;
}

static bool partial_push(void *obj)
{
	if (mk.npartials == mk.partials_cap) {
		size_t cap = mk.partials_cap ? 2 * mk.partials_cap : 16;
		struct partial *p = meta_realloc(mk.partials, cap * sizeof(*p));
		if (!p)
			return false;
		mk.partials = p;
		mk.partials_cap = cap;
	}
	mk.partials[mk.npartials++] = (struct partial){obj, 0};
	return true;
}

/* In a bounded increment: the large array goes to the partial ones, to
 * be scanned from its start between deadline checks; false without
 * memory (it is then scanned whole). Any worker. */
static bool defer_partial(void *obj)
{
	pthread_mutex_lock(&mk.partial_lock);
	bool ok = partial_push(obj);
	pthread_mutex_unlock(&mk.partial_lock);
	return ok;
}

/* Scans the next chunk of the newest partial object; returns the fields
 * scanned. */
static size_t scan_partial(struct work_stack *w)
{
	struct partial *p = &mk.partials[mk.npartials - 1];
	uint64_t h = *object_header(p->obj);
	const struct type *t = type_get(header_type(h));
	uint32_t n = header_length(h);
	uint32_t per = PARTIAL_FIELDS / t->n_ptrs ? PARTIAL_FIELDS / t->n_ptrs : 1;
	uint32_t from = p->next, to = n - from > per ? from + per : n;
	void *obj = p->obj;
	if (to == n)
		mk.npartials--;
	else
		p->next = to;
	scan_fields(w, obj, t, from, to);
	return (size_t)(to - from) * t->n_ptrs;
}

/* Scans an old object while the world runs; returns its cost in fields
 * (at least 1). Tracer types wait for the remark: gyre.h promises tracers
 * a stopped world. Objects with many fields become partial ones. */
static size_t scan_object_concurrent(struct work_stack *w, void *obj)
{
	uint64_t h = *object_header(obj);
	const struct type *t = type_get(header_type(h));
	if (t->kind == TYPE_OFFSETS) {
		size_t fields = (size_t)header_length(h) * t->n_ptrs;
		if (fields > PARTIAL_FIELDS && partial_push(obj))
			return 1;
		scan_fields(w, obj, t, 0, header_length(h));
		if (t->special)
			special_found(w, obj, t);
		return fields + 1;
	}
	if (t->kind == TYPE_TRACE && !work_push(&mk.wp, &mk.deferred, obj))
		lost(w, obj);
	return 1;
}

/* Like mark_drain_local, objects pass through a prefetch ring; the ring is
 * empty again when this returns, so a pause finds every grey object on
 * the stack or among the partial ones. */
bool mark_old_step(size_t budget)
{
	struct work_stack *w = &mk.cstack;
	GYRE_ASSERT(old_only());
	void *ring[PREFETCH_DIST];
	unsigned head = 0, n = 0;
	for (;;) {
		while (n < PREFETCH_DIST && w->n && budget) {
			void *obj = w->items[--w->n];
			__builtin_prefetch(object_header(obj));
			ring[(head + n++) % PREFETCH_DIST] = obj;
		}
		size_t cost;
		if (n) {
			void *obj = ring[head];
			head = (head + 1) % PREFETCH_DIST;
			n--;
			cost = scan_object_concurrent(w, obj);
		} else if (budget && mk.npartials) {
			cost = scan_partial(w);
		} else {
			break;
		}
		budget -= cost < budget ? cost : budget;
	}
	return !w->n && !mk.npartials;
}

bool mark_old_ephemerons(void)
{
	GYRE_ASSERT(old_only());
	struct ptrvec *v = &mk.noted[0].eph;
	if (mk.eph_passes == EPH_PASSES)
		return false;
	for (size_t budget = EPH_STEP; budget && mk.eph_cursor < v->n; budget--) {
		struct eph_obj *e = v->v[mk.eph_cursor];
		if (!survives(load_field(&e->key))) {
			mk.eph_cursor++;
			continue;
		}
		void *value = load_field(&e->value);
		if (value)
			mark_old_shade(value);
		v->v[mk.eph_cursor] = v->v[--v->n];
		mk.eph_kept = true;
	}
	if (mk.eph_cursor < v->n)
		return true;
	bool kept = mk.eph_kept;
	mk.eph_cursor = 0;
	mk.eph_kept = false;
	mk.eph_passes++;
	return kept;
}

bool mark_old_marked(const void *obj)
{
	uintptr_t p = (uintptr_t)obj;
	if (!heap_contains(p))
		return atomic_load_relaxed(&large_of(obj)->mark) != 0;
	struct block *b = block_of(p);
	uint32_t slot = block_slot(b, p - HEADER_SIZE);
	return atomic_load_relaxed(&b->marks[slot / 64]) >> (slot % 64) & 1;
}

bool mark_old_wanted(void *obj)
{
	return old_target(obj) && !mark_old_marked(obj);
}

/* True if a logged value is an old object, which the cycle must mark;
 * checked builds abort on a value that is no object at all. */
static bool logged_old(void *obj)
{
	if (!old_target(obj))
		return false;
	if (GYRE_DEBUG && !valid_old_target(obj))
		gyre_fatal("GYRE_STORE overwrote %p, which is not a gyre object: a "
			   "pointer field must hold NULL or an object before a "
			   "store too", obj);
	return true;
}

void mark_old_shade(void *obj)
{
	GYRE_ASSERT(old_only());
	if (logged_old(obj) && set_mark(obj))
		push(&mk.cstack, obj);
}

void mark_old_shade_lost(void *obj)
{
	if (logged_old(obj) && set_mark(obj))
		lost(NULL, obj);
}

static void move_to(struct work_stack *from, struct work_stack *to)
{
	while (from->n) {
		void *obj = from->items[--from->n];
		if (!work_push(&mk.wp, to, obj))
			lost(to, obj);
	}
}

/* World stopped: the cycle's grey objects (those of tracer types too)
 * go to the workers. */
static void hand_out(void)
{
	move_to(&mk.cstack, &mk.wp.stacks[0]);
	move_to(&mk.deferred, &mk.wp.stacks[0]);
}

void mark_old_finish(void)
{
	GYRE_ASSERT(stw_world_stopped() && old_only());
	work_pool_start(&mk.wp, mk.wp.nstacks);
	hand_out();
	/* Scanned again whole: fields scanned twice are harmless. */
	for (; mk.npartials; mk.npartials--)
		if (!work_push(&mk.wp, &mk.wp.stacks[0], mk.partials[mk.npartials - 1].obj))
			lost(NULL, mk.partials[mk.npartials - 1].obj);
	workers_run(mark_worker, NULL);
	mark_finish();
}

/* Fields of the partial objects the initiator scans between two parallel
 * phases of an increment (their children are the next phase's work). */
#define PARTIAL_BATCH (16 * PARTIAL_FIELDS)

bool mark_old_increment(uint64_t deadline)
{
	GYRE_ASSERT(stw_world_stopped() && old_only());
	mk.bounded = true;
	mk.deadline = deadline;
	atomic_store_relaxed(&mk.stop, false);
	work_pool_start(&mk.wp, mk.wp.nstacks);
	hand_out();
	for (;;) {
		workers_run(mark_worker, NULL);
		if (atomic_load_relaxed(&mk.stop) || !mk.npartials)
			break;
		/* The large arrays met so far, a chunk at a time, resumed
		 * where the last increment (or the collector thread) left
		 * them. */
		struct work_stack *w = &mk.wp.stacks[0];
		for (size_t fields = 0; mk.npartials && fields < PARTIAL_BATCH;)
			fields += scan_partial(w);
		if (gyre_now_ns() >= deadline)
			break;
		work_pool_start(&mk.wp, mk.wp.nstacks);
	}
	mk.bounded = false;
	/* What the workers did not reach (work_drain has emptied the pool
	 * onto their stacks) waits for the collector thread again. */
	for (unsigned i = 0; i < mk.wp.nstacks; i++)
		move_to(&mk.wp.stacks[i], &mk.cstack);
	return !mk.cstack.n && !mk.npartials && !atomic_load_relaxed(&mk.overflow);
}

bool mark_old_active(void)
{
	return old_only();
}

/* After the parallel phase: recovers from overflow. */
void mark_finish(void)
{
	while (atomic_load_relaxed(&mk.overflow)) {
		atomic_store_relaxed(&mk.overflow, false);
		mk.rescans++;
		rescan_heap(&mk.wp.stacks[0]);
	}
	GYRE_ASSERT(cds_lfs_empty(&mk.wp.pool));
}
