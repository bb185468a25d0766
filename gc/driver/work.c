/*
 * work.c: work stacks, packets and termination (see work.h).
 */
#include <string.h>

#include <urcu/compiler.h>

#include "gc/driver/work.h"
#include "runtime/meta.h"
#include "threads/workers.h"

#define STACK_INITIAL 4096
/* Idle rounds in work_drain before it naps: about 50 us. */
#define NAP_AFTER 1024

struct packet {
	struct cds_lfs_node node;
	unsigned n;
	void *items[WORK_PACKET_CAP];
};

int work_pool_init(struct work_pool *wp, unsigned workers)
{
	wp->stacks = meta_calloc(sizeof(struct work_stack) * workers);
	if (!wp->stacks)
		return GYRE_ENOMEM;
	wp->nstacks = workers;
	for (unsigned i = 0; i < workers; i++)
		wp->stacks[i].id = i;
	cds_lfs_init(&wp->pool);
	return GYRE_OK;
}

void work_pool_shutdown(struct work_pool *wp)
{
	cds_lfs_destroy(&wp->pool);
	for (unsigned i = 0; i < wp->nstacks; i++)
		meta_free(wp->stacks[i].items);
	meta_free(wp->stacks);
	wp->stacks = NULL;
	wp->nstacks = 0;
}

void work_pool_start(struct work_pool *wp, unsigned n)
{
	GYRE_ASSERT(n >= 1 && n <= wp->nstacks);
	for (unsigned i = 0; i < wp->nstacks && wp->stack_limit; i++)
		if (wp->stacks[i].cap > wp->stack_limit)
			wp->stacks[i].cap = wp->stack_limit;
	wp->nactive = n;
	atomic_store(&wp->active, n);
}

bool work_grow(const struct work_pool *wp, struct work_stack *w)
{
	size_t cap = w->cap ? w->cap * 2 : STACK_INITIAL;
	if (wp->stack_limit && cap > wp->stack_limit)
		cap = wp->stack_limit;
	if (cap <= w->cap)
		return false;
	void **s = meta_realloc(w->items, cap * sizeof(void *));
	if (!s)
		return false;
	w->items = s;
	w->cap = cap;
	return true;
}

/* Moves the oldest half of the stack (at most a packet) into the pool. In
 * a depth-first traversal the oldest items are the roots of the largest
 * unvisited subgraphs, so a deep structure is split usefully even when the
 * stack is shallow. */
static void share(struct work_pool *wp, struct work_stack *w)
{
	unsigned k = w->n / 2 < WORK_PACKET_CAP ? (unsigned)(w->n / 2)
						 : WORK_PACKET_CAP;
	struct packet *p = meta_alloc(sizeof(*p));
	if (!p)
		return;
	cds_lfs_node_init(&p->node);
	p->n = k;
	memcpy(p->items, w->items, k * sizeof(void *));
	memmove(w->items, w->items + k, (w->n - k) * sizeof(void *));
	w->n -= k;
	tsan_release(p);
	cds_lfs_push(&wp->pool, &p->node);
}

/* Worth sharing: another worker is idle and nothing waits in the pool.
 * Relaxed: a stale `active` only makes a share early or late. */
void work_share_slow(struct work_pool *wp, struct work_stack *w)
{
	if (w->n >= 2 &&
	    atomic_load_explicit(&wp->active, memory_order_relaxed) < wp->nactive &&
	    cds_lfs_empty(&wp->pool))
		share(wp, w);
}

bool work_take(struct work_pool *wp, struct work_stack *w,
	       void (*lost)(struct work_stack *w, void *item))
{
	struct cds_lfs_node *node = cds_lfs_pop_blocking(&wp->pool);
	if (!node)
		return false;
	struct packet *p = caa_container_of(node, struct packet, node);
	tsan_acquire(p);
	for (unsigned i = 0; i < p->n; i++)
		if (!work_push(wp, w, p->items[i]))
			lost(w, p->items[i]);
	meta_free(p);
	return true;
}

void work_drain(struct work_pool *wp, struct work_stack *w,
		void (*drain_local)(struct work_stack *w, void *ctx),
		bool (*more)(struct work_stack *w, void *ctx),
		void (*lost)(struct work_stack *w, void *item), void *ctx)
{
	/* Inside a job of the pool with a share per worker, or alone: the
	 * shares workers_help runs are this phase's (a phase on only some
	 * workers would count the others active forever). */
	GYRE_ASSERT(wp->nactive == 1 || wp->nactive == workers_count());
	for (;;) {
		drain_local(w, ctx);
		if ((more && more(w, ctx)) || work_take(wp, w, lost))
			continue;
		atomic_fetch_sub(&wp->active, 1);
		for (unsigned i = 0;; i++) {
			if (!cds_lfs_empty(&wp->pool)) {
				atomic_fetch_add(&wp->active, 1);
				if (work_take(wp, w, lost))
					break;
				atomic_fetch_sub(&wp->active, 1);
			} else if (atomic_load(&wp->active) == 0) {
				return;
			} else if (workers_help()) {
				/* A share no thread had started (it counts as
				 * active): it ran here, to its end. */
				continue;
			}
			/* A few microseconds spinning (a worker that is on a
			 * core shares work or finishes soon), then naps: one
			 * that is not on a core may be waiting for this one.
			 * A yield gave the core to the prefault thread in a
			 * step for a tick (bench/run.sh -n 5, churn's minor
			 * pauses over 1 ms: 0.37-1.11% of them napping in two
			 * runs, 0.95-1.56% yielding). */
			if (i < NAP_AFTER)
				cpu_relax();
			else
				spin_nap();
		}
	}
}
