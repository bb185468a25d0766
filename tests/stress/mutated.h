/*
 * mutated.h: the mutated-heap shape of the stress test (issue 16; the
 * shape of bench/mutator.c), in mutated.c. Each thread keeps, one under
 * each kind of root the stress test uses (its stack, a root area, a
 * handle):
 *
 * - a big array: a GYRE_TYPE_PTR array of 2,048 to 32,768 slots (a large
 *   object, with its cards in chunks), into which bursts of fresh entries
 *   are stored at random slots, now and then NULL, now and then an entry
 *   moved from a slot of any of the three arrays;
 * - a list built at the tail, up to tens of thousands of nodes, and
 *   trimmed at the head now and then.
 *
 * Once the arrays and lists are old, nearly every store is an old-to-young
 * store on a card of a large object or of an old node. mutated_verify
 * checks every slot and every node against what the thread stored (a
 * shadow in malloc'd memory), so that an entry lost, stale (an older one
 * in its place), moved to the wrong slot or corrupted is reported with
 * the structure and the slot or position where it was found.
 */
#ifndef STRESS_MUTATED_H
#define STRESS_MUTATED_H

#include "graph.h"

#include <gyre.h>
#include <stddef.h>
#include <stdint.h>

/* One big array and one list per kind of root. */
#define MUTATED_KINDS 3
/* The words a thread's stack array and root-area row must have: slot 0
 * holds the big array, slot 1 the list's header. */
#define MUTATED_SLOTS 2

/* What a thread's big array must hold: the entry's sequence number for
 * each slot (0: NULL). malloc'd, so not a root. */
struct mutated_array {
	uint64_t id;            /* unique to the thread, in each entry */
	size_t len;
	uint64_t *seq;
};

/* What a thread's list must hold: nodes numbered first..next-1, from the
 * head. The header object records the same two numbers. */
struct mutated_list {
	uint64_t id;
	uint64_t first, next;
	uint64_t max;           /* trimmed once it reaches this length */
};

/* Counts for the run's summary. */
struct mutated_tally {
	uint64_t bursts, stores, moves, arrays_made;
	uint64_t appends, trims;
	uint64_t verifications, slots_checked, nodes_checked;
};

/* Adds t to *sum. */
void mutated_tally_add(struct mutated_tally *sum,
		       const struct mutated_tally *t);

/* One thread's arrays and lists. Nothing is shared between threads. */
struct mutated {
	void **stack;           /* [MUTATED_SLOTS] in the thread's frame */
	void **global;          /* [MUTATED_SLOTS], a registered root area */
	gyre_handle handle[MUTATED_SLOTS];
	struct mutated_array array[MUTATED_KINDS];
	struct mutated_list list[MUTATED_KINDS];
	uint64_t owner;         /* the thread's tag, in each entry */
	uint64_t next_id;       /* array and list ids, entries' seqs */
	size_t max_slots;       /* big arrays have 2,048 to max_slots slots */
	uint64_t max_nodes;     /* lists reach at most this length */
	/* Counted by every allocation and by mutated_verify, as in
	 * struct graph_ctx. */
	uint64_t bytes_allocated, objects_allocated;
	uint64_t seen_bytes, seen_objects;
	struct mutated_tally t;
};

/* Registers the entry, node and header types. Once, after gyre_init. */
void mutated_register(void);

/* Builds the thread's arrays and lists (attached). `stack` is an array of
 * MUTATED_SLOTS in the thread function's frame, `global` a static row of
 * MUTATED_SLOTS that mutated_init registers as a root area. `live` is the
 * stress test's --live: the lists' and arrays' sizes grow with it. */
void mutated_init(struct mutated *m, int thread, size_t live, void **stack,
		  void **global, struct rng *r);
/* Releases the handles, the root area and the shadows (attached); the
 * arrays and lists become garbage. */
void mutated_fini(struct mutated *m);

/* One operation: a burst of stores into a big array (now and then a new
 * array in its place), or appends to a list (now and then a trim). */
void mutated_step(struct mutated *m, struct rng *r);

/* Checks every slot of the big arrays and every node of the lists; calls
 * fail() naming `when` and where it found the first violation. Polls a
 * safepoint every few thousand objects: a collection may run in between
 * (the arrays and lists are reached from their roots and locals). */
void mutated_verify(struct mutated *m, const char *when);

/* Before a detach (the stack is no root while detached): drops the
 * structures under the stack and forgets them; after the attach,
 * mutated_stack_build makes new ones. */
void mutated_stack_drop(struct mutated *m);
void mutated_stack_build(struct mutated *m, struct rng *r);

#endif
