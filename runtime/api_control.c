/*
 * api_control.c: the public functions of no-GC regions and event
 * callbacks (issue 20): argument and state checks, each misuse named
 * (gyre_misuse), then runtime/critical.c and runtime/events.c.
 */
#include "gc/heap/heap.h"
#include "runtime/api.h"
#include "runtime/config.h"
#include "runtime/critical.h"
#include "runtime/events.h"

GYRE_API int gyre_critical_begin(size_t budget_bytes)
{
	int rc;
	struct mutator *m = api_heap_user("gyre_critical_begin", &rc);
	if (!m)
		return rc;
	if (budget_bytes == 0 || budget_bytes > gyre_cfg.heap_max)
		return gyre_misuse(GYRE_EINVAL, "gyre_critical_begin",
				   "budget %zu is 0 or above heap_max (%zu)", budget_bytes,
				   gyre_cfg.heap_max);
	if (critical_depth() == CRITICAL_DEPTH_MAX)
		return gyre_misuse(GYRE_EINVAL, "gyre_critical_begin",
				   "regions nest at most %d deep", CRITICAL_DEPTH_MAX);
	return critical_begin(m, budget_bytes);
}

GYRE_API int gyre_critical_end(void)
{
	int rc = api_need_init("gyre_critical_end");
	if (rc)
		return rc;
	if (!mutator_current())
		return gyre_misuse(GYRE_ENOTATTACHED, "gyre_critical_end",
				   "the calling thread is not attached (gyre_thread_attach)");
	if (critical_depth() == 0)
		return gyre_misuse(GYRE_EUNBALANCED, "gyre_critical_end",
				   "no gyre_critical_begin on this thread to match");
	return critical_end();
}

GYRE_API int gyre_callback_add(gyre_event_fn fn, void *ctx)
{
	int rc = api_need_init("gyre_callback_add");
	if (rc)
		return rc;
	if (!fn)
		return gyre_misuse(GYRE_EINVAL, "gyre_callback_add", "fn is NULL");
	rc = events_add(fn, ctx);
	if (rc == GYRE_EINVAL)
		return gyre_misuse(rc, "gyre_callback_add",
				   "callback %p with ctx %p is already registered",
				   (void *)(uintptr_t)fn, ctx);
	return rc ? gyre_fail(rc) : GYRE_OK;
}

GYRE_API int gyre_callback_remove(gyre_event_fn fn, void *ctx)
{
	int rc = api_need_init("gyre_callback_remove");
	if (rc)
		return rc;
	if (!fn)
		return gyre_misuse(GYRE_EINVAL, "gyre_callback_remove", "fn is NULL");
	rc = events_remove(fn, ctx);
	if (rc == GYRE_ENOTFOUND)
		return gyre_misuse(rc, "gyre_callback_remove",
				   "callback %p with ctx %p is not registered",
				   (void *)(uintptr_t)fn, ctx);
	return rc ? gyre_fail(rc) : GYRE_OK;
}
