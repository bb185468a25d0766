/*
 * graph.c: building and mutating the stress test's object graphs (see
 * graph.h for the shape; verify.c checks them). Three user types cover gyre's three ways of
 * describing pointers: `struct node` by pointer offsets, `struct vec` by a
 * tracer that visits only a prefix of its item slots, and `struct pair`
 * (allocated as arrays) by offsets applied per element. Identity is carried
 * by ids and generations, never by addresses, so the checks stay valid for a
 * collector that moves objects.
 *
 * Every store of a heap pointer into a heap object goes through GYRE_STORE
 * or GYRE_STORE_AT. An object being built is kept in a C local while more
 * is allocated for it, so those allocations also test that locals are roots.
 */
#include "objects.h"

#include "report.h"

#include <stdlib.h>

/* Sync: written once by graph_types_register before any mutator thread is
 * created (pthread_create orders the writes before the threads' reads). */
static gyre_type node_type, vec_type, pair_type;

const uint64_t outside_anchor[2] = { 1, 2 };

uint64_t rng_next(struct rng *r)
{
	r->state += UINT64_C(0x9e3779b97f4a7c15);
	return mix64(r->state);
}

uint64_t rng_below(struct rng *r, uint64_t n)
{
	return rng_next(r) % n;
}

/* ------------------------------------------------------------ allocation */

/* Allocation must return zeroed memory; an object handed out while still
 * in use, or a free list left in it, shows up here first. */
static void expect_zeroed(const void *p, size_t size, const char *what)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < size; i++)
		if (b[i] != 0)
			fail("new %s at %p is not zeroed (byte %zu is 0x%02x)",
			     what, p, i, b[i]);
}

static void *alloc_one(struct graph_ctx *c, gyre_type type, size_t size,
		       const char *what)
{
	void *p = gyre_alloc(type);

	if (!p)
		fail("gyre_alloc(%s) returned NULL", what);
	expect_zeroed(p, size, what);
	c->bytes_allocated += size;
	c->objects_allocated++;
	return p;
}

static void *alloc_array(struct graph_ctx *c, gyre_type type, size_t n,
			 size_t elem_size, const char *what)
{
	void *p = gyre_alloc_array(type, n);

	if (!p)
		fail("gyre_alloc_array(%s, %zu) returned NULL", what, n);
	expect_zeroed(p, n * elem_size, what);
	c->bytes_allocated += n * elem_size;
	c->objects_allocated++;
	return p;
}

/* Mostly small buffers, some of a few KiB, and a few large enough to be
 * large objects; now and then an empty one. */
static size_t pick_buf_len(struct rng *r)
{
	uint64_t x = rng_below(r, 1000);

	if (x < 2)
		return 16384 + rng_below(r, 128 * 1024);
	if (x < 60)
		return 257 + rng_below(r, 4096);
	if (x < 62)
		return 0;
	return 1 + rng_below(r, 256);
}

static uint8_t *alloc_pattern(struct graph_ctx *c, size_t len, uint64_t seed)
{
	uint8_t *b = gyre_alloc_bytes(len);

	if (!b)
		fail("gyre_alloc_bytes(%zu) returned NULL", len);
	expect_zeroed(b, len, "byte buffer");
	pattern_fill(b, len, seed);
	c->bytes_allocated += len;
	c->objects_allocated++;
	return b;
}

/* --------------------------------------------------------------- building */

static void node_give_buf(struct graph_ctx *c, struct node *n)
{
	size_t len = pick_buf_len(&c->rng);
	uint64_t seed = c->next_id++;
	uint8_t *b = alloc_pattern(c, len, seed);

	GYRE_STORE(n, buf, b);
	n->f.buf_len = len;
	n->f.buf_seed = seed;
}

static void node_drop_buf(struct node *n)
{
	GYRE_STORE(n, buf, NULL);
	n->f.buf_len = 0;
	n->f.buf_seed = 0;
}

static struct node *node_new(struct graph_ctx *c, uint64_t owner_tag)
{
	struct node *n = alloc_one(c, node_type, sizeof *n, "node");

	n->f.magic = NODE_MAGIC;
	n->f.id = c->next_id++;
	n->f.owner_tag = owner_tag;
	for (size_t i = 0; i < 4; i++)
		n->f.payload[i] = mix64(n->f.id * 4 + i);
	if (rng_below(&c->rng, 2))
		node_give_buf(c, n);
	node_seal(n);
	return n;
}

/* Sets child[i]; the caller seals. */
static void node_link(struct node *n, size_t i, struct node *child)
{
	GYRE_STORE(n, child[i], child);
	n->f.child_id[i] = child ? child->f.id : 0;
	n->f.nchild = (n->child[0] != NULL) + (n->child[1] != NULL);
}

static void node_set_ext(struct node *n, struct vec *v)
{
	GYRE_STORE(n, ext, v);
	n->f.ext_id = v ? v->f.id : 0;
	node_seal(n);
}

/* Appends a fresh leaf. The slot is stored before `count` covers it, so the
 * tracer never sees a poisoned slot as live. The poison goes first, with a
 * plain store: a slot that GYRE_STORE writes must hold NULL or an object,
 * since the barrier hands what it replaces to a concurrent marking. */
static void vec_push(struct graph_ctx *c, struct vec *v)
{
	uint64_t i = v->f.count;
	struct node *leaf = node_new(c, tag2(v->f.id, i));

	v->items[i] = NULL;
	GYRE_STORE(v, items[i], leaf);
	v->f.item_id[i] = leaf->f.id;
	v->f.count = i + 1;
}

/* Removes the last item: the edge is cleared through the barrier while the
 * slot is still traced, then the slot leaves the traced prefix and is
 * poisoned with a plain store (it is no longer a pointer field). */
static void vec_pop(struct vec *v)
{
	uint64_t i = v->f.count - 1;

	GYRE_STORE(v, items[i], NULL);
	v->f.count = i;
	v->f.item_id[i] = 0;
	v->items[i] = POISON;
}

static void vec_replace_item(struct graph_ctx *c, struct vec *v, uint64_t i)
{
	struct node *leaf = node_new(c, tag2(v->f.id, i));

	GYRE_STORE(v, items[i], leaf);
	v->f.item_id[i] = leaf->f.id;
}

/* Element j of the pointer array: a fresh leaf or NULL. v->arr is read
 * after the allocation, never cached across it. */
static void arr_set(struct graph_ctx *c, struct vec *v, size_t j)
{
	struct node *leaf = NULL;

	if (rng_below(&c->rng, 4))
		leaf = node_new(c, tag2(v->f.arr_gen, j));
	GYRE_STORE_AT(v->arr, j, leaf);
}

static void pair_set(struct graph_ctx *c, struct vec *v, size_t j)
{
	struct node *leaf = NULL;

	if (rng_below(&c->rng, 4))
		leaf = node_new(c, tag2(v->f.pairs_gen, j));
	GYRE_STORE(&v->pairs[j], ref, leaf);
	v->pairs[j].check = pair_check(v->f.pairs_gen, j, leaf);
}

static void vec_give_arr(struct graph_ctx *c, struct vec *v)
{
	size_t len = rng_below(&c->rng, MAX_ARR + 1);
	void **arr = alloc_array(c, GYRE_TYPE_PTR, len, sizeof(void *),
				 "pointer array");

	GYRE_STORE(v, arr, arr);
	v->f.arr_gen = c->next_id++;
	v->f.arr_len = len;
	for (size_t j = 0; j < len; j++)
		arr_set(c, v, j);
}

static void vec_give_pairs(struct graph_ctx *c, struct vec *v)
{
	size_t len = rng_below(&c->rng, MAX_PAIRS + 1);
	struct pair *pairs = alloc_array(c, pair_type, len, sizeof(struct pair),
					 "pair array");

	GYRE_STORE(v, pairs, pairs);
	v->f.pairs_gen = c->next_id++;
	v->f.pairs_len = len;
	for (size_t j = 0; j < len; j++)
		pair_set(c, v, j);
}

static struct vec *vec_new(struct graph_ctx *c, uint64_t owner_tag)
{
	struct vec *v = alloc_one(c, vec_type, sizeof *v, "vec");
	uint64_t n_items = rng_below(&c->rng, VEC_CAP + 1);

	v->f.magic = VEC_MAGIC;
	v->f.id = c->next_id++;
	v->f.owner_tag = owner_tag;
	v->outside = outside_anchor;
	for (size_t i = 0; i < VEC_CAP; i++)
		v->items[i] = POISON;
	while (v->f.count < n_items)
		vec_push(c, v);
	vec_give_arr(c, v);
	vec_give_pairs(c, v);
	vec_seal(v);
	return v;
}

/* A tree of k nodes. The node is held only in a local while its subtrees
 * and extension are allocated. */
static struct node *tree_new(struct graph_ctx *c, size_t k, uint64_t owner_tag)
{
	struct node *n;
	size_t left;

	if (k == 0)
		return NULL;
	n = node_new(c, owner_tag);
	left = rng_below(&c->rng, k);
	node_link(n, 0, tree_new(c, left, tag2(n->f.id, 0)));
	node_link(n, 1, tree_new(c, k - 1 - left, tag2(n->f.id, 1)));
	node_seal(n);
	if (rng_below(&c->rng, 8) == 0)
		node_set_ext(n, vec_new(c, tag2(n->f.id, EXT_SLOT)));
	return n;
}

/* A node of the tree, found by a random descent (biased to the top). */
static struct node *random_node(struct graph_ctx *c, struct node *root)
{
	struct node *n = root;

	while (rng_below(&c->rng, 4) != 0) {
		size_t i = rng_below(&c->rng, 2);
		struct node *next = n->child[i] ? n->child[i] : n->child[1 - i];

		if (!next)
			break;
		n = next;
	}
	return n;
}

static void set_cross(struct node *from, struct node *to)
{
	node_link(from, 2, to);
	node_seal(from);
}

static void add_cross_edges(struct graph_ctx *c, struct node *root, size_t n)
{
	for (size_t i = 0; i < n; i++)
		set_cross(random_node(c, root), random_node(c, root));
}

struct node *graph_new(struct graph_ctx *c, struct graph_meta *meta)
{
	size_t k = c->target_nodes / 2 + 1 + rng_below(&c->rng, c->target_nodes);
	struct node *root = tree_new(c, k, ROOT_TAG);

	add_cross_edges(c, root, k / 4 + 1);
	meta->root_id = root->f.id;
	meta->tree_nodes = k;
	return root;
}

void graph_garbage(struct graph_ctx *c, size_t nodes)
{
	struct node *root = tree_new(c, nodes + 1, ROOT_TAG);

	add_cross_edges(c, root, nodes / 4 + 1);
}

/* ------------------------------------------------------------- mutations */

static void replace_subtree(struct graph_ctx *c, struct node *root,
			    struct graph_meta *meta)
{
	struct node *p = random_node(c, root);
	size_t i = rng_below(&c->rng, 2);
	size_t old = walk_tree_count(c, p->child[i]);
	size_t k = rng_below(&c->rng, c->target_nodes / 4 + 2);

	if (meta->tree_nodes - old < c->target_nodes / 2)
		k += c->target_nodes / 2;
	node_link(p, i, tree_new(c, k, tag2(p->f.id, i)));
	node_seal(p);
	meta->tree_nodes = meta->tree_nodes - old + k;
}

static void replace_buf(struct graph_ctx *c, struct node *n)
{
	if (rng_below(&c->rng, 4))
		node_give_buf(c, n);
	else
		node_drop_buf(n);
	node_seal(n);
}

/* One change to a vec's contents; the caller seals. */
static void vec_mutate(struct graph_ctx *c, struct vec *v)
{
	switch (rng_below(&c->rng, 6)) {
	case 0:
		if (v->f.count > 0)
			vec_replace_item(c, v, rng_below(&c->rng, v->f.count));
		break;
	case 1:
		if (v->f.count < VEC_CAP)
			vec_push(c, v);
		break;
	case 2:
		if (v->f.count > 0)
			vec_pop(v);
		break;
	case 3:
		vec_give_arr(c, v);
		break;
	case 4:
		if (v->f.arr_len > 0)
			arr_set(c, v, rng_below(&c->rng, v->f.arr_len));
		break;
	default:
		if (v->f.pairs_len > 0)
			pair_set(c, v, rng_below(&c->rng, v->f.pairs_len));
		else
			vec_give_pairs(c, v);
		break;
	}
}

static void mutate_ext(struct graph_ctx *c, struct node *n)
{
	if (!n->ext || rng_below(&c->rng, 8) == 0) {
		struct vec *v = rng_below(&c->rng, 4) ?
			vec_new(c, tag2(n->f.id, EXT_SLOT)) : NULL;

		node_set_ext(n, v);
		return;
	}
	vec_mutate(c, n->ext);
	vec_seal(n->ext);
}

void graph_mutate(struct graph_ctx *c, struct node *root,
		  struct graph_meta *meta)
{
	switch (rng_below(&c->rng, 8)) {
	case 0:
	case 1:
		set_cross(random_node(c, root), random_node(c, root));
		break;
	case 2:
		set_cross(random_node(c, root), NULL);
		break;
	case 3:
	case 4:
		replace_subtree(c, root, meta);
		break;
	case 5:
		replace_buf(c, random_node(c, root));
		break;
	default:
		mutate_ext(c, random_node(c, root));
		break;
	}
}

/* ------------------------------------------------------------------ setup */

static void vec_trace(void *obj, gyre_visit_fn visit, void *ctx)
{
	struct vec *v = obj;

	visit((void **)&v->arr, ctx);
	visit((void **)&v->pairs, ctx);
	for (uint64_t i = 0; i < v->f.count; i++)
		visit((void **)&v->items[i], ctx);
}

static gyre_type must_register(const gyre_type_desc *d)
{
	gyre_type t = gyre_type_register(d);

	if (t == 0)
		fail("gyre_type_register(%s) failed", d->name);
	return t;
}

void graph_types_register(void)
{
	static const size_t node_ptrs[] = {
		offsetof(struct node, child[0]), offsetof(struct node, child[1]),
		offsetof(struct node, child[2]), offsetof(struct node, buf),
		offsetof(struct node, ext),
	};
	static const size_t pair_ptrs[] = { offsetof(struct pair, ref) };

	node_type = must_register(&(gyre_type_desc){ .name = "stress.node",
		.size = sizeof(struct node), .ptr_offsets = node_ptrs,
		.n_ptrs = sizeof node_ptrs / sizeof node_ptrs[0] });
	vec_type = must_register(&(gyre_type_desc){ .name = "stress.vec",
		.size = sizeof(struct vec), .trace = vec_trace });
	pair_type = must_register(&(gyre_type_desc){ .name = "stress.pair",
		.size = sizeof(struct pair), .ptr_offsets = pair_ptrs,
		.n_ptrs = 1 });
}

void graph_ctx_init(struct graph_ctx *c, int thread, uint64_t seed,
		    size_t target_nodes)
{
	*c = (struct graph_ctx){
		.rng = { seed ^ mix64((uint64_t)thread + 1) },
		.next_id = ((uint64_t)thread + 1) << 48 | 1,
		.target_nodes = target_nodes < 2 ? 2 : target_nodes,
		.work_cap = 1024,
	};
	c->work = malloc(c->work_cap * sizeof *c->work);
	if (!c->work)
		fail("out of memory for the walk worklist");
}

void graph_ctx_fini(struct graph_ctx *c)
{
	free(c->work);
	c->work = NULL;
}
