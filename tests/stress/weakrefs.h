/*
 * weakrefs.h: the stress test's weak references, ephemerons and
 * finalizable objects (weakrefs.c has what is checked). One struct per
 * thread; the tables live in the heap, behind handles.
 */
#ifndef STRESS_WEAKREFS_H
#define STRESS_WEAKREFS_H

#include <gyre.h>
#include <stdbool.h>
#include <stdint.h>

#include "graph.h"

struct weakrefs {
	gyre_handle table;       /* ENTRIES weak references and ephemerons */
	gyre_handle kept;        /* the targets (keys) kept alive, or NULL */
	bool ephemeron[256];     /* which kind each entry is */
	uint64_t next_id;        /* cell ids, unique to the thread */
	uint64_t fin_id;         /* finalizable cells' ids (the bitmap's) */
};

/* Registers the cell type. Once, after gyre_init. */
void weakrefs_register(void);
/* The thread's tables (attached). */
void weakrefs_init(struct weakrefs *w, int thread);
void weakrefs_fini(struct weakrefs *w);
/* One random operation. */
void weakrefs_step(struct weakrefs *w, struct rng *r);
/* Checks every entry (after a collection). */
void weakrefs_verify(struct weakrefs *w, const char *when);
/* Finalizers and weak-reference callbacks run so far, all threads. */
uint64_t weakrefs_finalized(void);
uint64_t weakrefs_callbacks(void);

#endif
