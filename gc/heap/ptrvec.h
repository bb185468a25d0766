/*
 * ptrvec.h: a growable vector of pointers, for the lists a collection
 * builds as it goes (weak references found, finalizable objects found
 * unreachable). Its memory comes from meta (jemalloc), never the heap.
 */
#ifndef GYRE_PTRVEC_H
#define GYRE_PTRVEC_H

#include <stdbool.h>
#include <stddef.h>

#include "runtime/meta.h"

struct ptrvec {
	void **v;
	size_t n, cap;
};

/* Room for `more` pointers beyond n; false without memory. */
static inline bool ptrvec_reserve(struct ptrvec *pv, size_t more)
{
	if (pv->cap - pv->n >= more)
		return true;
	size_t cap = pv->cap ? 2 * pv->cap : 64;
	while (cap - pv->n < more)
		cap *= 2;
	void **v = meta_realloc(pv->v, cap * sizeof(*v));
	if (!v)
		return false;
	pv->v = v;
	pv->cap = cap;
	return true;
}

/* False when the vector cannot grow (no memory): the caller falls back. */
static inline bool ptrvec_push(struct ptrvec *pv, void *p)
{
	if (pv->n == pv->cap && !ptrvec_reserve(pv, 1))
		return false;
	pv->v[pv->n++] = p;
	return true;
}

static inline void ptrvec_free(struct ptrvec *pv)
{
	meta_free(pv->v);
	*pv = (struct ptrvec){0};
}

#endif
