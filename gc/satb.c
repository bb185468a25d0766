/*
 * satb.c: the barrier's log (see satb.h). Buffers move between a thread,
 * the shared list of full ones and a spare list, under one leaf lock that
 * is never held across a safepoint.
 */
#include "gc/alloc.h"
#include "gc/mark.h"
#include "gc/satb.h"
#include "runtime/meta.h"
#include "threads/stw.h"

GYRE_API __thread struct gyre__satb gyre__satb
	__attribute__((tls_model("initial-exec")));
/* Sync: written with the world stopped; read relaxed (gyre.h). */
GYRE_API uint8_t gyre__marking;

static struct {
	pthread_mutex_t lock;    /* guards full and spare */
	struct satb_buf *full;   /* logged buffers waiting to be drained */
	struct satb_buf *spare;  /* empty buffers */
	/* Relaxed: a count for tests and the trace. */
	_Atomic size_t fallbacks;
} sq = {.lock = PTHREAD_MUTEX_INITIALIZER};

static struct satb_buf *pop(struct satb_buf **list)
{
	pthread_mutex_lock(&sq.lock);
	struct satb_buf *b = *list;
	if (b)
		*list = b->next;
	pthread_mutex_unlock(&sq.lock);
	return b;
}

static void push(struct satb_buf **list, struct satb_buf *b)
{
	pthread_mutex_lock(&sq.lock);
	b->next = *list;
	*list = b;
	pthread_mutex_unlock(&sq.lock);
}

/* The thread's buffer leaves it: to the full list if it logged anything. */
static void hand_off(struct satb_local *s)
{
	struct satb_buf *b = s->buf;
	if (!b)
		return;
	b->n = (size_t)(s->tls->cursor - b->entries);
	GYRE_ASSERT(b->n <= SATB_ENTRIES);
	push(b->n ? &sq.full : &sq.spare, b);
	s->buf = NULL;
	*s->tls = (struct gyre__satb){0};
}

GYRE_API void gyre__satb_record(void *old)
{
	struct mutator *m = mutator_current();
	if (!m || atomic_load_relaxed(&m->state) != MUTATOR_RUNNING)
		gyre_fatal("GYRE_STORE called by a thread that is %s: the "
			   "collector cannot see the pointer it overwrites",
			   m ? "inside a blocking region" : "not attached");
	struct satb_local *s = &((struct alloc_local *)m->heap_local)->satb;
	hand_off(s);
	struct satb_buf *b = pop(&sq.spare);
	if (!b)
		b = meta_alloc(sizeof(*b));
	if (!b) {
		/* No memory for a log: the entry is shaded here instead,
		 * and the remark rescans what is marked. */
		atomic_add_relaxed(&sq.fallbacks, 1);
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

bool satb_drain_full(void (*shade)(void *obj))
{
	struct satb_buf *b = pop(&sq.full);
	if (!b)
		return false;
	shade_all(b, shade);
	push(&sq.spare, b);
	return true;
}

size_t satb_fallbacks(void)
{
	return atomic_load_relaxed(&sq.fallbacks);
}

void satb_shutdown(void)
{
	for (struct satb_buf *b; (b = pop(&sq.full));)
		meta_free(b);
	for (struct satb_buf *b; (b = pop(&sq.spare));)
		meta_free(b);
	__atomic_store_n(&gyre__marking, 0, __ATOMIC_RELAXED);
}
