/*
 * roots.h: the roots that are not stacks (DESIGN.md, "Roots"): registered
 * areas (globals, scanned conservatively) and precise handles.
 */
#ifndef GYRE_ROOTS_H
#define GYRE_ROOTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/internal.h"

struct gyre_handle_slot {
	void *obj;                      /* the root */
	struct gyre_handle_slot *next;  /* free list link while free */
	bool live;                      /* allocated, not yet freed */
};

void roots_shutdown(void);

int roots_add(void *start, size_t size);   /* GYRE_EINVAL: overlap */
int roots_remove(void *start);             /* GYRE_ENOTFOUND */

/* NULL on exhaustion. */
struct gyre_handle_slot *handle_new(void *obj);
/* GYRE_EINVAL if the handle was already freed. */
int handle_free(struct gyre_handle_slot *h);

/* Calls fn on every registered area, under the areas lock (an unattached
 * thread may be registering one during a pause). */
void roots_for_each_area(void (*fn)(uintptr_t lo, uintptr_t hi, void *ctx),
			 void *ctx);
/* Calls fn on every live handle's slot; world stopped. */
void roots_for_each_handle(void (*fn)(void **slot, void *ctx), void *ctx);

#endif
