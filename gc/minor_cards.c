/*
 * minor_cards.c: the dirty cards of a minor collection (minor.c has the
 * phases in order). The prepare phase turns every dirty card of the blocks
 * not collected and of large objects into a pending one; in the copy phase
 * each pending card is claimed by one worker, which scans the fields on it
 * as roots (a large object's cards are shared among the workers in chunks).
 */
#include <string.h>

#include "gc/card.h"
#include "gc/heap.h"
#include "gc/large.h"
#include "gc/minor_impl.h"
#include "gc/roots.h"

#define CARD_PENDING 2
#define CHUNK_BLOCKS 256
#define CHUNK_LARGE 16
#define CHUNK_CARDS 512 /* of a large object: 32 KiB of its payload */

/* --------------------------------------------------------------- cards */

static bool cards_clean(const uint8_t *cards, size_t n)
{
	for (size_t i = 0; i < n; i += 8) {
		uint64_t word = 0;
		memcpy(&word, cards + i, n - i < 8 ? n - i : 8);
		if (word)
			return false;
	}
	return true;
}

/* Turns dirty cards into pending ones; returns how many there were. */
static size_t prepare_cards(uint8_t *cards, size_t n)
{
	if (cards_clean(cards, n))
		return 0;
	size_t dirty = 0;
	for (size_t j = 0; j < n; j++)
		if (cards[j]) {
			cards[j] = CARD_PENDING;
			dirty++;
		}
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
			if (b->state != BLOCK_SMALL || block_from(b)) {
				card_clear_block(b);
				continue;
			}
			heap.card_summary[i] = 0;
			size_t dirty = prepare_cards(block_cards(b), CARDS_PER_BLOCK);
			if (!dirty)
				continue;
			c->dirty_cards += dirty;
			b->card_next = c->pending;
			c->pending = b;
		}
	}
	while ((start = atomic_add_relaxed(&minor_state.next_large, CHUNK_LARGE)) < large.count) {
		size_t end = start + CHUNK_LARGE < large.count ? start + CHUNK_LARGE
							       : large.count;
		for (size_t i = start; i < end; i++) {
			struct large *l = large.objs[i];
			l->cards_pending = false;
			/* [INV-LARGE-SUMMARY]: an object not written since
			 * the last collection costs its record and one byte. */
			if (!l->cards || !*large_summary(l))
				continue;
			*large_summary(l) = 0;
			size_t dirty = prepare_cards(l->cards, large_ncards(l));
			l->cards_pending = dirty != 0;
			c->dirty_cards += dirty;
			atomic_store_relaxed(&l->card_cursor, 0);
		}
	}
}

/* Claims one pending card: true if it was pending. */
static bool card_claim(uint8_t *card)
{
	return __atomic_fetch_and(card, (uint8_t)~CARD_PENDING, __ATOMIC_RELAXED) &
	       CARD_PENDING;
}

void minor_scan_block_cards(struct copier *c, struct block *b)
{
	uint8_t *cards = block_cards(b);
	char *base = block_base(b);
	for (size_t k = 0; k < CARDS_PER_BLOCK; k++) {
		if (!(__atomic_load_n(&cards[k], __ATOMIC_RELAXED) & CARD_PENDING) ||
		    !card_claim(&cards[k]))
			continue;
		uintptr_t lo = (uintptr_t)base + k * CARD_SIZE, hi = lo + CARD_SIZE;
		uint32_t first = block_slot(b, lo), last = block_slot(b, hi - 1);
		if (last >= b->nslots)
			last = b->nslots - 1;
		for (uint32_t s = first; s <= last; s++)
			if (bit_test(b->starts, s))
				minor_scan_fields(c, object_from_slot(base + (size_t)s * b->obj_size),
						  b->gen, lo, hi);
	}
}

/* A large array (a server's table) can hold most of a minor collection's
 * roots: every worker takes chunks of its cards in turn. Relaxed: the
 * cursor only hands out chunk numbers. */
void minor_scan_large_cards(struct copier *c, struct large *l)
{
	void *obj = large_object(l);
	size_t n = large_ncards(l), start;
	while ((start = atomic_add_relaxed(&l->card_cursor, CHUNK_CARDS)) < n) {
		size_t end = start + CHUNK_CARDS < n ? start + CHUNK_CARDS : n;
		for (size_t k = start; k < end; k++) {
			if (!(__atomic_load_n(&l->cards[k], __ATOMIC_RELAXED) &
			      CARD_PENDING) || !card_claim(&l->cards[k]))
				continue;
			uintptr_t lo = (uintptr_t)obj + k * LARGE_CARD_SIZE;
			minor_scan_fields(c, obj, 2, lo, lo + LARGE_CARD_SIZE);
		}
		minor_drain_local(c->w, c);
	}
}
