/*
 * critical.h: no-GC regions with a budget (gyre_critical_begin; issue 20,
 * item 1). The regions open at one time form a *window*: it opens with
 * the first region (taking one gyre_disable for all of them, so that
 * [INV-DISABLE] keeps every automatic collection out), sums the budgets
 * of the regions opened in it, counts what threads take from the heap
 * meanwhile (critical_charge, on the allocation slow path), and closes
 * with the last region (giving the disable back). A window whose budget
 * runs out under the default policy gives its disable back at once and
 * is replaced by a fresh one: its regions learn at their end, from their
 * window's number, that their guarantee ended.
 */
#ifndef GYRE_CRITICAL_H
#define GYRE_CRITICAL_H

#include <stdatomic.h>
#include <stddef.h>

#include "runtime/atomics.h"
#include "threads/mutator.h"

/* Regions a thread may nest. */
#define CRITICAL_DEPTH_MAX 32

/* Regions open in the current window, all threads. Sync: written under
 * critical.c's lock; read relaxed by critical_charge as a hint (re-read
 * under the lock): an allocation that races with the first begin may go
 * uncounted, one buffer per thread at most. */
extern _Atomic unsigned critical_open;

/* gyre_init: no window, figures zeroed. */
void critical_reset(void);
/* A region of `budget` bytes for the calling thread `m` (RUNNING, below
 * CRITICAL_DEPTH_MAX deep, budget checked), collecting first if the heap
 * lacks the room and no window is open. GYRE_OK or GYRE_ENOMEM. */
int critical_begin(struct mutator *m, size_t budget);
/* Closes the calling thread's innermost region (one is open): GYRE_OK,
 * or GYRE_EBUDGET if its window's budget ran out. */
int critical_end(void);
/* Regions open on the calling thread. */
unsigned critical_depth(void);
/* A thread that exits attached: its regions close. */
void critical_close_all(void);
/* fork's child: only the forking thread's regions are left open. Called
 * after collect_after_fork_child, which reset the disables. */
void critical_after_fork_child(void);
/* gyre_stats' critical_* figures. */
void critical_read(gyre_stats *out);

int critical_charge_slow(size_t bytes);

/* The allocation slow path, about to take `bytes` from the heap (a
 * nursery buffer, or a large object): counts them against the window's
 * budget. GYRE_OK, or GYRE_EBUDGET (the critical_fail policy: the
 * allocation must fail; the last error is set). */
static inline int critical_charge(size_t bytes)
{
	if (GYRE_LIKELY(!atomic_load_relaxed(&critical_open)))
		return GYRE_OK;
	return critical_charge_slow(bytes);
}

#endif
