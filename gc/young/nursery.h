/*
 * nursery.h: generation 0 (DESIGN.md, "Generations and the write
 * barrier"). Each attached thread bump-allocates from a buffer that is a
 * whole zeroed NURSERY block, through the inline path in gyre.h; the slow
 * path takes the next block. Objects sit back to back from the block's
 * base, each GRANULE-aligned, so a block can be parsed from its headers
 * alone: that is how a minor collection finds the object a conservative
 * root points into.
 *
 * After a minor collection the nursery holds only the blocks of pinned
 * objects ("retained"): their start bits name exactly the pinned objects,
 * and they take no new allocations; the next minor collection frees them
 * once nothing pins them.
 */
#ifndef GYRE_NURSERY_H
#define GYRE_NURSERY_H

#include <pthread.h>
#include <stdatomic.h>

#include "gc/heap/heap.h"

struct nursery_space {
	/* Guards `blocks`. */
	pthread_mutex_t lock;
	/* Every NURSERY block, linked by next. */
	struct block *blocks;
	/* Bytes of blocks handed to threads since the last minor collection
	 * (get_count()[0]). Relaxed: a counter for a trigger. */
	_Atomic size_t handed;
	/* Objects and bytes that threads' retired buffers held since the last
	 * minor collection. Relaxed: summed after the world stops. */
	_Atomic size_t objects;
	_Atomic size_t bytes;
};

extern struct nursery_space nursery;

void nursery_init(void);
/* A fresh block for a thread's buffer, or NULL at the heap maximum. */
struct block *nursery_take(void);
/* Sets the block's start bits from its headers (once). Minor collection:
 * before any object of the block is forwarded. */
void nursery_parse(struct block *b);

#endif
