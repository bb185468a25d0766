/*
 * meta.h: memory for gyre's own metadata and for large objects, kept apart
 * from the embedding program's malloc heap in a dedicated jemalloc arena
 * (DESIGN.md, "Dependencies": jemalloc). Sanitizer builds route it to the
 * system allocator instead (meson option large_alloc=system), because ASan
 * and TSan must see every allocation.
 */
#ifndef GYRE_META_H
#define GYRE_META_H

#include <stddef.h>

/* Creates the arena. Returns GYRE_OK or GYRE_ENOMEM. */
int meta_init(void);
/* Destroys the arena; everything allocated from it must be freed first. */
void meta_shutdown(void);

/* NULL on exhaustion; `size` must not be 0. */
void *meta_alloc(size_t size);
/* Zeroed. */
void *meta_calloc(size_t size);
void *meta_realloc(void *p, size_t size);
void meta_free(void *p);

#endif
