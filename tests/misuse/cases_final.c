/*
 * cases_final.c: the misuse cases of weak references, ephemerons and
 * finalizers
 * (gyre.h, "weak references, finalizers"), in the form of cases_misuse.c:
 * each runs in a forked child set up by misuse.c, commits one misuse and
 * returns the status.
 */
#include "misuse.h"

static gyre_type node_type(void)
{
	static const size_t offs[] = {0};
	gyre_type_desc d = {.name = "node", .size = 64, .ptr_offsets = offs, .n_ptrs = 1};
	gyre_type t = gyre_type_register(&d);
	if (!t)
		setup_failed("gyre_type_register");
	return t;
}

static void never(void *obj, void *ctx)
{
	(void)obj;
	(void)ctx;
}

int finalizer_thread_out_of_range(void)
{
	return gyre_init(&(gyre_config){.finalizer_thread = 2});
}

int finalizer_thread_env_bad(void)
{
	setenv("GYRE_FINALIZER_THREAD", "yes", 1);
	return gyre_init(NULL);
}

int weak_new_null(void)
{
	init_attached();
	return status_of((uintptr_t)gyre_weak_new(NULL, NULL, NULL));
}

int weak_new_unattached(void)
{
	init_or_die(NULL);
	return status_of((uintptr_t)gyre_weak_new(&never, NULL, NULL));
}

int weak_get_not_weak(void)
{
	init_attached();
	return status_of((uintptr_t)gyre_weak_get(gyre_alloc(node_type())));
}

int weak_get_null(void)
{
	init_attached();
	return status_of((uintptr_t)gyre_weak_get(NULL));
}

int ephemeron_new_null_key(void)
{
	init_attached();
	return status_of((uintptr_t)gyre_ephemeron_new(NULL, NULL));
}

int ephemeron_value_not_ephemeron(void)
{
	init_attached();
	void *obj = gyre_alloc(node_type());
	return status_of((uintptr_t)gyre_ephemeron_value(gyre_weak_new(obj, NULL, NULL)));
}

int alloc_gyre_own_type(void)
{
	init_attached();
	/* The ids after the public built-ins: weak references, ephemerons. */
	if ((gyre_alloc)(GYRE_TYPE_BYTE + 2))
		return GYRE_OK;
	return status_of((uintptr_t)(gyre_alloc)(GYRE_TYPE_BYTE + 1));
}

int finalizer_register_null(void)
{
	init_attached();
	return gyre_finalizer_register(NULL, never, NULL);
}

int finalizer_register_no_fn(void)
{
	init_attached();
	return gyre_finalizer_register(gyre_alloc(node_type()), NULL, NULL);
}

int finalizer_register_twice(void)
{
	init_attached();
	void *obj = gyre_alloc(node_type());
	if (gyre_finalizer_register(obj, never, NULL) != GYRE_OK)
		setup_failed("gyre_finalizer_register");
	return gyre_finalizer_register(obj, never, NULL);
}

int finalizer_register_interior(void)
{
	init_attached();
	/* A large object: old from the start, and never pinned in place of
	 * being moved, so the interior address is not a slot's. */
	char *big = gyre_alloc_bytes(64 * 1024);
	if (!big)
		setup_failed("gyre_alloc_bytes");
	return gyre_finalizer_register(big + 16, never, NULL);
}

int finalizer_register_blocking(void)
{
	init_attached();
	void *obj = gyre_alloc(node_type());
	if (gyre_blocking_begin() != GYRE_OK)
		setup_failed("gyre_blocking_begin");
	return gyre_finalizer_register(obj, never, NULL);
}

int finalizer_cancel_unregistered(void)
{
	init_attached();
	return gyre_finalizer_cancel(gyre_alloc(node_type()));
}

int run_finalizers_unattached(void)
{
	init_or_die(NULL);
	gyre_run_finalizers(1);
	return gyre_last_error();
}
