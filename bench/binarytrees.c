/*
 * binarytrees.c: the binary-trees workload of the Computer Language
 * Benchmarks Game, the usual allocation-throughput test of a collector.
 * It builds and checks a "stretch" tree one level deeper than the largest,
 * then keeps a long-lived tree of the largest depth while, for each depth
 * d = 4, 6, ..., max, it builds 2^(max - d + 4) trees of depth d (each node
 * allocated after its children), walks each to count its nodes and drops
 * it. Every check value is compared with the node count a complete tree
 * must have, so a manager that loses or reuses a live node fails the run
 * (exit status 1) instead of posting a fast time.
 *
 * With --threads N the trees of each depth are split across N threads (one
 * range of iterations each); the stretch and long-lived trees stay on the
 * main thread. Built against each manager through mm.h; see README.md.
 *
 * Usage: binarytrees [--depth N] [--threads N] [--json]
 */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mm.h"
#include "measure.h"

enum {
	MIN_DEPTH = 4,
	DEPTH_STEP = 2,
	/* Every manager runs for more than a second at 18 on a 2-core
	 * machine with one thread (gyre 2.4 s, glibc 2.5 s, jemalloc 2.8 s,
	 * Boehm 3.1 s); at 17, about half that, too close to the second.
	 * Each +1 doubles the work. */
	DEFAULT_MAX_DEPTH = 18,
	/* The stretch tree at 25 is 2^26 nodes (2 GiB with headers). */
	LIMIT_MAX_DEPTH = 24,
	MAX_THREADS = 64,
	MAX_DEPTHS = (LIMIT_MAX_DEPTH - MIN_DEPTH) / DEPTH_STEP + 1,
};

struct options {
	int max_depth;
	int threads;
	bool json;
};

/* One thread's share of the iterated phase. */
struct worker {
	pthread_t thread;
	const struct options *opt;
	int index;                   /* 0 .. threads-1 */
	int64_t check[MAX_DEPTHS];   /* sum of check values per depth */
};

/* ------------------------------------------------------------------ trees */

/* Bottom-up: both subtrees exist (held by locals, so they are stack roots)
 * before their parent is allocated. */
static node *make_tree(int depth)
{
	node *left, *right, *n;

	if (depth <= 0)
		return mm_alloc_node();
	left = make_tree(depth - 1);
	right = make_tree(depth - 1);
	n = mm_alloc_node();
	MM_STORE(n, left, left);
	MM_STORE(n, right, right);
	return n;
}

/* The number of nodes reached from n. */
static int64_t check_tree(const node *n)
{
	if (n->left == NULL)
		return 1;
	return 1 + check_tree(n->left) + check_tree(n->right);
}

static int64_t tree_size(int depth)
{
	return ((int64_t)1 << (depth + 1)) - 1;
}

static int64_t iterations(int depth, int max_depth)
{
	return (int64_t)1 << (max_depth - depth + MIN_DEPTH);
}

/* Builds, checks and drops the trees [from, to) of one depth. */
static int64_t build_range(int depth, int64_t from, int64_t to)
{
	int64_t check = 0;

	for (int64_t k = from; k < to; k++) {
		node *tree = make_tree(depth);

		check += check_tree(tree);
		mm_free_tree(tree);
	}
	return check;
}

/* Thread w's share of every depth: iterations [index*n/T, (index+1)*n/T). */
static void worker_run(struct worker *w)
{
	const struct options *opt = w->opt;
	int i = 0;

	for (int d = MIN_DEPTH; d <= opt->max_depth; d += DEPTH_STEP, i++) {
		int64_t n = iterations(d, opt->max_depth);

		w->check[i] = build_range(d, n * w->index / opt->threads,
		                          n * (w->index + 1) / opt->threads);
	}
}

static void *worker_main(void *arg)
{
	mm_thread_attach();
	worker_run(arg);
	mm_thread_detach();
	return NULL;
}

/* Runs the iterated phase on opt->threads threads (the calling thread alone
 * when 1). The caller waits for the others inside a blocking region: its
 * long-lived tree stays a root there, and collections need not wait for it. */
static void run_iterations(const struct options *opt, struct worker *ws)
{
	for (int t = 0; t < opt->threads; t++)
		ws[t] = (struct worker){ .opt = opt, .index = t };
	if (opt->threads == 1) {
		worker_run(&ws[0]);
		return;
	}
	MM_BLOCKING_BEGIN();
	for (int t = 0; t < opt->threads; t++)
		mm_thread_create(&ws[t].thread, worker_main, &ws[t]);
	for (int t = 0; t < opt->threads; t++)
		mm_thread_join(ws[t].thread);
	MM_BLOCKING_END();
}

/* ------------------------------------------------------------------- run */

/* Prints one line of the benchmark's output (unless quiet) and compares
 * the check value with what complete trees give. */
static bool verify(bool quiet, const char *line, int64_t got, int64_t want)
{
	if (!quiet)
		printf("%s\t check: %lld\n", line, (long long)got);
	if (got == want)
		return true;
	fprintf(stderr, "binarytrees %s: %s: check %lld, expected %lld\n",
	        mm_name(), line, (long long)got, (long long)want);
	return false;
}

/* The measured workload; returns whether every check value was right. The
 * long-lived tree is a local here, so it stays reachable (a stack root)
 * throughout. */
static bool run(const struct options *opt, struct worker *ws)
{
	int max = opt->max_depth, i = 0;
	char line[96];
	node *long_lived, *stretch;
	bool ok;

	stretch = make_tree(max + 1);
	snprintf(line, sizeof(line), "stretch tree of depth %d", max + 1);
	ok = verify(opt->json, line, check_tree(stretch), tree_size(max + 1));
	mm_free_tree(stretch);

	long_lived = make_tree(max);
	run_iterations(opt, ws);
	for (int d = MIN_DEPTH; d <= max; d += DEPTH_STEP, i++) {
		int64_t sum = 0, n = iterations(d, max);

		for (int t = 0; t < opt->threads; t++)
			sum += ws[t].check[i];
		snprintf(line, sizeof(line), "%lld\t trees of depth %d",
		         (long long)n, d);
		ok &= verify(opt->json, line, sum, n * tree_size(d));
	}
	snprintf(line, sizeof(line), "long lived tree of depth %d", max);
	ok &= verify(opt->json, line, check_tree(long_lived), tree_size(max));
	mm_free_tree(long_lived);
	return ok;
}

static void report(const struct options *opt, double wall_s)
{
	if (opt->json) {
		printf("{\"workload\":\"binarytrees\",\"mm\":\"%s\","
		       "\"threads\":%d,\"depth\":%d,\"wall_s\":%.6f",
		       mm_name(), opt->threads, opt->max_depth, wall_s);
		print_mm_json();
		printf("}\n");
		return;
	}
	printf("binarytrees %s: depth %d, %d thread%s: %.3f s, ", mm_name(),
	       opt->max_depth, opt->threads, opt->threads == 1 ? "" : "s",
	       wall_s);
	print_mm_text();
}

static void usage(void)
{
	fprintf(stderr, "usage: binarytrees [--depth N] [--threads N] [--json]\n"
	        "  --depth N    largest tree, %d..%d (default %d)\n"
	        "  --threads N  threads sharing each depth's trees, 1..%d "
	        "(default 1)\n"
	        "  --json       print one JSON object instead of the checks\n",
	        MIN_DEPTH + DEPTH_STEP, LIMIT_MAX_DEPTH, DEFAULT_MAX_DEPTH,
	        MAX_THREADS);
	exit(2);
}

static struct options parse_args(int argc, char **argv)
{
	struct options opt = { DEFAULT_MAX_DEPTH, 1, false };
	long v;

	for (int k = 1; k < argc; k++) {
		if (strcmp(argv[k], "--depth") == 0) {
			if (!long_arg(argc, argv, &k, MIN_DEPTH + DEPTH_STEP,
			              LIMIT_MAX_DEPTH, &v))
				usage();
			opt.max_depth = (int)v;
		} else if (strcmp(argv[k], "--threads") == 0) {
			if (!long_arg(argc, argv, &k, 1, MAX_THREADS, &v))
				usage();
			opt.threads = (int)v;
		} else if (strcmp(argv[k], "--json") == 0) {
			opt.json = true;
		} else {
			usage();
		}
	}
	return opt;
}

int main(int argc, char **argv)
{
	struct options opt = parse_args(argc, argv);
	static struct worker ws[MAX_THREADS];
	uint64_t start;
	bool ok;

	mm_init();
	mm_thread_attach();
	start = now_ns();
	ok = run(&opt, ws);
	report(&opt, (double)(now_ns() - start) / 1e9);
	mm_thread_detach();
	mm_shutdown();
	return ok ? 0 : 1;
}
