/*
 * Tests of the lazy sweep (gc/old/sweep.h): after a concurrent cycle's remark,
 * generation 2's blocks are swept while the program runs, by the collector
 * thread or by a thread that finds the heap full.
 *
 *   1. what the sweep frees, and when it is counted; fragmentation;
 *   2. [INV-UNSWEPT]: a dead object in a block not swept yet is no root;
 *   3. an allocation at the heap maximum sweeps instead of collecting;
 *   4. the sweep racing threads that allocate, store and register
 *      finalizers (for the TSan build).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"
#include "node.h"
#include "gc/heap/card.h"
#include "gc/driver/collect.h"
#include "gc/heap/heap.h"
#include "gc/old/mark.h"
#include "gc/old/marker.h"
#include "gc/old/sweep.h"
#include "threads/mutator.h"

#define WAIT_MS 10000
#define MIB ((size_t)1 << 20)

static int up(void **state)
{
	(void)state;
	return node_up_with(NULL);
}

/* Full collections that do not compact: the figures are the sweep's. */
static int up_no_compact(void **state)
{
	(void)state;
	return node_up_with(&(gyre_config){.compact = -1});
}

/* A small heap: an allocation reaches its maximum soon. */
static int up_small(void **state)
{
	(void)state;
	return node_up_with(&(gyre_config){.heap_max = 24 * MIB, .nursery_size = MIB});
}

static int down(void **state)
{
	marker_hold(false);
	return node_down(state);
}

static void sleep_ms(unsigned ms)
{
	struct timespec t = {.tv_sec = 0, .tv_nsec = (long)ms * 1000000};
	assert_int_equal(gyre_blocking_begin(), GYRE_OK);
	nanosleep(&t, NULL);
	assert_int_equal(gyre_blocking_end(), GYRE_OK);
}

/* Runs a concurrent cycle to its remark from this thread, the collector
 * thread held: afterwards generation 2 is unswept until the test sweeps
 * it or releases the collector thread. */
static void cycle_to_remark(void)
{
	marker_hold(true);
	harness_clear_stack();
	assert_true(collect_start_cycle(mutator_current()));
	assert_true(collect_remark(mutator_current(), mark_old_cycle()));
	assert_false(mark_old_active());
}

/* Releases the collector thread and waits for the lazy sweep to end and
 * be counted (gen[2].objects_collected grows by at least `objects` over
 * s0). */
static gyre_stats sweep_to_end(const gyre_stats *s0, uint64_t objects)
{
	marker_hold(false);
	uint64_t deadline = harness_now_ms() + WAIT_MS;
	for (;;) {
		gyre_stats s = harness_stats();
		if (!sweep_old_pending() &&
		    s.gen[2].objects_collected - s0->gen[2].objects_collected >= objects)
			return s;
		if (harness_now_ms() > deadline)
			fail_msg("sweep %s after %d ms, %llu objects counted (%llu expected)",
				 sweep_old_pending() ? "still pending" : "over", WAIT_MS,
				 (unsigned long long)(s.gen[2].objects_collected -
						      s0->gen[2].objects_collected),
				 (unsigned long long)objects);
		sleep_ms(1);
	}
}

/* ------------------------------------------- 1. what the sweep frees */

#define GARBAGE 20000

struct planted {
	gyre_handle h;
	/* The chain's head, out of every root (malloc'd memory). */
	uintptr_t *head;
};

static void plant_chain(void *arg)
{
	struct planted *p = arg;
	struct node *c = chain(1, GARBAGE);
	p->h = gyre_handle_new(c);
}

static void note_head(void *arg)
{
	struct planted *p = arg;
	*p->head = (uintptr_t)gyre_handle_get(p->h);
}

/* An old chain of GARBAGE nodes, dropped: after the remark its blocks
 * are still held (unswept, off the class lists: the verifier checks), and
 * the lazy sweep frees them and counts them as generation 2's, with
 * heap_live set. */
static void test_sweep_after_remark_frees_and_counts(void **state)
{
	(void)state;
	struct planted p = {.head = calloc(1, sizeof(uintptr_t))};
	assert_non_null(p.head);
	harness_in_thread(plant_chain, &p);
	assert_true(gyre_collect(2) >= 0);
	harness_in_thread(note_head, &p);
	assert_int_equal(gyre_handle_free(p.h), GYRE_OK);
	struct block *b = block_of(*p.head);

	gyre_stats s0 = harness_stats();
	cycle_to_remark();
	assert_true(sweep_old_pending());
	assert_true(block_unswept(b));
	gyre_stats s1 = harness_stats();
	assert_true(s1.gen[2].objects_collected - s0.gen[2].objects_collected < GARBAGE);

	gyre_stats s2 = sweep_to_end(&s0, GARBAGE);
	assert_int_equal(b->state, BLOCK_FREE);
	assert_true(s2.heap_size + (size_t)GARBAGE * 32 / 2 <= s1.heap_size);
	assert_true(s2.heap_live < (size_t)GARBAGE * 32 / 2);
	free(p.head);
}

/* Nodes in an old array; every other one dropped, then every other one
 * left: generation 2's node blocks are half free, then three quarters,
 * as the full collection's sweep and then the lazy sweep count them
 * (gyre_stats.old_free_bytes over old_block_bytes). */
#define HALVED 16384

static void plant_nodes(void *arg)
{
	void **a = gyre_alloc_array(GYRE_TYPE_PTR, HALVED);
	assert_non_null(a);
	*(gyre_handle *)arg = gyre_handle_new(a);
	for (unsigned i = 0; i < HALVED; i++)
		GYRE_STORE_AT(a, i, node_new(i, NULL, NULL));
}

static void drop_every(gyre_handle h, unsigned step)
{
	void **a = gyre_handle_get(h);
	for (unsigned i = 0; i < HALVED; i += step)
		GYRE_STORE_AT(a, i, NULL);
}

static double free_share(const gyre_stats *s)
{
	return s->old_block_bytes ? (double)s->old_free_bytes / s->old_block_bytes : 0;
}

static void test_sweeps_count_fragmentation(void **state)
{
	(void)state;
	gyre_handle h = NULL;
	harness_in_thread(plant_nodes, &h);
	harness_clear_stack();
	assert_true(gyre_collect(2) >= 0);
	gyre_stats s0 = harness_stats();
	assert_true(free_share(&s0) < 0.1);
	assert_true(s0.old_block_bytes >= (size_t)HALVED * 32);

	drop_every(h, 2);
	harness_clear_stack();
	assert_true(gyre_collect(2) >= 0);
	gyre_stats s1 = harness_stats();
	assert_true(free_share(&s1) > 0.4 && free_share(&s1) < 0.6);

	/* Every other one of the rest (slots 1, 5, 9, ...): the lazy sweep. */
	void **a = gyre_handle_get(h);
	for (unsigned i = 1; i < HALVED; i += 4)
		GYRE_STORE_AT(a, i, NULL);
	a = NULL;
	cycle_to_remark();
	gyre_stats s2 = sweep_to_end(&s1, HALVED / 4);
	assert_true(free_share(&s2) > 0.65 && free_share(&s2) < 0.85);
	assert_int_equal(gyre_handle_free(h), GYRE_OK);
}

/* ------------------------------------------------- 2. [INV-UNSWEPT] */

/* Live node L is followed, through ->right, by DEAD nodes copied right
 * after it (on L's card), each holding in ->left an object of a size
 * class of its own (one block of them). */
#define DEAD 12
#define BLOB_BYTES 1000

struct unswept {
	gyre_handle live;
	/* The dead objects' addresses, kept out of every root (malloc'd
	 * memory is not scanned). */
	uintptr_t *dead, *blobs;
};

static void plant_unswept(void *arg)
{
	struct unswept *u = arg;
	struct node *l = node_new(0, NULL, NULL);
	u->live = gyre_handle_new(l);
	struct node *prev = l;
	for (unsigned i = 0; i < DEAD; i++) {
		void *blob = gyre_alloc_bytes(BLOB_BYTES);
		assert_non_null(blob);
		struct node *d = node_new(i + 1, blob, NULL);
		GYRE_STORE(prev, right, d);
		prev = d;
	}
}

static void cut_unswept(void *arg)
{
	struct unswept *u = arg;
	struct node *l = gyre_handle_get(u->live);
	struct node *d = l->right;
	for (unsigned i = 0; i < DEAD; i++, d = d->right) {
		u->dead[i] = (uintptr_t)d;
		u->blobs[i] = (uintptr_t)d->left;
	}
	GYRE_STORE(l, right, NULL);
}

/* Fills this thread's nursery until the block at `where` is a nursery
 * block again and written over with junk. */
static void reuse_as_nursery(uintptr_t where)
{
	struct block *b = block_of(where);
	for (unsigned i = 0; i < 4096; i++) {
		unsigned char *junk = gyre_alloc_bytes(240);
		assert_non_null(junk);
		memset(junk, 0xa5, 240);
		if (block_of((uintptr_t)junk) == b && (uintptr_t)junk > where + 1024)
			return;
	}
	fail_msg("block %zu was not reused by the nursery", block_index(b));
}

/* A dead object on a dirty card of a block not swept yet, whose field
 * points at a block that was swept, freed and reused by the nursery
 * meanwhile: a minor collection that took it for a root would copy the
 * junk its field now points at. The card is dirtied by its live
 * neighbour. */
static void test_dead_object_in_unswept_block_is_no_root(void **state)
{
	(void)state;
	struct unswept u = {.dead = calloc(DEAD, sizeof(uintptr_t)),
			    .blobs = calloc(DEAD, sizeof(uintptr_t))};
	assert_non_null(u.dead);
	assert_non_null(u.blobs);
	harness_in_thread(plant_unswept, &u);
	assert_true(gyre_collect(2) >= 0);
	harness_in_thread(cut_unswept, &u);

	cycle_to_remark();
	struct node *l = gyre_handle_get(u.live);
	struct block *db = block_of(u.dead[0]), *bb = block_of(u.blobs[0]);
	assert_true(block_unswept(db));
	assert_true(block_unswept(bb));
	assert_ptr_not_equal(db, bb);
	unsigned on_card = 0;
	for (unsigned i = 0; i < DEAD; i++)
		on_card += card_of(l, &l->right) == card_of((void *)u.dead[i],
							     &((struct node *)u.dead[i])->left);
	assert_true(on_card > 0);

	/* The live neighbour dirties the card with a young pointer. */
	struct node *young = node_new(77, NULL, NULL);
	GYRE_STORE(l, right, young);
	sweep_old_block(bb);
	assert_int_equal(bb->state, BLOCK_FREE);
	assert_true(block_unswept(db));
	reuse_as_nursery(u.blobs[0]);

	harness_clear_stack();
	assert_true(gyre_collect(0) >= 0);
	l = gyre_handle_get(u.live);
	assert_int_equal(l->right->value, 77);
	assert_int_equal(gyre_handle_free(u.live), GYRE_OK);
	sweep_to_end(&(gyre_stats){0}, 0);
	free(u.dead);
	free(u.blobs);
}

/* ------------------------------- 3. an allocation at the heap maximum */

static void plant_filler(void *arg)
{
	/* About 14 MiB of nodes in a 24 MiB heap. */
	*(gyre_handle *)arg = gyre_handle_new(chain(1, 14 * MIB / 32));
}

static void allocate_again(void *arg)
{
	(void)arg;
	/* 18 MiB, alive: it fits only once the old chain is swept. */
	struct node *c = chain(1, 18 * MIB / 32);
	assert_int_equal(c->value, 1);
}

/* The heap is full of dead old objects that the lazy sweep has not
 * reached (the collector thread is held): the allocating thread sweeps
 * them itself rather than ask for a full collection. */
static void test_full_heap_sweeps_before_collecting(void **state)
{
	(void)state;
	gyre_handle h = NULL;
	harness_in_thread(plant_filler, &h);
	assert_true(gyre_collect(2) >= 0);
	assert_int_equal(gyre_handle_free(h), GYRE_OK);
	cycle_to_remark();
	assert_true(sweep_old_pending());
	gyre_stats s0 = harness_stats();
	harness_in_thread(allocate_again, NULL);
	gyre_stats s1 = harness_stats();
	/* 18 MiB live beside 14 dead in 24: the dead were swept, and no
	 * collection of generation 2 ran. */
	assert_int_equal(s1.gen[2].collections, s0.gen[2].collections);
	marker_hold(false);
}

/* ------------------------------------------ 4. racing the program */

#define RACERS 2
#define ROUNDS 6

struct racer {
	gyre_handle table;
	_Atomic bool *stop;
	unsigned id, seed;
};

static void noop_finalizer(void *obj, void *ctx)
{
	(void)obj;
	(void)ctx;
}

/* Replaces random slots of an old table (its own: every RACERS-th) with
 * fresh chains, registers a finalizer on every 64th, and reads what it
 * replaces. */
static void *race(void *arg)
{
	struct racer *r = arg;
	assert_int_equal(gyre_thread_attach(), GYRE_OK);
	void **table = gyre_handle_get(r->table);
	for (unsigned n = 0; !atomic_load_explicit(r->stop, memory_order_relaxed); n++) {
		/* Its own slots: what it reads it wrote itself. */
		unsigned i = (unsigned)rand_r(&r->seed) % (4096 / RACERS) * RACERS + r->id;
		struct node *old = table[i];
		if (old)
			assert_int_equal(old->value, old->left ? old->left->value - 1 : old->value);
		struct node *c = chain(n, 1 + n % 8);
		if (n % 64 == 0)
			assert_int_equal(gyre_finalizer_register(c, noop_finalizer, NULL), GYRE_OK);
		GYRE_STORE_AT(table, i, c);
	}
	assert_int_equal(gyre_thread_detach(), GYRE_OK);
	return NULL;
}

/* Cycles end one after the other while threads allocate, replace old
 * slots (so every cycle leaves garbage to sweep) and register finalizers
 * (whose check reads start bits that the sweep rewrites): run under TSan,
 * a race between the sweep and the program is reported; with
 * GYRE_VERIFY=1 the verifier checks every pause. */
static void test_sweep_races_program(void **state)
{
	(void)state;
	void **table = gyre_alloc_array(GYRE_TYPE_PTR, 4096);
	assert_non_null(table);
	gyre_handle th = gyre_handle_new(table);
	_Atomic bool stop = false;
	struct racer r[RACERS];
	pthread_t t[RACERS];
	for (unsigned i = 0; i < RACERS; i++) {
		r[i] = (struct racer){th, &stop, i, i + 1};
		assert_int_equal(pthread_create(&t[i], NULL, race, &r[i]), 0);
	}
	for (unsigned k = 0; k < ROUNDS; k++) {
		gyre_stats s0 = harness_stats();
		harness_clear_stack();
		if (collect_start_cycle(mutator_current())) {
			uint64_t deadline = harness_now_ms() + WAIT_MS;
			while (mark_old_active() && harness_now_ms() < deadline)
				sleep_ms(1);
			assert_false(mark_old_active());
		}
		sweep_to_end(&s0, 0);
	}
	atomic_store_explicit(&stop, true, memory_order_relaxed);
	/* Joined in a blocking region: their collections do not wait for
	 * this thread. */
	assert_int_equal(gyre_blocking_begin(), GYRE_OK);
	for (unsigned i = 0; i < RACERS; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	assert_int_equal(gyre_blocking_end(), GYRE_OK);
	assert_int_equal(gyre_handle_free(th), GYRE_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_sweep_after_remark_frees_and_counts, up, down),
		cmocka_unit_test_setup_teardown(test_sweeps_count_fragmentation, up_no_compact,
						down),
		cmocka_unit_test_setup_teardown(test_dead_object_in_unswept_block_is_no_root, up,
						down),
		cmocka_unit_test_setup_teardown(test_full_heap_sweeps_before_collecting, up_small,
						down),
		cmocka_unit_test_setup_teardown(test_sweep_races_program, up, down),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
