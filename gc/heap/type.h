/*
 * type.h: registered types (DESIGN.md, "Objects and types"). A type says
 * how big one object (or array element) is and where its pointers are:
 * a list of word offsets, a trace callback, or none. The table is append
 * only, so readers need no lock.
 */
#ifndef GYRE_TYPE_H
#define GYRE_TYPE_H

#include <stdatomic.h>
#include <stdbool.h>

#include "gc/heap/object.h"
#include "gc/heap/sizeclass.h"
#include "runtime/atomics.h"
#include "runtime/internal.h"

#define TYPE_MAX GYRE__TYPE_MAX
#define TYPE_SIZE_MAX ((size_t)1 << 30)

enum type_kind { TYPE_NOPTR, TYPE_OFFSETS, TYPE_TRACE };
enum type_special { SPECIAL_NONE, SPECIAL_WEAK, SPECIAL_EPHEMERON };

struct type {
	uint32_t size;          /* bytes of one object or element */
	uint32_t kind;          /* enum type_kind */
	uint32_t n_ptrs;        /* TYPE_OFFSETS: entries in word_offsets */
	uint32_t *word_offsets; /* TYPE_OFFSETS: offsets / sizeof(void *) */
	gyre_trace_fn trace;    /* TYPE_TRACE */
	/* gyre's own references (gc/final/weak.h), words that tracing follows
	 * only by their own rules and that are not among word_offsets: a
	 * weak reference's word 0, an ephemeron's words 0 and 1. */
	uint8_t special;        /* enum type_special */
	char *name;             /* for messages, never NULL */
};

/* gyre's own types, registered at init after the public built-ins. The
 * embedder cannot allocate them with gyre_alloc. */
#define TYPE_WEAK ((gyre_type)3)
#define TYPE_EPHEMERON ((gyre_type)4)
/* A hole of a packed block (heap.h [INV-PACKED]): bytes, no pointers. */
#define TYPE_FILLER ((gyre_type)5)
#define TYPE_FIRST_USER ((gyre_type)6)

/* Sync: an entry is written once, fully initialised, and then published by
 * a release store of its pointer; readers load it with acquire (type_get)
 * and pair with that store. */
extern struct type *_Atomic type_table[TYPE_MAX];

int type_init(void);
void type_shutdown(void);
/* Validates and registers; returns the id or 0 with the status in *status. */
gyre_type type_register(const gyre_type_desc *d, int *status);

/* The type with this id, or NULL if none is registered. */
static inline const struct type *type_get(gyre_type id)
{
	if (id == 0 || id >= TYPE_MAX)
		return NULL;
	return atomic_load_acquire(&type_table[id]);
}

/* How many of gyre's own words (`special`) start the object. */
static inline unsigned type_special_words(const struct type *t)
{
	return t->special == SPECIAL_WEAK ? 1 : t->special == SPECIAL_EPHEMERON ? 2 : 0;
}

/* Calls visit(slot, ctx) on every strong pointer field of obj (a weak
 * reference's target and an ephemeron's words are not), whatever its layout: for the paths
 * that are not hot (checks, finalizer ordering); the collectors' loops
 * are their own. */
void type_visit_fields(void *obj, gyre_visit_fn visit, void *ctx);

/* Bytes of the object a (valid, unforwarded) header describes, header
 * included. Sync: the type was registered before the object existed. */
static inline size_t object_size(uint64_t h)
{
	return HEADER_SIZE + (size_t)header_length(h) *
		atomic_load_relaxed(&type_table[header_type(h)])->size;
}

/* Its footprint in the nursery, where objects are GRANULE-aligned. */
static inline size_t nursery_size_of(uint64_t h)
{
	return (object_size(h) + GRANULE - 1) & ~(size_t)(GRANULE - 1);
}

#endif
