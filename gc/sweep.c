/*
 * sweep.c: parallel sweeping (see sweep.h). Workers claim chunks of blocks,
 * then chunks of the large-object set, from shared counters, and keep what
 * they find in local lists that are merged once at the end, so the only
 * shared writes per block are the block's own metadata.
 */
#include <string.h>

#include "gc/card.h"
#include "gc/heap.h"
#include "gc/large.h"
#include "gc/sweep.h"
#include "gc/type.h"
#include "runtime/meta.h"
#include "threads/stw.h"
#include "threads/workers.h"

#define CHUNK_BLOCKS 32
#define CHUNK_LARGE 64

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
	bool old_only;            /* generation 2 and large objects only */
	struct sweeper *sweepers; /* one per worker; allocated at init */
	unsigned nsweepers;
} sw;

int sweep_init(unsigned workers)
{
	sw.sweepers = meta_calloc(sizeof(struct sweeper) * workers);
	sw.nsweepers = workers;
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

static void sweep_block(struct sweeper *s, struct block *b)
{
	uint32_t live = 0, freed = 0;
	for (unsigned i = 0; i < BITMAP_WORDS; i++) {
		uint64_t marks = atomic_load_relaxed(&b->marks[i]);
		GYRE_ASSERT((marks & ~b->starts[i]) == 0);
		freed += (uint32_t)__builtin_popcountll(b->starts[i] & ~marks);
		live += (uint32_t)__builtin_popcountll(marks);
		b->starts[i] = marks;
		atomic_store_relaxed(&b->marks[i], 0);
	}
	b->live = live;
	s->r.freed_objects += freed;
	s->r.freed_bytes += (size_t)freed * b->obj_size;
	s->r.live_objects += live;
	s->r.live_bytes += (size_t)live * b->obj_size;
	if (live == 0) {
		b->state = BLOCK_FREE;
		/* As heap_free_block: a free block does not look old. */
		block_set_gen(b, 0);
		card_clear_block(b);
		s->blocks_freed++;
		list_append(&s->free_head, &s->free_tail, b);
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
	while ((start = atomic_add_relaxed(&sw.next_block, CHUNK_BLOCKS)) < sw.top) {
		size_t end = start + CHUNK_BLOCKS < sw.top ? start + CHUNK_BLOCKS : sw.top;
		for (size_t i = start; i < end; i++) {
			struct block *b = &heap.blocks[i];
			if (b->state == BLOCK_SMALL && (!sw.old_only || b->gen == 2))
				sweep_block(s, b);
			else if (b->state == BLOCK_NURSERY && !sw.old_only)
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
	total->freed_bytes += s->r.freed_bytes;
	total->freed_objects += s->r.freed_objects;
	total->live_bytes += s->r.live_bytes;
	total->live_objects += s->r.live_objects;
}

static void compact_large_set(void)
{
	size_t n = 0;
	for (size_t i = 0; i < large.count; i++)
		if (large.objs[i])
			large.objs[n++] = large.objs[i];
	large.count = n;
}

struct sweep_result sweep_heap(bool old_only)
{
	GYRE_ASSERT(stw_world_stopped());
	/* Every SMALL block swept is re-listed by the sweep; nothing is
	 * owned because the minor collection released its runs. */
	sw.old_only = old_only;
	for (unsigned g = old_only ? 1 : 0; g < 2; g++)
		for (unsigned c = 0; c < SIZECLASS_COUNT; c++)
			heap.classes[g][c].head = NULL;
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
