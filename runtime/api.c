/*
 * api.c: every public gyre_* function. Each checks its arguments and the
 * calling thread's state, reports a misuse by name (gyre_misuse), and then
 * calls the internals, which may assume valid input. Also the lifecycle:
 * gyre_init brings the parts up in dependency order and gyre_shutdown
 * takes them down in reverse.
 */
/* The functions behind gyre.h's inline allocation macros are defined
 * here under their own names. */
#define GYRE_NO_INLINE 1

#include <pthread.h>
#include <stdatomic.h>

#include "gc/young/alloc.h"
#include "gc/driver/collect.h"
#include "gc/final/final.h"
#include "gc/heap/heap.h"
#include "gc/heap/large.h"
#include "gc/old/compact.h"
#include "gc/old/mark.h"
#include "gc/old/marker.h"
#include "gc/young/minor.h"
#include "gc/heap/roots.h"
#include "gc/old/satb.h"
#include "gc/old/sweep.h"
#include "gc/heap/type.h"
#include "runtime/api.h"
#include "runtime/config.h"
#include "runtime/critical.h"
#include "runtime/events.h"
#include "runtime/fork.h"
#include "runtime/meta.h"
#include "runtime/stats.h"
#include "threads/safepoint.h"
#include "threads/ttsp.h"
#include "threads/workers.h"

/* Sync: written by gyre_init and gyre_shutdown, which the embedder must not
 * run concurrently with any other gyre call; relaxed reads elsewhere. */
static _Atomic bool initialized;

int api_need_init(const char *fn)
{
	if (!atomic_load_relaxed(&initialized))
		return gyre_misuse(GYRE_ESTATE, fn, "gyre is not initialised");
	return GYRE_OK;
}

/* The calling thread's mutator if it may touch the heap; else NULL with
 * the misuse reported in *rc. */
struct mutator *api_heap_user(const char *fn, int *rc)
{
	*rc = api_need_init(fn);
	if (*rc)
		return NULL;
	struct mutator *m = mutator_current();
	if (!m) {
		*rc = gyre_misuse(GYRE_ENOTATTACHED, fn,
				  "the calling thread is not attached (gyre_thread_attach)");
		return NULL;
	}
	if (atomic_load_relaxed(&m->state) == MUTATOR_BLOCKING) {
		*rc = gyre_misuse(GYRE_EBLOCKING, fn,
				  "called inside a blocking region");
		return NULL;
	}
	/* Callbacks run on the collector thread too, which has no heap, and
	 * a collection started in one would deliver inside a delivery. */
	if (events_in_callback()) {
		*rc = gyre_misuse(GYRE_ESTATE, fn, "called from inside an event callback");
		return NULL;
	}
	return m;
}

static struct mutator *attached(const char *fn, int *rc)
{
	*rc = api_need_init(fn);
	if (*rc)
		return NULL;
	struct mutator *m = mutator_current();
	if (!m)
		*rc = gyre_misuse(GYRE_ENOTATTACHED, fn,
				  "the calling thread is not attached (gyre_thread_attach)");
	return m;
}

/* A thread that exits attached would leave behind a registered stack that
 * no longer exists, in a state the next collection waits on for ever. This
 * key's destructor runs at the exit of a thread still attached. Sync:
 * created by gyre_init, deleted by gyre_shutdown. */
static pthread_key_t exit_guard;

/* Takes the calling thread out of the heap: its blocks go back, its stack
 * stops being a root. */
static void detach(struct mutator *m)
{
	pthread_setspecific(exit_guard, NULL);
	alloc_detach(m);
	mutator_unregister(m);
	meta_free(m);
}

static void exited_attached(void *p)
{
	struct mutator *m = p;
	gyre_misuse(GYRE_EUNBALANCED, "gyre_thread_detach",
		    "a thread exited while still attached");
	/* Unchecked builds detach it on its behalf. */
	if (atomic_load_relaxed(&m->state) == MUTATOR_BLOCKING)
		safepoint_leave_blocking(m);
	for (; m->disable_depth; m->disable_depth--)
		collect_enable();
	critical_close_all();
	detach(m);
}

/* ---------------------------------------------------------------- lifecycle */

static int init_parts(const gyre_config *c)
{
	sizeclass_init();
	if (meta_init())
		goto fail_meta;
	if (heap_init(c->heap_max))
		goto fail_heap;
	if (type_init())
		goto fail_type;
	if (mark_init(c->workers))
		goto fail_mark;
	if (minor_init(c->workers))
		goto fail_minor;
	if (sweep_init(c->workers))
		goto fail_sweep;
	if (compact_init())
		goto fail_compact;
	if (workers_start(c->workers))
		goto fail_workers;
	if (pthread_key_create(&exit_guard, exited_attached))
		goto fail_key;
	if (final_init())
		goto fail_final;
	collect_init();
	stats_reset();
	ttsp_reset();
	critical_reset();
	if (!c->stw_mark && marker_start())
		goto fail_marker;
	if (c->finalizer_thread > 0 && final_start_thread())
		goto fail_thread;
	if (fork_arm())
		goto fail_fork;
	return GYRE_OK;
fail_fork:
	final_stop_thread();
fail_thread:
	marker_stop();
fail_marker:
	final_shutdown();
fail_final:
	pthread_key_delete(exit_guard);
fail_key:
	workers_stop();
fail_workers:
	compact_shutdown();
fail_compact:
	sweep_shutdown();
fail_sweep:
	minor_shutdown();
fail_minor:
	mark_shutdown();
fail_mark:
	type_shutdown();
fail_type:
	heap_shutdown();
fail_heap:
	meta_shutdown();
fail_meta:
	return gyre_fail(GYRE_ENOMEM);
}

GYRE_API int gyre_init(const gyre_config *config)
{
	if (atomic_load_relaxed(&initialized))
		return gyre_misuse(GYRE_ESTATE, "gyre_init", "gyre is already initialised");
	gyre_config c;
	int rc = config_resolve(config, &c);
	if (rc)
		return rc;
	gyre_cfg = c;
	rc = init_parts(&c);
	if (!rc)
		atomic_store_relaxed(&initialized, true);
	return rc;
}

GYRE_API int gyre_shutdown(void)
{
	int rc = api_need_init("gyre_shutdown");
	if (rc)
		return rc;
	struct mutator *self = mutator_current();
	if (self && self->service)
		return gyre_misuse(GYRE_ESTATE, "gyre_shutdown",
				   "called from a finalizer or weak callback");
	if (mutator_any_external())
		return gyre_misuse(GYRE_ESTATE, "gyre_shutdown",
				   "threads are still attached");
	fork_disarm();
	final_stop_thread();
	atomic_store_relaxed(&initialized, false);
	marker_stop();
	final_shutdown();
	events_shutdown();
	pthread_key_delete(exit_guard);
	workers_stop();
	satb_shutdown();
	compact_shutdown();
	sweep_shutdown();
	minor_shutdown();
	mark_shutdown();
	large_shutdown();
	roots_shutdown();
	type_shutdown();
	heap_shutdown();
	meta_shutdown();
	return GYRE_OK;
}

/* ------------------------------------------------------------------ threads */

GYRE_API int gyre_thread_attach(void)
{
	int rc = api_need_init("gyre_thread_attach");
	if (rc)
		return rc;
	if (mutator_current())
		return gyre_misuse(GYRE_EATTACHED, "gyre_thread_attach",
				   "the calling thread is already attached");
	struct mutator *m = meta_calloc(sizeof(*m));
	if (!m)
		return gyre_fail(GYRE_ENOMEM);
	rc = alloc_attach(m);
	if (!rc)
		rc = pthread_setspecific(exit_guard, m) ? GYRE_ENOMEM : GYRE_OK;
	if (!rc)
		rc = mutator_register(m);
	if (rc) {
		pthread_setspecific(exit_guard, NULL);
		meta_free(m->heap_local);
		meta_free(m);
		return gyre_fail(rc);
	}
	return GYRE_OK;
}

GYRE_API int gyre_thread_detach(void)
{
	int rc;
	struct mutator *m = attached("gyre_thread_detach", &rc);
	if (!m)
		return rc;
	if (m->service)
		return gyre_misuse(GYRE_ESTATE, "gyre_thread_detach",
				   "called from a finalizer or weak callback, on gyre's "
				   "finalizer thread");
	if (atomic_load_relaxed(&m->state) == MUTATOR_BLOCKING)
		return gyre_misuse(GYRE_EUNBALANCED, "gyre_thread_detach",
				   "the thread is inside a blocking region");
	if (m->disable_depth)
		return gyre_misuse(GYRE_EUNBALANCED, "gyre_thread_detach",
				   "%d gyre_disable call(s) not matched by gyre_enable",
				   m->disable_depth);
	if (critical_depth())
		return gyre_misuse(GYRE_EUNBALANCED, "gyre_thread_detach",
				   "%u no-GC region(s) still open (gyre_critical_end)",
				   critical_depth());
	detach(m);
	return GYRE_OK;
}

GYRE_API void gyre_safepoint(void)
{
	struct mutator *m = atomic_load_relaxed(&initialized) ? mutator_current() : NULL;
	if (m && atomic_load_relaxed(&m->state) == MUTATOR_RUNNING)
		safepoint_poll(m);
}

/* gyre_blocking_begin itself is a trampoline in threads/context.c that
 * captures the caller's registers; this is its C side. */
int api_blocking_begin(const uintptr_t *pushed, void *sp)
{
	int rc;
	struct mutator *m = attached("gyre_blocking_begin", &rc);
	if (!m)
		return rc;
	if (atomic_load_relaxed(&m->state) == MUTATOR_BLOCKING)
		return gyre_misuse(GYRE_EUNBALANCED, "gyre_blocking_begin",
				   "already inside a blocking region");
	struct context ctx;
	context_from_pushed(&ctx, pushed, sp);
	alloc_blocking_begin(m);
	safepoint_enter_blocking_ctx(m, &ctx);
	return GYRE_OK;
}

GYRE_API int gyre_blocking_end(void)
{
	int rc;
	struct mutator *m = attached("gyre_blocking_end", &rc);
	if (!m)
		return rc;
	if (atomic_load_relaxed(&m->state) != MUTATOR_BLOCKING)
		return gyre_misuse(GYRE_EUNBALANCED, "gyre_blocking_end",
				   "not inside a blocking region");
	/* The caller's stack pointer (just above our return address) must be
	 * at or below the one gyre_blocking_begin saw: above it means the
	 * function that began the region has returned, and the registers
	 * saved then no longer hold its caller's pointers. */
	char *caller_sp = (char *)__builtin_frame_address(0) + 2 * sizeof(void *);
	if (GYRE_DEBUG && caller_sp > (char *)m->ctx.sp)
		return gyre_misuse(GYRE_EUNBALANCED, "gyre_blocking_end",
				   "the function that called gyre_blocking_begin has returned");
	safepoint_leave_blocking(m);
	alloc_blocking_end(m);
	return GYRE_OK;
}

/* -------------------------------------------------------------------- types */

GYRE_API gyre_type gyre_type_register(const gyre_type_desc *desc)
{
	if (api_need_init("gyre_type_register"))
		return 0;
	int status;
	gyre_type id = type_register(desc, &status);
	if (status == GYRE_ENOMEM)
		gyre_fail(status);
	return id;
}

/* --------------------------------------------------------------- allocation */

static void *alloc_checked(const char *fn, gyre_type type, size_t n)
{
	int rc;
	struct mutator *m = api_heap_user(fn, &rc);
	if (!m)
		return NULL;
	const struct type *t = type_get(type);
	if (!t || (type < TYPE_FIRST_USER && type > GYRE_TYPE_BYTE)) {
		gyre_misuse(GYRE_EINVAL, fn, "type %u is %s", type,
			    t ? "gyre's own (gyre_weak_new makes weak references)"
			      : "not registered");
		return NULL;
	}
	size_t bytes;
	if (n > OBJECT_MAX_LENGTH || __builtin_mul_overflow(n, t->size, &bytes) ||
	    bytes > gyre_cfg.heap_max - HEADER_SIZE) {
		gyre_misuse(GYRE_ETOOBIG, fn, "%zu elements of %u bytes exceed the heap",
			    n, t->size);
		return NULL;
	}
	return alloc_object(m, HEADER_SIZE + bytes, header_make(type, (uint32_t)n),
			    t->kind != TYPE_NOPTR);
}

GYRE_API void *gyre_alloc(gyre_type type)
{
	return alloc_checked("gyre_alloc", type, 1);
}

GYRE_API void *gyre_alloc_array(gyre_type type, size_t n)
{
	return alloc_checked("gyre_alloc_array", type, n);
}

GYRE_API void *gyre_alloc_bytes(size_t size)
{
	return alloc_checked("gyre_alloc_bytes", GYRE_TYPE_BYTE, size);
}

GYRE_API size_t gyre_length(const void *obj)
{
	return header_length(*object_header(obj));
}

/* -------------------------------------------------------------------- roots */

GYRE_API int gyre_root_add(void *start, size_t size)
{
	int rc = api_need_init("gyre_root_add");
	if (rc)
		return rc;
	if (!start || !size || (uintptr_t)start + size < (uintptr_t)start)
		return gyre_misuse(GYRE_EINVAL, "gyre_root_add",
				   "area %p + %zu is empty or wraps", start, size);
	rc = roots_add(start, size);
	if (rc == GYRE_EINVAL)
		return gyre_misuse(rc, "gyre_root_add",
				   "area %p + %zu overlaps a registered area", start, size);
	return rc ? gyre_fail(rc) : GYRE_OK;
}

GYRE_API int gyre_root_remove(void *start)
{
	int rc = api_need_init("gyre_root_remove");
	if (rc)
		return rc;
	if (roots_remove(start))
		return gyre_misuse(GYRE_ENOTFOUND, "gyre_root_remove",
				   "no area registered at %p", start);
	return GYRE_OK;
}

/* With checks on, refuses a pointer into the block heap that cannot be an
 * object start: outside any block in use, or not at a slot's payload.
 * Start bits cannot tell: a nursery block in use has none yet
 * [INV-STARTS]; large objects are not looked up outside collections. */
int api_check_object(const char *fn, void *obj)
{
	uintptr_t p = (uintptr_t)obj;
	if (!GYRE_DEBUG || !obj || !heap_contains(p))
		return GYRE_OK;
	struct block *b = block_of(p);
	if (b->state == BLOCK_FREE ||
	    ((p & (BLOCK_SIZE - 1)) - HEADER_SIZE) % b->obj_size != 0)
		return gyre_misuse(GYRE_EINVAL, fn, "%p is not a gyre object", obj);
	return GYRE_OK;
}

GYRE_API gyre_handle gyre_handle_new(void *obj)
{
	int rc;
	if (!api_heap_user("gyre_handle_new", &rc) || api_check_object("gyre_handle_new", obj))
		return NULL;
	gyre_handle h = handle_new(obj);
	if (!h)
		gyre_fail(GYRE_ENOMEM);
	return h;
}

GYRE_API void *gyre_handle_get(gyre_handle h)
{
	if (!h || !h->live) {
		gyre_misuse(GYRE_EINVAL, "gyre_handle_get", "handle %p is NULL or freed",
			    (void *)h);
		return NULL;
	}
	return h->obj;
}

GYRE_API int gyre_handle_set(gyre_handle h, void *obj)
{
	int rc;
	if (!api_heap_user("gyre_handle_set", &rc))
		return rc;
	if (!h || !h->live)
		return gyre_misuse(GYRE_EINVAL, "gyre_handle_set",
				   "handle %p is NULL or freed", (void *)h);
	rc = api_check_object("gyre_handle_set", obj);
	if (!rc)
		h->obj = obj;
	return rc;
}

GYRE_API int gyre_handle_free(gyre_handle h)
{
	int rc;
	if (!api_heap_user("gyre_handle_free", &rc))
		return rc;
	if (!h || handle_free(h))
		return gyre_misuse(GYRE_EINVAL, "gyre_handle_free",
				   "handle %p is NULL or already freed", (void *)h);
	return GYRE_OK;
}

/* ------------------------------------------------------------------ control */

GYRE_API int64_t gyre_collect(int generation)
{
	int rc;
	struct mutator *m = api_heap_user("gyre_collect", &rc);
	if (!m)
		return rc;
	if (generation < 0 || generation > 2)
		return gyre_misuse(GYRE_EINVAL, "gyre_collect",
				   "generation %d is not 0, 1 or 2", generation);
	return (int64_t)collect_explicit(m, (unsigned)generation);
}

GYRE_API int gyre_set_threshold(size_t threshold0, size_t threshold1,
				size_t threshold2)
{
	int rc = api_need_init("gyre_set_threshold");
	if (rc)
		return rc;
	if (threshold0 < 256 * 1024 || threshold0 > gyre_cfg.heap_max / 2)
		return gyre_misuse(GYRE_EINVAL, "gyre_set_threshold",
				   "threshold0 %zu is outside 256 KiB .. heap_max / 2",
				   threshold0);
	if (threshold1 < 1 || threshold1 > 1000000)
		return gyre_misuse(GYRE_EINVAL, "gyre_set_threshold",
				   "threshold1 %zu is outside 1 .. 1000000", threshold1);
	if (threshold2 < 10 || threshold2 > 10000)
		return gyre_misuse(GYRE_EINVAL, "gyre_set_threshold",
				   "threshold2 %zu is outside 10 .. 10000", threshold2);
	collect_set_thresholds((const size_t[3]){threshold0, threshold1, threshold2});
	return GYRE_OK;
}

GYRE_API int gyre_get_threshold(size_t out[3])
{
	int rc = api_need_init("gyre_get_threshold");
	if (rc)
		return rc;
	if (!out)
		return gyre_misuse(GYRE_EINVAL, "gyre_get_threshold", "out is NULL");
	collect_get_thresholds(out);
	return GYRE_OK;
}

GYRE_API int gyre_get_count(size_t out[3])
{
	int rc = api_need_init("gyre_get_count");
	if (rc)
		return rc;
	if (!out)
		return gyre_misuse(GYRE_EINVAL, "gyre_get_count", "out is NULL");
	collect_get_counts(out);
	return GYRE_OK;
}

GYRE_API int gyre_disable(void)
{
	int rc;
	/* Not from a blocking region: a collection may be running while the
	 * thread is in one, and [INV-DISABLE] promises none runs after
	 * gyre_disable returns. */
	struct mutator *m = api_heap_user("gyre_disable", &rc);
	if (!m)
		return rc;
	m->disable_depth++;
	collect_disable();
	return GYRE_OK;
}

GYRE_API int gyre_enable(void)
{
	int rc;
	struct mutator *m = attached("gyre_enable", &rc);
	if (!m)
		return rc;
	if (m->disable_depth == 0)
		return gyre_misuse(GYRE_EUNBALANCED, "gyre_enable",
				   "no gyre_disable on this thread to match");
	m->disable_depth--;
	collect_enable();
	return GYRE_OK;
}

GYRE_API int gyre_is_enabled(void)
{
	int rc = api_need_init("gyre_is_enabled");
	return rc ? rc : collect_enabled();
}

/* ---------------------------------------------------------------- observing */

GYRE_API int gyre_stats_get(gyre_stats *out)
{
	int rc = api_need_init("gyre_stats_get");
	if (rc)
		return rc;
	if (!out)
		return gyre_misuse(GYRE_EINVAL, "gyre_stats_get", "out is NULL");
	stats_read(out);
	return GYRE_OK;
}
