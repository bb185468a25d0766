/*
 * report.h: how the stress test reports a failure. A stress failure is only
 * useful if it can be replayed, so every failure message carries the random
 * seed of the run and the index of the mutator thread that found it, and the
 * process then aborts at once (so a debugger or core dump shows the state at
 * the moment of detection, and meson counts the run as failed).
 */
#ifndef STRESS_REPORT_H
#define STRESS_REPORT_H

#include <stdint.h>

/* Records the run's seed, printed with every failure. Call once, before any
 * thread starts. */
void report_set_seed(uint64_t seed);

/* Names the calling thread in its failure messages (-1: the main thread). */
void report_set_thread(int index);

/* Prints "stress: FAIL ..." with the seed, the thread and the message, then
 * aborts. */
_Noreturn void fail(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

#endif
