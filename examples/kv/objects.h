/*
 * objects.h: the objects kvserver allocates through the memory shim
 * (bench/mm.h), so one source runs on gyre, Boehm GC or malloc/free. Every
 * pointer field of an object is declared when its type is registered (gyre
 * traces precisely) and written with MM_STORE (gyre's write barrier), also
 * when the holder is new: a collection may have moved it to an older
 * generation since it was allocated.
 */
#ifndef KV_OBJECTS_H
#define KV_OBJECTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mm.h"

/* One request header, in a request's list in arrival order. name and value
 * are NUL-terminated byte strings (name as sent, value trimmed). */
struct header {
	struct header *next;
	char *name;
	char *value;
};

enum http_method { HTTP_GET, HTTP_PUT, HTTP_DELETE, HTTP_OTHER };

/* A parsed request. It lives only while it is being answered: its memory
 * is garbage afterwards (freed by request_free for malloc). */
struct request {
	char *target;              /* NUL-terminated */
	struct header *headers;
	char *body;                /* body_len bytes, NUL-terminated; or NULL */
	size_t body_len;
	enum http_method method;
	bool keep_alive;
};

/* A JSON value of a cached document. Documents are built once by the
 * parser and never changed after they are published in the cache. */
enum jv_kind { JV_NULL, JV_FALSE, JV_TRUE, JV_NUMBER, JV_STRING, JV_ARRAY,
	       JV_OBJECT };

struct jv {
	/* JV_NUMBER, JV_STRING: n bytes of the value's source text (a
	 * string without its quotes, escapes kept as sent), NUL-terminated.
	 * JV_ARRAY: a pointer array of n struct jv *.
	 * JV_OBJECT: a pointer array of 2n: key (a JV_STRING), value, ...
	 * Others: NULL. */
	void *p;
	uint32_t kind;
	uint32_t n;
};

/* A cache entry: in its bucket's chain (next) and in its shard's LRU ring
 * (lru_prev, lru_next; the ring's sentinel is an entry too). */
struct entry {
	struct entry *next;
	struct entry *lru_prev;
	struct entry *lru_next;
	char *key;                 /* key_len bytes, NUL-terminated */
	struct jv *doc;
	uint64_t hash;
	uint32_t key_len;
};

/* The heap part of one cache shard. */
struct shard_refs {
	void **buckets;            /* pointer array of struct entry * chains */
	struct entry *lru;         /* sentinel: lru_next is the most recent */
};

/* mm.h keeps some state in static variables (the type table of the
 * managers without types, Boehm's pause accounting), one copy per source
 * file that includes it; so the calls that use that state are all made in
 * objects.c, through the functions below. */

/* Starts the memory manager (mm_init) and registers the types above. */
void kv_mm_init(void);

/* The manager's pauses (mm_pauses_get). */
void kv_mm_pauses(struct mm_pauses *out);

/* Zeroed objects of the types above. */
struct header *header_new(void);
struct request *request_new(void);
struct jv *jv_new(void);
struct entry *entry_new(void);
struct shard_refs *shard_refs_new(void);

/* A NUL-terminated copy of s[0..n) in the heap (pointer-free). */
char *kv_strndup(const char *s, size_t n);

/* Frees what the malloc variants must free; no-ops for the collectors. */
void request_free(struct request *r);
void jv_free(struct jv *v);

#endif
