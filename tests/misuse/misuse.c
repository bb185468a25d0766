/*
 * misuse.c: checks that every bad input named in gyre.h's contracts gets
 * its documented error, and that the failures which are not misuse (heap
 * exhaustion) and the disable/enable nesting behave as documented. gyre
 * reacts to misuse in two ways: builds with checks on print a message
 * naming the misuse and abort, release builds return the status. So every
 * case runs in a forked child: the fork comes first, then the child
 * initialises gyre, commits the misuse and exits with the negated status
 * (or a code of its own, below). The parent captures the child's stderr and
 * checks, for GYRE_DEBUG builds, a SIGABRT and a message containing
 * "misuse" and the function's name, and otherwise the exit code.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <gyre.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef GYRE_DEBUG
#error "tests/misuse/meson.build passes -DGYRE_DEBUG=1 or 0 (gyre's checks)"
#endif

/* Exit codes of a child for outcomes that are not a status (which exits
 * with -status, 1..9). */
#define EXIT_SUCCEEDED 200   /* the misuse was accepted */
#define EXIT_SETUP 201       /* a step before the misuse failed */
#define EXIT_LAST_ERROR 202  /* gyre_last_error() differs from the status */
#define EXIT_CHECK 203       /* a check of a non-misuse case failed */
/* A child that runs longer than this is killed by SIGALRM (a hang). */
#define CHILD_TIMEOUT_S 30

#define MIB ((size_t)1 << 20)

/* What a forked child did: its wait status and the start of its stderr. */
struct child_result {
	int wstatus;
	char err[4096];
};

/* A misuse: the call `commit` ends with must fail with `status`, and an
 * abort message must name `function`. */
struct misuse_case {
	const char *function;
	int status;
	int (*commit)(void);
};

/* ------------------------------------------------------------ the child */

static _Noreturn void setup_failed(const char *what)
{
	fprintf(stderr, "setup failed: %s (last error: %s)\n", what,
		gyre_strerror(gyre_last_error()));
	_exit(EXIT_SETUP);
}

/* For the non-misuse cases: a failed check ends the child. */
#define CHILD_CHECK(cond) \
	do { \
		if (!(cond)) { \
			fprintf(stderr, "%s:%d: check failed: %s (last error: " \
				"%s)\n", __FILE__, __LINE__, #cond, \
				gyre_strerror(gyre_last_error())); \
			_exit(EXIT_CHECK); \
		} \
	} while (0)

static void init_or_die(const gyre_config *config)
{
	if (gyre_init(config) != GYRE_OK)
		setup_failed("gyre_init");
}

static void init_attached(void)
{
	init_or_die(NULL);
	if (gyre_thread_attach() != GYRE_OK)
		setup_failed("gyre_thread_attach");
}

/* The status of a call that returns a pointer or a type id. */
static int status_of(uintptr_t result)
{
	return result ? GYRE_OK : gyre_last_error();
}

/* Gives the child a clean slate: default signal dispositions (cmocka's
 * handlers must not run in a child), no core dumps, no GYRE_* variables
 * from the caller's environment, stderr into the pipe, and a time limit. */
static void child_enter(int err_fd)
{
	static const int sigs[] = { SIGABRT, SIGSEGV, SIGBUS, SIGILL, SIGFPE,
				    SIGSYS };
	static const char *const vars[] = { "GYRE_HEAP_MAX", "GYRE_HEAP_MIN",
		"GYRE_GROWTH", "GYRE_WORKERS", "GYRE_VERIFY", "GYRE_TRACE" };
	struct rlimit no_core = { 0, 0 };

	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		signal(sigs[i], SIG_DFL);
	setrlimit(RLIMIT_CORE, &no_core);
	for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
		unsetenv(vars[i]);
	dup2(err_fd, STDERR_FILENO);
	close(err_fd);
	alarm(CHILD_TIMEOUT_S);
}

/* ----------------------------------------------------------- the parent */

/* Reads the child's stderr to the end (so it never blocks on a full
 * pipe), keeping what fits. */
static void read_all(int fd, char *buf, size_t cap)
{
	size_t len = 0;
	char sink[512];
	ssize_t n;

	for (;;) {
		char *dst = len + 1 < cap ? buf + len : sink;
		size_t room = len + 1 < cap ? cap - 1 - len : sizeof sink;

		n = read(fd, dst, room);
		if (n <= 0)
			break;
		if (dst == buf + len)
			len += (size_t)n;
	}
	buf[len] = '\0';
}

/* Forks, runs `body` in the child, which exits with its return value. */
static void run_child(int (*body)(void), struct child_result *res)
{
	int fd[2];
	pid_t pid;

	assert_int_equal(pipe(fd), 0);
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fd[0]);
		child_enter(fd[1]);
		_exit(body());
	}
	close(fd[1]);
	read_all(fd[0], res->err, sizeof res->err);
	close(fd[0]);
	assert_int_equal(waitpid(pid, &res->wstatus, 0), pid);
}

static void describe(int wstatus, char *buf, size_t size)
{
	if (WIFSIGNALED(wstatus)) {
		snprintf(buf, size, "killed by signal %d (%s)",
			 WTERMSIG(wstatus), strsignal(WTERMSIG(wstatus)));
		return;
	}
	switch (WEXITSTATUS(wstatus)) {
	case EXIT_SUCCEEDED:
		snprintf(buf, size, "the call succeeded");
		break;
	case EXIT_SETUP:
		snprintf(buf, size, "a setup step failed");
		break;
	case EXIT_LAST_ERROR:
		snprintf(buf, size, "gyre_last_error() differed from the status");
		break;
	case EXIT_CHECK:
		snprintf(buf, size, "a check failed");
		break;
	default:
		snprintf(buf, size, "exit %d (status -%d: %s)",
			 WEXITSTATUS(wstatus), WEXITSTATUS(wstatus),
			 gyre_strerror(-WEXITSTATUS(wstatus)));
	}
}

static void child_failed(const struct child_result *r, const char *expected)
{
	char got[160];

	describe(r->wstatus, got, sizeof got);
	if (r->err[0])
		fprintf(stderr, "---- the child's stderr ----\n%s----\n",
			r->err);
	fail_msg("expected %s; the child: %s", expected, got);
}

/* ------------------------------------------------------- misuse runner */

/* The child's exit code for the status a misuse call returned. */
static int misuse_exit_code(int status)
{
	if (status >= 0)
		return EXIT_SUCCEEDED;
	if (gyre_last_error() != status)
		return EXIT_LAST_ERROR;
	return -status;
}

static const struct misuse_case *current_case;

static int misuse_child(void)
{
	return misuse_exit_code(current_case->commit());
}

static void test_misuse(void **state)
{
	const struct misuse_case *mc = *state;
	struct child_result r;
	char expected[160];

	current_case = mc;
	run_child(misuse_child, &r);
	if (GYRE_DEBUG) {
		snprintf(expected, sizeof expected, "an abort with a message "
			 "naming the misuse and %s", mc->function);
		if (!WIFSIGNALED(r.wstatus) || WTERMSIG(r.wstatus) != SIGABRT ||
		    !strcasestr(r.err, "misuse") || !strstr(r.err, mc->function))
			child_failed(&r, expected);
	} else {
		snprintf(expected, sizeof expected, "exit %d (%s) from %s",
			 -mc->status, gyre_strerror(mc->status), mc->function);
		if (!WIFEXITED(r.wstatus) ||
		    WEXITSTATUS(r.wstatus) != -mc->status)
			child_failed(&r, expected);
	}
}

/* Runs a case that is not a misuse: the child must exit 0 in every build. */
static void expect_clean_child(int (*body)(void))
{
	struct child_result r;

	run_child(body, &r);
	if (!WIFEXITED(r.wstatus) || WEXITSTATUS(r.wstatus) != 0)
		child_failed(&r, "exit 0");
}

/* ----------------------------------------------------- misuse: lifecycle */

static int init_twice(void)
{
	init_or_die(NULL);
	return gyre_init(NULL);
}

static int init_with(gyre_config c)
{
	return gyre_init(&c);
}

static int heap_max_too_small(void)
{
	return init_with((gyre_config){ .heap_max = 1 * MIB });
}

static int heap_max_too_big(void)
{
	return init_with((gyre_config){ .heap_max = (size_t)2 << 40 });
}

static int heap_min_too_small(void)
{
	return init_with((gyre_config){ .heap_min = 1024 });
}

static int heap_min_above_max(void)
{
	return init_with((gyre_config){ .heap_max = 16 * MIB,
					.heap_min = 32 * MIB });
}

static int growth_too_small(void)
{
	return init_with((gyre_config){ .growth_percent = 5 });
}

static int growth_too_big(void)
{
	return init_with((gyre_config){ .growth_percent = 10001 });
}

static int workers_too_many(void)
{
	return init_with((gyre_config){ .workers = 1000 });
}

static int init_with_env(const char *name, const char *value)
{
	if (setenv(name, value, 1) != 0)
		setup_failed("setenv");
	return gyre_init(NULL);
}

static int env_heap_max_banana(void)
{
	return init_with_env("GYRE_HEAP_MAX", "banana");
}

static int env_heap_min_bad_suffix(void)
{
	return init_with_env("GYRE_HEAP_MIN", "12X");
}

static int env_growth_out_of_range(void)
{
	return init_with_env("GYRE_GROWTH", "5");
}

static int shutdown_attached(void)
{
	init_attached();
	return gyre_shutdown();
}

static int shutdown_uninitialised(void)
{
	return gyre_shutdown();
}

static int stats_null(void)
{
	init_or_die(NULL);
	return gyre_stats_get(NULL);
}

/* ------------------------------------------------------- misuse: threads */

static int attach_uninitialised(void)
{
	return gyre_thread_attach();
}

static int attach_twice(void)
{
	init_attached();
	return gyre_thread_attach();
}

static int detach_unattached(void)
{
	init_or_die(NULL);
	return gyre_thread_detach();
}

static int detach_disabled(void)
{
	init_attached();
	if (gyre_disable() != GYRE_OK)
		setup_failed("gyre_disable");
	return gyre_thread_detach();
}

static int detach_blocking(void)
{
	init_attached();
	if (gyre_blocking_begin() != GYRE_OK)
		setup_failed("gyre_blocking_begin");
	return gyre_thread_detach();
}

static int blocking_begin_unattached(void)
{
	init_or_die(NULL);
	return gyre_blocking_begin();
}

static int blocking_end_without_begin(void)
{
	init_attached();
	return gyre_blocking_end();
}

static int blocking_begin_twice(void)
{
	init_attached();
	if (gyre_blocking_begin() != GYRE_OK)
		setup_failed("gyre_blocking_begin");
	return gyre_blocking_begin();
}

/* ---------------------------------------------------- misuse: allocation */

static int alloc_unattached(void)
{
	init_or_die(NULL);
	return status_of((uintptr_t)gyre_alloc(GYRE_TYPE_PTR));
}

static int alloc_blocking(void)
{
	init_attached();
	if (gyre_blocking_begin() != GYRE_OK)
		setup_failed("gyre_blocking_begin");
	return status_of((uintptr_t)gyre_alloc(GYRE_TYPE_PTR));
}

static int alloc_bytes_huge(void)
{
	init_attached();
	return status_of((uintptr_t)gyre_alloc_bytes(SIZE_MAX));
}

static int alloc_array_huge(void)
{
	init_attached();
	return status_of((uintptr_t)gyre_alloc_array(GYRE_TYPE_PTR,
						     SIZE_MAX / 2));
}

/* 2^32 one-byte elements: more than 2^32-1 elements, and on machines with
 * less than 16 GiB also more than the default heap maximum; either rule
 * makes it GYRE_ETOOBIG. */
static int alloc_array_too_many_elements(void)
{
	init_attached();
	return status_of((uintptr_t)gyre_alloc_array(GYRE_TYPE_BYTE,
						     (size_t)1 << 32));
}

static int alloc_type_zero(void)
{
	init_attached();
	return status_of((uintptr_t)gyre_alloc(0));
}

static int alloc_type_unregistered(void)
{
	init_attached();
	return status_of((uintptr_t)gyre_alloc(4242));
}

static int alloc_array_type_unregistered(void)
{
	init_attached();
	return status_of((uintptr_t)gyre_alloc_array(4242, 1));
}

static int collect_unattached(void)
{
	init_or_die(NULL);
	return (int)gyre_collect();
}

static int disable_unattached(void)
{
	init_or_die(NULL);
	return gyre_disable();
}

static int enable_without_disable(void)
{
	init_attached();
	return gyre_enable();
}

static void *hold_disable(void *ready)
{
	if (gyre_thread_attach() != GYRE_OK || gyre_disable() != GYRE_OK)
		setup_failed("attach and disable on the second thread");
	sem_post(ready);
	for (;;)
		pause();
}

/* Collection is disabled, but by another thread: this thread has no
 * gyre_disable of its own to match. */
static int enable_other_threads_disable(void)
{
	static sem_t ready;
	pthread_t t;

	init_attached();
	if (sem_init(&ready, 0, 0) != 0 ||
	    pthread_create(&t, NULL, hold_disable, &ready) != 0)
		setup_failed("starting the second thread");
	sem_wait(&ready);
	if (gyre_is_enabled() != 0)
		setup_failed("gyre_is_enabled() is not 0 after gyre_disable");
	return gyre_enable();
}

/* --------------------------------------------------------- misuse: types */

static int register_with(gyre_type_desc d)
{
	init_or_die(NULL);
	return status_of(gyre_type_register(&d));
}

static void trace_nothing(void *obj, gyre_visit_fn visit, void *ctx)
{
	(void)obj;
	(void)visit;
	(void)ctx;
}

static const size_t offset_0[] = { 0 };
static const size_t offset_4[] = { 4 };
static const size_t offset_16[] = { 16 };

static int type_uninitialised(void)
{
	gyre_type_desc d = { .name = "t", .size = 16 };

	return status_of(gyre_type_register(&d));
}

static int type_size_zero(void)
{
	return register_with((gyre_type_desc){ .name = "t", .size = 0 });
}

static int type_size_too_big(void)
{
	return register_with((gyre_type_desc){ .name = "t",
					       .size = ((size_t)1 << 30) + 8 });
}

static int type_offset_misaligned(void)
{
	return register_with((gyre_type_desc){ .name = "t", .size = 16,
		.ptr_offsets = offset_4, .n_ptrs = 1 });
}

static int type_offset_out_of_range(void)
{
	return register_with((gyre_type_desc){ .name = "t", .size = 16,
		.ptr_offsets = offset_16, .n_ptrs = 1 });
}

static int type_offsets_and_trace(void)
{
	return register_with((gyre_type_desc){ .name = "t", .size = 16,
		.ptr_offsets = offset_0, .n_ptrs = 1, .trace = trace_nothing });
}

/* --------------------------------------------------------- misuse: roots */

static char area[64];

static int root_add_uninitialised(void)
{
	return gyre_root_add(area, sizeof area);
}

static int root_add_null(void)
{
	init_or_die(NULL);
	return gyre_root_add(NULL, 8);
}

static int root_add_size_zero(void)
{
	init_or_die(NULL);
	return gyre_root_add(area, 0);
}

static int root_add_overlapping(void)
{
	init_or_die(NULL);
	if (gyre_root_add(area, sizeof area) != GYRE_OK)
		setup_failed("gyre_root_add");
	return gyre_root_add(area + 8, 16);
}

static int root_remove_unregistered(void)
{
	init_or_die(NULL);
	return gyre_root_remove(area);
}

static int handle_new_unattached(void)
{
	init_or_die(NULL);
	return status_of((uintptr_t)gyre_handle_new(NULL));
}

static int handle_free_twice(void)
{
	gyre_handle h;

	init_attached();
	h = gyre_handle_new(NULL);
	if (!h || gyre_handle_free(h) != GYRE_OK)
		setup_failed("gyre_handle_new and gyre_handle_free");
	return gyre_handle_free(h);
}

static int handle_free_null(void)
{
	init_attached();
	return gyre_handle_free(NULL);
}

static int handle_set_null(void)
{
	init_attached();
	return gyre_handle_set(NULL, NULL);
}

/* ------------------------------------------- not misuse: heap exhaustion */

#define CHUNK 4096
#define HOLDER_SLOTS 8192 /* 32 MiB of chunks, twice the heap maximum */

struct oom_record {
	size_t calls;
	size_t last_request;
};

static void record_oom(size_t request, void *ctx)
{
	struct oom_record *r = ctx;

	r->calls++;
	r->last_request = request;
}

/* Allocates up to `limit` chunks into the holder array that handle h
 * keeps alive; returns how many it got. Not inlined, so that no pointer
 * into the heap is left in the caller's frame afterwards. */
static __attribute__((noinline)) size_t fill(gyre_handle h, size_t limit)
{
	for (size_t i = 0; i < limit; i++) {
		void *chunk = gyre_alloc_bytes(CHUNK);

		if (!chunk)
			return i;
		GYRE_STORE_AT((void **)gyre_handle_get(h), i, chunk);
	}
	return limit;
}

static int heap_exhaustion(void)
{
	static struct oom_record oom;
	gyre_config c = { .heap_max = 16 * MIB, .on_oom = record_oom,
			  .oom_ctx = &oom };
	gyre_handle h;
	size_t held;

	init_or_die(&c);
	CHILD_CHECK(gyre_thread_attach() == GYRE_OK);
	h = gyre_handle_new(gyre_alloc_array(GYRE_TYPE_PTR, HOLDER_SLOTS));
	CHILD_CHECK(h != NULL && gyre_handle_get(h) != NULL);
	held = fill(h, HOLDER_SLOTS);
	CHILD_CHECK(held < HOLDER_SLOTS);
	CHILD_CHECK(held * CHUNK >= 8 * MIB);
	CHILD_CHECK(gyre_last_error() == GYRE_ENOMEM);
	CHILD_CHECK(oom.calls >= 1);
	CHILD_CHECK(oom.last_request == CHUNK);

	CHILD_CHECK(gyre_handle_set(h, NULL) == GYRE_OK);
	CHILD_CHECK(gyre_collect() > 0);
	CHILD_CHECK(gyre_handle_set(h, gyre_alloc_array(GYRE_TYPE_PTR,
			HOLDER_SLOTS)) == GYRE_OK && gyre_handle_get(h));
	CHILD_CHECK(fill(h, 8 * MIB / CHUNK) == 8 * MIB / CHUNK);
	/* Successful calls leave the last error alone. */
	CHILD_CHECK(gyre_last_error() == GYRE_ENOMEM);

	CHILD_CHECK(gyre_handle_free(h) == GYRE_OK);
	CHILD_CHECK(gyre_thread_detach() == GYRE_OK);
	CHILD_CHECK(gyre_shutdown() == GYRE_OK);
	return 0;
}

static void test_heap_exhaustion(void **state)
{
	(void)state;
	expect_clean_child(heap_exhaustion);
}

/* ----------------------------------- not misuse: disable, enable, collect */

/* Allocates n objects and drops them; not inlined for the same reason
 * as fill(). */
static __attribute__((noinline)) void make_garbage(size_t n)
{
	for (size_t i = 0; i < n; i++)
		CHILD_CHECK(gyre_alloc(GYRE_TYPE_PTR) != NULL);
}

static int collect_while_disabled(void)
{
	gyre_stats before, after;

	init_attached();
	CHILD_CHECK(gyre_disable() == GYRE_OK);
	make_garbage(1000);
	CHILD_CHECK(gyre_stats_get(&before) == GYRE_OK);
	CHILD_CHECK(gyre_collect() > 0);
	CHILD_CHECK(gyre_stats_get(&after) == GYRE_OK);
	CHILD_CHECK(after.collections > before.collections);
	CHILD_CHECK(gyre_is_enabled() == 0);
	CHILD_CHECK(gyre_enable() == GYRE_OK);
	CHILD_CHECK(gyre_is_enabled() == 1);
	CHILD_CHECK(gyre_thread_detach() == GYRE_OK);
	CHILD_CHECK(gyre_shutdown() == GYRE_OK);
	return 0;
}

static void test_collect_while_disabled(void **state)
{
	(void)state;
	expect_clean_child(collect_while_disabled);
}

static int enable_nesting(void)
{
	init_attached();
	CHILD_CHECK(gyre_is_enabled() == 1);
	CHILD_CHECK(gyre_disable() == GYRE_OK);
	CHILD_CHECK(gyre_is_enabled() == 0);
	CHILD_CHECK(gyre_disable() == GYRE_OK);
	CHILD_CHECK(gyre_is_enabled() == 0);
	CHILD_CHECK(gyre_enable() == GYRE_OK);
	CHILD_CHECK(gyre_is_enabled() == 0);
	CHILD_CHECK(gyre_enable() == GYRE_OK);
	CHILD_CHECK(gyre_is_enabled() == 1);
	CHILD_CHECK(gyre_thread_detach() == GYRE_OK);
	CHILD_CHECK(gyre_shutdown() == GYRE_OK);
	return 0;
}

static void test_enable_nesting(void **state)
{
	(void)state;
	expect_clean_child(enable_nesting);
}

/* Another thread's gyre_disable turns automatic collection off for all. */
struct disabler {
	sem_t disabled, go_on, enabled;
};

static void *disable_then_enable(void *arg)
{
	struct disabler *d = arg;

	CHILD_CHECK(gyre_thread_attach() == GYRE_OK);
	CHILD_CHECK(gyre_disable() == GYRE_OK);
	sem_post(&d->disabled);
	sem_wait(&d->go_on);
	CHILD_CHECK(gyre_enable() == GYRE_OK);
	CHILD_CHECK(gyre_thread_detach() == GYRE_OK);
	sem_post(&d->enabled);
	return NULL;
}

static int disable_is_global(void)
{
	static struct disabler d;
	pthread_t t;

	init_attached();
	CHILD_CHECK(sem_init(&d.disabled, 0, 0) == 0 &&
		    sem_init(&d.go_on, 0, 0) == 0 &&
		    sem_init(&d.enabled, 0, 0) == 0);
	CHILD_CHECK(pthread_create(&t, NULL, disable_then_enable, &d) == 0);
	sem_wait(&d.disabled);
	CHILD_CHECK(gyre_is_enabled() == 0);
	sem_post(&d.go_on);
	sem_wait(&d.enabled);
	CHILD_CHECK(gyre_is_enabled() == 1);
	CHILD_CHECK(pthread_join(t, NULL) == 0);
	CHILD_CHECK(gyre_thread_detach() == GYRE_OK);
	CHILD_CHECK(gyre_shutdown() == GYRE_OK);
	return 0;
}

static void test_disable_is_global(void **state)
{
	(void)state;
	expect_clean_child(disable_is_global);
}

/* ----------------------------------------------- not misuse: error names */

static void test_strerror(void **state)
{
	(void)state;
	for (int s = GYRE_OK; s >= GYRE_ENOTFOUND; s--) {
		const char *a = gyre_strerror(s);

		assert_non_null(a);
		assert_true(a[0] != '\0');
		for (int t = s + 1; t <= GYRE_OK; t++)
			assert_string_not_equal(a, gyre_strerror(t));
	}
	assert_non_null(gyre_strerror(-1000));
	assert_int_equal(gyre_last_error(), GYRE_OK);
}

/* ----------------------------------------------------------------- table */

#define MISUSE(commit_fn, fn_name, st) \
	{ #commit_fn, test_misuse, NULL, NULL, \
	  &(struct misuse_case){ fn_name, st, commit_fn } }

int main(void)
{
	const struct CMUnitTest tests[] = {
		MISUSE(init_twice, "gyre_init", GYRE_ESTATE),
		MISUSE(heap_max_too_small, "gyre_init", GYRE_EINVAL),
		MISUSE(heap_max_too_big, "gyre_init", GYRE_EINVAL),
		MISUSE(heap_min_too_small, "gyre_init", GYRE_EINVAL),
		MISUSE(heap_min_above_max, "gyre_init", GYRE_EINVAL),
		MISUSE(growth_too_small, "gyre_init", GYRE_EINVAL),
		MISUSE(growth_too_big, "gyre_init", GYRE_EINVAL),
		MISUSE(workers_too_many, "gyre_init", GYRE_EINVAL),
		MISUSE(env_heap_max_banana, "gyre_init", GYRE_EINVAL),
		MISUSE(env_heap_min_bad_suffix, "gyre_init", GYRE_EINVAL),
		MISUSE(env_growth_out_of_range, "gyre_init", GYRE_EINVAL),
		MISUSE(shutdown_attached, "gyre_shutdown", GYRE_ESTATE),
		MISUSE(shutdown_uninitialised, "gyre_shutdown", GYRE_ESTATE),
		MISUSE(stats_null, "gyre_stats_get", GYRE_EINVAL),
		MISUSE(attach_uninitialised, "gyre_thread_attach", GYRE_ESTATE),
		MISUSE(attach_twice, "gyre_thread_attach", GYRE_EATTACHED),
		MISUSE(detach_unattached, "gyre_thread_detach",
		       GYRE_ENOTATTACHED),
		MISUSE(detach_disabled, "gyre_thread_detach", GYRE_EUNBALANCED),
		MISUSE(detach_blocking, "gyre_thread_detach", GYRE_EUNBALANCED),
		MISUSE(blocking_begin_unattached, "gyre_blocking_begin",
		       GYRE_ENOTATTACHED),
		MISUSE(blocking_end_without_begin, "gyre_blocking_end",
		       GYRE_EUNBALANCED),
		MISUSE(blocking_begin_twice, "gyre_blocking_begin",
		       GYRE_EUNBALANCED),
		MISUSE(alloc_unattached, "gyre_alloc", GYRE_ENOTATTACHED),
		MISUSE(alloc_blocking, "gyre_alloc", GYRE_EBLOCKING),
		MISUSE(alloc_bytes_huge, "gyre_alloc_bytes", GYRE_ETOOBIG),
		MISUSE(alloc_array_huge, "gyre_alloc_array", GYRE_ETOOBIG),
		MISUSE(alloc_array_too_many_elements, "gyre_alloc_array",
		       GYRE_ETOOBIG),
		MISUSE(alloc_type_zero, "gyre_alloc", GYRE_EINVAL),
		MISUSE(alloc_type_unregistered, "gyre_alloc", GYRE_EINVAL),
		MISUSE(alloc_array_type_unregistered, "gyre_alloc_array",
		       GYRE_EINVAL),
		MISUSE(collect_unattached, "gyre_collect", GYRE_ENOTATTACHED),
		MISUSE(disable_unattached, "gyre_disable", GYRE_ENOTATTACHED),
		MISUSE(enable_without_disable, "gyre_enable", GYRE_EUNBALANCED),
		MISUSE(enable_other_threads_disable, "gyre_enable",
		       GYRE_EUNBALANCED),
		MISUSE(type_uninitialised, "gyre_type_register", GYRE_ESTATE),
		MISUSE(type_size_zero, "gyre_type_register", GYRE_EINVAL),
		MISUSE(type_size_too_big, "gyre_type_register", GYRE_EINVAL),
		MISUSE(type_offset_misaligned, "gyre_type_register",
		       GYRE_EINVAL),
		MISUSE(type_offset_out_of_range, "gyre_type_register",
		       GYRE_EINVAL),
		MISUSE(type_offsets_and_trace, "gyre_type_register",
		       GYRE_EINVAL),
		MISUSE(root_add_uninitialised, "gyre_root_add", GYRE_ESTATE),
		MISUSE(root_add_null, "gyre_root_add", GYRE_EINVAL),
		MISUSE(root_add_size_zero, "gyre_root_add", GYRE_EINVAL),
		MISUSE(root_add_overlapping, "gyre_root_add", GYRE_EINVAL),
		MISUSE(root_remove_unregistered, "gyre_root_remove",
		       GYRE_ENOTFOUND),
		MISUSE(handle_new_unattached, "gyre_handle_new",
		       GYRE_ENOTATTACHED),
		MISUSE(handle_free_twice, "gyre_handle_free", GYRE_EINVAL),
		MISUSE(handle_free_null, "gyre_handle_free", GYRE_EINVAL),
		MISUSE(handle_set_null, "gyre_handle_set", GYRE_EINVAL),
		cmocka_unit_test(test_heap_exhaustion),
		cmocka_unit_test(test_collect_while_disabled),
		cmocka_unit_test(test_enable_nesting),
		cmocka_unit_test(test_disable_is_global),
		cmocka_unit_test(test_strerror),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
