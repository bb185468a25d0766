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

/* RUNNING -> BLOCKING with the context already taken: by the
 * gyre_blocking_begin trampoline, or by safepoint_enter_blocking. */
void safepoint_enter_blocking_ctx(struct mutator *m, const struct context *ctx);

/* RUNNING -> BLOCKING for a wait inside gyre (a lock). Always inlined: the
 * context must be taken in the frame that stays alive through the wait, or
 * callee-saved registers that a dead frame had pushed would be lost. */
static inline __attribute__((always_inline)) void
safepoint_enter_blocking(struct mutator *m)
{
	struct context ctx;
	context_save(&ctx);
	safepoint_enter_blocking_ctx(m, &ctx);
}
/* BLOCKING -> RUNNING, parking first if the world is being stopped. */
void safepoint_leave_blocking(struct mutator *m);
/* Sleeps `ns` (under a second) in a blocking region: pauses run
 * meanwhile without waiting for this thread. */
void safepoint_nap(struct mutator *m, long ns);

#endif
