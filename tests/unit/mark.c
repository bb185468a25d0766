/*
 * mark.c: unit tests of marking: with mark stacks capped at a few entries,
 * the overflow path (rescanning the heap for marked objects) still marks
 * every reachable object of a wide and deep graph in generation 2: the
 * collection frees none of it, with the verifier on.
 */
#include "harness.h"
#include "gc/heap/heap.h"
#include "gc/old/mark.h"

struct link {
	struct link *next;
	void **fan;
	uint64_t id;
};

static gyre_type link_type;

/* A link that holds a 16-byte object through a one-slot array: the
 * pushes that overflow are mostly of these, and an overflowed object
 * with pointers has children that only the rescan marks. */
static struct link *leaf(void)
{
	struct link *l = gyre_alloc(link_type);
	void **fan = gyre_alloc_array(GYRE_TYPE_PTR, 1);
	GYRE_STORE_AT(fan, 0, gyre_alloc_bytes(16));
	GYRE_STORE(l, fan, fan);
	return l;
}

static struct link *chain(int n)
{
	struct link *head = NULL;
	for (int i = 0; i < n; i++) {
		struct link *l = gyre_alloc(link_type);
		l->id = (uint64_t)i;
		GYRE_STORE(l, next, head);
		void **fan = gyre_alloc_array(GYRE_TYPE_PTR, 8);
		for (int j = 0; j < 8; j++)
			GYRE_STORE_AT(fan, j, leaf());
		GYRE_STORE(l, fan, fan);
		head = l;
	}
	return head;
}

static void test_overflow_still_marks_everything(void **state)
{
	(void)state;
	static const size_t offs[] = {0, 8};
	gyre_type_desc d = {.name = "link", .size = sizeof(struct link),
			    .ptr_offsets = offs, .n_ptrs = 2};
	link_type = gyre_type_register(&d);
	struct link *volatile head = chain(20000);
	mark_set_stack_limit(4);
	/* The first moves the graph to generation 2 (copying needs no mark
	 * stack); the second marks it there, through overflows, and must
	 * free none of it. */
	gyre_collect(2);
	size_t rescans = mark_rescans();
	int64_t freed = gyre_collect(2);
	mark_set_stack_limit(0);
	assert_true(mark_rescans() > rescans);
	assert_int_equal(freed, 0);
	/* Every object is still allocated (its start bit set): a freed slot
	 * keeps its old contents until reused, so reading them proves
	 * nothing. */
	uint64_t expect = 19999;
	for (struct link *l = head; l; l = l->next, expect--) {
		assert_ptr_equal(heap_find_small((uintptr_t)l), l);
		assert_int_equal(l->id, expect);
		assert_ptr_equal(heap_find_small((uintptr_t)l->fan), l->fan);
		for (int j = 0; j < 8; j++) {
			struct link *f = l->fan[j];
			assert_ptr_equal(heap_find_small((uintptr_t)f), f);
			assert_ptr_equal(heap_find_small((uintptr_t)f->fan), f->fan);
			assert_ptr_equal(heap_find_small((uintptr_t)f->fan[0]), f->fan[0]);
			assert_int_equal(gyre_length(f->fan[0]), 16);
		}
	}
	assert_int_equal(expect, (uint64_t)-1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_overflow_still_marks_everything),
	};
	return cmocka_run_group_tests(tests, harness_up, harness_down);
}
