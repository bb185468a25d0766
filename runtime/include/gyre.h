/*
 * gyre.h: the public interface of gyre, a garbage-collection runtime that a
 * multi-threaded C program embeds to manage its objects.
 *
 * This stage of gyre is a generational collector: threads allocate from
 * thread-local nursery buffers (generation 0), whose size gyre adapts to
 * the program; stop-the-world minor collections copy survivors into
 * generation 1 and, by age, into generation 2, which a collector thread
 * marks while the program runs, between two short pauses (see README.md
 * for what is built). Every name here is a contract: what is not built yet is
 * not declared.
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
	GYRE_ENOTFOUND = -9,   /* no such root area, handle or callback */
	GYRE_EBUDGET = -10,    /* a no-GC region's budget ran out (see
	                          gyre_critical_begin) */
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
	/* GYRE_GROWTH: a generation-2 collection starts once the bytes added
	 * to generation 2 (promoted or allocated there) since the last one
	 * reach growth_percent % of the bytes that survived it (and at least
	 * heap_min). A concurrent one starts earlier, by twice what the last
	 * one allocated while it marked, so as to end by then. Default 33:
	 * the heap peaks near 4/3 of the live data, the space budget of Boehm
	 * GC's default. Range 10 .. 10000. It is threshold 2 of
	 * gyre_set_threshold. Growth does not see data that dies: a
	 * concurrent collection also starts a second after the last one
	 * began (reason "time") once a 32nd of what survived it (at least of
	 * heap_min) has been added, at a pace that would not reach the
	 * growth trigger within half a second, unless the last one by time
	 * freed under an eighth of what it swept; so a program that drops
	 * most of its data gets its memory back within seconds, not once it
	 * has allocated a third of its former heap. */
	unsigned growth_percent;
	/* GYRE_NURSERY: bytes of nursery buffers handed to threads between
	 * two generation-0 collections (threshold 0), fixed. Default: gyre
	 * sizes the nursery as the program runs, a power of two from 256 KiB
	 * to 128 MiB (at most heap_max / 4), starting at 8 MiB: it grows
	 * while a smaller nursery made clearly more objects survive, and
	 * shrinks, while that does not, until the mean pause is under a
	 * third of pause_target_us. Range 256 KiB .. heap_max / 2. */
	size_t nursery_size;
	/* GYRE_PAUSE_TARGET: the generation-0 pause, in microseconds, that
	 * the sized nursery aims to keep its slow pauses below (many short
	 * pauses rather than a few long ones), as far as that does not make
	 * more objects survive: it keeps the mean pause between a sixth and
	 * a third of it, because on a busy machine the slowest pauses take
	 * 2-4 times the mean. Default 1000. Range 100 .. 1000000. */
	unsigned pause_target_us;
	/* GYRE_FREE_FLOOR: when the machine's available memory (MemAvailable
	 * in /proc/meminfo, read after each minor collection) is below this
	 * many bytes, a generation-2 collection starts at the next
	 * allocation slow path. Default 0: off. */
	size_t free_floor;
	/* GYRE_TENURE_AGE: an object moves to generation 2 when a collection
	 * it survives brings its age (collections survived) to this value;
	 * until then survivors go to generation 1. 1 sends every survivor
	 * straight to generation 2. Default 2. Range 1 .. 7. */
	unsigned tenure_age;
	/* GYRE_TENURE_FROM_OLD: a young object that a minor collection first
	 * reaches from generation 2 (through a dirty card of an old object,
	 * or from a copy it made there) goes straight to generation 2,
	 * whatever its age: the program stored it into an old structure,
	 * which tells its survival as well as ageing does; it is copied once
	 * instead of twice and leaves no dirty card behind. 1 (the default;
	 * 0 in this field means it too): on. -1 (0 in the environment): off,
	 * such objects age in generation 1 like the others. */
	int tenure_from_old;
	/* GYRE_PROMOTE_IN_PLACE: while most of the nursery survives its
	 * collections (70 % of its bytes, on average over the last few), the
	 * holes of blocks promoted before could not take a nursery's worth,
	 * and the heap may still grow by a quarter of what it uses (under
	 * heap_max and memory_limit), a minor collection copies nothing out
	 * of the nursery blocks that are at least three quarters full: it
	 * marks what survives in them, and they join generation 2 whole,
	 * their dead objects left as holes that later collections copy
	 * survivors into. A program that
	 * builds a large structure at once pays for a mark instead of a
	 * copy. 1: on. 2: every nursery block at every other minor
	 * collection, whatever survives (a test mode). -1 or 0 (the default;
	 * 0 in the environment): off, survivors are always copied. */
	int promote_in_place;
	/* GYRE_WORKERS: threads that mark and sweep in parallel, the collecting
	 * thread included. Default: online CPUs. Range 1 .. 256. */
	unsigned workers;
	/* GYRE_STW_MARK=1: mark generation 2 with the world stopped, as one
	 * long pause. Default 0: a collector thread marks it while the
	 * program runs, between two short pauses (a generation-1 collection
	 * that starts the cycle, and a remark that ends it with the sweep). */
	int stw_mark;
	/* GYRE_VERIFY=1: check the whole heap before and after every
	 * collection, aborting with a message on the first inconsistency. */
	int verify;
	/* GYRE_TRACE=1: print one line per collection on stderr. */
	int trace;
	/* GYRE_FINALIZER_THREAD: where finalizers and weak-reference
	 * callbacks run. 1 (the default; 0 in this field means it too): on a
	 * thread gyre owns, which attaches like the program's threads but
	 * does not count among them at gyre_shutdown. -1 (0 in the
	 * environment): only when the program calls gyre_run_finalizers
	 * (on its own event loop, or in tests). */
	int finalizer_thread;
	/* GYRE_COMPACT: what a full collection (gyre_collect(2), or one the
	 * heap's maximum forces) moves out of generation 2's sparse blocks
	 * so that they can be freed. 1 (the default; 0 in this field means it
	 * too): blocks under 7/8 full, the sparsest first, as long as their
	 * objects fit in the free slots of their size class's other blocks
	 * (so compacting needs no free memory). 2: every block whose objects
	 * fit, however full (a test mode: it moves as much as it can). -1 (0
	 * in the environment): never. A block that a stack, register or root
	 * area points into is never evacuated; objects held only through
	 * heap fields and handles may move. Concurrent cycles compact only
	 * with compact_budget_us set. */
	int compact;
	/* GYRE_TTSP_THRESHOLD: a stop of the world in which some thread took
	 * longer than this many microseconds to reach its safepoint is
	 * reported: a GYRE_EVENT_SLOW_SAFEPOINT event naming the slowest
	 * thread, and with GYRE_TRACE=1 a line. Default 1000. Range
	 * 1 .. 60000000. */
	unsigned ttsp_threshold_us;
	/* GYRE_CRITICAL_FAIL: what happens when the threads inside no-GC
	 * regions allocate past their budget (gyre_critical_begin). 0 (the
	 * default): the regions' guarantee ends, collections may run again,
	 * and gyre_critical_end reports GYRE_EBUDGET. 1: the allocation that
	 * would overrun fails with GYRE_EBUDGET and the guarantee holds. */
	int critical_fail;
	/* GYRE_COMPACT_BUDGET: the time, in microseconds, that the pause
	 * ending a concurrent cycle may spend moving objects out of sparse
	 * blocks of generation 2 (chosen when the cycle starts, at the rate
	 * the last compactions reached) and updating the references to them.
	 * Default 0: concurrent cycles do not compact (at 1 ms a cycle of
	 * bench/churn moved under 0.5 MiB of its fragmented 256 MiB: no
	 * measurable gain, for 0.4-0.8 ms more in each remark). Range 0, or
	 * 100 .. 1000000. */
	unsigned compact_budget_us;
	/* GYRE_MEMORY_LIMIT: a soft limit, in bytes, on the memory gyre
	 * holds from the system (gyre_stats.memory_total): the heap's blocks
	 * in use, its free blocks not given back to the kernel, what its
	 * memory thread has mapped ahead of the heap's top (up to 16 MiB;
	 * near the limit no more than the room left, and what exceeds it is
	 * given back), its side tables for every block it has touched (about
	 * 1.7% of those blocks), and the large objects: with jemalloc
	 * (large_alloc=jemalloc), the pages of its arena, in use and freed
	 * but not yet purged (near the limit they are purged at each look
	 * of the memory thread), which also hold gyre's other metadata
	 * (threads, handles, work stacks, the finalizer registry); with the
	 * system allocator (large_alloc=system, the sanitizer builds), the
	 * large objects' bytes only: what malloc keeps is not known.
	 * Default: the cgroup's limit, if one is
	 * set: /sys/fs/cgroup/memory.max (v2) unless it is "max", else
	 * /sys/fs/cgroup/memory/memory.limit_in_bytes (v1); a value above
	 * physical memory (v1's "unlimited") or below heap_min is ignored;
	 * else 0: no limit. GYRE_MEMORY_LIMIT=0 means no limit, even in a
	 * cgroup. Range 0, or heap_min and up (a limit below heap_min is
	 * GYRE_EINVAL).
	 *
	 * The policy. While the total is under the limit, gyre keeps it
	 * there. The growth the pacer allows generation 2 between
	 * collections (growth_percent) is capped by the room left under the
	 * limit, less a nursery and a reserve of 1/32 of the limit (but
	 * never below 1 MiB), so concurrent cycles start earlier as the live
	 * data grows.
	 * Should the heap in use (its side tables included) still come
	 * within the reserve and a quarter of a nursery of the limit (a
	 * cycle keeps what it allocated while it marked, and frees no
	 * partly used block), a full collection runs, which compacts
	 * (reason "limit"; a concurrent cycle in progress ends in it). The
	 * memory thread keeps no more free blocks than the room left under
	 * the limit and returns the rest 100 ms after collections instead
	 * of a second (without waiting for them to stay free a period). So
	 * the heap stays under the limit as long as the live data leaves
	 * room for a nursery, the reserve and a cycle's allocation (live
	 * data at 90% of the limit, measured: bench/RESULTS.md).
	 * When the live data does not fit, collections would follow each
	 * other for nothing. The limit stops being enforced (no collection
	 * starts for it, the pacer's next allowance is its usual one, the
	 * memory thread keeps its usual free blocks, nothing is mapped
	 * ahead of the heap, and the heap grows past the limit, as Go's soft
	 * limit lets it; GYRE_EVENT_MEMORY_LIMIT "exceeded",
	 * gyre_stats.memory_limit_exceeded) in two cases:
	 * - a full collection left the heap's data (blocks in use, large
	 *   objects, side tables) within the reserve and a quarter of a
	 *   nursery of the limit, where the next would run at once, to no
	 *   avail: until a cycle's sweep or a full collection finds it back
	 *   under;
	 * - the collector's share of time passed its cap at the limit: over
	 *   a sliding window of the last second of wall time (ten slots of
	 *   100 ms), gyre sums the pauses and the collector thread's work
	 *   (marking and sweeping); the cap engages once that sum exceeds
	 *   45% of the window at the limit (room for a collection already
	 *   under way, under half), until it falls under 35%.
	 * While the cap is engaged, also:
	 * - every collection that an allocation needs (a nursery's, a
	 *   cycle's start or increment, a full heap's) waits while the share
	 *   is over 45%, the allocating thread in a blocking region: the
	 *   program slows down rather than the collector passing its share
	 *   (gyre_stats.memory_limit_held_ns). gyre_collect, gyre_freeze and
	 *   the collector thread's own steps never wait;
	 * - at a full heap, if the last full collection found the live data
	 *   over the limit, the allocation fails with GYRE_ENOMEM at once,
	 *   without collecting (gyre_stats.memory_limit_refused): another
	 *   collection would recover only what died since, past the
	 *   collector's share (Java's "GC overhead limit"). A program that
	 *   drops data after GYRE_ENOMEM can call gyre_collect(2), which
	 *   judges again; so does any full collection once the cap lets go.
	 * An allocation is never refused while the live data fits under the
	 * limit: it waits for the collection it needs, and fails only if
	 * that collection cannot make room within heap_max, as always. So a
	 * program whose live data outgrows the limit grows to heap_max, its
	 * collector held to under half of the time, and fails there with
	 * GYRE_ENOMEM; one whose live data stays past the limit, under
	 * heap_max, runs on, slowed down if its collections would take more;
	 * one at heap_max fails at its next full heap rather than collecting
	 * in a loop (bench/memlimit: bench/RESULTS.md). */
	size_t memory_limit;
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
 * inside a blocking region, has gyre_disable calls not yet matched, or has
 * no-GC regions (gyre_critical_begin) still open. A thread that exits
 * while attached is a misuse too: checked builds abort, others detach it
 * at its exit (closing its blocking region, its disables and its no-GC
 * regions). */
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

/* fork() needs no call: gyre_init installs pthread_atfork handlers (once
 * per process; inert after gyre_shutdown). The fork waits for a collection
 * in progress to end (a RUNNING caller waits inside a blocking region, so
 * the collection does not wait for it), then stops every attached thread
 * at a safepoint, as a pause would, for the moment of the fork: the parent
 * pays one such stop and goes on. In the child:
 * - the forking thread is the only attached thread, in the state it
 *   forked in: RUNNING, or still inside its blocking region (it ends it
 *   as usual); if it was not attached, no thread is, and any may attach.
 *   Its gyre_disable calls still count; the other threads' do not.
 * - the whole heap is there, as data: the other threads' objects stay,
 *   reachable only from what the child can reach (its stack, root areas,
 *   handles); the rest is garbage to its next collection. Their stacks
 *   are no longer roots. Handles, root areas, types, finalizers and weak
 *   references are process-wide and stay (a handle another thread held
 *   stays a root until freed); finalizers and callbacks queued before
 *   the fork run in both processes.
 * - gyre's threads (collector, workers, memory, finalizer) are started
 *   afresh; a concurrent cycle or lazy sweep in progress goes on in the
 *   child. The child can allocate, collect, attach threads and shut down.
 * Do not fork while another thread runs gyre_init or gyre_shutdown.
 * A child that only calls exec pays for starting gyre's threads.
 * Under ThreadSanitizer the child needs TSAN_OPTIONS=die_after_fork=0 (it
 * starts threads); with GCC 12's TSan runtime, gyre joins its own threads
 * there past TSan's pthread_join, which dies on a pthread_t reused from a
 * parent's thread ("dup thread with used id"); the program's own joins in
 * the child meet the same end unless they do likewise, or the program is
 * built with clang, whose runtime has the fix (runtime/fork.c). */

/* ------------------------------------------------------------------- types */

/* A type id; 0 is never a valid type. */
typedef uint32_t gyre_type;

/* A tracer calls visit(slot, ctx) for every pointer field of one object (or
 * of one array element): `slot` is the field's address. Each field holds NULL
 * or a pointer returned by a gyre allocation. A tracer must not allocate,
 * block, or call gyre; it runs with the world stopped, on any thread. */
typedef void (*gyre_visit_fn)(void **slot, void *ctx);
/* While generation 2 is marked concurrently, gyre sees an object of a
 * tracer type only as its tracer shows it at the end of the marking. So a
 * slot may leave the tracer's view (a count shrinks, a union changes
 * member) only after it has been set to NULL with GYRE_STORE while still
 * visited: the barrier then hands its old value to the collector. */
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
 * thread's last error set. Objects up to about 8 KiB start in the calling
 * thread's nursery buffer (generation 0); larger ones go straight to
 * generation 2. The calling thread must be attached and outside a blocking
 * region; an allocation may run a collection (it is a safepoint).
 *
 * Objects move when they survive a minor collection, and when a full
 * collection compacts generation 2 (gyre_config.compact). Every pointer gyre
 * sees is updated: heap fields, handles, and (since an object that a
 * stack, register or root area points at is pinned: it never moves while
 * one does) stacks, registers and root areas. So a program may keep plain
 * pointers in locals; it must not hide them (in integers narrower than a
 * pointer, in memory gyre does not scan) or compare addresses across
 * allocations.
 * Errors: GYRE_ENOTATTACHED, GYRE_EBLOCKING, GYRE_EINVAL (unknown type),
 * GYRE_ETOOBIG (larger than the heap maximum, or more than 2^32-1
 * elements), GYRE_ENOMEM (the heap is full after a collection; the
 * configured on_oom callback has been called).
 *
 * gyre_alloc, gyre_alloc_array and gyre_alloc_bytes are also macros that
 * inline the common case (a pointer bump and a limit check) and call the
 * function otherwise; (gyre_alloc)(t) or &gyre_alloc names the function.
 * Define GYRE_NO_INLINE before including gyre.h to get plain calls. */
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
 * (struct field: GYRE_STORE(node, left, child)) or GYRE_STORE_AT (element of
 * a GYRE_TYPE_PTR array). Besides the store, it marks the field's card, so
 * that a minor collection finds pointers from old objects to young ones
 * without scanning the old generation: a plain pointer store into a heap
 * object is a bug that can lose objects. Stores into an object just
 * allocated need it too. Rarely, it is a safepoint that runs a pause: when
 * the collector thread falls far behind a program's stores while it marks
 * generation 2, the storing thread ends that marking itself (no object
 * moves in that pause). `obj`, `array`, `index` and `value` are each
 * evaluated once, and the assignment is type-checked as written. The field
 * must be one its type declares as a pointer (pointer-free objects, such
 * as gyre_alloc_bytes buffers, have no cards to mark), and must hold NULL
 * or a gyre object before the store as well as after: while generation 2
 * is marked concurrently, the barrier hands the value it replaces to the
 * collector. Pointers held in
 * locals, root areas and handles need no barrier. */
#define GYRE_STORE(obj, field, value)                                        \
	((void)sizeof((obj)->field = (value)),                               \
	 gyre__store((obj), offsetof(__typeof__(*(obj)), field),             \
		     (void *)(value)))
#define GYRE_STORE_AT(array, index, value)                                   \
	((void)sizeof((array)[index] = (value)),                             \
	 gyre__store((array), (size_t)(index) * sizeof(void *),              \
		     (void *)(value)))

/* ------------------------------------------------------------------- roots */

/* Registers [start, start + size) as a root area, scanned conservatively
 * like a stack: any word in it that points into a live object (from the
 * address gyre_alloc returned to the end of the object) keeps that object
 * alive; the words before that address are gyre's, and a pointer to them
 * keeps nothing. For globals and memory gyre does not otherwise see. Any
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

/* ------------------------------ weak references, ephemerons, finalizers */

/* A weak reference is a heap object (it can be stored in other objects
 * with GYRE_STORE, and dies like any object) that refers to its target
 * without keeping it alive. gyre_weak_get returns the target, at its
 * current address, while anything else keeps it alive; once a collection
 * of the target's generation finds it unreachable (a minor collection for
 * a young target, a collection of generation 2 for an old one), every
 * weak reference to it reads NULL, all at once.
 *
 * The callback, if any, then runs once, with the weak reference and ctx,
 * provided the weak reference itself was still reachable when its target
 * died (as Python's weakref callbacks): an old weak reference counts as
 * reachable until a collection of generation 2 finds otherwise. It runs
 * like a finalizer (gyre_run_finalizers), never inside a pause.
 *
 * `target` must be a gyre object (not NULL). Errors (NULL returned):
 * GYRE_ENOTATTACHED, GYRE_EBLOCKING, GYRE_EINVAL (target NULL or, checked
 * builds, not a gyre object), GYRE_ENOMEM. */
typedef void (*gyre_weak_fn)(void *weak, void *ctx);
void *gyre_weak_new(void *target, gyre_weak_fn callback, void *ctx);
/* The target, or NULL once it died. While generation 2 is being marked,
 * the target it returns is kept alive by that cycle (the program may
 * store it anywhere). Errors (NULL returned, last error set):
 * GYRE_ENOTATTACHED, GYRE_EBLOCKING, GYRE_EINVAL (`weak` is NULL or not
 * a weak reference). */
void *gyre_weak_get(const void *weak);

/* An ephemeron is a heap object holding a key and a value: it keeps its
 * value alive exactly as long as its key is alive (by other references)
 * and the ephemeron itself is reachable. The key is held weakly, and a
 * value that reaches its own key (directly, or through other
 * ephemerons) does not keep it alive: a table of ephemerons is a
 * weak-keyed map whose entries go away with their keys, whatever the
 * values point at. Once a collection of the key's generation finds it
 * unreachable, gyre_ephemeron_key and gyre_ephemeron_value return NULL.
 * Like gyre_weak_get, what they return while generation 2 is being
 * marked is kept alive by that cycle.
 *
 * gyre_ephemeron_new: `key` must be a gyre object, `value` a gyre object
 * or NULL. Errors (NULL returned): GYRE_ENOTATTACHED, GYRE_EBLOCKING,
 * GYRE_EINVAL (key NULL, or, checked builds, not a gyre object),
 * GYRE_ENOMEM. gyre_ephemeron_key, gyre_ephemeron_value: NULL once the
 * key died; on error NULL with the last error set: GYRE_ENOTATTACHED,
 * GYRE_EBLOCKING, GYRE_EINVAL (`eph` NULL or not an ephemeron). */
void *gyre_ephemeron_new(void *key, void *value);
void *gyre_ephemeron_key(const void *eph);
void *gyre_ephemeron_value(const void *eph);

/* A finalizer runs fn(obj, ctx) once, after obj became unreachable, unless
 * cancelled first. obj is intact then: its fields and everything it
 * reaches are still there, kept alive until the finalizer has run, and
 * weak references to it already read NULL. If the finalizer stores obj
 * somewhere reachable (a root, a handle, a live object), obj lives on,
 * usable; its finalizer does not run again (it may register a new one),
 * and when it becomes unreachable again it is simply freed.
 *
 * Order: if finalizable A reaches finalizable B, A's finalizer runs first
 * (B is then finalized by a later collection, and was intact for A's);
 * objects that reach one another (a cycle) are finalized together, in no
 * particular order, and then freed unless resurrected (Python's PEP 442;
 * unlike Boehm GC, cycles are not leaked).
 *
 * Finalizers and weak-reference callbacks never run inside a pause: they
 * run on gyre's finalizer thread (gyre_config.finalizer_thread), or when
 * the program calls gyre_run_finalizers. They may allocate, store,
 * create weak references, register finalizers and take locks; like any
 * attached thread's code, a call that may block (a lock another thread
 * may hold while it collects, I/O) goes inside gyre_blocking_begin/end.
 * One that blocks delays the finalizers behind it, never a collection
 * (gyre_stats.finalizers_pending shows the queue). On the finalizer
 * thread, returning with a gyre_disable or a blocking region still open
 * is a misuse (reported, and closed), and so are gyre_thread_detach and
 * gyre_shutdown. gyre_shutdown drops what is still queued without
 * running it.
 *
 * Errors: GYRE_ENOTATTACHED, GYRE_EBLOCKING; GYRE_EINVAL for obj or fn
 * NULL, obj not the start of a gyre object, or obj already registered;
 * GYRE_ENOMEM. */
typedef void (*gyre_finalize_fn)(void *obj, void *ctx);
int gyre_finalizer_register(void *obj, gyre_finalize_fn fn, void *ctx);
/* Unregisters obj's finalizer. Errors: GYRE_ENOTATTACHED, GYRE_EBLOCKING,
 * GYRE_EINVAL (obj NULL), GYRE_ENOTFOUND (none registered, or it is
 * already due to run). */
int gyre_finalizer_cancel(void *obj);
/* Runs up to `max` of the finalizers and weak-reference callbacks that
 * are due, on the calling thread, oldest finalizers first; returns how
 * many ran (0 on error: GYRE_ENOTATTACHED, GYRE_EBLOCKING). */
size_t gyre_run_finalizers(size_t max);

/* ----------------------------------------------------------------- control */

/* Like Python's gc module, the heap has three generations, and a
 * permanent one:
 * 0  the nursery: new objects, in thread-local buffers;
 * 1  objects that survived a collection but are younger than tenure_age;
 * 2  the old generation (and every large object);
 * 3  the permanent generation: what gyre_freeze froze (below), never
 *    collected until gyre_unfreeze.
 * Collecting generation g collects every generation up to g: 0 and 1 are
 * minor collections (survivors are copied, in parallel); 2 also marks and
 * sweeps the old generation.
 *
 * Runs a collection of generations 0..generation now, even while automatic
 * collection is disabled, and returns the number of objects it freed
 * (>= 0), or a negative status: GYRE_ENOTATTACHED, GYRE_EBLOCKING,
 * GYRE_EINVAL (generation not 0, 1 or 2). */
int64_t gyre_collect(int generation);

/* The automatic triggers (Python's gc.set_threshold, in gyre's units):
 * - threshold0: bytes of nursery handed to threads after which generation
 *   0 is collected (gyre_config.nursery_size; setting it here ends the
 *   sizing of the nursery);
 * - threshold1: every threshold1-th automatic minor collection also
 *   collects generation 1, so threshold1 - 1 collections of generation 0
 *   come between two of generation 1 (default 10, as in Python);
 * - threshold2: growth of generation 2, in percent of what survived its
 *   last collection, after which it is collected (growth_percent).
 * Any thread. Errors: GYRE_ESTATE; GYRE_EINVAL for threshold0 outside
 * 256 KiB .. heap_max / 2, threshold1 outside 1 .. 1000000, threshold2
 * outside 10 .. 10000. */
int gyre_set_threshold(size_t threshold0, size_t threshold1, size_t threshold2);
/* Fills out[0..2] with the thresholds. Errors: GYRE_ESTATE, GYRE_EINVAL
 * (out NULL). */
int gyre_get_threshold(size_t out[3]);
/* Fills out[0..2] with what the thresholds are compared with (Python's
 * gc.get_count): nursery bytes handed to threads since the last collection;
 * generation-0 collections since the last collection of generation 1 or 2;
 * bytes added to generation 2 since its last collection. Errors:
 * GYRE_ESTATE, GYRE_EINVAL (out NULL). */
int gyre_get_count(size_t out[3]);

/* Turn automatic collection off and on, as Python's gc.disable/enable, except
 * that calls nest: collection is automatic again only when every
 * gyre_disable has been matched by a gyre_enable, on the thread that made it.
 * While disabled, the nursery and the heap grow up to the heap maximum and
 * then allocation fails with GYRE_ENOMEM; gyre_collect still works. No
 * automatic collection runs between a gyre_disable and its gyre_enable, even
 * one another thread was starting at that moment: it is called off once the
 * world has stopped. Errors: GYRE_ENOTATTACHED; gyre_disable: GYRE_EBLOCKING
 * inside a blocking region (a collection may be running then);
 * gyre_enable: GYRE_EUNBALANCED when this thread has no gyre_disable to
 * match. */
int gyre_disable(void);
int gyre_enable(void);
/* 1 if automatic collection is on (no thread holds a gyre_disable), 0 if it
 * is off, GYRE_ESTATE if gyre is not initialised. */
int gyre_is_enabled(void);

/* The permanent generation, as Python's gc.freeze / gc.unfreeze /
 * gc.get_freeze_count, for pre-fork servers: load the data, freeze, fork.
 *
 * gyre_freeze runs a full collection (like gyre_collect(2)) and then moves
 * every object alive into the permanent generation (3): from then on no
 * collection marks, sweeps, moves or frees a frozen object, and none
 * writes to its memory or to the collector's tables that describe it
 * (mark and start bits, cards), so that after a fork the frozen heap stays
 * shared, copy-on-write, between parent and children, whatever their
 * collections do. What the program writes is its own business: a store
 * into a frozen object copies that page, as any write does, and dirties
 * its card (one byte per 512 bytes of the heap). Frozen objects stay valid
 * objects in every other way: read them, store into them with GYRE_STORE
 * (a frozen object may point at any object: what it points at outside the
 * permanent generation stays alive as long as it does, found through the
 * cards of its stores), register finalizers on them (they do not run
 * while the object is frozen). A frozen weak reference or ephemeron holds
 * its target (key and value) strongly if the target is not frozen: it is
 * cleared only once unfrozen.
 * Calls nest as Python's do: each gyre_freeze freezes what is alive and
 * not frozen yet; one gyre_unfreeze thaws all. Objects that a stack or
 * register of a running thread points at may be young and pinned at that
 * moment (conservative roots): those stay young and are not frozen. Free
 * slots in the frozen blocks are not reused until gyre_unfreeze (freeze
 * once the data is loaded, not while the heap churns).
 *
 * gyre_unfreeze hands every frozen object back to generation 2 and runs a
 * full collection, so that what died while frozen is freed now.
 *
 * Both run even while automatic collection is disabled by the calling
 * thread (Python's advice: gc.disable early in the parent, gc.freeze
 * before the fork, gc.enable in the children), but not while another
 * thread holds a gyre_disable, whose code relies on no collection
 * running.
 * Errors (the status, negative): GYRE_ENOTATTACHED; GYRE_EBLOCKING
 * (inside a blocking region); GYRE_ESTATE (gyre_freeze while another
 * thread holds a gyre_disable or any thread a no-GC region; gyre_unfreeze
 * with nothing frozen, or in the same states). Checked builds name each
 * misuse and abort. Both return GYRE_OK on success. */
int gyre_freeze(void);
int gyre_unfreeze(void);
/* The number of frozen objects (0 if nothing is frozen). Any thread.
 * Before gyre_init: 0, a misuse (GYRE_ESTATE in gyre_last_error). */
size_t gyre_get_freeze_count(void);
/* No-GC regions (.NET's TryStartNoGCRegion, but nesting, per thread, and
 * with a policy for the overrun). While any region is open on any thread,
 * no automatic collection starts (gyre_collect still collects, as under
 * gyre_disable), as long as all threads together allocate at most the
 * regions' budget after the first of them began: the budgets of every
 * region opened since no region was open, summed. Allocation is counted
 * as threads take it from the heap: a whole nursery buffer (64 KiB) each
 * time a thread's buffer runs out, and large objects by their size; so a
 * budget of at least 64 KiB per allocating thread is needed for any small
 * allocation inside a region to be certain to fit.
 *
 * gyre_critical_begin first reserves room for the budget: if the heap
 * (heap_max less the blocks and large objects in use) has less room than
 * the open regions' budgets plus this one need, it collects generation 2
 * first, before the region (never inside one: if another thread's region
 * is open, it does not collect and fails with GYRE_ENOMEM). Regions nest
 * on a thread, and end in reverse order; several threads may hold them at
 * once. gyre_critical_end closes the calling thread's innermost region.
 *
 * When the budget runs out (gyre_config.critical_fail):
 * - 0, the default: the guarantee of every region open then ends:
 *   automatic collections may run again (the next allocation slow path
 *   may collect), a GYRE_EVENT_CRITICAL_OVERRUN event is delivered, and
 *   gyre_critical_end returns GYRE_EBUDGET for each of those regions (the
 *   region is closed all the same). Regions opened after the overrun
 *   have a guarantee of their own again.
 * - 1: the allocation that would go past the budget returns NULL with
 *   GYRE_EBUDGET; the guarantee holds (the event is delivered too).
 * gyre_stats counts regions opened and overrun, the longest, and the
 * bytes allocated inside.
 *
 * Opening and closing a region that needs no collection costs tens of
 * nanoseconds (bench/RESULTS.md). Errors: GYRE_ENOTATTACHED,
 * GYRE_EBLOCKING, GYRE_ESTATE (from inside an event callback),
 * GYRE_EINVAL (budget 0 or above heap_max), GYRE_ENOMEM (no room for the
 * budget, even after a collection, or without one while another thread's
 * region is open); gyre_critical_end: GYRE_ENOTATTACHED, GYRE_EUNBALANCED
 * (no region open on this thread), GYRE_EBUDGET (the region is closed, but
 * its budget ran out and its guarantee ended). A region still open at
 * gyre_thread_detach makes the detach fail with GYRE_EUNBALANCED. */
int gyre_critical_begin(size_t budget_bytes);
int gyre_critical_end(void);

#ifdef __cplusplus
}
#endif

/* Statistics and events; the inline fast paths of the macros above. */
#include "gyre_observe.h"
#include "gyre_inline.h"

#endif /* GYRE_H */
