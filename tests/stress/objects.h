/*
 * objects.h: the layout of the stress test's heap objects and the pure
 * functions (hashes, tags, checksums, byte patterns) that both the builder
 * (graph.c) and the verifier (verify.c) must agree on. Private to
 * tests/stress.
 */
#ifndef STRESS_OBJECTS_H
#define STRESS_OBJECTS_H

#include "graph.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define NODE_MAGIC UINT64_C(0x65646f6e65727967)
#define VEC_MAGIC UINT64_C(0x5f63657665727967)
#define VEC_CAP 6
#define MAX_ARR 8
#define MAX_PAIRS 4
/* The tag of a graph's root node: it has no owner slot. */
#define ROOT_TAG UINT64_C(0x746f6f72)
/* The owner tag of an extension relative to its node's id. */
#define EXT_SLOT 100
/* A tag check that accepts any owner (cross edges may point anywhere). */
#define ANY_OWNER UINT64_MAX
/* Written into item slots at or past `count`, which the tracer does not
 * visit: a collector that touched them would fault, and one that wrote
 * them would be caught by check_vec_items (verify.c). */
#define POISON ((struct node *)(uintptr_t)UINT64_C(0x5a5a5a5a5a5a5a5b))

/* The checksummed part of a node: everything but the pointers themselves
 * (which the ids stand for), the walk epoch and the checksum. */
struct node_facts {
	uint64_t magic;
	uint64_t id;
	uint64_t owner_tag;   /* tag of the slot that owns it (tag2) */
	uint64_t child_id[3]; /* ids of child[0..2], 0 for NULL */
	uint64_t nchild;      /* non-NULL tree children (child[0], child[1]) */
	uint64_t buf_len;     /* gyre_length(buf), 0 without a buffer */
	uint64_t buf_seed;    /* the buffer's byte pattern */
	uint64_t ext_id;      /* id of ext, 0 for NULL */
	uint64_t payload[4];  /* derived from id */
};

struct node {
	struct node *child[3]; /* [0], [1]: tree edges; [2]: cross edge */
	uint8_t *buf;          /* gyre_alloc_bytes buffer or NULL */
	struct vec *ext;       /* extension or NULL */
	struct node_facts f;
	uint64_t epoch;        /* last walk that reached it (graph_verify) */
	uint64_t checksum;     /* of f */
};

struct vec_facts {
	uint64_t magic;
	uint64_t id;
	uint64_t owner_tag;
	uint64_t count;             /* items[0..count) are live and traced */
	uint64_t item_id[VEC_CAP];  /* ids of items, 0 past count */
	uint64_t arr_gen;           /* unique per pointer array */
	uint64_t arr_len;
	uint64_t pairs_gen;         /* unique per pair array */
	uint64_t pairs_len;
};

struct pair {
	struct node *ref;      /* a leaf or NULL */
	uint64_t check;        /* pair_check(pairs_gen, index, ref's id) */
};

struct vec {
	struct vec_facts f;
	void **arr;            /* GYRE_TYPE_PTR array of leaves and NULLs */
	struct pair *pairs;    /* array of pair_type */
	const void *outside;   /* not a gyre pointer, so not traced */
	struct node *items[VEC_CAP];
	uint64_t checksum;     /* of f */
};

/* What vec->outside points at: static memory, which the tracer must not
 * report to gyre. Defined in graph.c. */
extern const uint64_t outside_anchor[2];

static inline uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= UINT64_C(0xbf58476d1ce4e5b9);
	x ^= x >> 27;
	x *= UINT64_C(0x94d049bb133111eb);
	return x ^ (x >> 31);
}

static inline uint64_t tag2(uint64_t a, uint64_t b)
{
	return mix64(a ^ mix64(b + UINT64_C(0x9e3779b97f4a7c15)));
}

static inline uint64_t hash_words(const uint64_t *w, size_t n)
{
	uint64_t h = UINT64_C(0x1234567);

	for (size_t i = 0; i < n; i++)
		h = mix64(h ^ w[i]);
	return h;
}

static inline uint64_t node_sum(const struct node *n)
{
	return hash_words(&n->f.magic, sizeof n->f / sizeof(uint64_t));
}

static inline uint64_t vec_sum(const struct vec *v)
{
	return hash_words(&v->f.magic, sizeof v->f / sizeof(uint64_t));
}

static inline void node_seal(struct node *n)
{
	n->checksum = node_sum(n);
}

static inline void vec_seal(struct vec *v)
{
	v->checksum = vec_sum(v);
}

static inline uint64_t pair_check(uint64_t gen, size_t index,
				  const struct node *ref)
{
	return tag2(gen + index, ref ? ref->f.id : 0);
}

/* A byte buffer holds, in memory order, the bytes of the words
 * pattern_word(seed, 0), pattern_word(seed, 1), ..., cut to its length. */
static inline uint64_t pattern_word(uint64_t seed, size_t k)
{
	return (seed + k) * UINT64_C(0x9e3779b97f4a7c15);
}

static inline void pattern_fill(uint8_t *b, size_t len, uint64_t seed)
{
	size_t k;
	uint64_t w;

	for (k = 0; k < len / 8; k++) {
		w = pattern_word(seed, k);
		memcpy(b + 8 * k, &w, 8);
	}
	w = pattern_word(seed, k);
	memcpy(b + 8 * k, &w, len % 8);
}

/* The offset of the first byte of b that breaks the pattern, or len. */
static inline size_t pattern_mismatch(const uint8_t *b, size_t len,
				      uint64_t seed)
{
	size_t k;
	uint64_t w;
	const uint8_t *wb = (const uint8_t *)&w;

	for (k = 0; k < len / 8; k++) {
		w = pattern_word(seed, k);
		if (memcmp(b + 8 * k, &w, 8) != 0)
			break;
	}
	w = pattern_word(seed, k);
	for (size_t i = 8 * k; i < len && i < 8 * k + 8; i++)
		if (b[i] != wb[i - 8 * k])
			return i;
	return len;
}

/* Pushes n on the context's walk worklist, whose length is *len. */
void walk_push(struct graph_ctx *c, size_t *len, struct node *n);

/* The number of nodes the tree edges reach from n (0 for NULL). */
size_t walk_tree_count(struct graph_ctx *c, struct node *n);

#endif
