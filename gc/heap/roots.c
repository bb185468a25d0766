/*
 * roots.c: root areas and handles (see roots.h). Handles come from chunks
 * that are never freed before shutdown, so a stale handle still points at
 * readable memory and a double free is detected by its `live` flag.
 */
#include <pthread.h>

#include "gc/heap/roots.h"
#include "runtime/meta.h"
#include "threads/stw.h"

#define HANDLE_CHUNK 256

struct area {
	uintptr_t lo, hi;
};

struct handle_chunk {
	struct handle_chunk *next;
	struct gyre_handle_slot slots[HANDLE_CHUNK];
};

static struct {
	pthread_mutex_t lock;
	struct area *v;          /* Sync: lock */
	size_t n, cap;
} areas = {.lock = PTHREAD_MUTEX_INITIALIZER};

static struct {
	/* Held by gyre_handle_new/free; a mutator never reaches a safepoint
	 * holding it, so the collector reads the chunks without it. */
	pthread_mutex_t lock;
	struct handle_chunk *chunks;
	struct gyre_handle_slot *free;
} handles = {.lock = PTHREAD_MUTEX_INITIALIZER};
LOCK_RANKED(LOCK_ROOT_AREAS, &areas.lock, 1, sizeof(pthread_mutex_t))
LOCK_RANKED(LOCK_HANDLES, &handles.lock, 1, sizeof(pthread_mutex_t))

void roots_shutdown(void)
{
	meta_free(areas.v);
	areas.v = NULL;
	areas.n = areas.cap = 0;
	while (handles.chunks) {
		struct handle_chunk *c = handles.chunks;
		handles.chunks = c->next;
		meta_free(c);
	}
	handles.free = NULL;
}

static bool overlaps(uintptr_t lo, uintptr_t hi)
{
	for (size_t i = 0; i < areas.n; i++)
		if (lo < areas.v[i].hi && areas.v[i].lo < hi)
			return true;
	return false;
}

static bool areas_grow(void)
{
	if (areas.n < areas.cap)
		return true;
	size_t cap = areas.cap ? areas.cap * 2 : 16;
	struct area *v = meta_realloc(areas.v, cap * sizeof(*v));
	if (!v)
		return false;
	areas.v = v;
	areas.cap = cap;
	return true;
}

int roots_add(void *start, size_t size)
{
	uintptr_t lo = (uintptr_t)start, hi = lo + size;
	int rc = GYRE_OK;
	pthread_mutex_lock(&areas.lock);
	if (overlaps(lo, hi))
		rc = GYRE_EINVAL;
	else if (!areas_grow())
		rc = GYRE_ENOMEM;
	else
		areas.v[areas.n++] = (struct area){lo, hi};
	pthread_mutex_unlock(&areas.lock);
	return rc;
}

int roots_remove(void *start)
{
	int rc = GYRE_ENOTFOUND;
	pthread_mutex_lock(&areas.lock);
	for (size_t i = 0; i < areas.n; i++) {
		if (areas.v[i].lo == (uintptr_t)start) {
			areas.v[i] = areas.v[--areas.n];
			rc = GYRE_OK;
			break;
		}
	}
	pthread_mutex_unlock(&areas.lock);
	return rc;
}

void roots_for_each_area(void (*fn)(uintptr_t lo, uintptr_t hi, void *ctx),
			 void *ctx)
{
	pthread_mutex_lock(&areas.lock);
	for (size_t i = 0; i < areas.n; i++)
		fn(areas.v[i].lo, areas.v[i].hi, ctx);
	pthread_mutex_unlock(&areas.lock);
}

static bool handles_grow(void)
{
	struct handle_chunk *c = meta_calloc(sizeof(*c));
	if (!c)
		return false;
	for (size_t i = 0; i < HANDLE_CHUNK; i++) {
		c->slots[i].next = handles.free;
		handles.free = &c->slots[i];
	}
	c->next = handles.chunks;
	handles.chunks = c;
	return true;
}

struct gyre_handle_slot *handle_new(void *obj)
{
	struct gyre_handle_slot *h = NULL;
	pthread_mutex_lock(&handles.lock);
	if (handles.free || handles_grow()) {
		h = handles.free;
		handles.free = h->next;
		h->next = NULL;
		h->obj = obj;
		h->live = true;
	}
	pthread_mutex_unlock(&handles.lock);
	return h;
}

int handle_free(struct gyre_handle_slot *h)
{
	int rc = GYRE_EINVAL;
	pthread_mutex_lock(&handles.lock);
	if (h->live) {
		h->live = false;
		h->obj = NULL;
		h->next = handles.free;
		handles.free = h;
		rc = GYRE_OK;
	}
	pthread_mutex_unlock(&handles.lock);
	return rc;
}

void roots_for_each_handle(void (*fn)(void **slot, void *ctx), void *ctx)
{
	GYRE_ASSERT(stw_world_stopped());
	for (struct handle_chunk *c = handles.chunks; c; c = c->next)
		for (size_t i = 0; i < HANDLE_CHUNK; i++)
			if (c->slots[i].live && c->slots[i].obj)
				fn(&c->slots[i].obj, ctx);
}

/* Reads stacks that their threads may still be using below the saved
 * stack pointer, and the redzones ASan puts between locals: neither
 * sanitizer may instrument it. */
__attribute__((no_sanitize_address, no_sanitize_thread))
void roots_scan_words(uintptr_t lo, uintptr_t hi,
		      void (*word)(uintptr_t v, void *ctx), void *ctx)
{
	lo = (lo + sizeof(void *) - 1) & ~(uintptr_t)(sizeof(void *) - 1);
	for (uintptr_t p = lo; p + sizeof(void *) <= hi; p += sizeof(void *))
		word(*(const uintptr_t *)p, ctx);
}

void roots_for_each_stack(unsigned id, unsigned n,
			  void (*fn)(uintptr_t lo, uintptr_t hi, void *ctx),
			  void *ctx)
{
	GYRE_ASSERT(stw_world_stopped());
	unsigned i = 0;
	struct mutator *m;
	mutator_for_each(m) {
		if (m->internal || i++ % n != id)
			continue;
		fn((uintptr_t)m->ctx.regs, (uintptr_t)(m->ctx.regs + CONTEXT_REGS), ctx);
		fn((uintptr_t)m->ctx.sp, (uintptr_t)m->stack_hi, ctx);
	}
}
