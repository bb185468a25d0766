/*
 * final.c: the registry of finalizers, the queue of what is due, and the
 * finalizer thread (see final.h).
 */
#include <pthread.h>

#include "gc/young/alloc.h"
#include "gc/heap/card.h"
#include "gc/driver/collect.h"
#include "gc/final/final.h"
#include "gc/heap/heap.h"
#include "gc/old/mark.h"
#include "gc/young/nursery.h"
#include "runtime/config.h"
#include "runtime/fork.h"
#include "runtime/meta.h"
#include "threads/safepoint.h"

/* Items taken off the queue at once (one lock), and so run between two
 * looks at the finalizer thread's quit flag. */
#define TAKE 32

static struct {
	pthread_mutex_t lock;
	struct fin young, old;   /* sentinels of circular lists */
	struct fin **buckets;    /* chains by address */
	unsigned shift;          /* buckets: 2^(64 - shift) */
	size_t nbuckets, count;
} reg = {.lock = PTHREAD_MUTEX_INITIALIZER};
LOCK_RANKED(LOCK_FINAL_REGISTRY, &reg.lock, 1, sizeof(pthread_mutex_t))

static struct {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct fin *head, *tail;   /* finalizers due, oldest first */
	struct weak_obj *weak;     /* weak references due, by `next` */
	size_t pending;            /* both; under lock */
	bool weak_turn;            /* the kind take() takes next; under lock */
	_Atomic uint64_t ran;      /* relaxed: a counter */
	bool quit;                 /* under lock */
	bool thread_on;            /* init and shutdown only */
	pthread_t thread;
	bool attach_done;          /* under lock */
	int attach_rc;
	struct mutator self;
} q = {.lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER};
LOCK_RANKED(LOCK_FINAL_QUEUE, &q.lock, 1, sizeof(pthread_mutex_t))

/* ------------------------------------------------------------ registry */

static void list_init(struct fin *s)
{
	s->prev = s->next = s;
}

static void list_add(struct fin *s, struct fin *e)
{
	e->next = s;
	e->prev = s->prev;
	s->prev->next = e;
	s->prev = e;
}

static void list_del(struct fin *e)
{
	e->prev->next = e->next;
	e->next->prev = e->prev;
}

static bool is_young(const void *obj)
{
	return heap_gen_of((uintptr_t)obj) < 2;
}

static size_t bucket_of(const void *obj)
{
	return (size_t)(((uintptr_t)obj >> 4) * UINT64_C(0x9e3779b97f4a7c15) >> reg.shift);
}

static struct fin **chain_of(const void *obj)
{
	struct fin **p = &reg.buckets[bucket_of(obj)];
	while (*p && (*p)->obj != obj)
		p = &(*p)->hnext;
	return p;
}

static void hash_insert(struct fin *e)
{
	size_t b = bucket_of(e->obj);
	e->hnext = reg.buckets[b];
	reg.buckets[b] = e;
}

/* Doubles the buckets; false without memory (the table stays valid). */
static bool hash_grow(void)
{
	size_t n = reg.nbuckets * 2;
	struct fin **b = meta_calloc(n * sizeof(*b));
	if (!b)
		return false;
	struct fin **old = reg.buckets;
	size_t oldn = reg.nbuckets;
	reg.buckets = b;
	reg.nbuckets = n;
	reg.shift--;
	for (size_t i = 0; i < oldn; i++)
		for (struct fin *e = old[i], *next; e; e = next) {
			next = e->hnext;
			hash_insert(e);
		}
	meta_free(old);
	return true;
}

/* Takes e out of the registry (hash chain and list); it keeps its
 * address until the caller changes it. */
static void registry_remove(struct fin *e)
{
	*chain_of(e->obj) = e->hnext;
	list_del(e);
	reg.count--;
}

int final_register(void *obj, gyre_finalize_fn fn, void *ctx)
{
	struct fin *e = meta_alloc(sizeof(*e));
	if (!e)
		return GYRE_ENOMEM;
	*e = (struct fin){.obj = obj, .fn = fn, .ctx = ctx, .young = is_young(obj)};
	int rc = GYRE_OK;
	pthread_mutex_lock(&reg.lock);
	if (*chain_of(obj))
		rc = GYRE_EINVAL;
	else if (reg.count >= reg.nbuckets && !hash_grow())
		rc = GYRE_ENOMEM;
	if (!rc) {
		hash_insert(e);
		list_add(e->young ? &reg.young : &reg.old, e);
		reg.count++;
	}
	pthread_mutex_unlock(&reg.lock);
	if (rc)
		meta_free(e);
	return rc;
}

int final_cancel(void *obj)
{
	pthread_mutex_lock(&reg.lock);
	struct fin *e = *chain_of(obj);
	if (e)
		registry_remove(e);
	pthread_mutex_unlock(&reg.lock);
	meta_free(e);
	return e ? GYRE_OK : GYRE_ENOTFOUND;
}

/* The entry's object moved to `to`: its key and, if it left the young
 * generation, its list change. World stopped. */
static void move_entry(struct fin *e, void *to)
{
	if (to != e->obj) {
		struct fin **p = chain_of(e->obj);
		*p = e->hnext;
		e->obj = to;
		hash_insert(e);
	}
	if (e->young && !is_young(to)) {
		list_del(e);
		e->young = false;
		list_add(&reg.old, e);
	}
}

void final_check_young(void)
{
	for (struct fin *e = reg.young.next, *next; e != &reg.young; e = next) {
		next = e->next;
		struct block *b = block_of((uintptr_t)e->obj);
		if (b->state != BLOCK_NURSERY)
			continue;
		nursery_parse(b);
		if (heap_find_small((uintptr_t)e->obj) == e->obj)
			continue;
		/* Checked builds abort here; others drop it silently (the
		 * thread that runs this pause did nothing wrong). */
		if (GYRE_DEBUG)
			gyre_misuse(GYRE_EINVAL, "gyre_finalizer_register",
				    "%p is not the start of a gyre object (found at the "
				    "next collection)", e->obj);
		registry_remove(e);
		meta_free(e);
	}
}

/* Old first: entries that leave the young list join the old one behind
 * the walk, not ahead of it. */
struct fin *final_unreached(bool young, bool old, final_survivor_fn survivor)
{
	struct fin *u = NULL;
	struct fin *lists[2] = {old ? &reg.old : NULL, young ? &reg.young : NULL};
	for (unsigned i = 0; i < 2; i++) {
		struct fin *s = lists[i];
		if (!s)
			continue;
		for (struct fin *e = s->next, *next; e != s; e = next) {
			next = e->next;
			void *to = survivor(e->obj);
			if (to) {
				move_entry(e, to);
			} else {
				e->unext = u;
				u = e;
			}
		}
	}
	return u;
}

void final_follow(final_survivor_fn moved)
{
	struct fin *u = final_unreached(true, true, moved);
	GYRE_ASSERT(!u);
	(void)u;
}

void final_settle(struct fin *u, final_survivor_fn survivor)
{
	struct fin *first = NULL, *last = NULL;
	size_t n = 0;
	for (struct fin *e = u, *next; e; e = next) {
		next = e->unext;
		void *to = survivor(e->obj);
		GYRE_ASSERT(to);
		if (!e->ready) {
			move_entry(e, to);
			continue;
		}
		/* Leaves the registry under its old address. */
		registry_remove(e);
		e->obj = to;
		e->next = NULL;
		if (last)
			last->next = e;
		else
			first = e;
		last = e;
		n++;
	}
	if (!first)
		return;
	/* The ready ones join the queue at once: one lock, not one each. */
	pthread_mutex_lock(&q.lock);
	if (q.tail)
		q.tail->next = first;
	else
		q.head = first;
	q.tail = last;
	q.pending += n;
	pthread_mutex_unlock(&q.lock);
}

/* --------------------------------------------------------------- queue */

void final_queue_weak(struct weak_obj *w)
{
	pthread_mutex_lock(&q.lock);
	struct weak_obj *head = q.weak;
	w->next = head;
	/* [INV-CARDS]: the link is a strong field like any other. */
	if (head && heap_gen_of((uintptr_t)head) < heap_gen_of((uintptr_t)w))
		card_dirty(w, &w->next);
	q.weak = w;
	q.pending++;
	pthread_mutex_unlock(&q.lock);
	/* A concurrent cycle that did not mark w (an old weak reference a
	 * minor collection found on a card) must not free it now that the
	 * queue holds it: roots are not scanned again at the remark. A copy
	 * the minor collection just made is marked already (copies are
	 * recorded in their blocks' mark bits, and kept marked while a
	 * cycle runs), and has no start bit yet, which shading would check. */
	if (mark_old_active() && !mark_old_marked(w))
		mark_old_shade(w);
}

void final_for_each_root(void (*fn)(void **slot, void *ctx), void *ctx)
{
	pthread_mutex_lock(&q.lock);
	if (q.weak)
		fn((void **)&q.weak, ctx);
	for (struct fin *e = q.head; e; e = e->next)
		fn(&e->obj, ctx);
	pthread_mutex_unlock(&q.lock);
}

void final_for_each_weak_link(void (*fn)(void **slot, void *ctx), void *ctx)
{
	pthread_mutex_lock(&q.lock);
	for (struct weak_obj *w = q.weak; w; w = w->next)
		fn(&w->next, ctx);
	pthread_mutex_unlock(&q.lock);
}

void final_for_each_registered(void (*fn)(void **slot, void *ctx), void *ctx)
{
	struct fin *lists[2] = {&reg.old, &reg.young};
	for (unsigned i = 0; i < 2; i++)
		for (struct fin *e = lists[i]->next; e != lists[i]; e = e->next)
			fn(&e->obj, ctx);
}

void final_wake(void)
{
	pthread_mutex_lock(&q.lock);
	if (q.pending)
		pthread_cond_broadcast(&q.wake);
	pthread_mutex_unlock(&q.lock);
}

size_t final_pending(void)
{
	pthread_mutex_lock(&q.lock);
	size_t n = q.pending;
	pthread_mutex_unlock(&q.lock);
	return n;
}

uint64_t final_ran(void)
{
	return atomic_load_relaxed(&q.ran);
}

/* Takes up to `max` items off the queue under one lock, the two kinds
 * in turn (neither waits behind a stream of the other): finalizer entries
 * into e[], weak references into w[]; none if the finalizer thread is
 * told to quit. Returns how many. */
static size_t take(bool thread, size_t max, struct fin **e, size_t *ne,
		   struct weak_obj **w, size_t *nw)
{
	*ne = *nw = 0;
	pthread_mutex_lock(&q.lock);
	while (*ne + *nw < max && !(thread && q.quit) && (q.weak || q.head)) {
		if (q.weak && (q.weak_turn || !q.head)) {
			w[(*nw)++] = q.weak;
			q.weak = q.weak->next;
		} else {
			e[(*ne)++] = q.head;
			q.head = q.head->next;
			if (!q.head)
				q.tail = NULL;
		}
		q.weak_turn = !q.weak_turn;
		q.pending--;
	}
	pthread_mutex_unlock(&q.lock);
	return *ne + *nw;
}

/* Runs up to `max` items (at most TAKE) of the queue; returns how many.
 * The objects are held in this frame while their code runs: the stack
 * keeps them alive (and pinned). */
static size_t run_some(bool thread, size_t max)
{
	struct fin *e[TAKE];
	struct weak_obj *w[TAKE];
	void *obj[TAKE];
	size_t ne, nw, n = take(thread, max < TAKE ? max : TAKE, e, &ne, w, &nw);
	for (size_t i = 0; i < ne; i++)
		obj[i] = e[i]->obj;
	for (size_t i = 0; i < ne; i++) {
		gyre_finalize_fn fn = e[i]->fn;
		void *ctx = e[i]->ctx;
		meta_free(e[i]);
		fn(obj[i], ctx);
	}
	for (size_t i = 0; i < nw; i++) {
		/* Through the barrier: w may be old, and a cycle may be
		 * marking. */
		gyre__store(w[i], offsetof(struct weak_obj, next), NULL);
		w[i]->fn(w[i], w[i]->ctx);
	}
	atomic_add_relaxed(&q.ran, n);
	return n;
}

size_t final_run(size_t max)
{
	size_t n = 0, ran;
	while (n < max && (ran = run_some(false, max - n)))
		n += ran;
	return n;
}

/* ----------------------------------------------------- finalizer thread */

/* Waits, blocking, for work or for the order to quit; true to quit. */
static bool wait_for_work(struct mutator *m)
{
	alloc_blocking_begin(m);
	safepoint_enter_blocking(m);
	pthread_mutex_lock(&q.lock);
	while (!q.pending && !q.quit)
		pthread_cond_wait(&q.wake, &q.lock);
	bool quit = q.quit;
	pthread_mutex_unlock(&q.lock);
	safepoint_leave_blocking(m);
	alloc_blocking_end(m);
	return quit;
}

/* What a finalizer or callback left open on the finalizer thread is a
 * misuse (it would stop collections, or the thread, for good): reported,
 * and closed. */
static void check_left_open(struct mutator *m)
{
	if (atomic_load_relaxed(&m->state) == MUTATOR_BLOCKING) {
		gyre_misuse(GYRE_EUNBALANCED, "gyre_blocking_begin",
			    "a finalizer or weak callback returned inside a blocking region");
		safepoint_leave_blocking(m);
		alloc_blocking_end(m);
	}
	if (m->disable_depth) {
		gyre_misuse(GYRE_EUNBALANCED, "gyre_disable",
			    "a finalizer or weak callback returned with %d gyre_disable "
			    "call(s) not matched", m->disable_depth);
		for (; m->disable_depth; m->disable_depth--)
			collect_enable();
	}
}

static void *final_main(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "gyre-finalizer");
	struct mutator *m = &q.self;
	int rc = alloc_attach(m);
	if (!rc) {
		rc = mutator_register(m);
		if (rc)
			alloc_detach(m);
	}
	pthread_mutex_lock(&q.lock);
	q.attach_rc = rc;
	q.attach_done = true;
	pthread_cond_broadcast(&q.wake);
	pthread_mutex_unlock(&q.lock);
	if (rc)
		return NULL;
	while (!wait_for_work(m))
		while (run_some(true, TAKE))
			check_left_open(m);
	alloc_detach(m);
	mutator_unregister(m);
	return NULL;
}

int final_start_thread(void)
{
	q.self = (struct mutator){.service = true};
	q.attach_done = false;
	if (pthread_create(&q.thread, NULL, final_main, NULL))
		return GYRE_ENOMEM;
	pthread_mutex_lock(&q.lock);
	while (!q.attach_done)
		pthread_cond_wait(&q.wake, &q.lock);
	int rc = q.attach_rc;
	pthread_mutex_unlock(&q.lock);
	if (rc) {
		fork_join(q.thread, NULL);
		return GYRE_ENOMEM;
	}
	q.thread_on = true;
	return GYRE_OK;
}

void final_after_fork_child(bool forker_is_it)
{
	pthread_cond_init(&q.wake, NULL);
	if (!q.thread_on || forker_is_it)
		return;
	q.thread_on = false;
	if (final_start_thread())
		gyre_fatal("fork: the child cannot start gyre's finalizer thread");
}

/* ------------------------------------------------------------ lifecycle */

int final_init(void)
{
	list_init(&reg.young);
	list_init(&reg.old);
	reg.nbuckets = 256;
	reg.shift = 64 - 8;
	reg.count = 0;
	reg.buckets = meta_calloc(reg.nbuckets * sizeof(*reg.buckets));
	q.head = q.tail = NULL;
	q.weak = NULL;
	q.pending = 0;
	q.quit = false;
	q.thread_on = false;
	atomic_store_relaxed(&q.ran, 0);
	return reg.buckets ? GYRE_OK : GYRE_ENOMEM;
}

void final_stop_thread(void)
{
	if (!q.thread_on)
		return;
	pthread_mutex_lock(&q.lock);
	q.quit = true;
	pthread_cond_broadcast(&q.wake);
	pthread_mutex_unlock(&q.lock);
	fork_join(q.thread, NULL);
	q.thread_on = false;
}

void final_shutdown(void)
{
	GYRE_ASSERT(!q.thread_on);
	struct fin *lists[2] = {&reg.young, &reg.old};
	for (unsigned i = 0; i < 2; i++)
		while (lists[i]->next != lists[i]) {
			struct fin *e = lists[i]->next;
			list_del(e);
			meta_free(e);
		}
	while (q.head) {
		struct fin *e = q.head;
		q.head = e->next;
		meta_free(e);
	}
	meta_free(reg.buckets);
	reg.buckets = NULL;
}
