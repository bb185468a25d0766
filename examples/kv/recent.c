/*
 * recent.c: the index of recently stored documents (see recent.h): a ring
 * of RECENT_SLOTS weak references in a heap pointer array, the ring's
 * only root. Any loop thread writes the next slot (an atomic cursor) with
 * the barrier, whose store is a release; /stats reads the slots with
 * acquire loads on whichever loop serves it.
 */
#include "recent.h"

#include <stdatomic.h>

#if defined(MM_GYRE)

static void **ring;
static _Atomic uint64_t cursor;
/* Documents reclaimed while the ring still referred to them. Relaxed: a
 * counter, incremented by gyre's finalizer thread. */
static _Atomic uint64_t reclaimed;

static void on_reclaimed(void *weak, void *ctx)
{
	(void)weak;
	(void)ctx;
	atomic_fetch_add_explicit(&reclaimed, 1, memory_order_relaxed);
}

void recent_init(void)
{
	ring = mm_alloc_ptrs(RECENT_SLOTS);
	mm_root_add(&ring, sizeof(ring));
}

void recent_note(struct jv *doc)
{
	void *w = gyre_weak_new(doc, on_reclaimed, NULL);

	if (w == NULL)
		mm_die("gyre_weak_new", gyre_strerror(gyre_last_error()));
	uint64_t i = atomic_fetch_add_explicit(&cursor, 1, memory_order_relaxed);
	GYRE_STORE_AT(ring, i % RECENT_SLOTS, w);
}

void recent_write(struct buf *out)
{
	uint64_t tracked = 0, alive = 0;

	for (size_t i = 0; i < RECENT_SLOTS; i++) {
		void *w = __atomic_load_n(&ring[i], __ATOMIC_ACQUIRE);
		if (w == NULL)
			continue;
		tracked++;
		alive += gyre_weak_get(w) != NULL;
	}
	buf_printf(out, "{\"tracked\":%llu,\"in_memory\":%llu,\"reclaimed\":%llu}",
	           (unsigned long long)tracked, (unsigned long long)alive,
	           (unsigned long long)atomic_load_explicit(&reclaimed,
	                                                    memory_order_relaxed));
}

#else

void recent_init(void) {}
void recent_note(struct jv *doc) { (void)doc; }
void recent_write(struct buf *out) { buf_puts(out, "null"); }

#endif
