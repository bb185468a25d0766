/*
 * satb.h: the snapshot-at-the-beginning log of the concurrent marking of
 * generation 2 (DESIGN.md, "The old generation"). While gyre__marking is
 * set, GYRE_STORE logs each pointer it overwrites into its thread's buffer;
 * full buffers go to a shared list that the collector thread drains while
 * the program runs, and every pause drains what is left (thread buffers
 * included) before anything moves.
 *
 * [INV-SATB] While marking, every pointer that was overwritten in a heap
 * field since the cycle began is in a buffer or has been shaded (handed to
 * mark_old_shade). With the initial pause's roots, this keeps every object
 * that was reachable when the cycle began reachable from a grey object or
 * a buffer (the tri-colour invariant, DESIGN.md).
 *
 * A buffer's entries are classified (old object or young) when drained.
 * Drains happen between two pauses or at a pause's start, so an entry is
 * read before any collection could move or free the young object it names.
 */
#ifndef GYRE_SATB_H
#define GYRE_SATB_H

#include <stdbool.h>
#include <stddef.h>

#include "gyre.h"

#define SATB_ENTRIES 510

struct satb_buf {
	struct satb_buf *next;
	size_t n;                    /* entries in use (full: SATB_ENTRIES) */
	void *entries[SATB_ENTRIES];
};

/* A thread's side, in its alloc_local. Sync: the owner, or the collector
 * with the world stopped. */
struct satb_local {
	struct gyre__satb *tls;      /* the thread's gyre__satb */
	struct satb_buf *buf;        /* what tls points into, or NULL */
};

void satb_attach(struct satb_local *s);
/* The thread is leaving (RUNNING): its entries go to the shared list. */
void satb_detach(struct satb_local *s);

/* World stopped: the barrier starts (stops) logging. Stopping discards
 * every buffer, so drain first. */
void satb_start(void);
void satb_stop(void);
static inline bool satb_active(void)
{
	return __atomic_load_n(&gyre__marking, __ATOMIC_RELAXED);
}

/* World stopped: hands every logged entry (thread buffers and the shared
 * list) to `shade`, and empties them. */
void satb_drain_all(void (*shade)(void *obj));
/* While the world runs (the collector thread, RUNNING): hands the entries
 * of one full buffer from the shared list to `shade`; false if there was
 * none. A whole buffer at a time, so that no entry is held across a
 * safepoint. */
bool satb_drain_full(void (*shade)(void *obj));

/* True if the full buffers waiting for the collector thread are past the
 * backlog limit. Any thread. */
bool satb_backlogged(void);

void satb_shutdown(void);

#endif
