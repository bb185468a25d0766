/*
 * error.c: the thread-local last error, gyre_strerror, and the two ways a
 * failure leaves gyre: a misuse (aborts with a message when checks are on)
 * and a plain failure such as exhaustion (always returned). See gyre.h,
 * "Conventions".
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "runtime/internal.h"

static _Thread_local int last_error;

GYRE_API int gyre_last_error(void)
{
	return last_error;
}

GYRE_API const char *gyre_strerror(int status)
{
	switch (status) {
	case GYRE_OK: return "success";
	case GYRE_EINVAL: return "invalid argument";
	case GYRE_ENOMEM: return "out of memory: the heap is full";
	case GYRE_ESTATE: return "gyre is not in the state this call needs";
	case GYRE_ENOTATTACHED: return "the calling thread is not attached";
	case GYRE_EATTACHED: return "the calling thread is already attached";
	case GYRE_EUNBALANCED: return "unbalanced begin/end or disable/enable";
	case GYRE_EBLOCKING: return "heap access inside a blocking region";
	case GYRE_ETOOBIG: return "allocation larger than the heap allows";
	case GYRE_ENOTFOUND: return "no such root area, handle or callback";
	case GYRE_EBUDGET: return "a no-GC region's budget ran out";
	default: return "unknown gyre status";
	}
}

int gyre_fail(int status)
{
	last_error = status;
	return status;
}

int gyre_misuse(int status, const char *fn, const char *fmt, ...)
{
	last_error = status;
	if (GYRE_DEBUG) {
		va_list ap;
		va_start(ap, fmt);
		fprintf(stderr, "gyre: misuse: %s: ", fn);
		vfprintf(stderr, fmt, ap);
		fprintf(stderr, " (%s)\n", gyre_strerror(status));
		va_end(ap);
		abort();
	}
	return status;
}

void gyre_assert_fail(const char *cond, const char *file, int line,
		      const char *func)
{
	fprintf(stderr, "gyre: assertion failed: %s (%s:%d, %s)\n", cond, file,
		line, func);
	abort();
}

void gyre_fatal(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "gyre: fatal: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	abort();
}

uint64_t gyre_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
