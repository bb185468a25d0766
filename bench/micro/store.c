/*
 * store.c: the cost of GYRE_STORE, the write barrier every pointer store
 * into a gyre object goes through, against the plain C store it replaces.
 * The barrier marks a card when the holder is old (it returns early for a
 * young one) and logs the old value while generation 2 is being marked;
 * store/GYRE_STORE stores into a young holder, store/GYRE_STORE_old into
 * one in generation 2 (no cycle runs, so nothing is logged). Each iteration
 * stores one pointer (to one of 16 small heap objects) into one of the 8
 * pointer fields of a heap object, cycling through the fields; a compiler
 * barrier after each store keeps every store in the loop, as stores into a
 * heap object the program goes on to use would be. Reported time is per
 * store. The array variant measures GYRE_STORE_AT into a GYRE_TYPE_PTR
 * array of 8 elements the same way.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include <gyre.h>

#include "gbench.h"

/* The object stored into: 8 pointer fields. */
struct holder {
	void *f[8];
};

/* Stores per gbench_keep_running_batch call. */
#define BATCH 1024
/* Distinct values stored. */
#define NVALUES 16

static gyre_type holder_type;

static void die(const char *what)
{
	fprintf(stderr, "%s: %s\n", what, gyre_strerror(gyre_last_error()));
	exit(2);
}

/* The stored-into object and the stored values. The benchmark runs on one
 * thread, attached for the whole call: with one thread Google Benchmark's
 * start and stop barriers never wait. The objects are kept alive by this
 * function's locals (stack roots). */
struct fixture {
	struct holder *obj;
	void **array;
	void *values[NVALUES];
};

static void fixture_make(struct fixture *fx)
{
	if (gyre_thread_attach() != GYRE_OK)
		die("gyre_thread_attach");
	fx->obj = gyre_alloc(holder_type);
	fx->array = gyre_alloc_array(GYRE_TYPE_PTR, 8);
	if (fx->obj == NULL || fx->array == NULL)
		die("gyre_alloc");
	for (int i = 0; i < NVALUES; i++) {
		fx->values[i] = gyre_alloc_bytes(16);
		if (fx->values[i] == NULL)
			die("gyre_alloc_bytes");
	}
}

/* A holder only a handle reaches (allocated in a frame that is gone by
 * the collection, so that no stack word pins it in the nursery). */
static __attribute__((noinline)) gyre_handle holder_in_handle(void)
{
	return gyre_handle_new(gyre_alloc(holder_type));
}

/* The fixture, with the holder moved to generation 2 by two full
 * collections. */
static void fixture_make_old(struct fixture *fx)
{
	gyre_handle h;

	fixture_make(fx);
	fx->obj = NULL;
	h = holder_in_handle();
	if (h == NULL || gyre_handle_get(h) == NULL)
		die("gyre_handle_new");
	if (gyre_collect(2) < 0 || gyre_collect(2) < 0)
		die("gyre_collect");
	fx->obj = gyre_handle_get(h);
	if (gyre_handle_free(h) != GYRE_OK)
		die("gyre_handle_free");
}

static void fixture_drop(gbench_state *st, struct fixture *fx)
{
	gbench_set_items_processed(st, gbench_iterations(st));
	*fx = (struct fixture){ NULL };
	if (gyre_thread_detach() != GYRE_OK)
		die("gyre_thread_detach");
}

/* Makes the compiler keep the store just made to *obj. */
#define KEEP(obj) __asm__ volatile("" : : "r"(obj) : "memory")

static void bm_plain(gbench_state *st)
{
	struct fixture fx;

	fixture_make(&fx);
	while (gbench_keep_running_batch(st, BATCH)) {
		for (size_t i = 0; i < BATCH; i++) {
			fx.obj->f[i % 8] = fx.values[i % NVALUES];
			KEEP(fx.obj);
		}
	}
	fixture_drop(st, &fx);
}

static void bm_gyre_store(gbench_state *st)
{
	struct fixture fx;

	fixture_make(&fx);
	while (gbench_keep_running_batch(st, BATCH)) {
		for (size_t i = 0; i < BATCH; i++) {
			GYRE_STORE(fx.obj, f[i % 8], fx.values[i % NVALUES]);
			KEEP(fx.obj);
		}
	}
	fixture_drop(st, &fx);
}

static void bm_gyre_store_old(gbench_state *st)
{
	struct fixture fx;

	fixture_make_old(&fx);
	while (gbench_keep_running_batch(st, BATCH)) {
		for (size_t i = 0; i < BATCH; i++) {
			GYRE_STORE(fx.obj, f[i % 8], fx.values[i % NVALUES]);
			KEEP(fx.obj);
		}
	}
	fixture_drop(st, &fx);
}

static void bm_gyre_store_at(gbench_state *st)
{
	struct fixture fx;

	fixture_make(&fx);
	while (gbench_keep_running_batch(st, BATCH)) {
		for (size_t i = 0; i < BATCH; i++) {
			GYRE_STORE_AT(fx.array, i % 8, fx.values[i % NVALUES]);
			KEEP(fx.array);
		}
	}
	fixture_drop(st, &fx);
}

int main(int argc, char **argv)
{
	static const size_t offs[] = { 0, 8, 16, 24, 32, 40, 48, 56 };
	gyre_type_desc d = { .name = "holder", .size = sizeof(struct holder),
	                     .ptr_offsets = offs, .n_ptrs = 8 };
	int status = gyre_init(NULL);

	if (status != GYRE_OK) {
		fprintf(stderr, "gyre_init: %s\n", gyre_strerror(status));
		return 2;
	}
	holder_type = gyre_type_register(&d);
	if (holder_type == 0)
		die("gyre_type_register");
	gbench_register("store/plain", bm_plain);
	gbench_register("store/GYRE_STORE", bm_gyre_store);
	gbench_register("store/GYRE_STORE_old", bm_gyre_store_old);
	gbench_register("store/GYRE_STORE_AT", bm_gyre_store_at);
	status = gbench_main(argc, argv);
	if (gyre_shutdown() != GYRE_OK) {
		fprintf(stderr, "gyre_shutdown failed\n");
		return 2;
	}
	return status;
}
