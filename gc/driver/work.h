/*
 * work.h: the work distribution that the parallel phases share (marking,
 * minor collection). Each worker owns a stack of items; when its stack is
 * deep and the shared pool is empty it moves a packet of items into the
 * pool (a liburcu lock-free stack), and an idle worker takes one.
 *
 * Termination: a worker finishes when its stack is empty, the pool is empty
 * and no worker is active; only an active worker pushes packets, and each
 * re-checks the pool before it stops being active, so no packet is left
 * behind. A share of the job that no thread has started yet counts as
 * active: a worker waiting for the others runs it (workers_help) instead
 * of waiting for a thread to be scheduled.
 */
#ifndef GYRE_WORK_H
#define GYRE_WORK_H

#include <stdbool.h>
#include <stddef.h>

#include <urcu/lfstack.h>

#include "runtime/atomics.h"
#include "runtime/internal.h"

#define WORK_PACKET_CAP 256
#define WORK_SHARE_EVERY 32

/* Workers' stacks sit in one array, and each worker touches its own on
 * every item: the padding keeps two stacks' fields off a common cache line
 * (128 bytes apart whatever the array's alignment), or the line would
 * bounce between cores on every push. */
struct work_stack {
	void **items;
	size_t n, cap;
	unsigned pops;     /* since the last look at the pool */
	unsigned id;       /* worker id */
	char pad[128 - 2 * sizeof(size_t) - sizeof(void **) - 2 * sizeof(unsigned)];
};

struct work_pool {
	struct work_stack *stacks;  /* one per worker */
	unsigned nstacks;
	/* Workers taking part in the current phase (stacks [0, nactive)).
	 * Sync: set by work_pool_start before the phase's job is published. */
	unsigned nactive;
	/* Packets waiting for a worker. The push is a release and the pop an
	 * acquire (cmpxchg, full barriers in liburcu), so a packet's items
	 * are visible to whoever pops it. Library calls, not liburcu's inline
	 * versions, so that sanitizers do not instrument liburcu's
	 * deliberately racy reads; tsan_release/acquire restate the pairing. */
	struct cds_lfs_stack pool;
	/* Workers that may still push packets. seq_cst: its decrement must
	 * not pass the pool check that precedes it (see the file comment). */
	_Atomic unsigned active;
	size_t stack_limit;         /* test hook; 0 = none */
};

int work_pool_init(struct work_pool *wp, unsigned workers);
void work_pool_shutdown(struct work_pool *wp);
/* Before a parallel phase that `n` workers (ids 0 .. n - 1) take part in:
 * they are active, stack caps applied. */
void work_pool_start(struct work_pool *wp, unsigned n);

/* Grows w's stack; false if it cannot (cap or memory). */
bool work_grow(const struct work_pool *wp, struct work_stack *w);

/* Pushes item; false if the stack is full and cannot grow: the caller
 * keeps the item some other way. */
static inline bool work_push(const struct work_pool *wp, struct work_stack *w,
			     void *item)
{
	if (GYRE_UNLIKELY(w->n == w->cap) && !work_grow(wp, w))
		return false;
	w->items[w->n++] = item;
	return true;
}

/* Called once per item processed: every WORK_SHARE_EVERY items, gives a
 * packet to the pool if another worker is idle and the pool is empty. */
void work_share_slow(struct work_pool *wp, struct work_stack *w);
static inline void work_note_pop(struct work_pool *wp, struct work_stack *w)
{
	if (GYRE_UNLIKELY(++w->pops >= WORK_SHARE_EVERY)) {
		w->pops = 0;
		work_share_slow(wp, w);
	}
}

/* Moves a packet from the pool onto w's stack; false if the pool is
 * empty. Items that cannot be pushed go to `lost` (may be NULL only if
 * pushes cannot fail for want of memory). */
bool work_take(struct work_pool *wp, struct work_stack *w,
	       void (*lost)(struct work_stack *w, void *item));

/* Runs `drain_local` (which empties w's stack) and takes packets until no
 * work is left anywhere. `more` (may be NULL) is asked for work that lives
 * outside the stacks (overflow lists) before a worker goes idle; it pushes
 * what it has and returns true if it pushed anything. */
void work_drain(struct work_pool *wp, struct work_stack *w,
		void (*drain_local)(struct work_stack *w, void *ctx),
		bool (*more)(struct work_stack *w, void *ctx),
		void (*lost)(struct work_stack *w, void *item), void *ctx);

#endif
