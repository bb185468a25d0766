/*
 * marker.c: the collector thread (see marker.h). It is attached like a
 * mutator, so that every pause stops it, but `internal`: it holds no
 * roots. Between two safepoint polls it works on whole units only (a
 * batch of grey objects, one log buffer, a chunk of blocks to sweep), so
 * a pause never finds it holding an object that is not on the grey stack
 * or in a buffer, or a block half swept. After each cycle it sweeps
 * generation 2 (the lazy sweep, sweep.h).
 */

#include "gc/driver/collect.h"
#include "gc/driver/limit.h"
#include "gc/old/mark.h"
#include "gc/old/marker.h"
#include "gc/old/satb.h"
#include "gc/old/sweep.h"
#include "runtime/fork.h"
#include "threads/safepoint.h"

/* Pointer fields scanned between two safepoint polls (large arrays are
 * scanned in chunks). In a generation 2 larger than the cache most fields
 * lead to a cache miss, 100-200 ns each, so a step of 256 takes tens of
 * microseconds: a pause waits that long for the collector thread at most,
 * and a mutator it displaced on a busy machine gets its core back as
 * soon. 2048 gave time-to-stop p99 of 2-3 ms in bench/churn. */
#define STEP_FIELDS 256
/* How long to wait before asking again for a remark that was called off
 * because automatic collection was disabled (or, held, before looking
 * again). */
#define DISABLED_RETRY_NS 1000000
/* How long to wait for another thread's last chunk of the lazy sweep. */
#define SWEEP_WAIT_NS 50000

static struct {
	pthread_t thread;
	bool running;             /* gyre_init and gyre_shutdown only */
	pthread_mutex_t lock;     /* guards pending and quit, with wake */
	pthread_cond_t wake;
	bool pending;             /* a cycle started since the last look */
	/* Relaxed reads in the cycle loop; written under `lock`. */
	_Atomic bool quit;
	/* marker_hold. A test hook, polled: relaxed, but for the release
	 * that ends a hold of the sweep, acquired by sweep_old, so that what
	 * the test read of the unswept heap happens before the sweep. */
	_Atomic bool held;
	bool attach_done;         /* attach_rc is known; under `lock` */
	int attach_rc;            /* the thread's mutator_register result */
	struct mutator self;
} mt = {.lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER};
LOCK_RANKED(LOCK_MARKER, &mt.lock, 1, sizeof(pthread_mutex_t))

/* Traces until the cycle ends: by this thread's remark, or by a pause
 * another thread ran (gyre_collect(2), a full heap). Its steps' time
 * counts towards the memory limit's cap on the collector's share (its
 * polls, naps and the remark's pause, counted as a pause, do not). */
static void trace_cycle(struct mutator *m)
{
	uint64_t cycle = mark_old_cycle(), work = 0;
	while (!atomic_load_relaxed(&mt.quit)) {
		safepoint_poll(m);
		if (!mark_old_active() || mark_old_cycle() != cycle)
			break;
		if (atomic_load_relaxed(&mt.held)) {
			safepoint_nap(m, DISABLED_RETRY_NS);
			continue;
		}
		/* One log buffer, then a step of tracing: neither starves
		 * the other. */
		uint64_t t0 = gyre_now_ns();
		bool drained = satb_drain_full(mark_old_shade);
		bool more = !mark_old_step(STEP_FIELDS) || drained || mark_old_ephemerons();
		work = limit_note_work(work, t0);
		if (more)
			continue;
		if (!collect_remark(m, cycle))
			safepoint_nap(m, DISABLED_RETRY_NS);
	}
	limit_note_gc(work);
}

/* After a cycle: sweeps generation 2 while the program runs, a chunk
 * between two safepoint polls (sweep.h), then hands the figures over.
 * When no chunk is left to claim but the sweep is not over, another
 * thread (one that found the heap full) is sweeping the last ones: it
 * waits for them, and claims again, since by then pauses may have
 * ended that sweep, and a cycle begun and ended since may have left a
 * new one. */
static void sweep_old(struct mutator *m)
{
	while (!atomic_load_relaxed(&mt.quit) && sweep_old_pending() &&
	       atomic_load_explicit(&mt.held, memory_order_acquire))
		safepoint_nap(m, DISABLED_RETRY_NS);
	uint64_t work = 0;
	while (!atomic_load_relaxed(&mt.quit) && sweep_old_pending()) {
		uint64_t t0 = gyre_now_ns();
		bool swept = sweep_old_step();
		work = limit_note_work(work, t0);
		if (swept)
			safepoint_poll(m);
		else
			safepoint_nap(m, SWEEP_WAIT_NS);
	}
	limit_note_gc(work);
	collect_sweep_end(m);
}

/* Waits, blocking, for a cycle or for the order to quit; true to quit. */
static bool wait_for_work(struct mutator *m)
{
	safepoint_enter_blocking(m);
	pthread_mutex_lock(&mt.lock);
	while (!mt.pending && !atomic_load_relaxed(&mt.quit))
		pthread_cond_wait(&mt.wake, &mt.lock);
	mt.pending = false;
	bool quit = atomic_load_relaxed(&mt.quit);
	pthread_mutex_unlock(&mt.lock);
	safepoint_leave_blocking(m);
	return quit;
}

static void *marker_main(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "gyre-marker");
	struct mutator *m = &mt.self;
	int rc = mutator_register(m);
	pthread_mutex_lock(&mt.lock);
	mt.attach_rc = rc;
	mt.attach_done = true;
	pthread_cond_broadcast(&mt.wake);
	pthread_mutex_unlock(&mt.lock);
	if (rc)
		return NULL;
	while (!wait_for_work(m)) {
		trace_cycle(m);
		sweep_old(m);
	}
	mutator_unregister(m);
	return NULL;
}

int marker_start(void)
{
	mt.self = (struct mutator){.internal = true};
	mt.pending = false;
	mt.attach_done = false;
	atomic_store_relaxed(&mt.quit, false);
	atomic_store_relaxed(&mt.held, false);
	if (pthread_create(&mt.thread, NULL, marker_main, NULL))
		return GYRE_ENOMEM;
	pthread_mutex_lock(&mt.lock);
	while (!mt.attach_done)
		pthread_cond_wait(&mt.wake, &mt.lock);
	int rc = mt.attach_rc;
	pthread_mutex_unlock(&mt.lock);
	if (rc) {
		fork_join(mt.thread, NULL);
		return GYRE_ENOMEM;
	}
	mt.running = true;
	return GYRE_OK;
}

void marker_stop(void)
{
	if (!mt.running)
		return;
	pthread_mutex_lock(&mt.lock);
	atomic_store_relaxed(&mt.quit, true);
	pthread_cond_broadcast(&mt.wake);
	pthread_mutex_unlock(&mt.lock);
	fork_join(mt.thread, NULL);
	mt.running = false;
}

void marker_after_fork_child(void)
{
	if (!mt.running)
		return;
	pthread_cond_init(&mt.wake, NULL);
	mt.running = false;
	if (marker_start())
		gyre_fatal("fork: the child cannot start gyre's collector thread");
	marker_wake();
}

void marker_wake(void)
{
	pthread_mutex_lock(&mt.lock);
	mt.pending = true;
	pthread_cond_broadcast(&mt.wake);
	pthread_mutex_unlock(&mt.lock);
}

void marker_hold(bool hold)
{
	atomic_store_explicit(&mt.held, hold, memory_order_release);
}
