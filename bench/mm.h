/*
 * mm.h: the memory-manager shim of the macro benchmarks. A workload is one
 * source file written against the small mm_* interface below, and the build
 * compiles it four times, choosing the manager with a macro: MM_GYRE (gyre's
 * collector), MM_BOEHM (Boehm-Demers-Weiser GC, the conservative collector
 * gyre is most often measured against), MM_JEMALLOC (explicit malloc/free
 * with jemalloc linked in place of glibc's malloc) or MM_GLIBC (explicit
 * malloc/free with glibc's own malloc: the binary links neither jemalloc nor
 * gyre). The two malloc variants are the "no GC" baselines. Keeping the
 * workload identical and the shim thin is what makes the timings comparable:
 * every difference lives in the few lines of this file.
 *
 * What the shim offers:
 * - lifecycle: mm_init, mm_shutdown, and per thread mm_thread_attach/detach;
 *   mm_root_add for a global that holds heap pointers;
 *   threads are started with mm_thread_create (Boehm must see every thread)
 *   and joined with mm_thread_join inside a blocking region;
 * - blocking regions, MM_BLOCKING_BEGIN/END: an attached gyre thread that
 *   waits (a lock, a join, a barrier) must wait inside one or collections
 *   stall; they are macros because gyre's regions are lexically scoped (the
 *   end comes before the function that began returns). MM_MUTEX_LOCK takes
 *   a mutex with the region opened only when the lock is contended;
 * - objects: the tree `node`; types the workload registers with their
 *   pointer fields (mm_type_register, mm_alloc); traced pointer arrays
 *   (mm_alloc_ptrs); pointer-free byte buffers (mm_alloc_bytes,
 *   mm_alloc_doubles); mm_free and mm_free_tree, which only the malloc
 *   variants do anything for: the collectors reclaim what is dropped;
 * - mm_safepoint, which a long loop that does not allocate calls (gyre's
 *   safepoints are cooperative; Boehm stops threads with signals);
 * - critical sections: mm_disable/mm_enable turn automatic collection off;
 *   mm_critical_begin(budget)/mm_critical_end are a no-GC region with a
 *   budget (gyre_critical_*; mm_disable/mm_enable elsewhere), end
 *   returning false when the budget ran out;
 *   and on (no-ops for malloc); MM_EXPLICIT_FREE is 1 where mm_free frees,
 *   so code that walks a structure only to free it can skip the walk;
 * - mm_collect: a full collection now (gyre_collect(2), GC_gcollect), for
 *   a program that knows its data just shrank; nothing for malloc;
 * - observation: mm_gc_count and mm_pauses_get (pause count, total, max and
 *   a log2 histogram in microseconds, for the two collectors).
 *
 * Nodes, registered objects and pointer arrays come back zeroed from every
 * manager, so no variant does less work per allocation than another. Byte
 * buffers are not necessarily zeroed: the caller fills them.
 */
#ifndef BENCH_MM_H
#define BENCH_MM_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(MM_GYRE) + defined(MM_BOEHM) + defined(MM_JEMALLOC) + \
	defined(MM_GLIBC) != 1
#error "define exactly one of MM_GYRE, MM_BOEHM, MM_JEMALLOC, MM_GLIBC"
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

/* A type id from mm_type_register; 0 is never valid. */
typedef uint32_t mm_type;

/* Pause histogram: bucket i counts pauses in [2^i, 2^(i+1)) microseconds,
 * bucket 0 also those under 1 us, the last one everything above (gyre's
 * GYRE_PAUSE_BUCKETS layout, so the collectors report alike). */
#define MM_PAUSE_BUCKETS 24

struct mm_pauses {
	bool known;          /* false for the malloc variants: no collector */
	uint64_t count;
	uint64_t total_ns;
	uint64_t max_ns;
	uint64_t histogram[MM_PAUSE_BUCKETS];
	/* The minor (generation 0 and 1) collections among them; only a
	 * generational collector (gyre) has them. */
	bool minor_known;
	uint64_t minor_count;
	uint64_t minor_max_ns;
	uint64_t minor_histogram[MM_PAUSE_BUCKETS];
	/* What the minor pauses spent their time on (gyre_gen_stats):
	 * their total, stopping the threads, roots (pinning and dirty
	 * cards), copying, releasing; and the dirty cards scanned. */
	uint64_t minor_total_ns, minor_stop_ns, minor_roots_ns, minor_copy_ns,
		minor_release_ns, minor_cards;
	/* gyre: generation 2's size-class bytes in use and the free bytes
	 * in its partly used blocks, at its last sweep; marking increments. */
	uint64_t old_block_bytes, old_free_bytes, increments;
	/* gyre: the permanent generation (gyre_freeze): frozen objects and
	 * their bytes; frozen_known is false for the other managers. */
	bool frozen_known;
	uint64_t frozen_objects, frozen_bytes;
	/* gyre (issue 20): time to safepoint (the longest, the stops that
	 * named a slow thread, the histogram) and no-GC regions (opened,
	 * overrun, the longest, bytes taken inside). */
	bool controls_known;
	uint64_t ttsp_max_ns, slow_stops, ttsp_histogram[MM_PAUSE_BUCKETS];
	uint64_t regions_opened, regions_overrun, region_longest_ns, region_bytes;
	/* gyre (issue 20): the memory limit (0: none), what gyre holds
	 * from the system as the limit counts it, the collections the limit
	 * ran, the times the collector's cap let the heap pass it, the time
	 * allocations waited for the cap, and the allocations it refused. */
	uint64_t memory_limit, memory_total, limit_reached, limit_exceeded,
		limit_held_ns, limit_refused;
};

/* Out of memory or a failed manager call: a benchmark cannot go on. */
static inline void mm_die(const char *what, const char *why)
{
	fprintf(stderr, "mm: %s failed: %s\n", what, why);
	exit(2);
}

/* A pthread call that returned `err`. */
static inline void mm_check_errno(int err, const char *what)
{
	if (err != 0)
		mm_die(what, strerror(err));
}

static inline unsigned mm_pause_bucket(uint64_t ns)
{
	uint64_t us = ns / 1000;
	unsigned b = us < 2 ? 0 : 63 - (unsigned)__builtin_clzll(us);

	return b < MM_PAUSE_BUCKETS ? b : MM_PAUSE_BUCKETS - 1;
}

/* For the managers without types (Boehm, malloc): a type id indexes a
 * table of object sizes (Boehm scans every word of a GC_MALLOC object). */
#if !defined(MM_GYRE)
enum { MM_MAX_TYPES = 16 };
static size_t mm_type_sizes[MM_MAX_TYPES];
static mm_type mm_type_count;

static inline mm_type mm_type_register(const char *name, size_t size,
                                       const size_t *ptr_offsets,
                                       size_t n_ptrs)
{
	(void)name, (void)ptr_offsets, (void)n_ptrs;
	if (mm_type_count + 1 >= MM_MAX_TYPES)
		mm_die("mm_type_register", "too many types");
	mm_type_sizes[++mm_type_count] = size;
	return mm_type_count;
}

/* Nothing to do for them at shutdown, per thread, for roots (Boehm scans
 * data and bss itself; threads from mm_thread_create are registered by
 * GC_pthread_create) or around blocking waits. */
static inline void mm_shutdown(void) {}
/* Pre-fork servers: malloc has nothing to freeze; Boehm GC's marker
 * threads do not survive fork unless set up for it (GC_set_handle_fork
 * before GC_INIT), which this shim does not do. */
static inline void mm_freeze(void)
{
#if defined(MM_BOEHM)
	mm_die("mm_freeze", "no pre-fork mode with Boehm GC here");
#endif
}
static inline void mm_thread_attach(void) {}
static inline void mm_thread_detach(void) {}
static inline void mm_root_add(void *start, size_t size) { (void)start, (void)size; }

#define MM_BLOCKING_BEGIN() ((void)0)
#define MM_BLOCKING_END() ((void)0)
static inline void mm_safepoint(void) {}
#endif

#if defined(MM_GYRE)

#include <gyre.h>

/* The node type's id, set once by mm_init before any allocation. */
static gyre_type mm_node_type;

static inline const char *mm_name(void) { return "gyre"; }

static inline void mm_check(int status, const char *what)
{
	if (status != GYRE_OK)
		mm_die(what, gyre_strerror(status));
}

static inline mm_type mm_type_register(const char *name, size_t size,
                                       const size_t *ptr_offsets,
                                       size_t n_ptrs)
{
	gyre_type_desc desc = { .name = name, .size = size,
	                        .ptr_offsets = n_ptrs ? ptr_offsets : NULL,
	                        .n_ptrs = n_ptrs };
	gyre_type t = gyre_type_register(&desc);

	if (t == 0)
		mm_die("gyre_type_register", gyre_strerror(gyre_last_error()));
	return t;
}

/* Starts gyre with `config` (NULL: the defaults). */
static inline void mm_init_gyre(const gyre_config *config)
{
	static const size_t ptrs[] = { offsetof(node, left),
	                               offsetof(node, right) };

	mm_check(gyre_init(config), "gyre_init");
	mm_node_type = mm_type_register("node", sizeof(node), ptrs, 2);
}

static inline void mm_init(void) { mm_init_gyre(NULL); }

static inline void mm_shutdown(void) { mm_check(gyre_shutdown(), "gyre_shutdown"); }

/* Before a pre-fork server forks its workers: what is alive stays shared
 * with them (gyre_freeze). */
static inline void mm_freeze(void) { mm_check(gyre_freeze(), "gyre_freeze"); }

static inline void mm_thread_attach(void)
{
	mm_check(gyre_thread_attach(), "gyre_thread_attach");
}

static inline void mm_thread_detach(void)
{
	mm_check(gyre_thread_detach(), "gyre_thread_detach");
}

/* Makes [start, start + size) outside the heap (a global) a root. */
static inline void mm_root_add(void *start, size_t size)
{
	mm_check(gyre_root_add(start, size), "gyre_root_add");
}

#define MM_BLOCKING_BEGIN() mm_check(gyre_blocking_begin(), "gyre_blocking_begin")
#define MM_BLOCKING_END() mm_check(gyre_blocking_end(), "gyre_blocking_end")

static inline void mm_safepoint(void) { gyre_safepoint(); }

static inline void *mm_alloc(mm_type type)
{
	void *p = gyre_alloc(type);

	if (p == NULL)
		mm_die("gyre_alloc", gyre_strerror(gyre_last_error()));
	return p;
}

static inline node *mm_alloc_node(void) { return mm_alloc(mm_node_type); }

static inline void **mm_alloc_ptrs(size_t n)
{
	void **p = gyre_alloc_array(GYRE_TYPE_PTR, n);

	if (p == NULL)
		mm_die("gyre_alloc_array", gyre_strerror(gyre_last_error()));
	return p;
}

static inline void *mm_alloc_bytes(size_t n)
{
	void *p = gyre_alloc_bytes(n);

	if (p == NULL)
		mm_die("gyre_alloc_bytes", gyre_strerror(gyre_last_error()));
	return p;
}

#define MM_EXPLICIT_FREE 0
static inline void mm_free(void *p) { (void)p; }
static inline void mm_free_tree(node *tree) { (void)tree; }

static inline void mm_disable(void) { mm_check(gyre_disable(), "gyre_disable"); }
static inline void mm_enable(void) { mm_check(gyre_enable(), "gyre_enable"); }

/* Calls fn with the time (CLOCK_MONOTONIC) each collection's pause ended,
 * from gyre's event callbacks; elsewhere never. */
static void (*mm_collection_fn)(uint64_t time_ns);

static void mm_gyre_event(const gyre_event *ev, void *ctx)
{
	(void)ctx;
	if (ev->kind == GYRE_EVENT_COLLECTION_END)
		mm_collection_fn(ev->time_ns);
}

static inline void mm_on_collection(void (*fn)(uint64_t time_ns))
{
	mm_collection_fn = fn;
	mm_check(gyre_callback_add(mm_gyre_event, NULL), "gyre_callback_add");
}

/* A region that cannot have its room (GYRE_ENOMEM) is not opened: the
 * request runs without the guarantee rather than fail. True from end
 * unless the budget ran out. */
static inline bool mm_critical_begin(size_t budget)
{
	return gyre_critical_begin(budget) == GYRE_OK;
}
static inline bool mm_critical_end(bool opened)
{
	return !opened || gyre_critical_end() == GYRE_OK;
}

static inline void mm_collect(void)
{
	if (gyre_collect(2) < 0)
		mm_die("gyre_collect", gyre_strerror(gyre_last_error()));
}

static inline uint64_t mm_gc_count(void)
{
	gyre_stats s;

	mm_check(gyre_stats_get(&s), "gyre_stats_get");
	return s.collections;
}

static inline void mm_pauses_get(struct mm_pauses *out)
{
	gyre_stats s;

	_Static_assert(MM_PAUSE_BUCKETS == GYRE_PAUSE_BUCKETS,
	               "one pause histogram layout");
	mm_check(gyre_stats_get(&s), "gyre_stats_get");
	out->known = true;
	out->count = s.pause_count;
	out->total_ns = s.pause_total_ns;
	out->max_ns = s.pause_max_ns;
	memcpy(out->histogram, s.pause_histogram, sizeof(out->histogram));
	out->minor_known = true;
	out->minor_count = s.gen[0].collections + s.gen[1].collections;
	out->minor_max_ns = s.gen[0].pause_max_ns > s.gen[1].pause_max_ns
		? s.gen[0].pause_max_ns : s.gen[1].pause_max_ns;
	for (int b = 0; b < MM_PAUSE_BUCKETS; b++)
		out->minor_histogram[b] = s.gen[0].pause_histogram[b] +
		                          s.gen[1].pause_histogram[b];
	out->minor_total_ns = s.gen[0].pause_total_ns + s.gen[1].pause_total_ns;
	out->minor_stop_ns = s.gen[0].stop_total_ns + s.gen[1].stop_total_ns;
	out->minor_roots_ns = s.gen[0].roots_total_ns + s.gen[1].roots_total_ns;
	out->minor_copy_ns = s.gen[0].copy_total_ns + s.gen[1].copy_total_ns;
	out->minor_release_ns = s.gen[0].release_total_ns +
	                        s.gen[1].release_total_ns;
	out->minor_cards = s.gen[0].cards_scanned + s.gen[1].cards_scanned;
	out->old_block_bytes = s.old_block_bytes;
	out->old_free_bytes = s.old_free_bytes;
	out->increments = s.increments;
	out->frozen_known = true;
	out->frozen_objects = s.frozen_objects;
	out->frozen_bytes = s.frozen_bytes;
	out->controls_known = true;
	out->ttsp_max_ns = s.ttsp_max_ns;
	out->slow_stops = s.slow_stops;
	memcpy(out->ttsp_histogram, s.ttsp_histogram, sizeof(out->ttsp_histogram));
	out->regions_opened = s.critical_opened;
	out->regions_overrun = s.critical_overrun;
	out->region_longest_ns = s.critical_longest_ns;
	out->region_bytes = s.critical_bytes;
	out->memory_limit = s.memory_limit;
	out->memory_total = s.memory_total;
	out->limit_reached = s.memory_limit_reached;
	out->limit_exceeded = s.memory_limit_exceeded;
	out->limit_held_ns = s.memory_limit_held_ns;
	out->limit_refused = s.memory_limit_refused;
}

#define MM_STORE(obj, field, value) GYRE_STORE(obj, field, value)
#define MM_STORE_AT(array, index, value) GYRE_STORE_AT(array, index, value)

#elif defined(MM_BOEHM)

/* Threads must be known to Boehm GC: with GC_THREADS its header provides
 * GC_pthread_create and GC_pthread_join, which register and unregister
 * them, and the threads-enabled collector stops them to mark. */
#define GC_THREADS
#include <gc.h>

static inline const char *mm_name(void) { return "boehm"; }

/* Pause accounting from Boehm's collection events. Sync: the callback runs
 * with Boehm's allocation lock held, so collections update these one at a
 * time, and mm_pauses_get copies them under the same lock. */
static struct mm_pauses mm_boehm_pauses = { .known = true };
static uint64_t mm_boehm_start_ns;

static inline uint64_t mm_boehm_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* A pause is GC_EVENT_START to GC_EVENT_END: the whole collection, which
 * runs with the world stopped (marking) or with the allocation lock held
 * (the rest), so every allocating thread waits for all of it. */
static void GC_CALLBACK mm_boehm_event(GC_EventType event)
{
	struct mm_pauses *p = &mm_boehm_pauses;
	uint64_t ns;

	if (event == GC_EVENT_START) {
		mm_boehm_start_ns = mm_boehm_now_ns();
		return;
	}
	if (event != GC_EVENT_END)
		return;
	ns = mm_boehm_now_ns() - mm_boehm_start_ns;
	p->count++;
	p->total_ns += ns;
	if (ns > p->max_ns)
		p->max_ns = ns;
	p->histogram[mm_pause_bucket(ns)]++;
}

static inline void mm_init(void)
{
	GC_INIT();
	GC_set_on_collection_event(mm_boehm_event);
}


static inline void *mm_gc_malloc(size_t size)
{
	void *p = GC_MALLOC(size);

	if (p == NULL)
		mm_die("GC_MALLOC", "out of memory");
	return p;
}

/* GC_MALLOC returns cleared memory. */
static inline void *mm_alloc(mm_type type) { return mm_gc_malloc(mm_type_sizes[type]); }
static inline node *mm_alloc_node(void) { return mm_gc_malloc(sizeof(node)); }
static inline void **mm_alloc_ptrs(size_t n) { return mm_gc_malloc(n * sizeof(void *)); }

/* Pointer-free, so never scanned; not cleared, the caller fills it. */
static inline void *mm_alloc_bytes(size_t n)
{
	void *p = GC_MALLOC_ATOMIC(n);

	if (p == NULL)
		mm_die("GC_MALLOC_ATOMIC", "out of memory");
	return p;
}

#define MM_EXPLICIT_FREE 0
static inline void mm_free(void *p) { (void)p; }
static inline void mm_free_tree(node *tree) { (void)tree; }

/* Boehm's disable count is global, like gyre's. */
static inline void mm_disable(void) { GC_disable(); }
static inline void mm_enable(void) { GC_enable(); }
static inline bool mm_critical_begin(size_t budget) { (void)budget; GC_disable(); return true; }
static inline void mm_on_collection(void (*fn)(uint64_t)) { (void)fn; }
static inline bool mm_critical_end(bool opened) { (void)opened; GC_enable(); return true; }

static inline void mm_collect(void) { GC_gcollect(); }

static inline uint64_t mm_gc_count(void) { return GC_get_gc_no(); }

static void *GC_CALLBACK mm_boehm_copy_pauses(void *out)
{
	*(struct mm_pauses *)out = mm_boehm_pauses;
	return NULL;
}

static inline void mm_pauses_get(struct mm_pauses *out)
{
	GC_call_with_alloc_lock(mm_boehm_copy_pauses, out);
}

#define MM_STORE(obj, field, value) ((void)((obj)->field = (value)))
#define MM_STORE_AT(array, index, value) ((void)((array)[index] = (value)))

#else /* MM_JEMALLOC or MM_GLIBC: explicit malloc/free */

#if defined(MM_JEMALLOC)

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

#else /* MM_GLIBC */

#include <dlfcn.h>

static inline const char *mm_name(void) { return "glibc"; }

/* The binary links no other allocator, but one could be preloaded; then
 * the figures would be that allocator's under glibc's name. jemalloc is
 * recognised by its mallctl. */
static inline void mm_init(void)
{
	if (dlsym(RTLD_DEFAULT, "mallctl") != NULL)
		mm_die("mm_init", "another malloc (jemalloc?) replaces glibc's");
}

#endif


/* calloc, so objects are zeroed like the collectors' are. */
static inline void *mm_calloc(size_t n, size_t size)
{
	void *p = calloc(n, size);

	if (p == NULL)
		mm_die("calloc", "out of memory");
	return p;
}

static inline void *mm_alloc(mm_type type) { return mm_calloc(1, mm_type_sizes[type]); }
static inline node *mm_alloc_node(void) { return mm_calloc(1, sizeof(node)); }
static inline void **mm_alloc_ptrs(size_t n) { return mm_calloc(n, sizeof(void *)); }

static inline void *mm_alloc_bytes(size_t n)
{
	void *p = malloc(n);

	if (p == NULL)
		mm_die("malloc", "out of memory");
	return p;
}

#define MM_EXPLICIT_FREE 1
static inline void mm_free(void *p) { free(p); }

/* The explicit-free baseline pays for walking each dropped tree. */
static inline void mm_free_tree(node *tree)
{
	if (tree == NULL)
		return;
	mm_free_tree(tree->left);
	mm_free_tree(tree->right);
	free(tree);
}

static inline void mm_disable(void) {}
static inline void mm_enable(void) {}
static inline bool mm_critical_begin(size_t budget) { (void)budget; return true; }
static inline void mm_on_collection(void (*fn)(uint64_t)) { (void)fn; }
static inline bool mm_critical_end(bool opened) { (void)opened; return true; }

static inline void mm_collect(void) {}

static inline uint64_t mm_gc_count(void) { return 0; }

static inline void mm_pauses_get(struct mm_pauses *out)
{
	memset(out, 0, sizeof(*out));
}

#define MM_STORE(obj, field, value) ((void)((obj)->field = (value)))
#define MM_STORE_AT(array, index, value) ((void)((array)[index] = (value)))

#endif

static inline double *mm_alloc_doubles(size_t n)
{
	return mm_alloc_bytes(n * sizeof(double));
}

/* Starts a thread the manager knows about; the thread itself still calls
 * mm_thread_attach first and mm_thread_detach last. */
static inline void mm_thread_create(pthread_t *t, void *(*fn)(void *),
                                    void *arg)
{
#if defined(MM_BOEHM)
	mm_check_errno(GC_pthread_create(t, NULL, fn, arg), "GC_pthread_create");
#else
	mm_check_errno(pthread_create(t, NULL, fn, arg), "pthread_create");
#endif
}

/* Waits for a thread; an attached caller calls it inside a blocking region. */
static inline void mm_thread_join(pthread_t t)
{
#if defined(MM_BOEHM)
	mm_check_errno(GC_pthread_join(t, NULL), "GC_pthread_join");
#else
	mm_check_errno(pthread_join(t, NULL), "pthread_join");
#endif
}

/* Takes `m`; only when another thread holds it does the caller wait, and
 * then inside a blocking region, so a collection need not wait for it. */
#define MM_MUTEX_LOCK(m)                                                      \
	do {                                                                  \
		if (pthread_mutex_trylock(m) != 0) {                          \
			MM_BLOCKING_BEGIN();                                  \
			mm_check_errno(pthread_mutex_lock(m),                 \
			               "pthread_mutex_lock");                 \
			MM_BLOCKING_END();                                    \
		}                                                             \
	} while (0)

#define MM_MUTEX_UNLOCK(m) \
	mm_check_errno(pthread_mutex_unlock(m), "pthread_mutex_unlock")

#endif /* BENCH_MM_H */
