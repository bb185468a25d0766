/*
 * heap.h: the block heap (DESIGN.md, "Heap layout"). One contiguous virtual
 * reservation of heap_max bytes, carved into BLOCK_SIZE-aligned blocks. A
 * block is free, a nursery block (generation 0: objects of any size,
 * bump-allocated back to back), a size-class block of generation 1 or 2,
 * or a packed block: a nursery block that a minor collection promoted to
 * generation 2 in place, its survivors where they were allocated.
 * Per-block metadata, including the object-start and mark bitmaps, lives in
 * a side table indexed by block number, so finding an object's block is
 * address arithmetic and marking or sweeping touches dense bitmaps. A
 * nursery block is formatted with GRANULE-sized slots, so that its bitmaps
 * are indexed like any other block's.
 *
 * The card table has one byte per CARD_SIZE bytes of the reservation
 * (gc/heap/card.h).
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
 * [INV-PACKED] A PACKED block is tiled by its objects and fillers (holes,
 * packed.h), back to back from its base to its end, each with its start
 * bit (dead objects' too while it is unswept [INV-UNSWEPT]); `live_bytes`
 * is the sum of its objects' footprints, fillers left out. It is on no
 * class list; minor collections copy into its listed holes, compaction
 * leaves it alone, and the sweep frees it once no object is left.
 * [INV-UNSWEPT] A generation-2 block whose `swept` is not heap.sweep_epoch
 * has not been swept since the last remark: its mark bits, not its start
 * bits, say which of its objects are alive (the others are dead, and may
 * point at freed memory). It is on no class list. Every other block has
 * no mark bits outside a collection's marking.
 * [INV-FREE-LISTS] Every FREE block below heap.top is on exactly one of
 * three lists: heap.free (its memory is committed: the kernel may hold
 * pages of it), heap.returning (off the free list while its memory is
 * being returned, decommit.c) or heap.returned (its memory was given back
 * with MADV_DONTNEED: it reads as zero). Blocks are taken from heap.free
 * first, then from heap.returned, and only then from above the top; no one
 * takes from heap.returning, so its blocks are returned while nobody can
 * write them. heap.free_bits has exactly the bits of the blocks on
 * heap.free.
 */
#ifndef GYRE_HEAP_H
#define GYRE_HEAP_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "gc/heap/object.h"
#include "gc/heap/sizeclass.h"
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
	BLOCK_PACKED,  /* gen 2: a nursery block promoted in place [INV-PACKED] */
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
	/* During a minor collection, a nursery block: promoted in place,
	 * every object reached in it stays and it becomes PACKED. */
	bool in_place;
	bool retained;        /* NURSERY: kept by a minor collection for pinned objects */
	bool parsed;          /* NURSERY: start bits are exact */
	/* Its bytes were all zero when it was taken (from heap.returned, or
	 * from above the top, never written): a nursery buffer need not zero
	 * it again (alloc.c). Set by whoever takes the block. */
	bool zeroed;
	uint32_t obj_size;    /* sizeclass_size[sizeclass], GRANULE in nursery */
	uint32_t recip;       /* ceil(2^32 / obj_size): slot = off * recip >> 32 */
	uint32_t nslots;      /* BLOCK_SIZE / obj_size */
	uint32_t live;        /* objects in the block after the last sweep */
	uint32_t live_bytes;  /* PACKED: their footprints [INV-PACKED] */
	uint32_t top;         /* NURSERY: bytes from the base that hold objects */
	/* SMALL or PACKED, gen 2: the heap.sweep_epoch it was last swept in, or
	 * formatted in [INV-UNSWEPT]. */
	uint32_t swept;
	struct block *next;   /* on a class list, a free list or the nursery */
	struct block *prev;   /* on heap.free: the block before it, or NULL */
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
	/* Guards top and the three lists of FREE blocks [INV-FREE-LISTS]
	 * with their counts, free_low and free_bits; each count is also read
	 * relaxed, for statistics and decommit.c's estimates. */
	pthread_mutex_t lock;
	size_t top;            /* blocks [0, top) have been handed out */
	/* Committed FREE blocks, doubly linked (next, prev): the most
	 * recently freed at the head, where blocks are taken from (the
	 * likeliest to be cached), the longest free at the tail. */
	struct block *free;
	struct block *free_tail;
	_Atomic size_t nfree;
	/* The fewest blocks heap.free held since decommit.c last looked
	 * (decommit_begin resets it): what stayed free all that while. */
	size_t free_low;
	uint64_t *free_bits;   /* one bit per block: on heap.free */
	struct block *returning; /* being returned (decommit.c), by next */
	_Atomic size_t nreturning;
	struct block *returned;  /* returned to the kernel, by next */
	_Atomic size_t nreturned;
	/* Bytes returned to the kernel since init. Relaxed: a statistic. */
	_Atomic uint64_t returned_bytes;
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
/* A compaction candidate (compact.h): during a full collection's
 * compaction, and from the start of a concurrent cycle that compacts to
 * its end. The write barrier reads it (gyre.h). */
#define SPACE_EVAC GYRE__SPACE_EVAC

/* Sync: the fields say. */
extern struct heap heap;

int heap_init(size_t max);
void heap_shutdown(void);

/* The bytes heap.used may still grow by before heap_max. Relaxed: a
 * figure for triggers and policies, not a reservation (heap_reserve). */
size_t heap_room(void);

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
/* A NURSERY block (its bytes unspecified unless `zeroed`: the allocator
 * zeroes them as it goes), or NULL at the heap maximum. */
struct block *heap_take_nursery(void);
/* Gives an emptied block back to the free list; clears its cards. */
void heap_free_block(struct block *b);
/* Gives a chain of blocks (linked by next; FREE, their start bits and
 * cards clear, their space byte 0) to the free list, first to last, so
 * the first ends nearest the head. The sweep's: heap_free_block's work is
 * done by the sweepers in parallel. heap.used is the caller's to
 * update. */
void heap_free_blocks(struct block *first);
/* Drops FREE blocks from heap.gen1 (after a sweep). World stopped. */
void heap_prune_gen1(void);

/* Returning memory (decommit.c) [INV-FREE-LISTS]. Only one thread moves
 * blocks onto and off heap.returning, and it may read that list without
 * the lock (nobody else writes it).
 * A run is HUGE_RUN blocks that fill one 2 MiB-aligned huge page. */
#define HUGE_RUN (HUGE_PAGE / BLOCK_SIZE)
/* Moves the highest run of free blocks that starts below block `below`
 * from heap.free to heap.returning, if heap.free keeps at least `keep`
 * blocks; returns the run's first block, or SIZE_MAX if there is none. */
size_t heap_claim_run(size_t below, size_t keep);
/* Moves up to n blocks from heap.free's tail (the longest free) to
 * heap.returning, keeping at least `keep`; returns how many it moved. */
size_t heap_claim_blocks(size_t n, size_t keep);
/* The blocks on heap.returning go to heap.returned once their memory is
 * returned (`returned`), or back to heap.free if madvise failed. */
void heap_end_return(bool returned);
/* Resets the low-water mark of heap.free; returns what it was. */
size_t heap_free_low_reset(void);

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
	return (b->state == BLOCK_SMALL || b->state == BLOCK_PACKED) && b->gen == 2 &&
	       b->swept != heap.sweep_epoch;
}

/* A block of old objects that stay where they are: SMALL or PACKED. */
static inline bool block_old_format(const struct block *b)
{
	return b->state == BLOCK_SMALL || b->state == BLOCK_PACKED;
}

/* Whether slot s of a SMALL or PACKED block holds an object that is alive, as far
 * as the block's bitmaps tell [INV-UNSWEPT]. */
static inline bool block_slot_live(const struct block *b, uint32_t s)
{
	if (!(b->starts[s / 64] >> (s % 64) & 1))
		return false;
	return !block_unswept(b) ||
	       (atomic_load_relaxed(&b->marks[s / 64]) >> (s % 64) & 1);
}

/* The bytes of a SMALL or PACKED block's `n` objects, n being the count
 * of its start bits (a PACKED block's are its live_bytes). */
static inline size_t block_starts_bytes(const struct block *b, uint32_t n)
{
	return b->state == BLOCK_PACKED ? b->live_bytes : (size_t)n * b->obj_size;
}

/* The free bytes of a SMALL or PACKED block holding `n` objects (n its
 * start bits): free slots, or a PACKED block's holes. */
static inline size_t block_free_bytes(const struct block *b, uint32_t n)
{
	return b->state == BLOCK_PACKED ? BLOCK_SIZE - b->live_bytes
					: (size_t)(b->nslots - n) * b->obj_size;
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

/* The slot of m's lowest set bit, m being word i of a block bitmap: loops
 * over a bitmap's set bits take a word at a time (most of a nursery
 * block's 4,096 slots hold no object start). */
static inline uint32_t bitmap_slot(unsigned i, uint64_t m)
{
	return i * 64 + (uint32_t)__builtin_ctzll(m);
}

static inline bool bit_test(const uint64_t *bits, uint32_t i)
{
	return bits[i / 64] >> (i % 64) & 1;
}

/* The object (payload pointer) that contains `p`, if `p` lies in an
 * object of a SMALL or PACKED block or of a parsed NURSERY block; NULL
 * otherwise.
 * For conservative roots: any word is acceptable input. An object is
 * [obj, end of its slot): its header is not part of it, so a word that
 * points at a header (a slot's start) finds nothing. gyre.h promises
 * that pointers *into* an object keep it; a slot boundary is what gyre's
 * own allocation pointers hold (a nursery buffer's cursor and limit, a
 * block's base), and a stale copy of one in an unwritten stack slot kept
 * the first object of a block, and all it reaches, through every cycle
 * (tests/unit/pacer.c's dropped list). A pointer one past an object's
 * payload finds that object where its slot has slack, never the next
 * object. */
void *heap_find_small(uintptr_t p);

/* The slot of the nearest start bit at or below slot s of block b, or
 * -1: in a NURSERY or PACKED block, the object that slot s may lie in. */
long block_start_at_or_below(const struct block *b, uint32_t s);

/* True if `p` is exactly the payload start of such an object. */
bool heap_is_small_object(uintptr_t p);

/* The generation of the object at `p` (an object of the heap or a large
 * object, which is gen 2). */
static inline unsigned heap_gen_of(uintptr_t p)
{
	return heap_contains(p) ? block_of(p)->gen : 2;
}

#endif
