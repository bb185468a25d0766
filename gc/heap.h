/*
 * heap.h: the block heap (DESIGN.md, "Heap layout"). One contiguous virtual
 * reservation of heap_max bytes, carved into BLOCK_SIZE-aligned blocks; each
 * block holds objects of one size class. Per-block metadata, including the
 * object-start and mark bitmaps, lives in a side table indexed by block
 * number, so finding an object's block is address arithmetic and marking or
 * sweeping touches dense bitmaps.
 *
 * [INV-STARTS] Outside a thread's current allocation run, a slot's start
 * bit is set exactly when the slot holds an object. A run's allocated
 * prefix gets its bits when the run is retired (alloc.c), which every
 * collection does first.
 * [INV-MARKS-CLEAR] Mark bits are all clear except between the start of a
 * collection's mark phase and the end of its sweep.
 * [INV-HEAP-USED] heap.used == blocks in use * BLOCK_SIZE + large-object
 * bytes, and never exceeds gyre_cfg.heap_max.
 */
#ifndef GYRE_HEAP_H
#define GYRE_HEAP_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "gc/object.h"
#include "gc/sizeclass.h"
#include "runtime/atomics.h"

#define BLOCK_SHIFT 16
#define BLOCK_SIZE ((size_t)1 << BLOCK_SHIFT)
#define BLOCK_SLOTS_MAX (BLOCK_SIZE / GRANULE)
#define BITMAP_WORDS (BLOCK_SLOTS_MAX / 64)

enum block_state {
	BLOCK_FREE,  /* holds no objects (never used, or emptied by a sweep) */
	BLOCK_SMALL, /* holds objects of one size class */
};

struct block {
	/* Sync for every field: the heap or class lock while the block moves
	 * between lists; the owning thread while it backs an allocation
	 * buffer; the collector while the world is stopped. */
	uint8_t state;        /* enum block_state */
	uint8_t sizeclass;
	bool dirty;           /* free slots may hold old bytes: clear them */
	bool owned;           /* backs a thread's allocation buffer */
	uint32_t obj_size;    /* sizeclass_size[sizeclass] */
	uint32_t recip;       /* ceil(2^32 / obj_size): slot = off * recip >> 32 */
	uint32_t nslots;      /* BLOCK_SIZE / obj_size */
	uint32_t live;        /* objects in the block after the last sweep */
	struct block *next;   /* on a class list or the free list */
	uint64_t starts[BITMAP_WORDS];          /* [INV-STARTS] */
	_Atomic uint64_t marks[BITMAP_WORDS];   /* [INV-MARKS-CLEAR] */
};

struct class_list {
	pthread_mutex_t lock;
	struct block *head;   /* SMALL blocks with free slots, not owned */
};

struct heap {
	char *base;            /* the reservation; immutable after init */
	size_t nblocks;        /* blocks in the reservation */
	struct block *blocks;  /* side table, nblocks entries */
	pthread_mutex_t lock;  /* guards top and free */
	size_t top;            /* blocks [0, top) have been handed out */
	struct block *free;    /* FREE blocks below top */
	/* [INV-HEAP-USED]. Sync: atomic; reserved before memory is handed
	 * out (heap_reserve), so the maximum holds without a lock. */
	_Atomic size_t used;
	struct class_list classes[SIZECLASS_COUNT];
};

/* Sync: the fields say. */
extern struct heap heap;

int heap_init(size_t max);
void heap_shutdown(void);

/* Accounts `bytes` against heap_max; false if that would pass it. */
bool heap_reserve(size_t bytes);
void heap_unreserve(size_t bytes);

/* A block of class `c` with free slots, owned by the caller's allocation
 * buffer, or NULL when the heap is at its maximum. */
struct block *heap_take_block(unsigned c);
/* Returns a SMALL block to its class list (the owner had no more use). */
void heap_return_block(struct block *b);

static inline size_t block_index(const struct block *b)
{
	return (size_t)(b - heap.blocks);
}

static inline char *block_base(const struct block *b)
{
	return heap.base + (block_index(b) << BLOCK_SHIFT);
}

static inline bool heap_contains(uintptr_t p)
{
	return p - (uintptr_t)heap.base < (heap.nblocks << BLOCK_SHIFT);
}

static inline struct block *block_of(uintptr_t p)
{
	return &heap.blocks[(p - (uintptr_t)heap.base) >> BLOCK_SHIFT];
}

/* Slot index of an address inside a SMALL block. */
static inline uint32_t block_slot(const struct block *b, uintptr_t p)
{
	uint64_t off = p & (BLOCK_SIZE - 1);
	return (uint32_t)((off * b->recip) >> 32);
}

static inline bool bit_test(const uint64_t *bits, uint32_t i)
{
	return bits[i / 64] >> (i % 64) & 1;
}

/* The object (payload pointer) whose slot contains `p`, if `p` lies in an
 * allocated slot of a SMALL block; NULL otherwise. For conservative roots:
 * any word is acceptable input. */
void *heap_find_small(uintptr_t p);

/* True if `p` is exactly the payload start of an allocated small object. */
bool heap_is_small_object(uintptr_t p);

#endif
