/*
 * large.h: the large-object space (DESIGN.md, "Heap layout"): objects whose
 * slot would exceed SIZECLASS_MAX_SIZE each get their own allocation from
 * gyre's jemalloc arena (runtime/meta.h) and never move. A small record in
 * front of the header holds the mark bit.
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
	/* the header word follows, then the payload */
};

struct large_space {
	pthread_mutex_t lock;   /* guards the fields below outside pauses */
	struct large **objs;
	size_t count, cap;
};

extern struct large_space large;

void large_shutdown(void);
/* A zeroed large object of `bytes` (header included) with its header set,
 * or NULL (the heap maximum or memory is exhausted). */
void *large_alloc(size_t bytes, uint64_t header);

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
/* The large object containing address p, or NULL (needs large_prepare). */
void *large_find(uintptr_t p);

#endif
