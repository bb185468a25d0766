/*
 * harness.h: what the unit tests share: cmocka, gyre set up and torn down
 * around each group, and a way to run a case in a child process that must
 * die with a given message (the verifier and checked builds abort).
 */
#ifndef GYRE_TEST_HARNESS_H
#define GYRE_TEST_HARNESS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "gyre.h"

/* Group setup/teardown: gyre_init(NULL) + attach, detach + shutdown. */
int harness_up(void **state);
int harness_down(void **state);

/* Runs fn in a forked child; asserts the child died of SIGABRT with
 * `needle` in its stderr. */
void harness_expect_abort(void (*fn)(void), const char *needle);
/* Runs fn in a forked child; asserts it exited with status 0. */
void harness_expect_exit0(void (*fn)(void));
/* Runs fn, a call that misuses the API, in a forked child: checked builds
 * must abort naming the misuse (`needle` in stderr); the others must
 * return `status`, which gyre_last_error() then says too. */
void harness_expect_misuse(int (*fn)(void), int status, const char *needle);

/* The monotonic clock in milliseconds, for tests' deadlines. */
uint64_t harness_now_ms(void);
/* Sleeps 1 ms in a blocking region: pauses run meanwhile. */
void sleep_blocking(void);
/* gyre_stats_get, which must succeed. */
gyre_stats harness_stats(void);

/* Keeps a pointer opaque to the optimiser, so that a test can drop its
 * last reference for real. */
void *harness_launder(void *p);

/* Overwrites a stretch of this thread's dead stack so that stale copies of
 * pointers from finished calls do not keep objects alive. */
void harness_clear_stack(void);

/* Runs fn(arg) on a new thread, attached for the call, and joins it. Its
 * stack and registers die with it, so what fn allocates and does not
 * publish is certainly garbage afterwards: tests of what a collection
 * frees use it to keep conservative stack scanning out of the count. */
void harness_in_thread(void (*fn)(void *arg), void *arg);

#endif
