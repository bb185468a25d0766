/*
 * generations.c: unit tests of the generational collector: GYRE_STORE
 * marks the card of the field it writes, in block-heap objects and in
 * large arrays; a minor collection finds young objects through the dirty
 * cards of older objects, moves them, updates the old field, and keeps a
 * card dirty exactly while it still points to a younger generation;
 * objects a local points at are pinned while their unpinned children move;
 * survivors age into generation 1 and then 2 by tenure_age; the thresholds
 * and counts of gyre_set_threshold / gyre_get_count and the per-generation
 * statistics behave as gyre.h says; the free-memory floor and the pause
 * target act; gyre_collect returns what it freed.
 *
 * Every test starts a fresh gyre (so that no earlier test's objects share
 * its blocks or cards), and the build runs it with GYRE_VERIFY=1: the
 * verifier checks before and after every collection that each old-to-young
 * pointer lies on a dirty card and that no live object points at a freed
 * one.
 *
 * Conservative stack scanning pins what a stale stack word points at, so a
 * young object that must move or die is only ever touched by a helper
 * thread (harness_in_thread), whose stack dies with it; and what a helper
 * observes comes back to the test as plain numbers (struct seen), with
 * addresses disguised, never as pointers.
 */
#include <pthread.h>
#include <semaphore.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "node.h"
#include "gc/heap/card.h"
#include "gc/driver/collect.h"
#include "gc/heap/heap.h"
#include "gc/heap/large.h"
#include "gc/young/minor.h"
#include "gc/heap/object.h"
#include "gc/young/sizer.h"
#include "runtime/config.h"
#include "threads/workers.h"

#define KIB ((size_t)1 << 10)
#define MIB ((size_t)1 << 20)

/* A node's footprint in the nursery: header, payload, granule-rounded. */
#define NODE_BYTES ((HEADER_SIZE + sizeof(struct node) + GRANULE - 1) & ~(GRANULE - 1))

/* An address as a number no conservative scan mistakes for a pointer. */
#define DISGUISE (UINT64_C(1) << 62)
static uintptr_t disguise(const void *p)
{
	return (uintptr_t)p ^ DISGUISE;
}

/* ----------------------------------------------------------- fixtures */

static int up(void **state)
{
	(void)state;
	return node_up_with(NULL);
}

/* Young objects that old ones reach age in generation 1 like the others
 * (tenure_from_old off): the card rules for pointers from generation 2
 * into generation 1. */
static int up_aging(void **state)
{
	(void)state;
	return node_up_with(&(gyre_config){.tenure_from_old = -1});
}

static int up_tenure_1(void **state)
{
	(void)state;
	return node_up_with(&(gyre_config){.tenure_age = 1});
}

static int up_tenure_3(void **state)
{
	(void)state;
	return node_up_with(&(gyre_config){.tenure_age = 3});
}

static int up_thresholds(void **state)
{
	(void)state;
	return node_up_with(&(gyre_config){.nursery_size = MIB, .growth_percent = 50});
}

/* Every reading of MemAvailable is below this floor. */
static int up_free_floor(void **state)
{
	(void)state;
	return node_up_with(&(gyre_config){.nursery_size = 256 * KIB,
					   .free_floor = (size_t)1 << 60});
}

static int up_pause_target(void **state)
{
	(void)state;
	return node_up_with(&(gyre_config){.pause_target_us = 100});
}

static bool pinner_stop(void);

static int down(void **state)
{
	pinner_stop();
	return node_down(state);
}

/* ------------------------------------------------------------ helpers */

static uint8_t card_value(const void *holder, const void *slot)
{
	return __atomic_load_n(card_of(holder, slot), __ATOMIC_RELAXED);
}

static gyre_gen_stats gen_stats(int g)
{
	gyre_stats s;
	assert_int_equal(gyre_stats_get(&s), GYRE_OK);
	return s.gen[g];
}

static void counts(size_t out[3])
{
	assert_int_equal(gyre_get_count(out), GYRE_OK);
}

/* Collects with nothing of this thread's past on its dead stack. */
static int64_t collect(int generation)
{
	harness_clear_stack();
	int64_t freed = gyre_collect(generation);
	assert_true(freed >= 0);
	return freed;
}

/* What a helper thread saw at one pointer. */
#define CHAIN_MAX 8
struct seen {
	bool null;
	uintptr_t addr;          /* disguised */
	int state;               /* enum block_state, -1 for a large object */
	unsigned gen, age;
	unsigned depth;          /* nodes found along ->left, at most CHAIN_MAX */
	uint64_t values[CHAIN_MAX];
	unsigned gens[CHAIN_MAX];  /* of those nodes */
	int card;                /* the holder's card for the field; -1: none */
};

enum spot {
	HANDLE,       /* the object a handle holds */
	HANDLE_LEFT,  /* the left field of that object */
	ARRAY_AT,     /* array[index] */
	NODE_LEFT,    /* node->left */
	NODE_RIGHT,   /* node->right */
};

struct probe {
	enum spot spot;
	gyre_handle h;
	void **array;
	size_t index;
	struct node *node;
	struct seen seen;
};

static void probe_thread(void *arg)
{
	struct probe *p = arg;
	void *holder = NULL, **slot = NULL, *target = NULL;
	switch (p->spot) {
	case HANDLE:
		target = gyre_handle_get(p->h);
		break;
	case HANDLE_LEFT:
		holder = gyre_handle_get(p->h);
		slot = (void **)&((struct node *)holder)->left;
		break;
	case ARRAY_AT:
		holder = p->array;
		slot = &p->array[p->index];
		break;
	case NODE_LEFT:
		holder = p->node;
		slot = (void **)&p->node->left;
		break;
	case NODE_RIGHT:
		holder = p->node;
		slot = (void **)&p->node->right;
		break;
	}
	if (slot)
		target = *slot;
	struct seen *s = &p->seen;
	memset(s, 0, sizeof(*s));
	s->card = slot ? card_value(holder, slot) : -1;
	s->null = target == NULL;
	if (!target)
		return;
	s->addr = disguise(target);
	s->state = heap_contains((uintptr_t)target) ? block_of((uintptr_t)target)->state : -1;
	s->gen = heap_gen_of((uintptr_t)target);
	s->age = header_age(*object_header(target));
	for (struct node *n = target; n && s->depth < CHAIN_MAX; n = n->left) {
		s->gens[s->depth] = heap_gen_of((uintptr_t)n);
		s->values[s->depth++] = n->value;
	}
}

static struct seen look(struct probe p)
{
	harness_in_thread(probe_thread, &p);
	return p.seen;
}

static struct seen look_handle(gyre_handle h)
{
	return look((struct probe){.spot = HANDLE, .h = h});
}

/* Asserts that s is a chain of `length` nodes valued value, value + 1... */
static void assert_chain(const struct seen *s, uint64_t value, unsigned length)
{
	assert_false(s->null);
	assert_int_equal(s->depth, length);
	for (unsigned i = 0; i < length; i++)
		assert_int_equal(s->values[i], value + i);
}

/* Allocates a chain in a helper thread and stores it where asked (a
 * handle's object's left field, an array element, or a new handle). */
struct plant {
	enum spot spot;          /* HANDLE, HANDLE_LEFT or ARRAY_AT */
	gyre_handle h;           /* in for HANDLE_LEFT, out for HANDLE */
	void **array;
	size_t index;
	uint64_t value;
	unsigned length;
	uintptr_t addr;          /* out: the head's address, disguised */
};

static void plant_thread(void *arg)
{
	struct plant *p = arg;
	struct node *head = chain(p->value, p->length);
	p->addr = disguise(head);
	switch (p->spot) {
	case HANDLE:
		p->h = gyre_handle_new(head);
		assert_non_null(p->h);
		break;
	case HANDLE_LEFT: {
		struct node *holder = gyre_handle_get(p->h);
		GYRE_STORE(holder, left, head);
		break;
	}
	case ARRAY_AT:
		GYRE_STORE_AT(p->array, p->index, head);
		break;
	default:
		fail();
	}
}

static void plant(struct plant *p)
{
	harness_in_thread(plant_thread, p);
}

/* A node held only by a new handle, in generation `gen` (1 or 2) after
 * the collection that takes it there. */
static gyre_handle old_node(int gen, uint64_t value)
{
	struct plant p = {.spot = HANDLE, .value = value, .length = 1};
	plant(&p);
	collect(gen == 1 ? 0 : 2);
	struct seen s = look_handle(p.h);
	assert_int_equal(s.state, BLOCK_SMALL);
	assert_int_equal(s.gen, gen);
	assert_int_equal(s.values[0], value);
	return p.h;
}

__attribute__((noinline)) static void make_garbage(size_t n)
{
	for (size_t i = 0; i < n; i++)
		harness_launder(node_new(i, NULL, NULL));
}

static void garbage_thread(void *arg)
{
	make_garbage(*(size_t *)arg);
}

/* ------------------------------------------------------------ 1. barrier */

/* GYRE_STORE into a generation-2 object marks the card of the field it
 * writes, which the collection that took the object there left clean. */
static void test_store_marks_card_of_old_object(void)
{
	gyre_handle h = old_node(2, 1);
	struct node *old = gyre_handle_get(h);
	assert_int_equal(block_of((uintptr_t)old)->gen, 2);
	assert_int_equal(card_value(old, &old->left), 0);
	struct node *young = node_new(2, NULL, NULL);
	assert_int_equal(block_of((uintptr_t)young)->state, BLOCK_NURSERY);
	GYRE_STORE(old, left, young);
	assert_ptr_equal(old->left, young);
	assert_int_not_equal(card_value(old, &old->left), 0);
	assert_int_equal(gyre_handle_free(h), GYRE_OK);
}

/* GYRE_STORE into a nursery object marks no card (nothing is younger than
 * it) and leaves its block's summary clean; the same store into a
 * generation-1 object marks both. */
static void test_store_into_young_object_marks_no_card(void)
{
	struct node *young = node_new(1, NULL, NULL);
	struct node *value = node_new(2, NULL, NULL);
	assert_int_equal(block_of((uintptr_t)young)->state, BLOCK_NURSERY);
	GYRE_STORE(young, left, value);
	assert_ptr_equal(young->left, value);
	assert_int_equal(card_value(young, &young->left), 0);
	assert_int_equal(heap.card_summary[block_index(block_of((uintptr_t)young))], 0);

	gyre_handle h = old_node(1, 3);
	struct node *mid = gyre_handle_get(h);
	GYRE_STORE(mid, left, value);
	assert_int_not_equal(card_value(mid, &mid->left), 0);
	assert_int_not_equal(heap.card_summary[block_index(block_of((uintptr_t)mid))], 0);
	assert_int_equal(gyre_handle_free(h), GYRE_OK);
}

/* GYRE_STORE_AT into a large pointer array marks the array's own card for
 * that element, and the summary of its chunk of cards, and no other. */
static void test_store_at_marks_card_of_large_array(void)
{
	const size_t n = 10000, at = 5000;
	void **volatile arr = gyre_alloc_array(GYRE_TYPE_PTR, n);
	assert_non_null(arr);
	assert_false(heap_contains((uintptr_t)arr));
	assert_int_equal(heap_gen_of((uintptr_t)arr), 2);
	struct large *l = large_of(arr);
	assert_true(l->magic == LARGE_MAGIC);
	assert_non_null(l->cards);
	size_t ncards = large_ncards(l);
	assert_true(ncards * LARGE_CARD_SIZE >= n * sizeof(void *));
	uint8_t *card = card_of(arr, &arr[at]);
	assert_ptr_equal(card, &l->cards[at * sizeof(void *) / LARGE_CARD_SIZE]);
	for (size_t k = 0; k < ncards; k++)
		assert_int_equal(l->cards[k], 0);
	struct node *young = node_new(3, NULL, NULL);
	GYRE_STORE_AT(arr, at, young);
	assert_ptr_equal(arr[at], young);
	assert_int_not_equal(*card, 0);
	for (size_t k = 0; k < ncards; k++)
		if (&l->cards[k] != card)
			assert_int_equal(l->cards[k], 0);
	/* And the summary of that card's chunk (the second of three), and
	 * no other [INV-LARGE-SUMMARY]. */
	size_t chunk = (size_t)(card - l->cards) / LARGE_CHUNK_CARDS;
	assert_int_equal(large_nchunks(l), 3);
	assert_int_equal(chunk, 1);
	for (size_t i = 0; i < large_nchunks(l); i++)
		assert_int_equal(*large_summary(l, i) != 0, i == chunk);
}

/* ------------------------------------------------------- 2. card scanning */

/* A chain that only an old object's field reaches survives a collection of
 * generation 0 (found through the field's card). With tenure_from_old off,
 * it moves into generation 1 with its contents; the card stays dirty while
 * the target is younger than the holder. Collecting generation 1 ages it
 * into generation 2 and the card comes clean. */
static void test_old_to_young_pointer_is_a_root(void)
{
	const uint64_t v = 0x5eed0000;
	gyre_handle h = old_node(2, 1);
	struct plant p = {.spot = HANDLE_LEFT, .h = h, .value = v, .length = 3};
	plant(&p);
	struct probe field = {.spot = HANDLE_LEFT, .h = h};
	struct seen before = look(field);
	assert_int_equal(before.gen, 0);
	assert_int_equal(before.addr, p.addr);
	assert_int_not_equal(before.card, 0);

	collect(0);
	struct seen s = look(field);
	assert_chain(&s, v, 3);
	assert_true(s.addr != p.addr);
	assert_int_equal(s.state, BLOCK_SMALL);
	assert_int_equal(s.gen, 1);
	assert_int_equal(s.age, 1);
	assert_int_not_equal(s.card, 0);

	/* Generation 1 is not collected: the chain stays where it is, and the
	 * card stays dirty. */
	collect(0);
	struct seen again = look(field);
	assert_chain(&again, v, 3);
	assert_int_equal(again.addr, s.addr);
	assert_int_equal(again.gen, 1);
	assert_int_not_equal(again.card, 0);

	/* Age 2 reaches the default tenure age. */
	collect(1);
	struct seen old = look(field);
	assert_chain(&old, v, 3);
	assert_true(old.addr != s.addr);
	assert_int_equal(old.state, BLOCK_SMALL);
	assert_int_equal(old.gen, 2);
	assert_int_equal(old.age, 2);
	assert_int_equal(old.card, 0);
	assert_int_equal(gyre_handle_free(h), GYRE_OK);
}

/* The same through a large array's own cards. */
static void test_large_array_to_young_pointer_is_a_root(void)
{
	const uint64_t v = 0xa77a0000;
	const size_t at = 7777;
	void **volatile arr = gyre_alloc_array(GYRE_TYPE_PTR, 10000);
	assert_non_null(arr);
	struct plant p = {.spot = ARRAY_AT, .array = arr, .index = at,
			  .value = v, .length = 2};
	plant(&p);
	struct probe field = {.spot = ARRAY_AT, .array = arr, .index = at};

	collect(0);
	struct seen s = look(field);
	assert_chain(&s, v, 2);
	assert_true(s.addr != p.addr);
	assert_int_equal(s.state, BLOCK_SMALL);
	assert_int_equal(s.gen, 1);
	assert_int_not_equal(s.card, 0);

	collect(1);
	struct seen old = look(field);
	assert_chain(&old, v, 2);
	assert_int_equal(old.gen, 2);
	assert_int_equal(old.card, 0);
	/* The neighbours were never written. */
	assert_null(arr[at - 1]);
	assert_null(arr[at + 1]);
}

/* Through a generation-1 holder: a collection of generation 0 scans the
 * cards of generation 1 too. The copy lands in generation 1, no younger
 * than its holder, so the card comes clean. */
static void test_gen1_to_young_pointer_is_a_root(void)
{
	const uint64_t v = 0x6e710000;
	gyre_handle h = old_node(1, 1);
	struct plant p = {.spot = HANDLE_LEFT, .h = h, .value = v, .length = 2};
	plant(&p);
	struct probe field = {.spot = HANDLE_LEFT, .h = h};
	assert_int_not_equal(look(field).card, 0);

	collect(0);
	struct seen s = look(field);
	assert_chain(&s, v, 2);
	assert_true(s.addr != p.addr);
	assert_int_equal(s.gen, 1);
	assert_int_equal(s.card, 0);
	struct seen holder = look_handle(h);
	assert_int_equal(holder.gen, 1);
	assert_int_equal(holder.values[0], 1);
	assert_int_equal(gyre_handle_free(h), GYRE_OK);
}

/* A holder promoted by the same collection that copies its young target:
 * the holder's copy lands in generation 2 (age 2), the target's in
 * generation 1 (age 1), and the copy's card must be dirtied for it. */
static void test_promoted_holder_gets_card_for_younger_copy(void)
{
	const uint64_t v = 0x9a4e0000;
	gyre_handle h = old_node(1, 1);
	struct plant p = {.spot = HANDLE_LEFT, .h = h, .value = v, .length = 2};
	plant(&p);
	struct probe field = {.spot = HANDLE_LEFT, .h = h};

	collect(1);
	struct seen holder = look_handle(h);
	assert_int_equal(holder.gen, 2);
	assert_int_equal(holder.age, 2);
	assert_int_equal(holder.values[0], 1);
	struct seen s = look(field);
	assert_chain(&s, v, 2);
	assert_int_equal(s.gen, 1);
	assert_int_equal(s.age, 1);
	assert_int_not_equal(s.card, 0);

	collect(0);
	struct seen again = look(field);
	assert_chain(&again, v, 2);
	assert_int_equal(again.addr, s.addr);
	assert_int_not_equal(again.card, 0);

	collect(1);
	struct seen old = look(field);
	assert_chain(&old, v, 2);
	assert_int_equal(old.gen, 2);
	assert_int_equal(old.card, 0);
	assert_int_equal(gyre_handle_free(h), GYRE_OK);
}

/* tenure_from_old (the default): a chain that an old object's field
 * reaches first goes straight to generation 2, every node of it, at age
 * 1; the holder's card comes clean in the same collection, and the next
 * collection of generation 0 leaves the chain where it is. */
static void test_old_holder_tenures_young_chain(void)
{
	const uint64_t v = 0x7e400000;
	gyre_handle h = old_node(2, 1);
	struct plant p = {.spot = HANDLE_LEFT, .h = h, .value = v, .length = 3};
	plant(&p);
	struct probe field = {.spot = HANDLE_LEFT, .h = h};

	collect(0);
	struct seen s = look(field);
	assert_chain(&s, v, 3);
	assert_true(s.addr != p.addr);
	assert_int_equal(s.state, BLOCK_SMALL);
	for (unsigned i = 0; i < 3; i++)
		assert_int_equal(s.gens[i], 2);
	assert_int_equal(s.age, 1);
	assert_int_equal(s.card, 0);

	collect(0);
	struct seen again = look(field);
	assert_chain(&again, v, 3);
	assert_int_equal(again.addr, s.addr);
	assert_int_equal(gyre_handle_free(h), GYRE_OK);
}

/* The same through a large array's cards; a chain that only a handle
 * holds ages in generation 1 meanwhile: the rule is the old holder's. */
static void test_large_array_tenures_young_chain(void)
{
	const uint64_t v = 0x7e500000, w = 0x7e600000;
	void **volatile arr = gyre_alloc_array(GYRE_TYPE_PTR, 10000);
	assert_non_null(arr);
	struct plant p = {.spot = ARRAY_AT, .array = arr, .index = 4321,
			  .value = v, .length = 2};
	plant(&p);
	struct plant q = {.spot = HANDLE, .value = w, .length = 2};
	plant(&q);

	collect(0);
	struct seen s = look((struct probe){.spot = ARRAY_AT, .array = arr, .index = 4321});
	assert_chain(&s, v, 2);
	assert_int_equal(s.gens[0], 2);
	assert_int_equal(s.gens[1], 2);
	assert_int_equal(s.card, 0);
	struct seen r = look_handle(q.h);
	assert_chain(&r, w, 2);
	assert_int_equal(r.gens[0], 1);
	assert_int_equal(r.gens[1], 1);
	assert_int_equal(gyre_handle_free(q.h), GYRE_OK);
}

/* ---------------------------------------------------------------- 3. pins */

struct pin_arg {
	struct node *p;
	uintptr_t left, right;   /* the children's addresses, disguised */
};

static void give_children(void *arg)
{
	struct pin_arg *a = arg;
	struct node *l = chain(0x1ef70000, 2), *r = node_new(0x61670000, NULL, NULL);
	a->left = disguise(l);
	a->right = disguise(r);
	GYRE_STORE(a->p, left, l);
	GYRE_STORE(a->p, right, r);
}

static void assert_pinned_in_nursery(struct node *p, uintptr_t addr)
{
	assert_true(disguise(p) == addr);
	assert_int_equal(block_of((uintptr_t)p)->state, BLOCK_NURSERY);
	assert_int_equal(block_of((uintptr_t)p)->gen, 0);
	assert_ptr_equal(heap_find_small((uintptr_t)p), p);
	assert_int_equal(p->value, 0x919);
}

/* A nursery object a local points at stays in place through collections
 * of generations 0 and 1, while the children that only it reaches move
 * (into generation 1, then 2) and its fields follow them. */
static void test_local_pins_nursery_object(void)
{
	struct node *volatile p = node_new(0x919, NULL, NULL);
	const uintptr_t addr = disguise(p);
	struct pin_arg a = {.p = p};
	harness_in_thread(give_children, &a);
	gyre_gen_stats g0 = gen_stats(0), g1 = gen_stats(1);

	collect(0);
	assert_pinned_in_nursery(p, addr);
	assert_true(gen_stats(0).objects_pinned > g0.objects_pinned);
	struct seen l = look((struct probe){.spot = NODE_LEFT, .node = p});
	struct seen r = look((struct probe){.spot = NODE_RIGHT, .node = p});
	assert_chain(&l, 0x1ef70000, 2);
	assert_true(l.addr != a.left);
	assert_int_equal(l.state, BLOCK_SMALL);
	assert_int_equal(l.gen, 1);
	assert_int_equal(r.values[0], 0x61670000);
	assert_true(r.addr != a.right);
	assert_int_equal(r.gen, 1);

	collect(1);
	assert_pinned_in_nursery(p, addr);
	assert_true(gen_stats(1).objects_pinned > g1.objects_pinned);
	struct seen l2 = look((struct probe){.spot = NODE_LEFT, .node = p});
	struct seen r2 = look((struct probe){.spot = NODE_RIGHT, .node = p});
	assert_chain(&l2, 0x1ef70000, 2);
	assert_true(l2.addr != l.addr);
	assert_int_equal(l2.gen, 2);
	assert_int_equal(r2.values[0], 0x61670000);
	assert_true(r2.addr != r.addr);
	assert_int_equal(r2.gen, 2);
}

/* A generation-1 object a local points at stays in place, in its block,
 * through a collection of generation 1. */
static void test_local_pins_gen1_object(void)
{
	gyre_handle h = old_node(1, 0x6e1);
	struct node *volatile p = gyre_handle_get(h);
	const uintptr_t addr = disguise(p);
	collect(1);
	assert_true(disguise(p) == addr);
	assert_ptr_equal(gyre_handle_get(h), p);
	assert_int_equal(block_of((uintptr_t)p)->state, BLOCK_SMALL);
	assert_int_equal(block_of((uintptr_t)p)->gen, 1);
	assert_int_equal(p->value, 0x6e1);
	assert_int_equal(gyre_handle_free(h), GYRE_OK);
}

/* A thread that stores a new node into an old object and then keeps the
 * node in a local, pinning it, inside a blocking region until released.
 * Static, and released by the teardown if a test fails meanwhile (gyre
 * cannot shut down while it is attached). */
static struct pinner {
	gyre_handle old;
	uint64_t value;
	uintptr_t addr;          /* out: the node's address, disguised */
	bool failed;
	sem_t ready, release;
	pthread_t thread;
	bool running;
} pinner;

static void *pinner_main(void *arg)
{
	struct pinner *t = arg;
	if (gyre_thread_attach() != GYRE_OK) {
		t->failed = true;
		sem_post(&t->ready);
		return NULL;
	}
	struct node *volatile p = gyre_alloc(node_type);
	struct node *o = gyre_handle_get(t->old);
	if (p) {
		p->value = t->value;
		GYRE_STORE(o, left, (struct node *)p);
		t->addr = disguise(p);
	}
	t->failed = !p || gyre_blocking_begin() != GYRE_OK;
	sem_post(&t->ready);
	while (sem_wait(&t->release) != 0)
		;
	if (!t->failed && gyre_blocking_end() != GYRE_OK)
		t->failed = true;
	/* p was a root until here. */
	if (p && p->value != t->value)
		t->failed = true;
	if (gyre_thread_detach() != GYRE_OK)
		t->failed = true;
	return NULL;
}

/* Waits for a semaphore outside the heap: collections go on meanwhile. */
static void sem_wait_blocking(sem_t *s)
{
	assert_int_equal(gyre_blocking_begin(), GYRE_OK);
	while (sem_wait(s) != 0)
		;
	assert_int_equal(gyre_blocking_end(), GYRE_OK);
}

static void pinner_start(gyre_handle old, uint64_t value)
{
	pinner = (struct pinner){.old = old, .value = value};
	assert_int_equal(sem_init(&pinner.ready, 0, 0), 0);
	assert_int_equal(sem_init(&pinner.release, 0, 0), 0);
	assert_int_equal(pthread_create(&pinner.thread, NULL, pinner_main, &pinner), 0);
	pinner.running = true;
	sem_wait_blocking(&pinner.ready);
}

/* Lets the pinner go and joins it; false if it was not running. */
static bool pinner_stop(void)
{
	if (!pinner.running)
		return false;
	pinner.running = false;
	sem_post(&pinner.release);
	bool ok = gyre_blocking_begin() == GYRE_OK;
	ok &= pthread_join(pinner.thread, NULL) == 0;
	ok &= gyre_blocking_end() == GYRE_OK;
	sem_destroy(&pinner.ready);
	sem_destroy(&pinner.release);
	return ok;
}

/* An object that another thread's local pins stays in the nursery, and
 * the old object that points at it keeps a dirty card. Once the thread is
 * gone, the next collection of generation 0 finds it through that card
 * alone and moves it. */
static void test_pin_released_object_found_through_card(void)
{
	const uint64_t v = 0x9e1d;
	gyre_handle old = old_node(2, 1);
	pinner_start(old, v);
	assert_false(pinner.failed);
	struct probe field = {.spot = HANDLE_LEFT, .h = old};

	collect(0);
	struct seen pinned = look(field);
	assert_int_equal(pinned.addr, pinner.addr);
	assert_int_equal(pinned.state, BLOCK_NURSERY);
	assert_int_equal(pinned.values[0], v);
	assert_int_not_equal(pinned.card, 0);

	assert_true(pinner_stop());
	assert_false(pinner.failed);

	collect(0);
	struct seen moved = look(field);
	assert_true(moved.addr != pinner.addr);
	assert_int_equal(moved.state, BLOCK_SMALL);
	assert_int_equal(moved.gen, 1);
	assert_int_equal(moved.values[0], v);
	assert_int_not_equal(moved.card, 0);

	collect(1);
	struct seen tenured = look(field);
	assert_int_equal(tenured.gen, 2);
	assert_int_equal(tenured.values[0], v);
	assert_int_equal(tenured.card, 0);
	assert_int_equal(gyre_handle_free(old), GYRE_OK);
}

/* ------------------------------------------------------ 4. promotion ages */

/* Default tenure age 2: one collection survived takes an object to
 * generation 1, a second collection of generation 0 leaves it there, and
 * the collection of generation 1 that brings its age to 2 to generation 2. */
static void test_tenure_age_2(void)
{
	struct plant p = {.spot = HANDLE, .value = 42, .length = 1};
	plant(&p);
	struct seen s0 = look_handle(p.h);
	assert_int_equal(s0.gen, 0);
	assert_int_equal(s0.age, 0);

	collect(0);
	struct seen s1 = look_handle(p.h);
	assert_int_equal(s1.gen, 1);
	assert_int_equal(s1.age, 1);
	assert_true(s1.addr != p.addr);

	collect(0);
	struct seen s2 = look_handle(p.h);
	assert_int_equal(s2.gen, 1);
	assert_int_equal(s2.age, 1);
	assert_int_equal(s2.addr, s1.addr);

	collect(1);
	struct seen s3 = look_handle(p.h);
	assert_int_equal(s3.gen, 2);
	assert_int_equal(s3.age, 2);
	assert_int_equal(s3.state, BLOCK_SMALL);
	assert_true(s3.addr != s1.addr);
	assert_int_equal(s3.values[0], 42);

	/* Generation 2 stays put under minor collections. */
	collect(1);
	struct seen s4 = look_handle(p.h);
	assert_int_equal(s4.gen, 2);
	assert_int_equal(s4.addr, s3.addr);
	assert_int_equal(gyre_handle_free(p.h), GYRE_OK);
}

/* tenure_age 1: every survivor goes straight to generation 2. */
static void test_tenure_age_1(void)
{
	struct plant p = {.spot = HANDLE, .value = 43, .length = 3};
	plant(&p);
	collect(0);
	struct seen s = look_handle(p.h);
	assert_chain(&s, 43, 3);
	assert_int_equal(s.gen, 2);
	assert_int_equal(s.age, 1);
	assert_int_equal(s.state, BLOCK_SMALL);
	assert_true(s.addr != p.addr);
	assert_int_equal(gyre_handle_free(p.h), GYRE_OK);
}

/* tenure_age 3: a copy from generation 1 to generation 1 ages too. */
static void test_tenure_age_3(void)
{
	struct plant p = {.spot = HANDLE, .value = 44, .length = 1};
	plant(&p);
	collect(0);
	struct seen s1 = look_handle(p.h);
	assert_int_equal(s1.gen, 1);
	assert_int_equal(s1.age, 1);
	collect(1);
	struct seen s2 = look_handle(p.h);
	assert_int_equal(s2.gen, 1);
	assert_int_equal(s2.age, 2);
	assert_true(s2.addr != s1.addr);
	collect(1);
	struct seen s3 = look_handle(p.h);
	assert_int_equal(s3.gen, 2);
	assert_int_equal(s3.age, 3);
	assert_int_equal(s3.values[0], 44);
	assert_int_equal(gyre_handle_free(p.h), GYRE_OK);
}

/* --------------------------------------------------------- 5. thresholds */

static void assert_thresholds(size_t t0, size_t t1, size_t t2)
{
	size_t t[3];
	assert_int_equal(gyre_get_threshold(t), GYRE_OK);
	assert_int_equal(t[0], t0);
	assert_int_equal(t[1], t1);
	assert_int_equal(t[2], t2);
}

/* The thresholds start as the configuration's nursery_size, 10 and
 * growth_percent, and gyre_set_threshold changes them (its range ends
 * included; what lies outside is in tests/misuse); collections leave
 * thresholds that were configured or set alone. */
static void test_thresholds_start_from_config(void)
{
	assert_thresholds(MIB, 10, 50);
	/* A configured nursery_size is kept, whatever the collections do. */
	collect(0);
	collect(0);
	collect(1);
	assert_thresholds(MIB, 10, 50);
	assert_int_equal(gyre_set_threshold(512 * KIB, 4, 200), GYRE_OK);
	assert_thresholds(512 * KIB, 4, 200);
	gyre_stats s;
	assert_int_equal(gyre_stats_get(&s), GYRE_OK);
	assert_int_equal(gyre_set_threshold(256 * KIB, 1, 10), GYRE_OK);
	assert_thresholds(256 * KIB, 1, 10);
	assert_int_equal(gyre_set_threshold(s.heap_max / 2, 1000000, 10000), GYRE_OK);
	assert_thresholds(s.heap_max / 2, 1000000, 10000);
	/* So is one set here. */
	assert_int_equal(gyre_set_threshold(512 * KIB, 4, 200), GYRE_OK);
	collect(0);
	collect(0);
	assert_thresholds(512 * KIB, 4, 200);
}

/* Without a configuration, threshold0 is gyre's choice (the nursery may
 * be sized adaptively) within the range gyre_set_threshold accepts, and
 * the others are 10 and the resolved growth_percent. */
static void test_thresholds_default(void)
{
	size_t t[3];
	assert_int_equal(gyre_get_threshold(t), GYRE_OK);
	assert_true(t[0] >= 256 * KIB && t[0] <= gyre_cfg.heap_max / 2);
	assert_int_equal(t[1], 10);
	assert_int_equal(t[2], gyre_cfg.growth_percent);
	/* What gyre_get_threshold reports is accepted back unchanged. */
	assert_int_equal(gyre_set_threshold(t[0], t[1], t[2]), GYRE_OK);
	assert_thresholds(t[0], t[1], t[2]);
}

/* get_count: [0] is the nursery handed out since the last collection,
 * [1] the collections of generation 0 since the last of 1 or 2, [2] the
 * bytes added to generation 2 since its last collection. */
static void test_counts_follow_collections(void)
{
	size_t c[3], half[3];
	disable();
	collect(2);
	counts(c);
	assert_int_equal(c[0], 0);
	assert_int_equal(c[1], 0);
	assert_int_equal(c[2], 0);

	/* 1 MiB of nodes, in two halves. */
	const size_t n = MIB / NODE_BYTES;
	make_garbage(n / 2);
	counts(half);
	assert_true(half[0] >= n / 2 * NODE_BYTES);
	make_garbage(n - n / 2);
	counts(c);
	assert_true(c[0] >= MIB);
	assert_true(c[0] > half[0]);
	assert_true(c[0] <= 2 * MIB);
	assert_int_equal(c[1], 0);

	collect(0);
	counts(c);
	assert_int_equal(c[0], 0);
	assert_int_equal(c[1], 1);
	collect(0);
	collect(0);
	counts(c);
	assert_int_equal(c[1], 3);
	collect(1);
	counts(c);
	assert_int_equal(c[1], 0);
	collect(0);
	counts(c);
	assert_int_equal(c[1], 1);
	collect(2);
	counts(c);
	assert_int_equal(c[1], 0);
	assert_int_equal(c[2], 0);

	/* Promotion into generation 2 adds to count[2]; into 1 does not. */
	struct plant p = {.spot = HANDLE, .value = 7, .length = 4};
	plant(&p);
	collect(0);
	counts(c);
	assert_int_equal(c[2], 0);
	assert_int_equal(look_handle(p.h).gen, 1);
	collect(1);
	counts(c);
	assert_int_equal(look_handle(p.h).gen, 2);
	assert_true(c[2] >= 4 * NODE_BYTES);
	assert_true(c[2] < 64 * KIB);
	/* So does a large object. */
	size_t before = c[2];
	assert_non_null(harness_launder(gyre_alloc_bytes(MIB)));
	counts(c);
	assert_true(c[2] >= before + MIB);
	assert_int_equal(gyre_handle_free(p.h), GYRE_OK);
	enable();
}

/* Which generation each automatic collection collected, in order. Runs
 * on a helper thread: what it finds goes back as data, not assertions. */
struct auto_run {
	size_t nodes;
	bool stats_failed, missed;  /* two collections between two looks */
	unsigned n;
	uint8_t gens[512];
};

static void auto_collections(void *arg)
{
	struct auto_run *r = arg;
	gyre_stats last, now;
	r->stats_failed = gyre_stats_get(&last) != GYRE_OK;
	for (size_t i = 0; i < r->nodes; i++) {
		harness_launder(node_new(i, NULL, NULL));
		if (i % 64 && i != r->nodes - 1)
			continue;
		r->stats_failed |= gyre_stats_get(&now) != GYRE_OK;
		/* 64 nodes are 2 KiB: one collection at most in between. */
		r->missed |= now.collections - last.collections > 1;
		for (int g = 0; g < 3; g++)
			if (now.gen[g].collections != last.gen[g].collections &&
			    r->n < sizeof(r->gens))
				r->gens[r->n++] = (uint8_t)g;
		last = now;
	}
}

/* With threshold0 = 256 KiB and threshold1 = 3, allocating 4 MiB of
 * garbage runs generation-0 collections automatically, and every third
 * of them collects generation 1 as well (gc/README.md: "generation 1
 * instead every threshold1-th time"). */
static void test_threshold1_triggers_gen1(void)
{
	assert_int_equal(gyre_set_threshold(256 * KIB, 3, 33), GYRE_OK);
	gyre_gen_stats g0 = gen_stats(0), g1 = gen_stats(1);
	struct auto_run run = {.nodes = 4 * MIB / NODE_BYTES}, *r = &run;
	harness_in_thread(auto_collections, r);
	assert_false(r->stats_failed);
	assert_false(r->missed);
	uint64_t d0 = gen_stats(0).collections - g0.collections;
	uint64_t d1 = gen_stats(1).collections - g1.collections;
	assert_true(d0 > 0);
	assert_true(d1 > 0);
	/* 4 MiB in 256 KiB steps: about 16 collections. */
	assert_true(d0 + d1 >= 12);
	assert_int_equal(r->n, d0 + d1);
	/* Between two collections of generation 1, threshold1 - 1 of
	 * generation 0. */
	int prev = -1;
	for (unsigned i = 0; i < r->n; i++) {
		assert_true(r->gens[i] <= 1);
		if (r->gens[i] != 1)
			continue;
		if (prev >= 0 && i - (unsigned)prev != 3)
			fail_msg("collections %d and %u of generation 1 are %u apart, "
				 "not threshold1 = 3", prev, i, i - (unsigned)prev);
		prev = (int)i;
	}
}

/* Below the free-memory floor, the automatic collection after a minor one
 * is of generation 2, long before growth would ask for it (heap_min is
 * 32 MiB; the run allocates 4 MiB). It starts a concurrent cycle, which
 * counts as generation 2 when the collector thread's remark ends it: that
 * may come after the run, so the test waits for it (up to 10 s, asleep in
 * a blocking region so that the remark need not stop this thread). */
static void test_free_floor_forces_gen2(void)
{
	uint64_t before = gen_stats(2).collections;
	struct auto_run run = {.nodes = 4 * MIB / NODE_BYTES}, *r = &run;
	harness_in_thread(auto_collections, r);
	assert_false(r->stats_failed);
	unsigned minor = 0, full = 0;
	for (unsigned i = 0; i < r->n; i++) {
		if (r->gens[i] == 2)
			full++;
		else if (!full)
			minor++;
	}
	assert_true(minor >= 1);
	for (int ms = 0; !full && ms < 10000; ms++) {
		assert_int_equal(gyre_blocking_begin(), GYRE_OK);
		usleep(1000);
		assert_int_equal(gyre_blocking_end(), GYRE_OK);
		full = gen_stats(2).collections > before;
	}
	assert_true(full >= 1);
}

/* The sizer (gc/young/sizer.c) runs by default: generation-0 collections whose
 * survivors are all long-lived and whose pauses pass the target shrink
 * threshold0 within a few collections; gyre_set_threshold ends it. */
static void test_sizer_shrinks_nursery_for_long_pauses(void)
{
	size_t t[3];
	assert_int_equal(gyre_get_threshold(t), GYRE_OK);
	size_t initial = t[0];
	/* 100,000 survivors take well over 100 us to copy. */
	struct plant p[16];
	for (unsigned i = 0; i < 8; i++) {
		p[i] = (struct plant){.spot = HANDLE, .value = i, .length = 100000};
		plant(&p[i]);
		collect(0);
	}
	assert_int_equal(gyre_get_threshold(t), GYRE_OK);
	assert_true(t[0] < initial);
	assert_true(t[0] >= SIZER_MIN);
	assert_int_equal(gyre_set_threshold(initial, 10, 33), GYRE_OK);
	for (unsigned i = 8; i < 16; i++) {
		p[i] = (struct plant){.spot = HANDLE, .value = i, .length = 100000};
		plant(&p[i]);
		collect(0);
	}
	assert_int_equal(gyre_get_threshold(t), GYRE_OK);
	assert_int_equal(t[0], initial);
	for (unsigned i = 0; i < 16; i++)
		gyre_handle_free(p[i].h);
}

/* Stores one young node into every line of an old array: thousands of
 * dirty cards, one survivor. */
#define CARDED 32768
static void dirty_every_line(void *arg)
{
	void **array = gyre_handle_get(*(gyre_handle *)arg);
	struct node *n = node_new(7, NULL, NULL);
	for (unsigned i = 0; i < CARDED; i += 8)
		GYRE_STORE_AT(array, i, n);
}

/* A minor collection after one that kept little and scanned few dirty
 * cards runs on the calling thread alone; after one that kept more than
 * a few hundred KiB, or scanned thousands of cards, on every worker. */
static void test_small_minor_collections_run_alone(void)
{
	if (workers_count() < 2)
		skip();
	collect(0);
	collect(0);
	unsigned long jobs = workers_jobs();
	collect(0);
	assert_int_equal(workers_jobs(), jobs);
	struct plant p = {.spot = HANDLE, .value = 1, .length = 100000};
	plant(&p);
	collect(0); /* alone: the one before kept nothing */
	assert_int_equal(workers_jobs(), jobs);
	struct plant q = {.spot = HANDLE, .value = 2, .length = 100000};
	plant(&q);
	collect(0); /* after 100,000 survivors: every worker */
	assert_true(workers_jobs() > jobs);
	gyre_handle_free(p.h);
	gyre_handle_free(q.h);

	gyre_handle a = gyre_handle_new(gyre_alloc_array(GYRE_TYPE_PTR, CARDED));
	assert_non_null(a);
	collect(2);
	collect(0);
	collect(0);
	jobs = workers_jobs();
	harness_in_thread(dirty_every_line, &a);
	collect(0); /* alone: the one before kept nothing */
	assert_int_equal(workers_jobs(), jobs);
	collect(0); /* after 4,096 dirty cards: every worker */
	assert_true(workers_jobs() > jobs);
	gyre_handle_free(a);
}

/* A copy stack that cannot grow drops work; the recovery pass rescans
 * every copy until nothing is left, and every object survives intact (the
 * verifier also checks every pointer after the collection). An array of
 * WIDE nodes pushes WIDE copies at once, far past the cap. */
#define WIDE 900

struct wide {
	gyre_handle h;
	unsigned intact;
};

static void wide_plant(void *arg)
{
	struct wide *w = arg;
	void **array = gyre_alloc_array(GYRE_TYPE_PTR, WIDE);
	assert_non_null(array);
	for (unsigned i = 0; i < WIDE; i++)
		GYRE_STORE_AT(array, i, node_new(i, NULL, NULL));
	w->h = gyre_handle_new(array);
	assert_non_null(w->h);
}

static void wide_check(void *arg)
{
	struct wide *w = arg;
	void **array = gyre_handle_get(w->h);
	w->intact = 0;
	for (unsigned i = 0; i < WIDE; i++) {
		struct node *n = array[i];
		w->intact += n && n->value == i && heap_gen_of((uintptr_t)n) == 1;
	}
}

static void test_copy_stack_overflow_recovers(void)
{
	struct wide w;
	harness_in_thread(wide_plant, &w);
	size_t before = minor_rescans();
	minor_set_stack_limit(16);
	collect(0);
	minor_set_stack_limit(0);
	assert_true(minor_rescans() > before);
	harness_in_thread(wide_check, &w);
	assert_int_equal(w.intact, WIDE);
	gyre_handle_free(w.h);
}

/* Pool threads that never start their shares (held, as if the scheduler
 * never ran them) hold up no collection: the collecting thread runs their
 * shares itself, inside the waits of its own (work_drain), and every
 * object survives intact. */
struct long_chain {
	gyre_handle h;
	unsigned intact;
};

static void long_chain_check(void *arg)
{
	struct long_chain *c = arg;
	c->intact = 0;
	for (struct node *n = gyre_handle_get(c->h); n; n = n->left)
		c->intact += n->value == 7 + c->intact;
}

static void test_collections_run_the_shares_of_held_workers(void)
{
	if (workers_count() < 2)
		skip();
	struct plant p = {.spot = HANDLE, .value = 7, .length = 100000};
	plant(&p);
	unsigned long jobs = workers_jobs();
	workers_hold(true);
	collect(0);
	collect(1);
	collect(2);
	workers_hold(false);
	assert_true(workers_jobs() > jobs);
	struct long_chain c = {.h = p.h};
	harness_in_thread(long_chain_check, &c);
	assert_int_equal(c.intact, 100000);
	assert_int_equal(gyre_handle_free(p.h), GYRE_OK);
}

/* ------------------------------------------------ 6. per-generation stats */

static void assert_collections(const gyre_stats *before, uint64_t n0, uint64_t n1,
			       uint64_t n2)
{
	gyre_stats s;
	assert_int_equal(gyre_stats_get(&s), GYRE_OK);
	assert_int_equal(s.gen[0].collections - before->gen[0].collections, n0);
	assert_int_equal(s.gen[1].collections - before->gen[1].collections, n1);
	assert_int_equal(s.gen[2].collections - before->gen[2].collections, n2);
	assert_int_equal(s.collections - before->collections, n0 + n1 + n2);
	for (int g = 0; g < 3; g++) {
		uint64_t sum = 0;
		for (int i = 0; i < GYRE_PAUSE_BUCKETS; i++)
			sum += s.gen[g].pause_histogram[i];
		assert_int_equal(sum, s.gen[g].collections);
		if (s.gen[g].collections)
			assert_true(s.gen[g].pause_max_ns > 0 &&
				    s.gen[g].pause_max_ns <= s.gen[g].pause_total_ns);
	}
}

/* gen[g].collections counts the collections of generation g, and only
 * those. */
static void test_stats_count_collections_by_generation(void)
{
	disable();
	gyre_stats s0;
	assert_int_equal(gyre_stats_get(&s0), GYRE_OK);
	collect(0);
	assert_collections(&s0, 1, 0, 0);
	collect(0);
	collect(0);
	assert_collections(&s0, 3, 0, 0);
	collect(1);
	assert_collections(&s0, 3, 1, 0);
	collect(2);
	assert_collections(&s0, 3, 1, 1);
	collect(1);
	collect(0);
	assert_collections(&s0, 4, 2, 1);
	enable();
}

/* objects_promoted counts the copies into an older generation: a chain
 * held by a handle, nursery -> 1 -> 2; a copy within generation 1 is not
 * a promotion. */
static void test_stats_count_promotions(void)
{
	disable();
	collect(0);
	struct plant p = {.spot = HANDLE, .value = 9, .length = 5};
	plant(&p);
	gyre_gen_stats g0 = gen_stats(0);
	collect(0);
	gyre_gen_stats g0b = gen_stats(0);
	assert_int_equal(look_handle(p.h).gen, 1);
	assert_int_equal(g0b.objects_promoted - g0.objects_promoted, 5);
	assert_int_equal(g0b.bytes_promoted - g0.bytes_promoted, 5 * NODE_BYTES);

	gyre_gen_stats g1 = gen_stats(1);
	collect(1);
	gyre_gen_stats g1b = gen_stats(1);
	struct seen s = look_handle(p.h);
	assert_chain(&s, 9, 5);
	assert_int_equal(s.gen, 2);
	assert_int_equal(g1b.objects_promoted - g1.objects_promoted, 5);
	assert_true(g1b.bytes_promoted - g1.bytes_promoted >= 5 * NODE_BYTES);

	/* Nothing young is left: nothing more to promote. */
	collect(1);
	assert_int_equal(gen_stats(1).objects_promoted, g1b.objects_promoted);
	assert_int_equal(gyre_handle_free(p.h), GYRE_OK);
	enable();
}

/* ------------------------------------------------------ 7. object counts */

/* gyre_collect(0) returns the nursery objects that died. */
static void test_collect0_returns_dead_nursery_objects(void)
{
	const size_t n = 10000, slack = 16;
	disable();
	collect(0);
	size_t m = n;
	harness_in_thread(garbage_thread, &m);
	gyre_gen_stats g0 = gen_stats(0);
	int64_t freed = collect(0);
	assert_in_range(freed, n - slack, n + slack);
	assert_int_equal(gen_stats(0).objects_collected - g0.objects_collected,
			 (uint64_t)freed);
	/* Nothing was allocated since. */
	assert_in_range(collect(0), 0, slack);
	enable();
}

/* Objects that reached generation 1 are freed by a collection of
 * generation 1, not by one of generation 0. */
static void test_collect1_frees_dead_gen1_objects(void)
{
	const size_t n = 300, slack = 16;
	disable();
	collect(0);
	struct plant p = {.spot = HANDLE, .value = 0, .length = n};
	plant(&p);
	assert_in_range(collect(0), 0, slack);
	struct seen s = look_handle(p.h);
	assert_int_equal(s.gen, 1);
	assert_int_equal(gyre_handle_set(p.h, NULL), GYRE_OK);
	assert_in_range(collect(0), 0, slack);
	gyre_gen_stats g1 = gen_stats(1);
	int64_t freed = collect(1);
	assert_in_range(freed, n, n + slack);
	assert_int_equal(gen_stats(1).objects_collected - g1.objects_collected,
			 (uint64_t)freed);
	assert_int_equal(gyre_handle_free(p.h), GYRE_OK);
	enable();
}

/* Every test runs through run_body (node.h). */
#define TEST_WITH(fn, setup) \
	{#fn, run_body, setup, down, &(struct body){fn}}
#define TEST(fn) TEST_WITH(fn, up)

int main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(test_store_marks_card_of_old_object),
		TEST(test_store_into_young_object_marks_no_card),
		TEST(test_store_at_marks_card_of_large_array),
		TEST_WITH(test_old_to_young_pointer_is_a_root, up_aging),
		TEST_WITH(test_large_array_to_young_pointer_is_a_root, up_aging),
		TEST(test_gen1_to_young_pointer_is_a_root),
		TEST_WITH(test_promoted_holder_gets_card_for_younger_copy, up_aging),
		TEST(test_old_holder_tenures_young_chain),
		TEST(test_large_array_tenures_young_chain),
		TEST(test_local_pins_nursery_object),
		TEST(test_local_pins_gen1_object),
		TEST_WITH(test_pin_released_object_found_through_card, up_aging),
		TEST(test_tenure_age_2),
		TEST_WITH(test_tenure_age_1, up_tenure_1),
		TEST_WITH(test_tenure_age_3, up_tenure_3),
		TEST_WITH(test_thresholds_start_from_config, up_thresholds),
		TEST(test_thresholds_default),
		TEST(test_counts_follow_collections),
		TEST(test_threshold1_triggers_gen1),
		TEST_WITH(test_free_floor_forces_gen2, up_free_floor),
		TEST(test_copy_stack_overflow_recovers),
		TEST_WITH(test_collections_run_the_shares_of_held_workers, up),
		TEST_WITH(test_sizer_shrinks_nursery_for_long_pauses, up_pause_target),
		TEST_WITH(test_small_minor_collections_run_alone, up),
		TEST(test_stats_count_collections_by_generation),
		TEST(test_stats_count_promotions),
		TEST(test_collect0_returns_dead_nursery_objects),
		TEST(test_collect1_frees_dead_gen1_objects),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
