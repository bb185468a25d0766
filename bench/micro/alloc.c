/*
 * alloc.c: the cost of allocating one small object (16, 32, 64 and 256
 * bytes) and of getting rid of it again, for gyre, Boehm GC, jemalloc and
 * glibc malloc, on one thread and on 1, 2 and 4 threads at once. Allocation
 * is the operation a collected heap must make cheap: it is what a program
 * does most, and what the collector's design (thread-local bump runs in
 * gyre, thread-local free lists in Boehm and in both mallocs) is for.
 *
 * Every benchmark runs the same loop. Each thread keeps a ring of RING live
 * objects; each step allocates an object, writes its last word, and stores
 * it in the ring in place of the oldest, which the malloc variants free and
 * the collectors simply drop. So objects live for RING allocations, a little
 * longer than a thread-cache of freed blocks holds, and the live heap stays
 * small. For the collectors, the collections the allocation triggers are
 * part of the time (collection is never disabled): the figure is the
 * amortised cost per object of allocating and reclaiming it. One benchmark
 * iteration is one object, so the reported time is nanoseconds per object.
 *
 * One source, three binaries (chosen with a macro; gyre and Boehm GC would
 * each want to own every thread of the process):
 *   MM_GYRE   micro-alloc-gyre:   gyre_alloc_bytes (pointer-free) and
 *             gyre_alloc of a registered type with pointer fields;
 *   MM_BOEHM  micro-alloc-boehm:  GC_MALLOC_ATOMIC and GC_MALLOC;
 *   MM_MALLOC micro-alloc-malloc: jemalloc's mallocx/sdallocx and glibc's
 *             __libc_malloc/__libc_free, side by side in one binary.
 * The malloc variants do not zero the object; the collectors hand out
 * zeroed memory.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "gbench.h"

#if defined(MM_GYRE) + defined(MM_BOEHM) + defined(MM_MALLOC) != 1
#error "define exactly one of MM_GYRE, MM_BOEHM, MM_MALLOC"
#endif

/* Objects each thread keeps alive: each lives for RING allocations. */
#define RING 1024

/* An allocator under test: allocate `size` bytes, and drop `old` (an object
 * of `size` bytes that the ring let go of, or NULL before the ring is
 * full). */
typedef void *(*alloc_fn)(size_t size);
typedef void (*drop_fn)(void *old, size_t size);

/* Forces the compiler to consider `p` used, so no allocation is elided. */
static inline void escape(void *p)
{
	__asm__ volatile("" : : "g"(p) : "memory");
}

/* The measured loop, inlined into each benchmark so that `alloc` and `drop`
 * are direct calls. Time per iteration = time per object. */
static inline __attribute__((always_inline)) void
ring_loop(gbench_state *st, void **ring, size_t size, alloc_fn alloc,
          drop_fn drop)
{
	size_t last = size / sizeof(uintptr_t) - 1;

	while (gbench_keep_running_batch(st, RING)) {
		for (size_t i = 0; i < RING; i++) {
			uintptr_t *p = alloc(size);

			if (p == NULL) {
				fprintf(stderr, "alloc: out of memory\n");
				exit(2);
			}
			p[last] = i;
			drop(ring[i], size);
			ring[i] = p;
			escape(p);
		}
	}
	for (size_t i = 0; i < RING; i++) {
		drop(ring[i], size);
		ring[i] = NULL;
	}
	gbench_set_items_processed(st, gbench_iterations(st));
	gbench_set_bytes_processed(st, gbench_iterations(st) * (int64_t)size);
}

/* Sizes measured on one thread, and the one used for thread scaling. */
static const int64_t sizes[] = { 16, 32, 64, 256 };
#define SCALING_SIZE 64

/* ----------------------------------------------------------------- gyre */
#if defined(MM_GYRE)
#include <gyre.h>

/* The typed objects: pointer fields at offsets 0 and (from 32 bytes) 8,
 * the rest (at least the last word, which the loop writes) data. */
static gyre_type typed[257];

static void *gyre_bytes(size_t size) { return gyre_alloc_bytes(size); }
static void *gyre_typed(size_t size) { return gyre_alloc(typed[size]); }
static void gc_drop(void *old, size_t size) { (void)old; (void)size; }

/* Collections during the run, reported by the main benchmark thread. */
static uint64_t collections(void)
{
	gyre_stats s;

	return gyre_stats_get(&s) == GYRE_OK ? s.collections : 0;
}

static void attach(gbench_state *st)
{
	(void)st;
	if (gyre_thread_attach() != GYRE_OK) {
		fprintf(stderr, "gyre_thread_attach: %s\n",
		        gyre_strerror(gyre_last_error()));
		exit(2);
	}
}

static void detach(gbench_state *st)
{
	(void)st;
	if (gyre_thread_detach() != GYRE_OK) {
		fprintf(stderr, "gyre_thread_detach: %s\n",
		        gyre_strerror(gyre_last_error()));
		exit(2);
	}
}

static void register_types(void)
{
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		static const size_t offs[] = { 0, 8 };
		size_t size = (size_t)sizes[i];
		gyre_type_desc d = { .name = "bench", .size = size,
		                     .ptr_offsets = offs,
		                     .n_ptrs = size >= 32 ? 2 : 1 };

		typed[size] = gyre_type_register(&d);
		if (typed[size] == 0) {
			fprintf(stderr, "gyre_type_register: %s\n",
			        gyre_strerror(gyre_last_error()));
			exit(2);
		}
	}
}

static void mm_start(void)
{
	int status = gyre_init(NULL);

	if (status != GYRE_OK) {
		fprintf(stderr, "gyre_init: %s\n", gyre_strerror(status));
		exit(2);
	}
	register_types();
}

static void mm_stop(void)
{
	int status = gyre_shutdown();

	if (status != GYRE_OK) {
		fprintf(stderr, "gyre_shutdown: %s\n", gyre_strerror(status));
		exit(2);
	}
}

#define VARIANTS(X) X(gyre_bytes, gc_drop) X(gyre_typed, gc_drop)

/* ---------------------------------------------------------------- Boehm */
#elif defined(MM_BOEHM)
#define GC_THREADS
#include <gc/gc.h>

static void *boehm_atomic(size_t size) { return GC_MALLOC_ATOMIC(size); }
static void *boehm_malloc(size_t size) { return GC_MALLOC(size); }
static void gc_drop(void *old, size_t size) { (void)old; (void)size; }

static uint64_t collections(void) { return GC_get_gc_no(); }

/* Whether this thread was registered by attach (the main thread is
 * registered by GC_INIT and stays so). */
static _Thread_local int registered_here;

static void attach(gbench_state *st)
{
	struct GC_stack_base sb;

	(void)st;
	if (GC_thread_is_registered())
		return;
	if (GC_get_stack_base(&sb) != GC_SUCCESS ||
	    GC_register_my_thread(&sb) != GC_SUCCESS) {
		fprintf(stderr, "GC_register_my_thread failed\n");
		exit(2);
	}
	registered_here = 1;
}

static void detach(gbench_state *st)
{
	(void)st;
	if (registered_here) {
		GC_unregister_my_thread();
		registered_here = 0;
	}
}

static void mm_start(void)
{
	GC_INIT();
	GC_allow_register_threads();
}

static void mm_stop(void) {}

#define VARIANTS(X) X(boehm_atomic, gc_drop) X(boehm_malloc, gc_drop)

/* --------------------------------------------------------------- malloc */
#else
#include <jemalloc/jemalloc.h>

/* glibc's own allocator, exported under these names even when jemalloc
 * takes over malloc. */
void *__libc_malloc(size_t size);
void __libc_free(void *p);

static void *jemalloc(size_t size) { return mallocx(size, 0); }
static void jemalloc_drop(void *old, size_t size)
{
	if (old != NULL)
		sdallocx(old, size, 0);
}
static void *glibc(size_t size) { return __libc_malloc(size); }
static void glibc_drop(void *old, size_t size)
{
	(void)size;
	__libc_free(old);
}

static uint64_t collections(void) { return 0; }
static void mm_start(void) {}
static void mm_stop(void) {}

#define attach NULL
#define detach NULL
#define VARIANTS(X) X(jemalloc, jemalloc_drop) X(glibc, glibc_drop)
#endif

/* --------------------------------------------------------- benchmarks */

/* One benchmark function per allocator: range(0) is the object size. The
 * ring lives on the thread's stack, where both collectors find it. */
#define DEFINE_BM(name, drop)                                            \
	static void bm_##name(gbench_state *st)                          \
	{                                                                \
		void *ring[RING] = { NULL };                             \
		uint64_t gcs = collections();                            \
                                                                         \
		ring_loop(st, ring, (size_t)gbench_range(st, 0), name,   \
		          drop);                                         \
		if (gbench_thread_index(st) == 0)                        \
			gbench_counter(st, "collections",                \
			               (double)(collections() - gcs),    \
			               GBENCH_COUNTER_DEFAULT, 1000);    \
	}
VARIANTS(DEFINE_BM)

/* alloc/<allocator>/size:N on one thread, and
 * alloc_threads/<allocator>/size:64/real_time/threads:T for T = 1, 2, 4
 * (wall-clock time per object per thread; items_per_second is the total). */
#define REGISTER_BM(name, drop)                                          \
	do {                                                             \
		gbench_bm *b = gbench_register("alloc/" #name, bm_##name); \
		gbench_arg_name(b, "size");                              \
		for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) \
			gbench_arg(b, sizes[i]);                         \
		gbench_thread_hooks(b, attach, detach);                  \
		b = gbench_register("alloc_threads/" #name, bm_##name);  \
		gbench_arg_name(gbench_arg(b, SCALING_SIZE), "size");    \
		gbench_threads(gbench_threads(gbench_threads(b, 1), 2), 4); \
		gbench_use_real_time(b);                                 \
		gbench_thread_hooks(b, attach, detach);                  \
	} while (0);

int main(int argc, char **argv)
{
	int status;

	mm_start();
	VARIANTS(REGISTER_BM)
	status = gbench_main(argc, argv);
	mm_stop();
	return status;
}
