/*
 * sweep.h: the sweep phase, parallel over the worker pool (DESIGN.md, "The
 * old generation": parallel sweep). It reads only the mark bitmaps: a
 * block's start bits become its mark bits, and the block goes to its class
 * list, to the free list, or (full) to neither.
 */
#ifndef GYRE_SWEEP_H
#define GYRE_SWEEP_H

#include <stdbool.h>
#include <stddef.h>

struct sweep_result {
	size_t freed_bytes;
	size_t freed_objects;
	size_t live_bytes;
	size_t live_objects;
};

int sweep_init(unsigned workers);
void sweep_shutdown(void);

/* With the world stopped, after mark_heap: frees every unmarked object and
 * clears every mark [INV-MARKS-CLEAR]. `old_only` (after mark_old_finish)
 * sweeps generation 2 and large objects only: young blocks carry no marks
 * then, and their objects are the minor collections' to free. */
struct sweep_result sweep_heap(bool old_only);

#endif
