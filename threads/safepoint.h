/*
 * safepoint.h: the mutators' side of stop-the-world: the poll, parking, and
 * blocking regions (DESIGN.md, "Threads, safepoints, handshakes").
 */
#ifndef GYRE_SAFEPOINT_H
#define GYRE_SAFEPOINT_H

#include "threads/stw.h"

/* Parks the calling thread until the world restarts. */
void safepoint_park(struct mutator *m);

/* The poll: one relaxed load on the fast path. Relaxed is enough because
 * the slow path re-checks under stw.lock; a late sight of the flag only
 * delays the stop until the next poll. */
static inline void safepoint_poll(struct mutator *m)
{
	if (GYRE_UNLIKELY(atomic_load_relaxed(&stw.requested)))
		safepoint_park(m);
}

/* RUNNING -> BLOCKING; saves the context first so the stack stays a root. */
void safepoint_enter_blocking(struct mutator *m);
/* BLOCKING -> RUNNING, parking first if the world is being stopped. */
void safepoint_leave_blocking(struct mutator *m);

#endif
