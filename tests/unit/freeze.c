/*
 * Tests of the permanent generation (gyre_freeze, gc/heap/freeze.h):
 * frozen objects are never freed, even unreachable; gyre_unfreeze makes
 * the unreachable ones collectable; a frozen object that points at a
 * younger one (small or large) keeps it alive across minor, full and
 * concurrent collections; no collection writes a frozen page: the frozen
 * blocks and large objects are made read-only (mprotect) while
 * collections of every kind run, so that a collector's write faults, and
 * their side tables (block metadata with the mark and start bits, cards,
 * summary and space bytes) are compared before and after; the same in a
 * forked child, whose frozen objects stay intact.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "node.h"
#include "gc/driver/collect.h"
#include "gc/heap/card.h"
#include "gc/heap/freeze.h"
#include "gc/old/mark.h"
#include "gc/old/sweep.h"
#include "threads/mutator.h"

/* The frozen structure: a table (a large object) of CHAINS chains of
 * CHAIN nodes, chain i valued i * CHAIN, i * CHAIN + 1, ... */
#define CHAINS 1100u
#define CHAIN 50u
#define CYCLE_WAIT_S 30

static gyre_handle table_h;

static int up(void **state)
{
	(void)state;
	table_h = NULL;
	return node_up_with(&(gyre_config){.finalizer_thread = -1});
}

static int down(void **state)
{
	if (gyre_get_freeze_count())
		gyre_unfreeze();
	return node_down(state);
}

/* ------------------------------------------------------------ helpers */

static void build_table(void *arg)
{
	(void)arg;
	void **t = gyre_alloc_array(GYRE_TYPE_PTR, CHAINS);
	assert_non_null(t);
	for (unsigned i = 0; i < CHAINS; i++)
		GYRE_STORE_AT(t, i, chain((uint64_t)i * CHAIN, CHAIN));
	table_h = gyre_handle_new(t);
	assert_non_null(table_h);
}

static bool table_intact(void **t)
{
	if (gyre_length(t) != CHAINS)
		return false;
	for (unsigned i = 0; i < CHAINS; i++) {
		struct node *n = t[i];
		for (unsigned j = 0; j < CHAIN; j++, n = n->left)
			if (!n || n->value != (uint64_t)i * CHAIN + j)
				return false;
		if (n)
			return false;
	}
	return true;
}

static int64_t collect(int generation)
{
	harness_clear_stack();
	int64_t freed = gyre_collect(generation);
	assert_true(freed >= 0);
	return freed;
}

/* A concurrent cycle from start to the end of its lazy sweep. */
static void concurrent_cycle(void)
{
	time_t deadline = time(NULL) + CYCLE_WAIT_S;
	harness_clear_stack();
	assert_true(collect_start_cycle(mutator_current()));
	while (mark_old_active() || sweep_old_pending()) {
		sleep_blocking();
		assert_true(time(NULL) <= deadline);
	}
}

/* Allocates `n` nodes, keeping one in eight in a table that a handle
 * holds (so that they are promoted to generation 2), for collections of
 * every kind to have work. */
static void churn(void *arg)
{
	size_t n = *(size_t *)arg;
	void **keep = gyre_alloc_array(GYRE_TYPE_PTR, 4096);
	gyre_handle h = gyre_handle_new(keep);
	for (size_t i = 0; i < n; i++) {
		struct node *x = node_new(i, NULL, NULL);
		if (i % 8 == 0)
			GYRE_STORE_AT(keep, (i / 8) % 4096, x);
	}
	gyre_handle_free(h);
}

static void churn_n(size_t n)
{
	harness_in_thread(churn, &n);
}

/* Collections of every kind, with allocation between them. */
static void every_collection(void)
{
	churn_n(200000);
	collect(0);
	churn_n(200000);
	collect(1);
	churn_n(200000);
	collect(2);
	concurrent_cycle();
	churn_n(1000000); /* automatic collections */
	collect(2);
}

/* ------------------------------------------- frozen memory, read-only */

/* A frozen region: a block or a large object's allocation. */
struct region {
	char *start;
	size_t len;
};

/* The frozen blocks' side tables, and regions to protect. */
struct frozen {
	size_t nblocks, nregions;
	size_t *blocks;             /* indices */
	struct block *meta;         /* copies of their metadata */
	uint8_t *cards;             /* CARDS_PER_BLOCK each */
	uint8_t *summary, *space;   /* one each */
	struct region *regions;
};

static void region_of_large(struct large *l, struct region *r)
{
	char *end = l->cards ? (char *)(l->cards + large_ncards(l))
			     : (char *)large_object(l) + l->bytes - HEADER_SIZE;
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	uintptr_t lo = ((uintptr_t)l + page - 1) & ~(page - 1);
	uintptr_t hi = (uintptr_t)end & ~(page - 1);
	r->start = (char *)lo;
	r->len = hi > lo ? hi - lo : 0;
}

static void frozen_snapshot(struct frozen *f)
{
	*f = (struct frozen){0};
	f->blocks = calloc(heap.top, sizeof(size_t));
	f->regions = calloc(heap.top + large.count, sizeof(struct region));
	for (size_t i = 0; i < heap.top; i++)
		if (block_frozen(&heap.blocks[i]))
			f->blocks[f->nblocks++] = i;
	f->meta = calloc(f->nblocks, sizeof(struct block));
	f->cards = calloc(f->nblocks, CARDS_PER_BLOCK);
	f->summary = calloc(f->nblocks, 1);
	f->space = calloc(f->nblocks, 1);
	for (size_t k = 0; k < f->nblocks; k++) {
		struct block *b = &heap.blocks[f->blocks[k]];
		memcpy(&f->meta[k], b, sizeof(*b));
		memcpy(f->cards + k * CARDS_PER_BLOCK, block_cards(b), CARDS_PER_BLOCK);
		f->summary[k] = heap.card_summary[f->blocks[k]];
		f->space[k] = heap.space[f->blocks[k]];
		f->regions[f->nregions++] = (struct region){block_base(b), BLOCK_SIZE};
	}
	for (size_t i = 0; i < large.count; i++)
		if (large_frozen(large.objs[i]))
			region_of_large(large.objs[i], &f->regions[f->nregions++]);
}

static void frozen_protect(const struct frozen *f, int prot)
{
	for (size_t k = 0; k < f->nregions; k++)
		if (f->regions[k].len)
			assert_int_equal(mprotect(f->regions[k].start, f->regions[k].len, prot), 0);
}

/* True if no side-table byte of a frozen block changed. */
static bool frozen_tables_same(const struct frozen *f)
{
	for (size_t k = 0; k < f->nblocks; k++) {
		struct block *b = &heap.blocks[f->blocks[k]];
		if (memcmp(&f->meta[k], b, sizeof(*b)) ||
		    memcmp(f->cards + k * CARDS_PER_BLOCK, block_cards(b), CARDS_PER_BLOCK) ||
		    f->summary[k] != heap.card_summary[f->blocks[k]] ||
		    f->space[k] != heap.space[f->blocks[k]]) {
			print_error("frozen block %zu's side tables changed\n", f->blocks[k]);
			return false;
		}
	}
	return true;
}

static void frozen_free(struct frozen *f)
{
	free(f->blocks);
	free(f->meta);
	free(f->cards);
	free(f->summary);
	free(f->space);
	free(f->regions);
}

/* -------------------------------------------------------------- tests */

/* Unreachable frozen objects are never freed; unfreeze frees them. */
static void test_frozen_never_freed(void)
{
	harness_in_thread(build_table, NULL);
	collect(2);
	assert_int_equal(gyre_freeze(), GYRE_OK);
	size_t count = gyre_get_freeze_count();
	assert_true(count >= CHAINS * CHAIN + 1);
	gyre_stats s = harness_stats();
	assert_int_equal(s.frozen_objects, count);
	assert_true(s.frozen_bytes >= (CHAINS * CHAIN) * sizeof(struct node));
	void **t = harness_launder(gyre_handle_get(table_h));
	assert_int_equal(gyre_handle_free(table_h), GYRE_OK);
	every_collection();
	assert_int_equal(gyre_get_freeze_count(), count);
	assert_true(table_intact(t));
	uint64_t freed = harness_stats().objects_freed;
	t = NULL;
	assert_int_equal(gyre_unfreeze(), GYRE_OK);
	assert_int_equal(gyre_get_freeze_count(), 0);
	assert_int_equal(harness_stats().frozen_objects, 0);
	collect(2);
	assert_true(harness_stats().objects_freed - freed >= CHAINS * CHAIN);
}

/* A frozen node pointing at a young chain, or at a large array (neither
 * frozen), keeps it alive, through its card. Two tests: each pointer
 * must be the only one on its card, or the other would keep the card
 * dirty for both. */
static gyre_handle holder_h;

static void build_holder(void *arg)
{
	(void)arg;
	holder_h = gyre_handle_new(node_new(7, NULL, NULL));
}

static void store_chain(void *arg)
{
	(void)arg;
	struct node *f = gyre_handle_get(holder_h);
	GYRE_STORE(f, left, chain(1000, 50));
}

static void store_large(void *arg)
{
	(void)arg;
	struct node *f = gyre_handle_get(holder_h);
	void **big = gyre_alloc_array(GYRE_TYPE_PTR, 4096);
	assert_non_null(big);
	GYRE_STORE_AT(big, 4095, node_new(42, NULL, NULL));
	GYRE_STORE(f, right, (struct node *)big);
}

static bool holder_intact(void)
{
	struct node *f = gyre_handle_get(holder_h);
	struct node *n = f->left;
	for (unsigned j = 0; n && j < 50; j++, n = n->left)
		if (n->value != 1000 + j)
			return false;
	void **big = (void **)f->right;
	return f->value == 7 &&
	       (!big || (gyre_length(big) == 4096 && ((struct node *)big[4095])->value == 42));
}

static void frozen_holder_points_at(void (*store)(void *arg))
{
	harness_in_thread(build_holder, NULL);
	collect(2);
	assert_int_equal(gyre_freeze(), GYRE_OK);
	assert_true(block_frozen(block_of((uintptr_t)gyre_handle_get(holder_h))));
	harness_in_thread(store, NULL);
	collect(0);
	assert_true(holder_intact());
	every_collection();
	assert_true(holder_intact());
	concurrent_cycle();
	collect(2);
	assert_true(holder_intact());
	gyre_handle_free(holder_h);
}

static void test_frozen_keeps_young_alive(void)
{
	frozen_holder_points_at(store_chain);
}

static void test_frozen_keeps_large_alive(void)
{
	frozen_holder_points_at(store_large);
}

/* No collection writes a frozen page or a frozen block's side tables. */
static void test_no_frozen_page_written(void)
{
	harness_in_thread(build_table, NULL);
	collect(2);
	assert_int_equal(gyre_freeze(), GYRE_OK);
	struct frozen f;
	frozen_snapshot(&f);
	assert_true(f.nblocks > 0 && f.nregions > f.nblocks);
	frozen_protect(&f, PROT_READ);
	every_collection();
	frozen_protect(&f, PROT_READ | PROT_WRITE);
	assert_true(frozen_tables_same(&f));
	frozen_free(&f);
	assert_true(table_intact(gyre_handle_get(table_h)));
	gyre_handle_free(table_h);
}

/* A store into a frozen object: the collections that follow the young
 * object it stored (cards, then CARD_OLD once it is old) write that
 * block's cards, and the field when its target moves (a page the store
 * wrote already), but not the block's metadata and bitmaps. */
static struct node *frozen_node;

static void store_into_frozen(void *arg)
{
	(void)arg;
	GYRE_STORE(frozen_node, right, node_new(4242, NULL, NULL));
}

static void test_store_into_frozen_leaves_metadata(void)
{
	harness_in_thread(build_table, NULL);
	collect(2);
	assert_int_equal(gyre_freeze(), GYRE_OK);
	void **t = gyre_handle_get(table_h);
	frozen_node = t[7];
	struct block *b = block_of((uintptr_t)frozen_node);
	assert_true(block_frozen(b));
	/* A link only a minor collection's list reads, set to a value no
	 * link would store there, so that a write of it shows. */
	b->card_next = b;
	struct block before;
	memcpy(&before, b, sizeof(before));
	harness_in_thread(store_into_frozen, NULL);
	collect(0);
	collect(0);
	every_collection();
	assert_int_equal(frozen_node->right->value, 4242);
	assert_memory_equal(&before, b, sizeof(before));
	frozen_node = NULL;
	gyre_handle_free(table_h);
}

/* A forked child's collections leave the frozen heap alone (read-only
 * there too) and find it intact. */
static void child_collects(void)
{
	struct frozen f;
	frozen_snapshot(&f);
	frozen_protect(&f, PROT_READ);
	every_collection();
	frozen_protect(&f, PROT_READ | PROT_WRITE);
	if (!frozen_tables_same(&f) || !table_intact(gyre_handle_get(table_h)))
		_exit(3);
	_exit(0);
}

static void test_fork_after_freeze(void)
{
	/* The sanitizer builds run it too: GCC 12's ASan and TSan allocators
	 * take no lock at fork, but no thread can be inside them at this one
	 * (the threads that built the table have exited; gyre's own are
	 * stopped or idle: see tests/unit/fork.c), and the child joins no
	 * thread (TSan's join fails in it: runtime/fork.c). */
	harness_in_thread(build_table, NULL);
	collect(2);
	assert_int_equal(gyre_freeze(), GYRE_OK);
	harness_expect_exit0(child_collects);
	assert_true(table_intact(gyre_handle_get(table_h)));
	gyre_handle_free(table_h);
}

/* Freezing takes its blocks out of generation 2's fragmentation figures,
 * exactly what the sweep put in: the free slots, not the tail of a block
 * whose class size does not divide it (48 bytes: 16 bytes a block). */
#define ODD 20000

static void build_odd(void *arg)
{
	(void)arg;
	void **a = gyre_alloc_array(GYRE_TYPE_PTR, ODD);
	for (size_t i = 0; i < ODD; i++)
		GYRE_STORE_AT(a, i, gyre_alloc_bytes(40));
	table_h = gyre_handle_new(a);
}

static void test_freeze_leaves_fragmentation_figures(void)
{
	harness_in_thread(build_odd, NULL);
	collect(2);
	gyre_stats before = harness_stats();
	assert_int_equal(gyre_freeze(), GYRE_OK);
	gyre_stats after = harness_stats();
	assert_true(after.old_free_bytes <= before.old_free_bytes);
	assert_true(after.old_free_bytes <= after.old_block_bytes);
	assert_int_equal(gyre_unfreeze(), GYRE_OK);
	gyre_handle_free(table_h);
}

#define TEST(fn) {#fn, run_body, up, down, &(struct body){fn}}

int main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(test_frozen_never_freed),
		TEST(test_frozen_keeps_young_alive),
		TEST(test_frozen_keeps_large_alive),
		TEST(test_no_frozen_page_written),
		TEST(test_store_into_frozen_leaves_metadata),
		TEST(test_fork_after_freeze),
		TEST(test_freeze_leaves_fragmentation_figures),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
