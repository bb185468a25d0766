/*
 * Tests of fork safety (runtime/fork.c, gyre.h "fork"): a fork from a
 * process whose threads allocate and store at full speed, at random
 * moments (inside and outside concurrent cycles, right after another
 * thread asked for a pause), leaves a child whose
 * forking thread is its only attached thread, finds every object its
 * roots reach intact, allocates, collects every generation, attaches a new
 * thread, detaches and shuts down, within a time limit (a hang is killed
 * and fails the test); the parent's threads go on, and its verifier
 * (on for every pause of these tests) stays clean. fork() itself must
 * return within FORK_RETURN_S (a deadlock in the handlers fails the test
 * with a message, not at meson's timeout). Also: a child of a child, a
 * fork while a cycle marks (collector thread held) and while a lazy sweep
 * is pending, and the two unusual callers, an unattached thread and a
 * thread inside a blocking region, each forking while another thread's
 * pause is under way.
 *
 * A child reports with its exit status (CHILD_CHECK), never through
 * cmocka: a failed cmocka assertion in a child would carry on with the
 * parent's test run there.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "node.h"
#include "gc/driver/collect.h"
#include "gc/old/mark.h"
#include "gc/old/marker.h"
#include "gc/old/sweep.h"
#include "runtime/config.h"
#include "runtime/fork.h"
#include "threads/mutator.h"
#include "threads/stw.h"

/* Threads that allocate and store in the parent, besides the forking one. */
#define THREADS 4
/* What each child of the load test allocates. */
#define LOAD_CHILD_BYTES ((size_t)100 << 20)
/* Forks in a row in the load test, and one child in VERIFY_EVERY runs
 * the verifier (GYRE_VERIFY) at its collections; the others turn it off.
 * The issue asks for 200 forks of 100 MiB children. Measured on 2 cores
 * (release build, 40 forks, the parent's 4 threads storing all along): a
 * fork costs 0.28 s; fork() itself 40 ms (up to 0.4 s: it waits for a
 * pause of the parent's, which verifies the parent's heap); the child
 * 150 ms, of which allocating 100 MiB 90 ms (21 young collections, 38 ms
 * of pauses) and collecting every generation 3 ms, the rest starting and
 * stopping gyre's threads; its exit and the wait for it 60 ms; the random
 * moment 30 ms. A child that verifies checks the whole heap before and
 * after each pause: in the release build its pauses take 0.2 s (up to
 * 0.7 s); in the debug build (and ASan's), with a smaller nursery, 55-100
 * young pauses of 25-80 ms each (0.5 ms unverified), 1.5-10 s a child.
 * The children allocate their 100 MiB in 256-byte steps (churn): in
 * 32-byte nodes alone, allocating took 200 ms of a debug child's 230 ms,
 * and 100 debug forks took 43 s. Now, with 4 children in 200 verified in
 * the checked builds, 20 in the release build, 200 forks take 39 s in
 * the debug build and 40 s in ASan's (the whole test 41 s and 42 s, the
 * 2 cores' load at 3-4 from other jobs; at 7-8, 58 s and 99 s).
 *
 * Under ThreadSanitizer a fork costs 1.2-2.5 s at load 7-8 (the child
 * 0.4-1.1 s allocating, 0.1-0.3 s of it in 10-19 young pauses, its start
 * and exit 0.5 s): 200 forks took 492 s there, which the test's timeout
 * allows (tests/unit/meson.build): the 200 in every build. */
#define FORKS 200
#if GYRE_DEBUG
#define VERIFY_EVERY 50
#else
#define VERIFY_EVERY 10
#endif
/* What the children of the other tests allocate: they test what a child
 * inherits in one state, not volume, and always verify. */
#define CHILD_BYTES ((size_t)20 << 20)
/* A child that has not exited by then hangs: it is killed. */
#define CHILD_TIMEOUT_MS 120000
/* fork() must return by then, in the parent, or the test aborts: its
 * handlers wait for a pause in progress at most, which takes
 * milliseconds. */
#define FORK_RETURN_S 60
#define STR_(x) #x
#define STR(x) STR_(x)
/* How long a test waits for another thread to ask for a pause. */
#define STOP_WAIT_MS 1000
/* The forking thread's known structure: a chain of KNOWN nodes valued
 * 0 .. KNOWN - 1 (by ->left), and an array whose slot i holds node i. */
#define KNOWN 2000u
/* Each storing thread's table: slot j holds a node valued j mod SLOTS. */
#define SLOTS 512u

#define CHILD_CHECK(cond, code, ...)                                           \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "fork child %d: ", (int)getpid());     \
			fprintf(stderr, __VA_ARGS__);                          \
			fputc('\n', stderr);                                   \
			_exit(code);                                           \
		}                                                              \
	} while (0)

/* ------------------------------------------------------------- the child */

/* A node in a child (no cmocka there). */
static struct node *cnode(uint64_t value, struct node *l, struct node *r)
{
	struct node *n = gyre_alloc(node_type);
	CHILD_CHECK(n, 10, "allocation failed: %s", gyre_strerror(gyre_last_error()));
	n->value = value;
	GYRE_STORE(n, left, l);
	GYRE_STORE(n, right, r);
	return n;
}

/* The known structure, as the forking thread built and changed it. */
static bool known_intact(void **arr)
{
	if (!arr || gyre_length(arr) != KNOWN)
		return false;
	struct node *n = arr[0];
	for (unsigned i = 0; i < KNOWN; i++, n = n->left)
		if (!n || n->value != i || arr[i] != n)
			return false;
	return n == NULL;
}

/* Allocates `bytes` in steps of a node and a pointer-free array of
 * ARRAY_WORDS words (256 bytes a step with their headers), keeping every
 * 64th step's pair (the array on its node's ->right) in a chain that it
 * checks at the end. The array carries most of the bytes: a node alone
 * per 32 bytes made 3.3 M allocations per 100 MiB, which under TSan took
 * 1.2-2.4 s of each child's time (debug: 200 ms). */
#define ARRAY_WORDS 27u
static void churn(size_t bytes)
{
	struct node *kept = NULL;
	uint64_t n = bytes / (sizeof(struct node) + 8 + ARRAY_WORDS * 8 + 8);
	for (uint64_t i = 0; i < n; i++) {
		struct node *x = cnode(i, NULL, NULL);
		uint64_t *a = gyre_alloc_bytes(ARRAY_WORDS * 8);
		CHILD_CHECK(a, 10, "allocation failed: %s", gyre_strerror(gyre_last_error()));
		a[0] = a[ARRAY_WORDS - 1] = i;
		if (i % 64 == 0) {
			GYRE_STORE(x, right, (struct node *)a);
			kept = cnode(i, kept, x);
		}
	}
	for (uint64_t i = (n - 1) / 64 * 64;; i -= 64) {
		CHILD_CHECK(kept && kept->value == i && kept->right->value == i, 11,
			    "kept node %llu lost", (unsigned long long)i);
		const uint64_t *a = (const uint64_t *)kept->right->right;
		CHILD_CHECK(a && a[0] == i && a[ARRAY_WORDS - 1] == i, 11,
			    "kept array %llu lost", (unsigned long long)i);
		kept = kept->left;
		if (i == 0)
			break;
	}
	CHILD_CHECK(!kept, 11, "kept chain too long");
}

static void *new_thread(void *arg)
{
	(void)arg;
	if (gyre_thread_attach() != GYRE_OK)
		return (void *)1;
	churn(CHILD_BYTES / 4);
	return gyre_thread_detach() == GYRE_OK ? NULL : (void *)1;
}

/* Everything a child must be able to do, then _exit(0): it allocates
 * `bytes`. `h` holds the known structure. The calling thread is attached
 * and RUNNING. Without `verify`, the child does not run the verifier
 * (GYRE_VERIFY) at its collections (see FORKS). */
static _Noreturn void child_work(gyre_handle h, bool verify, size_t bytes)
{
	if (!verify)
		gyre_cfg.verify = 0;
	CHILD_CHECK(known_intact(gyre_handle_get(h)), 3, "known structure damaged at fork");
	churn(bytes);
	for (int gen = 0; gen <= 2; gen++)
		CHILD_CHECK(gyre_collect(gen) >= 0, 4, "gyre_collect(%d) failed", gen);
	CHILD_CHECK(!mark_old_active(), 4, "gyre_collect(2) left a cycle marking");
	CHILD_CHECK(known_intact(gyre_handle_get(h)), 5, "known structure damaged");
	pthread_t t;
	void *failed = (void *)1;
	CHILD_CHECK(pthread_create(&t, NULL, new_thread, NULL) == 0, 6, "pthread_create");
	CHILD_CHECK(gyre_blocking_begin() == GYRE_OK, 6, "blocking_begin");
	fork_join(t, &failed);
	CHILD_CHECK(gyre_blocking_end() == GYRE_OK, 6, "blocking_end");
	CHILD_CHECK(!failed, 6, "the new thread failed");
	CHILD_CHECK(known_intact(gyre_handle_get(h)), 7, "known structure damaged");
	CHILD_CHECK(gyre_collect(2) >= 0, 7, "gyre_collect(2) failed");
	CHILD_CHECK(gyre_handle_free(h) == GYRE_OK, 8, "handle_free");
	CHILD_CHECK(gyre_thread_detach() == GYRE_OK, 8, "detach");
	CHILD_CHECK(gyre_shutdown() == GYRE_OK, 9, "shutdown: %s",
		    gyre_strerror(gyre_last_error()));
	_exit(0);
}

/* ------------------------------------------------------------ the parent */

static void fork_hung(int sig)
{
	(void)sig;
	static const char msg[] = "fork() did not return within " STR(FORK_RETURN_S)
				  " s: its handlers deadlocked\n";
	ssize_t r = write(2, msg, sizeof msg - 1);
	(void)r;
	abort();
}

/* fork(), which must return within FORK_RETURN_S in the parent (a child
 * starts with no alarm pending). */
static pid_t fork_timed(void)
{
	fflush(NULL);
	alarm(FORK_RETURN_S);
	pid_t pid = fork();
	if (pid != 0)
		alarm(0);
	return pid;
}

/* Spins, without polling a safepoint, until a thread other than the
 * caller has asked for a stop (or STOP_WAIT_MS have passed: false). If
 * the caller is attached and RUNNING, that pause's stop then waits for
 * it, and a fork now must let the pause go on and wait for its end;
 * otherwise the pause may already run, and a fork must wait for it. */
static bool await_stop_request(void)
{
	uint64_t deadline = harness_now_ms() + STOP_WAIT_MS;
	while (!atomic_load(&stw.requested))
		if (harness_now_ms() > deadline)
			return false;
	return true;
}

/* Waits for the child, for CHILD_TIMEOUT_MS at most (then kills it);
 * its wait status, or -1 if it hung. The caller must not hold up
 * collections (not attached, or in a blocking region). */
static int wait_raw(pid_t pid)
{
	uint64_t deadline = harness_now_ms() + CHILD_TIMEOUT_MS;
	int status;
	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			return status;
		if (r < 0 || harness_now_ms() > deadline)
			break;
		nanosleep(&(struct timespec){.tv_nsec = 1000000}, NULL);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return -1;
}

static void expect_exit0(int status, const char *what)
{
	if (status == -1)
		fail_msg("%s: the child hung (killed after %d ms)", what, CHILD_TIMEOUT_MS);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("%s: the child failed, status %#x", what, status);
}

/* Waits for the child in a blocking region. */
static int wait_child(pid_t pid)
{
	assert_int_equal(gyre_blocking_begin(), GYRE_OK);
	int status = wait_raw(pid);
	assert_int_equal(gyre_blocking_end(), GYRE_OK);
	return status;
}

/* A handle on a new known structure. */
static gyre_handle known_new(void)
{
	void **arr = gyre_alloc_array(GYRE_TYPE_PTR, KNOWN);
	assert_non_null(arr);
	gyre_handle h = gyre_handle_new(arr);
	struct node *n = chain(0, KNOWN);
	for (unsigned i = 0; i < KNOWN; i++, n = n->left)
		GYRE_STORE_AT(arr, i, n);
	return h;
}

/* Replaces node i (i >= 1) by a new one: young nodes among old ones, and
 * stores into old objects. */
static void known_replace(gyre_handle h, unsigned i)
{
	void **arr = gyre_handle_get(h);
	struct node *old = arr[i], *prev = arr[i - 1];
	struct node *n = node_new(i, old->left, NULL);
	GYRE_STORE(prev, left, n);
	GYRE_STORE_AT(arr, i, n);
}

static _Atomic bool stop;
/* Storers attached so far (or failed to). */
static _Atomic unsigned storers_up;
/* Each storer's stores so far. */
static _Atomic uint64_t stores[THREADS];

/* A parent thread: stores fresh nodes into its table (old after a while)
 * at full speed, with garbage between, and checks what it reads back. */
static void *storer(void *arg)
{
	unsigned i = (unsigned)(uintptr_t)arg;
	unsigned seed = i + 1;
	int attached = gyre_thread_attach();
	atomic_fetch_add(&storers_up, 1);
	if (attached != GYRE_OK)
		return (void *)1;
	void **table = gyre_alloc_array(GYRE_TYPE_PTR, SLOTS);
	void *failed = NULL;
	for (uint64_t k = 0; table && !atomic_load(&stop); k++) {
		unsigned j = (unsigned)rand_r(&seed) % SLOTS;
		struct node *n = gyre_alloc(node_type);
		if (!n)
			break;
		n->value = j + SLOTS * k;
		GYRE_STORE(n, right, gyre_alloc(node_type));
		struct node *was = table[j];
		if (was && was->value % SLOTS != j)
			failed = (void *)1;
		GYRE_STORE_AT(table, j, n);
		atomic_store_explicit(&stores[i], k + 1, memory_order_relaxed);
	}
	if (!table)
		failed = (void *)1;
	return gyre_thread_detach() == GYRE_OK ? failed : (void *)1;
}

static pthread_t storers[THREADS];

/* Starts the storers and returns once they are attached, so that every
 * fork stops them (an ASan build needs it: see main). False if one could
 * not be started (no cmocka here: a child calls it too). */
static bool storers_start(void)
{
	atomic_store(&stop, false);
	atomic_store(&storers_up, 0);
	for (uintptr_t i = 0; i < THREADS; i++) {
		atomic_store(&stores[i], 0);
		if (pthread_create(&storers[i], NULL, storer, (void *)i))
			return false;
	}
	if (gyre_blocking_begin() != GYRE_OK)
		return false;
	while (atomic_load(&storers_up) < THREADS)
		nanosleep(&(struct timespec){.tv_nsec = 100000}, NULL);
	return gyre_blocking_end() == GYRE_OK;
}

/* Whether every storer has stored since `seen` was taken, waiting up to
 * 10 s for it in a blocking region. */
static bool storers_went_on(const uint64_t seen[THREADS])
{
	assert_int_equal(gyre_blocking_begin(), GYRE_OK);
	uint64_t deadline = harness_now_ms() + 10000;
	bool all;
	do {
		all = true;
		for (unsigned i = 0; i < THREADS; i++)
			all = all && atomic_load(&stores[i]) > seen[i];
	} while (!all && harness_now_ms() < deadline &&
		 !nanosleep(&(struct timespec){.tv_nsec = 1000000}, NULL));
	assert_int_equal(gyre_blocking_end(), GYRE_OK);
	return all;
}

/* Stops the storers: false if one failed (no cmocka: as storers_start). */
static bool storers_stop(void)
{
	atomic_store(&stop, true);
	bool ok = gyre_blocking_begin() == GYRE_OK;
	for (unsigned i = 0; i < THREADS; i++) {
		void *failed = (void *)1;
		fork_join(storers[i], &failed);
		ok = ok && !failed;
	}
	return gyre_blocking_end() == GYRE_OK && ok;
}

/* Sleeps up to `us` in a blocking region. */
static void nap(unsigned us)
{
	assert_int_equal(gyre_blocking_begin(), GYRE_OK);
	nanosleep(&(struct timespec){.tv_nsec = (long)us * 1000}, NULL);
	assert_int_equal(gyre_blocking_end(), GYRE_OK);
}

/* FORKS forks while THREADS threads store, each at a random moment: after
 * a nap, right after starting a concurrent cycle, right after a young
 * collection, right after another thread asked for a pause (which then
 * waits for this one), or at once. Each child allocates LOAD_CHILD_BYTES;
 * after each fork, every storer must go on storing. */
static void test_forks_under_load(void **state)
{
	(void)state;
	assert_true(gyre_cfg.verify);
	unsigned seed = (unsigned)time(NULL);
	print_message("seed %u\n", seed);
	gyre_handle h = known_new();
	assert_true(storers_start());
	unsigned in_cycle = 0, in_stop = 0;
	uint64_t t0 = harness_now_ms();
	for (unsigned f = 0; f < FORKS; f++) {
		known_replace(h, 1 + (unsigned)rand_r(&seed) % (KNOWN - 1));
		bool stopping = false;
		switch (rand_r(&seed) % 5) {
		case 0: nap((unsigned)rand_r(&seed) % 2000); break;
		case 1: collect_start_cycle(mutator_current()); break;
		case 2: gyre_collect(0); break;
		case 3: stopping = await_stop_request(); break;
		default: break;
		}
		in_cycle += mark_old_active() || sweep_old_pending();
		in_stop += stopping;
		pid_t pid = fork_timed();
		assert_true(pid >= 0);
		if (pid == 0)
			child_work(h, f % VERIFY_EVERY == 0, LOAD_CHILD_BYTES);
		uint64_t seen[THREADS];
		for (unsigned i = 0; i < THREADS; i++)
			seen[i] = atomic_load(&stores[i]);
		expect_exit0(wait_child(pid), "fork under load");
		if (!storers_went_on(seen))
			fail_msg("fork %u: a storer of the parent stopped storing", f);
	}
	assert_true(storers_stop());
	print_message("%u forks in %llu ms: %u in a cycle or its sweep, %u right "
		      "after a stop was asked for\n", FORKS,
		      (unsigned long long)(harness_now_ms() - t0), in_cycle, in_stop);
	/* Both kinds of moments happened (each 1 fork in 5 at least tries). */
	assert_true(in_cycle > 0 && in_cycle < FORKS);
	assert_true(in_stop > 0);
	assert_true(known_intact(gyre_handle_get(h)));
	assert_int_equal(gyre_handle_free(h), GYRE_OK);
}

/* A child forks again while its gyre threads (restarted at the first
 * fork) run; the grandchild, then the child, do everything a child must. */
static void test_fork_twice(void **state)
{
	(void)state;
	gyre_handle h = known_new();
	assert_true(storers_start());
	nap(1000);
	pid_t pid = fork_timed();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* Threads of the child's own that store while it forks: a
		 * grandchild that inherited them attached would hang. */
		CHILD_CHECK(storers_start(), 24, "storers_start");
		churn(CHILD_BYTES / 4);
		pid_t grandchild = fork_timed();
		CHILD_CHECK(grandchild >= 0, 20, "fork in the child failed");
		if (grandchild == 0)
			child_work(h, true, CHILD_BYTES);
		CHILD_CHECK(gyre_blocking_begin() == GYRE_OK, 21, "blocking_begin");
		int status = wait_raw(grandchild);
		CHILD_CHECK(gyre_blocking_end() == GYRE_OK, 21, "blocking_end");
		CHILD_CHECK(status != -1, 22, "the grandchild hung");
		CHILD_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, 23,
			    "the grandchild failed, status %#x", status);
		CHILD_CHECK(storers_stop(), 25, "a storer of the child failed");
		child_work(h, true, CHILD_BYTES);
	}
	expect_exit0(wait_child(pid), "fork twice");
	assert_true(storers_stop());
	assert_int_equal(gyre_handle_free(h), GYRE_OK);
}

/* A fork while a cycle marks, its collector thread held: the child's new
 * collector thread (not held) must carry the cycle to its end. */
static void test_fork_while_marking(void **state)
{
	(void)state;
	gyre_handle h = known_new();
	assert_true(gyre_collect(2) >= 0);
	marker_hold(true);
	assert_true(collect_start_cycle(mutator_current()));
	known_replace(h, KNOWN / 2);
	gyre_stats s;
	assert_int_equal(gyre_stats_get(&s), GYRE_OK);
	assert_true(mark_old_active());
	pid_t pid = fork_timed();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* The child's collector thread may have ended it already. */
		uint64_t deadline = harness_now_ms() + CHILD_TIMEOUT_MS / 2;
		while (mark_old_active() || sweep_old_pending()) {
			CHILD_CHECK(harness_now_ms() < deadline, 31,
				    "the child's collector thread did not end the cycle");
			nap(1000);
		}
		gyre_stats c;
		CHILD_CHECK(gyre_stats_get(&c) == GYRE_OK &&
			    c.gen[2].collections == s.gen[2].collections + 1, 32,
			    "the cycle did not end in a remark");
		child_work(h, true, CHILD_BYTES);
	}
	int status = wait_child(pid);
	marker_hold(false);
	expect_exit0(status, "fork while marking");
	assert_int_equal(gyre_handle_free(h), GYRE_OK);
}

/* A fork after a remark, its lazy sweep pending (the collector thread
 * held): the child's new collector thread must sweep. */
static void test_fork_while_sweep_pending(void **state)
{
	(void)state;
	gyre_handle h = known_new();
	assert_true(gyre_collect(2) >= 0);
	marker_hold(true);
	assert_true(collect_start_cycle(mutator_current()));
	assert_true(collect_remark(mutator_current(), mark_old_cycle()));
	assert_true(sweep_old_pending());
	pid_t pid = fork_timed();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* The child's collector thread may have swept already. */
		uint64_t deadline = harness_now_ms() + CHILD_TIMEOUT_MS / 2;
		while (sweep_old_pending()) {
			CHILD_CHECK(harness_now_ms() < deadline, 41,
				    "the child's collector thread did not sweep");
			nap(1000);
		}
		child_work(h, true, CHILD_BYTES);
	}
	int status = wait_child(pid);
	marker_hold(false);
	expect_exit0(status, "fork while a sweep is pending");
	assert_int_equal(gyre_handle_free(h), GYRE_OK);
}

/* Bad input 1: a thread that is not attached forks, while a storer's
 * pause is under way. Allowed: the fork waits for the pause to end, and
 * the child has no attached thread until one attaches. */
static gyre_handle unattached_h;
static _Atomic bool unattached_in_stop;

static void *unattached_fork(void *arg)
{
	(void)arg;
	atomic_store(&unattached_in_stop, await_stop_request());
	pid_t pid = fork_timed();
	if (pid == 0) {
		CHILD_CHECK(!mutator_current(), 50, "the forking thread is attached");
		CHILD_CHECK(!mutator_any_external(), 50, "a thread is attached in the child");
		CHILD_CHECK(gyre_thread_attach() == GYRE_OK, 51, "attach");
		child_work(unattached_h, true, CHILD_BYTES);
	}
	return (void *)(intptr_t)(pid < 0 ? -2 : wait_raw(pid));
}

static void test_fork_unattached(void **state)
{
	(void)state;
	unattached_h = known_new();
	assert_true(storers_start());
	pthread_t t;
	void *status;
	assert_int_equal(pthread_create(&t, NULL, unattached_fork, NULL), 0);
	assert_int_equal(gyre_blocking_begin(), GYRE_OK);
	fork_join(t, &status);
	assert_int_equal(gyre_blocking_end(), GYRE_OK);
	assert_true(storers_stop());
	expect_exit0((int)(intptr_t)status, "fork from an unattached thread");
	assert_true(atomic_load(&unattached_in_stop));
	assert_int_equal(gyre_handle_free(unattached_h), GYRE_OK);
}

/* Bad input 2: a thread forks inside a blocking region, while a storer's
 * pause is under way. Allowed: the fork waits for the pause to end; the
 * child's thread is still inside the region, and ends it like any
 * other. */
static void test_fork_in_blocking_region(void **state)
{
	(void)state;
	gyre_handle h = known_new();
	assert_true(storers_start());
	assert_int_equal(gyre_blocking_begin(), GYRE_OK);
	bool in_stop = await_stop_request();
	pid_t pid = fork_timed();
	if (pid == 0) {
		CHILD_CHECK(atomic_load(&mutator_current()->state) == MUTATOR_BLOCKING, 60,
			    "the child's thread is not in its blocking region");
		CHILD_CHECK(gyre_blocking_end() == GYRE_OK, 61, "blocking_end");
		child_work(h, true, CHILD_BYTES);
	}
	int status = pid < 0 ? -2 : wait_raw(pid);
	assert_int_equal(gyre_blocking_end(), GYRE_OK);
	assert_true(storers_stop());
	expect_exit0(status, "fork inside a blocking region");
	assert_true(in_stop);
	assert_int_equal(gyre_handle_free(h), GYRE_OK);
}

/* ThreadSanitizer (GCC 12's runtime) runs these tests with
 * die_after_fork=0 (meson.build's tsan setup): it would otherwise end a
 * child of a multi-threaded fork at its first pthread_create. In such a
 * child TSan checks nothing on the forking thread (it ignores its accesses
 * and synchronisation), only on threads the child starts. Every join in
 * these tests and in gyre goes through fork_join, past TSan's own
 * pthread_join, which dies there on a pthread_t that glibc reused from one
 * of the parent's threads (runtime/fork.c, "Joins in a child").
 *
 * AddressSanitizer's allocator (GCC 12's libasan) takes no lock at fork
 * (LLVM's compiler-rt gained an atfork handler that locks it only later):
 * a thread inside malloc or free at the fork leaves its size-class lock
 * held in the child, whose new threads wait on it for ever. These tests
 * used to skip under ASan for that: a child hung 1 run in 3 (2 runs of
 * 2 with 100 forks of 5 MiB children), every new thread of the child in
 * __sanitizer::SizeClassAllocator64::GetFromAllocator, under the free()
 * in pthread_getattr_np that libasan's AsanThread::Init calls as a thread
 * starts. The thread in the allocator can only have been a storer just
 * created by storers_start (pthread_getattr_np again): the tests forked
 * at once, before it had attached, and gyre stops attached threads
 * only. storers_start now returns once every storer is attached (6 runs
 * of 6 passed after that), and at every fork of these tests no thread
 * can be in the allocator: the embedder's threads are attached and
 * stopped by the prepare handler at safepoints (never inside malloc) or
 * are the forking thread; gyre's collector and finalizer threads are
 * stopped too (at a safepoint, or waiting on a condition variable in a
 * blocking region); its workers and prefault thread do not call malloc.
 * No thread is created or exits during a fork. So the
 * ASan+UBSan build runs them. (Nothing in libasan's interface would help
 * a program whose own unattached threads malloc at a fork: it has no
 * fork hook and exports no allocator lock; its internal
 * __asan::asan_mz_force_lock is in the static libasan only.) GCC 12's
 * TSan allocator takes no lock at fork either (LLVM's gained one later),
 * and the same reasoning holds for it. */
static int up(void **state)
{
	(void)state;
	return node_up_with(&(gyre_config){.verify = 1});
}

static int down(void **state)
{
	marker_hold(false);
	return node_down(state);
}

#define CASE(fn) cmocka_unit_test_setup_teardown(fn, up, down)

int main(void)
{
	struct sigaction sa = {.sa_handler = fork_hung};
	sigaction(SIGALRM, &sa, NULL);
	const struct CMUnitTest tests[] = {
		CASE(test_forks_under_load),
		CASE(test_fork_twice),
		CASE(test_fork_while_marking),
		CASE(test_fork_while_sweep_pending),
		CASE(test_fork_unattached),
		CASE(test_fork_in_blocking_region),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
