/*
 * minor_final.c: weak references and finalizers in a minor collection
 * (minor.c has the phases in order; weak.h and final.h the rules). Once
 * the copy phase has copied everything the roots reach:
 *
 * 1. the weak references noted while scanning are resolved: a target
 *    that survived is followed to its copy, a dead one is cleared and the
 *    callback queued (the weak reference was reached: copied, pinned, or
 *    an old one on a card);
 * 2. the young finalizable objects that nothing reached (U) are ordered,
 *    then kept alive with everything they reach, and the ready ones
 *    queued;
 * 3. the weak references that step 2 reached for the first time are
 *    resolved without callbacks: only unreached objects lead to them.
 *
 * Weak references to U's objects were cleared in step 1, before their
 * finalizers can run (a finalizer never finds its object through a weak
 * cache).
 */
#include "gc/card.h"
#include "gc/final.h"
#include "gc/heap.h"
#include "gc/minor_impl.h"
#include "gc/weak.h"

static bool in_from(const void *obj)
{
	return heap_contains((uintptr_t)obj) && (space_of((uintptr_t)obj) & SPACE_FROM);
}

static void *survivor(void *obj)
{
	unsigned gen;
	return in_from(obj) ? minor_survivor(obj, &gen) : obj;
}

static bool dead(void *obj)
{
	unsigned gen;
	return in_from(obj) && !minor_survivor(obj, &gen);
}

static void resolve_one(void **slot, bool callbacks)
{
	void *v = *slot;
	if (!v || !in_from(v))
		return; /* noted twice (an overflow rescan): done already */
	struct weak_obj *w = (struct weak_obj *)slot;
	unsigned hgen = space_of((uintptr_t)w) & SPACE_GEN_MASK, gen;
	void *to = minor_survivor(v, &gen);
	*slot = to;
	if (!to) {
		if (callbacks && w->fn)
			final_queue_weak(w);
	} else if (gen < hgen) {
		card_dirty(w, slot);
	}
}

/* Each copier's notes from weak_seen on, which then moves to the end. */
static void resolve(bool callbacks)
{
	for (unsigned i = 0; i < minor_state.wp.nstacks; i++) {
		struct copier *c = &minor_state.copiers[i];
		for (size_t j = c->weak_seen; j < c->weak.n; j++)
			resolve_one(c->weak.v[j], callbacks);
		c->weak_seen = c->weak.n;
	}
}

void minor_final(void)
{
	resolve(true);
	struct fin *u = final_unreached(true, false, survivor);
	if (u) {
		final_order(u, dead);
		/* A copy of the address: the entry keeps the old one until
		 * final_settle moves it in the registry. */
		for (struct fin *e = u; e; e = e->unext) {
			void *obj = e->obj;
			minor_keep(&obj);
		}
		minor_recover();
		final_settle(u, survivor);
		resolve(false);
	}
	for (unsigned i = 0; i < minor_state.wp.nstacks; i++)
		minor_state.copiers[i].weak.n = minor_state.copiers[i].weak_seen = 0;
}
