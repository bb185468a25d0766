/*
 * verify.c: the heap verifier catches what it exists for. Each case breaks
 * the heap on purpose in a child process and expects the verifier to abort
 * naming the problem: an object whose referent was freed (a lost object),
 * a header with no registered type, a stray mark bit.
 */
#include <stdlib.h>

#include "harness.h"
#include "gc/heap.h"

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lost_object_is_caught),
		cmocka_unit_test(test_bad_header_is_caught),
		cmocka_unit_test(test_stray_mark_is_caught),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
