/*
 * harness.c: shared test plumbing (see harness.h).
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "node.h"

int harness_up(void **state)
{
	(void)state;
	if (gyre_init(NULL) != GYRE_OK || gyre_thread_attach() != GYRE_OK)
		return -1;
	return 0;
}

int harness_down(void **state)
{
	(void)state;
	if (gyre_thread_detach() != GYRE_OK || gyre_shutdown() != GYRE_OK)
		return -1;
	return 0;
}

static void read_all(int fd, char *buf, size_t cap)
{
	size_t n = 0;
	ssize_t r;
	while (n + 1 < cap && (r = read(fd, buf + n, cap - 1 - n)) > 0)
		n += (size_t)r;
	buf[n] = '\0';
}

/* Runs fn in a forked child with its stderr captured into err; returns
 * the wait status. */
static int run_child(void (*fn)(void), char *err, size_t cap)
{
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(fds[1], 2);
		close(fds[0]);
		fn();
		_exit(0);
	}
	close(fds[1]);
	read_all(fds[0], err, cap);
	close(fds[0]);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

void harness_expect_abort(void (*fn)(void), const char *needle)
{
	char err[8192];
	int status = run_child(fn, err, sizeof(err));
	if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGABRT || !strstr(err, needle))
		fail_msg("expected an abort mentioning \"%s\"; status %#x, stderr:\n%s",
			 needle, status, err);
}

void harness_expect_exit0(void (*fn)(void))
{
	char err[8192];
	int status = run_child(fn, err, sizeof(err));
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("expected exit 0; status %#x, stderr:\n%s", status, err);
}

static int (*misuse_fn)(void);
static int misuse_status;

static void run_misuse(void)
{
	int rc = misuse_fn();
	_exit(rc == misuse_status && gyre_last_error() == misuse_status ? 0 : 1);
}

void harness_expect_misuse(int (*fn)(void), int status, const char *needle)
{
	misuse_fn = fn;
	misuse_status = status;
	if (GYRE_DEBUG)
		harness_expect_abort(run_misuse, needle);
	else
		harness_expect_exit0(run_misuse);
}

__attribute__((noinline)) void *harness_launder(void *p)
{
	__asm__ volatile("" : "+r"(p));
	return p;
}

struct thread_call {
	void (*fn)(void *arg);
	void *arg;
};

static void *thread_main(void *p)
{
	struct thread_call *c = p;
	if (gyre_thread_attach() != GYRE_OK)
		return p;
	c->fn(c->arg);
	return gyre_thread_detach() == GYRE_OK ? NULL : p;
}

void harness_in_thread(void (*fn)(void *arg), void *arg)
{
	struct thread_call c = {fn, arg};
	pthread_t t;
	void *failed;
	assert_int_equal(pthread_create(&t, NULL, thread_main, &c), 0);
	/* The join blocks: the thread's collections must not wait for us. */
	assert_int_equal(gyre_blocking_begin(), GYRE_OK);
	assert_int_equal(pthread_join(t, &failed), 0);
	assert_int_equal(gyre_blocking_end(), GYRE_OK);
	assert_null(failed);
}

__attribute__((noinline)) void harness_clear_stack(void)
{
	char junk[16384];
	memset(junk, 0, sizeof(junk));
	/* Keeps the stores: the compiler must assume the asm reads them. */
	__asm__ volatile("" : : "r"(junk) : "memory");
}

gyre_type node_type;

int harness_node_register(void)
{
	static const size_t offs[] = {offsetof(struct node, left),
				      offsetof(struct node, right)};
	gyre_type_desc d = {.name = "node", .size = sizeof(struct node),
			    .ptr_offsets = offs, .n_ptrs = 2};
	node_type = gyre_type_register(&d);
	return node_type ? 0 : -1;
}

struct node *node_new(uint64_t value, struct node *l, struct node *r)
{
	struct node *n = gyre_alloc(node_type);
	assert_non_null(n);
	n->value = value;
	GYRE_STORE(n, left, l);
	GYRE_STORE(n, right, r);
	return n;
}

struct node *chain(uint64_t value, unsigned length)
{
	struct node *head = NULL;
	for (unsigned i = length; i-- > 0;)
		head = node_new(value + i, head, NULL);
	return head;
}

int node_up_with(const gyre_config *config)
{
	if (gyre_init(config) != GYRE_OK || gyre_thread_attach() != GYRE_OK)
		return -1;
	return harness_node_register();
}

static int disables;

void disable(void)
{
	assert_int_equal(gyre_disable(), GYRE_OK);
	disables++;
}

void enable(void)
{
	disables--;
	assert_int_equal(gyre_enable(), GYRE_OK);
}

int node_down(void **state)
{
	for (; disables > 0; disables--)
		if (gyre_enable() != GYRE_OK)
			return -1;
	return harness_down(state);
}

void run_body(void **state)
{
	const struct body *b = *state;
	harness_clear_stack();
	b->fn();
}

uint64_t harness_now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

void sleep_blocking(void)
{
	assert_int_equal(gyre_blocking_begin(), GYRE_OK);
	nanosleep(&(struct timespec){.tv_nsec = 1000000}, NULL);
	assert_int_equal(gyre_blocking_end(), GYRE_OK);
}

gyre_stats harness_stats(void)
{
	gyre_stats s;
	assert_int_equal(gyre_stats_get(&s), GYRE_OK);
	return s;
}
