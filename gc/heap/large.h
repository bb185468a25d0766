/*
 * large.h: the large-object space (DESIGN.md, "Heap layout"): objects whose
 * slot would exceed SIZECLASS_MAX_SIZE each get their own allocation from
 * gyre's jemalloc arena (runtime/meta.h) and never move; they belong to
 * generation 2. A small record in front of the header holds the mark bit
 * and, for objects with pointer fields, the address of their card bytes
 * (one per LARGE_CARD_SIZE bytes of payload, after the payload and their
 * chunks' summary bytes): GYRE_STORE finds it two words before the object
 * (gyre.h).
 *
 * [INV-LARGE-SUMMARY] The cards come in chunks of LARGE_CHUNK_CARDS (32
 * KiB of payload), each with a summary byte: chunk i's is the (i+1)-th
 * byte before the first card. A chunk's summary is set whenever one of
 * its cards is dirty, so that a minor collection reads a byte per chunk
 * of an object that was not written, and the cards of only the chunks
 * that were: a table of 16 MiB with one dirty card costs 489 bytes and a
 * chunk, not 250,000 cards. During a minor collection a summary's bit 1
 * (LARGE_CHUNK_PENDING) marks a chunk whose cards wait to be scanned.
 *
 * [INV-LARGE-SET] Every large object is in large.objs; between
 * large_prepare and the end of the sweep the array is sorted by address.
 */
#ifndef GYRE_LARGE_H
#define GYRE_LARGE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LARGE_MAGIC UINT64_C(0x6779726541524745)

struct large {
	uint64_t magic;          /* LARGE_MAGIC: checked in debug builds */
	uint64_t bytes;          /* header + payload */
	_Atomic uint64_t mark;   /* 1 when marked [INV-MARKS-CLEAR] */
	/* During a minor collection: some chunks wait to be scanned, and
	 * the next chunk that a worker may claim. */
	uint64_t cards_pending;
	_Atomic uint64_t card_cursor;
	/* Must stay the last field: gyre.h's barrier reads it at obj[-2]. */
	uint8_t *cards;          /* NULL for pointer-free objects */
	/* the header word follows, then the payload, then the chunks'
	 * summary bytes (last chunk first) and the cards */
};

struct large_space {
	pthread_mutex_t lock;   /* guards the fields below outside pauses */
	struct large **objs;
	size_t count, cap;
	/* The large objects' bytes (as counted in heap.used, their header
	 * included), for the memory limit's total where the allocator's own
	 * figure is not known (limit_total). Relaxed: a figure read on its
	 * own. */
	_Atomic size_t bytes;
};

extern struct large_space large;

void large_shutdown(void);
/* True if obj is the payload of a large object that is allocated: an
 * aligned user-space address whose record the kernel lets us read (a
 * junk address is refused, not faulted on) and holds LARGE_MAGIC. For
 * checks of arguments while the world may run. */
bool large_valid(const void *obj);
/* A zeroed large object of `bytes` (header included) with its header set,
 * with card bytes if it has pointers, or NULL (the heap maximum or memory
 * is exhausted). */
void *large_alloc(size_t bytes, uint64_t header, bool has_pointers);

/* Card bytes of a large object's payload. */
static inline size_t large_ncards(const struct large *l)
{
	return l->cards ? (l->bytes - sizeof(uint64_t) + ((size_t)1 << GYRE__LARGE_CARD_SHIFT) - 1) >>
				 GYRE__LARGE_CARD_SHIFT : 0;
}

#define LARGE_CHUNK_CARDS ((size_t)1 << GYRE__LARGE_CHUNK_SHIFT)
#define LARGE_CHUNK_PENDING 2

/* Chunks of cards of an object with cards. */
static inline size_t large_nchunks(const struct large *l)
{
	return (large_ncards(l) + LARGE_CHUNK_CARDS - 1) >> GYRE__LARGE_CHUNK_SHIFT;
}

/* The summary byte [INV-LARGE-SUMMARY] of chunk i of an object with cards. */
static inline uint8_t *large_summary(const struct large *l, size_t i)
{
	return l->cards - 1 - i;
}

static inline struct large *large_of(const void *obj)
{
	return (struct large *)((const char *)obj - sizeof(uint64_t)) - 1;
}

static inline void *large_object(struct large *l)
{
	return (char *)(l + 1) + sizeof(uint64_t);
}

/* With the world stopped: sorts the set so that large_find works. */
void large_prepare(void);
/* The large object whose payload contains address p, or NULL (needs
 * large_prepare): its record and header are not part of it, as a small
 * object's header is not (heap_find_small). */
void *large_find(uintptr_t p);

#endif
