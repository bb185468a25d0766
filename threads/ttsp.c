/*
 * ttsp.c: time to safepoint (see ttsp.h). A thread that was already
 * stopped (blocking, or parked since an earlier stop [INV-STW-FAIR]) when
 * the stop was requested counts 0. The slowest thread is named only when
 * the stop is slow: reading another thread's name opens its /proc entry
 * (tens of microseconds), too much for every stop, little beside one over
 * the threshold. It is read with the world still stopped, while the
 * thread certainly exists (it is attached, and the registry is held):
 * read at delivery instead, the name of a thread that had exited since
 * (the test's spinner, 1 run in 15) was lost.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "runtime/config.h"
#include "runtime/events.h"
#include "threads/ttsp.h"

/* Sync: written by the stop's initiator under registry_lock (one at a
 * time); read relaxed by gyre_stats_get, each counter on its own. */
static struct {
	_Atomic uint64_t histogram[GYRE_PAUSE_BUCKETS];
	_Atomic uint64_t max_ns;
	_Atomic uint64_t slow_stops;
} ttsp;

void ttsp_reset(void)
{
	for (unsigned i = 0; i < GYRE_PAUSE_BUCKETS; i++)
		atomic_store_relaxed(&ttsp.histogram[i], 0);
	atomic_store_relaxed(&ttsp.max_ns, 0);
	atomic_store_relaxed(&ttsp.slow_stops, 0);
}

/* The name (pthread_setname_np) of the thread with kernel id `tid`, or
 * "" if it cannot be read. */
static void thread_name(int tid, char name[16])
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/task/%d/comm", tid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, name, 15) : 0;
	if (fd >= 0)
		close(fd);
	n = n > 0 ? n : 0;
	/* comm ends with a newline. */
	if (n > 0 && name[n - 1] == '\n')
		n--;
	name[n] = '\0';
}

static void report(const struct mutator *m, uint64_t ns, uint64_t requested_ns)
{
	gyre_event ev = {.kind = GYRE_EVENT_SLOW_SAFEPOINT, .generation = -1,
			 .time_ns = requested_ns,
			 .pause_ns = gyre_now_ns() - requested_ns, .ttsp_ns = ns,
			 .thread_id = m->tid};
	thread_name(m->tid, ev.thread_name);
	atomic_add_relaxed(&ttsp.slow_stops, 1);
	events_queue(&ev);
}

void ttsp_measure(const struct mutator *self, uint64_t requested_ns)
{
	const struct mutator *slowest = NULL;
	uint64_t slowest_ns = 0;
	struct mutator *m;
	mutator_for_each(m) {
		if (m == self)
			continue;
		/* Relaxed: the stamp was stored before the thread's seq_cst
		 * store of its stopped state, which stw_stop_world has
		 * loaded (seq_cst), so it is visible. */
		uint64_t at = atomic_load_relaxed(&m->stopped_ns);
		uint64_t ns = at > requested_ns ? at - requested_ns : 0;
		atomic_add_relaxed(&ttsp.histogram[gyre_us_bucket(ns)], 1);
		if (ns >= slowest_ns) {
			slowest_ns = ns;
			slowest = m;
		}
	}
	if (slowest_ns > atomic_load_relaxed(&ttsp.max_ns))
		atomic_store_relaxed(&ttsp.max_ns, slowest_ns);
	if (slowest && slowest_ns >= (uint64_t)gyre_cfg.ttsp_threshold_us * 1000)
		report(slowest, slowest_ns, requested_ns);
}

void ttsp_read(gyre_stats *out)
{
	for (unsigned i = 0; i < GYRE_PAUSE_BUCKETS; i++)
		out->ttsp_histogram[i] = atomic_load_relaxed(&ttsp.histogram[i]);
	out->ttsp_max_ns = atomic_load_relaxed(&ttsp.max_ns);
	out->slow_stops = atomic_load_relaxed(&ttsp.slow_stops);
}
