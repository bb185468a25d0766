/*
 * run.c: allocation runs (see run.h).
 */
#include "gc/run.h"

void run_release(struct run *r)
{
	if (r->block)
		heap_return_block(r->block);
	*r = (struct run){0};
}

/* Finds the next run of free slots in the owned block; false when the
 * block has none left (it is then dropped, unowned). */
static bool run_next(struct run *r)
{
	struct block *b = r->block;
	uint32_t i = r->scan;
	while (i < b->nslots && bit_test(b->starts, i))
		i++;
	if (i >= b->nslots) {
		b->owned = false;
		*r = (struct run){0};
		return false;
	}
	uint32_t j = i + 1;
	while (j < b->nslots && !bit_test(b->starts, j))
		j++;
	char *base = block_base(b);
	r->cursor = base + (size_t)i * b->obj_size;
	r->limit = base + (size_t)j * b->obj_size;
	r->scan = j;
	return true;
}

char *run_alloc(struct run *r, unsigned gen, unsigned c)
{
	uint32_t size = sizeclass_size[c];
	while ((size_t)(r->limit - r->cursor) < size) {
		if (!r->block || !run_next(r)) {
			struct block *b = heap_take_block(gen, c);
			if (!b)
				return NULL;
			*r = (struct run){.block = b};
		}
	}
	char *slot = r->cursor;
	r->cursor += size;
	return slot;
}
