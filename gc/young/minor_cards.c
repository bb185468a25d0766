/*
 * minor_cards.c: the dirty cards of a minor collection (minor.c has the
 * phases in order). The prepare phase turns every dirty card of the blocks
 * not collected and of large objects into a pending one; in the copy phase
 * each pending card is claimed by one worker, which scans the fields on it
 * as roots (a large object's cards are shared among the workers in chunks).
 */
#include <string.h>

#include "gc/heap/card.h"
#include "gc/heap/freeze.h"
#include "gc/heap/heap.h"
#include "gc/heap/large.h"
#include "gc/young/minor_impl.h"
#include "gc/heap/roots.h"
#include "gc/heap/type.h"

#define CHUNK_BLOCKS 256
#define CHUNK_LARGE 16

/* --------------------------------------------------------------- cards */

/* Turns dirty cards into pending ones, a word at a time (card.h); returns
 * how many there were. A frozen object's CARD_OLD bit goes too: the scan
 * sets it again where it still holds. Plain accesses: in the prepare phase
 * a block's or a large object's cards are its claimer's alone. */
static size_t prepare_cards(uint8_t *cards, size_t n)
{
	size_t dirty = 0;
	for (size_t i = 0; i < n; i += 8) {
		uint64_t w;
		memcpy(&w, cards + i, 8);
		uint64_t d = w & CARD_BYTES(CARD_DIRTY);
		if (!d)
			continue;
		w = (w & ~(d * 0xFF)) | d * CARD_PENDING;
		memcpy(cards + i, &w, 8);
		dirty += (size_t)__builtin_popcountll(d);
	}
	return dirty;
}

/* [INV-LARGE-SUMMARY]: an object not written since the last collection
 * costs its record and its chunks' summary bytes; a written one, the
 * cards of its written chunks, which become pending chunks. Returns the
 * dirty cards. */
static size_t prepare_large(struct large *l)
{
	/* Written only when it changes: a frozen object's record shares a
	 * page with its header, which no collection may write
	 * [INV-FROZEN]. */
	if (l->cards_pending)
		l->cards_pending = false;
	if (!l->cards)
		return 0;
	size_t nchunks = large_nchunks(l), ncards = large_ncards(l), dirty = 0;
	if (cards_clean(large_summary(l, nchunks - 1), nchunks))
		return 0;
	for (size_t i = 0; i < nchunks; i++) {
		uint8_t *sum = large_summary(l, i);
		if (!*sum)
			continue;
		size_t first = i * LARGE_CHUNK_CARDS;
		size_t d = prepare_cards(l->cards + first, ncards - first < LARGE_CHUNK_CARDS
							   ? ncards - first : LARGE_CHUNK_CARDS);
		*sum = d ? LARGE_CHUNK_PENDING : 0;
		dirty += d;
	}
	l->cards_pending = dirty != 0;
	atomic_store_relaxed(&l->card_cursor, 0);
	return dirty;
}

void minor_prepare_worker(unsigned id, void *arg)
{
	(void)arg;
	if (id == 0) {
		roots_for_each_stack(0, 1, minor_pin_range, NULL);
		roots_for_each_area(minor_pin_range, NULL);
	}
	/* Only blocks whose summary byte is set have dirty cards: the pass
	 * reads one byte per block, and a block's cards and metadata only
	 * when it was stored into, so an old generation that is not written
	 * costs next to nothing. Cards of the nursery and of from-space are
	 * cleared: the copy dirties again those of objects that stay. */
	struct copier *c = &minor_state.copiers[id];
	c->pending = NULL;
	c->frozen_pending.n = 0;
	c->dirty_cards = 0;
	size_t start;
	while ((start = atomic_add_relaxed(&minor_state.next_block, CHUNK_BLOCKS)) <
	       minor_state.top) {
		size_t end = start + CHUNK_BLOCKS < minor_state.top ? start + CHUNK_BLOCKS
								   : minor_state.top;
		for (size_t i = start; i < end; i++) {
			/* Eight clean summaries at a time: an old generation
			 * that is not written costs a load per 8 blocks. */
			uint64_t word;
			if (i % 8 == 0 && i + 8 <= end &&
			    (memcpy(&word, &heap.card_summary[i], 8), word == 0)) {
				i += 7;
				continue;
			}
			if (!heap.card_summary[i])
				continue;
			struct block *b = &heap.blocks[i];
			if (!block_old_format(b) || block_from(b)) {
				card_clear_block(b);
				continue;
			}
			heap.card_summary[i] = 0;
			size_t dirty = prepare_cards(block_cards(b), CARDS_PER_BLOCK);
			if (!dirty)
				continue;
			c->dirty_cards += dirty;
			if (block_frozen(b) && ptrvec_push(&c->frozen_pending, b))
				continue;
			b->card_next = c->pending;
			c->pending = b;
		}
	}
	while ((start = atomic_add_relaxed(&minor_state.next_large, CHUNK_LARGE)) < large.count) {
		size_t end = start + CHUNK_LARGE < large.count ? start + CHUNK_LARGE
							       : large.count;
		for (size_t i = start; i < end; i++)
			c->dirty_cards += prepare_large(large.objs[i]);
	}
}

/* Claims one pending card: true if it was pending. */
static bool card_claim(uint8_t *card)
{
	return __atomic_fetch_and(card, (uint8_t)~CARD_PENDING, __ATOMIC_RELAXED) &
	       CARD_PENDING;
}

/* Scans block b's card k, pending and claimed. [INV-UNSWEPT] A dead
 * object in a block not swept yet may point at a block freed and reused
 * since: only live ones are roots. */
static void scan_block_card(struct copier *c, struct block *b, size_t k)
{
	char *base = block_base(b);
	uintptr_t lo = (uintptr_t)base + k * CARD_SIZE, hi = lo + CARD_SIZE;
	uint32_t first = block_slot(b, lo), last = block_slot(b, hi - 1);
	if (last >= b->nslots)
		last = b->nslots - 1;
	for (uint32_t s = first; s <= last; s++)
		if (block_slot_live(b, s))
			minor_scan_fields(c, object_from_slot(base + (size_t)s * b->obj_size),
					  b->gen, lo, hi);
}

/* The same in a PACKED block, whose objects are of any size: the object
 * that starts before the card may reach into it (objects never overlap,
 * so no other one can), then those that start on it: a card's slots lie
 * in one word of start bits. Fillers are pointer-free: their scan ends at
 * their header. A copy a copier is cutting from a hole has no start bit
 * until the release. */
static void scan_packed_card(struct copier *c, struct block *b, size_t k)
{
	enum { CARD_SLOTS = CARD_SIZE / GRANULE };
	_Static_assert(64 % CARD_SLOTS == 0, "a card's slots lie in one bitmap word");
	char *base = block_base(b);
	uintptr_t lo = (uintptr_t)base + k * CARD_SIZE, hi = lo + CARD_SIZE;
	uint32_t first = (uint32_t)k * CARD_SLOTS;
	long before = first ? block_start_at_or_below(b, first - 1) : -1;
	if (before >= 0 && block_slot_live(b, (uint32_t)before)) {
		char *slot = base + (size_t)before * GRANULE;
		void *obj = object_from_slot(slot);
		/* Relaxed: a filler's copier may be shrinking it (packed.h). */
		uint64_t h = __atomic_load_n(object_header(obj), __ATOMIC_RELAXED);
		if ((uintptr_t)slot + nursery_size_of(h) > lo)
			minor_scan_fields(c, obj, b->gen, lo, hi);
	}
	unsigned w = first / 64;
	uint64_t m = b->starts[w] >> (first % 64);
	if (CARD_SLOTS < 64)
		m &= (UINT64_C(1) << (CARD_SLOTS % 64)) - 1;
	if (block_unswept(b))
		m &= atomic_load_relaxed(&b->marks[w]) >> (first % 64);
	for (; m; m &= m - 1)
		minor_scan_fields(c, object_from_slot(base + (size_t)(first + (uint32_t)__builtin_ctzll(m)) * GRANULE),
				  b->gen, lo, hi);
}

void minor_scan_block_cards(struct copier *c, struct block *b)
{
	uint8_t *cards = block_cards(b);
	for (size_t k = 0; k < CARDS_PER_BLOCK; k += 8)
		for (uint64_t m = card_word(cards + k) & CARD_BYTES(CARD_PENDING); m;
		     m &= m - 1) {
			size_t j = k + card_first(m);
			if (!card_claim(&cards[j]))
				continue;
			if (b->state == BLOCK_PACKED)
				scan_packed_card(c, b, j);
			else
				scan_block_card(c, b, j);
		}
}

/* A large array (a server's table) can hold most of a minor collection's
 * roots: every worker takes its pending chunks in turn. Relaxed: the
 * cursor only hands out chunk numbers, and the pending bit is the
 * claimer's to clear (card_dirty may set the dirty bit beside it). */
void minor_scan_large_cards(struct copier *c, struct large *l)
{
	void *obj = large_object(l);
	size_t n = large_ncards(l), nchunks = large_nchunks(l), i;
	while ((i = atomic_add_relaxed(&l->card_cursor, 1)) < nchunks) {
		uint8_t *sum = large_summary(l, i);
		if (!(__atomic_load_n(sum, __ATOMIC_RELAXED) & LARGE_CHUNK_PENDING))
			continue;
		__atomic_fetch_and(sum, (uint8_t)~LARGE_CHUNK_PENDING, __ATOMIC_RELAXED);
		size_t end = (i + 1) * LARGE_CHUNK_CARDS < n ? (i + 1) * LARGE_CHUNK_CARDS : n;
		for (size_t k = i * LARGE_CHUNK_CARDS; k < end; k += 8)
			for (uint64_t m = card_word(l->cards + k) & CARD_BYTES(CARD_PENDING);
			     m; m &= m - 1) {
				size_t j = k + card_first(m);
				if (!card_claim(&l->cards[j]))
					continue;
				uintptr_t lo = (uintptr_t)obj + j * LARGE_CARD_SIZE;
				minor_scan_fields(c, obj, large_frozen(l) ? GEN_FROZEN : 2,
						  lo, lo + LARGE_CARD_SIZE);
			}
		minor_drain_local(c->w, c);
	}
}
