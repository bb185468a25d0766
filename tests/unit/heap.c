/*
 * heap.c: unit tests of the block heap and size classes: every size maps
 * to the smallest class that fits it, the reciprocal slot computation is
 * exact for every class and offset, conservative lookup finds objects from
 * interior pointers and nothing in headers or free slots, the heap maximum holds, and
 * the prefault thread maps ahead of the top, in huge pages where the rest
 * of the reservation has small ones.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "harness.h"
#include "gc/heap/heap.h"
#include "gc/heap/prefault.h"
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
		struct block *b = heap_take_block(2, c);
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

static gyre_type pair_type(void)
{
	static const size_t offs[] = {0, 8};
	gyre_type_desc d = {.name = "pair", .size = sizeof(struct pair),
			    .ptr_offsets = offs, .n_ptrs = 2};
	return gyre_type_register(&d);
}

static void alloc_into_handle(void *arg)
{
	gyre_handle *h = arg;
	*h = gyre_handle_new(gyre_alloc(pair_type()));
}

/* An object only a handle holds is moved into generation 2 by a full
 * collection: a size-class block, looked up by slot. */
static void test_find_small_takes_interior_pointers(void **state)
{
	(void)state;
	gyre_handle h;
	harness_in_thread(alloc_into_handle, &h);
	gyre_collect(2);
	uintptr_t obj = (uintptr_t)gyre_handle_get(h);
	struct block *b = block_of(obj);
	assert_int_equal(b->state, BLOCK_SMALL);
	assert_int_equal(b->gen, 2);
	assert_ptr_equal(heap_find_small(obj), (void *)obj);
	assert_ptr_equal(heap_find_small(obj + 20), (void *)obj);
	/* Its header is not part of it (heap.h). */
	assert_null(heap_find_small(obj - HEADER_SIZE));
	assert_null(heap_find_small(obj - 1));
	assert_true(heap_is_small_object(obj));
	assert_false(heap_is_small_object(obj + 8));
	/* The slot after the last one allocated is free. */
	uint32_t last = 0;
	for (uint32_t s = 0; s < b->nslots; s++)
		if (bit_test(b->starts, s))
			last = s;
	if (last + 1 < b->nslots)
		assert_null(heap_find_small((uintptr_t)block_base(b) +
					    (last + 1) * (size_t)b->obj_size + 8));
	assert_null(heap_find_small((uintptr_t)heap.base - 8));
	assert_null(heap_find_small((uintptr_t)&h));
	gyre_handle_free(h);
}

/* An object a local points at stays in its nursery block, pinned; after
 * the collection the block's start bits name exactly the pinned objects,
 * and lookups find the object from any address inside it, and nothing
 * in its header or between pinned objects. */
static void test_find_small_in_pinned_nursery_block(void **state)
{
	(void)state;
	gyre_type t = pair_type();
	struct pair *volatile p = gyre_alloc(t);
	/* Kept disguised, or the word itself would pin the object. */
	const uintptr_t disguise = UINT64_C(1) << 62;
	volatile uintptr_t d = (uintptr_t)harness_launder(gyre_alloc(t)) ^ disguise;
	struct pair *volatile q = gyre_alloc(t);
	gyre_collect(0);
	uintptr_t obj = (uintptr_t)p;
	struct block *b = block_of(obj);
	assert_int_equal(b->state, BLOCK_NURSERY);
	assert_ptr_equal(block_of((uintptr_t)q), b);
	assert_ptr_equal(heap_find_small(obj), p);
	assert_ptr_equal(heap_find_small(obj + sizeof(struct pair) - 1), p);
	assert_null(heap_find_small(obj - HEADER_SIZE));
	assert_ptr_equal(heap_find_small((uintptr_t)q + 8), q);
	/* The unpinned object between them is gone: its words find nothing. */
	if (block_of(d ^ disguise) == b)
		assert_null(heap_find_small(d ^ disguise));
	assert_null(heap_find_small((uintptr_t)block_base(b) + b->top + 8));
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

/* Pages of the reservation not yet resident, among the n bytes from p. */
static size_t absent_pages(const char *p, size_t n)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), count = n / page, absent = 0;
	unsigned char *v = malloc(count);
	assert_non_null(v);
	assert_int_equal(mincore((void *)p, n, v), 0);
	for (size_t i = 0; i < count; i++)
		absent += !(v[i] & 1);
	free(v);
	return absent;
}

/* The prefault thread maps the first PREFAULT_AHEAD bytes of the heap soon
 * after gyre_init, and keeps that much mapped past the highest block once
 * blocks are taken from above it. (Where the kernel lacks
 * MADV_POPULATE_WRITE the thread ends at once: the test then skips.) */
static void test_prefault_maps_ahead_of_the_top(void **state)
{
	(void)state;
	#define WAIT_MAPPED(lo) \
		for (int i = 0; i < 2000 && absent_pages((lo), PREFAULT_AHEAD); i++) \
			usleep(1000)
	WAIT_MAPPED(heap.base);
	if (absent_pages(heap.base, PREFAULT_AHEAD))
		skip();
	/* Taking PREFAULT_AHEAD's worth of blocks (free ones first, then
	 * from above the top) asks for as much again beyond the new top. */
	size_t n = PREFAULT_AHEAD / BLOCK_SIZE;
	struct block **taken = malloc(n * sizeof(*taken));
	assert_non_null(taken);
	for (size_t i = 0; i < n; i++)
		assert_non_null(taken[i] = heap_take_nursery());
	pthread_mutex_lock(&heap.lock);
	char *beyond = heap.base + (heap.top << BLOCK_SHIFT);
	pthread_mutex_unlock(&heap.lock);
	WAIT_MAPPED(beyond);
	assert_int_equal(absent_pages(beyond, PREFAULT_AHEAD), 0);
	for (size_t i = 0; i < n; i++)
		heap_free_block(taken[i]);
	free(taken);
	#undef WAIT_MAPPED
}

/* The VmFlags line of the mapping holding p, from /proc/self/smaps, into
 * flags; false if none was found. */
static bool vm_flags_of(const void *p, char *flags, size_t size)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	assert_non_null(f);
	char line[512];
	bool in = false, found = false;
	while (fgets(line, sizeof(line), f)) {
		uintptr_t lo, hi;
		if (sscanf(line, "%" SCNxPTR "-%" SCNxPTR " ", &lo, &hi) == 2) {
			in = (uintptr_t)p >= lo && (uintptr_t)p < hi;
			continue;
		}
		if (in && strncmp(line, "VmFlags:", 8) == 0) {
			snprintf(flags, size, "%s", line + 8);
			found = true;
			break;
		}
	}
	fclose(f);
	return found;
}

static bool has_flag(const char *flags, const char *flag)
{
	for (const char *s = flags; (s = strstr(s, flag)); s++)
		if ((s == flags || s[-1] == ' ') && (s[2] == ' ' || s[2] == '\n'))
			return true;
	return false;
}

/* What the prefault thread maps a step or more above the top asks for
 * huge pages; the rest of the reservation, which threads and pauses may
 * reach first, small ones, so that none of them waits for a whole huge
 * page's fault (heap.c, prefault.c). */
static void test_only_prefaulted_memory_asks_for_huge_pages(void **state)
{
	(void)state;
	pthread_mutex_lock(&heap.lock);
	size_t top = heap.top << BLOCK_SHIFT;
	pthread_mutex_unlock(&heap.lock);
	char *mapped = heap.base + top;
	for (int i = 0; i < 2000 && absent_pages(mapped, PREFAULT_AHEAD); i++)
		usleep(1000);
	if (absent_pages(mapped, PREFAULT_AHEAD))
		skip();
	char flags[512];
	/* The first step was mapped with the top in it. */
	assert_true(vm_flags_of(heap.base, flags, sizeof(flags)));
	assert_false(has_flag(flags, "hg"));
	char *ahead = heap.base + ((top + 2 * HUGE_PAGE - 1) & ~(HUGE_PAGE - 1));
	assert_true(vm_flags_of(ahead, flags, sizeof(flags)));
	assert_true(has_flag(flags, "hg"));
	char *far = heap.base + ((heap.nblocks - 1) << BLOCK_SHIFT);
	assert_true(vm_flags_of(far, flags, sizeof(flags)));
	assert_true(has_flag(flags, "nh"));
	assert_false(has_flag(flags, "hg"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sizeclass_is_smallest_fit),
		cmocka_unit_test(test_slot_index_is_exact),
		cmocka_unit_test(test_find_small_takes_interior_pointers),
		cmocka_unit_test(test_find_small_in_pinned_nursery_block),
		cmocka_unit_test(test_reserve_respects_heap_max),
		cmocka_unit_test(test_prefault_maps_ahead_of_the_top),
		cmocka_unit_test(test_only_prefaulted_memory_asks_for_huge_pages),
	};
	return cmocka_run_group_tests(tests, harness_up, harness_down);
}
