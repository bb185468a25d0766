/*
 * verify.c: the heap verifier (see verify.h). Checked at every phase
 * boundary it is called at:
 * - [INV-HEADER] every allocated slot, nursery object and large object has
 *   a registered type, no forwarding or stay bit, and fits its slot (and
 *   its size class is the smallest that fits);
 * - every pointer field, and every weak reference's target, holds NULL or
 *   the start of an allocated object, so no live object points at a freed
 *   one (a lost object);
 * - [INV-CARDS] every pointer to a younger generation lies on a dirty card,
 *   whose block or large object has its summary set [INV-LARGE-SUMMARY];
 * - [INV-MARKS-CLEAR] no mark bit is set, except while a concurrent cycle
 *   marks generation 2 or in blocks not swept since the last remark
 *   [INV-UNSWEPT]: then its blocks' marks are a subset of their start
 *   bits, and (marking) large objects may be marked; the dead objects of
 *   an unswept block (unmarked) are not checked, and no object points
 *   at one;
 * - list membership: class lists hold SMALL unowned blocks of their
 *   generation and class, heap.gen1 holds exactly the gen-1 blocks, the
 *   nursery list exactly the NURSERY blocks, and FREE blocks have no start
 *   bits and are each on exactly one of the free, returning and returned
 *   lists, whose counts, links and bitmap agree [INV-FREE-LISTS];
 * - [INV-HEAP-USED] the heap's byte count matches its blocks and large
 *   objects;
 * - [INV-FROZEN] frozen blocks (generation 3) keep their mark bits equal to
 *   their start bits and are on no class list, frozen large objects keep
 *   their LARGE_FROZEN mark, the frozen count matches them, and every
 *   pointer from a frozen object to one that is not frozen lies on a dirty
 *   card (the [INV-CARDS] check, with generation 3 older than 2).
 */
#include "gc/heap/card.h"
#include "gc/final/final.h"
#include "gc/heap/freeze.h"
#include "gc/heap/heap.h"
#include "gc/heap/packed.h"
#include "gc/heap/large.h"
#include "gc/old/mark.h"
#include "gc/young/nursery.h"
#include "gc/heap/roots.h"
#include "gc/heap/type.h"
#include "gc/driver/verify.h"
#include "runtime/meta.h"
#include "threads/stw.h"

static const char *phase;

#define FAIL(...)                                                          \
	gyre_fatal("heap verifier (%s): " __VA_ARGS__)

static void check_header(void *obj)
{
	uint64_t h = *object_header(obj);
	if (!type_get(header_type(h)) || (h & (HDR_FORWARDED | HDR_STAYS)))
		FAIL("object %p has header %#llx: no registered type, or a "
		     "collection's forwarding bits", phase, obj, (unsigned long long)h);
}

struct holder {
	void *obj;
	unsigned gen;
};

static void check_pointer(const struct holder *h, void **slot)
{
	void *v = *slot;
	if (!v)
		return;
	if (!mark_is_object((uintptr_t)v))
		FAIL("gen-%u object %p (type %u) points at %p, which is not an "
		     "allocated object (block state %d)", phase, h->gen, h->obj,
		     header_type(*object_header(h->obj)), v,
		     heap_contains((uintptr_t)v) ? block_of((uintptr_t)v)->state : -1);
	if (heap_contains((uintptr_t)v) && block_old_format(block_of((uintptr_t)v))) {
		struct block *b = block_of((uintptr_t)v);
		if (!block_slot_live(b, block_slot(b, (uintptr_t)v)))
			FAIL("gen-%u object %p points at %p, a dead object in a block "
			     "not swept yet", phase, h->gen, h->obj, v);
	}
	unsigned g = freeze_gen_of((uintptr_t)v);
	/* A young target needs a dirty card; a generation-2 one (from a
	 * frozen holder) may have a CARD_OLD one [INV-FROZEN]. */
	uint8_t need = g < 2 ? CARD_DIRTY : CARD_DIRTY | CARD_OLD;
	if (g < h->gen && !(*card_of(h->obj, slot) & need))
		FAIL("gen-%u object %p points at gen-%u object %p from field %p, "
		     "whose card is clean", phase, h->gen, h->obj, g, v, (void *)slot);
}

static void verify_visit(void **slot, void *ctx)
{
	check_pointer(ctx, slot);
}

static void check_fields(const struct holder *h, const struct type *t, uint32_t n)
{
	char *elem = h->obj;
	for (uint32_t e = 0; e < n; e++, elem += t->size) {
		if (t->kind == TYPE_OFFSETS)
			for (uint32_t i = 0; i < t->n_ptrs; i++)
				check_pointer(h, (void **)elem + t->word_offsets[i]);
		else if (t->kind == TYPE_TRACE)
			t->trace(elem, verify_visit, (void *)h);
	}
	/* gyre's own words (a weak reference's target, an ephemeron's key
	 * and value): never a freed object, and on a dirty card if younger
	 * [INV-WEAK-CARDS]. */
	for (unsigned i = 0; i < type_special_words(t); i++)
		check_pointer(h, (void **)h->obj + i);
}

/* Checks the header and fields; returns the object's byte size. */
static size_t check_object(void *obj, unsigned gen)
{
	check_header(obj);
	uint64_t h = *object_header(obj);
	const struct type *t = type_get(header_type(h));
	struct holder holder = {obj, gen};
	check_fields(&holder, t, header_length(h));
	return object_size(h);
}

static void check_marks_clear(const struct block *b)
{
	if (block_frozen(b))
		return; /* freeze_verify: marks equal starts [INV-FROZEN] */
	bool cycle = b->gen == 2 && block_old_format(b) &&
		     (mark_old_active() || block_unswept(b));
	for (unsigned i = 0; i < BITMAP_WORDS; i++) {
		uint64_t m = atomic_load_relaxed(&b->marks[i]);
		if (cycle ? (m & ~b->starts[i]) != 0 : m != 0)
			FAIL("block %zu has mark bits set%s", phase, block_index(b),
			     cycle ? " on slots that hold no object" : "");
	}
}

static void check_small_block(struct block *b)
{
	check_marks_clear(b);
	for (size_t k = 0; k < CARDS_PER_BLOCK; k++)
		if ((block_cards(b)[k] & CARD_DIRTY) && !heap.card_summary[block_index(b)])
			FAIL("block %zu has a dirty card and a clean summary", phase,
			     block_index(b));
	if (b->obj_size != sizeclass_size[b->sizeclass] || b->owned ||
	    (b->gen != 1 && b->gen != 2 && b->gen != GEN_FROZEN) || b->pinned ||
	    (heap.space[block_index(b)] & ~SPACE_EVAC) != b->gen ||
	    ((heap.space[block_index(b)] & SPACE_EVAC) && (b->gen != 2 || !mark_old_active())))
		FAIL("block %zu has bad metadata: gen %u, class %u, object size %u, "
		     "owned %d, pinned %d, space %#x", phase, block_index(b), b->gen,
		     b->sizeclass, b->obj_size, b->owned, b->pinned,
		     heap.space[block_index(b)]);
	for (uint32_t s = 0; s < b->nslots; s++) {
		if (!block_slot_live(b, s))
			continue;
		void *obj = object_from_slot(block_base(b) + (size_t)s * b->obj_size);
		size_t bytes = check_object(obj, b->gen);
		if (sizeclass_for(bytes) != b->sizeclass)
			FAIL("object %p of %zu bytes is in a block of class size %u",
			     phase, obj, bytes, b->obj_size);
	}
}

static void check_packed_headers(struct block *b)
{
	char *base = block_base(b);
	for (unsigned w = 0; w < BITMAP_WORDS; w++)
		for (uint64_t m = b->starts[w]; m; m &= m - 1)
			check_header(object_from_slot(base + (size_t)bitmap_slot(w, m) * GRANULE));
}

/* [INV-PACKED]: its objects and fillers tile it, each with its start bit;
 * the objects' footprints (dead ones' too while it is unswept: their
 * start bits are still set) add up to live_bytes, and no filler is
 * marked but a frozen block's (whose marks are its starts). */
static void check_packed_block(struct block *b)
{
	check_marks_clear(b);
	if ((b->gen != 2 && b->gen != GEN_FROZEN) || b->obj_size != GRANULE ||
	    b->owned || b->pinned || b->stayed || b->in_place ||
	    (heap.space[block_index(b)] & ~SPACE_EVAC) != b->gen)
		FAIL("packed block %zu has bad metadata: gen %u, object size %u, "
		     "space %#x", phase, block_index(b), b->gen, b->obj_size,
		     heap.space[block_index(b)]);
	char *base = block_base(b);
	size_t bytes = 0, end = 0;
	uint32_t n = 0;
	for (unsigned w = 0; w < BITMAP_WORDS; w++)
		for (uint64_t m = b->starts[w]; m; m &= m - 1) {
			uint32_t s = bitmap_slot(w, m);
			void *obj = object_from_slot(base + (size_t)s * GRANULE);
			if ((size_t)s * GRANULE != end)
				FAIL("packed block %zu: object %p does not follow the one "
				     "before (which ends at offset %zu)", phase,
				     block_index(b), obj, end);
			uint64_t h = *object_header(obj);
			end += nursery_size_of(h);
			if (packed_is_filler(h)) {
				if (!block_frozen(b) &&
				    (atomic_load_relaxed(&b->marks[w]) >> (s % 64) & 1))
					FAIL("packed block %zu: filler %p is marked", phase,
					     block_index(b), obj);
				continue;
			}
			bytes += nursery_size_of(h);
			n++;
			if (block_slot_live(b, s))
				check_object(obj, b->gen);
		}
	if (end != BLOCK_SIZE)
		FAIL("packed block %zu: its objects and fillers end at offset %zu",
		     phase, block_index(b), end);
	if (bytes != b->live_bytes || (!block_unswept(b) && n != b->live))
		FAIL("packed block %zu holds %u objects of %zu bytes, its metadata "
		     "says %u of %u", phase, block_index(b), n, bytes, b->live,
		     b->live_bytes);
}

static void check_nursery_block(struct block *b)
{
	check_marks_clear(b);
	if (b->gen != 0 || b->obj_size != GRANULE || b->top > BLOCK_SIZE ||
	    b->pinned || heap.space[block_index(b)] != 0)
		FAIL("nursery block %zu has bad metadata", phase, block_index(b));
	nursery_parse(b);
	for (uint32_t s = 0; s < b->nslots; s++) {
		if (!bit_test(b->starts, s))
			continue;
		if ((size_t)s * GRANULE >= b->top)
			FAIL("nursery block %zu has an object past its top", phase,
			     block_index(b));
		check_object(object_from_slot(block_base(b) + (size_t)s * GRANULE), 0);
	}
}

/* Checks the headers of a nursery block's objects before anything reads
 * their sizes (looking up a pointer into the block does): walking them as
 * nursery_parse will if the block is not parsed yet, else through its
 * start bits. */
static void check_nursery_headers(struct block *b)
{
	char *base = block_base(b);
	if (b->parsed) {
		for (uint32_t s = 0; s < b->nslots; s++)
			if (bit_test(b->starts, s))
				check_header(object_from_slot(base + (size_t)s * GRANULE));
		return;
	}
	for (uint32_t off = 0; off < b->top;) {
		void *obj = object_from_slot(base + off);
		check_header(obj);
		uint64_t h = *object_header(obj);
		if (nursery_size_of(h) > b->top - off)
			FAIL("nursery object %p of %zu bytes runs past its block's top",
			     phase, obj, nursery_size_of(h));
		off += (uint32_t)nursery_size_of(h);
	}
}

/* Returns the blocks in use: SMALL and NURSERY. */
static size_t check_blocks(size_t *gen1)
{
	size_t used = 0;
	/* Parsed first, and the packed blocks' headers checked: checking a
	 * field looks its target up, which reads its header's size. */
	for (struct block *b = nursery.blocks; b; b = b->next) {
		check_nursery_headers(b);
		nursery_parse(b);
	}
	for (size_t i = 0; i < heap.top; i++)
		if (heap.blocks[i].state == BLOCK_PACKED)
			check_packed_headers(&heap.blocks[i]);
	for (size_t i = 0; i < heap.top; i++) {
		struct block *b = &heap.blocks[i];
		if (b->state == BLOCK_SMALL) {
			used++;
			*gen1 += b->gen == 1;
			check_small_block(b);
		} else if (b->state == BLOCK_PACKED) {
			used++;
			check_packed_block(b);
		} else if (b->state == BLOCK_NURSERY) {
			used++;
			check_nursery_block(b);
		} else {
			for (unsigned w = 0; w < BITMAP_WORDS; w++)
				if (b->starts[w] || atomic_load_relaxed(&b->marks[w]))
					FAIL("free block %zu has start or mark bits",
					     phase, i);
		}
	}
	return used;
}

static size_t check_large(void)
{
	size_t bytes = 0;
	for (size_t i = 0; i < large.count; i++) {
		struct large *l = large.objs[i];
		if (l->magic != LARGE_MAGIC ||
		    (atomic_load_relaxed(&l->mark) && !mark_old_active() && !large_frozen(l)))
			FAIL("large object record %p is corrupt or marked", phase, (void *)l);
		if (i && large.objs[i - 1] >= l)
			FAIL("large-object set is not sorted", phase);
		size_t obj_bytes = check_object(large_object(l),
						large_frozen(l) ? GEN_FROZEN : 2);
		if (obj_bytes != l->bytes || obj_bytes <= SIZECLASS_MAX_SIZE)
			FAIL("large object %p has %zu bytes, header says %zu", phase,
			     large_object(l), (size_t)l->bytes, obj_bytes);
		for (size_t k = 0; k < large_ncards(l); k++)
			if ((l->cards[k] & CARD_DIRTY) &&
			    !*large_summary(l, k / LARGE_CHUNK_CARDS))
				FAIL("large object %p has a dirty card (%zu) in a chunk whose "
				     "summary is clean", phase, large_object(l), k);
		for (size_t i = 0; i < large_nchunks(l); i++)
			if (*large_summary(l, i) & LARGE_CHUNK_PENDING)
				FAIL("large object %p has a chunk pending outside a minor "
				     "collection", phase, large_object(l));
		bytes += l->bytes;
	}
	return bytes;
}

/* The lists of FREE blocks [INV-FREE-LISTS]: `on[i]` records the list
 * that holds block i (1, 2, 3), so that a block listed twice, or a FREE
 * block on none, is caught. */
static const char *const free_list_names[] = {"", "free", "returning", "returned"};

static size_t check_free_list(struct block *head, unsigned list, uint8_t *on)
{
	size_t n = 0;
	struct block *prev = NULL;
	for (struct block *b = head; b; prev = b, b = b->next, n++) {
		size_t i = block_index(b);
		if (b->state != BLOCK_FREE || i >= heap.top)
			FAIL("block %zu is on the %s list but not a free block below "
			     "the top", phase, i, free_list_names[list]);
		if (on[i])
			FAIL("block %zu is on the %s list and on the %s list", phase, i,
			     free_list_names[on[i]], free_list_names[list]);
		on[i] = (uint8_t)list;
		if (list == 1 && b->prev != prev)
			FAIL("block %zu on the free list has a wrong back link", phase, i);
	}
	if (list == 1 && heap.free_tail != prev)
		FAIL("the free list's tail is not its last block", phase);
	return n;
}

static void check_free_lists(void)
{
	uint8_t *on = meta_calloc(heap.top + 1);
	if (!on)
		gyre_fatal("heap verifier: no memory");
	if (check_free_list(heap.free, 1, on) != atomic_load_relaxed(&heap.nfree) ||
	    check_free_list(heap.returning, 2, on) != atomic_load_relaxed(&heap.nreturning) ||
	    check_free_list(heap.returned, 3, on) != atomic_load_relaxed(&heap.nreturned))
		FAIL("a free list's count is wrong: free %zu, returning %zu, "
		     "returned %zu", phase, atomic_load_relaxed(&heap.nfree),
		     atomic_load_relaxed(&heap.nreturning),
		     atomic_load_relaxed(&heap.nreturned));
	for (size_t i = 0; i < heap.nblocks; i++) {
		bool free = heap.free_bits[i / 64] >> (i % 64) & 1;
		bool listed = i < heap.top && on[i];
		if (i < heap.top && (heap.blocks[i].state == BLOCK_FREE) != listed)
			FAIL("block %zu is %s but on %s list", phase, i,
			     listed ? "in use" : "free", listed ? "a free" : "no free");
		if (free != (listed && on[i] == 1))
			FAIL("block %zu's bit in free_bits says %s, its list %s",
			     phase, i, free ? "free" : "not free",
			     listed ? free_list_names[on[i]] : "none");
	}
	meta_free(on);
}

static void check_lists(size_t gen1)
{
	/* decommit.c moves free blocks while the world is stopped too. */
	pthread_mutex_lock(&heap.lock);
	check_free_lists();
	pthread_mutex_unlock(&heap.lock);
	for (unsigned g = 1; g <= 2; g++)
		for (unsigned c = 0; c < SIZECLASS_COUNT; c++)
			for (struct block *b = heap.classes[g - 1][c].head; b; b = b->next)
				if (b->state != BLOCK_SMALL || b->sizeclass != c ||
				    b->gen != g || b->owned || block_unswept(b))
					FAIL("block %zu is on gen-%u class list %u wrongly",
					     phase, block_index(b), g, c);
	size_t n = 0;
	for (struct block *b = heap.gen1; b; b = b->gnext, n++)
		if (b->state != BLOCK_SMALL || b->gen != 1)
			FAIL("block %zu is on the gen-1 list but not a gen-1 block",
			     phase, block_index(b));
	if (n != gen1)
		FAIL("the gen-1 list holds %zu blocks, the heap %zu", phase, n, gen1);
	for (struct block *b = nursery.blocks; b; b = b->next)
		if (b->state != BLOCK_NURSERY)
			FAIL("block %zu is on the nursery list but not a nursery block",
			     phase, block_index(b));
}

static void holes_fail(const char *what, size_t index)
{
	FAIL("[INV-PACKED] %s %zu", phase, what, index);
}

static void frozen_fail(const char *what, size_t index)
{
	FAIL("[INV-FROZEN] %s %zu", phase, what, index);
}

void verify_heap(const char *when)
{
	GYRE_ASSERT(stw_world_stopped());
	phase = when;
	size_t gen1 = 0;
	size_t blocks = check_blocks(&gen1);
	size_t large_bytes = check_large();
	check_lists(gen1);
	freeze_verify(frozen_fail);
	packed_holes_verify(holes_fail);
	size_t used = atomic_load_relaxed(&heap.used);
	if (used != blocks * BLOCK_SIZE + large_bytes)
		FAIL("heap.used is %zu but blocks and large objects hold %zu", phase,
		     used, blocks * BLOCK_SIZE + large_bytes);
}

/* ------------------------------------------------ [INV-MARKED-OLD] check */

static bool is_old(uintptr_t p)
{
	return !heap_contains(p) || block_of(p)->gen == 2;
}

static void check_old_target(void **slot, void *holder)
{
	void *v = *slot;
	if (v && is_old((uintptr_t)v) && !mark_old_marked(v))
		FAIL("object %p (gen %u) points at %p, an unmarked gen-2 object, "
		     "after marking", phase, holder, heap_gen_of((uintptr_t)holder), v);
}

static void old_visit(void **slot, void *holder)
{
	check_old_target(slot, holder);
}

static void check_old_targets(void *obj)
{
	type_visit_fields(obj, old_visit, obj);
	/* What a weak reference or an ephemeron still holds after the
	 * remark's clearing must have been marked too. */
	const struct type *t = type_get(header_type(*object_header(obj)));
	for (unsigned i = 0; i < type_special_words(t); i++)
		check_old_target((void **)obj + i, obj);
}

static void check_handle(void **slot, void *ctx)
{
	check_old_target(slot, ctx);
}

void verify_old_marks(const char *when)
{
	GYRE_ASSERT(stw_world_stopped());
	phase = when;
	for (struct block *b = nursery.blocks; b; b = b->next)
		nursery_parse(b);
	for (size_t i = 0; i < heap.top; i++) {
		struct block *b = &heap.blocks[i];
		if (b->state == BLOCK_FREE)
			continue;
		char *base = block_base(b);
		/* Young objects all count as roots: the cycle does not
		 * collect them. */
		for (uint32_t s = 0; s < b->nslots; s++)
			if (bit_test(b->starts, s) &&
			    (b->gen != 2 || atomic_load_relaxed(&b->marks[s / 64]) >> (s % 64) & 1))
				check_old_targets(object_from_slot(base + (size_t)s * b->obj_size));
	}
	/* Frozen objects count as marked: what they point at must be. */
	for (size_t i = 0; i < large.count; i++)
		if (atomic_load_relaxed(&large.objs[i]->mark))
			check_old_targets(large_object(large.objs[i]));
	/* Handles only: a stack may hold, in a slot its thread has not
	 * written since the cycle began, a stale pointer to an object that
	 * was already dead then. Such a word keeps nothing alive that the
	 * program can reach, so the cycle rightly frees its target. */
	roots_for_each_handle(check_handle, NULL);
	final_for_each_root(check_handle, NULL);
}

/* ------------------------------------------------- after a compaction */

static void check_moved_target(void **slot, void *holder)
{
	void *v = *slot;
	if (!v)
		return;
	if (heap_contains((uintptr_t)v) && (space_of((uintptr_t)v) & SPACE_EVAC) &&
	    (*object_header(v) & HDR_FORWARDED))
		FAIL("object %p points at %p, evacuated to %p: the reference was "
		     "not updated", phase, holder, v,
		     (void *)(uintptr_t)(*object_header(v) & ~HDR_FORWARDED));
	if (!mark_is_object((uintptr_t)v) || !mark_old_marked(v))
		FAIL("object %p points at %p, which is not a marked object", phase,
		     holder, v);
}

static void moved_visit(void **slot, void *holder)
{
	check_moved_target(slot, holder);
}

static void check_moved_fields(void *obj)
{
	uint64_t h = *object_header(obj);
	if (h & HDR_FORWARDED)
		FAIL("marked object %p is forwarded to %p", phase, obj,
		     (void *)(uintptr_t)(h & ~HDR_FORWARDED));
	const struct type *t = type_get(header_type(h));
	type_visit_fields(obj, moved_visit, obj);
	for (unsigned i = 0; i < type_special_words(t); i++)
		check_moved_target((void **)obj + i, obj);
}

static void check_moved_root(void **slot, void *ctx)
{
	(void)ctx;
	check_moved_target(slot, NULL);
}

void verify_compaction(void)
{
	GYRE_ASSERT(stw_world_stopped());
	phase = "after compaction";
	for (size_t i = 0; i < heap.top; i++) {
		struct block *b = &heap.blocks[i];
		if (b->state == BLOCK_FREE)
			continue;
		char *base = block_base(b);
		for (uint32_t s = 0; s < b->nslots; s++)
			if (atomic_load_relaxed(&b->marks[s / 64]) >> (s % 64) & 1) {
				if (!bit_test(b->starts, s))
					FAIL("block %zu slot %u is marked but holds no object",
					     phase, i, s);
				check_moved_fields(object_from_slot(base + (size_t)s * b->obj_size));
			}
	}
	for (size_t i = 0; i < large.count; i++)
		if (atomic_load_relaxed(&large.objs[i]->mark))
			check_moved_fields(large_object(large.objs[i]));
	roots_for_each_handle(check_moved_root, NULL);
	final_for_each_root(check_moved_root, NULL);
	/* Marking kept every registered object alive (those it found
	 * unreached too, for their finalizers). */
	final_for_each_registered(check_moved_root, NULL);
}
