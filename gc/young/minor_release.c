/*
 * minor_release.c: the release phase of a minor collection (minor.c has
 * the phases in order): copies get their start bits, blocks promoted in
 * place join generation 2, blocks with objects that stay keep them, and
 * the other from-space blocks are freed.
 */
#include <string.h>

#include "gc/heap/heap.h"
#include "gc/heap/packed.h"
#include "gc/old/mark.h"
#include "gc/young/minor_impl.h"
#include "gc/young/nursery.h"
#include "gc/heap/run.h"
#include "gc/heap/type.h"

/* ------------------------------------------------------------- release */

/* Start bits := mark bits (the objects that stay, or the copies, plus the
 * objects already there); returns the objects that are new to the start
 * bits (or, replacing, all marked). Marks are cleared, except in a
 * generation-2 block while a concurrent cycle marks: there they are that
 * cycle's, and keep the copies black (allocated marked). */
static uint32_t marks_to_starts(struct block *b, bool replace)
{
	uint32_t n = 0;
	bool keep = b->gen == 2 && mark_old_active();
	for (unsigned i = 0; i < BITMAP_WORDS; i++) {
		uint64_t m = atomic_load_relaxed(&b->marks[i]);
		n += (uint32_t)__builtin_popcountll(replace ? m : m & ~b->starts[i]);
		b->starts[i] = replace ? m : b->starts[i] | m;
		if (!keep)
			atomic_store_relaxed(&b->marks[i], 0);
	}
	return n;
}

/* Objects that stayed for want of space lose their HDR_STAYS. Returns
 * the footprint of the block's objects. */
size_t minor_unstay(struct block *b)
{
	size_t bytes = 0;
	char *base = block_base(b);
	/* A word of start bits at a time: a retained nursery block has 4,096
	 * slots and a few objects that a stack pinned. */
	for (unsigned w = 0; w < BITMAP_WORDS; w++)
		for (uint64_t m = b->starts[w]; m; m &= m - 1) {
			uint32_t s = bitmap_slot(w, m);
			uint64_t *h = (uint64_t *)(base + (size_t)s * b->obj_size);
			*h &= ~HDR_STAYS;
			bytes += b->state == BLOCK_NURSERY ? nursery_size_of(*h)
							   : b->obj_size;
		}
	return bytes;
}

/* The list, reversed. */
static struct block *reverse(struct block *b)
{
	struct block *r = NULL;
	while (b) {
		struct block *next = b->next;
		b->next = r;
		r = b;
		b = next;
	}
	return r;
}

/* A block promoted in place becomes PACKED [INV-PACKED], swept as of
 * now [INV-UNSWEPT]: its marked objects are the survivors, and stay
 * marked (black) while a concurrent cycle marks, like copies into
 * generation 2; the gaps between them become fillers (packed.c). Freed if
 * nothing in it survived. */
static void promote_block(struct block *b, struct minor_result *r)
{
	b->in_place = b->pinned = b->stayed = b->retained = false;
	b->state = BLOCK_PACKED;
	block_set_gen(b, 2);
	b->swept = heap.sweep_epoch;
	b->live = marks_to_starts(b, true);
	if (!b->live) {
		heap_free_block(b);
		return;
	}
	r->pinned_objects += packed_promote(b);
	r->in_place_blocks++;
	r->in_place_bytes += b->live_bytes;
	r->promoted_objects += b->live;
	r->promoted_bytes += b->live_bytes;
	/* The pacer's measure of generation 2's growth: the whole block. */
	r->gen2_bytes += BLOCK_SIZE;
	r->survived_objects += b->live;
	r->survived_bytes += b->live_bytes;
	r->young_survived += b->live_bytes;
}

void minor_release_nursery(struct minor_result *r)
{
	/* nursery.blocks runs from the newest block to the oldest; freed
	 * oldest first, the newest end on top of the free list, and the next
	 * buffers are the blocks most likely still in the cache. */
	struct block *keep = NULL, *b = reverse(nursery.blocks);
	minor_state.retained_objects = minor_state.retained_bytes = 0;
	while (b) {
		struct block *next = b->next;
		if (b->in_place) {
			promote_block(b, r);
			b = next;
			continue;
		}
		block_set_from(b, false);
		if (b->pinned || b->stayed) {
			b->pinned = b->stayed = false;
			b->parsed = b->retained = true;
			minor_state.retained_objects += marks_to_starts(b, true);
			size_t bytes = minor_unstay(b);
			minor_state.retained_bytes += bytes;
			r->survived_bytes += bytes;
			r->young_survived += bytes;
			b->next = keep;
			keep = b;
		} else {
			heap_free_block(b);
		}
		b = next;
	}
	nursery.blocks = keep;
	r->pinned_objects += minor_state.retained_objects;
	r->survived_objects += minor_state.retained_objects;
}

/* Gen-1 from-space after a generation-1 collection. */
void minor_release_gen1(struct minor_result *r)
{
	struct block **pp = &heap.gen1;
	while (*pp) {
		struct block *b = *pp;
		if (!block_from(b)) {
			pp = &b->gnext;
			continue;
		}
		block_set_from(b, false);
		if (b->pinned || b->stayed) {
			b->pinned = b->stayed = false;
			b->live = marks_to_starts(b, true);
			size_t bytes = minor_unstay(b);
			r->pinned_objects += b->live;
			r->survived_objects += b->live;
			r->survived_bytes += bytes;
			r->gen1_survived += bytes;
			minor_state.gen1_objects += b->live;
			minor_state.gen1_bytes += bytes;
			if (b->live < b->nslots)
				heap_list_block(b);
			pp = &b->gnext;
		} else {
			*pp = b->gnext;
			heap_free_block(b);
		}
	}
}

void minor_release_copies(struct minor_result *r)
{
	for (unsigned i = 0; i < minor_state.wp.nstacks; i++) {
		struct copier *c = &minor_state.copiers[i];
		for (unsigned g = 0; g < 2; g++)
			for (unsigned k = 0; k < SIZECLASS_COUNT; k++)
				run_release(&c->to[g][k]);
		packed_end(&c->hole);
		struct block *b = c->blocks;
		while (b) {
			struct block *next = b->copy_next == b ? NULL : b->copy_next;
			b->copy_next = NULL;
			b->live += marks_to_starts(b, false);
			b = next;
		}
		c->blocks = NULL;
		size_t footprint = 0;
		for (unsigned src = 0; src < 2; src++) {
			for (unsigned to = 0; to < 2; to++) {
				r->survived_objects += c->objects[src][to];
				footprint += c->bytes[src][to];
			}
			r->promoted_objects += c->objects[src][1];
			r->promoted_bytes += c->bytes[src][1];
			minor_state.gen1_objects += c->objects[src][0];
		}
		/* Nursery -> gen 1 is a promotion too; gen 1 -> gen 1 is not. */
		r->promoted_objects += c->objects[0][0];
		r->promoted_bytes += c->bytes[0][0];
		r->survived_bytes += footprint;
		r->young_survived += c->bytes[0][0] + c->bytes[0][1];
		r->gen1_survived += c->bytes[1][0] + c->bytes[1][1];
		/* Copies into holes neither grow generation 2 (the pacer's
		 * measure) nor round up to a class's slot. */
		r->gen2_bytes += c->slot_bytes[1] - c->hole_bytes;
		r->growth_bytes += c->slot_bytes[0] + c->slot_bytes[1] - c->hole_bytes -
				   (footprint - c->hole_src_bytes);
		minor_state.gen1_bytes += c->slot_bytes[0];
		memset(c->objects, 0, sizeof(c->objects));
		memset(c->bytes, 0, sizeof(c->bytes));
		memset(c->slot_bytes, 0, sizeof(c->slot_bytes));
		c->hole_bytes = c->hole_src_bytes = 0;
	}
}
