/*
 * freeze.h: the permanent generation (gyre_freeze, Python's gc.freeze;
 * DESIGN.md, "Generations and the write barrier"). gyre_freeze runs a full
 * collection and then moves everything alive into generation 3: every
 * generation-2 size-class block that holds objects becomes a frozen block,
 * and every large object a frozen one. No collection marks, sweeps, moves
 * or frees a frozen object, and none writes to it or to the side tables
 * that cover it, so that the pages of the frozen heap stay shared between
 * a pre-fork server's processes. gyre_unfreeze hands them back to
 * generation 2.
 *
 * How collections leave them alone:
 * - a frozen block's mark bits equal its start bits for as long as it is
 *   frozen: marking sees its objects marked (a read) and never scans
 *   them; sweeping skips the block (gen 3 is neither swept in a pause nor
 *   lazily); a frozen large object's mark word is LARGE_FROZEN, which
 *   marking reads as marked and the sweep skips;
 * - a frozen block is on no class list (nothing is allocated or copied
 *   into it) and its space byte says generation 3, which the barrier
 *   treats as old (it marks the card of every store into it);
 * - pointers from frozen objects to any other generation are found
 *   through their cards, as old-to-young pointers are: a store into a
 *   frozen object dirties its card; the minor collection that scans it
 *   leaves it dirty if a field on it still points at a young object, and
 *   CARD_OLD (card.h) if one points into generation 2 (or at a large
 *   object that is not frozen): minor collections skip such a card, and
 *   the marking of generation 2 (a full collection's and a concurrent
 *   cycle's first pause) takes the fields on every frozen card that is
 *   not clean as roots (freeze_for_each_card_slot). The only side-table
 *   bytes a collection writes for a frozen block are those cards and
 *   their summary bytes, after the program's own stores wrote them (a
 *   frozen block with pending cards is listed in a vector of the minor
 *   collection's, not linked through its metadata); and the only object
 *   bytes, a field the program stored a young object into, when that
 *   object moves.
 *
 * [INV-FROZEN] A block is frozen exactly when it is SMALL with gen 3 (its
 * space byte 3); its mark words equal its start words; it is on no class
 * list, not owned and not pinned. A large object is frozen exactly when
 * its mark word is LARGE_FROZEN. Every pointer from a frozen object to an
 * object that is not frozen lies on a card that is dirty (a young target:
 * [INV-CARDS], with its summary set) or CARD_OLD (a generation-2 target).
 * freeze.objects and freeze.bytes count the frozen objects and their
 * slots' bytes.
 */
#ifndef GYRE_FREEZE_H
#define GYRE_FREEZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gc/heap/heap.h"
#include "gc/heap/large.h"

/* The permanent generation: older than 2, so generation 2 is younger to
 * the cards' rule. Fits SPACE_GEN_MASK. */
#define GEN_FROZEN 3
/* A frozen large object's mark word (1 is a marking's mark). */
#define LARGE_FROZEN 2

/* [INV-FROZEN]. Compaction must leave such a block where it is: it is
 * neither a source (its objects never move) nor a target (it is full for
 * the allocator's purposes). */
static inline bool block_frozen(const struct block *b)
{
	return block_old_format(b) && b->gen == GEN_FROZEN;
}

static inline bool large_frozen(const struct large *l)
{
	return atomic_load_explicit(&l->mark, memory_order_relaxed) == LARGE_FROZEN;
}

/* The generation of the object at p (a small or large object): 3 for a
 * frozen one. */
static inline unsigned freeze_gen_of(uintptr_t p)
{
	if (heap_contains(p))
		return block_of(p)->gen;
	return large_frozen(large_of((void *)p)) ? GEN_FROZEN : 2;
}

struct sweep_result;
/* World stopped, at the end of a full collection (swept, no lazy sweep
 * pending, every survivor in generation 2 or pinned young): freezes
 * every generation-2 block and large object, and takes them out of what
 * the sweep found alive (*r), which sets the next trigger and the
 * statistics of generation 2. */
void freeze_heap(struct sweep_result *r);
/* World stopped, before a full collection marks: every frozen object
 * goes back to generation 2, unmarked, so that the marking decides. */
void unfreeze_heap(void);
/* The frozen objects and their bytes (slots; large objects whole).
 * Any thread; relaxed: statistics, written only with the world stopped. */
size_t freeze_objects(void);
size_t freeze_bytes(void);

/* World stopped, after a minor collection: calls fn on every pointer
 * field (weak references' and ephemerons' words included: frozen ones
 * hold their targets strongly) of the frozen objects on a card that is
 * not clean,
 * `holder` being the field's object. The marking's roots into the
 * generations that are not frozen. */
void freeze_for_each_card_slot(void (*fn)(void **slot, void *holder, void *ctx),
			       void *ctx);

/* The verifier's [INV-FROZEN] checks of the frozen blocks, the class
 * lists and the counts against what the blocks and large objects hold; a
 * failure calls fail() with what is wrong and the block (or count) it
 * concerns. World stopped. */
void freeze_verify(void (*fail)(const char *what, size_t index));

#endif
