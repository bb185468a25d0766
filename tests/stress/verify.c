/*
 * verify.c: the stress test's heap checker. It walks everything a graph
 * reaches, following every edge (tree, cross, extension items, array
 * elements), and checks each object against what its neighbours and its own
 * checksum say it must be, so that an object the collector freed while
 * reachable, reused for another allocation, or wrote into, is reported with
 * the edge that led to it.
 */
#include "objects.h"

#include "report.h"

#include <stdlib.h>

void walk_push(struct graph_ctx *c, size_t *len, struct node *n)
{
	if (*len == c->work_cap) {
		size_t cap = c->work_cap * 2;
		struct node **w = realloc(c->work, cap * sizeof *w);

		if (!w)
			fail("out of memory for the walk worklist");
		c->work = w;
		c->work_cap = cap;
	}
	c->work[(*len)++] = n;
}

size_t walk_tree_count(struct graph_ctx *c, struct node *n)
{
	size_t len = 0, count = 0;

	if (n)
		walk_push(c, &len, n);
	while (len > 0) {
		struct node *m = c->work[--len];

		count++;
		for (size_t i = 0; i < 2; i++)
			if (m->child[i])
				walk_push(c, &len, m->child[i]);
	}
	return count;
}

/* Checks what an edge may know about its target before the walk reads
 * more of it, and queues the target once per walk. want_id 0 and
 * want_owner ANY_OWNER skip those checks. */
static void check_edge(struct graph_ctx *c, size_t *len, struct node *to,
		       uint64_t want_id, uint64_t want_owner, uint64_t from_id,
		       const char *edge, const char *where)
{
	if (!to || ((uintptr_t)to & 7))
		fail("%s: %s edge of object %#llx is NULL or misaligned (%p)", where,
		     edge, (unsigned long long)from_id, (void *)to);
	if (to->f.magic != NODE_MAGIC)
		fail("%s: %s edge of object %#llx leads to %p, which is not a "
		     "node any more (magic %#llx): freed or overwritten", where,
		     edge, (unsigned long long)from_id, (void *)to,
		     (unsigned long long)to->f.magic);
	if (want_id && to->f.id != want_id)
		fail("%s: %s edge of object %#llx leads to node %#llx, expected "
		     "%#llx: freed and reused?", where, edge,
		     (unsigned long long)from_id, (unsigned long long)to->f.id,
		     (unsigned long long)want_id);
	if (want_owner != ANY_OWNER && to->f.owner_tag != want_owner)
		fail("%s: %s edge of object %#llx leads to node %#llx owned by "
		     "another slot", where, edge, (unsigned long long)from_id,
		     (unsigned long long)to->f.id);
	if (to->epoch != c->epoch) {
		to->epoch = c->epoch;
		walk_push(c, len, to);
	}
}

static void check_buf(struct graph_ctx *c, const struct node *n,
		      const char *where)
{
	unsigned long long id = n->f.id;
	size_t bad;

	if (!n->buf) {
		if (n->f.buf_len != 0 || n->f.buf_seed != 0)
			fail("%s: node %#llx lost its buffer", where, id);
		return;
	}
	if (gyre_length(n->buf) != n->f.buf_len)
		fail("%s: buffer of node %#llx has length %zu, expected %llu",
		     where, id, gyre_length(n->buf),
		     (unsigned long long)n->f.buf_len);
	bad = pattern_mismatch(n->buf, n->f.buf_len, n->f.buf_seed);
	if (bad < n->f.buf_len)
		fail("%s: buffer of node %#llx (%llu bytes) corrupted at byte "
		     "%zu", where, id, (unsigned long long)n->f.buf_len, bad);
	c->seen_bytes += n->f.buf_len;
	c->seen_objects++;
}

static void check_vec_items(struct graph_ctx *c, size_t *len,
			    const struct vec *v, const char *where)
{
	unsigned long long id = v->f.id;

	if (v->f.count > VEC_CAP)
		fail("%s: vec %#llx has count %llu", where, id,
		     (unsigned long long)v->f.count);
	for (size_t i = 0; i < VEC_CAP; i++) {
		if (i < v->f.count) {
			check_edge(c, len, v->items[i], v->f.item_id[i],
				   tag2(v->f.id, i), v->f.id, "item", where);
		} else if (v->items[i] != POISON || v->f.item_id[i] != 0) {
			fail("%s: untraced slot %zu of vec %#llx was changed "
			     "to %p", where, i, id, (void *)v->items[i]);
		}
	}
}

static void check_vec_arrays(struct graph_ctx *c, size_t *len,
			     const struct vec *v, const char *where)
{
	unsigned long long id = v->f.id;

	if (!v->arr || gyre_length(v->arr) != v->f.arr_len)
		fail("%s: pointer array of vec %#llx is missing or has the "
		     "wrong length", where, id);
	for (size_t j = 0; j < v->f.arr_len; j++)
		if (v->arr[j])
			check_edge(c, len, v->arr[j], 0,
				   tag2(v->f.arr_gen, j), v->f.id,
				   "pointer array", where);
	if (!v->pairs || gyre_length(v->pairs) != v->f.pairs_len)
		fail("%s: pair array of vec %#llx is missing or has the wrong "
		     "length", where, id);
	for (size_t j = 0; j < v->f.pairs_len; j++) {
		const struct pair *p = &v->pairs[j];

		if (p->ref)
			check_edge(c, len, p->ref, 0, tag2(v->f.pairs_gen, j),
				   v->f.id, "pair", where);
		if (p->check != pair_check(v->f.pairs_gen, j, p->ref))
			fail("%s: pair %zu of vec %#llx does not match its "
			     "reference", where, j, id);
	}
	c->seen_bytes += v->f.arr_len * sizeof(void *) +
			 v->f.pairs_len * sizeof(struct pair);
	c->seen_objects += 2;
}

static void check_vec(struct graph_ctx *c, size_t *len, const struct node *n,
		      const char *where)
{
	const struct vec *v = n->ext;
	unsigned long long owner = n->f.id;

	if (v->f.magic != VEC_MAGIC || v->f.id != n->f.ext_id)
		fail("%s: extension of node %#llx is not the vec it linked: "
		     "freed or overwritten", where, owner);
	if (v->checksum != vec_sum(v))
		fail("%s: checksum of vec %#llx (of node %#llx) is wrong",
		     where, (unsigned long long)v->f.id, owner);
	if (v->f.owner_tag != tag2(n->f.id, EXT_SLOT) ||
	    v->outside != outside_anchor || gyre_length(v) != 1)
		fail("%s: vec %#llx of node %#llx has a wrong owner, outside "
		     "pointer or length", where, (unsigned long long)v->f.id,
		     owner);
	check_vec_items(c, len, v, where);
	check_vec_arrays(c, len, v, where);
	c->seen_bytes += sizeof *v;
	c->seen_objects++;
}

static void check_node_fields(const struct node *n, const char *where)
{
	unsigned long long id = n->f.id;

	if (n->checksum != node_sum(n))
		fail("%s: checksum of node %#llx is wrong", where, id);
	for (size_t i = 0; i < 4; i++)
		if (n->f.payload[i] != mix64(n->f.id * 4 + i))
			fail("%s: payload of node %#llx is wrong", where, id);
	if (gyre_length(n) != 1)
		fail("%s: gyre_length(node %#llx) is %zu", where, id,
		     gyre_length(n));
	if (n->f.nchild != (uint64_t)((n->child[0] != NULL) +
				      (n->child[1] != NULL)))
		fail("%s: node %#llx expects %llu tree children", where, id,
		     (unsigned long long)n->f.nchild);
	if ((n->ext == NULL) != (n->f.ext_id == 0))
		fail("%s: extension of node %#llx appeared or vanished", where,
		     id);
}

static void check_node(struct graph_ctx *c, size_t *len, struct node *n,
		       const char *where)
{
	static const char *const edge_name[3] = { "left", "right", "cross" };

	check_node_fields(n, where);
	for (size_t i = 0; i < 3; i++) {
		uint64_t owner = i < 2 ? tag2(n->f.id, i) : ANY_OWNER;

		if (n->child[i])
			check_edge(c, len, n->child[i], n->f.child_id[i], owner,
				   n->f.id, edge_name[i], where);
		else if (n->f.child_id[i] != 0)
			fail("%s: %s edge of node %#llx became NULL", where,
			     edge_name[i], (unsigned long long)n->f.id);
	}
	check_buf(c, n, where);
	if (n->ext)
		check_vec(c, len, n, where);
	c->seen_bytes += sizeof *n;
	c->seen_objects++;
}

void graph_verify(struct graph_ctx *c, struct node *root,
		  const struct graph_meta *meta, const char *where)
{
	size_t len = 0, nodes;

	if (!root)
		fail("%s: the root is NULL", where);
	c->epoch++;
	check_edge(c, &len, root, meta->root_id, ROOT_TAG, 0, "root", where);
	while (len > 0)
		check_node(c, &len, c->work[--len], where);
	nodes = walk_tree_count(c, root);
	if (nodes != meta->tree_nodes)
		fail("%s: the tree edges of graph %#llx reach %zu nodes, "
		     "expected %zu", where, (unsigned long long)meta->root_id,
		     nodes, meta->tree_nodes);
}

