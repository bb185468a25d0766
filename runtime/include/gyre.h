/*
 * gyre.h: the public interface of gyre, a garbage-collection runtime that a
 * multi-threaded C program embeds to manage its objects.
 *
 * This stage of gyre is a stop-the-world, non-moving mark-sweep collector
 * with parallel marking and sweeping (see README.md for what is built).
 * Every name here is a contract: what is not built yet is not declared.
 *
 * Conventions
 * - Functions that return `int` return GYRE_OK (0) or a negative gyre_status.
 * - Functions that return a pointer or a type id return NULL / 0 on failure.
 * - Every failure also sets the calling thread's last error, read with
 *   gyre_last_error().
 * - Bad input (a misuse of the API) is reported with its status in release
 *   builds; builds with checks on (the default debug build) print a message
 *   naming the misuse to stderr and abort instead. Running out of memory is
 *   never a misuse: it is always reported through the API.
 *
 * Lifecycle: gyre_init, then gyre_thread_attach on every thread that touches
 * the heap, ..., gyre_thread_detach on each, then gyre_shutdown.
 */
#ifndef GYRE_H
#define GYRE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ errors */

typedef enum gyre_status {
	GYRE_OK = 0,
	GYRE_EINVAL = -1,      /* an argument is outside its documented range */
	GYRE_ENOMEM = -2,      /* the heap (or gyre's own metadata) is exhausted */
	GYRE_ESTATE = -3,      /* gyre is not initialised, or already is, or
	                          threads are still attached at shutdown */
	GYRE_ENOTATTACHED = -4,/* the calling thread is not attached */
	GYRE_EATTACHED = -5,   /* the calling thread is already attached */
	GYRE_EUNBALANCED = -6, /* an end without its begin (enable without
	                          disable, blocking_end without blocking_begin),
	                          or a detach with one still open */
	GYRE_EBLOCKING = -7,   /* heap access from inside a blocking region */
	GYRE_ETOOBIG = -8,     /* an allocation larger than the heap maximum */
	GYRE_ENOTFOUND = -9,   /* no such root area or handle */
} gyre_status;

/* A static, human-readable description of a gyre_status. */
const char *gyre_strerror(int status);

/* The status of the last failing gyre call on this thread (GYRE_OK if none
 * failed yet). Successful calls do not reset it. Any thread may call it. */
int gyre_last_error(void);

/* --------------------------------------------------------------- lifecycle */

/* Called on the allocating thread, after a collection could not free enough
 * memory, just before the allocation returns NULL with GYRE_ENOMEM. `request`
 * is the size in bytes that failed. It may release memory held elsewhere
 * (caches) by dropping references; it must not allocate from gyre. */
typedef void (*gyre_oom_fn)(size_t request, void *ctx);

/* Configuration. A zero field means "the default". Each field can be
 * overridden by the environment variable named beside it, which wins over
 * both the default and the value passed to gyre_init. Sizes in environment
 * variables take an optional K, M or G suffix (powers of 1024). */
typedef struct gyre_config {
	/* GYRE_HEAP_MAX: the most memory the heap may hold, in bytes (blocks
	 * and large objects). Default: a quarter of physical memory, at least
	 * 64 MiB. Range: 4 MiB .. 1 TiB. */
	size_t heap_max;
	/* GYRE_HEAP_MIN: no automatic collection starts before the heap has
	 * allocated this many bytes since the last one. Default 32 MiB (or
	 * half of heap_max if that is smaller). Range:
	 * 64 KiB .. heap_max. */
	size_t heap_min;
	/* GYRE_GROWTH: an automatic collection starts once the bytes allocated
	 * since the last collection reach growth_percent % of the bytes that
	 * survived it (and at least heap_min). Default 33: the heap peaks near
	 * 4/3 of the live data, the space budget of Boehm GC's default. Range
	 * 10 .. 10000. */
	unsigned growth_percent;
	/* GYRE_WORKERS: threads that mark and sweep in parallel, the collecting
	 * thread included. Default: online CPUs. Range 1 .. 256. */
	unsigned workers;
	/* GYRE_VERIFY=1: check the whole heap before and after every
	 * collection, aborting with a message on the first inconsistency. */
	int verify;
	/* GYRE_TRACE=1: print one line per collection on stderr. */
	int trace;
	/* Called when an allocation is about to fail; may be NULL. */
	gyre_oom_fn on_oom;
	void *oom_ctx;
} gyre_config;

/* Initialises gyre. `config` may be NULL (all defaults).
 * Errors: GYRE_ESTATE if already initialised; GYRE_EINVAL if a field or
 * environment variable is out of range or malformed; GYRE_ENOMEM if the
 * heap reservation or worker threads cannot be had. */
int gyre_init(const gyre_config *config);

/* Frees every object and all of gyre's memory and stops its threads.
 * Errors: GYRE_ESTATE if not initialised or if threads are still attached. */
int gyre_shutdown(void);

/* ----------------------------------------------------------------- threads */

/* Makes the calling thread a mutator: from now on it may allocate and hold
 * heap pointers, and its stack and registers are scanned (conservatively)
 * as roots. Errors: GYRE_ESTATE (not initialised), GYRE_EATTACHED,
 * GYRE_ENOMEM. */
int gyre_thread_attach(void);

/* Ends the calling thread's use of the heap; pointers it still holds are no
 * longer roots. Errors: GYRE_ENOTATTACHED; GYRE_EUNBALANCED if the thread is
 * inside a blocking region or has gyre_disable calls not yet matched. A
 * thread that exits while attached is a misuse too: checked builds abort,
 * others detach it at its exit (closing its region and its disables). */
int gyre_thread_detach(void);

/* A cooperative safepoint: if a collection is waiting for this thread, it
 * runs now. Long loops that do not allocate must call it. A no-op on a
 * thread that is not attached or is inside a blocking region. */
void gyre_safepoint(void);

/* Brackets a call that may block (epoll_wait, read, a lock): between the two
 * the thread must not touch the heap, and collections proceed without
 * waiting for it. Pointers held in its locals stay roots. Regions do not
 * nest, and are lexically scoped: gyre_blocking_end is called before the
 * function that called gyre_blocking_begin returns (that function's saved
 * registers are what keeps its callers' pointers alive). Errors:
 * GYRE_ENOTATTACHED; GYRE_EUNBALANCED for a begin inside a region, an end
 * outside one, or (checked builds) an end after the beginning function
 * returned. gyre_blocking_end may wait for a collection in progress to
 * finish. Every other blocking call an attached thread makes (a lock,
 * pthread_join) must be inside a region, or collections wait for it. */
int gyre_blocking_begin(void);
int gyre_blocking_end(void);

/* ------------------------------------------------------------------- types */

/* A type id; 0 is never a valid type. */
typedef uint32_t gyre_type;

/* A tracer calls visit(slot, ctx) for every pointer field of one object (or
 * of one array element): `slot` is the field's address. Each field holds NULL
 * or a pointer returned by a gyre allocation. A tracer must not allocate,
 * block, or call gyre; it runs with the world stopped, on any thread. */
typedef void (*gyre_visit_fn)(void **slot, void *ctx);
typedef void (*gyre_trace_fn)(void *obj, gyre_visit_fn visit, void *ctx);

/* Describes a type. Exactly one layout is given:
 * - pointer offsets: ptr_offsets[0..n_ptrs) are the byte offsets of the
 *   pointer fields, each a multiple of sizeof(void *) and below `size`;
 * - a tracer: `trace` is set, ptr_offsets NULL and n_ptrs 0;
 * - pointer-free: ptr_offsets NULL, n_ptrs 0, trace NULL (never scanned).
 * Pointer fields hold NULL or the start of a gyre object, nothing else:
 * tracing is precise. Pointers to anything else belong in fields that are
 * not listed. */
typedef struct gyre_type_desc {
	const char *name;         /* for messages; copied, may be NULL */
	size_t size;              /* bytes of one object (or array element) */
	const size_t *ptr_offsets;/* copied at registration */
	size_t n_ptrs;
	gyre_trace_fn trace;
} gyre_type_desc;

/* Registers a type and returns its id, or 0. Types live until shutdown.
 * Thread-safe; the calling thread need not be attached.
 * Errors: GYRE_ESTATE (not initialised), GYRE_EINVAL (size 0 or above
 * 1 GiB, a misaligned or out-of-range offset, both offsets and a tracer),
 * GYRE_ENOMEM (more than 65535 types). */
gyre_type gyre_type_register(const gyre_type_desc *desc);

/* Built-in types. GYRE_TYPE_PTR is one pointer field: an array of n of them
 * (gyre_alloc_array(GYRE_TYPE_PTR, n)) is a `void *[n]` that is traced.
 * GYRE_TYPE_BYTE is one pointer-free byte (see gyre_alloc_bytes). */
#define GYRE_TYPE_PTR ((gyre_type)1)
#define GYRE_TYPE_BYTE ((gyre_type)2)

/* -------------------------------------------------------------- allocation */

/* Allocation returns zeroed memory aligned to 8 bytes, or NULL with the
 * thread's last error set. The calling thread must be attached and outside a
 * blocking region; an allocation may run a collection (it is a safepoint).
 * Errors: GYRE_ENOTATTACHED, GYRE_EBLOCKING, GYRE_EINVAL (unknown type),
 * GYRE_ETOOBIG (larger than the heap maximum, or more than 2^32-1
 * elements), GYRE_ENOMEM (the heap is full after a collection; the
 * configured on_oom callback has been called). */
void *gyre_alloc(gyre_type type);
/* `n` elements of `type`, laid out as in a C array. n == 0 is allowed. */
void *gyre_alloc_array(gyre_type type, size_t n);
/* `size` bytes that are never scanned for pointers (strings, buffers). */
void *gyre_alloc_bytes(size_t size);

/* The number of elements of an object from gyre_alloc_array (bytes for
 * gyre_alloc_bytes; 1 for gyre_alloc). `obj` must be the start of a live
 * gyre object. */
size_t gyre_length(const void *obj);

/* ----------------------------------------------------------------- barrier */

/* Every store of a pointer into a heap object goes through GYRE_STORE
 * (struct field) or GYRE_STORE_AT (element of a GYRE_TYPE_PTR array). In this
 * stop-the-world collector the barrier is the plain store; it is the
 * contract that keeps embedders' code correct when generations and
 * concurrent marking arrive. `obj` is evaluated once. */
#define GYRE_STORE(obj, field, value) ((void)((obj)->field = (value)))
#define GYRE_STORE_AT(array, index, value) ((void)((array)[index] = (value)))

/* ------------------------------------------------------------------- roots */

/* Registers [start, start + size) as a root area, scanned conservatively
 * like a stack: any word in it that points into a live object keeps that
 * object alive. For globals and memory gyre does not otherwise see. Any
 * thread. Errors: GYRE_ESTATE, GYRE_EINVAL (NULL, size 0 or an area that
 * overlaps a registered one), GYRE_ENOMEM. */
int gyre_root_add(void *start, size_t size);
/* Unregisters the area that starts at `start`. Errors: GYRE_ESTATE,
 * GYRE_ENOTFOUND. */
int gyre_root_remove(void *start);

/* A precise handle: a root that lives in memory gyre does not scan (a
 * malloc'd struct, another library's data). Handles may be created, read,
 * set and freed from any attached thread. */
typedef struct gyre_handle_slot *gyre_handle;

/* A new handle holding `obj` (NULL or a gyre object), or NULL on error.
 * Errors: GYRE_ENOTATTACHED, GYRE_ENOMEM. */
gyre_handle gyre_handle_new(void *obj);
/* The object the handle holds. `h` must be live (not freed). */
void *gyre_handle_get(gyre_handle h);
/* Replaces the object the handle holds. Errors: GYRE_ENOTATTACHED,
 * GYRE_EINVAL (NULL or freed handle). */
int gyre_handle_set(gyre_handle h, void *obj);
/* Releases the handle. Errors: GYRE_ENOTATTACHED, GYRE_EINVAL (NULL or
 * already freed handle). */
int gyre_handle_free(gyre_handle h);

/* ----------------------------------------------------------------- control */

/* Runs a full collection now, even while automatic collection is disabled,
 * and returns the number of objects it freed (>= 0), or a negative status:
 * GYRE_ENOTATTACHED, GYRE_EBLOCKING. */
int64_t gyre_collect(void);

/* Turn automatic collection off and on, as Python's gc.disable/enable, except
 * that calls nest: collection is automatic again only when every
 * gyre_disable has been matched by a gyre_enable, on the thread that made it.
 * While disabled, the heap grows up to its maximum and then allocation fails
 * with GYRE_ENOMEM; gyre_collect still works. A collection already running
 * finishes. Errors: GYRE_ENOTATTACHED; gyre_enable: GYRE_EUNBALANCED when
 * this thread has no gyre_disable to match. */
int gyre_disable(void);
int gyre_enable(void);
/* 1 if automatic collection is on (no thread holds a gyre_disable), 0 if it
 * is off, GYRE_ESTATE if gyre is not initialised. */
int gyre_is_enabled(void);

/* --------------------------------------------------------------- observing */

/* Pause histogram: bucket i counts pauses in [2^i, 2^(i+1)) microseconds;
 * bucket 0 also holds pauses under 1 us, the last bucket everything above. */
#define GYRE_PAUSE_BUCKETS 24

typedef struct gyre_stats {
	uint64_t collections;      /* completed collections */
	/* Totals since init, counted in slot sizes (header and size-class
	 * rounding included) when a thread's allocation run is retired. */
	uint64_t bytes_allocated;
	uint64_t bytes_freed;      /* freed by collections, same units */
	uint64_t objects_allocated;
	uint64_t objects_freed;
	uint64_t heap_size;        /* bytes of memory the heap holds now */
	uint64_t heap_live;        /* bytes that survived the last collection */
	uint64_t heap_max;         /* the configured maximum */
	uint64_t pause_count;
	uint64_t pause_total_ns;
	uint64_t pause_max_ns;
	/* The parts of pause_total_ns spent marking and sweeping (the rest
	 * is stopping the world and bookkeeping). */
	uint64_t mark_total_ns;
	uint64_t sweep_total_ns;
	uint64_t pause_histogram[GYRE_PAUSE_BUCKETS];
} gyre_stats;

/* Fills *out. Any thread. Errors: GYRE_ESTATE, GYRE_EINVAL (out NULL). */
int gyre_stats_get(gyre_stats *out);

#ifdef __cplusplus
}
#endif

#endif /* GYRE_H */
