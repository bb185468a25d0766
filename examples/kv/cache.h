/*
 * cache.h: the key-value cache: a hash table split into shards, each with
 * its own lock, its own chains and its own LRU ring, holding documents
 * (struct jv graphs) by key. When a shard is over its share of the capacity
 * its least recently used entry is dropped: for the collectors, dropping
 * the reference is the whole eviction.
 *
 * The table lives in the heap, reachable from one root: after the first
 * collections it sits in the old generation, and every PUT and every LRU
 * move stores young or old pointers into it through the write barrier.
 *
 * Locks are taken with MM_MUTEX_LOCK (a blocking region when contended), and
 * nothing is allocated while one is held: an allocation may stop at a
 * safepoint for a collection, and a collection must not wait for a thread
 * that waits for a lock such a stopped thread holds.
 */
#ifndef KV_CACHE_H
#define KV_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "objects.h"

#define CACHE_SHARDS 64

/* Sets the cache up for at most max_entries entries. On an
 * attached thread, once, after kv_mm_init. */
void cache_init(size_t max_entries);

/* Frees every entry (malloc builds) and forgets the table. */
void cache_destroy(void);

/* Appends the document stored under key[0..len) to out as JSON and marks
 * it recently used; false if there is none. */
bool cache_get(const char *key, size_t len, struct buf *out);

/* Stores doc under key[0..len), possibly evicting the shard's least
 * recently used entry; true if it replaced a document. doc must not be
 * used by the caller afterwards (a malloc build frees it with the entry). */
bool cache_put(const char *key, size_t len, struct jv *doc);

/* Removes the entry under key[0..len); false if there was none. */
bool cache_delete(const char *key, size_t len);

struct cache_counts {
	uint64_t entries;
	uint64_t capacity;
	uint64_t evictions;
};

/* Any thread, without locks: each figure is a recent value. */
void cache_counts(struct cache_counts *out);

#endif
