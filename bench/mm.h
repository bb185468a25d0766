/*
 * mm.h: the memory-manager shim of the macro benchmarks. A workload is one
 * source file written against the small mm_* interface below, and the build
 * compiles it three times, choosing the manager with a macro: MM_GYRE (gyre's
 * collector), MM_BOEHM (Boehm-Demers-Weiser GC, the conservative collector
 * gyre is most often measured against) or MM_JEMALLOC (explicit malloc/free
 * with jemalloc linked in place of glibc's malloc, the "no GC" baseline).
 * Keeping the workload identical and the shim thin is what makes the three
 * timings comparable: every difference lives in the few lines of this file.
 *
 * All three variants hand out zeroed nodes, so no variant does less work per
 * allocation than another. Only the malloc variant frees; the collectors
 * reclaim what the workload drops.
 */
#ifndef BENCH_MM_H
#define BENCH_MM_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#if defined(MM_GYRE) + defined(MM_BOEHM) + defined(MM_JEMALLOC) != 1
#error "define exactly one of MM_GYRE, MM_BOEHM, MM_JEMALLOC"
#endif

/* The object the tree workloads allocate: two pointer fields and two ints,
 * 24 bytes on LP64. It lives here rather than in the workload because the
 * gyre variant must describe its pointer fields when it registers the type. */
typedef struct node {
	struct node *left;
	struct node *right;
	int i;
	int j;
} node;

/* Out of memory or a failed manager call: a benchmark cannot go on. */
static inline void mm_die(const char *what, const char *why)
{
	fprintf(stderr, "mm: %s failed: %s\n", what, why);
	exit(2);
}

#if defined(MM_GYRE)

#include <gyre.h>

/* The node type's id, set once by mm_init before any allocation. */
static gyre_type mm_node_type;

static inline const char *mm_name(void) { return "gyre"; }

static inline void mm_init(void)
{
	static const size_t ptrs[] = { offsetof(node, left),
	                               offsetof(node, right) };
	gyre_type_desc desc = { .name = "node", .size = sizeof(node),
	                        .ptr_offsets = ptrs, .n_ptrs = 2 };
	int status = gyre_init(NULL);

	if (status != GYRE_OK)
		mm_die("gyre_init", gyre_strerror(status));
	mm_node_type = gyre_type_register(&desc);
	if (mm_node_type == 0)
		mm_die("gyre_type_register", gyre_strerror(gyre_last_error()));
}

static inline void mm_shutdown(void)
{
	int status = gyre_shutdown();

	if (status != GYRE_OK)
		mm_die("gyre_shutdown", gyre_strerror(status));
}

static inline void mm_thread_attach(void)
{
	int status = gyre_thread_attach();

	if (status != GYRE_OK)
		mm_die("gyre_thread_attach", gyre_strerror(status));
}

static inline void mm_thread_detach(void)
{
	int status = gyre_thread_detach();

	if (status != GYRE_OK)
		mm_die("gyre_thread_detach", gyre_strerror(status));
}

static inline node *mm_alloc_node(void)
{
	node *n = gyre_alloc(mm_node_type);

	if (n == NULL)
		mm_die("gyre_alloc", gyre_strerror(gyre_last_error()));
	return n;
}

static inline double *mm_alloc_doubles(size_t n)
{
	double *d = gyre_alloc_bytes(n * sizeof(double));

	if (d == NULL)
		mm_die("gyre_alloc_bytes", gyre_strerror(gyre_last_error()));
	return d;
}

static inline void mm_free_tree(node *tree) { (void)tree; }

static inline uint64_t mm_gc_count(void)
{
	gyre_stats s;

	int status = gyre_stats_get(&s);

	if (status != GYRE_OK)
		mm_die("gyre_stats_get", gyre_strerror(status));
	return s.collections;
}

#define MM_STORE(obj, field, value) GYRE_STORE(obj, field, value)

#elif defined(MM_BOEHM)

#include <gc.h>

static inline const char *mm_name(void) { return "boehm"; }

static inline void mm_init(void) { GC_INIT(); }
static inline void mm_shutdown(void) {}

/* The benchmark is single-threaded: the main thread is Boehm's already. */
static inline void mm_thread_attach(void) {}
static inline void mm_thread_detach(void) {}

/* GC_MALLOC returns cleared memory. */
static inline node *mm_alloc_node(void)
{
	node *n = GC_MALLOC(sizeof(node));

	if (n == NULL)
		mm_die("GC_MALLOC", "out of memory");
	return n;
}

/* Pointer-free, so never scanned; not cleared, the caller fills it. */
static inline double *mm_alloc_doubles(size_t n)
{
	double *d = GC_MALLOC_ATOMIC(n * sizeof(double));

	if (d == NULL)
		mm_die("GC_MALLOC_ATOMIC", "out of memory");
	return d;
}

static inline void mm_free_tree(node *tree) { (void)tree; }

static inline uint64_t mm_gc_count(void) { return GC_get_gc_no(); }

#define MM_STORE(obj, field, value) ((void)((obj)->field = (value)))

#else /* MM_JEMALLOC */

#include <jemalloc/jemalloc.h>

static inline const char *mm_name(void) { return "jemalloc"; }

/* Debian's jemalloc exports unprefixed malloc/calloc/free, so linking it ahead
 * of libc sends every allocation below (and libc's own) to jemalloc. Asking
 * it for its version uses a symbol only jemalloc has, so a build that would
 * silently measure glibc's malloc instead fails to link. */
static inline void mm_init(void)
{
	const char *version = NULL;
	size_t len = sizeof(version);

	if (mallctl("version", &version, &len, NULL, 0) != 0)
		mm_die("mallctl(\"version\")", "no such control");
}

static inline void mm_shutdown(void) {}
static inline void mm_thread_attach(void) {}
static inline void mm_thread_detach(void) {}

/* calloc, so the node is zeroed like the collectors' nodes are. */
static inline node *mm_alloc_node(void)
{
	node *n = calloc(1, sizeof(node));

	if (n == NULL)
		mm_die("calloc", "out of memory");
	return n;
}

static inline double *mm_alloc_doubles(size_t n)
{
	double *d = malloc(n * sizeof(double));

	if (d == NULL)
		mm_die("malloc", "out of memory");
	return d;
}

/* The explicit-free baseline pays for walking each dropped tree. */
static inline void mm_free_tree(node *tree)
{
	if (tree == NULL)
		return;
	mm_free_tree(tree->left);
	mm_free_tree(tree->right);
	free(tree);
}

static inline uint64_t mm_gc_count(void) { return 0; }

#define MM_STORE(obj, field, value) ((void)((obj)->field = (value)))

#endif

#endif /* BENCH_MM_H */
