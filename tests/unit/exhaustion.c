/*
 * exhaustion.c: unit tests of a minor collection that runs out of
 * to-space at the heap's maximum: what cannot be copied stays in place
 * (minor.h) and every object survives intact, a list and a tree, with
 * and without blocks pinned by the stack, on four workers; the collection
 * scans what stays as it goes, in one pass, instead of rescanning the
 * whole from-space once per object it could not move.
 *
 * And the copy reserve: with automatic collection on, a minor collection
 * comes before the nursery outgrows the room left to copy into, so that a
 * program whose live data fits never has objects stay for want of it.
 *
 * The build runs it with GYRE_VERIFY=1: the verifier checks the heap
 * before and after every collection; the TSan build finds two workers
 * scanning one object that stayed (one that claimed it, one that scans
 * the pinned objects of its block), which they must not.
 */
#include <stdbool.h>
#include <string.h>

#include "harness.h"
#include "node.h"
#include "gc/heap/heap.h"
#include "gc/young/minor.h"

#define MIB ((size_t)1 << 20)
#define HEAP_MAX (64 * MIB)
/* Large pointer-free objects, a block's size each, that take the heap up
 * to CHAIN_BYTES plus ROOM_BYTES below its maximum. */
#define FILLER_BYTES ((size_t)64 << 10)
#define FILLERS 1024
/* The young chain: 128 Ki nodes, 32 bytes each in the nursery. */
#define CHAIN_NODES (128u << 10)
#define CHAIN_BYTES (CHAIN_NODES * (size_t)32)
/* What is left for to-space: one block, a 64th of the chain. */
#define ROOM_BYTES ((size_t)64 << 10)

static int up(void **state)
{
	(void)state;
	return node_up_with(&(gyre_config){.heap_max = HEAP_MAX,
					   .nursery_size = 16 * MIB});
}

struct filled {
	gyre_handle fillers, chain;
	/* The young structure, built once the heap is filled: a chain of
	 * CHAIN_NODES nodes, or a complete tree of DEPTH levels. */
	struct node *(*build)(void);
	unsigned intact;
};

static struct node *a_chain(void)
{
	return chain(1, CHAIN_NODES);
}

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
	f->chain = gyre_handle_new(f->build());
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
 * needed one per node left in place: over 120 s for this chain). */
static void test_full_to_space_keeps_everything_in_one_pass(void)
{
	struct filled f = {.build = a_chain};
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

/* The same with a tree (work the workers share), some of its blocks
 * pinned by this thread's stack: objects that stay for want of space are
 * marked in blocks whose pinned objects another worker is scanning. Four
 * workers, whatever the machine. */
#define DEPTH 17
#define TREE_NODES ((1u << DEPTH) - 1)
#define PINS 256

static int up_four_workers(void **state)
{
	(void)state;
	return node_up_with(&(gyre_config){.heap_max = HEAP_MAX,
					   .nursery_size = 16 * MIB, .workers = 4});
}

/* A complete tree of `depth` levels whose nodes hold their heap order
 * (root 1, children 2k and 2k + 1). */
static struct node *tree(uint64_t k, unsigned depth)
{
	if (!depth)
		return NULL;
	return node_new(k, tree(2 * k, depth - 1), tree(2 * k + 1, depth - 1));
}

static unsigned tree_intact(const struct node *n, uint64_t k)
{
	if (!n)
		return 0;
	return (n->value == k) + tree_intact(n->left, 2 * k) +
	       tree_intact(n->right, 2 * k + 1);
}

static struct node *a_tree(void)
{
	return tree(1, DEPTH);
}

static void check_tree(void *arg)
{
	struct filled *f = arg;
	f->intact = tree_intact(gyre_handle_get(f->chain), 1);
}

static void test_full_to_space_with_pinned_blocks(void)
{
	struct filled f = {.build = a_tree};
	void *volatile pins[PINS];
	disable();
	harness_in_thread(fill, &f);
	/* Leftmost paths from PINS nodes of the tree's widest level. */
	for (unsigned i = 0; i < PINS; i++) {
		struct node *n = gyre_handle_get(f.chain);
		for (unsigned bit = DEPTH - 1; bit-- > 0;)
			n = (i * (TREE_NODES / 2 / PINS)) >> bit & 1 ? n->right : n->left;
		pins[i] = n;
	}
	assert_true(gyre_collect(0) >= 0);
	assert_true(gyre_collect(1) >= 0);
	enable();
	harness_in_thread(check_tree, &f);
	assert_int_equal(f.intact, TREE_NODES);
	for (unsigned i = 0; i < PINS; i++)
		assert_non_null(pins[i]);
	gyre_handle_free(f.chain);
	gyre_handle_free(f.fillers);
}

/* The copy reserve (gc/driver/pacer.c): the heap filled to ROOM_MIB below
 * its maximum, the program allocates 2 KEPT nodes (20 MiB in the
 * nursery), and keeps every second one in an old array (10 MiB), under a
 * 16 MiB nursery. The nursery threshold alone would first collect once
 * the nursery held 16 MiB, with under 2 MiB left to copy its 8 MiB of
 * survivors into: most of them would stay in place (thousands of objects counted as pinned; allocations failed for
 * good in bench/mutator so). With the reserve, collections come as the
 * room shrinks, everything is copied, and all of it fits. */
#define ROOM_MIB 20
#define KEPT (320u << 10)

struct kept {
	gyre_handle fillers, array;
	unsigned allocated, intact;
};

static void fill_leaving_room(void *arg)
{
	struct kept *k = arg;
	void **fillers = gyre_alloc_array(GYRE_TYPE_PTR, FILLERS);
	assert_non_null(fillers);
	k->fillers = gyre_handle_new(fillers);
	for (unsigned i = 0; i < FILLERS; i++) {
		if (atomic_load(&heap.used) + FILLER_BYTES + ROOM_MIB * MIB > HEAP_MAX)
			break;
		void *b = gyre_alloc_bytes(FILLER_BYTES - 64);
		assert_non_null(b);
		GYRE_STORE_AT(fillers, i, b);
	}
	void **array = gyre_alloc_array(GYRE_TYPE_PTR, KEPT);
	assert_non_null(array);
	k->array = gyre_handle_new(array);
	/* Counted, not asserted: without the reserve an allocation fails
	 * here, and the test says so from its own thread. */
	for (unsigned i = 0; i < KEPT; i++) {
		struct node *n = gyre_alloc(node_type) ? gyre_alloc(node_type) : NULL;
		if (!n)
			break;
		n->value = i;
		GYRE_STORE_AT(array, i, n);
		k->allocated++;
	}
}

static void check_kept(void *arg)
{
	struct kept *k = arg;
	void **array = gyre_handle_get(k->array);
	k->intact = 0;
	for (unsigned i = 0; i < KEPT; i++)
		k->intact += array[i] && ((struct node *)array[i])->value == i;
}

static void test_nursery_leaves_room_to_copy(void)
{
	struct kept k = {0};
	gyre_stats before, after;
	assert_int_equal(gyre_stats_get(&before), GYRE_OK);
	harness_in_thread(fill_leaving_room, &k);
	assert_int_equal(gyre_stats_get(&after), GYRE_OK);
	assert_int_equal(k.allocated, KEPT);
	harness_in_thread(check_kept, &k);
	assert_int_equal(k.intact, KEPT);
	/* A few objects a stack pins, not the thousands that stay for want
	 * of to-space. */
	uint64_t stayed = after.gen[0].objects_pinned - before.gen[0].objects_pinned +
			  after.gen[1].objects_pinned - before.gen[1].objects_pinned;
	assert_true(stayed < 100);
	assert_true(after.gen[0].collections > before.gen[0].collections);
	gyre_handle_free(k.array);
	gyre_handle_free(k.fillers);
}

#define TEST(fn) {#fn, run_body, up, node_down, &(struct body){fn}}

int main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(test_full_to_space_keeps_everything_in_one_pass),
		TEST(test_nursery_leaves_room_to_copy),
		{"test_full_to_space_with_pinned_blocks", run_body, up_four_workers,
		 node_down, &(struct body){test_full_to_space_with_pinned_blocks}},
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
