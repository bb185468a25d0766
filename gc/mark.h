/*
 * mark.h: the mark phase, parallel over the worker pool (DESIGN.md, "The
 * shape": worker pool). Roots are stacks and registers and registered areas
 * (conservative) and handles (precise); the heap is traced precisely
 * through registered types.
 *
 * [INV-MARKED-CLOSED] When mark_heap returns, every object reachable from a
 * root is marked.
 */
#ifndef GYRE_MARK_H
#define GYRE_MARK_H

#include <stdbool.h>
#include <stdint.h>

int mark_init(unsigned workers);
void mark_shutdown(void);

/* With the world stopped and runs retired: marks everything reachable. */
void mark_heap(void);

/* True if `p` is the payload start of a live small or large object (needs
 * large_prepare). For checks. */
bool mark_is_object(uintptr_t p);

/* Test hook: caps each worker's mark stack at `entries` (0 = no cap) so
 * that tests can drive the overflow path. */
void mark_set_stack_limit(size_t entries);
/* Heap rescans the overflow path has run since init. */
size_t mark_rescans(void);

#endif
