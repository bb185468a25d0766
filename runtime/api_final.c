/*
 * api_final.c: the public functions of weak references, ephemerons and
 * finalizers
 * (gyre.h; gc/final/weak.h and gc/final/final.h have the rules). Like api.c, each
 * checks its arguments and the calling thread, then calls the internals.
 */
#include "gc/young/alloc.h"
#include "gc/final/final.h"
#include "gc/heap/heap.h"
#include "gc/heap/packed.h"
#include "gc/heap/large.h"
#include "gc/heap/object.h"
#include "gc/heap/type.h"
#include "gc/final/weak.h"
#include "runtime/api.h"

/* [INV-WEAK-SHADE] While generation 2 is marked concurrently, an object
 * the program obtains through a weak reference is logged like a value
 * GYRE_STORE overwrites, so that the cycle marks it: the program may
 * store it anywhere now. */
static inline void shade(void *obj)
{
	if (__builtin_expect(__atomic_load_n(&gyre__marking, __ATOMIC_RELAXED), 0))
		gyre__satb_log(obj);
}

/* Reads one of gyre's own words (a weak reference's target, an
 * ephemeron's key or value) and logs what it read [INV-WEAK-SHADE].
 * Logging may run a pause (a backlogged log ends the cycle; waiting for
 * the collector's lock lets other threads' pauses run), which may clear
 * or move what was read: it is read again until the value logged is the
 * value held. The object holding the word is pinned by the caller's
 * frame meanwhile. The words are written only with the world stopped. */
static void *read_shaded(void *const *word)
{
	void *v = __atomic_load_n(word, __ATOMIC_RELAXED);
	while (v) {
		shade(v);
		void *again = __atomic_load_n(word, __ATOMIC_RELAXED);
		if (again == v)
			break;
		v = again;
	}
	return v;
}

/* True if obj can be the start of an object, checked in every build
 * (the registry must never hold anything else): in a block in use, at a
 * slot boundary, and, outside the nursery (whose blocks have no start
 * bits while threads fill them; the next collection checks those,
 * final_check_young), at a slot that holds an object; or a large
 * object's payload. */
static bool object_start(void *obj)
{
	uintptr_t p = (uintptr_t)obj;
	if (p % sizeof(void *))
		return false;
	if (!heap_contains(p))
		return large_valid(obj);
	struct block *b = block_of(p);
	if (b->state == BLOCK_FREE || ((p & (BLOCK_SIZE - 1)) - HEADER_SIZE) % b->obj_size)
		return false;
	/* Relaxed: the lazy sweep may be rewriting the word (sweep.c); an
	 * object the program holds keeps its bit. */
	uint32_t s = block_slot(b, p - HEADER_SIZE);
	if (b->state == BLOCK_NURSERY)
		return true;
	if (!(__atomic_load_n(&b->starts[s / 64], __ATOMIC_RELAXED) >> (s % 64) & 1))
		return false;
	/* A packed block's filler is a hole, not an object (packed.h). */
	return b->state != BLOCK_PACKED ||
	       !packed_is_filler(__atomic_load_n(object_header(obj), __ATOMIC_RELAXED));
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

/* True if obj is one of gyre's own objects of type `type`; else the
 * misuse is reported (`what`: "a weak reference", "an ephemeron"). */
static bool is_own(const char *fn, const void *obj, gyre_type type, const char *what)
{
	if (!obj) {
		gyre_misuse(GYRE_EINVAL, fn, "the argument is NULL, not %s", what);
		return false;
	}
	if (api_check_object(fn, (void *)obj))
		return false;
	if (header_type(*object_header(obj)) != type) {
		gyre_misuse(GYRE_EINVAL, fn, "%p is not %s", obj, what);
		return false;
	}
	return true;
}

GYRE_API void *gyre_weak_get(const void *weak)
{
	int rc;
	if (!api_heap_user("gyre_weak_get", &rc) ||
	    !is_own("gyre_weak_get", weak, TYPE_WEAK, "a weak reference"))
		return NULL;
	return read_shaded(&((struct weak_obj *)weak)->target);
}

GYRE_API void *gyre_ephemeron_new(void *key, void *value)
{
	const char *fn = "gyre_ephemeron_new";
	int rc;
	struct mutator *m = api_heap_user(fn, &rc);
	if (!m)
		return NULL;
	if (!key) {
		gyre_misuse(GYRE_EINVAL, fn, "key is NULL");
		return NULL;
	}
	if (api_check_object(fn, key) || api_check_object(fn, value))
		return NULL;
	/* key and value are roots in this frame meanwhile (pinned). */
	struct eph_obj *e = alloc_object(m, HEADER_SIZE + sizeof(*e),
					 header_make(TYPE_EPHEMERON, 1), true);
	if (!e)
		return NULL;
	shade(key);
	gyre__store(e, offsetof(struct eph_obj, key), key);
	if (value) {
		shade(value);
		gyre__store(e, offsetof(struct eph_obj, value), value);
	}
	return e;
}

/* One of an ephemeron's words; both read NULL once the key died. */
static void *eph_word(const char *fn, const void *eph, size_t word)
{
	int rc;
	if (!api_heap_user(fn, &rc) || !is_own(fn, eph, TYPE_EPHEMERON, "an ephemeron"))
		return NULL;
	return read_shaded((void *const *)eph + word);
}

GYRE_API void *gyre_ephemeron_key(const void *eph)
{
	return eph_word("gyre_ephemeron_key", eph, 0);
}

GYRE_API void *gyre_ephemeron_value(const void *eph)
{
	return eph_word("gyre_ephemeron_value", eph, 1);
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
