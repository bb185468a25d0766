/*
 * api_final.c: the public functions of weak references and finalizers
 * (gyre.h; gc/weak.h and gc/final.h have the rules). Like api.c, each
 * checks its arguments and the calling thread, then calls the internals.
 */
#include "gc/alloc.h"
#include "gc/final.h"
#include "gc/heap.h"
#include "gc/large.h"
#include "gc/object.h"
#include "gc/type.h"
#include "gc/weak.h"
#include "runtime/api.h"

/* [INV-WEAK-SHADE] While generation 2 is marked concurrently, an object
 * the program obtains through a weak reference is logged like a value
 * GYRE_STORE overwrites, so that the cycle marks it: the program may
 * store it anywhere now. */
static inline void shade(void *obj)
{
	if (__builtin_expect(__atomic_load_n(&gyre__marking, __ATOMIC_RELAXED), 0)) {
		struct gyre__satb *q = &gyre__satb;
		if (q->cursor != q->limit)
			*q->cursor++ = obj;
		else
			gyre__satb_record(obj);
	}
}

/* True if obj can be the start of an object, checked in every build
 * (the registry must never hold anything else): in a block in use, at a
 * slot boundary, and, outside the nursery (whose blocks have no start
 * bits while threads fill them), at a slot that holds an object; or a
 * large object's payload. */
static bool object_start(void *obj)
{
	uintptr_t p = (uintptr_t)obj;
	if (p % sizeof(void *))
		return false;
	if (!heap_contains(p))
		return large_of(obj)->magic == LARGE_MAGIC;
	struct block *b = block_of(p);
	if (b->state == BLOCK_FREE || ((p & (BLOCK_SIZE - 1)) - HEADER_SIZE) % b->obj_size)
		return false;
	return b->state == BLOCK_NURSERY ||
	       bit_test(b->starts, block_slot(b, p - HEADER_SIZE));
}

GYRE_API void *gyre_weak_new(void *target, gyre_weak_fn callback, void *ctx)
{
	const char *fn = "gyre_weak_new";
	int rc;
	struct mutator *m = api_heap_user(fn, &rc);
	if (!m)
		return NULL;
	if (!target) {
		gyre_misuse(GYRE_EINVAL, fn, "target is NULL");
		return NULL;
	}
	if (api_check_object(fn, target))
		return NULL;
	/* `target` is a root in this frame meanwhile: it is pinned if the
	 * allocation collects. */
	struct weak_obj *w = alloc_object(m, HEADER_SIZE + sizeof(*w),
					  header_make(TYPE_WEAK, 1), true);
	if (!w)
		return NULL;
	w->fn = callback;
	w->ctx = ctx;
	shade(target);
	gyre__store(w, offsetof(struct weak_obj, target), target);
	return w;
}

static bool is_weak(const char *fn, const void *weak)
{
	if (!weak) {
		gyre_misuse(GYRE_EINVAL, fn, "weak is NULL");
		return false;
	}
	if (api_check_object(fn, (void *)weak))
		return false;
	if (header_type(*object_header(weak)) != TYPE_WEAK) {
		gyre_misuse(GYRE_EINVAL, fn, "%p is not a weak reference", weak);
		return false;
	}
	return true;
}

GYRE_API void *gyre_weak_get(const void *weak)
{
	int rc;
	if (!api_heap_user("gyre_weak_get", &rc) || !is_weak("gyre_weak_get", weak))
		return NULL;
	/* Written only with the world stopped. */
	void *target = __atomic_load_n(&((struct weak_obj *)weak)->target, __ATOMIC_RELAXED);
	if (target)
		shade(target);
	return target;
}

GYRE_API int gyre_finalizer_register(void *obj, gyre_finalize_fn fn, void *ctx)
{
	const char *name = "gyre_finalizer_register";
	int rc;
	if (!api_heap_user(name, &rc))
		return rc;
	if (!obj || !fn)
		return gyre_misuse(GYRE_EINVAL, name, "%s is NULL", obj ? "fn" : "obj");
	if (!object_start(obj))
		return gyre_misuse(GYRE_EINVAL, name, "%p is not the start of a gyre object",
				   obj);
	rc = final_register(obj, fn, ctx);
	if (rc == GYRE_EINVAL)
		return gyre_misuse(rc, name, "%p already has a finalizer", obj);
	return rc ? gyre_fail(rc) : GYRE_OK;
}

GYRE_API int gyre_finalizer_cancel(void *obj)
{
	const char *name = "gyre_finalizer_cancel";
	int rc;
	if (!api_heap_user(name, &rc))
		return rc;
	if (!obj)
		return gyre_misuse(GYRE_EINVAL, name, "obj is NULL");
	if (final_cancel(obj))
		return gyre_misuse(GYRE_ENOTFOUND, name,
				   "%p has no finalizer registered (or it is due to run)", obj);
	return GYRE_OK;
}

GYRE_API size_t gyre_run_finalizers(size_t max)
{
	int rc;
	if (!api_heap_user("gyre_run_finalizers", &rc))
		return 0;
	return final_run(max);
}
