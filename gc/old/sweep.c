/*
 * sweep.c: sweeping (see sweep.h). In a pause, workers claim chunks of
 * blocks, then chunks of the large-object set, from shared counters, and
 * keep what they find in local lists that are merged once at the end, so
 * the only shared writes per block are the block's own metadata. After a
 * remark, generation 2's blocks are swept lazily: the same claims, by
 * whichever threads get there (the collector thread, an allocating thread
 * that finds the heap full, or the workers of a pause that needs it
 * finished), each chunk's blocks listed as soon as they are swept.
 */
#include <string.h>

#include "gc/heap/card.h"
#include "gc/heap/freeze.h"
#include "gc/heap/heap.h"
#include "gc/heap/large.h"
#include "gc/heap/packed.h"
#include "gc/old/compact.h"
#include "gc/old/sweep.h"
#include "gc/heap/type.h"
#include "runtime/meta.h"
#include "threads/stw.h"
#include "threads/workers.h"

#define CHUNK_BLOCKS 32
#define CHUNK_LARGE 64
/* Blocks a lazy sweeper claims at a time: the collector thread polls its
 * safepoint between two chunks, so a pause waits for one chunk at most
 * (1-2 us a block whose bitmaps miss the cache: tens of microseconds). */
#define LAZY_CHUNK 16

struct sweeper {
	struct block *free_head, *free_tail;
	struct block *class_head[2][SIZECLASS_COUNT]; /* [gen - 1][class] */
	struct block *class_tail[2][SIZECLASS_COUNT];
	struct sweep_result r;
	size_t blocks_freed;
	size_t large_freed_bytes;
	/* Keeps the next worker's sweeper off this one's last cache line. */
	char pad[64];
};

static struct {
	/* Next block / large index to claim. Relaxed: the claim only hands
	 * out indices; the data was published by the job start. */
	_Atomic size_t next_block;
	_Atomic size_t next_large;
	size_t top;               /* blocks to sweep: [0, top) */
	bool large_only;          /* the remark's: large objects only */
	struct sweeper *sweepers; /* one per worker; allocated at init */
	unsigned nsweepers;
} sw;

static struct {
	/* Blocks [0, top) were in use at the remark; those of generation 2
	 * are unswept [INV-UNSWEPT]. Sync: written with the world stopped. */
	size_t top;
	/* The next block to claim. Relaxed: the claim only hands out
	 * indices; what the remark wrote the pause's restart published. */
	_Atomic size_t next;
	/* Blocks of finished chunks. Release by each sweeper after it has
	 * added its chunk's figures, acquire by the reader of the totals:
	 * done == top then means every figure is in. */
	_Atomic size_t done;
	/* What the chunks found. Relaxed adds, published by `done`. */
	_Atomic size_t freed_bytes, freed_objects, live_bytes, live_objects;
	_Atomic size_t old_blocks, old_free_bytes;
	/* What the remark's sweep of large objects found. Sync: written with
	 * the world stopped, read by sweep_old_result. */
	struct sweep_result large;
	/* The totals were handed out. Sync: the caller's (sweep.h). */
	bool reported;
} lazy = {.reported = true};

int sweep_init(unsigned workers)
{
	sw.sweepers = meta_calloc(sizeof(struct sweeper) * workers);
	sw.nsweepers = workers;
	lazy.top = 0;
	atomic_store_relaxed(&lazy.next, 0);
	atomic_store_relaxed(&lazy.done, 0);
	lazy.reported = true;
	return sw.sweepers ? GYRE_OK : GYRE_ENOMEM;
}

void sweep_shutdown(void)
{
	meta_free(sw.sweepers);
	sw.sweepers = NULL;
	sw.nsweepers = 0;
}

static void list_append(struct block **head, struct block **tail,
			struct block *b)
{
	b->next = NULL;
	if (*tail)
		(*tail)->next = b;
	else
		*head = b;
	*tail = b;
}

/* Start bits become mark bits, marks are cleared; returns the objects
 * left. The start words are stored relaxed: gyre_finalizer_register's
 * check (api_final.c) reads them while the lazy sweep runs. */
static uint32_t sweep_bitmaps(struct block *b, struct sweep_result *r)
{
	uint32_t live = 0, freed = 0;
	for (unsigned i = 0; i < BITMAP_WORDS; i++) {
		uint64_t marks = atomic_load_relaxed(&b->marks[i]);
		GYRE_ASSERT((marks & ~b->starts[i]) == 0);
		freed += (uint32_t)__builtin_popcountll(b->starts[i] & ~marks);
		live += (uint32_t)__builtin_popcountll(marks);
		__atomic_store_n(&b->starts[i], marks, __ATOMIC_RELAXED);
		atomic_store_relaxed(&b->marks[i], 0);
	}
	b->live = live;
	r->freed_objects += freed;
	r->freed_bytes += (size_t)freed * b->obj_size;
	r->live_objects += live;
	r->live_bytes += (size_t)live * b->obj_size;
	if (b->gen == 2 && live) {
		r->old_blocks++;
		r->old_free_bytes += block_free_bytes(b, live);
	}
	return live;
}

/* A block the sweep emptied goes on the sweeper's free list (merged
 * with heap.free at the end). */
static void free_swept(struct sweeper *s, struct block *b)
{
	b->state = BLOCK_FREE;
	/* As heap_free_block: a free block does not look old. */
	block_set_gen(b, 0);
	card_clear_block(b);
	s->blocks_freed++;
	list_append(&s->free_head, &s->free_tail, b);
}

/* Frees a PACKED block that emptied, or leaves it: it is on no list. */
static void sweep_packed_block(struct sweeper *s, struct block *b)
{
	if (!packed_sweep(b, &s->r))
		free_swept(s, b);
}

static void sweep_block(struct sweeper *s, struct block *b)
{
	uint32_t live = sweep_bitmaps(b, &s->r);
	if (b->gen == 2)
		compact_note_swept(b, live);
	if (live == 0) {
		free_swept(s, b);
	} else if (live < b->nslots) {
		list_append(&s->class_head[b->gen - 1][b->sizeclass],
			    &s->class_tail[b->gen - 1][b->sizeclass], b);
	}
}

/* A nursery block kept for pinned objects: the marked ones stay (the next
 * minor collection moves them once nothing pins them), the others are
 * dropped. Marking decides, not the minor collection's pin pass: a thread
 * in a blocking region may overwrite a dead stack slot between the two
 * reads of its stack, and an object kept without marking would keep
 * pointers to objects this sweep frees. */
static void sweep_nursery_block(struct sweeper *s, struct block *b)
{
	char *base = block_base(b);
	for (unsigned i = 0; i < BITMAP_WORDS; i++) {
		uint64_t marks = atomic_load_relaxed(&b->marks[i]);
		GYRE_ASSERT((marks & ~b->starts[i]) == 0);
		for (uint64_t dead = b->starts[i] & ~marks; dead; dead &= dead - 1) {
			uint32_t slot = i * 64 + (uint32_t)__builtin_ctzll(dead);
			uint64_t h = *(uint64_t *)(base + (size_t)slot * GRANULE);
			s->r.freed_objects++;
			s->r.freed_bytes += nursery_size_of(h);
		}
		b->starts[i] = marks;
		atomic_store_relaxed(&b->marks[i], 0);
	}
}

static void sweep_large(struct sweeper *s, size_t i)
{
	struct large *l = large.objs[i];
	if (large_frozen(l))
		return; /* [INV-FROZEN] its mark word is not written */
	if (atomic_load_relaxed(&l->mark)) {
		atomic_store_relaxed(&l->mark, 0);
		s->r.live_objects++;
		s->r.live_bytes += l->bytes;
		return;
	}
	s->r.freed_objects++;
	s->r.freed_bytes += l->bytes;
	s->large_freed_bytes += l->bytes;
	large.objs[i] = NULL;
	/* A stale pointer to it must not pass large_valid. */
	l->magic = 0;
	meta_free(l);
}

static void sweep_worker(unsigned id, void *arg)
{
	(void)arg;
	struct sweeper *s = &sw.sweepers[id];
	size_t start;
	while (!sw.large_only &&
	       (start = atomic_add_relaxed(&sw.next_block, CHUNK_BLOCKS)) < sw.top) {
		size_t end = start + CHUNK_BLOCKS < sw.top ? start + CHUNK_BLOCKS : sw.top;
		for (size_t i = start; i < end; i++) {
			struct block *b = &heap.blocks[i];
			if (block_frozen(b))
				continue; /* [INV-FROZEN] never swept */
			if (b->state == BLOCK_SMALL)
				sweep_block(s, b);
			else if (b->state == BLOCK_PACKED)
				sweep_packed_block(s, b);
			else if (b->state == BLOCK_NURSERY)
				sweep_nursery_block(s, b);
		}
	}
	while ((start = atomic_add_relaxed(&sw.next_large, CHUNK_LARGE)) < large.count) {
		size_t end = start + CHUNK_LARGE < large.count ? start + CHUNK_LARGE
							       : large.count;
		for (size_t i = start; i < end; i++)
			sweep_large(s, i);
	}
}

static void merge(struct sweeper *s, struct sweep_result *total)
{
	heap_free_blocks(s->free_head);
	for (unsigned g = 0; g < 2; g++)
		for (unsigned c = 0; c < SIZECLASS_COUNT; c++) {
			if (!s->class_head[g][c])
				continue;
			s->class_tail[g][c]->next = heap.classes[g][c].head;
			heap.classes[g][c].head = s->class_head[g][c];
		}
	heap_unreserve(s->blocks_freed * BLOCK_SIZE + s->large_freed_bytes);
	atomic_sub_relaxed(&large.bytes, s->large_freed_bytes);
	total->freed_bytes += s->r.freed_bytes;
	total->freed_objects += s->r.freed_objects;
	total->live_bytes += s->r.live_bytes;
	total->live_objects += s->r.live_objects;
	total->old_blocks += s->r.old_blocks;
	total->old_free_bytes += s->r.old_free_bytes;
}

static void compact_large_set(void)
{
	size_t n = 0;
	for (size_t i = 0; i < large.count; i++)
		if (large.objs[i])
			large.objs[n++] = large.objs[i];
	large.count = n;
}

static struct sweep_result sweep_parallel(bool large_only)
{
	GYRE_ASSERT(stw_world_stopped());
	sw.large_only = large_only;
	GYRE_ASSERT(sw.nsweepers == workers_count());
	memset(sw.sweepers, 0, sizeof(struct sweeper) * sw.nsweepers);
	sw.top = heap.top;
	atomic_store_relaxed(&sw.next_block, 0);
	atomic_store_relaxed(&sw.next_large, 0);
	workers_run(sweep_worker, NULL);
	struct sweep_result total = {0};
	for (unsigned i = 0; i < sw.nsweepers; i++)
		merge(&sw.sweepers[i], &total);
	compact_large_set();
	return total;
}

struct sweep_result sweep_heap(void)
{
	GYRE_ASSERT(!sweep_old_pending());
	/* Every SMALL block swept is re-listed by the sweep; nothing is
	 * owned because the minor collection released its runs. */
	for (unsigned g = 0; g < 2; g++)
		for (unsigned c = 0; c < SIZECLASS_COUNT; c++)
			heap.classes[g][c].head = NULL;
	packed_holes_reset();
	compact_sweep_begin();
	return sweep_parallel(false);
}

/* ------------------------------------------------------- the lazy sweep */


struct sweep_result sweep_old_begin(void)
{
	GYRE_ASSERT(stw_world_stopped() && !sweep_old_pending());
	/* Relisted as they are swept; nothing is owned outside a minor
	 * collection. */
	for (unsigned c = 0; c < SIZECLASS_COUNT; c++)
		heap.classes[1][c].head = NULL;
	packed_holes_reset();
	heap.sweep_epoch++;
	compact_sweep_begin();
	lazy.top = heap.top;
	atomic_store_relaxed(&lazy.next, 0);
	atomic_store_relaxed(&lazy.freed_bytes, 0);
	atomic_store_relaxed(&lazy.freed_objects, 0);
	atomic_store_relaxed(&lazy.live_bytes, 0);
	atomic_store_relaxed(&lazy.live_objects, 0);
	atomic_store_relaxed(&lazy.old_blocks, 0);
	atomic_store_relaxed(&lazy.old_free_bytes, 0);
	lazy.reported = false;
	lazy.large = sweep_parallel(true);
	atomic_store_explicit(&lazy.done, 0, memory_order_release);
	return lazy.large;
}

void sweep_old_uncount(size_t objects, size_t bytes)
{
	/* Subtracted ahead of the sweepers' adds: the totals are read only
	 * once all are in (sweep_old_result), and wrap back. */
	atomic_add_relaxed(&lazy.freed_objects, (size_t)0 - objects);
	atomic_add_relaxed(&lazy.freed_bytes, (size_t)0 - bytes);
}

bool sweep_old_pending(void)
{
	return atomic_load_explicit(&lazy.done, memory_order_acquire) < lazy.top;
}

/* A block's space byte says generation 2 only of a SMALL or PACKED block
 * of generation 2 (free and nursery blocks have 0, which a mutator that
 * takes a free block for its nursery writes again); such a block changes
 * only in pauses and in its own sweep, so its metadata can be read once
 * the byte is seen. */
static bool old_block(size_t i)
{
	return (__atomic_load_n(&heap.space[i], __ATOMIC_RELAXED) & SPACE_GEN_MASK) == 2;
}

/* Sweeps an unswept block of the claimer's, then relists or frees it. */
static void sweep_old_one(struct block *b, struct sweep_result *r)
{
	bool packed = b->state == BLOCK_PACKED;
	uint32_t live = packed ? packed_sweep(b, r) : sweep_bitmaps(b, r);
	b->swept = heap.sweep_epoch;
	if (!packed)
		compact_note_swept(b, live);
	if (live == 0)
		heap_free_block(b);
	else if (live < b->nslots && !packed)
		heap_list_block(b);
}

static void add_totals(const struct sweep_result *r)
{
	atomic_add_relaxed(&lazy.freed_bytes, r->freed_bytes);
	atomic_add_relaxed(&lazy.freed_objects, r->freed_objects);
	atomic_add_relaxed(&lazy.live_bytes, r->live_bytes);
	atomic_add_relaxed(&lazy.live_objects, r->live_objects);
	atomic_add_relaxed(&lazy.old_blocks, r->old_blocks);
	atomic_add_relaxed(&lazy.old_free_bytes, r->old_free_bytes);
}

bool sweep_old_step(void)
{
	size_t start = atomic_add_relaxed(&lazy.next, LAZY_CHUNK);
	if (start >= lazy.top)
		return false;
	size_t end = start + LAZY_CHUNK < lazy.top ? start + LAZY_CHUNK : lazy.top;
	struct sweep_result r = {0};
	for (size_t i = start; i < end; i++)
		if (old_block(i) && block_unswept(&heap.blocks[i]))
			sweep_old_one(&heap.blocks[i], &r);
	add_totals(&r);
	atomic_fetch_add_explicit(&lazy.done, end - start, memory_order_release);
	return true;
}

void sweep_old_block(struct block *b)
{
	if (!block_unswept(b))
		return;
	struct sweep_result r = {0};
	sweep_old_one(b, &r);
	add_totals(&r);
}

static void finish_worker(unsigned id, void *arg)
{
	(void)id;
	(void)arg;
	while (sweep_old_step())
		;
}

void sweep_old_finish(void)
{
	GYRE_ASSERT(stw_world_stopped());
	if (sweep_old_pending())
		workers_run(finish_worker, NULL);
	GYRE_ASSERT(!sweep_old_pending());
}

bool sweep_old_result(struct sweep_result *out)
{
	if (lazy.reported || sweep_old_pending())
		return false;
	lazy.reported = true;
	*out = lazy.large;
	out->freed_bytes += atomic_load_relaxed(&lazy.freed_bytes);
	out->freed_objects += atomic_load_relaxed(&lazy.freed_objects);
	out->live_bytes += atomic_load_relaxed(&lazy.live_bytes);
	out->live_objects += atomic_load_relaxed(&lazy.live_objects);
	out->old_blocks += atomic_load_relaxed(&lazy.old_blocks);
	out->old_free_bytes += atomic_load_relaxed(&lazy.old_free_bytes);
	return true;
}
