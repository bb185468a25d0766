/*
 * card.h: the card table (DESIGN.md, "Generations and the write barrier").
 * One byte per CARD_SIZE bytes of the block heap; large objects with
 * pointer fields carry their own card bytes (gc/large.h). GYRE_STORE marks
 * the card of every field it writes, whatever the holder's generation; a
 * minor collection reads only the cards of generations older than the one
 * it collects.
 *
 * [INV-CARDS] Outside a minor collection, every pointer from an object of
 * generation g to an object of a younger generation lies on a dirty card.
 * A minor collection cleans a card only after finding no such pointer on
 * it, and dirties the card of every such pointer it creates.
 */
#ifndef GYRE_CARD_H
#define GYRE_CARD_H

#include <stdatomic.h>
#include <stdint.h>

#include "gc/heap.h"
#include "gc/large.h"

#define CARD_SHIFT GYRE__CARD_SHIFT
#define CARD_SIZE ((size_t)1 << CARD_SHIFT)
#define CARDS_PER_BLOCK (BLOCK_SIZE / CARD_SIZE)

static inline uint8_t *block_cards(const struct block *b)
{
	return heap.cards + block_index(b) * CARDS_PER_BLOCK;
}

/* The card byte of `slot`, a field of `holder`. */
static inline uint8_t *card_of(const void *holder, const void *slot)
{
	uintptr_t s = (uintptr_t)slot;
	if (heap_contains(s))
		return heap.cards + ((s - (uintptr_t)heap.base) >> CARD_SHIFT);
	return large_of(holder)->cards +
	       ((s - (uintptr_t)holder) >> CARD_SHIFT);
}

#endif
