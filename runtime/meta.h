/*
 * meta.h: memory for gyre's own metadata and for large objects, kept apart
 * from the embedding program's malloc heap in a dedicated jemalloc arena
 * (DESIGN.md, "Dependencies": jemalloc). Sanitizer builds route it to the
 * system allocator instead (meson option large_alloc=system), because ASan
 * and TSan must see every allocation.
 */
#ifndef GYRE_META_H
#define GYRE_META_H

#include <stdbool.h>
#include <stddef.h>

/* How long the arena keeps the pages of freed memory before it gives them
 * back to the kernel (jemalloc's dirty_decay_ms; muzzy_decay_ms is 0, so
 * they leave the resident set then, not only under memory pressure). The
 * heap's free blocks wait as long (gc/heap/decommit.h). jemalloc's default,
 * 10 s, would keep a burst of large objects resident for that long. */
#define META_DECAY_MS 1000

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
/* Gives the kernel back the pages freed META_DECAY_MS ago or more, or
 * with `all` every freed page (near a memory limit). jemalloc
 * does it itself only when the arena is used (as memory is allocated or
 * freed there), so an idle program would keep them: gyre's memory thread
 * calls this once a period. With the system allocator (sanitizer builds)
 * it does nothing: their allocators own malloc and return memory by their
 * own rules, and malloc_trim would trim the program's heap too, under its
 * arena locks. */
void meta_decay(bool all);
/* The memory the arena holds from the system, in bytes: its pages in use
 * (large objects with their cards, gyre's other metadata) and those freed
 * but not yet given back (jemalloc's dirty and muzzy pages). SIZE_MAX
 * where it is not known: the system allocator, or a jemalloc built
 * without statistics. Any thread; costs a refresh of jemalloc's
 * statistics (mallctl "epoch"). */
size_t meta_footprint(void);

#endif
