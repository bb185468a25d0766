/*
 * graph.h: the object graphs that the stress test builds, mutates and
 * verifies through gyre's public API. A graph is a tree of nodes (a type
 * described by pointer offsets) with extra "cross" edges that make cycles;
 * nodes own byte buffers and, sometimes, an extension object of a traced
 * type that holds a variable number of leaf nodes, a pointer array and an
 * array of a struct type. Every object records enough about its neighbours
 * (ids, generations, checksums, byte patterns) that an object freed too
 * early, reused for something else, or overwritten by the collector is
 * caught by graph_verify(). Graphs belong to one thread; nothing here is
 * shared, so nothing needs synchronisation.
 */
#ifndef STRESS_GRAPH_H
#define STRESS_GRAPH_H

#include <gyre.h>
#include <stddef.h>
#include <stdint.h>

struct node;

/* A splitmix64 generator: small, fast, and good enough to drive a test. */
struct rng {
	uint64_t state;
};

uint64_t rng_next(struct rng *r);
/* A uniform value in [0, n); n must be > 0. */
uint64_t rng_below(struct rng *r, uint64_t n);

/* What the owner of a graph must remember to verify it: the identity of the
 * root node and the number of nodes its tree edges reach. */
struct graph_meta {
	uint64_t root_id;
	size_t tree_nodes;
};

/* One thread's state for building and checking graphs. */
struct graph_ctx {
	struct rng rng;
	uint64_t next_id;        /* ids are unique across threads and time */
	uint64_t epoch;          /* number of the current verification walk */
	size_t target_nodes;     /* mean tree size of a new graph */
	struct node **work;      /* walk worklist (malloc'd: see graph.c) */
	size_t work_cap;
	/* Counted by every allocation made through this context. */
	uint64_t bytes_allocated;
	uint64_t objects_allocated;
	/* Filled by graph_verify: what the walk reached, summed until reset. */
	uint64_t seen_bytes;
	uint64_t seen_objects;
};

/* Registers the node, extension and pair types. Call once after gyre_init,
 * before any thread uses a graph. */
void graph_types_register(void);

/* Prepares a context; `thread` makes the ids unique to the thread. */
void graph_ctx_init(struct graph_ctx *c, int thread, uint64_t seed,
		    size_t target_nodes);
void graph_ctx_fini(struct graph_ctx *c);

/* A new graph of about c->target_nodes tree nodes with cross edges, and
 * its meta. The graph is reachable only from the returned pointer. */
struct node *graph_new(struct graph_ctx *c, struct graph_meta *meta);

/* Applies one random mutation inside the graph: replaces a subtree, a byte
 * buffer, an extension or one of its arrays, or rewires a cross edge. Most
 * mutations make garbage. Updates *meta. */
void graph_mutate(struct graph_ctx *c, struct node *root,
		  struct graph_meta *meta);

/* Allocates a throwaway graph of `nodes` tree nodes and drops it. */
void graph_garbage(struct graph_ctx *c, size_t nodes);

/* Walks everything the graph reaches and checks every checksum, identity,
 * length and byte pattern, then that the tree edges reach
 * meta->tree_nodes nodes. Calls fail() on the first violation; `where`
 * names the root in the message. It writes only each node's walk epoch,
 * never allocates and never reaches a safepoint: its worklist is malloc'd
 * memory that gyre does not scan. */
void graph_verify(struct graph_ctx *c, struct node *root,
		  const struct graph_meta *meta, const char *where);

#endif
