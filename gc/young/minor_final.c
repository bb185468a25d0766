/*
 * minor_final.c: ephemerons, weak references and finalizers in a minor
 * collection (minor.c has the phases in order; weak.h and final.h the
 * rules). Once the copy phase has copied everything the roots reach:
 *
 * 1. ephemerons: the noted ones whose keys survived keep their values
 *    (copied, with what they reach), until a pass keeps nothing more;
 *    those left have dead keys and are cleared;
 * 2. the weak references noted while scanning are resolved: a target
 *    that survived is followed to its copy, a dead one is cleared and the
 *    callback queued (the weak reference was reached: copied, pinned, or
 *    an old one on a card);
 * 3. the young finalizable objects that nothing reached (U) are ordered,
 *    then kept alive with everything they reach, and the ready ones
 *    queued;
 * 4. the ephemerons and weak references that step 3 reached for the
 *    first time are resolved the same way, without callbacks: only
 *    unreached objects lead to them.
 *
 * Weak references and ephemerons to U's objects were cleared in steps 1
 * and 2, before their finalizers can run (a finalizer never finds its
 * object through a weak cache).
 */
#include "gc/heap/card.h"
#include "gc/final/final.h"
#include "gc/heap/heap.h"
#include "gc/young/minor_impl.h"
#include "gc/final/weak.h"

static void *survivor(void *obj)
{
	unsigned gen;
	return minor_in_from(obj) ? minor_survivor(obj, &gen) : obj;
}

static void resolve_one(void **slot, bool callbacks)
{
	void *v = *slot;
	if (!minor_in_from(v))
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

/* One pass over the noted ephemerons (notes added meanwhile included):
 * each whose key survived (copied, or in place: pinned keys stay in
 * from-space) has the key followed and the value kept, with what it
 * reaches, and leaves the list. True if any had. */
static bool eph_pass(void)
{
	bool kept = false;
	for (unsigned i = 0; i < minor_state.wp.nstacks; i++) {
		struct ptrvec *v = &minor_state.copiers[i].eph;
		/* Indexed, not by pointer: keeping a value may note more
		 * ephemerons, and move the vector. */
		size_t j = 0;
		while (j < v->n) {
			void **e = v->v[j];
			void *to = survivor(e[0]);
			if (!to) {
				j++;
				continue;
			}
			v->v[j] = v->v[--v->n];
			e[0] = to;
			if (heap_gen_of((uintptr_t)to) < (space_of((uintptr_t)e) & SPACE_GEN_MASK))
				card_dirty(e, e);
			minor_keep_field(&e[1], e);
			kept = true;
		}
	}
	return kept;
}

/* Step 1 (and 4): the fixpoint; the ephemerons left have unreached keys
 * and lose both words. */
static void resolve_ephemerons(void)
{
	while (eph_pass())
		minor_recover();
	for (unsigned i = 0; i < minor_state.wp.nstacks; i++) {
		struct ptrvec *v = &minor_state.copiers[i].eph;
		for (size_t j = 0; j < v->n; j++) {
			void **e = v->v[j];
			e[0] = e[1] = NULL;
		}
		v->n = 0;
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
	resolve_ephemerons();
	/* Copies are marked before anything is queued: final_queue_weak
	 * tells a copy (black while a cycle marks) from an old object a
	 * card led to by its mark. */
	minor_record_runs();
	resolve(true);
	struct fin *u = final_unreached(true, false, survivor);
	if (u) {
		final_order(u, survivor);
		/* A copy of the address: the entry keeps the old one until
		 * final_settle moves it in the registry. */
		for (struct fin *e = u; e; e = e->unext) {
			void *obj = e->obj;
			minor_keep(&obj);
		}
		minor_drain();
		minor_recover();
		resolve_ephemerons();
		final_settle(u, survivor);
		resolve(false);
	}
	for (unsigned i = 0; i < minor_state.wp.nstacks; i++) {
		struct copier *c = &minor_state.copiers[i];
		c->weak.n = c->weak_seen = 0;
	}
}
