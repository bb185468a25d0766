/*
 * verify.c: the heap verifier catches what it exists for. Each case breaks
 * the heap on purpose in a child process and expects the verifier to abort
 * naming the problem: an object whose referent was freed (a lost object),
 * a header with no registered type, a stray mark bit, a block in use on
 * the list of returned blocks and a free block on two lists
 * [INV-FREE-LISTS].
 */
#include <stdlib.h>

#include "harness.h"
#include "gc/heap/heap.h"

struct cell {
	struct cell *next;
	uint64_t v;
};

static gyre_type cell_type;

static struct cell *up_with_pair(void)
{
	gyre_config c = {.verify = 1};
	if (gyre_init(&c) || gyre_thread_attach())
		abort();
	static const size_t offs[] = {0};
	gyre_type_desc d = {.name = "cell", .size = sizeof(struct cell),
			    .ptr_offsets = offs, .n_ptrs = 1};
	cell_type = gyre_type_register(&d);
	struct cell *a = gyre_alloc(cell_type);
	GYRE_STORE(a, next, gyre_alloc(cell_type));
	gyre_collect(2); /* retires the run: start bits are exact now */
	return a;
}

static void clear_start_bit(void *obj)
{
	struct block *b = block_of((uintptr_t)obj);
	uint32_t s = block_slot(b, (uintptr_t)obj - HEADER_SIZE);
	b->starts[s / 64] &= ~(UINT64_C(1) << (s % 64));
}

static void lost_object(void)
{
	struct cell *volatile a = up_with_pair();
	clear_start_bit(a->next);
	gyre_collect(2);
}

static void bad_header(void)
{
	struct cell *volatile a = up_with_pair();
	*((uint64_t *)a->next - 1) = (uint64_t)9999 << 8 | (uint64_t)1 << 32;
	gyre_collect(2);
}

static void stray_mark(void)
{
	struct cell *volatile a = up_with_pair();
	struct block *b = block_of((uintptr_t)a);
	atomic_store(&b->marks[0], 1);
	gyre_collect(2);
}

/* Puts b on the returned list, as if its memory had been returned. */
static void list_returned(struct block *b)
{
	pthread_mutex_lock(&heap.lock);
	b->next = heap.returned;
	heap.returned = b;
	atomic_fetch_add(&heap.nreturned, 1);
	pthread_mutex_unlock(&heap.lock);
}

static void block_in_use_returned(void)
{
	struct cell *volatile a = up_with_pair();
	list_returned(block_of((uintptr_t)a));
	gyre_collect(2);
}

/* The free list's last block (its `next` is NULL, so the free list stays
 * whole) on the returned list too, which is empty before the memory
 * thread's first look, a second after gyre_init. */
static void free_block_returned(void)
{
	up_with_pair();
	heap_free_block(heap_take_nursery());
	pthread_mutex_lock(&heap.lock);
	struct block *last = heap.free_tail;
	bool empty = heap.returned == NULL;
	pthread_mutex_unlock(&heap.lock);
	if (!last || !empty)
		abort();
	list_returned(last);
	gyre_collect(2);
}

static void test_lost_object_is_caught(void **state)
{
	(void)state;
	harness_expect_abort(lost_object, "not an allocated object");
}

static void test_bad_header_is_caught(void **state)
{
	(void)state;
	harness_expect_abort(bad_header, "no registered type");
}

static void test_stray_mark_is_caught(void **state)
{
	(void)state;
	harness_expect_abort(stray_mark, "mark bits set");
}

static void test_block_in_use_returned_is_caught(void **state)
{
	(void)state;
	harness_expect_abort(block_in_use_returned,
			     "on the returned list but not a free block");
}

static void test_free_block_on_two_lists_is_caught(void **state)
{
	(void)state;
	harness_expect_abort(free_block_returned,
			     "on the free list and on the returned list");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lost_object_is_caught),
		cmocka_unit_test(test_bad_header_is_caught),
		cmocka_unit_test(test_stray_mark_is_caught),
		cmocka_unit_test(test_block_in_use_returned_is_caught),
		cmocka_unit_test(test_free_block_on_two_lists_is_caught),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
