/*
 * events.c: event callbacks (see events.h and gyre.h, "Event callbacks").
 *
 * Queueing: each thread queues its events in a thread-local array, with
 * no lock and no allocation, so that a pause can queue them with the world
 * stopped; the same thread delivers them once it has restarted the world
 * and released the collector (gc/driver/collect.c calls events_deliver as
 * it unlocks), or at once for events that happen outside pauses.
 *
 * Registration: a mutex and a copy-on-write array. The registered
 * callbacks are an immutable array that each change replaces whole; a
 * delivery takes a reference to the array in force (under the mutex, for
 * a moment), runs the callbacks with no lock held, and drops the
 * reference; a replaced array is freed by whoever drops its last
 * reference. The mutex orders everything (its lock and unlock are the
 * acquire and release that publish a new array's contents to the next
 * delivery), so no atomic is needed: deliveries come once per collection,
 * rarely enough that a lock-free read (liburcu's RCU) would buy nothing,
 * and no thread ever waits for a callback to return, so a callback may
 * add or remove callbacks, and one that blocks holds up no other thread.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "gc/heap/heap.h"
#include "runtime/config.h"
#include "runtime/events.h"
#include "runtime/meta.h"

/* A pause queues at most six events (collection begin and end, cycle
 * begin or end, heap grown or shrunk, a slow stop), and its thread
 * delivers them before it collects again. Only a thread whose fork()s
 * have slow stops and which never collects could fill it: the newest
 * events are then dropped. */
#define QUEUE_MAX 16
/* A heap size change is reported from this much on (and an eighth). */
#define HEAP_CHANGE_MIN ((uint64_t)1 << 20)

/* This thread's events not delivered yet, and whether it is running a
 * callback now. Owner only. */
static _Thread_local struct {
	unsigned n;
	bool delivering;
	gyre_event ev[QUEUE_MAX];
} queue;

/* The heap size the last HEAP_GROW/SHRINK reported. Sync: written by a
 * pause's initiator under the collector lock; relaxed, as only those
 * read it. */
static _Atomic uint64_t reported_size;

struct callback {
	gyre_event_fn fn;
	void *ctx;
};

/* The callbacks in force, never changed once published. */
struct callback_list {
	unsigned refs;   /* deliveries using it. Sync: reg.lock */
	bool retired;    /* replaced: the last delivery frees it. Sync: reg.lock */
	size_t n;
	struct callback cb[];
};

static struct {
	pthread_mutex_t lock;
	/* NULL when no callback is registered. Sync: lock. */
	struct callback_list *current;
} reg = {.lock = PTHREAD_MUTEX_INITIALIZER};
LOCK_RANKED(LOCK_EVENTS, &reg.lock, 1, sizeof(pthread_mutex_t))

/* ------------------------------------------------------------- queueing */

void events_queue(gyre_event *ev)
{
	if (queue.n == QUEUE_MAX)
		return;
	if (!ev->time_ns)
		ev->time_ns = gyre_now_ns();
	if (!ev->reason)
		ev->reason = "";
	ev->heap_size = atomic_load_relaxed(&heap.used);
	queue.ev[queue.n++] = *ev;
}

static void queue_kind(gyre_event_kind kind, int generation, const char *reason,
		       uint64_t time_ns)
{
	events_queue(&(gyre_event){.kind = kind, .generation = generation,
				   .reason = reason, .time_ns = time_ns});
}

/* The heap's size moved by an eighth (and HEAP_CHANGE_MIN) since the
 * last report. */
static void heap_change(void)
{
	uint64_t was = atomic_load_relaxed(&reported_size);
	uint64_t now = atomic_load_relaxed(&heap.used);
	uint64_t diff = now > was ? now - was : was - now;
	if (diff < HEAP_CHANGE_MIN || diff < was / 8)
		return;
	atomic_store_relaxed(&reported_size, now);
	events_queue(&(gyre_event){
		.kind = now > was ? GYRE_EVENT_HEAP_GROW : GYRE_EVENT_HEAP_SHRINK,
		.generation = -1, .bytes = was});
}

void events_pause(const struct events_pause *p)
{
	int gen = (int)p->generation;
	if (p->collection) {
		queue_kind(GYRE_EVENT_COLLECTION_BEGIN, gen, p->reason, p->start_ns);
		events_queue(&(gyre_event){
			.kind = GYRE_EVENT_COLLECTION_END, .generation = gen,
			.reason = p->reason, .time_ns = p->end_ns,
			.pause_ns = p->end_ns - p->start_ns, .bytes_freed = p->freed,
			.bytes_promoted = p->promoted});
	}
	if (p->started)
		queue_kind(GYRE_EVENT_CYCLE_BEGIN, 2, p->reason, p->start_ns);
	if (p->ended)
		queue_kind(GYRE_EVENT_CYCLE_END, 2, p->reason, p->end_ns);
	heap_change();
}

/* ------------------------------------------------------------ delivering */

static struct callback_list *list_get(void)
{
	pthread_mutex_lock(&reg.lock);
	struct callback_list *l = reg.current;
	if (l)
		l->refs++;
	pthread_mutex_unlock(&reg.lock);
	return l;
}

/* Under reg.lock: `l` is no longer current. */
static void list_retire(struct callback_list *l)
{
	if (l && l->refs == 0)
		meta_free(l);
	else if (l)
		l->retired = true;
}

static void list_put(struct callback_list *l)
{
	if (!l)
		return;
	pthread_mutex_lock(&reg.lock);
	l->refs--;
	if (l->retired && l->refs == 0)
		meta_free(l);
	pthread_mutex_unlock(&reg.lock);
}

static void trace_event(const gyre_event *ev)
{
	if (gyre_cfg.trace && ev->kind == GYRE_EVENT_SLOW_SAFEPOINT)
		fprintf(stderr, "gyre: t=%.6f slow stop %.3fms: slowest thread \"%s\" "
			"(tid %d) took %.3fms to its safepoint\n",
			ev->time_ns / 1e9, ev->pause_ns / 1e6, ev->thread_name,
			ev->thread_id, ev->ttsp_ns / 1e6);
}

void events_deliver(void)
{
	if (queue.n == 0 || queue.delivering)
		return;
	queue.delivering = true;
	struct callback_list *l = list_get();
	for (unsigned i = 0; i < queue.n; i++) {
		trace_event(&queue.ev[i]);
		for (size_t j = 0; l && j < l->n; j++)
			l->cb[j].fn(&queue.ev[i], l->cb[j].ctx);
	}
	queue.n = 0;
	list_put(l);
	queue.delivering = false;
}

bool events_in_callback(void)
{
	return queue.delivering;
}

/* ----------------------------------------------------------- registering */

/* Under reg.lock: the index of (fn, ctx) in the current list, or -1. */
static long find(gyre_event_fn fn, void *ctx)
{
	struct callback_list *l = reg.current;
	for (size_t i = 0; l && i < l->n; i++)
		if (l->cb[i].fn == fn && l->cb[i].ctx == ctx)
			return (long)i;
	return -1;
}

/* Under reg.lock: a copy of the current list without entry `skip` (-1:
 * none) and with `add` appended (if not NULL); NULL if it is empty or
 * cannot be had (*rc says which). */
static struct callback_list *list_copy(long skip, const struct callback *add, int *rc)
{
	struct callback_list *old = reg.current;
	size_t n = (old ? old->n : 0) - (skip >= 0) + (add != NULL);
	*rc = GYRE_OK;
	if (n == 0)
		return NULL;
	struct callback_list *l = meta_alloc(sizeof(*l) + n * sizeof(l->cb[0]));
	if (!l) {
		*rc = GYRE_ENOMEM;
		return NULL;
	}
	*l = (struct callback_list){.n = 0};
	for (size_t i = 0; old && i < old->n; i++)
		if ((long)i != skip)
			l->cb[l->n++] = old->cb[i];
	if (add)
		l->cb[l->n++] = *add;
	return l;
}

static int change(long skip, const struct callback *add)
{
	int rc;
	struct callback_list *l = list_copy(skip, add, &rc);
	if (!rc) {
		list_retire(reg.current);
		reg.current = l;
	}
	return rc;
}

int events_add(gyre_event_fn fn, void *ctx)
{
	pthread_mutex_lock(&reg.lock);
	int rc = find(fn, ctx) >= 0 ? GYRE_EINVAL
				    : change(-1, &(struct callback){fn, ctx});
	pthread_mutex_unlock(&reg.lock);
	return rc;
}

int events_remove(gyre_event_fn fn, void *ctx)
{
	pthread_mutex_lock(&reg.lock);
	long i = find(fn, ctx);
	int rc = i < 0 ? GYRE_ENOTFOUND : change(i, NULL);
	pthread_mutex_unlock(&reg.lock);
	return rc;
}

void events_shutdown(void)
{
	pthread_mutex_lock(&reg.lock);
	list_retire(reg.current);
	reg.current = NULL;
	pthread_mutex_unlock(&reg.lock);
	atomic_store_relaxed(&reported_size, 0);
	queue.n = 0;
}
