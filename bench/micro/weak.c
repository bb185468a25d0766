/*
 * weak.c: microbenchmarks of weak references, ephemerons and finalizers.
 *
 * weak_new        one weak reference to a live object (ns each). gyre:
 *                 gyre_weak_new; Boehm: a one-word cell (GC_MALLOC_ATOMIC)
 *                 registered as a disappearing link to the target, Boehm's
 *                 weak reference.
 * weak_get        reading one through it while no cycle marks (ns each).
 *                 gyre: gyre_weak_get; Boehm: GC_call_with_alloc_lock
 *                 around the read, as Boehm asks of a disappearing link.
 * ephemeron_new   one ephemeron (gyre only: Boehm has none).
 * finalize        an object with a finalizer allocated and dropped (ns
 *                 each). gyre: its finalizer thread runs them; counter
 *                 max_pending is the longest queue seen (sampled every
 *                 4096 objects), finalized_per_s the finalizers run per
 *                 second until a last full collection leaves the queue
 *                 empty (a few objects a stale stack word keeps are not
 *                 finalized then: finalized_pct says how many were).
 *                 Boehm: GC_register_finalizer, GC_invoke_finalizers
 *                 every 4096 objects on the allocating thread.
 * minor_old_weak/weak:N/plain:P
 *                 the pause of a young collection reclaiming 4 MiB of young
 *                 garbage (10% surviving) with N old weak references and N
 *                 old ephemerons whose targets are old (gyre only): it
 *                 must not grow with N. plain:1 puts as many plain objects
 *                 in their place, to tell what the weak references cost
 *                 from what an old generation of that size costs. The time is gyre_collect's, from
 *                 call to return; counter pause_us the pause alone (from
 *                 gyre_stats: the stop request to the restart).
 *
 * One source, two binaries: MM_GYRE (micro-weak-gyre) and MM_BOEHM
 * (micro-weak-boehm). Single-threaded, attached for the whole call.
 */
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "gbench.h"

#if defined(MM_GYRE) + defined(MM_BOEHM) != 1
#error "define exactly one of MM_GYRE, MM_BOEHM"
#endif

#define RING 1024
#define FINALIZE_BATCH 4096
#define YOUNG_MB 4
#define MB (1024 * 1024)

struct node {
	struct node *next;
	uintptr_t data[3];
};

/* Live objects the benchmarks point at (a root). */
static void **targets;
/* finalize: the finalizers of this run (the run's number is their
 * context: a run's last objects may be finalized during the next), and
 * the run. */
static _Atomic long finalized;
static _Atomic long run;
/* minor_old_weak: the old weak references and ephemerons (roots, built
 * once per N: Google Benchmark may call a benchmark more than once), and
 * the array young survivors go to. */
#if defined(MM_GYRE)
static void **old_weak, **survivors;
static int64_t old_weak_n = -1, old_weak_plain = -1;
#endif

static void die(const char *what)
{
	fprintf(stderr, "weak: %s failed\n", what);
	exit(2);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

#if defined(MM_GYRE)
#include <gyre.h>

static gyre_type node_type;

static void mm_start(void)
{
	static const size_t offs[] = { offsetof(struct node, next) };
	gyre_type_desc d = { .name = "node", .size = sizeof(struct node),
	                     .ptr_offsets = offs, .n_ptrs = 1 };

	if (gyre_init(NULL) != GYRE_OK)
		die("gyre_init");
	node_type = gyre_type_register(&d);
	if (node_type == 0 || gyre_root_add(&targets, sizeof targets) ||
	    gyre_root_add(&old_weak, sizeof old_weak) ||
	    gyre_root_add(&survivors, sizeof survivors))
		die("gyre_type_register / gyre_root_add");
}

static void mm_stop(void) { gyre_shutdown(); }
static void mm_attach(void) { if (gyre_thread_attach()) die("attach"); }
static void mm_detach(void) { if (gyre_thread_detach()) die("detach"); }
static void *mm_array(size_t n) { return gyre_alloc_array(GYRE_TYPE_PTR, n); }
static struct node *mm_node(void) { return gyre_alloc(node_type); }
static void *mm_weak_new(void *target) { return gyre_weak_new(target, NULL, NULL); }
static void *mm_weak_get(void *weak) { return gyre_weak_get(weak); }
#define STORE_AT(array, i, value) GYRE_STORE_AT(array, i, value)

static void count_finalized(void *obj, void *ctx)
{
	(void)obj;
	if ((intptr_t)ctx == atomic_load(&run))
		atomic_fetch_add_explicit(&finalized, 1, memory_order_relaxed);
}

static void mm_register_finalizer(void *obj)
{
	if (gyre_finalizer_register(obj, count_finalized, (void *)(intptr_t)atomic_load(&run)))
		die("gyre_finalizer_register");
}

/* The queue's length now. */
static long mm_pending(void)
{
	gyre_stats s;

	return gyre_stats_get(&s) == GYRE_OK ? (long)s.finalizers_pending : 0;
}

/* Collects, and waits (in a blocking region: collections go on) for the
 * finalizer thread to empty the queue. */
static void mm_finish(void)
{
	gyre_collect(0);
	gyre_collect(2);
	gyre_blocking_begin();
	while (mm_pending())
		nanosleep(&(struct timespec){ .tv_nsec = 100000 }, NULL);
	gyre_blocking_end();
}

static void mm_collect(int gen) { gyre_collect(gen); }

#else
#include <gc/gc.h>

static void mm_start(void) { GC_INIT(); GC_set_finalize_on_demand(1); }
static void mm_stop(void) {}
static void mm_attach(void) {}
static void mm_detach(void) {}
static void *mm_array(size_t n) { return GC_MALLOC(n * sizeof(void *)); }
static struct node *mm_node(void) { return GC_MALLOC(sizeof(struct node)); }
#define STORE_AT(array, i, value) ((array)[i] = (value))

/* A weak reference: a cell the collector does not scan, whose word is a
 * disappearing link. */
static void *mm_weak_new(void *target)
{
	void **cell = GC_MALLOC_ATOMIC(sizeof(void *));

	if (!cell)
		return NULL;
	*cell = target;
	if (GC_general_register_disappearing_link(cell, target) == GC_NO_MEMORY)
		die("GC_general_register_disappearing_link");
	return cell;
}

static void *reveal(void *cell)
{
	return *(void **)cell;
}

static void *mm_weak_get(void *weak) { return GC_call_with_alloc_lock(reveal, weak); }

static void count_finalized(void *obj, void *ctx)
{
	(void)obj;
	if ((intptr_t)ctx == atomic_load(&run))
		atomic_fetch_add_explicit(&finalized, 1, memory_order_relaxed);
}

static void mm_register_finalizer(void *obj)
{
	GC_register_finalizer(obj, count_finalized, (void *)(intptr_t)atomic_load(&run),
			      NULL, NULL);
}

static long mm_pending(void)
{
	long n = GC_should_invoke_finalizers() ? 1 : 0;

	GC_invoke_finalizers();
	return n;
}

static void mm_finish(void)
{
	GC_gcollect();
	GC_invoke_finalizers();
}

static void mm_collect(int gen) { (void)gen; GC_gcollect(); }
#endif

static void make_targets(void)
{
	if (targets)
		return;
	targets = mm_array(RING);
	if (!targets)
		die("allocating the targets");
	for (size_t i = 0; i < RING; i++)
		STORE_AT(targets, i, mm_node());
}

static void bm_weak_new(gbench_state *st)
{
	size_t i = 0;

	mm_attach();
	make_targets();
	while (gbench_keep_running(st))
		if (!mm_weak_new(targets[i++ % RING]))
			die("a weak reference");
	mm_detach();
}

static void bm_weak_get(gbench_state *st)
{
	void **weak;
	size_t i = 0;

	mm_attach();
	make_targets();
	weak = mm_array(RING);
	for (size_t k = 0; k < RING; k++)
		STORE_AT(weak, k, mm_weak_new(targets[k]));
	mm_collect(2);
	while (gbench_keep_running(st))
		if (mm_weak_get(weak[i++ % RING]) == NULL)
			die("reading a weak reference");
	mm_detach();
}

#if defined(MM_GYRE)
static void bm_ephemeron_new(gbench_state *st)
{
	size_t i = 0;

	mm_attach();
	make_targets();
	while (gbench_keep_running(st))
		if (!gyre_ephemeron_new(targets[i % RING], targets[(i + 1) % RING]))
			die("an ephemeron");
		else
			i++;
	mm_detach();
}
#endif

static void bm_finalize(gbench_state *st)
{
	long made = 0, max_pending = 0;
	double t0 = now_s();

	mm_attach();
	atomic_fetch_add(&run, 1);
	atomic_store(&finalized, 0);
	while (gbench_keep_running(st)) {
		mm_register_finalizer(mm_node());
		if (++made % FINALIZE_BATCH == 0) {
			long p = mm_pending();
			max_pending = p > max_pending ? p : max_pending;
		}
	}
	mm_finish();
	long done = atomic_load(&finalized);
	gbench_counter(st, "finalized_per_s", (double)done / (now_s() - t0),
	               GBENCH_COUNTER_DEFAULT, 1000);
	gbench_counter(st, "finalized_pct", made ? 100.0 * (double)done / (double)made : 0,
	               GBENCH_COUNTER_DEFAULT, 1000);
	gbench_counter(st, "max_pending", (double)max_pending, GBENCH_COUNTER_DEFAULT, 1000);
	mm_detach();
}

#if defined(MM_GYRE)
/* YOUNG_MB of young nodes, 10% of which survive in the survivors
 * array's RING slots, then a young collection (of generation 1 every
 * tenth, as threshold1 would have it); returns its duration. */
static double young_round(int i, uint64_t *rng)
{
	size_t young = (size_t)YOUNG_MB * MB / (sizeof(struct node) + 8);

	gyre_disable();
	for (size_t k = 0; k < young; k++) {
		struct node *nd = mm_node();

		*rng = *rng * 6364136223846793005u + 1442695040888963407u;
		if ((*rng >> 33) % 10 == 0)
			STORE_AT(survivors, (*rng >> 17) % RING, nd);
	}
	gyre_enable();
	double t0 = now_s();

	mm_collect(i % 10 == 9 ? 1 : 0);
	return now_s() - t0;
}

/* N old weak references and N old ephemerons to old targets, hung from
 * an array (large: old from the start, and never moved, nor written once
 * built); then young collections, timed after ten untimed ones, a
 * generation-1 collection among them, as in collect.c: a young object a
 * stale stack word pinned during the build keeps a card of the 16 MiB
 * array dirty until it ages out, and a dirty card of a large array costs
 * a walk of all its cards (gc/README, issue 16). */
static void bm_minor_old_weak(gbench_state *st)
{
	int64_t n = gbench_range(st, 0), plain = gbench_range(st, 1);
	uint64_t rng = 42;
	gyre_stats s0, s1;

	mm_attach();
	make_targets();
	if (old_weak_n != n || old_weak_plain != plain) {
		old_weak = NULL;
		mm_collect(2);
		old_weak = mm_array(2 * (size_t)n + 1);
		survivors = mm_array(RING);
		if (!old_weak || !survivors)
			die("the root arrays");
		for (int64_t i = 0; i < n; i++) {
			void *t = targets[i % RING], *v = targets[(i + 7) % RING];

			STORE_AT(old_weak, 2 * i, plain ? (void *)mm_node() : mm_weak_new(t));
			STORE_AT(old_weak, 2 * i + 1,
			         plain ? (void *)mm_node() : gyre_ephemeron_new(t, v));
		}
		old_weak_n = n;
		old_weak_plain = plain;
		/* Everything built is old before the timing starts. */
		mm_collect(2);
		mm_collect(2);
	}
	for (int i = 0; i < 10; i++)
		young_round(i, &rng);
	gyre_stats_get(&s0);
	for (int i = 0; gbench_keep_running(st); i++)
		gbench_set_iteration_time(st, young_round(i, &rng));
	gyre_stats_get(&s1);
	uint64_t n_pauses = s1.pause_count - s0.pause_count;
	if (n_pauses)
		gbench_counter(st, "pause_us", (double)(s1.pause_total_ns - s0.pause_total_ns) /
		               1e3 / (double)n_pauses, GBENCH_COUNTER_DEFAULT, 1000);
	mm_detach();
}
#endif

int main(int argc, char **argv)
{
	int status;
	gbench_bm *b;

	mm_start();
	gbench_register("weak_new", bm_weak_new);
	gbench_register("weak_get", bm_weak_get);
#if defined(MM_GYRE)
	gbench_register("ephemeron_new", bm_ephemeron_new);
#endif
	b = gbench_register("finalize", bm_finalize);
	gbench_min_time(b, 1.0);
#if defined(MM_GYRE)
	b = gbench_register("minor_old_weak", bm_minor_old_weak);
	gbench_arg_names2(b, "weak", "plain");
	gbench_args2(gbench_args2(gbench_args2(b, 0, 0), 1000000, 0), 1000000, 1);
	gbench_use_manual_time(b);
	gbench_fixed_iterations(b, 40);
#endif
	status = gbench_main(argc, argv);
	targets = NULL;
#if defined(MM_GYRE)
	old_weak = survivors = NULL;
#endif
	mm_stop();
	return status;
}
