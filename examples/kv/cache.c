/*
 * cache.c: the sharded LRU hash table (see cache.h).
 */
#include "cache.h"

#include <stdatomic.h>

#include "json.h"

/* A shard's lock, a cache line each (no false sharing between them). */
struct shard {
	pthread_mutex_t lock;
} __attribute__((aligned(64)));

static struct shard shards[CACHE_SHARDS];
static size_t capacity;
static size_t bucket_mask;
/* Entries in the whole cache, and evictions so far. Relaxed atomics: each
 * shard's structure is ordered by its lock, and these only decide when to
 * evict and feed /stats. A PUT over capacity evicts from its own shard
 * only (it holds that lock alone), and not the entry it just added: when
 * that shard holds nothing else, the cache stays one over capacity, so it
 * holds at most capacity + CACHE_SHARDS - 1 entries. */
static _Atomic uint64_t entries;
static _Atomic uint64_t evictions;
/* The heap part: a pointer array of CACHE_SHARDS struct shard_refs *, the
 * cache's only root (a registered global for gyre; Boehm scans globals). */
static void **refs;

static uint64_t hash_key(const char *key, size_t len)
{
	uint64_t h = 0xcbf29ce484222325u;   /* FNV-1a */

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)key[i]) * 0x100000001b3u;
	return h ^ (h >> 29);
}

static struct shard *shard_of(uint64_t hash) { return &shards[hash % CACHE_SHARDS]; }
static struct shard_refs *refs_of(uint64_t hash) { return refs[hash % CACHE_SHARDS]; }
static size_t bucket_of(uint64_t hash) { return (hash / CACHE_SHARDS) & bucket_mask; }

void cache_init(size_t max_entries)
{
	size_t buckets = 1;

	capacity = max_entries;
	while (buckets * CACHE_SHARDS < capacity)
		buckets *= 2;
	bucket_mask = buckets - 1;
	refs = mm_alloc_ptrs(CACHE_SHARDS);
	mm_root_add(&refs, sizeof(refs));
	for (int i = 0; i < CACHE_SHARDS; i++) {
		struct shard_refs *r = shard_refs_new();
		struct entry *sentinel = entry_new();
		void **b = mm_alloc_ptrs(buckets);

		MM_STORE(sentinel, lru_prev, sentinel);
		MM_STORE(sentinel, lru_next, sentinel);
		MM_STORE(r, lru, sentinel);
		MM_STORE(r, buckets, b);
		MM_STORE_AT(refs, i, r);
		mm_check_errno(pthread_mutex_init(&shards[i].lock, NULL),
		               "pthread_mutex_init");
	}
}

static void entry_free(struct entry *e)
{
	if (!MM_EXPLICIT_FREE)
		return;
	jv_free(e->doc);
	mm_free(e->key);
	mm_free(e);
}

void cache_destroy(void)
{
	for (int i = 0; i < CACHE_SHARDS && refs != NULL; i++) {
		struct shard_refs *r = refs[i];
		struct entry *e, *next;

		if (MM_EXPLICIT_FREE) {
			for (e = r->lru->lru_next; e != r->lru; e = next) {
				next = e->lru_next;
				entry_free(e);
			}
			mm_free(r->lru);
			mm_free(r->buckets);
			mm_free(r);
		}
		pthread_mutex_destroy(&shards[i].lock);
	}
	mm_free(refs);
	refs = NULL;
}

static struct entry *lookup(struct shard_refs *r, uint64_t hash,
                            const char *key, size_t len)
{
	struct entry *e = r->buckets[bucket_of(hash)];

	while (e != NULL && (e->hash != hash || e->key_len != len ||
	                     memcmp(e->key, key, len) != 0))
		e = e->next;
	return e;
}

static void lru_unlink(struct entry *e)
{
	MM_STORE(e->lru_prev, lru_next, e->lru_next);
	MM_STORE(e->lru_next, lru_prev, e->lru_prev);
}

static void lru_push_front(struct shard_refs *r, struct entry *e)
{
	struct entry *s = r->lru;

	MM_STORE(e, lru_prev, s);
	MM_STORE(e, lru_next, s->lru_next);
	MM_STORE(s->lru_next, lru_prev, e);
	MM_STORE(s, lru_next, e);
}

/* Makes e its shard's most recently used entry. */
static void lru_touch(struct shard_refs *r, struct entry *e)
{
	lru_unlink(e);
	lru_push_front(r, e);
}

/* Takes e out of its bucket's chain and the LRU ring. */
static void unlink_entry(struct shard_refs *r, struct entry *e)
{
	size_t b = bucket_of(e->hash);
	struct entry *prev = NULL, *cur = r->buckets[b];

	while (cur != e) {
		prev = cur;
		cur = cur->next;
	}
	if (prev == NULL)
		MM_STORE_AT(r->buckets, b, e->next);
	else
		MM_STORE(prev, next, e->next);
	lru_unlink(e);
	atomic_fetch_sub_explicit(&entries, 1, memory_order_relaxed);
}

/* Takes the lock of hash's shard and returns the shard's heap part (read
 * under the lock: a collection may have moved it) and the entry under
 * key[0..len), or NULL in *found. The caller unlocks. */
static struct shard_refs *lock_and_find(uint64_t hash, const char *key,
                                        size_t len, struct entry **found)
{
	struct shard_refs *r;

	MM_MUTEX_LOCK(&shard_of(hash)->lock);
	r = refs_of(hash);
	*found = lookup(r, hash, key, len);
	return r;
}

bool cache_get(const char *key, size_t len, struct buf *out)
{
	uint64_t hash = hash_key(key, len);
	struct shard *s = shard_of(hash);
	struct entry *e;
	struct shard_refs *r = lock_and_find(hash, key, len, &e);

	if (e != NULL) {
		json_write(e->doc, out);
		lru_touch(r, e);
	}
	MM_MUTEX_UNLOCK(&s->lock);
	return e != NULL;
}

bool cache_put(const char *key, size_t len, struct jv *doc)
{
	uint64_t hash = hash_key(key, len);
	struct shard *s = shard_of(hash);
	/* Allocated before the lock is taken (see cache.h). */
	struct entry *fresh = entry_new(), *found, *evicted = NULL;
	char *k = kv_strndup(key, len);
	struct jv *old_doc = NULL;
	struct shard_refs *r;
	size_t b;

	MM_STORE(fresh, key, k);
	MM_STORE(fresh, doc, doc);
	fresh->key_len = (uint32_t)len;
	fresh->hash = hash;

	r = lock_and_find(hash, key, len, &found);
	if (found != NULL) {
		old_doc = found->doc;
		MM_STORE(found, doc, doc);
		lru_touch(r, found);
	} else {
		b = bucket_of(hash);
		MM_STORE(fresh, next, r->buckets[b]);
		MM_STORE_AT(r->buckets, b, fresh);
		lru_push_front(r, fresh);
		/* Over capacity: this shard's least recently used entry
		 * goes, unless it is the one just added. */
		if (atomic_fetch_add_explicit(&entries, 1, memory_order_relaxed)
		    >= capacity && r->lru->lru_prev != fresh) {
			evicted = r->lru->lru_prev;
			unlink_entry(r, evicted);
			atomic_fetch_add_explicit(&evictions, 1,
			                          memory_order_relaxed);
		}
	}
	MM_MUTEX_UNLOCK(&s->lock);

	if (found != NULL) {
		jv_free(old_doc);
		mm_free(k);
		mm_free(fresh);
	}
	if (evicted != NULL)
		entry_free(evicted);
	return found != NULL;
}

bool cache_delete(const char *key, size_t len)
{
	uint64_t hash = hash_key(key, len);
	struct shard *s = shard_of(hash);
	struct entry *e;
	struct shard_refs *r = lock_and_find(hash, key, len, &e);

	if (e != NULL)
		unlink_entry(r, e);
	MM_MUTEX_UNLOCK(&s->lock);
	if (e != NULL)
		entry_free(e);
	return e != NULL;
}

void cache_counts(struct cache_counts *out)
{
	out->entries = atomic_load_explicit(&entries, memory_order_relaxed);
	out->capacity = capacity;
	out->evictions = atomic_load_explicit(&evictions, memory_order_relaxed);
}
