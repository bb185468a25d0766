/*
 * exhaustion.c: unit tests of a minor collection that runs out of
 * to-space at the heap's maximum: what cannot be copied stays in place
 * (minor.h), every object survives intact, and the collection scans what
 * stays as it goes, in one pass, instead of rescanning the whole from-space
 * once per object it could not move.
 *
 * The build runs it with GYRE_VERIFY=1: the verifier checks the heap
 * before and after every collection.
 */
#include <stdbool.h>
#include <string.h>

#include "harness.h"
#include "node.h"
#include "gc/heap.h"
#include "gc/minor.h"

#define MIB ((size_t)1 << 20)
#define HEAP_MAX (64 * MIB)
/* Large pointer-free objects that take the heap up to CHAIN_BYTES plus
 * ROOM_BYTES below its maximum. */
#define FILLER_BYTES MIB
#define FILLERS 64
/* The young chain: about 4 MiB of nodes, 32 bytes each in the nursery. */
#define CHAIN_NODES (128u << 10)
#define CHAIN_BYTES (CHAIN_NODES * (size_t)32)
/* What is left for to-space: a quarter of the chain fits. */
#define ROOM_BYTES (CHAIN_BYTES / 4)

static int up(void **state)
{
	(void)state;
	return node_up_with(&(gyre_config){.heap_max = HEAP_MAX,
					   .nursery_size = 16 * MIB});
}

struct filled {
	gyre_handle fillers, chain;
	unsigned intact;
};

/* Fills the heap with large objects, then allocates the chain, all
 * reachable from handles; on a helper thread, so that no stale stack word
 * pins a node. Automatic collection is off: the nursery threshold is never
 * reached anyway, and nothing moves before the test's own collection. */
static void fill(void *arg)
{
	struct filled *f = arg;
	void **fillers = gyre_alloc_array(GYRE_TYPE_PTR, FILLERS);
	assert_non_null(fillers);
	f->fillers = gyre_handle_new(fillers);
	for (unsigned i = 0; i < FILLERS; i++) {
		size_t used = atomic_load(&heap.used);
		if (used + FILLER_BYTES + CHAIN_BYTES + ROOM_BYTES > HEAP_MAX)
			break;
		void *b = gyre_alloc_bytes(FILLER_BYTES - 64);
		assert_non_null(b);
		GYRE_STORE_AT(fillers, i, b);
	}
	f->chain = gyre_handle_new(chain(1, CHAIN_NODES));
	assert_non_null(f->chain);
}

static void check(void *arg)
{
	struct filled *f = arg;
	f->intact = 0;
	for (struct node *n = gyre_handle_get(f->chain); n; n = n->left)
		f->intact += n->value == 1 + f->intact;
}

/* Most of the chain cannot be copied: it stays where it is, intact, and
 * the collection needs no overflow rescan to reach each next node (it
 * needed one per node left in place: hours for a chain this long). */
static void test_full_to_space_keeps_everything_in_one_pass(void)
{
	struct filled f = {0};
	disable();
	harness_in_thread(fill, &f);
	size_t rescans = minor_rescans();
	gyre_stats before, after;
	assert_int_equal(gyre_stats_get(&before), GYRE_OK);
	assert_true(gyre_collect(0) >= 0);
	assert_int_equal(gyre_stats_get(&after), GYRE_OK);
	enable();
	harness_in_thread(check, &f);
	assert_int_equal(f.intact, CHAIN_NODES);
	/* Objects stayed (counted as pinned), and no rescan was needed. */
	assert_true(after.gen[0].objects_pinned - before.gen[0].objects_pinned >
		    CHAIN_NODES / 2);
	assert_int_equal(minor_rescans(), rescans);
	gyre_handle_free(f.chain);
	gyre_handle_free(f.fillers);
}

#define TEST(fn) {#fn, run_body, up, node_down, &(struct body){fn}}

int main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(test_full_to_space_keeps_everything_in_one_pass),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
