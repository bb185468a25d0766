/*
 * mutator.c: attaching and detaching threads, and the registry the
 * collector walks to find every stack (see mutator.h).
 */
#include <pthread.h>
#include <unistd.h>

#include "threads/mutator.h"
#include "threads/safepoint.h"

pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
CDS_LIST_HEAD(registry);
LOCK_RANKED(LOCK_REGISTRY, &registry_lock, 1, sizeof(pthread_mutex_t))

__thread struct mutator *mutator_self;

static int stack_top(void **hi)
{
	pthread_attr_t attr;
	void *lo;
	size_t size;
	if (pthread_getattr_np(pthread_self(), &attr) != 0)
		return GYRE_ENOMEM;
	int rc = pthread_attr_getstack(&attr, &lo, &size);
	pthread_attr_destroy(&attr);
	if (rc != 0)
		return GYRE_ENOMEM;
	*hi = (char *)lo + size;
	return GYRE_OK;
}

int mutator_register(struct mutator *m)
{
	int rc = stack_top(&m->stack_hi);
	if (rc)
		return rc;
	m->tid = gettid();
	/* Joins as BLOCKING: a collection that is stopping the world then
	 * does not wait for us, and leaving the region below waits for it. */
	atomic_store_relaxed(&m->state, MUTATOR_BLOCKING);
	context_save(&m->ctx);
	pthread_mutex_lock(&registry_lock);
	cds_list_add_tail(&m->link, &registry);
	pthread_mutex_unlock(&registry_lock);
	mutator_self = m;
	safepoint_leave_blocking(m);
	return GYRE_OK;
}

void mutator_unregister(struct mutator *m)
{
	GYRE_ASSERT(m == mutator_self);
	safepoint_enter_blocking(m);
	/* Waits here while a collection holds the registry; it does not wait
	 * for us because we are BLOCKING. */
	pthread_mutex_lock(&registry_lock);
	cds_list_del(&m->link);
	pthread_mutex_unlock(&registry_lock);
	mutator_self = NULL;
}

void mutator_after_fork_child(struct mutator *self, void (*drop)(struct mutator *m))
{
	struct mutator *m, *next;
	cds_list_for_each_entry_safe(m, next, &registry, link) {
		if (m == self)
			continue;
		cds_list_del(&m->link);
		drop(m);
	}
}

bool mutator_any_external(void)
{
	bool any = false;
	struct mutator *m;
	pthread_mutex_lock(&registry_lock);
	mutator_for_each(m)
		any |= !m->internal && !m->service;
	pthread_mutex_unlock(&registry_lock);
	return any;
}
