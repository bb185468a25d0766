/*
 * card.h: the card table (DESIGN.md, "Generations and the write barrier").
 * One byte per CARD_SIZE bytes of the block heap; large objects with
 * pointer fields carry their own card bytes (gc/heap/large.h). GYRE_STORE marks
 * the card of every field it writes into an object of generation 1 or 2
 * (not into a nursery object: nothing is younger); a minor collection
 * reads only the cards of generations older than the one it collects.
 *
 * A summary byte per block is set with any of its cards, so that a minor
 * collection reads the cards of only the blocks whose summary is set; a
 * large object has one per chunk of 512 cards [INV-LARGE-SUMMARY].
 *
 * [INV-CARDS] Outside a minor collection, every pointer from an object of
 * generation g to an object of a younger generation lies on a dirty card,
 * and the summary byte of a block with a dirty card is set.
 * A minor collection cleans a card only after finding no such pointer on
 * it, and dirties the card of every such pointer it creates.
 * A card byte is CARD_DIRTY (the barrier's store), during a minor
 * collection CARD_PENDING, and, on the cards of frozen objects
 * (gc/heap/freeze.h), CARD_OLD: its fields point into generation 2 (or
 * at large objects that are not frozen), which the old generation's
 * marking needs to know, and minor collections do not: such a card has no
 * summary, and minor collections skip it until a store dirties it again
 * (a pointer from a frozen object to a young one needs CARD_DIRTY).
 */
#ifndef GYRE_CARD_H
#define GYRE_CARD_H

#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "gc/heap/heap.h"
#include "gc/heap/large.h"

#define CARD_SHIFT GYRE__CARD_SHIFT
#define CARD_SIZE ((size_t)1 << CARD_SHIFT)
#define CARDS_PER_BLOCK (BLOCK_SIZE / CARD_SIZE)
/* A large object's cards are one cache line each: large pointer arrays
 * are a server's tables, written at random, and a minor collection reads
 * every slot of each dirty card; with a line per card it reads only the
 * lines that were written, for a card byte per 64 bytes. */
#define LARGE_CARD_SHIFT GYRE__LARGE_CARD_SHIFT
#define LARGE_CARD_SIZE ((size_t)1 << LARGE_CARD_SHIFT)

#define CARD_DIRTY 1
#define CARD_PENDING 2
#define CARD_OLD 4

/* Cards are read 8 at a time, a word of 8 card bytes: a dirty table of a
 * million slots has cards in every chunk, and a minor collection reads
 * all its cards, most of them clean. Card arrays start 8-aligned and
 * their length is rounded up to a word (the bytes past the last card are
 * never set). CARD_BYTES(v) is v in each byte of a word; byte j of a word
 * is card j (little-endian). */
#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "card words assume a little-endian machine"
#endif
#define CARD_BYTES(v) (UINT64_C(0x0101010101010101) * (v))

/* The word of 8 cards at p (8-aligned). Relaxed: a minor collection's
 * workers set and clear card bits concurrently with byte-wide atomic
 * read-modify-writes; a scanner only needs to see the pending bits that
 * the prepare phase set before the copy job started (the job's start
 * publishes them), and it claims each card with an atomic of its own. */
static inline uint64_t card_word(const uint8_t *p)
{
	return __atomic_load_n((const uint64_t *)(const void *)p, __ATOMIC_RELAXED);
}

/* True if the n card (or summary) bytes from `cards` are all 0, read 8
 * at a time; any alignment and length. */
static inline bool cards_clean(const uint8_t *cards, size_t n)
{
	for (size_t i = 0; i < n; i += 8) {
		uint64_t word = 0;
		memcpy(&word, cards + i, n - i < 8 ? n - i : 8);
		if (word)
			return false;
	}
	return true;
}

/* The index in its word of the first card of mask (byte bits) m. */
static inline unsigned card_first(uint64_t m)
{
	return (unsigned)__builtin_ctzll(m) / 8;
}

static inline uint8_t *block_cards(const struct block *b)
{
	return heap.cards + block_index(b) * CARDS_PER_BLOCK;
}

static inline void card_clear_block(const struct block *b)
{
	memset(block_cards(b), 0, CARDS_PER_BLOCK);
	heap.card_summary[block_index(b)] = 0;
}

/* The card byte of `slot`, a field of `holder`. */
static inline uint8_t *card_of(const void *holder, const void *slot)
{
	uintptr_t s = (uintptr_t)slot;
	if (heap_contains(s))
		return heap.cards + ((s - (uintptr_t)heap.base) >> CARD_SHIFT);
	return large_of(holder)->cards +
	       ((s - (uintptr_t)holder) >> LARGE_CARD_SHIFT);
}

/* Collector side, during a minor collection's copy phase: dirties the
 * card of `slot`, a field of `holder`, keeping its pending bit, and sets
 * its block's summary. Relaxed: workers may dirty one card at once (hence
 * the read-modify-write), and the table is read after they join. */
static inline void card_dirty(const void *holder, const void *slot)
{
	__atomic_fetch_or(card_of(holder, slot), 1, __ATOMIC_RELAXED);
	uintptr_t s = (uintptr_t)slot;
	if (heap_contains(s))
		__atomic_store_n(&heap.card_summary[(s - (uintptr_t)heap.base) >>
						   BLOCK_SHIFT], 1, __ATOMIC_RELAXED);
	else
		/* An or: the chunk may be pending (large.h). */
		__atomic_fetch_or(large_summary(large_of(holder),
						((s - (uintptr_t)holder) >> LARGE_CARD_SHIFT) >>
						GYRE__LARGE_CHUNK_SHIFT), 1, __ATOMIC_RELAXED);
}

/* Keeps [INV-CARDS] for `slot`, a field of `holder` that points into
 * generation g, younger than the holder's: dirty for a young target,
 * CARD_OLD for one in generation 2 (the holder is frozen). Relaxed, as
 * card_dirty. */
static inline void card_keep(const void *holder, const void *slot, unsigned g)
{
	if (g < 2)
		card_dirty(holder, slot);
	else
		__atomic_fetch_or(card_of(holder, slot), CARD_OLD, __ATOMIC_RELAXED);
}

#endif
