/*
 * mark_final.c: the end of every marking (mark.h's mark_final, and the
 * weak references' resolution): the ephemerons' fixpoint, in parallel
 * passes; weak references cleared and their callbacks queued; finalizable
 * objects found unreached, ordered, kept alive with what they reach and
 * queued (gc/README.md, "Weak references, ephemerons and finalizers").
 */
#include "gc/final/final.h"
#include "gc/final/weak.h"
#include "gc/old/mark_impl.h"
#include "threads/stw.h"
#include "threads/workers.h"

/* The ephemerons a pass decides, gathered from the workers' notes: the
 * pass's workers share them in chunks, and what they note meanwhile goes
 * to their own lists, for the next pass. Sync: gathered and compacted by
 * the pause's initiator between passes; a pass's workers claim chunks by
 * `next` (relaxed: it only hands out indices) and empty the slots they
 * decide, each its own. */
static struct {
	struct ptrvec all;
	_Atomic size_t next;
	_Atomic bool kept;      /* relaxed: read after the workers joined */
	/* The last gather had no memory and made its notes strong: the
	 * next pass traces from them only after it looked at its chunks,
	 * so another pass must follow it. Initiator only. */
	bool fell_back;
	/* Test hook (mark_refuse_gather): the gather of each fixpoint that
	 * finds no memory, counted from 1 (0: none), and the count. */
	unsigned refuse_at, gathers;
} eph;

void mark_final_shutdown(void)
{
	ptrvec_free(&eph.all);
}

void mark_refuse_gather(unsigned nth)
{
	eph.refuse_at = nth;
}

/* ------------------------------------- weak references and finalizers */

static void *mark_survivor(void *obj)
{
	return survives(obj) ? obj : NULL;
}

/* Clears the noted weak references whose targets did not survive, and
 * queues their callbacks if `callbacks` (their holders were marked from
 * the roots). */
static void resolve_weak(bool callbacks)
{
	for (unsigned i = 0; i < mk.wp.nstacks; i++) {
		struct noted *n = &mk.noted[i];
		for (size_t j = n->weak_seen; j < n->weak.n; j++) {
			struct weak_obj *w = n->weak.v[j];
			if (!w->target || survives(w->target))
				continue;
			w->target = NULL;
			if (callbacks && w->fn)
				final_queue_weak(w);
		}
		n->weak_seen = n->weak.n;
	}
}

#define EPH_CHUNK 256

/* Claims the next chunk of eph.all, [*start, *end); false when none is
 * left. */
static bool eph_claim(size_t *start, size_t *end)
{
	*start = atomic_add_relaxed(&eph.next, EPH_CHUNK);
	if (*start >= eph.all.n)
		return false;
	*end = *start + EPH_CHUNK < eph.all.n ? *start + EPH_CHUNK : eph.all.n;
	return true;
}

/* A pass's job: each ephemeron of the worker's chunks whose key is marked
 * has its value marked and leaves the set; then the worker traces from
 * the values, with the others. */
static void eph_worker(unsigned id, void *arg)
{
	(void)arg;
	struct work_stack *w = &mk.wp.stacks[id];
	bool kept = false;
	size_t start, end;
	while (eph_claim(&start, &end)) {
		for (size_t j = start; j < end; j++) {
			struct eph_obj *e = eph.all.v[j];
			if (!e || !survives(e->key))
				continue;
			if (e->value)
				mark_field(w, e->value, e);
			eph.all.v[j] = NULL;
			kept = true;
		}
	}
	if (kept)
		atomic_store_relaxed(&eph.kept, true);
	work_drain(&mk.wp, w, mark_drain_local, NULL, lost, NULL);
}

/* After the fixpoint: the ephemerons left in eph.all have unmarked keys,
 * and lose both words; the workers share them in chunks. */
static void eph_clear_worker(unsigned id, void *arg)
{
	(void)id;
	(void)arg;
	size_t start, end;
	/* Atomic: after an overflow rescan noted one twice, two workers may
	 * clear it at once. */
	while (eph_claim(&start, &end)) {
		for (size_t j = start; j < end; j++) {
			struct eph_obj *e = eph.all.v[j];
			if (e) {
				__atomic_store_n(&e->key, NULL, __ATOMIC_RELAXED);
				__atomic_store_n(&e->value, NULL, __ATOMIC_RELAXED);
			}
		}
	}
}

/* Moves the workers' notes into eph.all, behind what is still undecided
 * there; true if any were added. Without memory for them, the notes'
 * ephemerons are made strong instead (key and value marked, traced by
 * the next pass): they survive this collection. */
static bool eph_gather(void)
{
	size_t keep = 0, more = 0;
	for (size_t j = 0; j < eph.all.n; j++)
		if (eph.all.v[j])
			eph.all.v[keep++] = eph.all.v[j];
	eph.all.n = keep;
	for (unsigned i = 0; i < mk.wp.nstacks; i++)
		more += mk.noted[i].eph.n;
	bool room = ptrvec_reserve(&eph.all, more) &&
		    !(eph.refuse_at && ++eph.gathers == eph.refuse_at);
	eph.fell_back = !room && more;
	work_pool_start(&mk.wp, mk.wp.nstacks);
	for (unsigned i = 0; i < mk.wp.nstacks; i++) {
		struct ptrvec *v = &mk.noted[i].eph;
		for (size_t j = 0; j < v->n; j++) {
			struct eph_obj *e = v->v[j];
			if (room) {
				eph.all.v[eph.all.n++] = e;
			} else {
				mark_field(&mk.wp.stacks[0], e->key, e);
				if (e->value)
					mark_field(&mk.wp.stacks[0], e->value, e);
			}
		}
		v->n = 0;
	}
	return more != 0;
}

/* The fixpoint, in passes over the gathered ephemerons, each parallel,
 * until a pass marks nothing and notes nothing new; the ephemerons left
 * have unmarked keys, and lose both words. */
static void resolve_ephemerons(void)
{
	atomic_store_relaxed(&eph.kept, false);
	eph.gathers = 0;
	bool added = eph_gather();
	while (added || atomic_load_relaxed(&eph.kept)) {
		bool fell_back = eph.fell_back;
		atomic_store_relaxed(&eph.next, 0);
		atomic_store_relaxed(&eph.kept, false);
		workers_run(eph_worker, NULL);
		mark_finish();
		if (fell_back)
			atomic_store_relaxed(&eph.kept, true);
		added = eph_gather();
	}
	if (eph.all.n) {
		atomic_store_relaxed(&eph.next, 0);
		workers_run(eph_clear_worker, NULL);
		eph.all.n = 0;
	}
}

/* Marks U's objects and everything they reach, in parallel. */
static void mark_unreached(struct fin *u)
{
	work_pool_start(&mk.wp, mk.wp.nstacks);
	for (struct fin *e = u; e; e = e->unext)
		if (set_mark(e->obj))
			push(&mk.wp.stacks[0], e->obj);
	workers_run(mark_worker, NULL);
	mark_finish();
}

void mark_final(void)
{
	GYRE_ASSERT(stw_world_stopped());
	resolve_ephemerons();
	resolve_weak(true);
	struct fin *u = final_unreached(!old_only(), true, mark_survivor);
	if (u) {
		final_order(u, mark_survivor);
		mark_unreached(u);
		resolve_ephemerons();
		final_settle(u, mark_survivor);
		resolve_weak(false);
	}
	for (unsigned i = 0; i < mk.wp.nstacks; i++)
		mk.noted[i].weak.n = mk.noted[i].weak_seen = 0;
}
