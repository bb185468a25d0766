/*
 * packed.c: packed blocks' fillers and the lists of their holes (see
 * packed.h).
 */
#include "gc/heap/packed.h"
#include "gc/heap/type.h"
#include "gc/old/sweep.h"
#include "runtime/lockorder.h"

/* Lists by size: bucket i holds holes of [HOLE_MIN << i, HOLE_MIN << (i + 1))
 * bytes, linked through their first payload word. */
#define BUCKETS 10

static struct {
	pthread_mutex_t lock;
	char *bucket[BUCKETS];   /* a hole's filler slot (its header) */
	/* Sync: written under lock, read relaxed by packed_holes_bytes. */
	_Atomic size_t bytes;
} holes = {.lock = PTHREAD_MUTEX_INITIALIZER};
LOCK_RANKED(LOCK_HOLES, &holes.lock, 1, sizeof(pthread_mutex_t))

bool packed_is_filler(uint64_t h)
{
	return header_type(h) == TYPE_FILLER;
}

static unsigned bucket_of(size_t bytes)
{
	unsigned i = 0;
	while (i + 1 < BUCKETS && (HOLE_MIN << (i + 1)) <= bytes)
		i++;
	return i;
}

static size_t filler_size(const char *slot)
{
	return nursery_size_of(__atomic_load_n((const uint64_t *)slot, __ATOMIC_RELAXED));
}

/* Relaxed: a card scanner may read the header of the filler before its
 * card while the copier that holds the hole shrinks it (packed.h). */
static void set_filler(char *slot, size_t bytes)
{
	__atomic_store_n((uint64_t *)slot, header_make(TYPE_FILLER, (uint32_t)(bytes - HEADER_SIZE)),
			 __ATOMIC_RELAXED);
}

static void list_hole(char *slot, size_t bytes)
{
	unsigned i = bucket_of(bytes);
	pthread_mutex_lock(&holes.lock);
	*(char **)(slot + HEADER_SIZE) = holes.bucket[i];
	holes.bucket[i] = slot;
	atomic_store_relaxed(&holes.bytes, atomic_load_relaxed(&holes.bytes) + bytes);
	pthread_mutex_unlock(&holes.lock);
}

/* Makes [off, off + bytes) of b one filler with its start bit, listed if
 * large enough. */
static void make_filler(struct block *b, size_t off, size_t bytes)
{
	char *slot = block_base(b) + off;
	set_filler(slot, bytes);
	uint32_t s = (uint32_t)(off / GRANULE);
	/* Relaxed, as the sweep's stores of start words: api_final.c's
	 * check may read the word meanwhile, and nothing is published by
	 * the bit (a filler is no object to it). */
	__atomic_fetch_or(&b->starts[s / 64], UINT64_C(1) << (s % 64), __ATOMIC_RELAXED);
	if (bytes >= HOLE_MIN)
		list_hole(slot, bytes);
}

uint32_t packed_promote(struct block *b)
{
	char *base = block_base(b);
	size_t end = 0, live_bytes = 0;
	uint32_t pinned = 0;
	/* Each word of start bits read before the fillers before its
	 * objects add bits to it. */
	for (unsigned w = 0; w < BITMAP_WORDS; w++)
		for (uint64_t m = b->starts[w]; m; m &= m - 1) {
			size_t off = (size_t)bitmap_slot(w, m) * GRANULE;
			uint64_t *h = (uint64_t *)(base + off);
			pinned += !(*h & HDR_STAYS);
			*h &= ~HDR_STAYS;
			if (off > end)
				make_filler(b, end, off - end);
			end = off + nursery_size_of(*h);
			live_bytes += nursery_size_of(*h);
		}
	if (end < BLOCK_SIZE)
		make_filler(b, end, BLOCK_SIZE - end);
	b->live_bytes = (uint32_t)live_bytes;
	return pinned;
}

uint32_t packed_sweep(struct block *b, struct sweep_result *r)
{
	char *base = block_base(b);
	uint32_t live = 0;
	for (unsigned w = 0; w < BITMAP_WORDS; w++)
		live += (uint32_t)__builtin_popcountll(atomic_load_relaxed(&b->marks[w]));
	/* An empty block is freed whole: no filler is written or listed. */
	bool keep = live != 0;
	size_t freed = 0, freed_bytes = 0, filler_bytes = 0;
	long run = -1; /* the first slot of the run of dead starts, if any */
	for (unsigned w = 0; w < BITMAP_WORDS; w++) {
		uint64_t starts = b->starts[w];
		uint64_t marks = atomic_load_relaxed(&b->marks[w]);
		GYRE_ASSERT((marks & ~starts) == 0);
		uint64_t kept = starts;
		for (uint64_t m = starts; m; m &= m - 1) {
			uint32_t s = bitmap_slot(w, m);
			if (marks >> (s % 64) & 1) {
				if (run >= 0 && keep) {
					size_t bytes = ((size_t)s - (size_t)run) * GRANULE;
					make_filler(b, (size_t)run * GRANULE, bytes);
					filler_bytes += bytes;
				}
				run = -1;
				continue;
			}
			uint64_t h = __atomic_load_n((uint64_t *)(base + (size_t)s * GRANULE),
						     __ATOMIC_RELAXED);
			if (!packed_is_filler(h)) {
				freed++;
				freed_bytes += nursery_size_of(h);
			}
			if (run < 0)
				run = s;
			else
				kept &= ~(UINT64_C(1) << (s % 64));
		}
		/* Relaxed: gyre_finalizer_register's check (api_final.c)
		 * reads the words while the lazy sweep runs. */
		__atomic_store_n(&b->starts[w], keep ? kept : 0, __ATOMIC_RELAXED);
		atomic_store_relaxed(&b->marks[w], 0);
	}
	if (run >= 0 && keep) {
		size_t bytes = BLOCK_SIZE - (size_t)run * GRANULE;
		make_filler(b, (size_t)run * GRANULE, bytes);
		filler_bytes += bytes;
	}
	size_t live_bytes = keep ? BLOCK_SIZE - filler_bytes : 0;
	GYRE_ASSERT(b->live_bytes == live_bytes + freed_bytes);
	b->live = live;
	b->live_bytes = (uint32_t)live_bytes;
	r->freed_objects += freed;
	r->freed_bytes += freed_bytes;
	r->live_objects += live;
	r->live_bytes += live_bytes;
	if (keep) {
		r->old_blocks++;
		r->old_free_bytes += filler_bytes;
	}
	return live;
}

void packed_holes_reset(void)
{
	pthread_mutex_lock(&holes.lock);
	for (unsigned i = 0; i < BUCKETS; i++)
		holes.bucket[i] = NULL;
	atomic_store_relaxed(&holes.bytes, 0);
	pthread_mutex_unlock(&holes.lock);
}

size_t packed_holes_bytes(void)
{
	return atomic_load_relaxed(&holes.bytes);
}

/* A listed hole of at least `need` bytes, unlisted, or NULL: the head of
 * the bucket `need` falls in if it is large enough, else the head of a
 * larger bucket. Caller holds holes.lock. */
static char *pop_hole(size_t need)
{
	for (unsigned i = bucket_of(need); i < BUCKETS; i++) {
		char *slot = holes.bucket[i];
		if (!slot || filler_size(slot) < need)
			continue;
		holes.bucket[i] = *(char **)(slot + HEADER_SIZE);
		atomic_store_relaxed(&holes.bytes,
				     atomic_load_relaxed(&holes.bytes) - filler_size(slot));
		return slot;
	}
	return NULL;
}

char *packed_alloc(struct hole_run *r, size_t bytes, struct block **blocks)
{
	size_t need = bytes + GRANULE;
	if (!r->block || (size_t)(r->hi - r->lo) < need) {
		packed_release(r);
		if (!atomic_load_relaxed(&holes.bytes) || (r->miss && need >= r->miss))
			return NULL;
		pthread_mutex_lock(&holes.lock);
		char *slot = pop_hole(need);
		struct block *b = slot ? block_of((uintptr_t)slot) : NULL;
		/* Under the lock: two copiers may take holes of one block. */
		if (b && !b->copy_next) {
			b->copy_next = *blocks ? *blocks : b;
			*blocks = b;
		}
		pthread_mutex_unlock(&holes.lock);
		if (!slot) {
			r->miss = need; /* under any earlier miss, by the test above */
			return NULL;
		}
		*r = (struct hole_run){b, slot, slot + filler_size(slot), 0, r->miss};
	}
	r->hi -= bytes;
	r->bytes += (uint32_t)bytes;
	set_filler(r->lo, (size_t)(r->hi - r->lo));
	return r->hi;
}

void packed_unalloc(struct hole_run *r, char *slot, size_t bytes)
{
	GYRE_ASSERT(slot == r->hi);
	r->hi += bytes;
	r->bytes -= (uint32_t)bytes;
	set_filler(r->lo, (size_t)(r->hi - r->lo));
}

void packed_release(struct hole_run *r)
{
	if (!r->block)
		return;
	/* Relaxed: copiers of other holes of the block add too; the sum is
	 * read after the copy phase's workers joined. */
	__atomic_fetch_add(&r->block->live_bytes, r->bytes, __ATOMIC_RELAXED);
	if ((size_t)(r->hi - r->lo) >= HOLE_MIN)
		list_hole(r->lo, (size_t)(r->hi - r->lo));
	r->block = NULL;
}

void packed_end(struct hole_run *r)
{
	packed_release(r);
	r->miss = 0;
}

void packed_holes_verify(void (*fail)(const char *what, size_t index))
{
	pthread_mutex_lock(&holes.lock);
	size_t bytes = 0;
	for (unsigned i = 0; i < BUCKETS; i++)
		for (char *slot = holes.bucket[i]; slot; slot = *(char **)(slot + HEADER_SIZE)) {
			struct block *b = block_of((uintptr_t)slot);
			uint32_t s = (uint32_t)((slot - block_base(b)) / GRANULE);
			uint64_t h = *(uint64_t *)slot;
			if (b->state != BLOCK_PACKED || b->gen != 2 || block_unswept(b) ||
			    !bit_test(b->starts, s) || !packed_is_filler(h) ||
			    bucket_of(nursery_size_of(h)) != i ||
			    nursery_size_of(h) < HOLE_MIN) {
				pthread_mutex_unlock(&holes.lock);
				fail("a listed hole is not a filler of a swept packed block, "
				     "in its bucket: block", block_index(b));
				return;
			}
			bytes += nursery_size_of(h);
		}
	size_t count = atomic_load_relaxed(&holes.bytes);
	pthread_mutex_unlock(&holes.lock);
	if (bytes != count)
		fail("the listed holes' bytes disagree with their count, which says",
		     count);
}
