/*
 * compact.c: evacuating generation 2's sparsest blocks in a full
 * collection (see compact.h for the phases and their invariants).
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
#include "gc/old/compact.h"
#include "runtime/config.h"
#include "runtime/meta.h"
#include "threads/stw.h"
#include "threads/workers.h"

/* Occupancy bins of the census: a block with `live` of `nslots` slots in
 * use is in bin live * BINS / nslots. */
#define BINS 64
/* Blocks at least this full (in bins) are never chosen: copying over 7/8
 * of a block to free it is not worth it (compact.h). */
#define BIN_LIMIT (BINS * 7 / 8)
/* Bins that are not occupancy: a chosen block, a held block with free
 * slots (a destination only), and every other block. */
#define CANDIDATE 0xfd
#define HELD_ROOM 0xfe
#define NOT_ELIGIBLE 0xff
#define CHUNK_BLOCKS 32
#define CHUNK_LARGE 64

_Atomic uint8_t *compact_held;

/* One size class's census. */
struct census {
	size_t free;              /* free slots in its gen-2 blocks */
	size_t blocks[BINS];      /* eligible blocks per bin */
	size_t live[BINS];        /* their live slots */
};

/* A worker's state: its census (merged after the job), the destination
 * block it fills in each class and its counts. */
struct worker {
	struct census census[SIZECLASS_COUNT];
	struct block *dest[SIZECLASS_COUNT];
	uint32_t dest_slot[SIZECLASS_COUNT]; /* next slot to look at */
	struct compact_result r;
	char pad[64];
};

static struct {
	uint8_t *bin;             /* per block: its bin, or one of the above */
	uint32_t *live;           /* per block: its marked slots */
	struct worker *workers;
	unsigned nworkers;
	struct census census[SIZECLASS_COUNT];
	/* Per class: the bins below `cut` are evacuated, and the blocks of
	 * bin `cut` that still fit: `moved` live slots so far, in `room`
	 * free slots of the blocks not chosen (choose_cut). */
	uint8_t cut[SIZECLASS_COUNT];
	size_t moved[SIZECLASS_COUNT], room[SIZECLASS_COUNT];
	/* Candidates, and destinations by class: dest[dest_start[c] ..
	 * dest_start[c + 1]) are class c's, claimed from dest_next[c]. */
	struct block **cand;
	size_t ncand;
	struct block **dest;
	size_t dest_start[SIZECLASS_COUNT + 1];
	_Atomic size_t dest_next[SIZECLASS_COUNT];
	/* Claims: the next block index, candidate, or large object.
	 * Relaxed: they only hand out indices. */
	_Atomic size_t next_block, next_cand, next_large;
	size_t top;
	bool mopping;             /* mop_up runs: take_slot may adopt */
	/* Test hook (compact_refuse_every): every `refuse`-th take_slot of
	 * the parallel evacuation finds no room; `mopped`, what the last
	 * mop-up moved. */
	unsigned refuse;
	_Atomic unsigned takes;
	size_t mopped;
} cp;

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
	if (compact_held && cp.bin && cp.live)
		return GYRE_OK;
	compact_shutdown();
	return GYRE_ENOMEM;
}


/* Claims the next chunk of [0, n) from *next: [*start, *end). */
static bool claim(_Atomic size_t *next, size_t chunk, size_t n, size_t *start,
		  size_t *end)
{
	*start = atomic_add_relaxed(next, chunk);
	if (*start >= n)
		return false;
	*end = *start + chunk < n ? *start + chunk : n;
	return true;
}

static uint32_t marked_slots(const struct block *b)
{
	uint32_t n = 0;
	for (unsigned i = 0; i < BITMAP_WORDS; i++)
		n += (uint32_t)__builtin_popcountll(atomic_load_relaxed(&b->marks[i]));
	return n;
}

/* ------------------------------------------------------------ census */

static void census_worker(unsigned id, void *arg)
{
	(void)arg;
	struct worker *w = &cp.workers[id];
	size_t start, end;
	while (claim(&cp.next_block, CHUNK_BLOCKS, cp.top, &start, &end)) {
		for (size_t i = start; i < end; i++) {
			struct block *b = &heap.blocks[i];
			bool held = atomic_load_relaxed(&compact_held[i]);
			atomic_store_relaxed(&compact_held[i], 0);
			cp.bin[i] = NOT_ELIGIBLE;
			if (b->state != BLOCK_SMALL || b->gen != 2)
				continue;
			GYRE_ASSERT(!b->owned && !block_unswept(b));
			uint32_t live = marked_slots(b);
			cp.live[i] = live;
			/* An empty block is the sweep's to free: neither a
			 * candidate nor a destination. */
			if (live == 0 || live == b->nslots)
				continue;
			struct census *c = &w->census[b->sizeclass];
			c->free += b->nslots - live;
			if (held) {
				cp.bin[i] = HELD_ROOM;
				continue;
			}
			unsigned bin = live * BINS / b->nslots;
			cp.bin[i] = (uint8_t)bin;
			c->blocks[bin]++;
			c->live[bin] += live;
		}
	}
}

/* ------------------------------------------------------------ choice */

/* Bins at or above this are never chosen. */
static unsigned bin_limit(void)
{
	return gyre_cfg.compact == 2 ? BINS : BIN_LIMIT;
}

/* What to evacuate of class c, sparsest first: whole bins while their
 * live slots fit in the free slots of the blocks left; then, in the next
 * bin, each block (by address) whose live slots still fit. So a heap
 * whose blocks are all about as sparse (one bin) compacts too. Sets
 * cut[c], and the room and moved slots left for the partial bin. */
static void choose_cut(unsigned c)
{
	const struct census *k = &cp.census[c];
	size_t nslots = BLOCK_SIZE / sizeclass_size[c];
	unsigned limit = bin_limit();
	size_t moved = 0, room = k->free;
	unsigned bin = 0;
	for (; bin < limit; bin++) {
		size_t freed_room = k->blocks[bin] * nslots - k->live[bin];
		if (moved + k->live[bin] + freed_room > room)
			break;
		moved += k->live[bin];
		room -= freed_room;
	}
	cp.cut[c] = (uint8_t)bin;
	cp.moved[c] = moved;
	cp.room[c] = room;
}

/* Whether block b (bin `bin`, `live` slots) is a candidate. */
static bool chosen(const struct block *b, uint8_t bin, uint32_t live)
{
	unsigned c = b->sizeclass;
	if (bin < cp.cut[c])
		return true;
	if (bin != cp.cut[c] || bin >= bin_limit() || cp.moved[c] + b->nslots > cp.room[c])
		return false;
	cp.moved[c] += live;
	cp.room[c] -= b->nslots - live;
	return true;
}

/* Fills cp.cand and cp.dest from the bins; false without memory. */
static bool choose(void)
{
	for (unsigned c = 0; c < SIZECLASS_COUNT; c++)
		choose_cut(c);
	size_t ncand = 0, ndest = 0, count[SIZECLASS_COUNT] = {0};
	for (size_t i = 0; i < cp.top; i++) {
		struct block *b = &heap.blocks[i];
		if (cp.bin[i] == NOT_ELIGIBLE)
			continue;
		if (chosen(b, cp.bin[i], cp.live[i])) {
			cp.bin[i] = CANDIDATE;
			ncand++;
		} else {
			count[b->sizeclass]++;
			ndest++;
		}
	}
	if (!ncand)
		return true;
	cp.cand = meta_alloc(ncand * sizeof(*cp.cand));
	cp.dest = meta_alloc((ndest ? ndest : 1) * sizeof(*cp.dest));
	if (!cp.cand || !cp.dest)
		return false;
	size_t fill[SIZECLASS_COUNT];
	cp.dest_start[0] = 0;
	for (unsigned c = 0; c < SIZECLASS_COUNT; c++) {
		cp.dest_start[c + 1] = cp.dest_start[c] + count[c];
		fill[c] = cp.dest_start[c];
		atomic_store_relaxed(&cp.dest_next[c], cp.dest_start[c]);
	}
	for (size_t i = 0; i < cp.top; i++) {
		struct block *b = &heap.blocks[i];
		if (cp.bin[i] == CANDIDATE) {
			cp.cand[cp.ncand++] = b;
			heap.space[i] |= SPACE_EVAC;
		} else if (cp.bin[i] != NOT_ELIGIBLE) {
			cp.dest[fill[b->sizeclass]++] = b;
		}
	}
	return true;
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
	while (claim(&cp.next_cand, 1, cp.ncand, &start, &end))
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
		if (marked_slots(cp.cand[i]))
			evacuate_block(&cp.workers[0], cp.cand[i]);
	cp.mopping = false;
	cp.mopped = cp.workers[0].r.objects - before;
}

/* ------------------------------------------------------------ update */

/* Redirects *slot, a field of `holder` (NULL for a root), if it points at
 * an evacuated object; `old_holder`: holder is an object of a generation-2
 * block, whose field left pointing at a young object needs its card
 * dirty [INV-CARDS] (the copies' fields do; the others' cards are dirty
 * already, and dirtying again is harmless). */
static inline void update_slot(void **slot, const void *holder, bool old_holder)
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
	update_slot(slot, u->holder, u->old_holder);
}

/* Every pointer of obj: its fields, gyre's own words, what its tracer
 * visits. */
static void update_object(void *obj, bool old_holder)
{
	uint64_t h = *object_header(obj);
	const struct type *t = type_get(header_type(h));
	uint32_t n = header_length(h);
	char *elem = obj;
	if (t->kind == TYPE_OFFSETS) {
		for (uint32_t e = 0; e < n; e++, elem += t->size)
			for (uint32_t i = 0; i < t->n_ptrs; i++)
				update_slot((void **)elem + t->word_offsets[i], obj, old_holder);
		for (unsigned i = 0; i < type_special_words(t); i++)
			update_slot((void **)obj + i, obj, old_holder);
	} else if (t->kind == TYPE_TRACE) {
		struct update_ctx u = {obj, old_holder};
		for (uint32_t e = 0; e < n; e++, elem += t->size)
			t->trace(elem, update_visit, &u);
	}
}

/* The marked objects of a SMALL block (their slots are obj_size apart)
 * or of a NURSERY block kept for pinned objects (GRANULE apart). */
static void update_block(struct block *b)
{
	size_t step = b->state == BLOCK_SMALL ? b->obj_size : GRANULE;
	bool old_holder = b->state == BLOCK_SMALL && b->gen == 2;
	char *base = block_base(b);
	for (unsigned i = 0; i < BITMAP_WORDS; i++)
		for (uint64_t m = atomic_load_relaxed(&b->marks[i]); m; m &= m - 1) {
			uint32_t s = i * 64 + (uint32_t)__builtin_ctzll(m);
			update_object(object_from_slot(base + s * step), old_holder);
		}
}

static void update_worker(unsigned id, void *arg)
{
	(void)id;
	(void)arg;
	size_t start, end;
	while (claim(&cp.next_block, CHUNK_BLOCKS, cp.top, &start, &end))
		for (size_t i = start; i < end; i++) {
			struct block *b = &heap.blocks[i];
			if (b->state != BLOCK_FREE)
				update_block(b);
		}
	/* Large objects keep their cards: they do not move, and the
	 * targets that did stay in generation 2. */
	while (claim(&cp.next_large, CHUNK_LARGE, large.count, &start, &end))
		for (size_t i = start; i < end; i++)
			if (atomic_load_relaxed(&large.objs[i]->mark))
				update_object(large_object(large.objs[i]), false);
}

static void update_root(void **slot, void *ctx)
{
	(void)ctx;
	update_slot(slot, NULL, false);
}

/* The registry's view of an object after the evacuation. */
static void *moved(void *obj)
{
	if (heap_contains((uintptr_t)obj) && (space_of((uintptr_t)obj) & SPACE_EVAC)) {
		uint64_t h = *object_header(obj);
		if (h & HDR_FORWARDED)
			return (void *)(uintptr_t)(h & ~HDR_FORWARDED);
	}
	return obj;
}

/* -------------------------------------------------------------- driver */

static void run(worker_fn fn)
{
	atomic_store_relaxed(&cp.next_block, 0);
	atomic_store_relaxed(&cp.next_cand, 0);
	atomic_store_relaxed(&cp.next_large, 0);
	workers_run(fn, NULL);
}

static void merge_census(void)
{
	memset(cp.census, 0, sizeof(cp.census));
	for (unsigned i = 0; i < cp.nworkers; i++)
		for (unsigned c = 0; c < SIZECLASS_COUNT; c++) {
			struct census *from = &cp.workers[i].census[c], *to = &cp.census[c];
			to->free += from->free;
			for (unsigned bin = 0; bin < BINS; bin++) {
				to->blocks[bin] += from->blocks[bin];
				to->live[bin] += from->live[bin];
			}
		}
}

static void add_result(struct compact_result *r)
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

static void release(void)
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

void compact_heap(struct compact_result *r)
{
	GYRE_ASSERT(stw_world_stopped());
	memset(r, 0, sizeof(*r));
	if (gyre_cfg.compact < 0)
		return;
	cp.top = heap.top;
	cp.nworkers = workers_count();
	cp.workers = meta_calloc(sizeof(struct worker) * cp.nworkers);
	if (!cp.workers) {
		/* The notes must go all the same. */
		for (size_t i = 0; i < cp.top; i++)
			atomic_store_relaxed(&compact_held[i], 0);
		return;
	}
	uint64_t t0 = gyre_now_ns();
	run(census_worker);
	merge_census();
	bool chose = choose() && cp.ncand;
	uint64_t t1 = gyre_now_ns();
	r->census_ns = t1 - t0;
	if (chose) {
		r->blocks = cp.ncand;
		run(evacuate_worker);
		mop_up();
		uint64_t t2 = gyre_now_ns();
		run(update_worker);
		roots_for_each_handle(update_root, NULL);
		final_for_each_root(update_root, NULL);
		final_follow(moved);
		r->evacuate_ns = t2 - t1;
		r->update_ns = gyre_now_ns() - t2;
		add_result(r);
		if (gyre_cfg.verify)
			verify_compaction();
	}
	release();
}
