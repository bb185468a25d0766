/*
 * workers.h: the worker pool that runs the collector's parallel phases
 * (DESIGN.md, "The shape": worker pool, N = cores). The thread that runs a
 * job takes part in it as worker 0, so a pool of N has N - 1 threads.
 * Workers are not mutators: they run only inside a stop-the-world pause.
 */
#ifndef GYRE_WORKERS_H
#define GYRE_WORKERS_H

typedef void (*worker_fn)(unsigned id, void *arg);

/* Starts n - 1 threads. Returns GYRE_OK or GYRE_ENOMEM. */
int workers_start(unsigned n);
void workers_stop(void);
/* The number of workers, the caller included. */
unsigned workers_count(void);
/* A collection has stopped the world: sleeping workers wake and spin for
 * a few milliseconds, so that its jobs do not wait for their wake-up. */
void workers_warm(void);
/* The collection is over: workers stop spinning and sleep. */
void workers_rest(void);
/* Jobs handed to the pool since it started. For tests. */
unsigned long workers_jobs(void);
/* Runs fn(id, arg) on every worker, id 0 on the caller, and returns when
 * all have returned. Jobs do not overlap: the caller serialises them. */
void workers_run(worker_fn fn, void *arg);

#endif
