/*
 * compact_impl.h: what the two drivers of compaction share (compact.c's
 * evacuation core): the state of one compaction and the steps both run.
 * compact_full.c chooses from a census of the marks (a full collection);
 * compact_cycle.c from the last sweep's figures, and updates only the
 * slots recorded during the cycle.
 */
#ifndef GYRE_COMPACT_IMPL_H
#define GYRE_COMPACT_IMPL_H

#include "gc/old/compact.h"
#include "threads/workers.h"

/* Occupancy bins of the census: a block with `live` of `nslots` slots in
 * use is in bin live * BINS / nslots. */
#define BINS 64
/* Blocks at least this full (in bins) are never chosen: copying over 7/8
 * of a block to free it is not worth it (compact.h). */
#define BIN_LIMIT (BINS * 7 / 8)
/* Bins that are not occupancy: a chosen block, a held block with free
 * slots (a destination only), and every other block. */
#define CANDIDATE 0xfd
#define HELD_ROOM 0xfe
#define NOT_ELIGIBLE 0xff
#define CHUNK_BLOCKS 32
#define CHUNK_LARGE 64

/* One size class's census. */
struct census {
	size_t free;              /* free slots in its gen-2 blocks */
	size_t blocks[BINS];      /* eligible blocks per bin */
	size_t live[BINS];        /* their live slots */
};

/* A worker's state: its census (merged after the job), the destination
 * block it fills in each class and its counts. */
struct worker {
	struct census census[SIZECLASS_COUNT];
	struct block *dest[SIZECLASS_COUNT];
	uint32_t dest_slot[SIZECLASS_COUNT]; /* next slot to look at */
	struct compact_result r;
	char pad[64];
};

struct compact_state {
	uint8_t *bin;             /* per block: its bin, or one of the above */
	uint32_t *live;           /* per block: its marked slots */
	struct worker *workers;
	unsigned nworkers;
	struct census census[SIZECLASS_COUNT];
	/* Per class: the bins below `cut` are evacuated, and the blocks of
	 * bin `cut` that still fit: `moved` live slots so far, in `room`
	 * free slots of the blocks not chosen (choose_cut). */
	uint8_t cut[SIZECLASS_COUNT];
	size_t moved[SIZECLASS_COUNT], room[SIZECLASS_COUNT];
	/* Candidates, and destinations by class: dest[dest_start[c] ..
	 * dest_start[c + 1]) are class c's, claimed from dest_next[c]. */
	struct block **cand;
	size_t ncand;
	struct block **dest;
	size_t dest_start[SIZECLASS_COUNT + 1];
	_Atomic size_t dest_next[SIZECLASS_COUNT];
	/* Claims: the next block index, candidate, or large object.
	 * Relaxed: they only hand out indices. */
	_Atomic size_t next_block, next_cand, next_large;
	size_t top;
	bool mopping;             /* mop_up runs: take_slot may adopt */
	/* Test hook (compact_refuse_every): every `refuse`-th take_slot of
	 * the parallel evacuation finds no room; `mopped`, what the last
	 * mop-up moved. */
	unsigned refuse;
	_Atomic unsigned takes;
	size_t mopped;
};

/* Sync: written with the world stopped (by the pause's thread, or by the
 * workers of its jobs as compact.c says). */
extern struct compact_state cp;


/* Claims the next chunk of [0, n) from *next: [*start, *end). */
bool compact_claim(_Atomic size_t *next, size_t chunk, size_t n, size_t *start,
		   size_t *end);
/* The block's marked slots. */
uint32_t compact_marked_slots(const struct block *b);
/* Runs fn on every worker, the claims reset first. */
void compact_run(worker_fn fn);
/* Evacuates cp.cand into cp.dest in parallel, then mops up. */
void compact_evacuate(void);
/* Redirects every pointer of obj that names an evacuated object;
 * `old_holder`: obj is in a generation-2 block (cards, compact.c). */
void compact_update_object(void *obj, bool old_holder);
/* The same for one slot of `holder` (NULL: a root). */
void compact_update_slot(void **slot, const void *holder, bool old_holder);
/* A root's slot (handles, the finalizer queue: their iterators' shape). */
void compact_update_root(void **slot, void *ctx);
/* obj's copy if it was evacuated, else obj. */
void *compact_moved(void *obj);
/* The roots: handles, the finalizer queue, the registry. */
void compact_update_roots(void);
/* Adds the workers' counts to r. */
void compact_add_result(struct compact_result *r);
/* Clears the candidates' SPACE_EVAC and frees the tables. */
void compact_release(void);

#endif
