/*
 * weakrefs.c: the stress test's weak references, ephemerons and
 * finalizable objects (weakrefs.h). Each thread keeps a table of ENTRIES
 * entries in a pointer array held by a handle; an entry is a weak
 * reference or an ephemeron, whose target (key) the thread keeps alive
 * in a second array or has dropped. Operations replace entries, drop and
 * keep targets, and allocate finalizable cells that die at once. After
 * every collection the thread observes, weakrefs_verify checks:
 *
 * - a weak reference or ephemeron whose target is kept reads exactly
 *   that target, intact (an ephemeron also its value, which points back
 *   at its key);
 * - one whose target was dropped reads NULL or the target, intact (the
 *   collection of its generation may not have run yet), and an
 *   ephemeron's key and value are cleared together.
 *
 * Finalizers (run on gyre's finalizer thread) check that the cell they
 * receive is intact, together with the cell it reaches, and that no cell
 * is finalized twice (a bitmap of cell ids, process-wide); half the weak
 * references have a callback, which checks that the target reads NULL.
 */
#include "weakrefs.h"
#include "report.h"

#include <stdatomic.h>
#include <stdlib.h>

#define ENTRIES (sizeof(((struct weakrefs *)0)->ephemeron))
#define CELL_IDS (1u << 24)   /* ids of finalizable cells: a bitmap */

/* A target, key, value or finalizable cell: `link` is its only pointer
 * field (an ephemeron's value points back at its key through it). */
struct cell {
	struct cell *link;
	uint64_t id;
	uint64_t check;           /* cell_check(id) */
};

static gyre_type cell_type;
/* Finalized cell ids. Sync: atomic bits, set by the finalizer thread. */
static _Atomic uint64_t finalized[CELL_IDS / 64];
/* Finalizers and weak-reference callbacks that ran. Relaxed: counts. */
static _Atomic uint64_t finalizers_ran, callbacks_ran;

static uint64_t cell_check(uint64_t id)
{
	return id * 0x9e3779b97f4a7c15u ^ 0x5555;
}

void weakrefs_register(void)
{
	static const size_t offs[] = { offsetof(struct cell, link) };
	gyre_type_desc d = { .name = "stress.cell", .size = sizeof(struct cell),
			     .ptr_offsets = offs, .n_ptrs = 1 };

	cell_type = gyre_type_register(&d);
	if (!cell_type)
		fail("registering the cell type");
}

uint64_t weakrefs_finalized(void)
{
	return atomic_load_explicit(&finalizers_ran, memory_order_relaxed);
}

static struct cell *cell_new(struct weakrefs *w, struct cell *link)
{
	struct cell *c = gyre_alloc(cell_type);

	if (!c)
		fail("allocating a cell");
	c->id = w->next_id++;
	c->check = cell_check(c->id);
	GYRE_STORE(c, link, link);
	return c;
}

static void cell_intact(const struct cell *c, const char *what)
{
	if (!c || c->check != cell_check(c->id))
		fail("%s %p is not an intact cell (id %llu, check %#llx)", what,
		     (const void *)c, c ? (unsigned long long)c->id : 0ULL,
		     c ? (unsigned long long)c->check : 0ULL);
}

/* Runs on the finalizer thread. */
static void cell_finalize(void *obj, void *ctx)
{
	struct cell *c = obj;

	(void)ctx;
	cell_intact(c, "a finalized cell");
	cell_intact(c->link, "what a finalized cell reaches");
	uint64_t bit = UINT64_C(1) << (c->id % 64);
	if (atomic_fetch_or(&finalized[(c->id % CELL_IDS) / 64], bit) & bit)
		fail("cell %llu finalized twice", (unsigned long long)c->id);
	atomic_fetch_add_explicit(&finalizers_ran, 1, memory_order_relaxed);
}

uint64_t weakrefs_callbacks(void)
{
	return atomic_load_explicit(&callbacks_ran, memory_order_relaxed);
}

/* Runs on the finalizer thread: the target is cleared before. */
static void weak_cleared(void *weak, void *ctx)
{
	(void)ctx;
	if (gyre_weak_get(weak))
		fail("a weak reference's callback ran before its target was cleared");
	atomic_fetch_add_explicit(&callbacks_ran, 1, memory_order_relaxed);
}

void weakrefs_init(struct weakrefs *w, int thread)
{
	/* Finalizable cells get ids that fit the bitmap; the others need
	 * only be unique. */
	w->next_id = (uint64_t)thread << 40;
	w->fin_id = (uint64_t)thread * (CELL_IDS / 64);
	w->table = gyre_handle_new(gyre_alloc_array(GYRE_TYPE_PTR, ENTRIES));
	w->kept = gyre_handle_new(gyre_alloc_array(GYRE_TYPE_PTR, ENTRIES));
	if (!w->table || !w->kept)
		fail("allocating the weak tables");
}

void weakrefs_fini(struct weakrefs *w)
{
	if (gyre_handle_free(w->table) || gyre_handle_free(w->kept))
		fail("freeing the weak tables' handles");
}

/* Entry i becomes a new weak reference or ephemeron to a new target,
 * kept or not. */
static void replace(struct weakrefs *w, struct rng *r, size_t i)
{
	struct cell *t = cell_new(w, NULL);
	void *e;

	w->ephemeron[i] = rng_below(r, 2);
	if (w->ephemeron[i])
		e = gyre_ephemeron_new(t, cell_new(w, t));
	else
		e = gyre_weak_new(t, rng_below(r, 2) ? weak_cleared : NULL, NULL);
	if (!e)
		fail("a weak reference or ephemeron");
	void **table = gyre_handle_get(w->table), **kept = gyre_handle_get(w->kept);
	GYRE_STORE_AT(table, i, e);
	GYRE_STORE_AT(kept, i, rng_below(r, 2) ? t : NULL);
}

/* A finalizable cell reaching another, dropped at once. */
static void finalizable(struct weakrefs *w)
{
	struct cell *c = cell_new(w, cell_new(w, NULL));

	c->id = w->fin_id++ % CELL_IDS;
	c->check = cell_check(c->id);
	if (gyre_finalizer_register(c, cell_finalize, NULL))
		fail("gyre_finalizer_register");
}

void weakrefs_step(struct weakrefs *w, struct rng *r)
{
	size_t i = rng_below(r, ENTRIES);
	uint64_t x = rng_below(r, 100);

	if (x < 60) {
		replace(w, r, i);
	} else if (x < 80) {
		void **kept = gyre_handle_get(w->kept);
		GYRE_STORE_AT(kept, i, NULL);
	} else {
		finalizable(w);
	}
}

static void verify_ephemeron(void *e, struct cell *k, size_t i, const char *when)
{
	struct cell *key = gyre_ephemeron_key(e), *v = gyre_ephemeron_value(e);

	if (k && key != k)
		fail("%s: entry %zu: ephemeron key %p, kept %p", when, i, (void *)key,
		     (void *)k);
	if (!key != !v)
		fail("%s: entry %zu: ephemeron key %p with value %p", when, i,
		     (void *)key, (void *)v);
	if (!key)
		return;
	cell_intact(key, "an ephemeron's key");
	cell_intact(v, "an ephemeron's value");
	if (v->link != key)
		fail("%s: entry %zu: an ephemeron's value does not point at its key",
		     when, i);
}

void weakrefs_verify(struct weakrefs *w, const char *when)
{
	void **table = gyre_handle_get(w->table), **kept = gyre_handle_get(w->kept);

	for (size_t i = 0; i < ENTRIES; i++) {
		void *e = table[i];
		struct cell *k = kept[i];
		if (!e)
			continue;
		if (w->ephemeron[i]) {
			verify_ephemeron(e, k, i, when);
			continue;
		}
		struct cell *t = gyre_weak_get(e);
		if (k && t != k)
			fail("%s: entry %zu: weak reference reads %p, kept %p", when, i,
			     (void *)t, (void *)k);
		if (t)
			cell_intact(t, "a weak reference's target");
	}
}
