/*
 * final_order.c: which unreached finalizable objects are ready (final.h).
 *
 * The graph is the unreached objects reachable from U, with their strong
 * fields and ephemerons' values as edges. Its strongly connected components (Tarjan's algorithm,
 * iterative: a chain of a million nodes must not overflow the stack) are
 * emitted successors first, so walking them in the reverse order visits
 * every component before those it reaches: a component is "reached" when
 * one that holds an object of U, or is itself reached, has an edge into
 * it. An object of U is ready when its component is not reached: nothing
 * of U outside its own cycle leads to it.
 *
 * The cost is that of tracing what U reaches once more, plus a hash table
 * entry per object; a collection pays it only when finalizable objects
 * die. Without memory for the tables every object of U is ready: each
 * finalizer still runs once, but a chain's may run in any order.
 */
#include <stdint.h>

#include "gc/final/final.h"
#include "gc/heap/object.h"
#include "gc/heap/type.h"
#include "runtime/meta.h"

#define UNVISITED UINT32_MAX

struct node {
	void *obj;
	uint32_t index, low, comp;
	uint32_t edge_lo, edge_hi; /* its children: edges[edge_lo .. edge_hi) */
	bool on_stack;
};

struct frame {
	uint32_t node, pos;
};

struct order {
	final_survivor_fn survivor;   /* NULL for the unreached: the graph */
	struct node *nodes;
	uint32_t nnodes, nodes_cap;
	uint32_t *slots;             /* hash: node index + 1, 0 = empty */
	size_t nslots;
	uint32_t *edges;
	size_t nedges, edges_cap;
	uint32_t *stack;             /* Tarjan's */
	uint32_t nstack;
	struct frame *frames;
	uint32_t nframes;
	uint32_t counter, ncomp;
	bool failed;                 /* out of memory */
};

static bool grow(void **v, size_t *cap, size_t need, size_t size)
{
	if (need <= *cap)
		return true;
	size_t n = *cap ? *cap * 2 : 256;
	while (n < need)
		n *= 2;
	void *p = meta_realloc(*v, n * size);
	if (!p)
		return false;
	*v = p;
	*cap = n;
	return true;
}

static size_t hash(const void *obj, size_t nslots)
{
	return (size_t)(((uintptr_t)obj >> 4) * UINT64_C(0x9e3779b97f4a7c15) >> 17) &
	       (nslots - 1);
}

static bool rehash(struct order *o)
{
	size_t n = o->nslots ? o->nslots * 2 : 1024;
	uint32_t *s = meta_calloc(n * sizeof(*s));
	if (!s)
		return false;
	for (uint32_t i = 0; i < o->nnodes; i++) {
		size_t h = hash(o->nodes[i].obj, n);
		while (s[h])
			h = (h + 1) & (n - 1);
		s[h] = i + 1;
	}
	meta_free(o->slots);
	o->slots = s;
	o->nslots = n;
	return true;
}

/* The node of obj, created unvisited if new; UNVISITED without memory. */
static uint32_t node_of(struct order *o, void *obj)
{
	if ((size_t)o->nnodes * 2 >= o->nslots && !rehash(o))
		return UNVISITED;
	size_t h = hash(obj, o->nslots);
	for (; o->slots[h]; h = (h + 1) & (o->nslots - 1))
		if (o->nodes[o->slots[h] - 1].obj == obj)
			return o->slots[h] - 1;
	size_t cap = o->nodes_cap;
	if (!grow((void **)&o->nodes, &cap, (size_t)o->nnodes + 1, sizeof(*o->nodes)))
		return UNVISITED;
	o->nodes_cap = (uint32_t)cap;
	o->nodes[o->nnodes] = (struct node){.obj = obj, .index = UNVISITED};
	o->slots[h] = o->nnodes + 1;
	return o->nnodes++;
}

/* The node of obj, which exists. */
static uint32_t find(const struct order *o, const void *obj)
{
	size_t h = hash(obj, o->nslots);
	while (o->nodes[o->slots[h] - 1].obj != obj)
		h = (h + 1) & (o->nslots - 1);
	return o->slots[h] - 1;
}

static void add_edge(struct order *o, void *child)
{
	if (o->failed || !child || o->survivor(child))
		return;
	uint32_t n = node_of(o, child);
	if (n == UNVISITED ||
	    !grow((void **)&o->edges, &o->edges_cap, o->nedges + 1, sizeof(*o->edges))) {
		o->failed = true;
		return;
	}
	o->edges[o->nedges++] = n;
}

/* Appends an edge for a field that leads to an unreached object. */
static void visit_field(void **slot, void *ctx)
{
	add_edge(ctx, *slot);
}


static bool visit(struct order *o, uint32_t n)
{
	struct node *v = &o->nodes[n];
	void *obj = v->obj;
	v->index = v->low = o->counter++;
	v->on_stack = true;
	o->stack[o->nstack++] = n;
	size_t lo = o->nedges;
	type_visit_fields(obj, visit_field, o);
	/* An ephemeron's value is an edge too (its key may be alive): a
	 * finalizable value it holds waits for what reaches the ephemeron,
	 * at worst a collection longer than it had to. */
	if (type_get(header_type(*object_header(obj)))->special == SPECIAL_EPHEMERON)
		add_edge(o, ((void **)obj)[1]);
	v = &o->nodes[n]; /* the array may have moved */
	v->edge_lo = (uint32_t)lo;
	v->edge_hi = (uint32_t)o->nedges;
	o->frames[o->nframes++] = (struct frame){n, (uint32_t)lo};
	return !o->failed;
}

/* Room for every node on both stacks: each node is pushed once. */
static bool reserve_stacks(struct order *o, size_t *cap)
{
	if (o->nnodes <= *cap)
		return true;
	size_t n = (size_t)o->nnodes * 2;
	uint32_t *s = meta_realloc(o->stack, n * sizeof(*s));
	if (s)
		o->stack = s;
	struct frame *f = s ? meta_realloc(o->frames, n * sizeof(*f)) : NULL;
	if (f)
		o->frames = f;
	if (!s || !f)
		return false;
	*cap = n;
	return true;
}

static void strongconnect(struct order *o, uint32_t root, size_t *cap)
{
	if (!reserve_stacks(o, cap) || !visit(o, root)) {
		o->failed = true;
		return;
	}
	while (o->nframes && !o->failed) {
		struct frame *f = &o->frames[o->nframes - 1];
		struct node *v = &o->nodes[f->node];
		if (f->pos < v->edge_hi) {
			uint32_t c = o->edges[f->pos++];
			if (o->nodes[c].index == UNVISITED) {
				if (!reserve_stacks(o, cap) || !visit(o, c))
					o->failed = true;
			} else if (o->nodes[c].on_stack && o->nodes[c].index < v->low) {
				v->low = o->nodes[c].index;
			}
			continue;
		}
		uint32_t n = f->node;
		o->nframes--;
		if (v->low == v->index) {
			uint32_t m;
			do {
				m = o->stack[--o->nstack];
				o->nodes[m].on_stack = false;
				o->nodes[m].comp = o->ncomp;
			} while (m != n);
			o->ncomp++;
		}
		if (o->nframes) {
			struct node *p = &o->nodes[o->frames[o->nframes - 1].node];
			if (v->low < p->low)
				p->low = v->low;
		}
	}
}

/* Marks reached components; false without memory. */
static bool propagate(struct order *o, bool *reached, const bool *has_u)
{
	/* Nodes by component (counting sort), walked from the last emitted. */
	uint32_t *start = meta_calloc(((size_t)o->ncomp + 1) * sizeof(*start));
	uint32_t *by = meta_alloc(((size_t)o->nnodes + 1) * sizeof(*by));
	if (!start || !by) {
		meta_free(start);
		meta_free(by);
		return false;
	}
	for (uint32_t i = 0; i < o->nnodes; i++)
		start[o->nodes[i].comp + 1]++;
	for (uint32_t c = 0; c < o->ncomp; c++)
		start[c + 1] += start[c];
	for (uint32_t i = 0; i < o->nnodes; i++)
		by[start[o->nodes[i].comp]++] = i;
	/* start[c] is now the end of component c. */
	for (uint32_t c = o->ncomp; c-- > 0;) {
		if (!has_u[c] && !reached[c])
			continue;
		uint32_t begin = c ? start[c - 1] : 0;
		for (uint32_t k = begin; k < start[c]; k++) {
			const struct node *v = &o->nodes[by[k]];
			for (uint32_t e = v->edge_lo; e < v->edge_hi; e++) {
				uint32_t d = o->nodes[o->edges[e]].comp;
				if (d != c)
					reached[d] = true;
			}
		}
	}
	meta_free(start);
	meta_free(by);
	return true;
}

void final_order(struct fin *u, final_survivor_fn survivor)
{
	struct order o = {.survivor = survivor};
	size_t cap = 0;
	for (struct fin *e = u; e && !o.failed; e = e->unext) {
		uint32_t n = node_of(&o, e->obj);
		if (n == UNVISITED)
			o.failed = true;
		else if (o.nodes[n].index == UNVISITED)
			strongconnect(&o, n, &cap);
	}
	bool *reached = NULL, *has_u = NULL;
	if (!o.failed) {
		reached = meta_calloc(o.ncomp + 1);
		has_u = meta_calloc(o.ncomp + 1);
	}
	bool ok = reached && has_u;
	if (ok) {
		for (struct fin *e = u; e; e = e->unext)
			has_u[o.nodes[find(&o, e->obj)].comp] = true;
		ok = propagate(&o, reached, has_u);
	}
	for (struct fin *e = u; e; e = e->unext)
		e->ready = !ok || !reached[o.nodes[find(&o, e->obj)].comp];
	meta_free(reached);
	meta_free(has_u);
	meta_free(o.nodes);
	meta_free(o.slots);
	meta_free(o.edges);
	meta_free(o.stack);
	meta_free(o.frames);
}
