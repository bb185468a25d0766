/*
 * inplace.c: unit tests of promotion in place (gyre_config.promote_in_place,
 * gc/young/minor.c): a nursery block promoted in place keeps its
 * survivors where they were allocated and joins generation 2 as a PACKED
 * block; the adaptive mode promotes only while most of the nursery
 * survives; the dirty cards of a packed object are roots for the next
 * minor collection, on every card the object spans; the sweep drops a
 * packed block's dead objects and frees the block once all are dead.
 *
 * The build runs it with GYRE_VERIFY=1: before and after each collection
 * the verifier checks every packed block [INV-PACKED] (objects that do
 * not overlap, footprints that add up to its live_bytes) and every
 * old-to-young pointer's card.
 *
 * As in generations.c, what must move or die is touched only by a helper
 * thread (harness_in_thread), and addresses come back disguised: a stale
 * stack word would pin what it names.
 */
#include <stdlib.h>

#include "harness.h"
#include "node.h"
#include "gc/heap/heap.h"
#include "gc/heap/object.h"
#include "gc/heap/packed.h"
#include "gc/driver/collect.h"
#include "gc/old/mark.h"
#include "gc/old/marker.h"
#include "threads/mutator.h"

#define MIB ((size_t)1 << 20)
/* A node's footprint: header, payload, granule-rounded. */
#define NODE_BYTES ((HEADER_SIZE + sizeof(struct node) + GRANULE - 1) & ~(GRANULE - 1))
#define CHAIN 2000

/* An address as a number no conservative scan mistakes for a pointer. */
#define DISGUISE (UINT64_C(1) << 62)
static uintptr_t disguise(const void *p)
{
	return (uintptr_t)p ^ DISGUISE;
}

static gyre_handle root;

static int up_every_block(void **state)
{
	(void)state;
	return node_up_with(&(gyre_config){.promote_in_place = 2,
					   .nursery_size = MIB});
}

static int up_off(void **state)
{
	(void)state;
	return node_up_with(&(gyre_config){.promote_in_place = -1,
					   .nursery_size = MIB});
}

static int up_adaptive(void **state)
{
	(void)state;
	return node_up_with(&(gyre_config){.promote_in_place = 1,
					   .nursery_size = MIB});
}

static gyre_gen_stats young_stats(void)
{
	gyre_stats s;
	assert_int_equal(gyre_stats_get(&s), GYRE_OK);
	return s.gen[0];
}

/* The PACKED blocks of the heap. */
static size_t packed_blocks(void)
{
	size_t n = 0;
	for (size_t i = 0; i < heap.top; i++)
		n += heap.blocks[i].state == BLOCK_PACKED;
	return n;
}

/* ------------------------------------------- 1. survivors stay in place */

/* A chain of CHAIN nodes at a handle; where each one is, disguised. */
static void build_chain(void *arg)
{
	uintptr_t *where = arg;
	struct node *c = chain(0, CHAIN);
	root = gyre_handle_new(c);
	for (unsigned i = 0; i < CHAIN; i++, c = c->left)
		where[i] = disguise(c);
}

/* How many nodes of the chain are where `where` says they were, after
 * checking their values and that they are in generation `gen`. */
static unsigned count_in_place(const uintptr_t *where, unsigned gen)
{
	unsigned n = 0, i = 0;
	for (struct node *c = gyre_handle_get(root); c; c = c->left, i++) {
		assert_int_equal(c->value, i);
		assert_int_equal(heap_gen_of((uintptr_t)c), gen);
		n += disguise(c) == where[i];
	}
	assert_int_equal(i, CHAIN);
	return n;
}

static void survivors_stay(void)
{
	uintptr_t *where = malloc(CHAIN * sizeof(*where));
	assert_non_null(where);
	harness_in_thread(build_chain, where);
	gyre_collect(0);
	assert_int_equal(count_in_place(where, 2), CHAIN);
	gyre_gen_stats g = young_stats();
	assert_true(g.blocks_in_place >= 1);
	assert_true(g.bytes_in_place >= CHAIN * (HEADER_SIZE + sizeof(struct node)));
	assert_true(packed_blocks() >= 1);
	gyre_handle_free(root);
	free(where);
}

/* The same program with the mode off: every node is copied (into
 * generation 1, at age 1), so the test above can tell. */
static void survivors_copied_when_off(void)
{
	uintptr_t *where = malloc(CHAIN * sizeof(*where));
	assert_non_null(where);
	harness_in_thread(build_chain, where);
	gyre_collect(0);
	assert_int_equal(count_in_place(where, 1), 0);
	assert_int_equal(young_stats().blocks_in_place, 0);
	assert_int_equal(packed_blocks(), 0);
	gyre_handle_free(root);
	free(where);
}

/* ------------------------------------------------- 2. the adaptive mode */

/* Fills about `mib` MiB of nursery with nodes, keeping one in `keep`
 * (appended to a list at the handle) and dropping the others. */
static void allocate(unsigned mib, unsigned keep)
{
	size_t n = mib * MIB / 48;
	for (size_t i = 0; i < n; i++) {
		struct node *x = node_new(i, NULL, NULL);
		if (i % keep == 0) {
			struct node *head = gyre_handle_get(root);
			GYRE_STORE(x, left, head);
			gyre_handle_set(root, x);
		}
	}
}

static void allocate_garbage(void *arg)
{
	(void)arg;
	allocate(8, 1000);
}

static void allocate_survivors(void *arg)
{
	(void)arg;
	allocate(8, 1);
}

static void adaptive_follows_survival(void)
{
	root = gyre_handle_new(NULL);
	harness_in_thread(allocate_garbage, NULL);
	assert_int_equal(young_stats().blocks_in_place, 0);
	harness_in_thread(allocate_survivors, NULL);
	gyre_gen_stats g = young_stats();
	assert_true(g.blocks_in_place >= 4);
	/* Once the nursery's survival is known to be high, the first
	 * collections having copied. */
	assert_true(g.bytes_in_place < g.bytes_promoted);
	gyre_handle_free(root);
}

/* Near the heap's maximum the adaptive mode copies: the holes it would
 * leave are worth more than the copy. */
static int up_adaptive_small(void **state)
{
	(void)state;
	return node_up_with(&(gyre_config){.promote_in_place = 1,
					   .nursery_size = MIB,
					   .heap_max = 32 * MIB});
}

static void allocate_one_mib(void *arg)
{
	(void)arg;
	allocate(1, 1);
}

static void adaptive_leaves_room(void)
{
	root = gyre_handle_new(NULL);
	while (atomic_load(&heap.used) < 8 * MIB)
		harness_in_thread(allocate_one_mib, NULL);
	assert_true(young_stats().blocks_in_place > 0);
	/* Past 26 MiB of 32, the room left is under a quarter of the heap
	 * in use and a nursery. */
	while (atomic_load(&heap.used) < 26 * MIB)
		harness_in_thread(allocate_one_mib, NULL);
	uint64_t blocks = young_stats().blocks_in_place;
	for (unsigned i = 0; i < 2; i++)
		harness_in_thread(allocate_one_mib, NULL);
	assert_int_equal(young_stats().blocks_in_place, blocks);
	gyre_handle_free(root);
}

/* ---------------------------------------- 3. cards of a packed object */

#define SLOTS 128

/* An array of SLOTS pointers (1 KiB: it spans three cards) at the
 * handle. */
static void new_array(void *arg)
{
	(void)arg;
	root = gyre_handle_new(gyre_alloc_array(GYRE_TYPE_PTR, SLOTS));
}

/* A young node in every slot past the first card the array starts on,
 * and in its last slot. */
static void fill_array(void *arg)
{
	(void)arg;
	void **a = gyre_handle_get(root);
	for (unsigned i = 64; i < SLOTS - 1; i += 7)
		GYRE_STORE_AT(a, i, node_new(i, node_new(1000 + i, NULL, NULL), NULL));
	GYRE_STORE_AT(a, SLOTS - 1, node_new(SLOTS - 1, NULL, NULL));
}

static void packed_cards_are_roots(void)
{
	harness_in_thread(new_array, NULL);
	gyre_collect(0);
	void **a = gyre_handle_get(root);
	assert_int_equal(heap_gen_of((uintptr_t)a), 2);
	assert_int_equal(block_of((uintptr_t)a)->state, BLOCK_PACKED);
	/* The young nodes' only references are the array's slots, on
	 * cards the array does not start on. */
	harness_in_thread(fill_array, NULL);
	gyre_collect(0);
	for (unsigned i = 64; i < SLOTS - 1; i += 7) {
		struct node *n = a[i];
		assert_int_equal(n->value, i);
		assert_int_equal(n->left->value, 1000 + i);
		assert_int_not_equal(heap_gen_of((uintptr_t)n), 0);
	}
	assert_int_equal(((struct node *)a[SLOTS - 1])->value, SLOTS - 1);
	gyre_handle_free(root);
}

/* ---------------------------------------------------------- 4. sweep */

/* Cuts the chain at the handle after `keep` nodes. */
static void cut_chain(void *arg)
{
	unsigned keep = (unsigned)(uintptr_t)arg;
	struct node *c = gyre_handle_get(root);
	for (unsigned i = 1; i < keep; i++)
		c = c->left;
	GYRE_STORE(c, left, NULL);
}

static void sweep_shrinks_then_frees(void)
{
	uintptr_t *where = malloc(CHAIN * sizeof(*where));
	assert_non_null(where);
	harness_in_thread(build_chain, where);
	gyre_collect(0);
	size_t blocks = packed_blocks();
	assert_true(blocks >= 1);
	/* Half the chain dies: its blocks keep the other half where it
	 * was, with fewer live bytes (the verifier checks the sums). */
	harness_in_thread(cut_chain, (void *)(uintptr_t)(CHAIN / 2));
	gyre_collect(2);
	unsigned i = 0;
	for (struct node *c = gyre_handle_get(root); c; c = c->left, i++) {
		assert_int_equal(c->value, i);
		assert_int_equal(disguise(c), where[i]);
	}
	assert_int_equal(i, CHAIN / 2);
	size_t used = atomic_load(&heap.used);
	gyre_handle_free(root);
	gyre_collect(2);
	assert_true(packed_blocks() < blocks);
	assert_true(atomic_load(&heap.used) < used);
	free(where);
}

/* -------------------------------------------- 5. copies fill holes */

#define SPACED 21 /* one node kept in 21: 640-byte holes between */

/* A list at the handle of every SPACED-th of many nodes, the others
 * dropped. */
static void build_spaced(void *arg)
{
	(void)arg;
	root = gyre_handle_new(NULL);
	for (uint64_t i = 0; i < 1000 * SPACED; i++) {
		struct node *n = node_new(i, NULL, NULL);
		if (i % SPACED == 0) {
			GYRE_STORE(n, left, gyre_handle_get(root));
			gyre_handle_set(root, n);
		}
	}
}

/* A young node in each kept node's right field. */
static void add_young(void *arg)
{
	(void)arg;
	for (struct node *n = gyre_handle_get(root); n; n = n->left)
		GYRE_STORE(n, right, node_new(n->value + 1, NULL, NULL));
}

static void *filler;

static void on_final(void *obj, void *ctx)
{
	(void)obj;
	(void)ctx;
}

static int register_filler(void)
{
	return gyre_finalizer_register(filler, on_final, NULL);
}

static void copies_fill_holes(void)
{
	harness_in_thread(build_spaced, NULL);
	gyre_collect(0); /* the test mode's first collection: in place */
	assert_true(packed_holes_bytes() >= 100 * HOLE_MIN);
	/* The granule after a kept node starts the filler of the nodes
	 * dropped after it: no object, for lookups and the API. */
	filler = (char *)gyre_handle_get(root) + NODE_BYTES;
	assert_null(heap_find_small((uintptr_t)filler));
	harness_expect_misuse(register_filler, GYRE_EINVAL, "is not the start of a gyre object");
	filler = NULL;
	/* Its second copies: what an old node reaches goes to generation
	 * 2, into the holes (the verifier checks that they stay tiled). */
	harness_in_thread(add_young, NULL);
	gyre_collect(0);
	unsigned n = 0, in_holes = 0;
	for (struct node *k = gyre_handle_get(root); k; k = k->left, n++) {
		assert_int_equal(k->right->value, k->value + 1);
		assert_int_equal(heap_gen_of((uintptr_t)k->right), 2);
		in_holes += block_of((uintptr_t)k->right)->state == BLOCK_PACKED;
	}
	assert_int_equal(n, 1000);
	assert_int_equal(in_holes, n);
	gyre_handle_free(root);
}

/* A sweep starts the lists afresh: once the remark leaves the blocks
 * unswept, no hole of theirs is listed (their fillers are dead objects
 * again until their sweep coalesces them); the sweep lists them anew. */
static void holes_start_afresh(void)
{
	harness_in_thread(build_spaced, NULL);
	gyre_collect(0);
	assert_true(packed_holes_bytes() >= 100 * HOLE_MIN);
	marker_hold(true);
	harness_clear_stack();
	assert_true(collect_start_cycle(mutator_current()));
	assert_true(collect_remark(mutator_current(), mark_old_cycle()));
	assert_int_equal(packed_holes_bytes(), 0);
	marker_hold(false);
	gyre_collect(2);
	assert_true(packed_holes_bytes() >= 100 * HOLE_MIN);
	gyre_handle_free(root);
}

/* ------------------------------------- 6. weak references queued */

static int up_adaptive_queue(void **state)
{
	(void)state;
	return node_up_with(&(gyre_config){.promote_in_place = 1,
					   .nursery_size = MIB,
					   .finalizer_thread = -1});
}

static size_t cleared;

static void on_clear(void *weak, void *ctx)
{
	(void)weak;
	(void)ctx;
	cleared++;
}

/* A list whose every seventh node holds a weak reference to an object
 * that dies at once: minor collections queue the references (linked by
 * a strong field of theirs) while some blocks are promoted in place and
 * others copied. A reference promoted in place is generation 2 when it
 * is queued: a queue head younger than it needs its card dirty, which
 * the verifier checks (it failed when the queue read the block's
 * generation as 0 during the collection). */
static void weak_refs_queued(void)
{
	root = gyre_handle_new(NULL);
	for (uint64_t i = 0; i < 100000; i++) {
		struct node *n = node_new(i, gyre_handle_get(root), NULL);
		if (i % 7 == 0)
			GYRE_STORE(n, right, gyre_weak_new(gyre_alloc_bytes(24), on_clear, NULL));
		gyre_handle_set(root, n);
		if (i % 23456 == 23455)
			gyre_collect(0);
	}
	assert_true(young_stats().blocks_in_place > 0);
	/* Every target died: walking the queue runs every callback. */
	gyre_collect(0);
	cleared = 0;
	while (gyre_run_finalizers(1000))
		;
	assert_int_equal(cleared, (100000 + 6) / 7);
	gyre_handle_free(root);
}

/* ---------------------------------------------------- 7. bad values */

static int env_three(void)
{
	setenv("GYRE_PROMOTE_IN_PLACE", "3", 1);
	return gyre_init(NULL);
}

static int field_three(void)
{
	return gyre_init(&(gyre_config){.promote_in_place = 3});
}

static void bad_values(void)
{
	harness_expect_misuse(env_three, GYRE_EINVAL,
			      "GYRE_PROMOTE_IN_PLACE=\"3\" must be 0, 1 or 2");
	harness_expect_misuse(field_three, GYRE_EINVAL, "config promote_in_place = 3");
}

/* Every test runs through run_body (node.h). */
#define TEST(fn, setup) {#fn, run_body, setup, node_down, &(struct body){fn}}

int main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(survivors_stay, up_every_block),
		TEST(survivors_copied_when_off, up_off),
		TEST(adaptive_follows_survival, up_adaptive),
		TEST(adaptive_leaves_room, up_adaptive_small),
		TEST(packed_cards_are_roots, up_every_block),
		TEST(sweep_shrinks_then_frees, up_every_block),
		TEST(copies_fill_holes, up_every_block),
		TEST(holes_start_afresh, up_every_block),
		TEST(weak_refs_queued, up_adaptive_queue),
		{"bad_values", run_body, NULL, NULL, &(struct body){bad_values}},
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
