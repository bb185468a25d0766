/*
 * collect.h: one full collection, start to finish, and the policy that
 * decides when one starts (DESIGN.md, "Thresholds", for the full heap):
 * after the bytes handed to allocation since the last collection reach
 * growth_percent % of what survived it (and at least heap_min), at the
 * next allocation slow path; or when gyre_collect asks; or when the heap
 * is full.
 */
#ifndef GYRE_COLLECT_H
#define GYRE_COLLECT_H

#include <stddef.h>
#include <stdint.h>

#include "threads/mutator.h"

int collect_init(void);

/* Counts bytes handed out for allocation since the last collection. */
void collect_note_alloc(size_t bytes);

/* Runs a collection if the growth policy says one is due and automatic
 * collection is enabled. `m` is the calling, RUNNING mutator. */
void collect_if_due(struct mutator *m);
/* The heap is full: collects if automatic collection is enabled. True if
 * a collection ran (so a retry may succeed). */
bool collect_for_space(struct mutator *m);
/* gyre_collect: always collects; returns the objects freed. */
uint64_t collect_explicit(struct mutator *m);

/* Automatic collection on/off (gyre_disable/gyre_enable nest per thread;
 * this counts the depth summed over threads). */
void collect_disable(void);
void collect_enable(void);
bool collect_enabled(void);

#endif
