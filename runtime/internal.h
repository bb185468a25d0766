/*
 * internal.h: what every gyre source file shares and nothing outside gyre may
 * see: the build's check level, assertions, misuse reporting, the
 * thread-local last error and symbol visibility. Public declarations come
 * from gyre.h; this header must not be installed.
 */
#ifndef GYRE_INTERNAL_H
#define GYRE_INTERNAL_H

#ifndef GYRE_BUILDING
#error "runtime/internal.h is private to gyre; include <gyre.h> instead"
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gyre.h"

/* GYRE_DEBUG is a constant (0 or 1) set by the meson option `checks`, so that
 * debug code is always compiled and `if (GYRE_DEBUG)` folds away. */
#ifndef GYRE_DEBUG
#error "GYRE_DEBUG must be defined by the build (meson option 'checks')"
#endif

/* The public API is the only exported surface (-fvisibility=hidden). */
#define GYRE_API __attribute__((visibility("default")))

#define GYRE_LIKELY(x) __builtin_expect(!!(x), 1)
#define GYRE_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define GYRE_NOINLINE __attribute__((noinline))

/* Internal invariants: checked when GYRE_DEBUG, compiled always. */
#define GYRE_ASSERT(cond)                                                      \
	do {                                                                   \
		if (GYRE_DEBUG && GYRE_UNLIKELY(!(cond)))                      \
			gyre_assert_fail(#cond, __FILE__, __LINE__, __func__); \
	} while (0)

_Noreturn void gyre_assert_fail(const char *cond, const char *file, int line,
				const char *func);

/* A broken invariant found at run time (by the heap verifier, or a fatal
 * system error): prints "gyre: fatal: ..." and aborts, in every build. */
_Noreturn void gyre_fatal(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

/* A misuse of the API by the embedder: records `status` as the thread's last
 * error and returns it; with checks on, prints "gyre: misuse: <fn>: ..." and
 * aborts instead. `fn` is the public function the embedder called. */
int gyre_misuse(int status, const char *fn, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* A failure that is not a misuse (out of memory): records it, returns it. */
int gyre_fail(int status);

/* Monotonic clock in nanoseconds. */
uint64_t gyre_now_ns(void);

/* The bucket of a log2 histogram in microseconds (gyre_stats' pause and
 * time-to-safepoint histograms): [2^i, 2^(i+1)) us in bucket i, under
 * 1 us in bucket 0, everything above in the last. */
static inline unsigned gyre_us_bucket(uint64_t ns)
{
	uint64_t us = ns / 1000;
	unsigned b = 0;
	while (us > 1 && b < GYRE_PAUSE_BUCKETS - 1) {
		us >>= 1;
		b++;
	}
	return b;
}

/* Every pthread_mutex_lock in gyre is checked against the lock order in
 * checked builds. */
#include "runtime/lockorder.h"

#endif
