/*
 * api_freeze.c: gyre_freeze, gyre_unfreeze and gyre_get_freeze_count
 * (gyre.h; gc/heap/freeze.h has the rules). Like api.c, each checks the
 * calling thread, then calls the internals.
 */
#include <stdio.h>

#include "gc/driver/collect.h"
#include "gc/heap/freeze.h"
#include "runtime/api.h"
#include "runtime/config.h"
#include "runtime/critical.h"

/* A freeze collects even while automatic collection is disabled, but only
 * by the caller: another thread's gyre_disable is a promise to that
 * thread that no collection runs. The figure may be stale by the time the
 * collection stops the world (as for gyre_collect, the explicit call then
 * wins). */
static int disabled_elsewhere(struct mutator *m, const char *fn)
{
	/* A no-GC region promises its thread no collection, whichever
	 * thread opened it (regions hold one disable together). */
	unsigned regions = atomic_load_relaxed(&critical_open);
	if (regions)
		return gyre_misuse(GYRE_ESTATE, fn,
				   "%u no-GC region(s) open (gyre_critical_begin): "
				   "no collection may run", regions);
	long others = collect_disabled_depth() - m->disable_depth;
	if (others > 0)
		return gyre_misuse(GYRE_ESTATE, fn,
				   "another thread holds %ld gyre_disable call(s): "
				   "automatic collection is off for it", others);
	return GYRE_OK;
}

static void trace(const char *what, uint64_t freed)
{
	if (gyre_cfg.trace)
		fprintf(stderr, "gyre: %s: %zu objects frozen (%.1f MiB), %llu freed\n",
			what, freeze_objects(), freeze_bytes() / 1048576.0,
			(unsigned long long)freed);
}

GYRE_API int gyre_freeze(void)
{
	int rc;
	struct mutator *m = api_heap_user("gyre_freeze", &rc);
	if (!m)
		return rc;
	if ((rc = disabled_elsewhere(m, "gyre_freeze")))
		return rc;
	trace("freeze", collect_freeze(m, false));
	return GYRE_OK;
}

GYRE_API int gyre_unfreeze(void)
{
	int rc;
	struct mutator *m = api_heap_user("gyre_unfreeze", &rc);
	if (!m)
		return rc;
	if (!freeze_objects())
		return gyre_misuse(GYRE_ESTATE, "gyre_unfreeze",
				   "nothing is frozen (no gyre_freeze, or gyre_unfreeze "
				   "already ran)");
	if ((rc = disabled_elsewhere(m, "gyre_unfreeze")))
		return rc;
	trace("unfreeze", collect_freeze(m, true));
	return GYRE_OK;
}

GYRE_API size_t gyre_get_freeze_count(void)
{
	return api_need_init("gyre_get_freeze_count") ? 0 : freeze_objects();
}
