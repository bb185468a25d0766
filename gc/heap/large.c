/*
 * large.c: the large-object space (see large.h). The set is a plain array:
 * appends take the lock; the collector sorts it once per collection and
 * binary-searches it for conservative roots.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "gc/heap/card.h"
#include "gc/heap/heap.h"
#include "gc/heap/large.h"
#include "gc/old/satb.h"
#include "runtime/meta.h"

struct large_space large = {.lock = PTHREAD_MUTEX_INITIALIZER};
LOCK_RANKED(LOCK_LARGE, &large.lock, 1, sizeof(pthread_mutex_t))

static bool set_append(struct large *l)
{
	bool ok = true;
	pthread_mutex_lock(&large.lock);
	if (large.count == large.cap) {
		size_t cap = large.cap ? large.cap * 2 : 64;
		struct large **objs = meta_realloc(large.objs, cap * sizeof(*objs));
		if (objs) {
			large.objs = objs;
			large.cap = cap;
		} else {
			ok = false;
		}
	}
	if (ok)
		large.objs[large.count++] = l;
	pthread_mutex_unlock(&large.lock);
	return ok;
}

void *large_alloc(size_t bytes, uint64_t header, bool has_pointers)
{
	if (!heap_reserve(bytes))
		return NULL;
	/* The cards and their chunks' summary bytes [INV-LARGE-SUMMARY]. */
	size_t ncards = has_pointers ? (bytes - sizeof(uint64_t) + LARGE_CARD_SIZE - 1) /
					       LARGE_CARD_SIZE : 0;
	size_t nchunks = (ncards + LARGE_CHUNK_CARDS - 1) / LARGE_CHUNK_CARDS;
	/* The cards start on a word and end on one: minor collections read
	 * them 8 at a time (card.h). */
	size_t cards_at = (sizeof(struct large) + bytes + nchunks + 7) & ~(size_t)7;
	struct large *l = meta_calloc(cards_at + ((ncards + 7) & ~(size_t)7));
	if (!l)
		goto fail_alloc;
	l->magic = LARGE_MAGIC;
	l->bytes = bytes;
	if (has_pointers)
		l->cards = (uint8_t *)l + cards_at;
	void *obj = large_object(l);
	*object_header(obj) = header;
	/* Allocated black while generation 2 is being marked: the cycle
	 * frees only what was unreachable when it began. The flag cannot
	 * change before this thread's next safepoint. */
	if (satb_active())
		atomic_store_relaxed(&l->mark, 1);
	if (!set_append(l))
		goto fail_append;
	atomic_add_relaxed(&large.bytes, bytes);
	return obj;
fail_append:
	meta_free(l);
fail_alloc:
	heap_unreserve(bytes);
	return NULL;
}

bool large_valid(const void *obj)
{
	uintptr_t p = (uintptr_t)obj;
	if (p % sizeof(void *) || p >> 47 || p < 4096 + sizeof(struct large))
		return false;
	struct large copy;
	struct iovec to = {&copy, sizeof(copy)};
	struct iovec from = {(void *)large_of(obj), sizeof(copy)};
	return process_vm_readv(getpid(), &to, 1, &from, 1, 0) == (ssize_t)sizeof(copy) &&
	       copy.magic == LARGE_MAGIC;
}

void large_shutdown(void)
{
	for (size_t i = 0; i < large.count; i++)
		meta_free(large.objs[i]);
	meta_free(large.objs);
	large.objs = NULL;
	large.count = large.cap = 0;
	atomic_store_relaxed(&large.bytes, 0);
}

static int by_address(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t) * (struct large *const *)a;
	uintptr_t y = (uintptr_t) * (struct large *const *)b;
	return (x > y) - (x < y);
}

void large_prepare(void)
{
	if (large.count > 1)
		qsort(large.objs, large.count, sizeof(*large.objs), by_address);
}

void *large_find(uintptr_t p)
{
	size_t lo = 0, hi = large.count;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if ((uintptr_t)large.objs[mid] <= p)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return NULL;
	struct large *l = large.objs[lo - 1];
	uintptr_t start = (uintptr_t)large_object(l), end = start + l->bytes -
							     sizeof(uint64_t);
	return p >= start && p < end ? large_object(l) : NULL;
}
