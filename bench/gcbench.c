/*
 * gcbench.c: a macro benchmark in the shape of the classic GCBench of Ellis,
 * Kovac and Boehm, the workload collectors have been compared on for decades.
 * It allocates binary trees of many sizes, some built top-down (allocate a
 * node, then fill in its children) and some bottom-up (children first), while
 * a long-lived tree and a long-lived array of doubles stay reachable
 * throughout, so a collector both reclaims lots of short-lived garbage and
 * keeps re-marking (or skipping) a sizeable old heap. At the end it checks
 * that the long-lived data survived intact and exits non-zero if not, so a
 * collector that frees live objects fails instead of posting a fast time.
 *
 * The same source is built against gyre, Boehm GC and plain malloc/free
 * (jemalloc) through mm.h; see README.md for how to run the comparison.
 *
 * Usage: gcbench [--depth N] [--repeat N] [--json]
 */
/* clock_gettime and CLOCK_MONOTONIC under -std=c11 when built by hand. */
#define _POSIX_C_SOURCE 200809L

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "mm.h"
#include "measure.h"

enum {
	LONG_LIVED_DEPTH = 16,   /* the tree that lives through the whole run */
	ARRAY_SIZE = 500000,     /* doubles in the long-lived array */
	MIN_DEPTH = 4,           /* smallest short-lived trees */
	DEPTH_STEP = 2,
	/* The stretch tree is this much deeper than the largest short-lived
	 * tree, as in the original (18 over 16); it also sets how many trees
	 * each depth builds, see num_iters. */
	STRETCH_EXTRA = 2,
	/* The smallest even depth at which every manager runs >= 1 s on a
	 * 2-core machine (at 18 gyre took 0.9 s; at 20, 4.5 s to 10 s). */
	DEFAULT_MAX_DEPTH = 20,
	/* The stretch tree at depth 26 is 2^27 nodes (3 GiB); stop there. */
	LIMIT_MAX_DEPTH = 24,
};

/* What the command line asked for. */
struct options {
	int max_depth;  /* largest short-lived tree depth */
	int repeat;     /* times the short-lived phase runs */
	bool json;      /* one JSON object instead of a human line */
};

/* ------------------------------------------------------------------ trees */

/* Nodes in a complete binary tree of the given depth (depth 0: one node). */
static int64_t tree_size(int depth)
{
	return ((int64_t)1 << (depth + 1)) - 1;
}

/* How many trees of `depth` to build so every depth allocates about the same
 * number of nodes: twice as many as the stretch tree holds. */
static int64_t num_iters(int depth, int stretch_depth)
{
	return 2 * tree_size(stretch_depth) / tree_size(depth);
}

/* Top-down: `n` exists first, its children are allocated and stored into it,
 * then filled in. Every child store goes through the write barrier. */
static void populate(int depth, node *n)
{
	if (depth <= 0)
		return;
	depth--;
	MM_STORE(n, left, mm_alloc_node());
	MM_STORE(n, right, mm_alloc_node());
	populate(depth, n->left);
	populate(depth, n->right);
}

/* Bottom-up: both subtrees exist (held only by locals, so they are stack
 * roots while the sibling is built) before their parent is allocated. */
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

/* One depth of the short-lived phase: num_iters trees each way, each
 * dropped as soon as it is complete. */
static void build_trees(int depth, int stretch_depth)
{
	int64_t iters = num_iters(depth, stretch_depth);

	for (int64_t k = 0; k < iters; k++) {
		node *tree = mm_alloc_node();

		populate(depth, tree);
		mm_free_tree(tree);
	}
	for (int64_t k = 0; k < iters; k++)
		mm_free_tree(make_tree(depth));
}

/* ----------------------------------------------------- long-lived checks */

/* Marks every node of the long-lived tree with its height and a function of
 * it, so the final check notices a node whose memory was reused. */
static void stamp_tree(node *n, int depth)
{
	if (n == NULL)
		return;
	n->i = depth;
	n->j = ~depth;
	stamp_tree(n->left, depth - 1);
	stamp_tree(n->right, depth - 1);
}

/* Nodes in a tree whose stamps and shape match a complete tree of `depth`,
 * or -1 at the first node that does not. */
static int64_t check_tree(const node *n, int depth)
{
	int64_t left, right;

	if (n == NULL || n->i != depth || n->j != ~depth)
		return -1;
	if (depth == 0)
		return n->left == NULL && n->right == NULL ? 1 : -1;
	left = check_tree(n->left, depth - 1);
	right = check_tree(n->right, depth - 1);
	if (left < 0 || right < 0)
		return -1;
	return 1 + left + right;
}

/* Element k holds 1/k (element 0 holds 0), so any overwrite shows. */
static void fill_array(double *a, size_t n)
{
	a[0] = 0.0;
	for (size_t k = 1; k < n; k++)
		a[k] = 1.0 / (double)k;
}

static bool check_array(const double *a, size_t n)
{
	for (size_t k = 1; k < n; k++)
		if (a[k] != 1.0 / (double)k)
			return false;
	return a[0] == 0.0 && a[1000] == 1.0 / 1000;
}

/* ------------------------------------------------------------ reporting */

static void report(const struct options *opt, double wall_s)
{
	if (opt->json) {
		printf("{\"workload\":\"gcbench\",\"mm\":\"%s\",\"wall_s\":%.6f,"
		       "\"depth\":%d,\"repeat\":%d", mm_name(), wall_s,
		       opt->max_depth, opt->repeat);
		print_mm_json();
		printf("}\n");
	} else {
		printf("gcbench %s: depth %d x%d: %.3f s, peak RSS %.1f MiB, "
		       "%llu collections\n", mm_name(), opt->max_depth, opt->repeat,
		       wall_s, (double)peak_rss_kb() / 1024.0,
		       (unsigned long long)mm_gc_count());
	}
}

/* --------------------------------------------------------- command line */

static void usage(void)
{
	fprintf(stderr, "usage: gcbench [--depth N] [--repeat N] [--json]\n"
	        "  --depth N   largest short-lived tree, %d..%d (default %d)\n"
	        "  --repeat N  run the short-lived phase N times (default 1)\n"
	        "  --json      print one JSON object\n",
	        MIN_DEPTH, LIMIT_MAX_DEPTH, DEFAULT_MAX_DEPTH);
	exit(2);
}

/* The integer argument after argv[*k], in [lo, hi]; exits on anything else. */
static int int_arg(int argc, char **argv, int *k, int lo, int hi)
{
	char *end;
	long v;

	if (++*k >= argc)
		usage();
	v = strtol(argv[*k], &end, 10);
	if (*argv[*k] == '\0' || *end != '\0' || v < lo || v > hi)
		usage();
	return (int)v;
}

static struct options parse_args(int argc, char **argv)
{
	struct options opt = { DEFAULT_MAX_DEPTH, 1, false };

	for (int k = 1; k < argc; k++) {
		if (strcmp(argv[k], "--depth") == 0)
			opt.max_depth = int_arg(argc, argv, &k, MIN_DEPTH,
			                        LIMIT_MAX_DEPTH);
		else if (strcmp(argv[k], "--repeat") == 0)
			opt.repeat = int_arg(argc, argv, &k, 1, 1000000);
		else if (strcmp(argv[k], "--json") == 0)
			opt.json = true;
		else
			usage();
	}
	return opt;
}

/* ----------------------------------------------------------------- main */

/* The measured workload. Returns whether the long-lived data survived. The
 * long-lived tree and array are locals here, so they stay reachable through
 * this frame (a stack root for the collectors) for the whole run. */
static bool run(const struct options *opt)
{
	int stretch_depth = opt->max_depth + STRETCH_EXTRA;
	node *long_lived;
	double *array;
	bool ok;

	mm_free_tree(make_tree(stretch_depth));

	long_lived = mm_alloc_node();
	populate(LONG_LIVED_DEPTH, long_lived);
	stamp_tree(long_lived, LONG_LIVED_DEPTH);
	array = mm_alloc_doubles(ARRAY_SIZE);
	fill_array(array, ARRAY_SIZE);

	for (int r = 0; r < opt->repeat; r++)
		for (int d = MIN_DEPTH; d <= opt->max_depth; d += DEPTH_STEP)
			build_trees(d, stretch_depth);

	ok = check_tree(long_lived, LONG_LIVED_DEPTH) ==
	             tree_size(LONG_LIVED_DEPTH) &&
	     check_array(array, ARRAY_SIZE);
	if (!ok)
		fprintf(stderr, "gcbench %s: long-lived data corrupted\n",
		        mm_name());
	return ok;
}

int main(int argc, char **argv)
{
	struct options opt = parse_args(argc, argv);
	double start;
	bool ok;

	mm_init();
	mm_thread_attach();
	start = (double)now_ns() / 1e9;
	ok = run(&opt);
	report(&opt, (double)now_ns() / 1e9 - start);
	mm_thread_detach();
	mm_shutdown();
	return ok ? 0 : 1;
}
