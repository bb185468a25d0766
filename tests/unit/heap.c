/*
 * heap.c: unit tests of the block heap and size classes: every size maps
 * to the smallest class that fits it, the reciprocal slot computation is
 * exact for every class and offset, conservative lookup finds objects from
 * interior pointers and nothing in free slots, and the heap maximum holds.
 */
#include "harness.h"
#include "gc/heap.h"
#include "runtime/config.h"

static void test_sizeclass_is_smallest_fit(void **state)
{
	(void)state;
	for (size_t bytes = 1; bytes <= SIZECLASS_MAX_SIZE; bytes++) {
		unsigned c = sizeclass_for(bytes);
		assert_true(sizeclass_size[c] >= bytes);
		assert_true(c == 0 || sizeclass_size[c - 1] < bytes);
	}
}

static void test_slot_index_is_exact(void **state)
{
	(void)state;
	for (unsigned c = 0; c < SIZECLASS_COUNT; c++) {
		struct block *b = heap_take_block(c);
		assert_non_null(b);
		for (uint64_t off = 0; off < BLOCK_SIZE; off++)
			if (block_slot(b, (uintptr_t)block_base(b) + off) != off / b->obj_size)
				fail_msg("class %u offset %llu", c, (unsigned long long)off);
		heap_return_block(b);
	}
}

struct pair {
	void *a, *b;
	uint64_t x;
};

static void test_find_small_takes_interior_pointers(void **state)
{
	(void)state;
	static const size_t offs[] = {0, 8};
	gyre_type_desc d = {.name = "pair", .size = sizeof(struct pair),
			    .ptr_offsets = offs, .n_ptrs = 2};
	gyre_type t = gyre_type_register(&d);
	struct pair *volatile p = gyre_alloc(t);
	/* Start bits arrive when the run is retired, as a collection does. */
	gyre_collect();
	uintptr_t obj = (uintptr_t)p;
	assert_ptr_equal(heap_find_small(obj), p);
	assert_ptr_equal(heap_find_small(obj + 20), p);
	assert_ptr_equal(heap_find_small(obj - HEADER_SIZE), p);
	assert_true(heap_is_small_object(obj));
	assert_false(heap_is_small_object(obj + 8));
	struct block *b = block_of(obj);
	/* The slot after the last one allocated is free. */
	uint32_t last = 0;
	for (uint32_t s = 0; s < b->nslots; s++)
		if (bit_test(b->starts, s))
			last = s;
	if (last + 1 < b->nslots)
		assert_null(heap_find_small((uintptr_t)block_base(b) +
					    (last + 1) * (size_t)b->obj_size + 8));
	assert_null(heap_find_small((uintptr_t)heap.base - 8));
	assert_null(heap_find_small((uintptr_t)&t));
}

static void test_reserve_respects_heap_max(void **state)
{
	(void)state;
	size_t room = gyre_cfg.heap_max - atomic_load(&heap.used);
	assert_false(heap_reserve(room + 1));
	assert_true(heap_reserve(room));
	assert_false(heap_reserve(1));
	heap_unreserve(room);
	assert_true(heap_reserve(1));
	heap_unreserve(1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sizeclass_is_smallest_fit),
		cmocka_unit_test(test_slot_index_is_exact),
		cmocka_unit_test(test_find_small_takes_interior_pointers),
		cmocka_unit_test(test_reserve_respects_heap_max),
	};
	return cmocka_run_group_tests(tests, harness_up, harness_down);
}
