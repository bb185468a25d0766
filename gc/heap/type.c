/*
 * type.c: type registration (see type.h). Descriptions are checked in full
 * before anything is stored, so a bad one leaves no trace.
 */
#include <pthread.h>
#include <string.h>

#include "gc/heap/type.h"
#include "gc/final/weak.h"
#include "runtime/meta.h"

struct type *_Atomic type_table[TYPE_MAX];

/* The element size of every registered type, for gyre_alloc's inline
 * path (gyre.h); 0 for an id that is not registered. Sync: written before
 * the id is returned, and the embedder hands the id to other threads by
 * some synchronising means; cleared at shutdown. */
GYRE_API uint32_t gyre__type_size[TYPE_MAX];

/* For gyre_alloc's inline path: the complement of a registered type's
 * footprint in the nursery (header included, granule-rounded), or 0 for
 * an id that is not registered or whose objects are too large for the
 * nursery. The complement makes the zeroed table read as a footprint of
 * 4 GiB, which no buffer has room for: an unregistered id falls to the
 * slow path without a test of its own. Sync: as gyre__type_size. */
GYRE_API uint32_t gyre__type_step_inv[TYPE_MAX];

/* Guards type_count and the writes of new entries. */
static pthread_mutex_t type_lock = PTHREAD_MUTEX_INITIALIZER;
LOCK_RANKED(LOCK_TYPES, &type_lock, 1, sizeof(pthread_mutex_t))
static gyre_type type_count; /* ids below it are taken; Sync: type_lock */

static int check_desc(const gyre_type_desc *d)
{
	const char *fn = "gyre_type_register";
	if (!d)
		return gyre_misuse(GYRE_EINVAL, fn, "desc is NULL");
	if (d->size == 0 || d->size > TYPE_SIZE_MAX)
		return gyre_misuse(GYRE_EINVAL, fn, "size %zu is not in 1..2^30", d->size);
	if (d->trace && (d->ptr_offsets || d->n_ptrs))
		return gyre_misuse(GYRE_EINVAL, fn, "both a tracer and pointer offsets");
	if (d->n_ptrs && !d->ptr_offsets)
		return gyre_misuse(GYRE_EINVAL, fn, "n_ptrs %zu with ptr_offsets NULL", d->n_ptrs);
	for (size_t i = 0; i < d->n_ptrs; i++) {
		size_t off = d->ptr_offsets[i];
		if (off % sizeof(void *) || off > d->size - sizeof(void *))
			return gyre_misuse(GYRE_EINVAL, fn,
					   "pointer offset %zu is misaligned or outside size %zu",
					   off, d->size);
	}
	return GYRE_OK;
}

static struct type *type_new(const gyre_type_desc *d)
{
	struct type *t = meta_calloc(sizeof(*t));
	const char *name = d->name ? d->name : "(unnamed)";
	if (!t)
		return NULL;
	t->size = (uint32_t)d->size;
	t->trace = d->trace;
	t->kind = d->trace ? TYPE_TRACE : d->n_ptrs ? TYPE_OFFSETS : TYPE_NOPTR;
	t->n_ptrs = (uint32_t)d->n_ptrs;
	t->name = meta_alloc(strlen(name) + 1);
	if (t->n_ptrs)
		t->word_offsets = meta_alloc(sizeof(uint32_t) * t->n_ptrs);
	if (!t->name || (t->n_ptrs && !t->word_offsets)) {
		meta_free(t->name);
		meta_free(t);
		return NULL;
	}
	strcpy(t->name, name);
	for (uint32_t i = 0; i < t->n_ptrs; i++)
		t->word_offsets[i] = (uint32_t)(d->ptr_offsets[i] / sizeof(void *));
	return t;
}

gyre_type type_register(const gyre_type_desc *d, int *status)
{
	*status = check_desc(d);
	if (*status)
		return 0;
	pthread_mutex_lock(&type_lock);
	struct type *t = type_count < TYPE_MAX ? type_new(d) : NULL;
	gyre_type id = 0;
	if (t) {
		id = type_count++;
		gyre__type_size[id] = t->size;
		size_t step = (HEADER_SIZE + t->size + GRANULE - 1) & ~(size_t)(GRANULE - 1);
		gyre__type_step_inv[id] = step <= SIZECLASS_MAX_SIZE ? ~(uint32_t)step : 0;
		/* Release: pairs with the acquire in type_get. */
		atomic_store_release(&type_table[id], t);
	}
	pthread_mutex_unlock(&type_lock);
	if (!id)
		*status = GYRE_ENOMEM;
	return id;
}

void type_visit_fields(void *obj, gyre_visit_fn visit, void *ctx)
{
	uint64_t h = *object_header(obj);
	const struct type *t = type_get(header_type(h));
	char *elem = obj;
	for (uint32_t e = 0; e < header_length(h); e++, elem += t->size) {
		if (t->kind == TYPE_OFFSETS)
			for (uint32_t i = 0; i < t->n_ptrs; i++)
				visit((void **)elem + t->word_offsets[i], ctx);
		else if (t->kind == TYPE_TRACE)
			t->trace(elem, visit, ctx);
	}
}

/* `offsets` lists the strong pointer fields (n of them). */
static gyre_type register_builtin(const char *name, size_t size,
				  const size_t *offsets, size_t n)
{
	gyre_type_desc d = {.name = name, .size = size, .ptr_offsets = offsets,
			    .n_ptrs = n};
	int status;
	return type_register(&d, &status);
}

int type_init(void)
{
	static const size_t zero = 0, weak_strong = offsetof(struct weak_obj, next);
	type_count = 1; /* id 0 is never a type */
	gyre_type ptr = register_builtin("gyre.ptr", sizeof(void *), &zero, 1);
	gyre_type byte = register_builtin("gyre.byte", 1, NULL, 0);
	gyre_type weak = register_builtin("gyre.weak", sizeof(struct weak_obj),
					  &weak_strong, 1);
	gyre_type eph = register_builtin("gyre.ephemeron", sizeof(struct eph_obj),
					 NULL, 0);
	gyre_type filler = register_builtin("gyre.filler", 1, NULL, 0);
	if (ptr != GYRE_TYPE_PTR || byte != GYRE_TYPE_BYTE || weak != TYPE_WEAK ||
	    eph != TYPE_EPHEMERON || filler != TYPE_FILLER)
		return GYRE_ENOMEM;
	/* Written before any thread can see the ids: init is single-threaded.
	 * An ephemeron has no strong field, but has pointers: it is scanned
	 * and has cards like any object with pointer fields. */
	atomic_load_relaxed(&type_table[TYPE_WEAK])->special = SPECIAL_WEAK;
	struct type *et = atomic_load_relaxed(&type_table[TYPE_EPHEMERON]);
	et->special = SPECIAL_EPHEMERON;
	et->kind = TYPE_OFFSETS;
	return GYRE_OK;
}

void type_shutdown(void)
{
	for (gyre_type id = 1; id < type_count; id++) {
		struct type *t = atomic_load_relaxed(&type_table[id]);
		meta_free(t->word_offsets);
		meta_free(t->name);
		meta_free(t);
		atomic_store_relaxed(&type_table[id], NULL);
		gyre__type_size[id] = 0;
		gyre__type_step_inv[id] = 0;
	}
	type_count = 0;
}
