/*
 * minor.h: the minor collection (DESIGN.md, "Generations and the write
 * barrier"): stop-the-world, parallel, copying. It evacuates the nursery
 * (and, collecting generation 1, generation 1 too): live objects are copied
 * into generation 1, or into generation 2 once their age reaches the
 * tenure age. While most of the nursery survives, its fuller blocks are
 * promoted in place instead: what survives in them is marked, not
 * copied, and each becomes a PACKED block of generation 2. Roots:
 * stacks, registers and root areas (conservative: what they point at is
 * pinned and stays in place), handles, and the dirty cards of the
 * generations not collected.
 *
 * [INV-PINNED] An object that a conservative root points at does not move
 * during the collection; its block stays until nothing pins it.
 * [INV-CARDS] (card.h) holds before and after.
 */
#ifndef GYRE_MINOR_H
#define GYRE_MINOR_H

#include <stdbool.h>
#include <stddef.h>

struct minor_result {
	size_t collected_objects, collected_bytes;
	/* Copied into an older generation (all copies but gen 1 -> gen 1). */
	size_t promoted_objects, promoted_bytes;
	size_t gen2_bytes;       /* of those, bytes into generation 2 */
	/* Of those, promoted in place: nursery blocks that joined
	 * generation 2 whole, and their objects' bytes. */
	size_t in_place_blocks, in_place_bytes;
	size_t pinned_objects;
	/* Copied (anywhere) or pinned; bytes are the sources' footprints. */
	size_t survived_objects, survived_bytes;
	/* Copies take whole slots of their size class: the bytes that adds
	 * to the survivors' footprint (counted as allocated, so that what a
	 * sweep frees later never exceeds what was allocated). */
	size_t growth_bytes;
	/* The nursery's bytes (footprints) before and the part that survived
	 * (copied or pinned); the same for generation 1 when it was
	 * collected (0 otherwise). The nursery's controller reads them. */
	size_t young_bytes, young_survived;
	size_t gen1_bytes, gen1_survived;
	/* Dirty cards of older objects scanned as roots. */
	size_t dirty_cards;
	/* Time in the phases: pinning and card preparation, copying,
	 * releasing. */
	uint64_t prepare_ns, copy_ns, release_ns;
};

int minor_init(unsigned workers);
void minor_shutdown(void);

/* With the world stopped and buffers retired: collects generation 0, and
 * generation 1 too if `gen` is 1, on every worker, or on the calling
 * thread alone if `solo` (a small collection: waking the others would
 * cost more than they save). `tenure_all` sends every survivor to
 * generation 2 (a full collection runs one first). Generation 1 holds at
 * most about `gen1_max` bytes afterwards: survivors that do not fit go to
 * generation 2 whatever their age, so that a collection of generation 1
 * never copies more than that (the survivor space of other collectors).
 * `growth_room`: the bytes the heap may still grow by (under heap_max and the
 * memory limit); promotion in place leaves holes, and is not chosen
 * without room for them. */
struct minor_result minor_collect(unsigned gen, bool tenure_all, size_t gen1_max,
				  bool solo, size_t growth_room);

/* After a sweep, which may have dropped young objects: recounts what the
 * nursery and generation 1 hold. World stopped. */
void minor_recount(void);

/* Bytes generation 1 holds. Collector only. */
size_t minor_gen1_bytes(void);

/* Test hook: caps each worker's copy stack (0 = no cap), to drive the
 * overflow path. */
void minor_set_stack_limit(size_t entries);
/* Overflow recoveries since init. */
size_t minor_rescans(void);

#endif
