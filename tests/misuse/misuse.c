/*
 * misuse.c: checks that every bad input named in gyre.h's contracts gets
 * its documented error, and that the failures which are not misuse (heap
 * exhaustion) and the disable/enable nesting behave as documented. gyre
 * reacts to misuse in two ways: builds with checks on print a message
 * naming the misuse and abort, release builds return the status. So every
 * case runs in a forked child: the fork comes first, then the child
 * initialises gyre, commits the misuse and exits with the negated status
 * (or a code of its own, in misuse.h). The parent captures the child's
 * stderr and checks, for GYRE_DEBUG builds, a SIGABRT and a message
 * containing "misuse" and the function's name, and otherwise the exit code.
 * This file is that harness and the table of cases main() runs; the cases
 * are in cases_misuse.c and cases_not_misuse.c (see misuse.h).
 */
#include "misuse.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>

/* A child that runs longer than this is killed by SIGALRM (a hang). */
#define CHILD_TIMEOUT_S 30

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

_Noreturn void setup_failed(const char *what)
{
	fprintf(stderr, "setup failed: %s (last error: %s)\n", what,
		gyre_strerror(gyre_last_error()));
	_exit(EXIT_SETUP);
}

void init_or_die(const gyre_config *config)
{
	if (gyre_init(config) != GYRE_OK)
		setup_failed("gyre_init");
}

void init_attached(void)
{
	init_or_die(NULL);
	if (gyre_thread_attach() != GYRE_OK)
		setup_failed("gyre_thread_attach");
}

/* The status of a call that returns a pointer or a type id. */
int status_of(uintptr_t result)
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
		"GYRE_GROWTH", "GYRE_NURSERY", "GYRE_TENURE_AGE", "GYRE_WORKERS",
		"GYRE_VERIFY", "GYRE_TRACE", "GYRE_PAUSE_TARGET", "GYRE_FREE_FLOOR" };
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
void expect_clean_child(int (*body)(void))
{
	struct child_result r;

	run_child(body, &r);
	if (!WIFEXITED(r.wstatus) || WEXITSTATUS(r.wstatus) != 0)
		child_failed(&r, "exit 0");
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
		MISUSE(nursery_too_small, "gyre_init", GYRE_EINVAL),
		MISUSE(nursery_above_half_heap, "gyre_init", GYRE_EINVAL),
		MISUSE(tenure_age_too_big, "gyre_init", GYRE_EINVAL),
		MISUSE(env_nursery_bad_suffix, "gyre_init", GYRE_EINVAL),
		MISUSE(env_tenure_age_out_of_range, "gyre_init", GYRE_EINVAL),
		MISUSE(tenure_from_old_out_of_range, "gyre_init", GYRE_EINVAL),
		MISUSE(env_tenure_from_old_bad, "gyre_init", GYRE_EINVAL),
		MISUSE(pause_target_too_small, "gyre_init", GYRE_EINVAL),
		MISUSE(env_free_floor_banana, "gyre_init", GYRE_EINVAL),
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
		MISUSE(collect_generation_3, "gyre_collect", GYRE_EINVAL),
		MISUSE(collect_generation_negative, "gyre_collect", GYRE_EINVAL),
		MISUSE(set_threshold_uninitialised, "gyre_set_threshold",
		       GYRE_ESTATE),
		MISUSE(threshold0_too_small, "gyre_set_threshold", GYRE_EINVAL),
		MISUSE(threshold0_above_half_heap, "gyre_set_threshold",
		       GYRE_EINVAL),
		MISUSE(threshold1_zero, "gyre_set_threshold", GYRE_EINVAL),
		MISUSE(threshold1_too_big, "gyre_set_threshold", GYRE_EINVAL),
		MISUSE(threshold2_too_small, "gyre_set_threshold", GYRE_EINVAL),
		MISUSE(threshold2_too_big, "gyre_set_threshold", GYRE_EINVAL),
		MISUSE(get_threshold_null, "gyre_get_threshold", GYRE_EINVAL),
		MISUSE(get_threshold_uninitialised, "gyre_get_threshold",
		       GYRE_ESTATE),
		MISUSE(get_count_null, "gyre_get_count", GYRE_EINVAL),
		MISUSE(get_count_uninitialised, "gyre_get_count", GYRE_ESTATE),
		MISUSE(disable_unattached, "gyre_disable", GYRE_ENOTATTACHED),
		MISUSE(disable_blocking, "gyre_disable", GYRE_EBLOCKING),
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
		MISUSE(finalizer_thread_out_of_range, "gyre_init", GYRE_EINVAL),
		MISUSE(finalizer_thread_env_bad, "gyre_init", GYRE_EINVAL),
		MISUSE(weak_new_null, "gyre_weak_new", GYRE_EINVAL),
		MISUSE(weak_new_unattached, "gyre_weak_new", GYRE_ENOTATTACHED),
		MISUSE(weak_get_not_weak, "gyre_weak_get", GYRE_EINVAL),
		MISUSE(weak_get_null, "gyre_weak_get", GYRE_EINVAL),
		MISUSE(ephemeron_new_null_key, "gyre_ephemeron_new", GYRE_EINVAL),
		MISUSE(ephemeron_value_not_ephemeron, "gyre_ephemeron_value", GYRE_EINVAL),
		MISUSE(alloc_gyre_own_type, "gyre_alloc", GYRE_EINVAL),
		MISUSE(finalizer_register_null, "gyre_finalizer_register", GYRE_EINVAL),
		MISUSE(finalizer_register_no_fn, "gyre_finalizer_register", GYRE_EINVAL),
		MISUSE(finalizer_register_twice, "gyre_finalizer_register", GYRE_EINVAL),
		MISUSE(finalizer_register_interior, "gyre_finalizer_register",
		       GYRE_EINVAL),
		MISUSE(finalizer_register_blocking, "gyre_finalizer_register",
		       GYRE_EBLOCKING),
		MISUSE(finalizer_cancel_unregistered, "gyre_finalizer_cancel",
		       GYRE_ENOTFOUND),
		MISUSE(run_finalizers_unattached, "gyre_run_finalizers",
		       GYRE_ENOTATTACHED),
		MISUSE(freeze_unattached, "gyre_freeze", GYRE_ENOTATTACHED),
		MISUSE(freeze_blocking, "gyre_freeze", GYRE_EBLOCKING),
		MISUSE(freeze_in_region, "gyre_freeze", GYRE_ESTATE),
		MISUSE(freeze_disabled_by_other_thread, "gyre_freeze", GYRE_ESTATE),
		MISUSE(unfreeze_nothing_frozen, "gyre_unfreeze", GYRE_ESTATE),
		MISUSE(unfreeze_unattached, "gyre_unfreeze", GYRE_ENOTATTACHED),
		MISUSE(unfreeze_disabled_by_other_thread, "gyre_unfreeze",
		       GYRE_ESTATE),
		cmocka_unit_test(test_freeze_nesting),
		cmocka_unit_test(test_freeze_own_disable),
		MISUSE(critical_budget_zero, "gyre_critical_begin", GYRE_EINVAL),
		MISUSE(critical_budget_above_max, "gyre_critical_begin", GYRE_EINVAL),
		MISUSE(critical_end_without_begin, "gyre_critical_end",
		       GYRE_EUNBALANCED),
		MISUSE(critical_begin_blocking, "gyre_critical_begin", GYRE_EBLOCKING),
		MISUSE(detach_in_critical, "gyre_thread_detach", GYRE_EUNBALANCED),
		MISUSE(callback_add_null, "gyre_callback_add", GYRE_EINVAL),
		MISUSE(callback_add_twice, "gyre_callback_add", GYRE_EINVAL),
		MISUSE(callback_remove_absent, "gyre_callback_remove", GYRE_ENOTFOUND),
		MISUSE(callback_add_uninitialised, "gyre_callback_add", GYRE_ESTATE),
		MISUSE(collect_in_callback, "gyre_collect", GYRE_ESTATE),
		MISUSE(ttsp_threshold_too_big, "gyre_init", GYRE_EINVAL),
		MISUSE(env_ttsp_threshold_banana, "gyre_init", GYRE_EINVAL),
		MISUSE(env_critical_fail_bad, "gyre_init", GYRE_EINVAL),
		MISUSE(memory_limit_below_heap_min, "gyre_init", GYRE_EINVAL),
		MISUSE(env_memory_limit_banana, "gyre_init", GYRE_EINVAL),
		cmocka_unit_test(test_heap_exhaustion),
		cmocka_unit_test(test_collect_while_disabled),
		cmocka_unit_test(test_enable_nesting),
		cmocka_unit_test(test_disable_is_global),
		cmocka_unit_test(test_strerror),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}