/*
 * compact_full.c: compaction in a full collection (compact.h): a census of
 * the marks chooses the candidates, and every marked object's fields are
 * updated. The evacuation itself is compact.c's.
 */
#include <string.h>

#include "gc/driver/verify.h"
#include "gc/final/final.h"
#include "gc/heap/large.h"
#include "gc/heap/roots.h"
#include "gc/old/compact_impl.h"
#include "runtime/config.h"
#include "runtime/meta.h"
#include "threads/stw.h"

/* ------------------------------------------------------------ census */

static void census_worker(unsigned id, void *arg)
{
	(void)arg;
	struct worker *w = &cp.workers[id];
	size_t start, end;
	while (compact_claim(&cp.next_block, CHUNK_BLOCKS, cp.top, &start, &end)) {
		for (size_t i = start; i < end; i++) {
			struct block *b = &heap.blocks[i];
			bool held = atomic_load_relaxed(&compact_held[i]);
			atomic_store_relaxed(&compact_held[i], 0);
			cp.bin[i] = NOT_ELIGIBLE;
			if (b->state != BLOCK_SMALL || b->gen != 2)
				continue;
			GYRE_ASSERT(!b->owned && !block_unswept(b));
			uint32_t live = compact_marked_slots(b);
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

/* The marked objects of a block: their slots are obj_size apart (GRANULE
 * in NURSERY and PACKED blocks). */
static void update_block(struct block *b)
{
	size_t step = b->obj_size;
	bool old_holder = block_old_format(b) && b->gen == 2;
	char *base = block_base(b);
	for (unsigned i = 0; i < BITMAP_WORDS; i++)
		for (uint64_t m = atomic_load_relaxed(&b->marks[i]); m; m &= m - 1) {
			uint32_t s = i * 64 + (uint32_t)__builtin_ctzll(m);
			compact_update_object(object_from_slot(base + s * step), old_holder);
		}
}

static void update_worker(unsigned id, void *arg)
{
	(void)id;
	(void)arg;
	size_t start, end;
	while (compact_claim(&cp.next_block, CHUNK_BLOCKS, cp.top, &start, &end))
		for (size_t i = start; i < end; i++) {
			struct block *b = &heap.blocks[i];
			if (b->state != BLOCK_FREE)
				update_block(b);
		}
	/* Large objects keep their cards: they do not move, and the
	 * targets that did stay in generation 2. */
	while (compact_claim(&cp.next_large, CHUNK_LARGE, large.count, &start, &end))
		for (size_t i = start; i < end; i++)
			if (atomic_load_relaxed(&large.objs[i]->mark))
				compact_update_object(large_object(large.objs[i]), false);
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
	compact_run(census_worker);
	merge_census();
	bool chose = choose() && cp.ncand;
	uint64_t t1 = gyre_now_ns();
	r->census_ns = t1 - t0;
	if (chose) {
		r->blocks = cp.ncand;
		compact_evacuate();
		uint64_t t2 = gyre_now_ns();
		compact_run(update_worker);
		compact_update_roots();
		r->evacuate_ns = t2 - t1;
		r->update_ns = gyre_now_ns() - t2;
		compact_add_result(r);
		if (gyre_cfg.verify)
			verify_compaction();
	}
	compact_release();
}
