/*
 * run.c: allocation runs (see run.h).
 */
#include "gc/heap/run.h"

/* Relaxed loads and stores, not read-modify-writes: only the run's owner
 * touches the marks of an owned block. */
void run_record(struct run *r)
{
	struct block *b = r->block;
	if (!b || r->cursor == r->start)
		return;
	char *base = block_base(b);
	uint32_t from = (uint32_t)((r->start - base) / b->obj_size);
	uint32_t to = (uint32_t)((r->cursor - base) / b->obj_size);
	while (from < to) {
		uint32_t w = from / 64, lo = from % 64;
		uint32_t n = to - from < 64 - lo ? to - from : 64 - lo;
		uint64_t mask = n == 64 ? ~UINT64_C(0) : ((UINT64_C(1) << n) - 1) << lo;
		atomic_store_relaxed(&b->marks[w], atomic_load_relaxed(&b->marks[w]) | mask);
		from += n;
	}
	r->start = r->cursor;
}

/* The first slot at or after `from` (and below n) whose start bit is
 * `set`, or n: a word at a time, as a fragmented block has long stretches
 * of either. */
static uint32_t next_bit(const uint64_t *bits, uint32_t from, uint32_t n, bool set)
{
	for (uint32_t i = from; i < n; i = (i | 63) + 1) {
		uint64_t w = (set ? bits[i / 64] : ~bits[i / 64]) >> (i % 64);
		if (w) {
			uint32_t k = i + (uint32_t)__builtin_ctzll(w);
			return k < n ? k : n;
		}
	}
	return n;
}

/* True if the owned block has a free slot the run has not used. */
static bool has_free_slot(const struct run *r)
{
	const struct block *b = r->block;
	if (r->limit - r->cursor >= (ptrdiff_t)b->obj_size)
		return true;
	return next_bit(b->starts, r->scan, b->nslots, false) < b->nslots;
}

void run_release(struct run *r)
{
	run_record(r);
	if (r->block && has_free_slot(r))
		heap_return_block(r->block);
	else if (r->block)
		r->block->owned = false; /* full: on no list (see run_next) */
	*r = (struct run){0};
}

/* Finds the next run of free slots in the owned block; false when the
 * block has none left (it is then dropped, unowned). */
static bool run_next(struct run *r)
{
	run_record(r);
	struct block *b = r->block;
	uint32_t i = next_bit(b->starts, r->scan, b->nslots, false);
	if (i >= b->nslots) {
		b->owned = false;
		*r = (struct run){0};
		return false;
	}
	uint32_t j = next_bit(b->starts, i + 1, b->nslots, true);
	char *base = block_base(b);
	r->start = r->cursor = base + (size_t)i * b->obj_size;
	r->limit = base + (size_t)j * b->obj_size;
	r->scan = j;
	return true;
}

bool run_refill(struct run *r, unsigned gen, unsigned c)
{
	while ((size_t)(r->limit - r->cursor) < sizeclass_size[c]) {
		if (!r->block || !run_next(r)) {
			struct block *b = heap_take_block(gen, c);
			if (!b)
				return false;
			*r = (struct run){.block = b};
		}
	}
	return true;
}
