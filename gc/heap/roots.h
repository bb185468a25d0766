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
/* Calls word(v, ctx) for every aligned word v in [lo, hi): a stack, saved
 * registers or a root area, read conservatively. */
void roots_scan_words(uintptr_t lo, uintptr_t hi,
		      void (*word)(uintptr_t v, void *ctx), void *ctx);

/* Calls fn on the saved registers and the stack of every attached thread
 * whose position in the registry is id modulo n; world stopped. */
void roots_for_each_stack(unsigned id, unsigned n,
			  void (*fn)(uintptr_t lo, uintptr_t hi, void *ctx),
			  void *ctx);

/* Calls fn on every live handle's slot; world stopped. */
void roots_for_each_handle(void (*fn)(void **slot, void *ctx), void *ctx);

#endif
