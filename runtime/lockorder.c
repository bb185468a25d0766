/*
 * lockorder.c: the table of ranked locks, the checked builds' rank check,
 * and fork's walk over every lock in order (see lockorder.h).
 */
#include <stdint.h>

#include "runtime/internal.h"

static const char *const names[LOCK_RANKS] = {
	[LOCK_COLLECTOR] = "collector",
	[LOCK_REGISTRY] = "mutator registry",
	[LOCK_FINAL_REGISTRY] = "finalizer registry",
	[LOCK_FINAL_QUEUE] = "finalizer queue",
	[LOCK_ROOT_AREAS] = "root areas",
	[LOCK_HANDLES] = "handles",
	[LOCK_TYPES] = "types",
	[LOCK_LARGE] = "large objects",
	[LOCK_CLASS] = "size-class list",
	[LOCK_HEAP] = "heap",
	[LOCK_NURSERY] = "nursery",
	[LOCK_PREFAULT] = "memory thread",
	[LOCK_SATB] = "SATB lists",
	[LOCK_MARK_PARTIAL] = "mark partial",
	[LOCK_PIN] = "pin",
	[LOCK_MARKER] = "collector thread",
	[LOCK_WORKERS] = "workers",
	[LOCK_STATS] = "stats",
	[LOCK_STW] = "stop-the-world",
};

/* The locks of each rank. Sync: written by load-time constructors, before
 * any thread but the first exists; read-only afterwards. */
static struct {
	char *first;
	size_t n, stride;
} ranked[LOCK_RANKS];

/* The ranks the calling thread holds, a bit each. */
static __thread uint32_t held;

_Static_assert(LOCK_RANKS <= 32, "a rank is a bit of `held`");

void lockorder_add(enum lock_rank r, pthread_mutex_t *first, size_t n, size_t stride)
{
	ranked[r].first = (char *)first;
	ranked[r].n = n;
	ranked[r].stride = stride;
}

static pthread_mutex_t *lock_at(enum lock_rank r, size_t i)
{
	return (pthread_mutex_t *)(ranked[r].first + i * ranked[r].stride);
}

/* m's rank, or LOCK_RANKS if it has none. */
static enum lock_rank rank_of(const pthread_mutex_t *m)
{
	const char *p = (const char *)m;
	for (unsigned r = 0; r < LOCK_RANKS; r++) {
		const char *first = ranked[r].first;
		if (first && p >= first && p < first + ranked[r].n * ranked[r].stride &&
		    (size_t)(p - first) % ranked[r].stride == 0)
			return (enum lock_rank)r;
	}
	return LOCK_RANKS;
}

void lockorder_taking(pthread_mutex_t *m)
{
	enum lock_rank r = rank_of(m);
	if (r == LOCK_RANKS || !(held >> r))
		return;
	unsigned top = 31 - (unsigned)__builtin_clz(held);
	gyre_fatal("lock order [INV-LOCK-ORDER]: taking the %s lock (rank %u) while "
		   "holding the %s lock (rank %u)", names[r], r, names[top], top);
}

void lockorder_took(pthread_mutex_t *m)
{
	enum lock_rank r = rank_of(m);
	if (r != LOCK_RANKS)
		held |= UINT32_C(1) << r;
}

void lockorder_dropped(pthread_mutex_t *m)
{
	enum lock_rank r = rank_of(m);
	if (r != LOCK_RANKS)
		held &= ~(UINT32_C(1) << r);
}

/* fork leaves the size-class lists' locks (68 of them) alone: only a
 * pause, or a RUNNING thread between two safepoints (the lazy sweep),
 * takes one, and fork holds the collector lock with the world stopped, so
 * none is held. Taking them too would hold more locks than TSan's
 * deadlock detector can track in one thread (64). */
static bool fork_takes(unsigned r)
{
	return r != LOCK_CLASS;
}

/* Locks of one rank are never held two at a time by anyone else, so any
 * order among them does. */
void lockorder_lock_from(enum lock_rank from)
{
	GYRE_ASSERT(!(held >> from));
	for (unsigned r = from; r < LOCK_RANKS; r++) {
		if (!fork_takes(r))
			continue;
		GYRE_ASSERT(ranked[r].first);
		for (size_t i = 0; i < ranked[r].n; i++)
			(pthread_mutex_lock)(lock_at(r, i));
		held |= UINT32_C(1) << r;
	}
}

void lockorder_unlock_from(enum lock_rank from)
{
	for (unsigned r = LOCK_RANKS; r-- > from;) {
		if (!fork_takes(r))
			continue;
		for (size_t i = ranked[r].n; i-- > 0;)
			(pthread_mutex_unlock)(lock_at(r, i));
		held &= ~(UINT32_C(1) << r);
	}
}
