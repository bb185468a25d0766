/*
 * sizer.c: the adaptive nursery size (see sizer.h).
 */
#include "gc/sizer.h"
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
	uint64_t pause_ns;
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

/* One step from the current one, after a window (see sizer.h). */
static unsigned decide(uint64_t pause_ns, unsigned base)
{
	unsigned s = sz.step;
	bool steep_below = s > 0 && known(s - 1) && steep(s - 1, s);
	if (s < sz.max) {
		bool steep_above = known(s + 1) ? steep(s, s + 1) : steep_below;
		if (steep_above)
			return s + 1;
	}
	if (s > 0 && !steep_below && (pause_ns > sz.target_ns / HIGH_DIV || s > base))
		return s - 1;
	if (s < base && pause_ns < sz.target_ns / LOW_DIV)
		return s + 1;
	return s;
}

size_t sizer_next(uint64_t pause_ns, size_t young, size_t survived,
		  unsigned threads)
{
	sz.n++;
	sz.threads = threads > sz.threads ? threads : sz.threads;
	sz.young += young;
	sz.survived += survived;
	sz.pause_ns += pause_ns;
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
	sz.step = decide(sz.pause_ns / sz.n, base_for(sz.threads));
	sz.n = 0;
	sz.threads = 0;
	sz.young = sz.survived = 0;
	sz.pause_ns = 0;
	return SIZER_MIN << sz.step;
}
