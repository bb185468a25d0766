/*
 * collect.c: the pause of one full collection against the size of the live
 * heap (1, 16 and 128 MiB of live linked objects), for gyre (gyre_collect)
 * and Boehm GC (GC_gcollect). A stop-the-world collector's pause grows with
 * what it must mark, so this is the curve that says how large a heap gyre
 * can hold before its pauses hurt a server, and how its parallel marking
 * and sweeping compare with Boehm's parallel marker on the same data.
 *
 * The live data is LISTS linked lists of 64-byte nodes hanging from one
 * root array. Nodes are allocated round-robin across the lists, so
 * consecutive nodes of a list lie far apart in memory, and each node also
 * points at the node allocated just before it (on another list), so marking
 * meets already-marked objects too. It is built once per size with
 * collection disabled and kept (through a static root) across the runs of
 * that size; each iteration is one full collection, timed with
 * clock_gettime and reported through manual timing, so the reported time is
 * the pause. Counters (MiB, 2^20 bytes): live_MiB (payload bytes of the
 * nodes, the same figure for both collectors), heap_MiB (memory the
 * collector holds) and MiB_per_s, the mark-and-sweep throughput: live bytes
 * / collection time. For gyre, which reports its phases in gyre_stats, also
 * mark_MiB_per_s (live bytes / marking time) and sweep_heap_MiB_per_s (heap
 * bytes / sweeping time).
 *
 * minor/old_MiB:N/survive_pct:P is the pause that reclaims a nursery's
 * worth of young garbage (YOUNG_MB of 64-byte nodes, of which P% survive
 * by being stored at random slots of a 512 KiB root table, as a server
 * stores new records into its hash table) with N MiB of the live lists
 * above as the old generation: gyre_collect(0), a generation-0 collection,
 * (generation 1 too every tenth time, as with gyre's default thresholds)
 * against Boehm's GC_gcollect(), as Boehm has no young generation. Each
 * iteration allocates the young nodes with collection disabled (not timed)
 * and times the one collection. gyre's pause should not grow with N;
 * counter survivor_MiB_per_s is the surviving bytes / pause.
 *
 * minor_tables/tables_MiB:N/written:W is the same pause (10% surviving)
 * with N MiB of large pointer arrays as the old generation (512 KiB
 * tables, every slot pointing at an old table): a server's indexes, none
 * written since they were built (W 0), or one young node stored into a
 * random slot of one before each collection (W 1). gyre's pause should
 * not grow with N either: a table nobody wrote costs the bytes of its
 * chunks' card summaries, a written one the cards of the written chunk
 * (512 cards, 32 KiB of the table), not all of its cards.
 *
 * One source, two binaries: MM_GYRE (micro-collect-gyre) and MM_BOEHM
 * (micro-collect-boehm). The benchmark runs on one thread, so Google
 * Benchmark's start and stop barriers never wait, and the gyre variant stays
 * attached for the whole call.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "gbench.h"

#if defined(MM_GYRE) + defined(MM_BOEHM) != 1
#error "define exactly one of MM_GYRE, MM_BOEHM"
#endif

/* Lists the live data is spread over (parallel markers can share them). */
#define LISTS 1024
/* minor: the young garbage per collection, and the slots of the table
 * its survivors go to. */
#define YOUNG_MB 4
#define TABLE (64 * 1024)
#define MINOR_ITERATIONS 40
#define MB (1024 * 1024)

/* A live object: 64 bytes of payload, two pointer fields. */
struct node {
	struct node *next;  /* next node of the same list */
	struct node *prev;  /* the node allocated just before this one */
	uintptr_t data[6];
};

/* The root array of LISTS list heads (a collector-allocated pointer array),
 * and the size in MiB it holds. Sync: only the benchmark thread. */
static struct node **live_lists;
static int64_t live_mb = -1;
/* minor: the table survivors are stored into (a root, like live_lists). */
static struct node **young_table;

static void die(const char *what)
{
	fprintf(stderr, "collect: %s failed\n", what);
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
	static const size_t offs[] = { offsetof(struct node, next),
	                               offsetof(struct node, prev) };
	gyre_type_desc d = { .name = "node", .size = sizeof(struct node),
	                     .ptr_offsets = offs, .n_ptrs = 2 };

	if (gyre_init(NULL) != GYRE_OK)
		die("gyre_init");
	node_type = gyre_type_register(&d);
	if (node_type == 0 || gyre_root_add(&live_lists, sizeof live_lists) ||
	    gyre_root_add(&young_table, sizeof young_table))
		die("gyre_type_register / gyre_root_add");
}

static void mm_stop(void)
{
	if (gyre_shutdown() != GYRE_OK)
		die("gyre_shutdown");
}

static void mm_attach(void)
{
	if (gyre_thread_attach() != GYRE_OK)
		die("gyre_thread_attach");
}

static void mm_detach(void)
{
	if (gyre_thread_detach() != GYRE_OK)
		die("gyre_thread_detach");
}

static void mm_disable(void) { gyre_disable(); }
static void mm_enable(void) { gyre_enable(); }
static void *mm_lists(void) { return gyre_alloc_array(GYRE_TYPE_PTR, LISTS); }
static void *mm_table(void) { return gyre_alloc_array(GYRE_TYPE_PTR, TABLE); }
static struct node *mm_node(void) { return gyre_alloc(node_type); }

#define STORE(obj, field, value) GYRE_STORE(obj, field, value)
#define STORE_AT(array, i, value) GYRE_STORE_AT(array, i, value)

static void mm_collect(void)
{
	if (gyre_collect(2) < 0)
		die("gyre_collect");
}

/* The young generations: generation 0, and every tenth time generation 1
 * too (gyre's default threshold1, which automatic collection, disabled
 * here, would follow). */
static void mm_collect_young(int i)
{
	if (gyre_collect(i % 10 == 9 ? 1 : 0) < 0)
		die("gyre_collect");
}

static double mm_heap_bytes(void)
{
	gyre_stats s;

	return gyre_stats_get(&s) == GYRE_OK ? (double)s.heap_size : 0;
}

/* Seconds spent marking and sweeping so far (gyre reports both). */
static void mm_phase_totals(double *mark_s, double *sweep_s)
{
	gyre_stats s;

	if (gyre_stats_get(&s) != GYRE_OK)
		die("gyre_stats_get");
	*mark_s = (double)s.mark_total_ns / 1e9;
	*sweep_s = (double)s.sweep_total_ns / 1e9;
}

#else
#include <gc/gc.h>

static void mm_start(void) { GC_INIT(); }
static void mm_stop(void) {}
static void mm_attach(void) {}
static void mm_detach(void) {}
static void mm_disable(void) { GC_disable(); }
static void mm_enable(void) { GC_enable(); }
static void *mm_lists(void) { return GC_MALLOC(LISTS * sizeof(void *)); }
static void *mm_table(void) { return GC_MALLOC(TABLE * sizeof(void *)); }
static struct node *mm_node(void) { return GC_MALLOC(sizeof(struct node)); }
static void mm_collect(void) { GC_gcollect(); }
/* No young generation: the whole heap. */
static void mm_collect_young(int i) { (void)i; GC_gcollect(); }
static double mm_heap_bytes(void) { return (double)GC_get_heap_size(); }
/* Boehm does not report its phases separately. */
static void mm_phase_totals(double *mark_s, double *sweep_s) { *mark_s = *sweep_s = 0; }
#define STORE(obj, field, value) ((obj)->field = (value))
#define STORE_AT(array, i, value) ((array)[i] = (value))
#endif

/* Replaces the live data with `mb` MiB of nodes, built with collection
 * disabled (building is not measured). */
static void build_live(int64_t mb)
{
	size_t n = (size_t)mb * MB / sizeof(struct node);
	struct node *prev = NULL;

	live_lists = NULL;
	mm_collect();
	mm_disable();
	live_lists = mm_lists();
	if (live_lists == NULL)
		die("allocating the list heads");
	for (size_t i = 0; i < n; i++) {
		struct node *nd = mm_node();

		if (nd == NULL)
			die("allocating a node");
		STORE(nd, next, live_lists[i % LISTS]);
		STORE(nd, prev, prev);
		nd->data[0] = i;
		STORE_AT(live_lists, i % LISTS, nd);
		prev = nd;
	}
	mm_enable();
	live_mb = mb;
}

/* Replaces the live data with `mb` MiB of tables (TABLE slots each, hung
 * from live_lists), whose slots point at the tables: large objects, old
 * from the start and never moved, so that no young object a stale stack
 * word pins keeps their cards dirty. */
static void build_tables(int64_t mb)
{
	size_t n = (size_t)mb * MB / (TABLE * sizeof(void *));

	if (n > LISTS)
		die("sizing the tables");
	live_lists = NULL;
	mm_collect();
	live_lists = mm_lists();
	if (live_lists == NULL)
		die("allocating the list heads");
	for (size_t t = 0; t < n; t++) {
		struct node **table = mm_table();

		if (table == NULL)
			die("allocating a table");
		STORE_AT(live_lists, t, (struct node *)table);
	}
	for (size_t t = 0; t < n; t++)
		for (size_t k = 0; k < TABLE; k++)
			STORE_AT((struct node **)live_lists[t], k,
			         live_lists[(t + k + 1) % n]);
	live_mb = -1;
}

static void bm_collect(gbench_state *st)
{
	int64_t mb = gbench_range(st, 0);
	double total = 0;

	mm_attach();
	if (live_mb != mb)
		build_live(mb);
	mm_collect();
	double mark0, sweep0, mark1, sweep1;
	mm_phase_totals(&mark0, &sweep0);
	while (gbench_keep_running(st)) {
		double t0 = now_s();

		mm_collect();
		double t = now_s() - t0;
		gbench_set_iteration_time(st, t);
		total += t;
	}
	gbench_counter(st, "live_MiB", (double)mb, GBENCH_COUNTER_DEFAULT, 1000);
	gbench_counter(st, "heap_MiB", mm_heap_bytes() / MB,
	               GBENCH_COUNTER_DEFAULT, 1000);
	if (total > 0)
		gbench_counter(st, "MiB_per_s",
		               (double)gbench_iterations(st) * (double)mb / total,
		               GBENCH_COUNTER_DEFAULT, 1000);
	mm_phase_totals(&mark1, &sweep1);
	if (mark1 > mark0)
		gbench_counter(st, "mark_MiB_per_s",
		               (double)gbench_iterations(st) * (double)mb / (mark1 - mark0),
		               GBENCH_COUNTER_DEFAULT, 1000);
	if (sweep1 > sweep0)
		gbench_counter(st, "sweep_heap_MiB_per_s",
		               (double)gbench_iterations(st) * mm_heap_bytes() / MB /
		               (sweep1 - sweep0), GBENCH_COUNTER_DEFAULT, 1000);
	mm_detach();
}

/* Allocates YOUNG_MB of nodes, with collection disabled; pct% of them go
 * into random slots of young_table (replacing earlier survivors). */
static void make_young(int64_t pct, uint64_t *rng)
{
	size_t n = (size_t)YOUNG_MB * MB / sizeof(struct node);

	mm_disable();
	for (size_t i = 0; i < n; i++) {
		struct node *nd = mm_node();

		if (nd == NULL)
			die("allocating a node");
		nd->data[0] = i;
		*rng = *rng * 6364136223846793005u + 1442695040888963407u;
		if ((*rng >> 33) % 100 < (uint64_t)pct)
			STORE_AT(young_table, (*rng >> 17) % TABLE, nd);
	}
	mm_enable();
}

/* minor_tables/written:1: before each young collection, one young node
 * goes into a random slot of a random table (set by bm_minor_tables). */
static int64_t tables_written;

/* Times young collections at pct% survival over whatever old generation
 * is built; reports old_MiB as `mb`. */
static void time_minor(gbench_state *st, int64_t mb, int64_t pct)
{
	uint64_t rng = 42;
	double total = 0;

	young_table = mm_table();
	if (young_table == NULL)
		die("allocating the table");
	mm_collect();
	/* Untimed rounds first: the copies' first touch of fresh pages is
	 * a cost of heap growth, not of the collection. */
	for (int i = 0; i < 10; i++) {
		make_young(pct, &rng);
		mm_collect_young(i);
	}
	for (int i = 0; gbench_keep_running(st); i++) {
		make_young(pct, &rng);
		if (tables_written && live_lists && live_lists[0]) {
			size_t n = (size_t)mb * MB / (TABLE * sizeof(void *));

			rng = rng * 6364136223846793005u + 1442695040888963407u;
			STORE_AT((struct node **)live_lists[(rng >> 33) % n],
			         (rng >> 17) % TABLE, mm_node());
		}
		double t0 = now_s();

		mm_collect_young(i);
		double t = now_s() - t0;
		gbench_set_iteration_time(st, t);
		total += t;
	}
	young_table = NULL;
	gbench_counter(st, "old_MiB", (double)mb, GBENCH_COUNTER_DEFAULT, 1000);
	if (total > 0)
		gbench_counter(st, "survivor_MiB_per_s",
		               (double)gbench_iterations(st) * YOUNG_MB * (double)pct /
		               100 / total, GBENCH_COUNTER_DEFAULT, 1000);
}

static void bm_minor(gbench_state *st)
{
	int64_t mb = gbench_range(st, 0);

	mm_attach();
	if (live_mb != mb)
		build_live(mb);
	time_minor(st, mb, gbench_range(st, 1));
	mm_detach();
}

static void bm_minor_tables(gbench_state *st)
{
	int64_t mb = gbench_range(st, 0);

	tables_written = gbench_range(st, 1);
	mm_attach();
	build_tables(mb);
	time_minor(st, mb, 10);
	mm_detach();
}

int main(int argc, char **argv)
{
	int status;
	gbench_bm *b;

	mm_start();
	b = gbench_register("collect", bm_collect);
	gbench_arg_name(b, "live_MiB");
	gbench_arg(gbench_arg(gbench_arg(b, 1), 16), 128);
	gbench_use_manual_time(b);
	b = gbench_register("minor", bm_minor);
	gbench_arg_names2(b, "old_MiB", "survive_pct");
	for (int64_t mb = 0; mb <= 512; mb = mb ? mb * 8 : 64)
		for (int64_t pct = 0; pct <= 50; pct = pct ? pct * 5 : 10)
			gbench_args2(b, mb, pct);
	gbench_use_manual_time(b);
	gbench_fixed_iterations(b, MINOR_ITERATIONS);
	b = gbench_register("minor_tables", bm_minor_tables);
	gbench_arg_names2(b, "tables_MiB", "written");
	for (int64_t w = 0; w <= 1; w++)
		gbench_args2(gbench_args2(gbench_args2(b, 0, w), 64, w), 256, w);
	gbench_use_manual_time(b);
	gbench_fixed_iterations(b, MINOR_ITERATIONS);
	status = gbench_main(argc, argv);
	live_lists = NULL;
	mm_stop();
	return status;
}
