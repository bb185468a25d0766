/*
 * heap.c: the reservation, the side table and the movement of blocks
 * between the free list, the class lists and threads' allocation buffers
 * (see heap.h).
 */
#include <string.h>
#include <sys/mman.h>

#include "gc/heap.h"
#include "runtime/config.h"

struct heap heap = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void *map_noreserve(size_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

int heap_init(size_t max)
{
	size_t nblocks = (max + BLOCK_SIZE - 1) >> BLOCK_SHIFT;
	/* Over-reserve one block so the base can be aligned to BLOCK_SIZE. */
	char *raw = map_noreserve((nblocks + 1) << BLOCK_SHIFT);
	if (!raw)
		return GYRE_ENOMEM;
	uintptr_t aligned = ((uintptr_t)raw + BLOCK_SIZE - 1) & ~(BLOCK_SIZE - 1);
	size_t head = aligned - (uintptr_t)raw;
	if (head)
		munmap(raw, head);
	munmap((char *)aligned + (nblocks << BLOCK_SHIFT), BLOCK_SIZE - head);
	heap.blocks = map_noreserve(nblocks * sizeof(struct block));
	if (!heap.blocks) {
		munmap((void *)aligned, nblocks << BLOCK_SHIFT);
		return GYRE_ENOMEM;
	}
	heap.base = (char *)aligned;
	heap.nblocks = nblocks;
	heap.top = 0;
	heap.free = NULL;
	atomic_store_relaxed(&heap.used, 0);
	for (unsigned c = 0; c < SIZECLASS_COUNT; c++) {
		pthread_mutex_init(&heap.classes[c].lock, NULL);
		heap.classes[c].head = NULL;
	}
	return GYRE_OK;
}

void heap_shutdown(void)
{
	munmap(heap.base, heap.nblocks << BLOCK_SHIFT);
	munmap(heap.blocks, heap.nblocks * sizeof(struct block));
	for (unsigned c = 0; c < SIZECLASS_COUNT; c++)
		pthread_mutex_destroy(&heap.classes[c].lock);
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

static void block_format(struct block *b, unsigned c)
{
	b->state = BLOCK_SMALL;
	b->sizeclass = (uint8_t)c;
	b->obj_size = sizeclass_size[c];
	b->recip = (uint32_t)(((uint64_t)1 << 32) / b->obj_size +
			      ((((uint64_t)1 << 32) % b->obj_size) != 0));
	b->nslots = (uint32_t)(BLOCK_SIZE / b->obj_size);
	b->live = 0;
	b->next = NULL;
	memset(b->starts, 0, sizeof(b->starts));
}

/* A FREE block formatted for class c, or NULL at the heap maximum. */
static struct block *take_free_block(unsigned c)
{
	if (!heap_reserve(BLOCK_SIZE))
		return NULL;
	pthread_mutex_lock(&heap.lock);
	struct block *b = heap.free;
	if (b)
		heap.free = b->next;
	else if (heap.top < heap.nblocks)
		b = &heap.blocks[heap.top++];
	pthread_mutex_unlock(&heap.lock);
	if (!b) {
		heap_unreserve(BLOCK_SIZE);
		return NULL;
	}
	GYRE_ASSERT(b->state == BLOCK_FREE);
	block_format(b, c);
	return b;
}

struct block *heap_take_block(unsigned c)
{
	struct class_list *l = &heap.classes[c];
	pthread_mutex_lock(&l->lock);
	struct block *b = l->head;
	if (b)
		l->head = b->next;
	pthread_mutex_unlock(&l->lock);
	if (!b)
		b = take_free_block(c);
	if (b) {
		GYRE_ASSERT(b->state == BLOCK_SMALL && b->sizeclass == c && !b->owned);
		b->owned = true;
		b->next = NULL;
	}
	return b;
}

void heap_return_block(struct block *b)
{
	struct class_list *l = &heap.classes[b->sizeclass];
	GYRE_ASSERT(b->owned);
	b->owned = false;
	pthread_mutex_lock(&l->lock);
	b->next = l->head;
	l->head = b;
	pthread_mutex_unlock(&l->lock);
}

void *heap_find_small(uintptr_t p)
{
	if (!heap_contains(p))
		return NULL;
	struct block *b = block_of(p);
	if (b->state != BLOCK_SMALL)
		return NULL;
	uint32_t slot = block_slot(b, p);
	if (slot >= b->nslots || !bit_test(b->starts, slot))
		return NULL;
	return object_from_slot(block_base(b) + (size_t)slot * b->obj_size);
}

bool heap_is_small_object(uintptr_t p)
{
	return heap_find_small(p) == (void *)p;
}
