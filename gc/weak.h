/*
 * weak.h: weak references (DESIGN.md, "Finalizers and weak references").
 * A weak reference is a small heap object of gyre's own type TYPE_WEAK
 * whose first word is its target. Tracing does not follow that word:
 *
 * - a minor collection notes every weak reference it scans (a copy, a
 *   pinned object, or an old one on a dirty card) whose target is in
 *   from-space; once everything reachable is copied, each noted target
 *   is either found moved (the field is updated), in place (pinned), or
 *   dead (the field is cleared and the callback queued);
 * - marking (stop-the-world, or the concurrent cycle's) notes every weak
 *   reference it marks; once marking is complete, a target that is not
 *   marked is cleared the same way.
 *
 * [INV-WEAK-CARDS] A weak reference whose target is younger than itself
 * lies on a dirty card, like any field ([INV-CARDS]): that is how a minor
 * collection finds old weak references to young targets without looking
 * at the others.
 *
 * [INV-WEAK-SHADE] While generation 2 is marked concurrently, every
 * target the program obtains through a weak reference (gyre_weak_get)
 * or stores in a new one (gyre_weak_new) is logged like a value
 * GYRE_STORE overwrites, and the cycle's first pause treats the weak
 * references among the young objects it scans as strong. So a target
 * the program can reach is marked by the time the remark clears the
 * others; only weak references that the marking itself traced can point
 * at an unmarked old object then.
 */
#ifndef GYRE_WEAK_H
#define GYRE_WEAK_H

#include <stddef.h>

#include "runtime/internal.h"

struct weak_obj {
	void *target;      /* weak: not traced */
	void *next;        /* strong: the queue of callbacks due (final.c) */
	gyre_weak_fn fn;   /* NULL: no callback */
	void *ctx;
};

#endif
