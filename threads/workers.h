/*
 * workers.h: the worker pool that runs the collector's parallel phases
 * (DESIGN.md, "The shape": worker pool, N = cores). The thread that runs a
 * job takes part in it as worker 0, so a pool of N has N - 1 threads.
 * Workers are not mutators: they run only inside a stop-the-world pause.
 */
#ifndef GYRE_WORKERS_H
#define GYRE_WORKERS_H

#include <stdbool.h>

typedef void (*worker_fn)(unsigned id, void *arg);

/* Starts n - 1 threads. Returns GYRE_OK or GYRE_ENOMEM. */
int workers_start(unsigned n);
void workers_stop(void);
/* fork's child, no job running (the forking thread held the collector
 * lock): the pool's threads exist only in the parent; a pool of the same
 * size starts here. Returns GYRE_OK or GYRE_ENOMEM (then the pool is the
 * caller alone: jobs run whole on it). */
int workers_after_fork_child(void);
/* The number of workers, the caller included. */
unsigned workers_count(void);
/* A collection has stopped the world: sleeping workers wake and spin for
 * a few milliseconds, so that its jobs do not wait for their wake-up. */
void workers_warm(void);
/* The collection is over: workers stop spinning and sleep. */
void workers_rest(void);
/* Jobs handed to the pool since it started. For tests. */
unsigned long workers_jobs(void);
/* Test hook: while held, pool threads take no share, so every job runs
 * whole on its caller, as if they were never scheduled. */
void workers_hold(bool held);
/* Runs fn(id, arg) once for every id in [0, workers_count()), and returns
 * when all have returned. Id 0 runs on the caller; each other id on the
 * first thread to claim it: a pool thread, or the caller once its own is
 * done, so a job never waits for a thread that has not started. A share
 * must not depend on the thread it runs on, nor wait for another share
 * to start (workers_help is how it waits). Jobs do not overlap: the
 * caller serialises them. */
void workers_run(worker_fn fn, void *arg);
/* Inside a job: runs one share that no thread has claimed yet, on this
 * thread, and returns true; false if every share is claimed (and outside
 * a job). For a share that waits for the others to finish. */
bool workers_help(void);

#endif
