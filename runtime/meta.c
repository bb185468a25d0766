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
	return GYRE_OK;
}

void meta_decay(void)
{
	(void)mallctl(decay_ctl, NULL, NULL, NULL, 0);
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

void meta_decay(void)
{
}

#endif
