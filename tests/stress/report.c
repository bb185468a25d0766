/*
 * report.c: failure reporting for the stress test (see report.h). The seed is
 * written once before the threads start and only read afterwards; the thread
 * index is thread-local, so neither needs synchronisation.
 */
#include "report.h"

#include <gyre.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static uint64_t run_seed;
static _Thread_local int thread_index = -1;

void report_set_seed(uint64_t seed)
{
	run_seed = seed;
}

void report_set_thread(int index)
{
	thread_index = index;
}

void fail(const char *fmt, ...)
{
	va_list ap;

	flockfile(stderr);
	fprintf(stderr, "stress: FAIL (seed=%llu, thread %d, last gyre error %s): ",
		(unsigned long long)run_seed, thread_index,
		gyre_strerror(gyre_last_error()));
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nstress: replay with --seed %llu\n",
		(unsigned long long)run_seed);
	funlockfile(stderr);
	fflush(stdout);
	abort();
}
