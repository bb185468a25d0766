/*
 * sizer.c: the adaptive nursery size (see sizer.h).
 */
#include <stdio.h>

#include "gc/young/sizer.h"
#include "runtime/config.h"
#include "runtime/internal.h"

/* The band the mean pause is kept in, as fractions of the target (see
 * sizer.h). */
#define HIGH_DIV 3
#define LOW_DIV 6
/* Generation-0 collections measured at one size before a step. */
#define WINDOW 4
/* A collection whose pause passes this many times the target ends its
 * window at once (see sizer_next). */
#define RUSH 2
/* A size's survival is trusted for this many windows after it was
 * measured. */
#define STALE 32

/* Sync: every field is the collector's, under collector.lock. */
static struct sizer {
	unsigned step, base, max;
	uint64_t target_ns;
	/* The window at the current step so far. */
	unsigned n;
	size_t young, survived;
	uint64_t pause_ns, copy_ns, wait_ns;
	unsigned threads; /* the most that allocated in one collection */
	/* Per step: the share of the nursery that survived (an average of
	 * the windows there) and the window count when it was last
	 * measured, 0 for never. */
	double survival[SIZER_STEPS];
	uint64_t measured[SIZER_STEPS];
	uint64_t windows;
} sz;

static unsigned step_of(size_t bytes)
{
	unsigned s = 0;
	while (s + 1 < SIZER_STEPS && (SIZER_MIN << (s + 1)) <= bytes)
		s++;
	return s;
}

size_t sizer_init(size_t base, size_t max, uint64_t target_ns)
{
	GYRE_ASSERT(base <= max);
	/* base <= max < SIZER_STEPS: every step taken is at most max. */
	sz = (struct sizer){.step = step_of(base), .base = step_of(base),
			  .max = step_of(max), .target_ns = target_ns};
	return SIZER_MIN << sz.step;
}

/* s <= sz.max */
static bool known(unsigned s)
{
	return sz.measured[s] && sz.windows - sz.measured[s] <= STALE;
}

/* Survival at step lo is clearly above that at the next step hi: by a
 * quarter, and by two points (survival near zero is noise). */
static bool steep(unsigned lo, unsigned hi)
{
	double a = sz.survival[lo], b = sz.survival[hi];
	return a >= 1.25 * b && a - b >= 0.02;
}

/* The base for `threads` allocating threads: one base step's size each
 * (rounded up to a power of two), at most max. */
static unsigned base_for(unsigned threads)
{
	unsigned b = sz.base;
	for (unsigned n = 1; n < threads && b < sz.max; n *= 2)
		b++;
	return b;
}

/* A collection's cost to the program as a model: a part that halves with
 * the nursery (copying what survives, copy_ns) and the rest, which does
 * not (the pause's stopping, pin pass and card preparation, releasing,
 * and the wait before it). A step down is worth its doubled count of
 * collections only if it cuts the cost of each by at least a third: if
 * copying takes at least twice the rest. */
static bool worth_shrinking(uint64_t copy_ns, uint64_t rest_ns)
{
	return copy_ns >= 2 * rest_ns;
}

/* The rest is over twice the copying, and a step up (twice the copying)
 * keeps the pause within the target: half as many collections for a
 * pause at most a third longer. Only up to the base: past it, what a
 * bigger nursery saves in pauses it loses in cache misses. */
static bool worth_growing(uint64_t pause_ns, uint64_t copy_ns, uint64_t rest_ns)
{
	return 2 * copy_ns < rest_ns && pause_ns + copy_ns <= sz.target_ns;
}

/* One step from the current one, after a window whose mean pause,
 * copying time and wait are pause_ns, copy_ns and wait_ns (see sizer.h). */
static unsigned decide(uint64_t pause_ns, uint64_t copy_ns, uint64_t wait_ns,
		       unsigned base)
{
	unsigned s = sz.step;
	uint64_t rest_ns = pause_ns - copy_ns + wait_ns; /* copy_ns <= pause_ns */
	bool steep_below = s > 0 && known(s - 1) && steep(s - 1, s);
	if (s < sz.max) {
		bool steep_above = known(s + 1) ? steep(s, s + 1) : steep_below;
		if (steep_above)
			return s + 1;
	}
	if (s > 0 && !steep_below &&
	    ((pause_ns > sz.target_ns / HIGH_DIV && worth_shrinking(copy_ns, rest_ns)) ||
	     s > base))
		return s - 1;
	if (s < base && pause_ns < sz.target_ns / LOW_DIV)
		return s + 1;
	if (s < base && worth_growing(pause_ns, copy_ns, rest_ns))
		return s + 1;
	return s;
}

size_t sizer_next(uint64_t pause_ns, uint64_t copy_ns, uint64_t wait_ns,
		  size_t young, size_t survived, unsigned threads)
{
	sz.n++;
	sz.threads = threads > sz.threads ? threads : sz.threads;
	sz.young += young;
	sz.survived += survived;
	sz.pause_ns += pause_ns;
	sz.copy_ns += copy_ns < pause_ns ? copy_ns : pause_ns;
	sz.wait_ns += wait_ns;
	/* A pause far over the target ends the window early: waiting for
	 * WINDOW of them at every step down from a large nursery that all
	 * survives (bench/churn filling its table: 8 MiB to 256 KiB in 20
	 * collections of 2-27 ms, a fifth of the run's pauses over 1 ms)
	 * would add three more such pauses per step. One collection is
	 * then the step's whole measure of survival. */
	if (sz.n < WINDOW && pause_ns <= RUSH * sz.target_ns)
		return SIZER_MIN << sz.step;
	sz.windows++;
	double share = sz.young ? (double)sz.survived / (double)sz.young : 0.0;
	sz.survival[sz.step] = known(sz.step) ? (sz.survival[sz.step] + share) / 2
					      : share;
	sz.measured[sz.step] = sz.windows;
	unsigned from = sz.step;
	sz.step = decide(sz.pause_ns / sz.n, sz.copy_ns / sz.n, sz.wait_ns / sz.n,
			 base_for(sz.threads));
	if (gyre_cfg.trace && sz.step != from)
		fprintf(stderr, "gyre: sizer %zu -> %zu KiB: mean pause %.3f ms (copying %.3f), "
			"wait %.3f ms, survived %.0f%%\n", (SIZER_MIN << from) >> 10,
			(SIZER_MIN << sz.step) >> 10, sz.pause_ns / sz.n / 1e6,
			sz.copy_ns / sz.n / 1e6, sz.wait_ns / sz.n / 1e6, 100 * share);
	sz.n = 0;
	sz.threads = 0;
	sz.young = sz.survived = 0;
	sz.pause_ns = sz.copy_ns = sz.wait_ns = 0;
	return SIZER_MIN << sz.step;
}
