/*
 * Tests of compaction in full collections (gc/old/compact.h): generation
 * 2's sparse blocks are evacuated and every reference to a moved object
 * follows it.
 *
 *   1. a fragmented table compacts: blocks evacuated, fragmentation under
 *      15 %, every survivor intact and its fields pointing at the copies;
 *   2. objects C locals point at do not move, and stay intact;
 *   3. handles, weak references, ephemerons, tracer types and the
 *      finalizer registry follow the objects that moved;
 *   4. at the heap's maximum, compaction makes the room an allocation of
 *      another size class needs (without it, that allocation fails);
 *   5. GYRE_COMPACT=0 moves nothing; bad values are refused.
 *
 * The tests run with GYRE_VERIFY=1 (meson.build), so verify_compaction
 * checks after each compaction that nothing points at an evacuated object.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "node.h"
#include "gc/old/compact.h"

#define N 40000
/* Survivors: one node in KEEP. */
#define KEEP 4

static int up(void **state)
{
	(void)state;
	return node_up_with(NULL);
}

/* Finalizers run by gyre_run_finalizers, on the test's thread. */
static int up_no_thread(void **state)
{
	(void)state;
	return node_up_with(&(gyre_config){.finalizer_thread = -1});
}

/* The table: a GYRE_TYPE_PTR array held by a handle. */
static gyre_handle table;

static void **tab(void)
{
	return gyre_handle_get(table);
}

/* N nodes, node i valued i; after a full collection they fill generation
 * 2's blocks densely. Then all but one in KEEP are dropped, each survivor
 * linked (->left) to the next survivor, so that fields must be updated
 * too. Built on another thread: no stale word of this one's stack names
 * them (it would pin their blocks). */
static void build(void *arg)
{
	(void)arg;
	void **t = gyre_alloc_array(GYRE_TYPE_PTR, N);
	assert_non_null(t);
	table = gyre_handle_new(t);
	assert_non_null(table);
	for (unsigned i = 0; i < N; i++) {
		struct node *n = node_new(i, NULL, NULL);
		GYRE_STORE_AT(tab(), i, n);
	}
	assert_true(gyre_collect(2) >= 0);
	t = tab();
	for (unsigned i = 0; i + KEEP < N; i += KEEP)
		GYRE_STORE((struct node *)t[i], left, (struct node *)t[i + KEEP]);
	for (unsigned i = 0; i < N; i++)
		if (i % KEEP)
			GYRE_STORE_AT(t, i, NULL);
}

static void check_survivors(void)
{
	void **t = tab();
	for (unsigned i = 0; i < N; i++) {
		struct node *n = t[i];
		if (i % KEEP) {
			assert_null(n);
			continue;
		}
		assert_non_null(n);
		assert_int_equal(n->value, i);
		assert_ptr_equal(n->left, i + KEEP < N ? t[i + KEEP] : NULL);
	}
}

/* The survivors' addresses, as integers in malloc'd memory (not roots). */
static uintptr_t *addresses(void)
{
	uintptr_t *a = malloc(sizeof(*a) * N);
	assert_non_null(a);
	void **t = tab();
	for (unsigned i = 0; i < N; i++)
		a[i] = (uintptr_t)t[i];
	return a;
}

static size_t moved_count(const uintptr_t *before)
{
	size_t moved = 0;
	void **t = tab();
	for (unsigned i = 0; i < N; i += KEEP)
		moved += (uintptr_t)t[i] != before[i];
	return moved;
}

static void test_fragmented_table_compacts(void)
{
	harness_in_thread(build, NULL);
	uintptr_t *before = addresses();
	gyre_stats s0 = harness_stats();
	assert_true(gyre_collect(2) >= 0);
	gyre_stats s1 = harness_stats();
	check_survivors();
	assert_int_equal(s1.compactions, s0.compactions + 1);
	assert_true(s1.blocks_evacuated > s0.blocks_evacuated);
	assert_true(s1.objects_evacuated - s0.objects_evacuated >= N / KEEP / 2);
	assert_true(moved_count(before) >= N / KEEP / 2);
	/* Before: 3 of 4 slots free in the table's blocks. */
	assert_true(s1.old_free_bytes * 100 < s1.old_block_bytes * 15);
	free(before);
	/* Nothing is left to compact: the next collection moves nothing. */
	assert_true(gyre_collect(2) >= 0);
	gyre_stats s2 = harness_stats();
	assert_int_equal(s2.objects_evacuated, s1.objects_evacuated);
	check_survivors();
	gyre_handle_free(table);
}

/* C locals hold survivors spread over the table: their blocks stay, and
 * the objects with them. */
#define HELD 5
static void test_locals_pin(void)
{
	harness_in_thread(build, NULL);
	struct node *volatile held[HELD];
	for (unsigned k = 0; k < HELD; k++)
		held[k] = tab()[k * (N / HELD)];
	uintptr_t *before = addresses();
	gyre_stats s0 = harness_stats();
	assert_true(gyre_collect(2) >= 0);
	assert_true(harness_stats().objects_evacuated > s0.objects_evacuated);
	for (unsigned k = 0; k < HELD; k++) {
		assert_ptr_equal(tab()[k * (N / HELD)], held[k]);
		assert_int_equal(held[k]->value, k * (N / HELD));
	}
	assert_true(moved_count(before) > 0);
	check_survivors();
	free(before);
	gyre_handle_free(table);
}

/* ------------------------------------------- what follows a moved object */

static gyre_type traced_type;

/* A tracer type: one pointer, at the end of a byte buffer. */
struct traced {
	char pad[24];
	void *ref;
};

static void trace_traced(void *obj, gyre_visit_fn visit, void *ctx)
{
	visit(&((struct traced *)obj)->ref, ctx);
}

static size_t finalized, finalized_wrong;

static void on_finalize(void *obj, void *ctx)
{
	finalized++;
	if (((struct node *)obj)->value != (uint64_t)(uintptr_t)ctx)
		finalized_wrong++;
}

/* Per survivor i (a multiple of KEEP): a handle, a weak reference, an
 * ephemeron keyed by it, a tracer object pointing at it, and a finalizer
 * whose ctx is its value. */
static gyre_handle *handles;
static gyre_handle refs;   /* array: [3 * j] weak, [3 * j + 1] eph, [3 * j + 2] traced */

static void build_refs(void *arg)
{
	(void)arg;
	size_t n = N / KEEP;
	void **r = gyre_alloc_array(GYRE_TYPE_PTR, 3 * n);
	assert_non_null(r);
	refs = gyre_handle_new(r);
	for (size_t j = 0; j < n; j++) {
		struct node *v = tab()[j * KEEP];
		handles[j] = gyre_handle_new(v);
		void *w = gyre_weak_new(v, NULL, NULL);
		assert_non_null(w);
		GYRE_STORE_AT((void **)gyre_handle_get(refs), 3 * j, w);
		struct node *val = node_new(v->value + 1, NULL, NULL);
		void *e = gyre_ephemeron_new(v, val);
		assert_non_null(e);
		GYRE_STORE_AT((void **)gyre_handle_get(refs), 3 * j + 1, e);
		struct traced *t = gyre_alloc(traced_type);
		assert_non_null(t);
		GYRE_STORE(t, ref, (void *)v);
		GYRE_STORE_AT((void **)gyre_handle_get(refs), 3 * j + 2, t);
		assert_int_equal(gyre_finalizer_register(v, on_finalize,
							 (void *)(uintptr_t)v->value), GYRE_OK);
	}
}

/* On another thread, whose stack dies with it: a stale word naming the
 * refs array would keep every survivor (through the tracer objects). */
static void check_refs(void *arg)
{
	size_t n = N / KEEP;
	check_survivors();
	void **r = gyre_handle_get(refs);
	for (size_t j = 0; j < n; j++) {
		void *v = tab()[j * KEEP];
		assert_ptr_equal(gyre_handle_get(handles[j]), v);
		assert_ptr_equal(gyre_weak_get(r[3 * j]), v);
		assert_ptr_equal(gyre_ephemeron_key(r[3 * j + 1]), v);
		struct node *val = gyre_ephemeron_value(r[3 * j + 1]);
		assert_int_equal(val->value, j * KEEP + 1);
		assert_ptr_equal(((struct traced *)r[3 * j + 2])->ref, v);
	}
	/* The registry was rehashed: a moved object is found by its new
	 * address (`arg`: the survivors' addresses before). */
	const uintptr_t *before = arg;
	size_t j = 0;
	while (j < n && (uintptr_t)tab()[j * KEEP] == before[j * KEEP])
		j++;
	assert_true(j < n);
	assert_int_equal(gyre_finalizer_cancel(tab()[j * KEEP]), GYRE_OK);
	/* The rest die, unchained (a chain is finalized a link per
	 * collection); each finalizer sees its own object. */
	for (size_t j = 0; j < n; j++)
		GYRE_STORE((struct node *)tab()[j * KEEP], left, NULL);
	for (size_t j = 0; j < n; j++)
		gyre_handle_free(handles[j]);
	gyre_handle_free(table);
	gyre_handle_free(refs);
}

static void test_references_follow(void)
{
	gyre_type_desc d = {.name = "traced", .size = sizeof(struct traced),
			    .trace = trace_traced};
	traced_type = gyre_type_register(&d);
	assert_true(traced_type != 0);
	harness_in_thread(build, NULL);
	size_t n = N / KEEP;
	handles = calloc(n, sizeof(*handles));
	assert_non_null(handles);
	harness_in_thread(build_refs, NULL);
	uintptr_t *before = addresses();
	gyre_stats s0 = harness_stats();
	assert_true(gyre_collect(2) >= 0);
	assert_true(harness_stats().objects_evacuated > s0.objects_evacuated);
	assert_true(moved_count(before) > 0);
	harness_in_thread(check_refs, before);
	free(before);
	finalized = finalized_wrong = 0;
	harness_clear_stack();
	assert_true(gyre_collect(2) >= 0);
	gyre_run_finalizers(SIZE_MAX);
	assert_int_equal(finalized, n - 1);
	assert_int_equal(finalized_wrong, 0);
	free(handles);
}

/* ----------------------------------------------- at the heap's maximum */

/* A 28 MiB heap: a table of FULL_NODES nodes (16 MiB of 32-byte slots)
 * keeps one in KEEP; then BLOBS objects of another size class (about 10
 * MiB) must find room. Without compaction the nodes' blocks, a quarter
 * full, hold 16 MiB that only nodes can use, and the heap runs out; with
 * it, the full collection at the maximum packs them into a quarter of
 * that and the blobs fit. */
#define FULL_HEAP ((size_t)28 << 20)
#define FULL_NODES (512u << 10)
#define BLOBS (100u << 10)
#define BLOB_BYTES 100

static int up_full(void **state)
{
	(void)state;
	return node_up_with(&(gyre_config){.heap_max = FULL_HEAP, .nursery_size = 4 << 20});
}

static int up_full_off(void **state)
{
	(void)state;
	return node_up_with(&(gyre_config){.heap_max = FULL_HEAP, .nursery_size = 4 << 20,
					   .compact = -1});
}

struct full {
	gyre_handle nodes, blobs;
	unsigned made;     /* blobs allocated */
	int error;         /* the failed allocation's error, or 0 */
};

static void fill_nodes(void *arg)
{
	struct full *f = arg;
	void **t = gyre_alloc_array(GYRE_TYPE_PTR, FULL_NODES);
	assert_non_null(t);
	f->nodes = gyre_handle_new(t);
	for (unsigned i = 0; i < FULL_NODES; i++) {
		struct node *n = node_new(i, NULL, NULL);
		GYRE_STORE_AT((void **)gyre_handle_get(f->nodes), i, n);
	}
	assert_true(gyre_collect(2) >= 0);
	t = gyre_handle_get(f->nodes);
	for (unsigned i = 0; i < FULL_NODES; i++)
		if (i % KEEP)
			GYRE_STORE_AT(t, i, NULL);
}

static void make_blobs(void *arg)
{
	struct full *f = arg;
	void **b = gyre_alloc_array(GYRE_TYPE_PTR, BLOBS);
	assert_non_null(b);
	f->blobs = gyre_handle_new(b);
	for (f->made = 0; f->made < BLOBS; f->made++) {
		char *blob = gyre_alloc_bytes(BLOB_BYTES);
		if (!blob) {
			f->error = gyre_last_error();
			return;
		}
		memset(blob, (int)(f->made & 0xff), BLOB_BYTES);
		GYRE_STORE_AT((void **)gyre_handle_get(f->blobs), f->made, (void *)blob);
	}
}

static void check_full(void *arg)
{
	struct full *f = arg;
	void **t = gyre_handle_get(f->nodes);
	for (unsigned i = 0; i < FULL_NODES; i += KEEP)
		assert_int_equal(((struct node *)t[i])->value, i);
	void **b = gyre_handle_get(f->blobs);
	for (unsigned i = 0; i < f->made; i++)
		assert_int_equal(((unsigned char *)b[i])[BLOB_BYTES - 1], i & 0xff);
}

static void test_full_heap_compacts(void)
{
	struct full f = {0};
	harness_in_thread(fill_nodes, &f);
	harness_in_thread(make_blobs, &f);
	assert_int_equal(f.error, 0);
	assert_int_equal(f.made, BLOBS);
	assert_true(harness_stats().compactions > 0);
	harness_in_thread(check_full, &f);
	gyre_handle_free(f.nodes);
	gyre_handle_free(f.blobs);
}

/* The same without compaction runs out of memory: what the test above
 * shows is compaction's doing. */
static void test_full_heap_without_compaction_runs_out(void)
{
	struct full f = {0};
	harness_in_thread(fill_nodes, &f);
	harness_in_thread(make_blobs, &f);
	assert_int_equal(f.error, GYRE_ENOMEM);
	assert_true(f.made < BLOBS);
	harness_in_thread(check_full, &f);
	gyre_handle_free(f.nodes);
	gyre_handle_free(f.blobs);
}

/* ------------------------------------------ young holders and young targets */

#define YMAGIC 777777
#define YHOLDERS 64

/* Kept: the first half's even nodes (their blocks half full, their cards
 * clean) and the second half's every 16th (sparse). */
static bool kept2(unsigned i)
{
	return i < N / 2 ? i % 2 == 0 : i % 16 == 0;
}

static void build2(void *arg)
{
	(void)arg;
	void **t = gyre_alloc_array(GYRE_TYPE_PTR, N);
	assert_non_null(t);
	table = gyre_handle_new(t);
	for (unsigned i = 0; i < N; i++)
		GYRE_STORE_AT(tab(), i, node_new(i, NULL, NULL));
	assert_true(gyre_collect(2) >= 0);
	for (unsigned i = 0; i < N; i++)
		if (!kept2(i))
			GYRE_STORE_AT(tab(), i, NULL);
}

/* Moved survivors point at a pinned young node: their copies land in
 * blocks whose cards are clean, and must dirty them ([INV-CARDS], checked
 * by the verifier after the collection; the next minor collection finds
 * the young node through them). Pinned young nodes point at moved
 * survivors: their fields follow. */
static void test_young_links_follow(void)
{
	harness_in_thread(build2, NULL);
	struct node *volatile y = node_new(YMAGIC, NULL, NULL);
	struct node *volatile holders[YHOLDERS];
	for (unsigned k = 0; k < YHOLDERS; k++)
		holders[k] = node_new(k, NULL, NULL);
	for (unsigned i = N / 2; i < N; i += 16)
		GYRE_STORE((struct node *)tab()[i], right, (struct node *)y);
	for (unsigned k = 0; k < YHOLDERS; k++)
		GYRE_STORE((struct node *)holders[k], left,
			   (struct node *)tab()[N / 2 + k * 16]);
	uintptr_t *before = addresses();
	gyre_stats s0 = harness_stats();
	assert_true(gyre_collect(2) >= 0);
	assert_true(harness_stats().objects_evacuated > s0.objects_evacuated);
	size_t moved = 0;
	for (unsigned i = N / 2; i < N; i += 16)
		moved += (uintptr_t)tab()[i] != before[i];
	assert_true(moved > 0);
	free(before);
	for (unsigned i = 0; i < N; i++) {
		struct node *n = tab()[i];
		if (!kept2(i)) {
			assert_null(n);
			continue;
		}
		assert_int_equal(n->value, i);
		assert_ptr_equal(n->right, i < N / 2 ? NULL : (struct node *)y);
	}
	for (unsigned k = 0; k < YHOLDERS; k++) {
		assert_ptr_equal(holders[k]->left, tab()[N / 2 + k * 16]);
		assert_int_equal(holders[k]->left->value, N / 2 + k * 16);
	}
	/* y no longer pinned: minor collections move it, found through the
	 * copies' cards. */
	y = NULL;
	for (unsigned k = 0; k < YHOLDERS; k++)
		holders[k] = NULL;
	harness_clear_stack();
	assert_true(gyre_collect(0) >= 0);
	assert_true(gyre_collect(1) >= 0);
	struct node *first = ((struct node *)tab()[N / 2])->right;
	assert_int_equal(first->value, YMAGIC);
	for (unsigned i = N / 2; i < N; i += 16)
		assert_ptr_equal(((struct node *)tab()[i])->right, first);
	gyre_handle_free(table);
}

/* ------------------------------------------------ queued callbacks follow */

#define QW 8000
static gyre_handle wtab;
static size_t qfin, qfin_bad, qweak, qweak_bad;

static void q_finalize(void *obj, void *ctx)
{
	qfin++;
	if (gyre_length(obj) != 1 || ((struct node *)obj)->value != (uint64_t)(uintptr_t)ctx)
		qfin_bad++;
}

static void q_weak(void *weak, void *ctx)
{
	qweak++;
	if (gyre_weak_get(weak) != NULL || (uintptr_t)ctx % KEEP)
		qweak_bad++;
}

/* Weak references with callbacks, dense in generation 2, then 3 in 4
 * dropped (their blocks sparse); finalizers on some of the table's dropped
 * nodes. */
static void build_queued(void *arg)
{
	(void)arg;
	void **w = gyre_alloc_array(GYRE_TYPE_PTR, QW);
	assert_non_null(w);
	wtab = gyre_handle_new(w);
	for (unsigned k = 0; k < QW; k++) {
		void *tgt = tab()[(k % (N / KEEP)) * KEEP];
		void *r = gyre_weak_new(tgt, q_weak, (void *)(uintptr_t)k);
		assert_non_null(r);
		GYRE_STORE_AT((void **)gyre_handle_get(wtab), k, r);
	}
	assert_true(gyre_collect(2) >= 0);
	for (unsigned k = 0; k < QW; k++)
		if (k % KEEP)
			GYRE_STORE_AT((void **)gyre_handle_get(wtab), k, NULL);
}

static void test_queues_follow(void)
{
	harness_in_thread(build, NULL);
	harness_in_thread(build_queued, NULL);
	/* Every survivor dies now: the kept weak references' callbacks are
	 * queued; a few finalizable survivors are queued too. */
	size_t nfin = 0;
	for (unsigned i = 0; i < N; i += KEEP)
		GYRE_STORE((struct node *)tab()[i], left, NULL);
	for (unsigned i = 0; i < N; i += 16 * KEEP, nfin++)
		assert_int_equal(gyre_finalizer_register(tab()[i], q_finalize,
							 (void *)(uintptr_t)i), GYRE_OK);
	for (unsigned i = 0; i < N; i++)
		GYRE_STORE_AT((void **)tab(), i, NULL);
	harness_clear_stack();
	gyre_stats s0 = harness_stats();
	assert_true(gyre_collect(2) >= 0);
	assert_true(harness_stats().objects_evacuated > s0.objects_evacuated);
	qfin = qfin_bad = qweak = qweak_bad = 0;
	gyre_run_finalizers(SIZE_MAX);
	assert_int_equal(qweak, QW / KEEP);
	assert_int_equal(qweak_bad, 0);
	assert_int_equal(qfin, nfin);
	assert_int_equal(qfin_bad, 0);
	gyre_handle_free(wtab);
	gyre_handle_free(table);
}

/* Objects that found no room in the parallel evacuation (one in three
 * refused, by the test hook) are moved by the mop-up: none stays. */
static void test_mop_up_moves_the_rest(void)
{
	harness_in_thread(build, NULL);
	gyre_stats s0 = harness_stats();
	compact_refuse_every(3);
	assert_true(gyre_collect(2) >= 0);
	compact_refuse_every(0);
	gyre_stats s1 = harness_stats();
	assert_true(s1.objects_evacuated - s0.objects_evacuated >= N / KEEP / 2);
	assert_true(s1.old_free_bytes * 100 < s1.old_block_bytes * 15);
	assert_true(compact_mopped() > 0);
	check_survivors();
	gyre_handle_free(table);
}

/* A frozen table (gyre_freeze) filled afterwards: its nodes live in
 * generation 2 and move; the frozen table's fields follow them. */
static void fill_frozen_table(void *arg)
{
	(void)arg;
	void **t = tab();
	for (unsigned i = 0; i < N; i++)
		GYRE_STORE_AT(t, i, node_new(i, NULL, NULL));
	assert_true(gyre_collect(2) >= 0);
	for (unsigned i = 0; i < N; i++)
		if (i % KEEP)
			GYRE_STORE_AT(t, i, NULL);
}

static void test_frozen_holder_follows(void)
{
	void **t = gyre_alloc_array(GYRE_TYPE_PTR, N);
	assert_non_null(t);
	table = gyre_handle_new(t);
	t = NULL;
	assert_int_equal(gyre_freeze(), GYRE_OK);
	harness_in_thread(fill_frozen_table, NULL);
	gyre_stats s0 = harness_stats();
	harness_clear_stack();
	assert_true(gyre_collect(2) >= 0);
	assert_true(harness_stats().objects_evacuated - s0.objects_evacuated >= N / KEEP / 2);
	void **ft = tab();
	for (unsigned i = 0; i < N; i += KEEP)
		assert_int_equal(((struct node *)ft[i])->value, i);
	assert_int_equal(gyre_unfreeze(), GYRE_OK);
	gyre_handle_free(table);
}

/* ---------------------------------------------------------- configuration */

static int up_off(void **state)
{
	(void)state;
	setenv("GYRE_COMPACT", "0", 1);
	int rc = node_up_with(NULL);
	unsetenv("GYRE_COMPACT");
	return rc;
}

static void test_off_moves_nothing(void)
{
	harness_in_thread(build, NULL);
	uintptr_t *before = addresses();
	assert_true(gyre_collect(2) >= 0);
	gyre_stats s = harness_stats();
	assert_int_equal(s.compactions, 0);
	assert_int_equal(s.objects_evacuated, 0);
	assert_int_equal(moved_count(before), 0);
	check_survivors();
	free(before);
	gyre_handle_free(table);
}

static void env_three(void)
{
	setenv("GYRE_COMPACT", "3", 1);
	int rc = gyre_init(NULL);
	unsetenv("GYRE_COMPACT");
	exit(rc == GYRE_EINVAL ? 0 : 1);
}

static void field_five(void)
{
	exit(gyre_init(&(gyre_config){.compact = 5}) == GYRE_EINVAL ? 0 : 1);
}

static void budget_fifty(void)
{
	exit(gyre_init(&(gyre_config){.compact_budget_us = 50}) == GYRE_EINVAL ? 0 : 1);
}

static void field_minus_two(void)
{
	exit(gyre_init(&(gyre_config){.compact = -2}) == GYRE_EINVAL ? 0 : 1);
}

/* Checked builds name the misuse and abort; the others return EINVAL. */
static void test_bad_values(void **state)
{
	(void)state;
	if (GYRE_DEBUG) {
		harness_expect_abort(env_three, "GYRE_COMPACT=\"3\" must be 0, 1 or 2");
		harness_expect_abort(field_five, "config compact = 5");
		harness_expect_abort(field_minus_two, "config compact = -2");
		harness_expect_abort(budget_fifty, "config compact_budget_us = 50");
	} else {
		harness_expect_exit0(env_three);
		harness_expect_exit0(field_five);
		harness_expect_exit0(field_minus_two);
		harness_expect_exit0(budget_fifty);
	}
}

#define BODY(fn) (&(struct body){fn})

int main(void)
{
	const struct CMUnitTest on[] = {
		cmocka_unit_test_prestate_setup_teardown(run_body, up, node_down,
							 BODY(test_fragmented_table_compacts)),
		cmocka_unit_test_prestate_setup_teardown(run_body, up, node_down,
							 BODY(test_locals_pin)),
		cmocka_unit_test_prestate_setup_teardown(run_body, up_no_thread, node_down,
							 BODY(test_references_follow)),
		cmocka_unit_test_prestate_setup_teardown(run_body, up_full, node_down,
							 BODY(test_full_heap_compacts)),
		cmocka_unit_test_prestate_setup_teardown(run_body, up_full_off, node_down,
							 BODY(test_full_heap_without_compaction_runs_out)),
		cmocka_unit_test_prestate_setup_teardown(run_body, up, node_down,
							 BODY(test_young_links_follow)),
		cmocka_unit_test_prestate_setup_teardown(run_body, up_no_thread, node_down,
							 BODY(test_queues_follow)),
		cmocka_unit_test_prestate_setup_teardown(run_body, up, node_down,
							 BODY(test_mop_up_moves_the_rest)),
		cmocka_unit_test_prestate_setup_teardown(run_body, up, node_down,
							 BODY(test_frozen_holder_follows)),
		cmocka_unit_test_prestate_setup_teardown(run_body, up_off, node_down,
							 BODY(test_off_moves_nothing)),
		cmocka_unit_test(test_bad_values),
	};
	return cmocka_run_group_tests(on, NULL, NULL);
}
