/*
 * freeze.c: the permanent generation (see freeze.h): freezing what a full
 * collection left alive, handing it back, the frozen objects' cards
 * as roots of the old generation's marking, and the verifier's checks.
 * Everything here runs with the world stopped.
 */
#include <string.h>

#include "gc/heap/card.h"
#include "gc/heap/freeze.h"
#include "gc/heap/packed.h"
#include "gc/heap/type.h"
#include "gc/final/weak.h"
#include "gc/old/sweep.h"
#include "threads/stw.h"

static struct {
	/* [INV-FROZEN] The frozen objects and their bytes. Sync: written
	 * with the world stopped; read relaxed by gyre_stats_get and
	 * gyre_get_freeze_count, which any thread may call. */
	_Atomic size_t objects, bytes;
} freeze;

size_t freeze_objects(void)
{
	return atomic_load_relaxed(&freeze.objects);
}

size_t freeze_bytes(void)
{
	return atomic_load_relaxed(&freeze.bytes);
}

/* The objects of a swept or frozen SMALL or PACKED block: its start bits,
 * but a packed block's fillers [INV-PACKED] (its live count leaves them
 * out). */
static uint32_t block_objects(const struct block *b)
{
	if (b->state == BLOCK_PACKED)
		return b->live;
	uint32_t n = 0;
	for (unsigned w = 0; w < BITMAP_WORDS; w++)
		n += (uint32_t)__builtin_popcountll(b->starts[w]);
	return n;
}

/* Drops the frozen blocks from generation 2's class lists. */
static void unlist_frozen(void)
{
	for (unsigned c = 0; c < SIZECLASS_COUNT; c++) {
		struct block **link = &heap.classes[1][c].head;
		while (*link)
			if (block_frozen(*link))
				*link = (*link)->next;
			else
				link = &(*link)->next;
	}
}

void freeze_heap(struct sweep_result *r)
{
	GYRE_ASSERT(stw_world_stopped() && !sweep_old_pending());
	size_t objects = 0, bytes = 0;
	for (size_t i = 0; i < heap.top; i++) {
		struct block *b = &heap.blocks[i];
		if (!block_old_format(b) || b->gen != 2)
			continue;
		GYRE_ASSERT(!b->owned && !block_unswept(b));
		/* Marked for good: marking reads these bits and never has
		 * to write them. */
		for (unsigned w = 0; w < BITMAP_WORDS; w++)
			atomic_store_relaxed(&b->marks[w], b->starts[w]);
		block_set_gen(b, GEN_FROZEN);
		uint32_t n = block_objects(b);
		size_t b_bytes = block_starts_bytes(b, n);
		objects += n;
		bytes += b_bytes;
		r->old_blocks--;
		r->old_free_bytes -= block_free_bytes(b, n);
	}
	unlist_frozen();
	/* A frozen block's pages are never written: no copy may go into
	 * its holes (the next sweep lists those of the blocks that thaw). */
	packed_holes_reset();
	for (size_t i = 0; i < large.count; i++) {
		struct large *l = large.objs[i];
		if (large_frozen(l))
			continue;
		GYRE_ASSERT(atomic_load_relaxed(&l->mark) == 0);
		atomic_store_relaxed(&l->mark, LARGE_FROZEN);
		objects++;
		bytes += l->bytes;
	}
	r->live_objects -= objects;
	r->live_bytes -= bytes;
	atomic_add_relaxed(&freeze.objects, objects);
	atomic_add_relaxed(&freeze.bytes, bytes);
}

/* Back in generation 2, the cards' CARD_OLD bits mean nothing. */
static void drop_card_old(uint8_t *cards, size_t n)
{
	for (size_t k = 0; k < n; k++)
		cards[k] &= (uint8_t)~CARD_OLD;
}

void unfreeze_heap(void)
{
	GYRE_ASSERT(stw_world_stopped() && !sweep_old_pending());
	for (size_t i = 0; i < heap.top; i++) {
		struct block *b = &heap.blocks[i];
		if (!block_frozen(b))
			continue;
		for (unsigned w = 0; w < BITMAP_WORDS; w++)
			atomic_store_relaxed(&b->marks[w], 0);
		/* Swept as of now [INV-UNSWEPT]; the full collection's sweep
		 * relists it. */
		b->swept = heap.sweep_epoch;
		block_set_gen(b, 2);
		drop_card_old(block_cards(b), CARDS_PER_BLOCK);
	}
	for (size_t i = 0; i < large.count; i++)
		if (large_frozen(large.objs[i])) {
			atomic_store_relaxed(&large.objs[i]->mark, 0);
			drop_card_old(large.objs[i]->cards, large_ncards(large.objs[i]));
		}
	atomic_store_relaxed(&freeze.objects, 0);
	atomic_store_relaxed(&freeze.bytes, 0);
}

/* ------------------------------------------------ dirty cards as roots */

struct card_visit {
	void (*fn)(void **slot, void *holder, void *ctx);
	void *ctx;
	void *holder;
	uintptr_t lo, hi;
};

static void visit_in_card(void **slot, void *arg)
{
	struct card_visit *v = arg;
	if ((uintptr_t)slot >= v->lo && (uintptr_t)slot < v->hi)
		v->fn(slot, v->holder, v->ctx);
}

/* The pointer fields of obj that lie in [lo, hi), gyre's own words too.
 * An array of offsets types is visited only over the elements that
 * overlap the card (a frozen table may be large). */
static void visit_fields(struct card_visit *v, void *obj)
{
	uint64_t h = *object_header(obj);
	const struct type *t = type_get(header_type(h));
	v->holder = obj;
	for (unsigned i = 0; i < type_special_words(t); i++)
		visit_in_card((void **)obj + i, v);
	if (t->kind == TYPE_TRACE) {
		type_visit_fields(obj, visit_in_card, v);
		return;
	}
	if (t->kind != TYPE_OFFSETS)
		return;
	uintptr_t base = (uintptr_t)obj;
	size_t n = header_length(h);
	size_t first = v->lo > base ? (v->lo - base) / t->size : 0;
	size_t end = (v->hi - base + t->size - 1) / t->size;
	for (size_t e = first; e < (end < n ? end : n); e++)
		for (uint32_t i = 0; i < t->n_ptrs; i++)
			visit_in_card((void **)(base + e * t->size) + t->word_offsets[i], v);
}

static void block_card_slots(struct card_visit *v, struct block *b)
{
	const uint8_t *cards = block_cards(b);
	char *base = block_base(b);
	for (size_t k = 0; k < CARDS_PER_BLOCK; k++) {
		if (!cards[k])
			continue;
		v->lo = (uintptr_t)base + k * CARD_SIZE;
		v->hi = v->lo + CARD_SIZE;
		uint32_t first = block_slot(b, v->lo), last = block_slot(b, v->hi - 1);
		if (last >= b->nslots)
			last = b->nslots - 1;
		/* A PACKED block's object that starts before the card may
		 * reach into it (visit_fields keeps to the card's bytes). */
		if (b->state == BLOCK_PACKED && first) {
			long s = block_start_at_or_below(b, first - 1);
			if (s >= 0)
				visit_fields(v, object_from_slot(base + (size_t)s * GRANULE));
		}
		for (uint32_t s = first; s <= last; s++)
			if (bit_test(b->starts, s))
				visit_fields(v, object_from_slot(base + (size_t)s * b->obj_size));
	}
}

/* Every card, not only the chunks with a summary: CARD_OLD has none. */
static void large_card_slots(struct card_visit *v, struct large *l)
{
	void *obj = large_object(l);
	size_t n = large_ncards(l);
	for (size_t k = 0; k < n; k += 64) {
		if (cards_clean(l->cards + k, n - k < 64 ? n - k : 64))
			continue;
		for (size_t j = k; j < k + 64 && j < n; j++) {
			if (!l->cards[j])
				continue;
			v->lo = (uintptr_t)obj + j * LARGE_CARD_SIZE;
			v->hi = v->lo + LARGE_CARD_SIZE;
			visit_fields(v, obj);
		}
	}
}

void freeze_for_each_card_slot(void (*fn)(void **slot, void *holder, void *ctx),
			       void *ctx)
{
	GYRE_ASSERT(stw_world_stopped());
	if (!freeze_objects())
		return;
	struct card_visit v = {.fn = fn, .ctx = ctx};
	/* The dense bytes only: a frozen heap nobody wrote costs a read of
	 * its space bytes and cards (a 512th of it: 2 MiB for 1 GiB), and
	 * its metadata is not touched. */
	for (size_t i = 0; i < heap.top; i++)
		if ((heap.space[i] & SPACE_GEN_MASK) == GEN_FROZEN &&
		    !cards_clean(heap.cards + i * CARDS_PER_BLOCK, CARDS_PER_BLOCK))
			block_card_slots(&v, &heap.blocks[i]);
	for (size_t i = 0; i < large.count; i++)
		if (large.objs[i]->cards && large_frozen(large.objs[i]))
			large_card_slots(&v, large.objs[i]);
}

/* ------------------------------------------------------------ checking */

void freeze_verify(void (*fail)(const char *what, size_t index))
{
	size_t objects = 0, bytes = 0;
	for (size_t i = 0; i < heap.top; i++) {
		struct block *b = &heap.blocks[i];
		if ((heap.space[i] & SPACE_GEN_MASK) == GEN_FROZEN && !block_frozen(b))
			fail("a block has space byte 3 but is not a frozen block: block", i);
		if (!block_frozen(b))
			continue;
		if (b->owned || b->pinned)
			fail("a frozen block is owned or pinned: block", i);
		for (unsigned w = 0; w < BITMAP_WORDS; w++)
			if (atomic_load_relaxed(&b->marks[w]) != b->starts[w])
				fail("a frozen block's mark bits differ from its start "
				     "bits: block", i);
		uint32_t n = block_objects(b);
		objects += n;
		bytes += block_starts_bytes(b, n);
	}
	for (unsigned c = 0; c < SIZECLASS_COUNT; c++)
		for (struct block *b = heap.classes[1][c].head; b; b = b->next)
			if (block_frozen(b))
				fail("a frozen block is on a class list: block", block_index(b));
	for (size_t i = 0; i < large.count; i++)
		if (large_frozen(large.objs[i])) {
			objects++;
			bytes += large.objs[i]->bytes;
		}
	if (objects != freeze_objects() || bytes != freeze_bytes())
		fail("the frozen objects' count or bytes disagree with the heap, "
		     "which holds", objects);
}
