/*
 * weak.h: weak references and ephemerons (DESIGN.md, "Finalizers and weak
 * references").
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
 * An ephemeron (TYPE_EPHEMERON) is a pair (key, value) whose key is held
 * like a weak reference's target and whose value is held strongly only
 * while the key is alive. A collection notes the ephemerons it scans
 * whose keys it has not found alive yet; once everything else reachable
 * is traced, it keeps the value of every noted ephemeron whose key turned
 * out alive, traces from those values, and repeats until a pass keeps
 * nothing more (a fixpoint: a value may make another ephemeron's key
 * alive); the ephemerons still noted then have dead keys, and both their
 * words are cleared. A value that reaches its own key keeps nothing.
 *
 * [INV-WEAK-CARDS] A weak reference whose target, or an ephemeron whose
 * key or value, is younger than itself lies on a dirty card, like any
 * field ([INV-CARDS]): that is how a minor collection finds old ones
 * with young targets without looking at the others.
 *
 * [INV-WEAK-SHADE] While generation 2 is marked concurrently, every
 * object the program obtains through a weak reference or an ephemeron
 * (gyre_weak_get, gyre_ephemeron_key/_value) or stores in a new one
 * (gyre_weak_new, gyre_ephemeron_new) is logged like a value GYRE_STORE
 * overwrites, and the cycle's first pause treats the weak references and
 * ephemerons among the young objects it scans as strong. So a target
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

struct eph_obj {
	void *key;         /* weak */
	void *value;       /* strong while the key is alive */
};

#endif
