/*
 * minor_impl.h: what the files of the minor collection (minor.h) share and
 * nothing else includes: its state, the copiers, and the functions that one
 * phase's file calls in another's. minor.c is the driver and holds the
 * phases' order; minor_copy.c pins what conservative roots point at and
 * copies (the copy phase); minor_cards.c turns dirty cards into pending
 * ones and scans them; minor_release.c releases from-space.
 */
#ifndef GYRE_MINOR_IMPL_H
#define GYRE_MINOR_IMPL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gc/heap/heap.h"
#include "gc/heap/large.h"
#include "gc/heap/packed.h"
#include "gc/young/minor.h"
#include "gc/heap/ptrvec.h"
#include "gc/heap/run.h"
#include "gc/heap/sizeclass.h"
#include "gc/driver/work.h"

#define RING 8

/* A field waiting in the prefetch ring (see process_slot). */
struct pending {
	void **slot;
	void *holder;
	unsigned hgen;
};

/* One worker's state in a minor collection. Sync: copiers[i] is worker
 * i's during a job; between jobs the collector (or the recovery pass, on
 * one thread) reads and resets it; a job's start and end publish it. */
struct copier {
	struct work_stack *w;              /* this worker's stack in minor_state.wp */
	struct block *pending;             /* blocks with pending cards */
	/* Frozen blocks with pending cards: listed here rather than through
	 * their card_next, which no collection may write [INV-FROZEN]
	 * (without memory for the entry, a block is linked after all). */
	struct ptrvec frozen_pending;
	struct pending ring[RING];
	unsigned ring_head, ring_n;        /* the ring's oldest entry, its length */
	struct run to[2][SIZECLASS_COUNT]; /* runs in gen 1 and gen 2 */
	struct hole_run hole;              /* a packed block's hole (gen 2) */
	struct block *blocks;              /* copied into, by copy_next */
	/* Copies by source and target: [from gen][to gen - 1]; bytes are
	 * the source's footprint (granule-rounded in the nursery, the slot
	 * in gen 1). */
	size_t objects[2][2], bytes[2][2];
	size_t slot_bytes[2];              /* of the copies, by target */
	/* Of slot_bytes[1], the copies into packed blocks' holes, and their
	 * sources' footprints: memory the heap already held. */
	size_t hole_bytes, hole_src_bytes;
	size_t dirty_cards;                /* turned pending by this worker */
	/* Word 0 of the weak references this worker scanned whose targets
	 * were in from-space (minor_final.c resolves them). */
	struct ptrvec weak;
	size_t weak_seen;                  /* of those, resolved already */
	/* The ephemerons it scanned whose keys were in from-space. */
	struct ptrvec eph;
	/* Bytes this worker may still copy into generation 1; past it,
	 * survivors go to generation 2 whatever their age. */
	size_t gen1_room;
	/* Keeps the next worker's copier off this one's last cache line. */
	char pad[64];
};

/* The state of the minor collection. Sync: written by the collector with
 * the world stopped, before the job that reads it (the job's start
 * publishes it), unless the field says otherwise. */
struct minor_state {
	/* The copy phase's work pool: stacks[i] is worker i's (work.h). */
	struct work_pool wp;
	struct copier *copiers;      /* one per worker, copiers[i].w = &wp.stacks[i] */
	unsigned tenure_age;         /* 0: everything goes to gen 2 */
	/* Blocks with pinned objects, by pin_next. Sync: written by the pin
	 * pass alone, then under pin_lock (objects that stay in place). */
	struct block *pinned;
	pthread_mutex_t pin_lock;
	/* Next block / large object to claim. Relaxed: the claim only hands
	 * out indices; the data was published by the job start. */
	_Atomic size_t next_block, next_large;
	size_t top;                  /* heap.top when the prepare phase starts */
	/* A push was dropped. Relaxed: read after the workers joined. */
	_Atomic bool overflow;
	size_t rescans;              /* overflow recoveries since init; collector only */
	/* Objects and bytes of the retained nursery and of generation 1
	 * after the last minor collection. Collector only. */
	size_t retained_objects, retained_bytes;
	size_t gen1_objects, gen1_bytes;
	/* The share of the nursery's bytes that survived, averaged over the
	 * last collections (each weighs half), and the collections since
	 * init. Collector only. */
	double survival;
	uint64_t collections;
};
extern struct minor_state minor_state;

/* From-space blocks promoted in place have space byte 2 | SPACE_FROM
 * (| SPACE_PINNED): generation 2 is what their survivors are in, for the
 * card rule and tenure_from_old, and no other from-space block is older
 * than generation 1. */
static inline bool space_in_place(uint8_t space)
{
	return (space & SPACE_GEN_MASK) == 2;
}

/* True if obj (any pointer) is in from-space. */
static inline bool minor_in_from(const void *obj)
{
	return heap_contains((uintptr_t)obj) && (space_of((uintptr_t)obj) & SPACE_FROM);
}

/* minor_copy.c */

/* Pins what the words of [lo, hi) point at in from-space (roots_scan_words'
 * callback for stacks, registers and root areas). The pin pass alone. */
void minor_pin_range(uintptr_t lo, uintptr_t hi, void *ctx);
/* Processes obj's pointer fields that lie in [lo, hi); obj is in
 * generation hgen. */
void minor_scan_fields(struct copier *c, void *obj, unsigned hgen,
		       uintptr_t lo, uintptr_t hi);
/* Scans until the stack and the ring are empty. */
void minor_drain_local(struct work_stack *w, void *ctx);
/* The copy phase's job; arg is minor_state.pinned. */
void minor_copy_worker(unsigned id, void *arg);
/* After a parallel phase, on this thread: while the overflow flag is
 * up, scans every copy and pinned object again (already-updated fields
 * are left as they are). */
void minor_recover(void);
/* Between jobs, on this thread: every copy so far gets its mark bit
 * (runs record their copies in their blocks' marks only when they move
 * on, or now). */
void minor_record_runs(void);
/* After the copy phase: where from-space object obj is now (its copy, or
 * itself if it stayed in place), with its generation in *gen; NULL if
 * nothing reached it. */
void *minor_survivor(void *obj, unsigned *gen);
/* After the copy phase, on this thread: *slot (a root) survives, and
 * everything it reaches once minor_drain has run; the slot is updated.
 * minor_recover afterwards. */
void minor_keep(void **slot);
void minor_drain(void);
/* The same for a field of `holder`, whose card is dirtied if the field
 * is left pointing to a younger generation. */
void minor_keep_field(void **slot, void *holder);

/* minor_final.c */

/* After the copy phase: resolves the weak references noted, then finds
 * the finalizable objects that died, keeps them alive and queues those
 * that are ready (final.h). */
void minor_final(void);

/* minor_cards.c */

/* The prepare phase's job: pins (worker 0), and turns dirty cards into
 * pending ones. */
void minor_prepare_worker(unsigned id, void *arg);
void minor_scan_block_cards(struct copier *c, struct block *b);
void minor_scan_large_cards(struct copier *c, struct large *l);

/* minor_release.c */

/* Objects that stayed for want of space lose their HDR_STAYS. Returns
 * the footprint of the block's objects. */
size_t minor_unstay(struct block *b);
void minor_release_copies(struct minor_result *r);
/* Gen-1 from-space after a generation-1 collection. */
void minor_release_gen1(struct minor_result *r);
void minor_release_nursery(struct minor_result *r);

#endif
