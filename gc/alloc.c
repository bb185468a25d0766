/*
 * alloc.c: allocation runs, the slow path and the large-object path (see
 * alloc.h). The slow path is the allocation safepoint: it polls, starts a
 * collection when the growth policy says so, and on exhaustion collects
 * once more before it reports GYRE_ENOMEM.
 */
#include <string.h>

#include "gc/alloc.h"
#include "gc/collect.h"
#include "gc/large.h"
#include "runtime/config.h"
#include "runtime/meta.h"
#include "runtime/stats.h"
#include "threads/safepoint.h"

static inline struct alloc_local *local_of(struct mutator *m)
{
	return m->heap_local;
}

/* Sets bits [from, to), a word at a time. */
static void set_bits(uint64_t *bits, uint32_t from, uint32_t to)
{
	while (from < to) {
		uint32_t w = from / 64, lo = from % 64;
		uint32_t n = to - from < 64 - lo ? to - from : 64 - lo;
		uint64_t mask = n == 64 ? ~UINT64_C(0) : ((UINT64_C(1) << n) - 1) << lo;
		bits[w] |= mask;
		from += n;
	}
}

/* Gives the run's allocated prefix its start bits and counts it. */
static void run_retire(struct tlab *t)
{
	struct block *b = t->block;
	if (!b || t->cursor == t->run_start)
		return;
	char *base = block_base(b);
	uint32_t from = (uint32_t)((t->run_start - base) / b->obj_size);
	uint32_t to = (uint32_t)((t->cursor - base) / b->obj_size);
	set_bits(b->starts, from, to);
	/* Counted as used, not when the run is taken: every collection
	 * retires every run, and charging whole runs again at once (up to a
	 * block per size class per thread) would start the next collection
	 * right away when heap_min is small. */
	collect_note_alloc((size_t)(t->cursor - t->run_start));
	stats_note_alloc((size_t)(t->cursor - t->run_start), to - from);
	t->run_start = t->cursor;
}

static void tlab_release(struct tlab *t)
{
	run_retire(t);
	if (t->block)
		t->block->owned = false;
	*t = (struct tlab){0};
}

/* Finds the next run of free slots in the owned block; false when the
 * block has none left (it is then released: a full block is on no list
 * until a sweep frees some of its slots). */
static bool run_next(struct tlab *t)
{
	struct block *b = t->block;
	uint32_t i = t->scan;
	while (i < b->nslots && bit_test(b->starts, i))
		i++;
	if (i >= b->nslots) {
		tlab_release(t);
		return false;
	}
	uint32_t j = i + 1;
	while (j < b->nslots && !bit_test(b->starts, j))
		j++;
	char *base = block_base(b);
	t->run_start = t->cursor = base + (size_t)i * b->obj_size;
	t->limit = base + (size_t)j * b->obj_size;
	t->scan = j;
	if (b->dirty)
		memset(t->cursor, 0, (size_t)(t->limit - t->cursor));
	return true;
}

static void *bump(struct tlab *t, size_t size, uint64_t header)
{
	if ((size_t)(t->limit - t->cursor) < size)
		return NULL;
	char *slot = t->cursor;
	t->cursor += size;
	*(uint64_t *)slot = header;
	return object_from_slot(slot);
}

static void *small_refill(struct tlab *t, unsigned c, uint64_t header)
{
	run_retire(t);
	while (!t->block || !run_next(t)) {
		struct block *b = heap_take_block(c);
		if (!b)
			return NULL;
		*t = (struct tlab){.block = b};
	}
	return bump(t, sizeclass_size[c], header);
}

static void *try_alloc(struct mutator *m, size_t bytes, uint64_t header)
{
	if (bytes > SIZECLASS_MAX_SIZE) {
		void *obj = large_alloc(bytes, header);
		if (obj) {
			collect_note_alloc(bytes);
			stats_note_alloc(bytes, 1);
		}
		return obj;
	}
	unsigned c = sizeclass_for(bytes);
	return small_refill(&local_of(m)->tlabs[c], c, header);
}

static GYRE_NOINLINE void *alloc_slow(struct mutator *m, size_t bytes,
				      uint64_t header)
{
	safepoint_poll(m);
	collect_if_due(m);
	void *obj = try_alloc(m, bytes, header);
	if (!obj && collect_for_space(m))
		obj = try_alloc(m, bytes, header);
	if (!obj) {
		if (gyre_cfg.on_oom)
			gyre_cfg.on_oom(bytes - HEADER_SIZE, gyre_cfg.oom_ctx);
		gyre_fail(GYRE_ENOMEM);
	}
	return obj;
}

void *alloc_object(struct mutator *m, size_t bytes, uint64_t header)
{
	if (GYRE_LIKELY(bytes <= SIZECLASS_MAX_SIZE)) {
		unsigned c = sizeclass_for(bytes);
		void *obj = bump(&local_of(m)->tlabs[c], sizeclass_size[c], header);
		if (GYRE_LIKELY(obj != NULL))
			return obj;
	}
	return alloc_slow(m, bytes, header);
}

int alloc_attach(struct mutator *m)
{
	m->heap_local = meta_calloc(sizeof(struct alloc_local));
	return m->heap_local ? GYRE_OK : GYRE_ENOMEM;
}

void alloc_detach(struct mutator *m)
{
	struct alloc_local *a = local_of(m);
	for (unsigned c = 0; c < SIZECLASS_COUNT; c++) {
		struct tlab *t = &a->tlabs[c];
		/* Retiring the run first keeps [INV-STARTS] for our objects. */
		run_retire(t);
		if (t->block)
			heap_return_block(t->block);
		*t = (struct tlab){0};
	}
	meta_free(a);
	m->heap_local = NULL;
}

void alloc_retire_all(void)
{
	GYRE_ASSERT(stw_world_stopped());
	struct mutator *m;
	mutator_for_each(m) {
		struct alloc_local *a = local_of(m);
		/* A detaching thread gave its blocks back before it stopped
		 * being RUNNING, and stays registered until the pause ends. */
		if (!a)
			continue;
		for (unsigned c = 0; c < SIZECLASS_COUNT; c++)
			tlab_release(&a->tlabs[c]);
	}
}
