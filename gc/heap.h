/*
 * heap.h: the block heap (DESIGN.md, "Heap layout"). One contiguous virtual
 * reservation of heap_max bytes, carved into BLOCK_SIZE-aligned blocks. A
 * block is free, a nursery block (generation 0: objects of any size,
 * bump-allocated back to back), or a size-class block of generation 1 or 2.
 * Per-block metadata, including the object-start and mark bitmaps, lives in
 * a side table indexed by block number, so finding an object's block is
 * address arithmetic and marking or sweeping touches dense bitmaps. A
 * nursery block is formatted with GRANULE-sized slots, so that its bitmaps
 * are indexed like any other block's.
 *
 * The card table has one byte per CARD_SIZE bytes of the reservation
 * (gc/card.h).
 *
 * [INV-STARTS] In a size-class block outside an allocation run, a slot's
 * start bit is set exactly when the slot holds an object (a run's
 * allocated prefix gets its bits when the run is retired, run.c). In a
 * nursery block the bits are exact once the block is `parsed`
 * (nursery.c), and only then.
 * [INV-MARKS-CLEAR] Mark bits are all clear except between the start of a
 * collection's mark phase and the end of its sweep.
 * [INV-HEAP-USED] heap.used == blocks in use * BLOCK_SIZE + large-object
 * bytes, and never exceeds gyre_cfg.heap_max.
 * [INV-UNSWEPT] A generation-2 block whose `swept` is not heap.sweep_epoch
 * has not been swept since the last remark: its mark bits, not its start
 * bits, say which of its objects are alive (the others are dead, and may
 * point at freed memory). It is on no class list. Every other block has
 * no mark bits outside a collection's marking.
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

/* A transparent huge page: the reservation's alignment (heap.c) and the
 * prefault thread's step (prefault.c). */
#define HUGE_PAGE ((size_t)2 << 20)
#define BLOCK_SHIFT GYRE__BLOCK_SHIFT
#define BLOCK_SIZE ((size_t)1 << BLOCK_SHIFT)
#define BLOCK_SLOTS_MAX (BLOCK_SIZE / GRANULE)
#define BITMAP_WORDS (BLOCK_SLOTS_MAX / 64)

enum block_state {
	BLOCK_FREE,    /* holds no objects (never used, or emptied) */
	BLOCK_SMALL,   /* holds objects of one size class, gen 1 or 2 */
	BLOCK_NURSERY, /* gen 0: objects back to back from the block's base */
};

struct block {
	/* Sync for every field: the heap or class lock while the block moves
	 * between lists; the owning thread while it backs an allocation
	 * buffer; the collector while the world is stopped. */
	uint8_t state;        /* enum block_state */
	uint8_t sizeclass;
	uint8_t gen;          /* 0 (nursery), 1 or 2 */
	bool owned;           /* backs an allocation run */
	/* During a minor collection: objects in it stay in place, the mark
	 * bits say which. `pinned`: conservative roots point at some (set by
	 * the pin pass, then read-only); `stayed`: some could not be copied
	 * (set under minor.c's pin lock). */
	bool pinned;
	bool stayed;
	bool parsed;          /* NURSERY: start bits are exact */
	uint32_t obj_size;    /* sizeclass_size[sizeclass], GRANULE in nursery */
	uint32_t recip;       /* ceil(2^32 / obj_size): slot = off * recip >> 32 */
	uint32_t nslots;      /* BLOCK_SIZE / obj_size */
	uint32_t live;        /* objects in the block after the last sweep */
	uint32_t top;         /* NURSERY: bytes from the base that hold objects */
	/* SMALL, gen 2: the heap.sweep_epoch it was last swept in, or
	 * formatted in [INV-UNSWEPT]. */
	uint32_t swept;
	struct block *next;   /* on a class list, the free list or the nursery */
	struct block *gnext;  /* gen 1: on heap.gen1 */
	/* During a minor collection: the list of blocks with pinned objects,
	 * a worker's list of blocks it copied into, and a worker's list of
	 * blocks with pending cards. */
	struct block *pin_next;
	struct block *copy_next;
	struct block *card_next;
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
	/* Size-class blocks with free slots: classes[gen - 1][class]. */
	struct class_list classes[2][SIZECLASS_COUNT];
	/* Every gen-1 block, linked by gnext. Sync: `lock`. */
	struct block *gen1;
	uint8_t *cards;        /* the card table; immutable after init */
	/* One byte per block: set with any of its cards (card.h). */
	uint8_t *card_summary;
	/* One byte per block: its `gen` and, during a minor collection,
	 * whether it is being evacuated and holds pinned objects (SPACE_*). A dense map, so that the
	 * minor collection's test of a field's target does not read the
	 * target block's metadata, which for old targets would be a cache
	 * miss per field. Sync: the block's owner, or the collector with the
	 * world stopped. */
	uint8_t *space;
	/* Incremented by each remark that leaves generation 2 to the lazy
	 * sweep (sweep.c). Sync: written with the world stopped; read by
	 * the sweepers, which the pause's restart orders after it. */
	uint32_t sweep_epoch;
};

#define SPACE_GEN_MASK 3
#define SPACE_FROM 4
/* From-space with objects pinned by roots (block->pinned): the copier
 * reads the block's mark bits only where this is set. */
#define SPACE_PINNED 8

/* Sync: the fields say. */
extern struct heap heap;

int heap_init(size_t max);
void heap_shutdown(void);

/* Accounts `bytes` against heap_max; false if that would pass it. */
bool heap_reserve(size_t bytes);
void heap_unreserve(size_t bytes);

/* A block of generation `gen` (1 or 2) and class `c` with free slots,
 * owned by the caller's allocation run, or NULL when the heap is at its
 * maximum. */
struct block *heap_take_block(unsigned gen, unsigned c);
/* Returns a SMALL block to its class list (the owner had no more use). */
void heap_return_block(struct block *b);
/* Puts an unowned SMALL block with free slots on its class list. */
void heap_list_block(struct block *b);
/* A NURSERY block (its bytes unspecified: the allocator zeroes them as it
 * goes), or NULL at the heap maximum. */
struct block *heap_take_nursery(void);
/* Gives an emptied block back to the free list; clears its cards. */
void heap_free_block(struct block *b);
/* Drops FREE blocks from heap.gen1 (after a sweep). World stopped. */
void heap_prune_gen1(void);

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

/* The SPACE_* byte of the block holding p (p in the heap). */
static inline uint8_t space_of(uintptr_t p)
{
	return heap.space[(p - (uintptr_t)heap.base) >> BLOCK_SHIFT];
}

/* Relaxed store of the space byte: the lazy sweepers read it (to find
 * generation-2 blocks) while a mutator formats a free block for its
 * nursery; the byte alone decides nothing there (sweep.c). */
static inline void block_set_gen(struct block *b, unsigned gen)
{
	b->gen = (uint8_t)gen;
	__atomic_store_n(&heap.space[block_index(b)], (uint8_t)gen, __ATOMIC_RELAXED);
}

/* [INV-UNSWEPT]. */
static inline bool block_unswept(const struct block *b)
{
	return b->state == BLOCK_SMALL && b->gen == 2 && b->swept != heap.sweep_epoch;
}

/* Whether slot s of a SMALL block holds an object that is alive, as far
 * as the block's bitmaps tell [INV-UNSWEPT]. */
static inline bool block_slot_live(const struct block *b, uint32_t s)
{
	if (!(b->starts[s / 64] >> (s % 64) & 1))
		return false;
	return !block_unswept(b) ||
	       (atomic_load_relaxed(&b->marks[s / 64]) >> (s % 64) & 1);
}

/* During a minor collection: the block is being evacuated. */
static inline void block_set_from(struct block *b, bool from)
{
	heap.space[block_index(b)] = (uint8_t)(b->gen | (from ? SPACE_FROM : 0));
}

static inline bool block_from(const struct block *b)
{
	return heap.space[block_index(b)] & SPACE_FROM;
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

/* The object (payload pointer) that contains `p`, if `p` lies in an
 * object of a SMALL block or of a parsed NURSERY block; NULL otherwise.
 * For conservative roots: any word is acceptable input. */
void *heap_find_small(uintptr_t p);

/* True if `p` is exactly the payload start of such an object. */
bool heap_is_small_object(uintptr_t p);

/* The generation of the object at `p` (an object of the heap or a large
 * object, which is gen 2). */
static inline unsigned heap_gen_of(uintptr_t p)
{
	return heap_contains(p) ? block_of(p)->gen : 2;
}

#endif
