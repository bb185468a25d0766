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
 *
 * Joins in a child under ThreadSanitizer (fork_join). GCC 12's TSan
 * runtime (libtsan.so.2) keeps, in a child of a multi-threaded fork, the
 * parent's other threads in its registry as running, each under its
 * pthread_t; glibc's fork puts their stacks in its stack cache, and the
 * child's new threads get them, and with them the same pthread_t (the
 * address of the thread's descriptor, at the top of its stack). TSan's
 * pthread_join looks the thread up by pthread_t (ThreadConsumeTid), finds
 * the parent's dead thread and the new one, and dies: "ThreadSanitizer: dup
 * thread with used id". LLVM's runtime drops the ids of the parent's
 * threads at fork (ThreadRegistry::OnFork, in clang 14's runtime already:
 * the same program passes there); GCC 12's has no such step. In that child
 * TSan has stopped checking the forking thread anyway (ForkChildAfter, for
 * a multi-threaded fork: it ignores that thread's accesses and
 * synchronisation and suppresses its reports, "in the hope that we will
 * exec soon"), so fork_join calls libc's own pthread_join there, past
 * TSan's interceptor: TSan does not see the join, and the forking thread's
 * join was not checked anyway. (A join by a thread the child created
 * itself loses the join's ordering in TSan's eyes; gyre's joins are in
 * gyre_shutdown and in a failed start, on the thread that calls them.)
 */
#include <pthread.h>
#if defined(__SANITIZE_THREAD__)
#include <dlfcn.h>
#endif

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

#if defined(__SANITIZE_THREAD__)
/* This process is a child of an armed fork (fork.c, "Joins in a child").
 * Sync: written by the child handler while the child has one thread; the
 * threads it creates later read it after pthread_create, which orders the
 * write before them. Relaxed. */
static _Atomic bool in_child;
/* libc's pthread_join, found in libc's own scope, or NULL. Sync: written
 * once by install (pthread_once orders it before every later call). */
static int (*libc_join)(pthread_t, void **);
#endif

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
#if defined(__SANITIZE_THREAD__)
	atomic_store_relaxed(&in_child, true);
#endif
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
#if defined(__SANITIZE_THREAD__)
	void *libc = dlopen("libc.so.6", RTLD_LAZY | RTLD_NOLOAD);
	if (libc)
		libc_join = (int (*)(pthread_t, void **))dlsym(libc, "pthread_join");
#endif
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

int fork_join(pthread_t t, void **ret)
{
#if defined(__SANITIZE_THREAD__)
	if (atomic_load_relaxed(&in_child) && libc_join)
		return libc_join(t, ret);
#endif
	return pthread_join(t, ret);
}
