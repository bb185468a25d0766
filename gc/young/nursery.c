/*
 * nursery.c: nursery blocks (see nursery.h).
 */
#include "gc/young/nursery.h"
#include "gc/heap/type.h"

struct nursery_space nursery = {.lock = PTHREAD_MUTEX_INITIALIZER};
LOCK_RANKED(LOCK_NURSERY, &nursery.lock, 1, sizeof(pthread_mutex_t))

void nursery_init(void)
{
	nursery.blocks = NULL;
	atomic_store_relaxed(&nursery.handed, 0);
	atomic_store_relaxed(&nursery.objects, 0);
	atomic_store_relaxed(&nursery.bytes, 0);
}

struct block *nursery_take(void)
{
	struct block *b = heap_take_nursery();
	if (!b)
		return NULL;
	pthread_mutex_lock(&nursery.lock);
	b->next = nursery.blocks;
	nursery.blocks = b;
	pthread_mutex_unlock(&nursery.lock);
	atomic_add_relaxed(&nursery.handed, BLOCK_SIZE);
	return b;
}

void nursery_parse(struct block *b)
{
	GYRE_ASSERT(b->state == BLOCK_NURSERY);
	if (b->parsed)
		return;
	char *base = block_base(b);
	for (uint32_t off = 0; off < b->top;) {
		uint64_t h = *(uint64_t *)(base + off);
		GYRE_ASSERT(!(h & (HDR_FORWARDED | HDR_STAYS)) &&
			    type_get(header_type(h)));
		uint32_t slot = off / GRANULE;
		b->starts[slot / 64] |= UINT64_C(1) << (slot % 64);
		off += (uint32_t)nursery_size_of(h);
	}
	b->parsed = true;
}
