/*
 * packed.h: packed blocks (heap.h [INV-PACKED]): nursery blocks that a
 * minor collection promoted to generation 2 in place, and their holes.
 *
 * A packed block is tiled: its objects and fillers lie back to back from
 * its base to its end, each with its start bit, so that any run of dead
 * objects is one stretch of memory. A filler (TYPE_FILLER, pointer-free)
 * is a hole; no reference ever points at one, and lookups
 * (heap_find_small) do not see them. Holes come from the promotion (the
 * gaps between survivors, and the block's unused end) and from each sweep
 * (every run of dead objects and fillers becomes one filler).
 *
 * Holes of HOLE_MIN bytes or more are listed, by size, and the minor
 * collection copies survivors into them (packed_take): a copier takes a
 * hole whole and cuts objects from its end, the filler shrinking in front
 * of them, so that the block stays tiled throughout and the filler's
 * start bit never names a copy. The lists hold holes of swept blocks only:
 * every sweep starts them afresh (a hole's block becomes unswept, its
 * fillers dead objects again, and its sweep coalesces and lists them
 * anew), and so does freezing (a frozen block's pages are never written).
 *
 * Sync: the lists and their byte count are under holes.lock; a hole taken
 * is its copier's alone; a filler's header, which a card scanner may read
 * while its copier shrinks it, is loaded and stored relaxed.
 */
#ifndef GYRE_PACKED_H
#define GYRE_PACKED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gc/heap/heap.h"

struct sweep_result;

/* The smallest hole listed: a smaller one holds few objects, and taking it
 * would cost more than copying into a size-class run. */
#define HOLE_MIN ((size_t)512)

/* A hole a copier took: objects are cut from [lo, hi) at hi, the filler at
 * lo keeping at least GRANULE bytes. `bytes` were cut since it was taken.
 * `miss`: the smallest need no listed hole met in this collection (0:
 * none), so that larger ones do not take the lock to fail again. */
struct hole_run {
	struct block *block;
	char *lo, *hi;
	uint32_t bytes;
	size_t miss;
};

/* True if header h is a filler's. */
bool packed_is_filler(uint64_t h);

/* After a promotion in place, world stopped: the block's start bits are
 * its survivors'; their HDR_STAYS goes, the gaps between them and the
 * block's end become fillers (listed when large enough), and live_bytes
 * their footprints. Returns the survivors that a root pinned (those
 * without HDR_STAYS). */
uint32_t packed_promote(struct block *b);

/* Sweeps a packed block [INV-UNSWEPT]: each run of starts not marked
 * (dead objects and fillers) becomes one filler; the block's live count
 * and live_bytes become the marked objects'; marks are cleared. Adds what
 * it freed to *r; returns the objects left. */
uint32_t packed_sweep(struct block *b, struct sweep_result *r);

/* Drops every listed hole (a sweep begins, or the heap freezes). */
void packed_holes_reset(void);
/* The listed holes' bytes (relaxed: a hint for the minor collection's
 * choice between copying and promoting in place). */
size_t packed_holes_bytes(void);

/* A slot of `bytes` (GRANULE-rounded) in run r, or NULL. When r has no
 * room, it ends and a listed hole with room is taken (the block is linked
 * onto *blocks by copy_next if it is not yet, as the copier's runs do);
 * NULL if none is listed. Minor collection, copy phase. */
char *packed_alloc(struct hole_run *r, size_t bytes, struct block **blocks);
/* Gives back the last slot packed_alloc returned (its claim failed). */
void packed_unalloc(struct hole_run *r, char *slot, size_t bytes);
/* Ends the run: its block's live_bytes count what was cut, and the rest,
 * if large enough, is listed again. */
void packed_release(struct hole_run *r);
/* The same at the end of a collection, which forgets `miss` too. */
void packed_end(struct hole_run *r);

/* The verifier's check of the lists: each hole a filler of a swept,
 * unfrozen packed block, with its start bit, in its bucket; their bytes
 * the count. Calls fail(what, block index) on the first that is not. */
void packed_holes_verify(void (*fail)(const char *what, size_t index));

#endif
