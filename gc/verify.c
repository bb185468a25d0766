/*
 * verify.c: the heap verifier (see verify.h). Checked at every phase
 * boundary it is called at:
 * - [INV-HEADER] every allocated slot and large object has a registered
 *   type and fits its slot (and its size class is the smallest that fits);
 * - every pointer field holds NULL or the start of an allocated object, so
 *   no live object points at a freed one (a lost object);
 * - [INV-MARKS-CLEAR] no mark bit is set;
 * - list membership: class lists hold SMALL unowned blocks of their class,
 *   the free list holds FREE blocks, FREE blocks have no start bits;
 * - [INV-HEAP-USED] the heap's byte count matches its blocks and large
 *   objects.
 */
#include "gc/heap.h"
#include "gc/large.h"
#include "gc/mark.h"
#include "gc/type.h"
#include "gc/verify.h"
#include "threads/stw.h"

static const char *phase;

#define FAIL(...)                                                          \
	gyre_fatal("heap verifier (%s): " __VA_ARGS__)

static void check_pointer(void *holder, void *v)
{
	if (v && !mark_is_object((uintptr_t)v))
		FAIL("object %p (type %u) points at %p, which is not an allocated object",
		     phase, holder, header_type(*object_header(holder)), v);
}

static void verify_visit(void **slot, void *ctx)
{
	check_pointer(ctx, *slot);
}

static void check_fields(void *obj, const struct type *t, uint32_t n)
{
	char *elem = obj;
	for (uint32_t e = 0; e < n; e++, elem += t->size) {
		if (t->kind == TYPE_OFFSETS)
			for (uint32_t i = 0; i < t->n_ptrs; i++)
				check_pointer(obj, ((void **)elem)[t->word_offsets[i]]);
		else if (t->kind == TYPE_TRACE)
			t->trace(elem, verify_visit, obj);
	}
}

/* Checks the header and fields; returns the object's byte size. */
static size_t check_object(void *obj)
{
	uint64_t h = *object_header(obj);
	const struct type *t = type_get(header_type(h));
	if (!t)
		FAIL("object %p has header %#llx with no registered type", phase,
		     obj, (unsigned long long)h);
	size_t bytes = HEADER_SIZE + (size_t)header_length(h) * t->size;
	check_fields(obj, t, header_length(h));
	return bytes;
}

static void check_small_block(struct block *b)
{
	for (unsigned i = 0; i < BITMAP_WORDS; i++)
		if (atomic_load_relaxed(&b->marks[i]))
			FAIL("block %zu has mark bits set", phase, block_index(b));
	if (b->obj_size != sizeclass_size[b->sizeclass] || b->owned)
		FAIL("block %zu has bad metadata: class %u, object size %u, owned %d",
		     phase, block_index(b), b->sizeclass, b->obj_size, b->owned);
	for (uint32_t s = 0; s < b->nslots; s++) {
		if (!bit_test(b->starts, s))
			continue;
		void *obj = object_from_slot(block_base(b) + (size_t)s * b->obj_size);
		size_t bytes = check_object(obj);
		if (sizeclass_for(bytes) != b->sizeclass)
			FAIL("object %p of %zu bytes is in a block of class size %u",
			     phase, obj, bytes, b->obj_size);
	}
}

static size_t check_blocks(void)
{
	size_t small = 0;
	for (size_t i = 0; i < heap.top; i++) {
		struct block *b = &heap.blocks[i];
		if (b->state == BLOCK_SMALL) {
			small++;
			check_small_block(b);
		} else {
			for (unsigned w = 0; w < BITMAP_WORDS; w++)
				if (b->starts[w] || atomic_load_relaxed(&b->marks[w]))
					FAIL("free block %zu has start or mark bits",
					     phase, i);
		}
	}
	return small;
}

static size_t check_large(void)
{
	size_t bytes = 0;
	for (size_t i = 0; i < large.count; i++) {
		struct large *l = large.objs[i];
		if (l->magic != LARGE_MAGIC || atomic_load_relaxed(&l->mark))
			FAIL("large object record %p is corrupt or marked", phase, (void *)l);
		if (i && large.objs[i - 1] >= l)
			FAIL("large-object set is not sorted", phase);
		size_t obj_bytes = check_object(large_object(l));
		if (obj_bytes != l->bytes || obj_bytes <= SIZECLASS_MAX_SIZE)
			FAIL("large object %p has %zu bytes, header says %zu", phase,
			     large_object(l), (size_t)l->bytes, obj_bytes);
		bytes += l->bytes;
	}
	return bytes;
}

static void check_lists(void)
{
	for (struct block *b = heap.free; b; b = b->next)
		if (b->state != BLOCK_FREE)
			FAIL("block %zu is on the free list but not free", phase,
			     block_index(b));
	for (unsigned c = 0; c < SIZECLASS_COUNT; c++)
		for (struct block *b = heap.classes[c].head; b; b = b->next)
			if (b->state != BLOCK_SMALL || b->sizeclass != c || b->owned)
				FAIL("block %zu is on class list %u wrongly", phase,
				     block_index(b), c);
}

void verify_heap(const char *when)
{
	GYRE_ASSERT(stw_world_stopped());
	phase = when;
	size_t small = check_blocks();
	size_t large_bytes = check_large();
	check_lists();
	size_t used = atomic_load_relaxed(&heap.used);
	if (used != small * BLOCK_SIZE + large_bytes)
		FAIL("heap.used is %zu but blocks and large objects hold %zu", phase,
		     used, small * BLOCK_SIZE + large_bytes);
}
