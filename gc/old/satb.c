/*
 * satb.c: the barrier's log (see satb.h). Buffers move between a thread,
 * the shared list of full ones and a spare list, under one leaf lock that
 * is never held across a safepoint.
 */
#include "gc/young/alloc.h"
#include "gc/driver/collect.h"
#include "gc/old/mark.h"
#include "gc/old/satb.h"
#include "runtime/meta.h"
#include "threads/stw.h"

GYRE_API __thread struct gyre__satb gyre__satb
	__attribute__((tls_model("initial-exec")));
/* Sync: written with the world stopped; read relaxed (gyre.h). */
GYRE_API uint8_t gyre__marking;

/* Full buffers on the shared list past which the storing threads stop
 * logging ahead of the collector thread and end the cycle instead (4 MiB
 * of log). */
#define BACKLOG_MAX 1024

static struct {
	pthread_mutex_t lock;    /* guards full, nfull and spare */
	struct satb_buf *full;   /* logged buffers waiting to be drained */
	size_t nfull;
	struct satb_buf *spare;  /* empty buffers */
} sq = {.lock = PTHREAD_MUTEX_INITIALIZER};
LOCK_RANKED(LOCK_SATB, &sq.lock, 1, sizeof(pthread_mutex_t))

static struct satb_buf *pop(struct satb_buf **list)
{
	pthread_mutex_lock(&sq.lock);
	struct satb_buf *b = *list;
	if (b) {
		*list = b->next;
		sq.nfull -= list == &sq.full;
	}
	pthread_mutex_unlock(&sq.lock);
	return b;
}

/* Returns the number of full buffers afterwards. */
static size_t push(struct satb_buf **list, struct satb_buf *b)
{
	pthread_mutex_lock(&sq.lock);
	b->next = *list;
	*list = b;
	sq.nfull += list == &sq.full;
	size_t nfull = sq.nfull;
	pthread_mutex_unlock(&sq.lock);
	return nfull;
}

/* The thread's buffer leaves it: to the full list if it logged anything.
 * Returns the number of full buffers. */
static size_t hand_off(struct satb_local *s)
{
	struct satb_buf *b = s->buf;
	if (!b)
		return 0;
	b->n = (size_t)(s->tls->cursor - b->entries);
	GYRE_ASSERT(b->n <= SATB_ENTRIES);
	s->buf = NULL;
	*s->tls = (struct gyre__satb){0};
	return push(b->n ? &sq.full : &sq.spare, b);
}

/* Drops the entries the collector no longer needs (young objects, old ones
 * already marked), on the thread that logged them: a program that keeps
 * overwriting the same fields then logs little. Valid between two pauses,
 * which is when the entries were logged. Returns the entries kept. */
static size_t filter(struct satb_buf *b, size_t n)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (mark_old_wanted(b->entries[i]))
			b->entries[k++] = b->entries[i];
	return k;
}

GYRE_API void gyre__satb_record(void *old)
{
	struct mutator *m = mutator_current();
	if (!m || atomic_load_relaxed(&m->state) != MUTATOR_RUNNING)
		gyre_fatal("GYRE_STORE called by a thread that is %s: the "
			   "collector cannot see the pointer it overwrites",
			   m ? "inside a blocking region" : "not attached");
	struct satb_local *s = &((struct alloc_local *)m->heap_local)->satb;
	if (s->buf) {
		size_t k = filter(s->buf, (size_t)(s->tls->cursor - s->buf->entries));
		if (k < SATB_ENTRIES / 2) {
			s->buf->entries[k] = old;
			s->tls->cursor = s->buf->entries + k + 1;
			return;
		}
		s->tls->cursor = s->buf->entries + k;
	}
	if (hand_off(s) > BACKLOG_MAX) {
		/* The collector thread cannot keep up with this log: the
		 * rest of the marking happens in a pause. If that ended the
		 * cycle, `old` is not logged: the store has not happened, so
		 * the pause saw `old` in its field, and a later cycle must
		 * not shade an object that may be freed by then. */
		collect_end_cycle_early(m);
		if (!satb_active())
			return;
	}
	struct satb_buf *b = pop(&sq.spare);
	if (!b)
		b = meta_alloc(sizeof(*b));
	if (!b) {
		/* No memory for a log: the entry is shaded here instead,
		 * and the remark rescans what is marked. */
		mark_old_shade_lost(old);
		return;
	}
	s->buf = b;
	b->entries[0] = old;
	*s->tls = (struct gyre__satb){b->entries + 1, b->entries + SATB_ENTRIES};
}

void satb_attach(struct satb_local *s)
{
	s->tls = &gyre__satb;
	*s->tls = (struct gyre__satb){0};
	s->buf = NULL;
}

void satb_detach(struct satb_local *s)
{
	hand_off(s);
}

void satb_start(void)
{
	GYRE_ASSERT(stw_world_stopped());
	__atomic_store_n(&gyre__marking, 1, __ATOMIC_RELAXED);
}

void satb_stop(void)
{
	GYRE_ASSERT(stw_world_stopped() && !sq.full);
	__atomic_store_n(&gyre__marking, 0, __ATOMIC_RELAXED);
	struct mutator *m;
	mutator_for_each(m) {
		struct alloc_local *a = m->heap_local;
		if (a)
			hand_off(&a->satb);
	}
	/* Marking is off until the next cycle: give the memory back. */
	for (struct satb_buf *b; (b = pop(&sq.spare));)
		meta_free(b);
}

static void shade_all(struct satb_buf *b, void (*shade)(void *obj))
{
	for (size_t i = 0; i < b->n; i++)
		shade(b->entries[i]);
}

void satb_drain_all(void (*shade)(void *obj))
{
	GYRE_ASSERT(stw_world_stopped());
	struct mutator *m;
	mutator_for_each(m) {
		struct alloc_local *a = m->heap_local;
		if (!a || !a->satb.buf)
			continue;
		struct satb_buf *b = a->satb.buf;
		b->n = (size_t)(a->satb.tls->cursor - b->entries);
		shade_all(b, shade);
		a->satb.tls->cursor = b->entries;
	}
	for (struct satb_buf *b; (b = pop(&sq.full));) {
		shade_all(b, shade);
		push(&sq.spare, b);
	}
}

bool satb_backlogged(void)
{
	pthread_mutex_lock(&sq.lock);
	bool backlogged = sq.nfull > BACKLOG_MAX;
	pthread_mutex_unlock(&sq.lock);
	return backlogged;
}

bool satb_drain_full(void (*shade)(void *obj))
{
	struct satb_buf *b = pop(&sq.full);
	if (!b)
		return false;
	shade_all(b, shade);
	push(&sq.spare, b);
	return true;
}

void satb_shutdown(void)
{
	for (struct satb_buf *b; (b = pop(&sq.full));)
		meta_free(b);
	for (struct satb_buf *b; (b = pop(&sq.spare));)
		meta_free(b);
	__atomic_store_n(&gyre__marking, 0, __ATOMIC_RELAXED);
}
