/*
 * heap.c: the reservation, the side table and the movement of blocks
 * between the free list, the class lists and threads' allocation buffers
 * (see heap.h).
 */
#include <string.h>
#include <sys/mman.h>

#include "gc/heap/card.h"
#include "gc/heap/decommit.h"
#include "gc/heap/heap.h"
#include "gc/heap/packed.h"
#include "gc/heap/prefault.h"
#include "gc/heap/type.h"
#include "runtime/config.h"

struct heap heap = {.lock = PTHREAD_MUTEX_INITIALIZER};
LOCK_RANKED(LOCK_HEAP, &heap.lock, 1, sizeof(pthread_mutex_t))
LOCK_RANKED(LOCK_CLASS, &heap.classes[0][0].lock,
	    sizeof(heap.classes) / sizeof(struct class_list), sizeof(struct class_list))

/* What GYRE_STORE's inline path reads (gyre.h). Sync: written by
 * gyre_init before any thread may store, read-only afterwards. */
GYRE_API uintptr_t gyre__heap_base;
GYRE_API uintptr_t gyre__heap_bytes;
GYRE_API uint8_t *gyre__cards;
GYRE_API uint8_t *gyre__card_summary;
GYRE_API uint8_t *gyre__space;

/* The reservation is aligned to a transparent huge page. Blocks are
 * handed out from the bottom, and free ones are reused before the top
 * grows (committed ones first, then those whose memory was returned,
 * decommit.c), so the heap fills whole huge pages: one fault maps 2 MiB where small pages
 * took 512, and the TLB covers the nursery and to-space. Measured: a
 * minor collection that copies 32 MiB into fresh memory took 75 ms with
 * small pages and 20 ms with huge ones (GCBench's first collections).
 * But a huge page costs its whole fault at once, 2-4 ms on this VM, and
 * a pause or a thread on its way to a safepoint that touches one waits
 * that long. So the reservation asks for small pages (MADV_NOHUGEPAGE,
 * which also holds where THP is "always"), and the prefault thread asks
 * for huge ones step by step, just before it maps them (prefault.c):
 * what it maps ahead is huge, what the heap reaches before it is small
 * (bench/churn: minor pauses over 1 ms fell from 1.2-1.6% of them to
 * 0.2-0.4% in the runs that grew fastest). Where THP is off, madvise
 * fails and nothing changes. */

static void *map_noreserve(size_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

static size_t free_bits_bytes(size_t nblocks)
{
	return (nblocks + 63) / 64 * sizeof(uint64_t);
}

int heap_init(size_t max)
{
	packed_holes_reset();
	size_t nblocks = (max + BLOCK_SIZE - 1) >> BLOCK_SHIFT;
	size_t bytes = nblocks << BLOCK_SHIFT;
	char *raw = map_noreserve(bytes + HUGE_PAGE);
	if (!raw)
		return GYRE_ENOMEM;
	uintptr_t aligned = ((uintptr_t)raw + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
	size_t head = aligned - (uintptr_t)raw;
	if (head)
		munmap(raw, head);
	munmap((char *)aligned + bytes, HUGE_PAGE - head);
	madvise((void *)aligned, bytes, MADV_NOHUGEPAGE);
	heap.blocks = map_noreserve(nblocks * sizeof(struct block));
	heap.cards = map_noreserve(nblocks * CARDS_PER_BLOCK);
	heap.space = map_noreserve(nblocks);
	heap.card_summary = map_noreserve(nblocks);
	heap.free_bits = map_noreserve(free_bits_bytes(nblocks));
	if (!heap.blocks || !heap.cards || !heap.space || !heap.card_summary ||
	    !heap.free_bits) {
		if (heap.blocks)
			munmap(heap.blocks, nblocks * sizeof(struct block));
		if (heap.cards)
			munmap(heap.cards, nblocks * CARDS_PER_BLOCK);
		if (heap.space)
			munmap(heap.space, nblocks);
		if (heap.card_summary)
			munmap(heap.card_summary, nblocks);
		if (heap.free_bits)
			munmap(heap.free_bits, free_bits_bytes(nblocks));
		munmap((void *)aligned, nblocks << BLOCK_SHIFT);
		return GYRE_ENOMEM;
	}
	heap.base = (char *)aligned;
	heap.nblocks = nblocks;
	heap.top = 0;
	heap.free = heap.free_tail = heap.returning = heap.returned = NULL;
	heap.free_low = 0;
	atomic_store_relaxed(&heap.nfree, 0);
	atomic_store_relaxed(&heap.nreturning, 0);
	atomic_store_relaxed(&heap.nreturned, 0);
	atomic_store_relaxed(&heap.returned_bytes, 0);
	heap.gen1 = NULL;
	heap.sweep_epoch = 0;
	atomic_store_relaxed(&heap.used, 0);
	for (unsigned g = 0; g < 2; g++)
		for (unsigned c = 0; c < SIZECLASS_COUNT; c++) {
			pthread_mutex_init(&heap.classes[g][c].lock, NULL);
			heap.classes[g][c].head = NULL;
		}
	gyre__heap_base = (uintptr_t)heap.base;
	gyre__heap_bytes = nblocks << BLOCK_SHIFT;
	gyre__cards = heap.cards;
	gyre__card_summary = heap.card_summary;
	gyre__space = heap.space;
	/* Last: the thread reads the heap's fields. Without it, pages fault
	 * in where they are first written, and free ones are never
	 * returned. */
	decommit_init();
	(void)prefault_start(heap.base, bytes);
	return GYRE_OK;
}

void heap_shutdown(void)
{
	prefault_stop();
	munmap(heap.base, heap.nblocks << BLOCK_SHIFT);
	munmap(heap.blocks, heap.nblocks * sizeof(struct block));
	munmap(heap.cards, heap.nblocks * CARDS_PER_BLOCK);
	munmap(heap.space, heap.nblocks);
	munmap(heap.card_summary, heap.nblocks);
	munmap(heap.free_bits, free_bits_bytes(heap.nblocks));
	heap.free_bits = NULL;
	heap.space = NULL;
	heap.card_summary = NULL;
	gyre__card_summary = NULL;
	gyre__space = NULL;
	for (unsigned g = 0; g < 2; g++)
		for (unsigned c = 0; c < SIZECLASS_COUNT; c++)
			pthread_mutex_destroy(&heap.classes[g][c].lock);
	gyre__heap_base = gyre__heap_bytes = 0;
	gyre__cards = NULL;
	heap.cards = NULL;
	heap.base = NULL;
	heap.blocks = NULL;
	heap.nblocks = 0;
}

size_t heap_room(void)
{
	size_t used = atomic_load_relaxed(&heap.used);
	return gyre_cfg.heap_max > used ? gyre_cfg.heap_max - used : 0;
}

bool heap_reserve(size_t bytes)
{
	/* Relaxed: the counter guards a quantity, not other memory. */
	size_t used = atomic_load_relaxed(&heap.used);
	do {
		if (bytes > gyre_cfg.heap_max - used)
			return false;
	} while (!atomic_compare_exchange_weak_explicit(&heap.used, &used,
			used + bytes, memory_order_relaxed, memory_order_relaxed));
	return true;
}

void heap_unreserve(size_t bytes)
{
	atomic_sub_relaxed(&heap.used, bytes);
}

static void block_set_size(struct block *b, uint32_t obj_size)
{
	b->obj_size = obj_size;
	b->recip = (uint32_t)(((uint64_t)1 << 32) / obj_size +
			      ((((uint64_t)1 << 32) % obj_size) != 0));
	b->nslots = (uint32_t)(BLOCK_SIZE / obj_size);
}

/* ---------------------------------------- the lists of FREE blocks
 * [INV-FREE-LISTS]. Every function here runs under heap.lock. The
 * counts are atomics only so that statistics can read them without the
 * lock: relaxed, as they order nothing. */

static void free_bit_set(size_t i, bool on)
{
	uint64_t bit = UINT64_C(1) << (i % 64);
	heap.free_bits[i / 64] = on ? heap.free_bits[i / 64] | bit
				    : heap.free_bits[i / 64] & ~bit;
}

static void count_add(_Atomic size_t *n, size_t delta)
{
	atomic_store_relaxed(n, atomic_load_relaxed(n) + delta);
}

static void count_sub(_Atomic size_t *n, size_t delta)
{
	atomic_store_relaxed(n, atomic_load_relaxed(n) - delta);
}

static void free_push(struct block *b)
{
	b->prev = NULL;
	b->next = heap.free;
	if (heap.free)
		heap.free->prev = b;
	else
		heap.free_tail = b;
	heap.free = b;
	free_bit_set(block_index(b), true);
	count_add(&heap.nfree, 1);
}

static void free_unlink(struct block *b)
{
	if (b->prev)
		b->prev->next = b->next;
	else
		heap.free = b->next;
	if (b->next)
		b->next->prev = b->prev;
	else
		heap.free_tail = b->prev;
	b->next = b->prev = NULL;
	free_bit_set(block_index(b), false);
	count_sub(&heap.nfree, 1);
	if (atomic_load_relaxed(&heap.nfree) < heap.free_low)
		heap.free_low = atomic_load_relaxed(&heap.nfree);
}

/* Committed free blocks first (the most recently freed: their pages are
 * mapped, maybe cached), then returned ones (a fault per page, but below
 * the top), and only then the top grows. With a memory limit, blocks
 * the memory thread has mapped past the top come before returned ones:
 * the limit counts them already (they are resident), where a returned
 * block adds to what gyre holds; taken last, they stayed mapped and
 * unused while the heap reused returned blocks under the limit. A
 * returned block and one from above the top read as zero. */
static struct block *pop_free(bool *zeroed)
{
	struct block *b = heap.free;
	*zeroed = b == NULL;
	bool ahead = gyre_cfg.memory_limit && prefault_ahead() >= BLOCK_SIZE &&
		     heap.top < heap.nblocks;
	if (b) {
		free_unlink(b);
	} else if (!ahead && (b = heap.returned)) {
		heap.returned = b->next;
		count_sub(&heap.nreturned, 1);
	} else if (heap.top < heap.nblocks) {
		b = &heap.blocks[heap.top++];
		prefault_note(heap.top << BLOCK_SHIFT);
	}
	return b;
}

/* A FREE block taken off a free list (or from above top), accounted
 * against the maximum, or NULL at the heap maximum. */
static struct block *take_free_block(void)
{
	if (!heap_reserve(BLOCK_SIZE))
		return NULL;
	bool zeroed;
	pthread_mutex_lock(&heap.lock);
	struct block *b = pop_free(&zeroed);
	pthread_mutex_unlock(&heap.lock);
	if (!b) {
		heap_unreserve(BLOCK_SIZE);
		return NULL;
	}
	GYRE_ASSERT(b->state == BLOCK_FREE);
	b->zeroed = zeroed;
	b->next = b->gnext = NULL;
	b->live = b->live_bytes = 0;
	b->pinned = b->stayed = b->in_place = b->retained = b->parsed = false;
	memset(b->starts, 0, sizeof(b->starts));
	return b;
}

/* A FREE block formatted for generation gen and class c, or NULL. */
static struct block *take_small_block(unsigned gen, unsigned c)
{
	struct block *b = take_free_block();
	if (!b)
		return NULL;
	b->state = BLOCK_SMALL;
	block_set_gen(b, gen);
	b->sizeclass = (uint8_t)c;
	b->swept = heap.sweep_epoch;
	block_set_size(b, sizeclass_size[c]);
	if (gen == 1) {
		pthread_mutex_lock(&heap.lock);
		b->gnext = heap.gen1;
		heap.gen1 = b;
		pthread_mutex_unlock(&heap.lock);
	}
	return b;
}

struct block *heap_take_block(unsigned gen, unsigned c)
{
	GYRE_ASSERT(gen == 1 || gen == 2);
	struct class_list *l = &heap.classes[gen - 1][c];
	pthread_mutex_lock(&l->lock);
	struct block *b = l->head;
	/* A compaction candidate (SPACE_EVAC, compact_cycle.c) leaves the
	 * list: nothing is copied into it; the sweep after its cycle lists
	 * it again if it still holds objects. */
	while (b && (heap.space[block_index(b)] & SPACE_EVAC))
		b = b->next;
	l->head = b ? b->next : NULL;
	pthread_mutex_unlock(&l->lock);
	if (!b)
		b = take_small_block(gen, c);
	if (b) {
		GYRE_ASSERT(b->state == BLOCK_SMALL && b->sizeclass == c &&
			    b->gen == gen && !b->owned);
		b->owned = true;
		b->next = NULL;
	}
	return b;
}

void heap_return_block(struct block *b)
{
	GYRE_ASSERT(b->owned);
	b->owned = false;
	heap_list_block(b);
}

void heap_list_block(struct block *b)
{
	struct class_list *l = &heap.classes[b->gen - 1][b->sizeclass];
	GYRE_ASSERT(b->state == BLOCK_SMALL && !b->owned);
	pthread_mutex_lock(&l->lock);
	b->next = l->head;
	l->head = b;
	pthread_mutex_unlock(&l->lock);
}

struct block *heap_take_nursery(void)
{
	struct block *b = take_free_block();
	if (!b)
		return NULL;
	b->state = BLOCK_NURSERY;
	block_set_gen(b, 0);
	b->sizeclass = 0;
	b->top = 0;
	block_set_size(b, GRANULE);
	return b;
}

void heap_free_block(struct block *b)
{
	b->state = BLOCK_FREE;
	/* Space 0: a stale pointer into a free block must not look old to
	 * the collector thread (mark.c's old_target). */
	block_set_gen(b, 0);
	b->owned = b->pinned = b->stayed = b->in_place = b->retained = b->parsed = false;
	memset(b->starts, 0, sizeof(b->starts));
	card_clear_block(b);
	pthread_mutex_lock(&heap.lock);
	free_push(b);
	pthread_mutex_unlock(&heap.lock);
	heap_unreserve(BLOCK_SIZE);
}

void heap_free_blocks(struct block *first)
{
	if (!first)
		return;
	pthread_mutex_lock(&heap.lock);
	size_t n = 0;
	struct block *last = NULL;
	for (struct block *b = first; b; last = b, b = b->next, n++) {
		GYRE_ASSERT(b->state == BLOCK_FREE);
		b->prev = last;
		free_bit_set(block_index(b), true);
	}
	last->next = heap.free;
	if (heap.free)
		heap.free->prev = last;
	else
		heap.free_tail = last;
	heap.free = first;
	count_add(&heap.nfree, n);
	pthread_mutex_unlock(&heap.lock);
}

/* Whether every block of run r (blocks r * HUGE_RUN ...) is on heap.free. */
static bool run_free(size_t r)
{
	_Static_assert(64 % HUGE_RUN == 0, "a run's bits lie in one word");
	uint64_t mask = HUGE_RUN == 64 ? ~UINT64_C(0) : (UINT64_C(1) << HUGE_RUN) - 1;
	size_t first = r * HUGE_RUN;
	return (heap.free_bits[first / 64] >> (first % 64) & mask) == mask;
}

static void returning_push(struct block *b)
{
	b->next = heap.returning;
	heap.returning = b;
	count_add(&heap.nreturning, 1);
}

size_t heap_claim_run(size_t below, size_t keep)
{
	size_t found = SIZE_MAX;
	pthread_mutex_lock(&heap.lock);
	if (atomic_load_relaxed(&heap.nfree) >= keep + HUGE_RUN) {
		for (size_t r = below / HUGE_RUN; r-- > 0;) {
			/* Skips a word with no free block at once. */
			if (!heap.free_bits[r * HUGE_RUN / 64]) {
				r -= r % (64 / HUGE_RUN);
				continue;
			}
			if (run_free(r)) {
				found = r * HUGE_RUN;
				break;
			}
		}
	}
	for (size_t i = 0; found != SIZE_MAX && i < HUGE_RUN; i++) {
		struct block *b = &heap.blocks[found + i];
		free_unlink(b);
		returning_push(b);
	}
	pthread_mutex_unlock(&heap.lock);
	return found;
}

size_t heap_claim_blocks(size_t n, size_t keep)
{
	size_t moved = 0;
	pthread_mutex_lock(&heap.lock);
	while (moved < n && atomic_load_relaxed(&heap.nfree) > keep) {
		struct block *b = heap.free_tail;
		free_unlink(b);
		returning_push(b);
		moved++;
	}
	pthread_mutex_unlock(&heap.lock);
	return moved;
}

void heap_end_return(bool returned)
{
	pthread_mutex_lock(&heap.lock);
	size_t n = atomic_load_relaxed(&heap.nreturning);
	while (heap.returning) {
		struct block *b = heap.returning;
		heap.returning = b->next;
		if (returned) {
			b->next = heap.returned;
			heap.returned = b;
		} else {
			free_push(b);
		}
	}
	atomic_store_relaxed(&heap.nreturning, 0);
	if (returned) {
		count_add(&heap.nreturned, n);
		atomic_add_relaxed(&heap.returned_bytes, (uint64_t)n * BLOCK_SIZE);
	}
	pthread_mutex_unlock(&heap.lock);
}

size_t heap_free_low_reset(void)
{
	pthread_mutex_lock(&heap.lock);
	size_t low = heap.free_low;
	heap.free_low = atomic_load_relaxed(&heap.nfree);
	pthread_mutex_unlock(&heap.lock);
	return low;
}

void heap_prune_gen1(void)
{
	struct block **pp = &heap.gen1;
	while (*pp) {
		if ((*pp)->state == BLOCK_FREE)
			*pp = (*pp)->gnext;
		else
			pp = &(*pp)->gnext;
	}
}

/* Relaxed loads: the lazy sweep may be rewriting a PACKED block's words
 * (a live object keeps its bit). */
long block_start_at_or_below(const struct block *b, uint32_t s)
{
	long w = s / 64;
	uint64_t bits = __atomic_load_n(&b->starts[w], __ATOMIC_RELAXED) &
			(~UINT64_C(0) >> (63 - s % 64));
	while (!bits) {
		if (--w < 0)
			return -1;
		bits = __atomic_load_n(&b->starts[w], __ATOMIC_RELAXED);
	}
	return w * 64 + 63 - __builtin_clzll(bits);
}

void *heap_find_small(uintptr_t p)
{
	if (!heap_contains(p))
		return NULL;
	struct block *b = block_of(p);
	if (b->state == BLOCK_SMALL) {
		/* Relaxed: a running thread may ask about an object it holds
		 * (the tests' checks do) while the lazy sweep rewrites the
		 * word (sweep.c); a live object keeps its bit. */
		uint32_t slot = block_slot(b, p);
		if (slot >= b->nslots ||
		    !(__atomic_load_n(&b->starts[slot / 64], __ATOMIC_RELAXED) >> (slot % 64) & 1))
			return NULL;
		void *obj = object_from_slot(block_base(b) + (size_t)slot * b->obj_size);
		return p >= (uintptr_t)obj ? obj : NULL;
	}
	if (b->state != BLOCK_PACKED && (b->state != BLOCK_NURSERY || !b->parsed))
		return NULL;
	/* Objects span several granules: the nearest start at or below p,
	 * if p lies inside that object. */
	long s = block_start_at_or_below(b, (uint32_t)((p & (BLOCK_SIZE - 1)) / GRANULE));
	if (s < 0)
		return NULL;
	char *slot = block_base(b) + (size_t)s * GRANULE;
	void *obj = object_from_slot(slot);
	/* A filler is a hole, not an object [INV-PACKED]; its header is
	 * read relaxed (packed.h). */
	uint64_t h = __atomic_load_n(object_header(obj), __ATOMIC_RELAXED);
	if (packed_is_filler(h))
		return NULL;
	return p >= (uintptr_t)obj && p < (uintptr_t)slot + nursery_size_of(h) ? obj : NULL;
}

bool heap_is_small_object(uintptr_t p)
{
	return heap_find_small(p) == (void *)p;
}
