/*
 * compact.c: the evacuation core of compaction (see compact.h for the
 * phases and their invariants, compact_impl.h for the drivers): copying
 * candidates' objects into destinations' free slots, forwarding, and
 * updating a slot or an object's pointers.
 *
 * Sync: every phase runs with the world stopped, its parallel part as one
 * workers_run job; the job's start publishes what the caller wrote before
 * it, and its end publishes the workers' writes to the caller. Inside a
 * job, a block is written by the one worker that claimed it (a candidate
 * by its evacuator, a destination by the worker filling it, any block by
 * its updater), so plain writes suffice there; bitmap words are written
 * with relaxed atomics only because heap_find_small reads them so.
 */
#include <string.h>

#include "gc/driver/verify.h"
#include "gc/final/final.h"
#include "gc/final/weak.h"
#include "gc/heap/card.h"
#include "gc/heap/large.h"
#include "gc/heap/roots.h"
#include "gc/heap/type.h"
#include "gc/old/compact_impl.h"
#include "runtime/config.h"
#include "runtime/meta.h"
#include "threads/stw.h"
#include "threads/workers.h"

_Atomic uint8_t *compact_held;
struct compact_state cp;

void compact_refuse_every(unsigned n)
{
	cp.refuse = n;
}

size_t compact_mopped(void)
{
	return cp.mopped;
}

void compact_shutdown(void)
{
	meta_free((void *)compact_held);
	meta_free(cp.bin);
	meta_free(cp.live);
	compact_cycle_shutdown();
	compact_held = NULL;
	cp.bin = NULL;
	cp.live = NULL;
}

int compact_init(void)
{
	if (gyre_cfg.compact < 0)
		return GYRE_OK;
	compact_held = meta_calloc(heap.nblocks);
	cp.bin = meta_calloc(heap.nblocks);
	cp.live = meta_calloc(heap.nblocks * sizeof(*cp.live));
	if (compact_held && cp.bin && cp.live && compact_cycle_init() == GYRE_OK)
		return GYRE_OK;
	compact_shutdown();
	return GYRE_ENOMEM;
}


/* Claims the next chunk of [0, n) from *next: [*start, *end). */
bool compact_claim(_Atomic size_t *next, size_t chunk, size_t n, size_t *start,
		  size_t *end)
{
	*start = atomic_add_relaxed(next, chunk);
	if (*start >= n)
		return false;
	*end = *start + chunk < n ? *start + chunk : n;
	return true;
}

uint32_t compact_marked_slots(const struct block *b)
{
	uint32_t n = 0;
	for (unsigned i = 0; i < BITMAP_WORDS; i++)
		n += (uint32_t)__builtin_popcountll(atomic_load_relaxed(&b->marks[i]));
	return n;
}

/* ---------------------------------------------------------- evacuate */

/* In the mop-up (alone): takes over another worker's destination of
 * class c, with what is left of its room. */
static bool adopt(struct worker *w, unsigned c)
{
	if (!cp.mopping)
		return false;
	w->dest[c] = NULL;
	for (unsigned i = 0; i < cp.nworkers; i++) {
		struct worker *o = &cp.workers[i];
		if (o != w && o->dest[c]) {
			w->dest[c] = o->dest[c];
			w->dest_slot[c] = o->dest_slot[c];
			o->dest[c] = NULL;
			return true;
		}
	}
	return false;
}

/* The first unmarked slot of b at or after slot `from`, or b->nslots. */
static uint32_t free_slot(const struct block *b, uint32_t from)
{
	for (uint32_t i = from / 64; i * 64 < b->nslots; i++) {
		uint64_t free = ~atomic_load_relaxed(&b->marks[i]);
		if (i == from / 64)
			free &= ~UINT64_C(0) << (from % 64);
		if (free) {
			uint32_t s = i * 64 + (uint32_t)__builtin_ctzll(free);
			return s < b->nslots ? s : b->nslots;
		}
	}
	return b->nslots;
}

/* A free slot of class c for worker w (marked at once: it is the copy's),
 * or NULL if the class has no destination left. */
static char *take_slot(struct worker *w, unsigned c)
{
	if (cp.refuse && !cp.mopping && atomic_add_relaxed(&cp.takes, 1) % cp.refuse == 0)
		return NULL;
	for (;;) {
		struct block *b = w->dest[c];
		uint32_t s = b ? free_slot(b, w->dest_slot[c]) : 0;
		if (b && s < b->nslots) {
			uint64_t bit = UINT64_C(1) << (s % 64);
			w->dest_slot[c] = s + 1;
			atomic_or_relaxed(&b->marks[s / 64], bit);
			if (b->starts[s / 64] & bit) {
				w->r.overwritten_objects++;
				w->r.overwritten_bytes += b->obj_size;
			} else {
				__atomic_fetch_or(&b->starts[s / 64], bit, __ATOMIC_RELAXED);
			}
			return block_base(b) + (size_t)s * b->obj_size;
		}
		size_t i = atomic_add_relaxed(&cp.dest_next[c], 1);
		if (i < cp.dest_start[c + 1]) {
			w->dest[c] = cp.dest[i];
			w->dest_slot[c] = 0;
		} else if (!adopt(w, c)) {
			return NULL;
		}
	}
}

/* [INV-CARDS] The copy of [from, from + size) lies on cards dirty if any
 * of the original's was: it may point at young (pinned) objects, and a
 * cycle's compaction rewrites only the fields on record, not the copies'
 * (a full one's update pass would dirty them too). Relaxed: the table is
 * read after the workers join. */
static void carry_cards(const char *from, const char *to, size_t size)
{
	size_t first = (size_t)(from - heap.base) >> CARD_SHIFT;
	size_t last = (size_t)(from + size - 1 - heap.base) >> CARD_SHIFT;
	bool dirty = false;
	for (size_t c = first; c <= last; c++)
		dirty |= __atomic_load_n(&heap.cards[c], __ATOMIC_RELAXED) & CARD_DIRTY;
	if (!dirty)
		return;
	for (size_t off = 0; off < size; off += CARD_SIZE)
		card_dirty(to, to + off);
	card_dirty(to, to + size - 1);
}

/* Moves every marked object of candidate b that finds room. */
static void evacuate_block(struct worker *w, struct block *b)
{
	char *base = block_base(b);
	for (unsigned i = 0; i < BITMAP_WORDS; i++) {
		uint64_t marks = atomic_load_relaxed(&b->marks[i]);
		for (uint64_t m = marks; m; m &= m - 1) {
			uint32_t s = i * 64 + (uint32_t)__builtin_ctzll(m);
			char *from = base + (size_t)s * b->obj_size;
			char *to = take_slot(w, b->sizeclass);
			if (!to) {
				w->r.stayed++;
				continue;
			}
			uint64_t h = *(uint64_t *)from;
			memcpy(to, from, object_size(h));
			carry_cards(from, to, object_size(h));
			*(uint64_t *)from = (uint64_t)(uintptr_t)object_from_slot(to) | HDR_FORWARDED;
			marks &= ~(UINT64_C(1) << (s % 64));
			w->r.objects++;
			w->r.bytes += b->obj_size;
		}
		atomic_store_relaxed(&b->marks[i], marks);
	}
}

static void evacuate_worker(unsigned id, void *arg)
{
	(void)arg;
	struct worker *w = &cp.workers[id];
	size_t start, end;
	while (compact_claim(&cp.next_cand, 1, cp.ncand, &start, &end))
		evacuate_block(w, cp.cand[start]);
}

/* After the parallel evacuation, on this thread: the objects that found
 * no room while other workers still held destinations with some (each
 * fills its own) move into those now. The choice left room for every
 * candidate's objects, so none stays unless a class's room was counted
 * wrong. */
static void mop_up(void)
{
	size_t stayed = 0;
	for (unsigned i = 0; i < cp.nworkers; i++) {
		stayed += cp.workers[i].r.stayed;
		cp.workers[i].r.stayed = 0;
	}
	cp.mopped = 0;
	if (!stayed)
		return;
	size_t before = cp.workers[0].r.objects;
	cp.mopping = true;
	for (size_t i = 0; i < cp.ncand; i++)
		if (compact_marked_slots(cp.cand[i]))
			evacuate_block(&cp.workers[0], cp.cand[i]);
	cp.mopping = false;
	cp.mopped = cp.workers[0].r.objects - before;
}

void compact_evacuate(void)
{
	compact_run(evacuate_worker);
	mop_up();
}

/* ------------------------------------------------------------ update */

/* Redirects *slot, a field of `holder` (NULL for a root), if it points at
 * an evacuated object; `old_holder`: holder is an object of a generation-2
 * block, whose field left pointing at a young object needs its card
 * dirty [INV-CARDS] (the copies' fields do; the others' cards are dirty
 * already, and dirtying again is harmless). */
void compact_update_slot(void **slot, const void *holder, bool old_holder)
{
	void *v = *slot;
	if (!v || !heap_contains((uintptr_t)v))
		return;
	uint8_t space = space_of((uintptr_t)v);
	if (space & SPACE_EVAC) {
		uint64_t h = *object_header(v);
		if (h & HDR_FORWARDED)
			*slot = (void *)(uintptr_t)(h & ~HDR_FORWARDED);
	} else if (old_holder && (space & SPACE_GEN_MASK) < 2) {
		card_dirty(holder, slot);
	}
}

struct update_ctx {
	const void *holder;
	bool old_holder;
};

static void update_visit(void **slot, void *ctx)
{
	struct update_ctx *u = ctx;
	compact_update_slot(slot, u->holder, u->old_holder);
}

/* Every pointer of obj: its fields, gyre's own words, what its tracer
 * visits. */
void compact_update_object(void *obj, bool old_holder)
{
	uint64_t h = *object_header(obj);
	const struct type *t = type_get(header_type(h));
	uint32_t n = header_length(h);
	char *elem = obj;
	if (t->kind == TYPE_OFFSETS) {
		for (uint32_t e = 0; e < n; e++, elem += t->size)
			for (uint32_t i = 0; i < t->n_ptrs; i++)
				compact_update_slot((void **)elem + t->word_offsets[i], obj, old_holder);
		for (unsigned i = 0; i < type_special_words(t); i++)
			compact_update_slot((void **)obj + i, obj, old_holder);
	} else if (t->kind == TYPE_TRACE) {
		struct update_ctx u = {obj, old_holder};
		for (uint32_t e = 0; e < n; e++, elem += t->size)
			t->trace(elem, update_visit, &u);
	}
}

void compact_update_root(void **slot, void *ctx)
{
	(void)ctx;
	compact_update_slot(slot, NULL, false);
}

void *compact_moved(void *obj)
{
	if (heap_contains((uintptr_t)obj) && (space_of((uintptr_t)obj) & SPACE_EVAC)) {
		uint64_t h = *object_header(obj);
		if (h & HDR_FORWARDED)
			return (void *)(uintptr_t)(h & ~HDR_FORWARDED);
	}
	return obj;
}

/* -------------------------------------------------------------- driver */

void compact_update_roots(void)
{
	roots_for_each_handle(compact_update_root, NULL);
	final_for_each_root(compact_update_root, NULL);
	final_follow(compact_moved);
}

void compact_run(worker_fn fn)
{
	atomic_store_relaxed(&cp.next_block, 0);
	atomic_store_relaxed(&cp.next_cand, 0);
	atomic_store_relaxed(&cp.next_large, 0);
	workers_run(fn, NULL);
}

void compact_add_result(struct compact_result *r)
{
	for (unsigned i = 0; i < cp.nworkers; i++) {
		const struct compact_result *w = &cp.workers[i].r;
		r->objects += w->objects;
		r->bytes += w->bytes;
		r->stayed += w->stayed;
		r->overwritten_objects += w->overwritten_objects;
		r->overwritten_bytes += w->overwritten_bytes;
	}
}

void compact_release(void)
{
	for (size_t i = 0; i < cp.ncand; i++)
		heap.space[block_index(cp.cand[i])] &= (uint8_t)~SPACE_EVAC;
	meta_free(cp.cand);
	meta_free(cp.dest);
	meta_free(cp.workers);
	cp.cand = cp.dest = NULL;
	cp.workers = NULL;
	cp.ncand = 0;
}

void compact_fix_counts(const struct compact_result *r, struct sweep_result *s)
{
	s->freed_objects = s->freed_objects + r->overwritten_objects - r->objects;
	s->freed_bytes = s->freed_bytes + r->overwritten_bytes - r->bytes;
}

