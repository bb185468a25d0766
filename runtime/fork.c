/*
 * fork.c: fork safety, built in (gyre.h, "fork"; DESIGN.md, "Threads,
 * safepoints, handshakes"). gyre_init installs pthread_atfork handlers:
 *
 *   prepare  take the collector lock (a RUNNING thread waits for it in a
 *            blocking region: a pause in progress finishes first, without
 *            it) · stop the world · take every other lock in rank order
 *            [INV-LOCK-ORDER]
 *   parent   drop them · restart the world · drop the collector lock
 *   child    condition variables afresh · drop the locks · every other
 *            mutator leaves · restart the world · gyre's threads anew
 *
 * Why stop the world and not only take the locks: a thread that allocates
 * or stores holds no lock (the bump and the barrier are inline), and the
 * child must find every nursery buffer, log buffer and unit of marking or
 * sweeping whole. A stopped world is exactly that state: every other
 * thread is at a safepoint or in a blocking region, gyre's collector
 * thread between two units of work. The parent pays one stop (no
 * collection) per fork.
 *
 * What the child inherits: the whole heap, as data. The forking thread is
 * its only attached thread (none if it was not attached). The other
 * threads' nursery buffers are retired, their blocks left in the nursery
 * (what the child reaches survives its next collection, the rest is
 * garbage), and their log entries go to the shared list (a cycle that was
 * marking still needs them); their stacks are no longer roots. Handles,
 * root areas, types, finalizers and weak references are process-wide and
 * stay. A concurrent cycle or lazy sweep in progress is carried on by the
 * child's new collector thread.
 *
 * gyre's threads are started again in the child handler itself, not when
 * first needed: the child is then in the same state as after gyre_init,
 * and no code path has to ask whether they exist. A child that only calls
 * exec pays for starting them (tens of microseconds each).
 */
#include <pthread.h>

#include "gc/young/alloc.h"
#include "gc/driver/collect.h"
#include "gc/final/final.h"
#include "gc/old/marker.h"
#include "gc/heap/prefault.h"
#include "runtime/atomics.h"
#include "runtime/critical.h"
#include "runtime/fork.h"
#include "runtime/meta.h"
#include "threads/safepoint.h"
#include "threads/workers.h"

/* gyre is up: forks go through it. Sync: written by gyre_init and
 * gyre_shutdown, which must not run while another thread forks; relaxed. */
static _Atomic bool armed;

/* Whether this thread's prepare handler took gyre's locks (it was armed),
 * for the parent or child handler of the same fork, which run on the same
 * thread. */
static __thread bool forking;

static void prepare(void)
{
	forking = atomic_load_relaxed(&armed);
	if (!forking)
		return;
	struct mutator *m = mutator_current();
	collect_fork_lock(m);
	if (m && atomic_load_relaxed(&m->state) == MUTATOR_RUNNING) {
		/* stw_stop_world wants it; nothing scans it, as no collection
		 * runs. */
		context_save(&m->ctx);
		stw_stop_world(m);
	} else {
		/* Not attached, or in a blocking region: as a thread that is
		 * not one of the stopped (a blocking one counts as stopped). */
		stw_stop_world(NULL);
	}
	lockorder_lock_from(LOCK_REGISTRY + 1);
}

static void parent(void)
{
	if (!forking)
		return;
	lockorder_unlock_from(LOCK_REGISTRY + 1);
	stw_start_world();
	collect_fork_unlock();
}

/* Another thread's mutator, in the child: what it allocated stays as
 * data, its log entries go to the shared list. gyre_thread_attach
 * allocated the embedder's; gyre's own are static. */
static void drop(struct mutator *m)
{
	if (m->heap_local)
		alloc_detach(m);
	if (!m->internal && !m->service)
		meta_free(m);
}

static void child(void)
{
	if (!forking)
		return;
	struct mutator *self = mutator_current();
	stw_after_fork_child();
	lockorder_unlock_from(LOCK_REGISTRY + 1);
	mutator_after_fork_child(self, drop);
	stw_start_world();
	collect_after_fork_child(self ? self->disable_depth : 0);
	critical_after_fork_child();
	/* While the collector lock is held no collection needs them. */
	workers_after_fork_child();
	prefault_after_fork_child();
	collect_fork_unlock();
	/* The new threads attach, and the collector thread may then stop
	 * the world at once: a RUNNING forking thread waits for them in a
	 * blocking region. */
	bool running = self && atomic_load_relaxed(&self->state) == MUTATOR_RUNNING;
	if (running)
		safepoint_enter_blocking(self);
	marker_after_fork_child();
	final_after_fork_child(self && self->service);
	if (running)
		safepoint_leave_blocking(self);
}

static pthread_once_t installed = PTHREAD_ONCE_INIT;
static int install_rc;

static void install(void)
{
	install_rc = pthread_atfork(prepare, parent, child) ? GYRE_ENOMEM : GYRE_OK;
}

int fork_arm(void)
{
	pthread_once(&installed, install);
	if (!install_rc)
		atomic_store_relaxed(&armed, true);
	return install_rc;
}

void fork_disarm(void)
{
	atomic_store_relaxed(&armed, false);
}
