/*
 * meta.c: the metadata/large-object allocator (see meta.h). With jemalloc,
 * one arena created at init and destroyed at shutdown, used without a
 * thread cache so that memory freed by the collector's workers returns to
 * the arena at once instead of sitting in a worker's cache, and with a
 * decay time of its own (META_DECAY_MS).
 */
#include <stdio.h>
#include <stdlib.h>

#include "runtime/internal.h"
#include "runtime/meta.h"

#if GYRE_JEMALLOC
#include <jemalloc/jemalloc.h>
#include <sys/types.h>

/* Sync: written by meta_init before other threads use gyre, then read-only. */
static unsigned arena;
static int flags;
static char decay_ctl[64]; /* "arena.<i>.decay" */
static char purge_ctl[64]; /* "arena.<i>.purge" */
/* The arena's page counts, as mallctl's MIB (translated once): active,
 * dirty and muzzy pages; `stats`: jemalloc was built with statistics
 * and the names translated. */
static size_t page_mib[3][5], page_miblen[3];
static bool stats;
static size_t page_size;

/* Refreshes jemalloc's statistics, a snapshot (for every arena: a few
 * microseconds, so not on allocation paths). */
static bool refresh(void)
{
	uint64_t epoch = 1;
	size_t sz = sizeof(epoch);
	return mallctl("epoch", &epoch, &sz, &epoch, sz) == 0;
}

/* Translates stats.arenas.<i>.{pactive,pdirty,pmuzzy} once, so that
 * meta_footprint does no name lookups. A new arena's names exist only
 * once a refresh has seen it. */
static void stats_init(void)
{
	bool on = false;
	size_t sz = sizeof(on);
	stats = false;
	if (mallctl("config.stats", &on, &sz, NULL, 0) != 0 || !on || !refresh())
		return;
	static const char *const names[3] = {"pactive", "pdirty", "pmuzzy"};
	for (unsigned i = 0; i < 3; i++) {
		char ctl[64];
		snprintf(ctl, sizeof(ctl), "stats.arenas.%u.%s", arena, names[i]);
		page_miblen[i] = 5;
		if (mallctlnametomib(ctl, page_mib[i], &page_miblen[i]) != 0)
			return;
	}
	sz = sizeof(page_size);
	stats = mallctl("arenas.page", &page_size, &sz, NULL, 0) == 0;
}

/* Sets arena.<i>.<name> to ms. */
static int set_decay(const char *name, ssize_t ms)
{
	char ctl[64];
	snprintf(ctl, sizeof(ctl), "arena.%u.%s", arena, name);
	return mallctl(ctl, NULL, NULL, &ms, sizeof(ms));
}

int meta_init(void)
{
	size_t sz = sizeof(arena);
	if (mallctl("arenas.create", &arena, &sz, NULL, 0) != 0)
		return GYRE_ENOMEM;
	flags = MALLOCX_ARENA(arena) | MALLOCX_TCACHE_NONE;
	/* A failure leaves jemalloc's defaults: memory still goes back,
	 * later. */
	(void)set_decay("dirty_decay_ms", META_DECAY_MS);
	(void)set_decay("muzzy_decay_ms", 0);
	snprintf(decay_ctl, sizeof(decay_ctl), "arena.%u.decay", arena);
	snprintf(purge_ctl, sizeof(purge_ctl), "arena.%u.purge", arena);
	stats_init();
	return GYRE_OK;
}

void meta_decay(bool all)
{
	(void)mallctl(all ? purge_ctl : decay_ctl, NULL, NULL, NULL, 0);
}

size_t meta_footprint(void)
{
	if (!stats || !refresh())
		return SIZE_MAX;
	size_t pages = 0;
	for (unsigned i = 0; i < 3; i++) {
		size_t n = 0, sz = sizeof(n);
		if (mallctlbymib(page_mib[i], page_miblen[i], &n, &sz, NULL, 0) != 0)
			return SIZE_MAX;
		pages += n;
	}
	return pages * page_size;
}

void meta_shutdown(void)
{
	char name[64];
	snprintf(name, sizeof(name), "arena.%u.destroy", arena);
	if (mallctl(name, NULL, NULL, NULL, 0) != 0)
		gyre_fatal("jemalloc refused to destroy arena %u", arena);
}

void *meta_alloc(size_t size)
{
	GYRE_ASSERT(size > 0);
	return mallocx(size, flags);
}

void *meta_calloc(size_t size)
{
	GYRE_ASSERT(size > 0);
	return mallocx(size, flags | MALLOCX_ZERO);
}

void *meta_realloc(void *p, size_t size)
{
	GYRE_ASSERT(size > 0);
	return p ? rallocx(p, size, flags) : mallocx(size, flags);
}

void meta_free(void *p)
{
	if (p)
		dallocx(p, flags);
}

#else

int meta_init(void)
{
	return GYRE_OK;
}

void meta_shutdown(void)
{
}

void *meta_alloc(size_t size)
{
	GYRE_ASSERT(size > 0);
	return malloc(size);
}

void *meta_calloc(size_t size)
{
	GYRE_ASSERT(size > 0);
	return calloc(1, size);
}

void *meta_realloc(void *p, size_t size)
{
	GYRE_ASSERT(size > 0);
	return realloc(p, size);
}

void meta_free(void *p)
{
	free(p);
}

void meta_decay(bool all)
{
	(void)all;
}

size_t meta_footprint(void)
{
	return SIZE_MAX;
}

#endif
