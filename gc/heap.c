/*
 * heap.c: the reservation, the side table and the movement of blocks
 * between the free list, the class lists and threads' allocation buffers
 * (see heap.h).
 */
#include <string.h>
#include <sys/mman.h>

#include "gc/card.h"
#include "gc/heap.h"
#include "gc/prefault.h"
#include "gc/type.h"
#include "runtime/config.h"

struct heap heap = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* What GYRE_STORE's inline path reads (gyre.h). Sync: written by
 * gyre_init before any thread may store, read-only afterwards. */
GYRE_API uintptr_t gyre__heap_base;
GYRE_API uintptr_t gyre__heap_bytes;
GYRE_API uint8_t *gyre__cards;
GYRE_API uint8_t *gyre__card_summary;
GYRE_API uint8_t *gyre__space;

/* The reservation is aligned to a transparent huge page. Blocks are
 * handed out from the bottom and never returned to the kernel, so the
 * heap fills whole huge pages: one fault maps 2 MiB where small pages
 * took 512, and the TLB covers the nursery and to-space. Measured: a
 * minor collection that copies 32 MiB into fresh memory took 75 ms with
 * small pages and 20 ms with huge ones (GCBench's first collections).
 * But a huge page costs its whole fault at once, 2-4 ms on this VM, and
 * a pause or a thread on its way to a safepoint that touches one waits
 * that long. So the reservation asks for small pages (MADV_NOHUGEPAGE,
 * which also holds where THP is "always"), and the prefault thread asks
 * for huge ones step by step, just before it maps them (prefault.c):
 * what it maps ahead is huge, what the heap reaches before it is small
 * (bench/churn: minor pauses over 1 ms fell from 1.2-1.6% of them to
 * 0.2-0.4% in the runs that grew fastest). Where THP is off, madvise
 * fails and nothing changes. */

static void *map_noreserve(size_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

int heap_init(size_t max)
{
	size_t nblocks = (max + BLOCK_SIZE - 1) >> BLOCK_SHIFT;
	size_t bytes = nblocks << BLOCK_SHIFT;
	char *raw = map_noreserve(bytes + HUGE_PAGE);
	if (!raw)
		return GYRE_ENOMEM;
	uintptr_t aligned = ((uintptr_t)raw + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
	size_t head = aligned - (uintptr_t)raw;
	if (head)
		munmap(raw, head);
	munmap((char *)aligned + bytes, HUGE_PAGE - head);
	madvise((void *)aligned, bytes, MADV_NOHUGEPAGE);
	heap.blocks = map_noreserve(nblocks * sizeof(struct block));
	heap.cards = map_noreserve(nblocks * CARDS_PER_BLOCK);
	heap.space = map_noreserve(nblocks);
	heap.card_summary = map_noreserve(nblocks);
	if (!heap.blocks || !heap.cards || !heap.space || !heap.card_summary) {
		if (heap.blocks)
			munmap(heap.blocks, nblocks * sizeof(struct block));
		if (heap.cards)
			munmap(heap.cards, nblocks * CARDS_PER_BLOCK);
		if (heap.space)
			munmap(heap.space, nblocks);
		if (heap.card_summary)
			munmap(heap.card_summary, nblocks);
		munmap((void *)aligned, nblocks << BLOCK_SHIFT);
		return GYRE_ENOMEM;
	}
	heap.base = (char *)aligned;
	heap.nblocks = nblocks;
	/* Without the thread, pages fault in where they are first written. */
	(void)prefault_start(heap.base, bytes);
	heap.top = 0;
	heap.free = NULL;
	heap.gen1 = NULL;
	heap.sweep_epoch = 0;
	atomic_store_relaxed(&heap.used, 0);
	for (unsigned g = 0; g < 2; g++)
		for (unsigned c = 0; c < SIZECLASS_COUNT; c++) {
			pthread_mutex_init(&heap.classes[g][c].lock, NULL);
			heap.classes[g][c].head = NULL;
		}
	gyre__heap_base = (uintptr_t)heap.base;
	gyre__heap_bytes = nblocks << BLOCK_SHIFT;
	gyre__cards = heap.cards;
	gyre__card_summary = heap.card_summary;
	gyre__space = heap.space;
	return GYRE_OK;
}

void heap_shutdown(void)
{
	prefault_stop();
	munmap(heap.base, heap.nblocks << BLOCK_SHIFT);
	munmap(heap.blocks, heap.nblocks * sizeof(struct block));
	munmap(heap.cards, heap.nblocks * CARDS_PER_BLOCK);
	munmap(heap.space, heap.nblocks);
	munmap(heap.card_summary, heap.nblocks);
	heap.space = NULL;
	heap.card_summary = NULL;
	gyre__card_summary = NULL;
	gyre__space = NULL;
	for (unsigned g = 0; g < 2; g++)
		for (unsigned c = 0; c < SIZECLASS_COUNT; c++)
			pthread_mutex_destroy(&heap.classes[g][c].lock);
	gyre__heap_base = gyre__heap_bytes = 0;
	gyre__cards = NULL;
	heap.cards = NULL;
	heap.base = NULL;
	heap.blocks = NULL;
	heap.nblocks = 0;
}

bool heap_reserve(size_t bytes)
{
	/* Relaxed: the counter guards a quantity, not other memory. */
	size_t used = atomic_load_relaxed(&heap.used);
	do {
		if (bytes > gyre_cfg.heap_max - used)
			return false;
	} while (!atomic_compare_exchange_weak_explicit(&heap.used, &used,
			used + bytes, memory_order_relaxed, memory_order_relaxed));
	return true;
}

void heap_unreserve(size_t bytes)
{
	atomic_sub_relaxed(&heap.used, bytes);
}

static void block_set_size(struct block *b, uint32_t obj_size)
{
	b->obj_size = obj_size;
	b->recip = (uint32_t)(((uint64_t)1 << 32) / obj_size +
			      ((((uint64_t)1 << 32) % obj_size) != 0));
	b->nslots = (uint32_t)(BLOCK_SIZE / obj_size);
}

/* A FREE block taken off the free list (or from above top), accounted
 * against the maximum, or NULL at the heap maximum. */
static struct block *take_free_block(void)
{
	if (!heap_reserve(BLOCK_SIZE))
		return NULL;
	pthread_mutex_lock(&heap.lock);
	struct block *b = heap.free;
	if (b)
		heap.free = b->next;
	else if (heap.top < heap.nblocks) {
		b = &heap.blocks[heap.top++];
		prefault_note(heap.top << BLOCK_SHIFT);
	}
	pthread_mutex_unlock(&heap.lock);
	if (!b) {
		heap_unreserve(BLOCK_SIZE);
		return NULL;
	}
	GYRE_ASSERT(b->state == BLOCK_FREE);
	b->next = b->gnext = NULL;
	b->live = 0;
	b->pinned = b->stayed = b->parsed = false;
	memset(b->starts, 0, sizeof(b->starts));
	return b;
}

/* A FREE block formatted for generation gen and class c, or NULL. */
static struct block *take_small_block(unsigned gen, unsigned c)
{
	struct block *b = take_free_block();
	if (!b)
		return NULL;
	b->state = BLOCK_SMALL;
	block_set_gen(b, gen);
	b->sizeclass = (uint8_t)c;
	b->swept = heap.sweep_epoch;
	block_set_size(b, sizeclass_size[c]);
	if (gen == 1) {
		pthread_mutex_lock(&heap.lock);
		b->gnext = heap.gen1;
		heap.gen1 = b;
		pthread_mutex_unlock(&heap.lock);
	}
	return b;
}

struct block *heap_take_block(unsigned gen, unsigned c)
{
	GYRE_ASSERT(gen == 1 || gen == 2);
	struct class_list *l = &heap.classes[gen - 1][c];
	pthread_mutex_lock(&l->lock);
	struct block *b = l->head;
	if (b)
		l->head = b->next;
	pthread_mutex_unlock(&l->lock);
	if (!b)
		b = take_small_block(gen, c);
	if (b) {
		GYRE_ASSERT(b->state == BLOCK_SMALL && b->sizeclass == c &&
			    b->gen == gen && !b->owned);
		b->owned = true;
		b->next = NULL;
	}
	return b;
}

void heap_return_block(struct block *b)
{
	GYRE_ASSERT(b->owned);
	b->owned = false;
	heap_list_block(b);
}

void heap_list_block(struct block *b)
{
	struct class_list *l = &heap.classes[b->gen - 1][b->sizeclass];
	GYRE_ASSERT(b->state == BLOCK_SMALL && !b->owned);
	pthread_mutex_lock(&l->lock);
	b->next = l->head;
	l->head = b;
	pthread_mutex_unlock(&l->lock);
}

struct block *heap_take_nursery(void)
{
	struct block *b = take_free_block();
	if (!b)
		return NULL;
	b->state = BLOCK_NURSERY;
	block_set_gen(b, 0);
	b->sizeclass = 0;
	b->top = 0;
	block_set_size(b, GRANULE);
	return b;
}

void heap_free_block(struct block *b)
{
	b->state = BLOCK_FREE;
	/* Space 0: a stale pointer into a free block must not look old to
	 * the collector thread (mark.c's old_target). */
	block_set_gen(b, 0);
	b->owned = b->pinned = b->stayed = b->parsed = false;
	memset(b->starts, 0, sizeof(b->starts));
	card_clear_block(b);
	pthread_mutex_lock(&heap.lock);
	b->next = heap.free;
	heap.free = b;
	pthread_mutex_unlock(&heap.lock);
	heap_unreserve(BLOCK_SIZE);
}

void heap_prune_gen1(void)
{
	struct block **pp = &heap.gen1;
	while (*pp) {
		if ((*pp)->state == BLOCK_FREE)
			*pp = (*pp)->gnext;
		else
			pp = &(*pp)->gnext;
	}
}

/* The last start bit at or below slot `s`, or -1. */
static long start_at_or_below(const struct block *b, uint32_t s)
{
	long w = s / 64;
	uint64_t bits = b->starts[w] & (~UINT64_C(0) >> (63 - s % 64));
	while (!bits) {
		if (--w < 0)
			return -1;
		bits = b->starts[w];
	}
	return w * 64 + 63 - __builtin_clzll(bits);
}

void *heap_find_small(uintptr_t p)
{
	if (!heap_contains(p))
		return NULL;
	struct block *b = block_of(p);
	if (b->state == BLOCK_SMALL) {
		/* Relaxed: a running thread may ask about an object it holds
		 * (the tests' checks do) while the lazy sweep rewrites the
		 * word (sweep.c); a live object keeps its bit. */
		uint32_t slot = block_slot(b, p);
		if (slot >= b->nslots ||
		    !(__atomic_load_n(&b->starts[slot / 64], __ATOMIC_RELAXED) >> (slot % 64) & 1))
			return NULL;
		return object_from_slot(block_base(b) + (size_t)slot * b->obj_size);
	}
	if (b->state != BLOCK_NURSERY || !b->parsed)
		return NULL;
	/* Objects span several granules: the nearest start at or below p,
	 * if p lies inside that object. */
	long s = start_at_or_below(b, (uint32_t)((p & (BLOCK_SIZE - 1)) / GRANULE));
	if (s < 0)
		return NULL;
	char *slot = block_base(b) + (size_t)s * GRANULE;
	void *obj = object_from_slot(slot);
	return p < (uintptr_t)slot + nursery_size_of(*object_header(obj)) ? obj : NULL;
}

bool heap_is_small_object(uintptr_t p)
{
	return heap_find_small(p) == (void *)p;
}
