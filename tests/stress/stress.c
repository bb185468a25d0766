/*
 * stress.c: the multi-threaded stress test of gyre, through its public API
 * only. Each mutator thread keeps graphs (graph.h) under three kinds of
 * root, each the only path to its graphs: a local array on the thread's
 * stack, a row of a static array registered with gyre_root_add, and
 * handles. It mutates them without pause, making garbage many times the
 * size of what stays live, and re-verifies every graph after every
 * collection it observes. Graphs mix every generation: old graphs get
 * young subtrees and buffers, young nodes point into old ones, all through
 * GYRE_STORE. Threads also hold a graph only in a local across long
 * safepoint loops and (some of them) blocking regions and disabled
 * regions, force collections of each generation in turn, and detach and
 * re-attach while others collect; the first thread also freezes the heap
 * now and then (gyre_freeze, nested up to twice) and unfreezes it, so that
 * graphs live, are mutated and die in the permanent generation too. Each
 * thread also keeps a table of weak
 * references and ephemerons and makes finalizable objects, checked after
 * every collection too (weakrefs.c), and the mutated-heap shape (mutated.h):
 * big pointer arrays that take bursts of fresh entries at random slots,
 * and lists appended at the tail and trimmed at the head, one of each
 * under each kind of root, checked slot by slot and node by node after
 * every collection too. The run ends with a check of gyre's
 * statistics (every generation collected, objects promoted and pinned)
 * and, on request, of the allocation-to-live ratio and of the peak RSS.
 *
 * Usage: stress [--threads N] [--seconds S] [--seed X] [--live N]
 *               [--check-ratio] [--max-rss-mb M]
 * The seed is printed first ("seed=X"); --seed X replays a run's choices
 * (thread interleaving is up to the scheduler).
 */
#include "graph.h"
#include "mutated.h"
#include "report.h"
#include "weakrefs.h"

#include <gyre.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define MAX_THREADS 64
#define SLOTS 8               /* graphs per root kind per thread */
#define HANG_GRACE_S 60.0     /* how long past the deadline a run may take */
#define MIN_RATIO 50          /* allocated / live, with --check-ratio */

enum root_kind { ROOT_STACK, ROOT_GLOBAL, ROOT_HANDLE, ROOT_KINDS };
static const char *const kind_name[ROOT_KINDS] = { "stack", "global",
						   "handle" };

struct options {
	int threads;
	double seconds;
	uint64_t seed;
	size_t live;          /* approximate live objects per thread */
	bool check_ratio;
	long max_rss_mb;      /* 0: no bound */
};

/* Row t holds thread t's global roots and is registered by thread t.
 * Sync: row t is written only by thread t, and read by the collector only
 * while thread t is stopped at a safepoint or in a blocking region. */
static struct node *global_roots[MAX_THREADS][SLOTS];
/* Row t holds thread t's mutated-heap roots (mutated.h); the same. */
static void *mutated_roots[MAX_THREADS][MUTATED_SLOTS];

/* What a worker did; written by its thread, read by main after the join. */
struct tally {
	uint64_t steps, verifications, forced, blocking, disabled, spins,
		 churns, reattaches, weak_ops;
	uint64_t live_bytes_max, live_objects_max;
	uint64_t bytes_allocated, objects_allocated;
	uint64_t heap_size_max;
	struct mutated_tally mut;
};

struct worker {
	int index;
	pthread_t tid;
	const struct options *opt;
	double deadline;              /* CLOCK_MONOTONIC seconds */
	/* Sync: relaxed; only a progress report for the watchdog. */
	_Atomic uint64_t progress;
	struct tally t;
};

/* Sync: incremented by each worker as it finishes, polled by main. */
static atomic_int workers_done;

/* A worker's state while its thread runs. */
struct mutator {
	struct worker *w;
	struct graph_ctx g;
	struct node **stack;          /* the thread function's local array */
	struct node **global;         /* global_roots[w->index] */
	gyre_handle *handles;         /* malloc'd: gyre does not scan it */
	struct graph_meta meta[ROOT_KINDS][SLOTS];
	struct weakrefs weak;
	struct mutated mut;
	uint64_t seen_collections;
	uint64_t sink;                /* keeps the spin loops' work alive */
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ------------------------------------------------------------------ roots */

static struct node *root_get(struct mutator *m, int kind, int slot)
{
	switch (kind) {
	case ROOT_STACK:
		return m->stack[slot];
	case ROOT_GLOBAL:
		return m->global[slot];
	default:
		return gyre_handle_get(m->handles[slot]);
	}
}

/* Stack and global roots are plain C memory, written with plain stores;
 * handles are set through gyre. */
static void root_put(struct mutator *m, int kind, int slot, struct node *g)
{
	switch (kind) {
	case ROOT_STACK:
		m->stack[slot] = g;
		break;
	case ROOT_GLOBAL:
		m->global[slot] = g;
		break;
	default:
		if (gyre_handle_set(m->handles[slot], g) != GYRE_OK)
			fail("gyre_handle_set failed");
	}
}

static void stack_roots_build(struct mutator *m)
{
	for (int s = 0; s < SLOTS; s++)
		m->stack[s] = graph_new(&m->g, &m->meta[ROOT_STACK][s]);
}

static void roots_build(struct mutator *m)
{
	stack_roots_build(m);
	for (int s = 0; s < SLOTS; s++) {
		m->global[s] = graph_new(&m->g, &m->meta[ROOT_GLOBAL][s]);
		m->handles[s] = gyre_handle_new(graph_new(&m->g,
						&m->meta[ROOT_HANDLE][s]));
		if (!m->handles[s])
			fail("gyre_handle_new failed");
	}
}

static void verify_kind(struct mutator *m, int kind, const char *when)
{
	char where[96];

	for (int s = 0; s < SLOTS; s++) {
		snprintf(where, sizeof where, "%s root %d, %s", kind_name[kind],
			 s, when);
		graph_verify(&m->g, root_get(m, kind, s), &m->meta[kind][s],
			     where);
	}
}

static void verify_all(struct mutator *m, const char *when)
{
	uint64_t bytes, objects;

	m->g.seen_bytes = m->mut.seen_bytes = 0;
	m->g.seen_objects = m->mut.seen_objects = 0;
	for (int k = 0; k < ROOT_KINDS; k++)
		verify_kind(m, k, when);
	weakrefs_verify(&m->weak, when);
	mutated_verify(&m->mut, when);
	m->w->t.verifications++;
	bytes = m->g.seen_bytes + m->mut.seen_bytes;
	objects = m->g.seen_objects + m->mut.seen_objects;
	if (bytes > m->w->t.live_bytes_max)
		m->w->t.live_bytes_max = bytes;
	if (objects > m->w->t.live_objects_max)
		m->w->t.live_objects_max = objects;
}

static void stats_get(gyre_stats *s)
{
	if (gyre_stats_get(s) != GYRE_OK)
		fail("gyre_stats_get failed");
}

/* Verifies everything if a collection completed since the last look. */
static void poll_collections(struct mutator *m)
{
	gyre_stats s;

	stats_get(&s);
	if (s.heap_size > m->w->t.heap_size_max)
		m->w->t.heap_size_max = s.heap_size;
	if (s.collections == m->seen_collections)
		return;
	m->seen_collections = s.collections;
	verify_all(m, "after a collection");
}

/* Takes a graph out of its root and puts a fresh one there, so that the
 * returned graph is reachable only from the caller's locals. */
static struct node *take_graph(struct mutator *m, int kind, int slot,
			       struct graph_meta *meta)
{
	struct node *g = root_get(m, kind, slot);

	*meta = m->meta[kind][slot];
	root_put(m, kind, slot, graph_new(&m->g, &m->meta[kind][slot]));
	return g;
}

static void give_back(struct mutator *m, int kind, int slot, struct node *g,
		      const struct graph_meta *meta)
{
	root_put(m, kind, slot, g);
	m->meta[kind][slot] = *meta;
}

/* ------------------------------------------------------------- operations */

static void op_mutate(struct mutator *m, int kind, int slot)
{
	graph_mutate(&m->g, root_get(m, kind, slot), &m->meta[kind][slot]);
}

static void op_replace(struct mutator *m, int kind, int slot)
{
	root_put(m, kind, slot, graph_new(&m->g, &m->meta[kind][slot]));
}

/* Frees a handle and creates a new one for its graph, with allocation in
 * between while the graph is held only in a local. */
static void op_churn(struct mutator *m, int slot)
{
	struct node *g = gyre_handle_get(m->handles[slot]);

	if (gyre_handle_free(m->handles[slot]) != GYRE_OK)
		fail("gyre_handle_free failed");
	graph_garbage(&m->g, m->g.target_nodes);
	m->handles[slot] = gyre_handle_new(g);
	if (!m->handles[slot] || gyre_handle_get(m->handles[slot]) != g)
		fail("a new handle does not hold its object");
	m->w->t.churns++;
}

/* A long loop that does not allocate, polling with gyre_safepoint while a
 * graph is held only in a local. */
static void op_spin(struct mutator *m, int kind, int slot)
{
	struct graph_meta meta;
	struct node *g = take_graph(m, kind, slot, &meta);
	uint64_t n = 1000 + rng_below(&m->g.rng, 20000), h = m->sink;

	for (uint64_t i = 0; i < n; i++) {
		h = h * UINT64_C(6364136223846793005) + i;
		gyre_safepoint();
	}
	m->sink = h;
	graph_verify(&m->g, g, &meta, "held in a local across safepoints");
	give_back(m, kind, slot, g, &meta);
	m->w->t.spins++;
}

/* Sleeps in a blocking region, where collections go on without this
 * thread, while a graph is held only in a local. */
static void op_blocking(struct mutator *m, int kind, int slot)
{
	struct graph_meta meta;
	struct node *g = take_graph(m, kind, slot, &meta);

	if (gyre_blocking_begin() != GYRE_OK)
		fail("gyre_blocking_begin failed");
	gyre_safepoint();
	usleep((useconds_t)rng_below(&m->g.rng, 1000));
	if (gyre_blocking_end() != GYRE_OK)
		fail("gyre_blocking_end failed");
	graph_verify(&m->g, g, &meta, "held in a local across a blocking region");
	give_back(m, kind, slot, g, &meta);
	m->w->t.blocking++;
}

/* gyre_freeze refuses to run while another thread holds a gyre_disable
 * (a misuse: checked builds abort): disabled regions hold this lock for
 * reading, a freeze for writing. Taken inside a blocking region, as any
 * lock an attached thread may wait for. */
static pthread_rwlock_t disable_lock = PTHREAD_RWLOCK_INITIALIZER;

static void lock_blocking(bool writer)
{
	if (gyre_blocking_begin() != GYRE_OK)
		fail("gyre_blocking_begin failed");
	if (writer)
		pthread_rwlock_wrlock(&disable_lock);
	else
		pthread_rwlock_rdlock(&disable_lock);
	if (gyre_blocking_end() != GYRE_OK)
		fail("gyre_blocking_end failed");
}

/* Works with automatic collection disabled; a forced collection must
 * still run. */
static void op_disabled(struct mutator *m, int kind, int slot)
{
	lock_blocking(false);
	if (gyre_disable() != GYRE_OK)
		fail("gyre_disable failed");
	if (gyre_is_enabled() != 0)
		fail("gyre_is_enabled() is %d while this thread holds a "
		     "gyre_disable", gyre_is_enabled());
	graph_garbage(&m->g, m->g.target_nodes);
	op_mutate(m, kind, slot);
	if (rng_below(&m->g.rng, 4) == 0 && gyre_collect(2) < 0)
		fail("gyre_collect failed while disabled");
	if (gyre_enable() != GYRE_OK)
		fail("gyre_enable failed");
	pthread_rwlock_unlock(&disable_lock);
	m->w->t.disabled++;
}

/* Freezes (a full collection, then every survivor is frozen), freezes
 * again (nesting), then unfreezes, in turn; the count must follow. */
static void op_freeze(struct mutator *m)
{
	static unsigned turn;   /* the first thread's only */
	lock_blocking(true);
	if (turn++ % 3 < 2) {
		if (gyre_freeze() != GYRE_OK)
			fail("gyre_freeze failed");
	} else if (gyre_get_freeze_count() && gyre_unfreeze() != GYRE_OK) {
		fail("gyre_unfreeze failed");
	} else if (gyre_get_freeze_count()) {
		fail("%zu objects frozen after gyre_unfreeze", gyre_get_freeze_count());
	}
	pthread_rwlock_unlock(&disable_lock);
	(void)m;
}

/* Forced collections over all threads, to take the generations in turn.
 * Relaxed: only a counter. */
static atomic_uint forced_total;

/* Forces a collection of each generation in turn: minor ones move
 * objects under every kind of root while other threads mutate. */
static void op_collect(struct mutator *m)
{
	gyre_stats before, after;
	int gen = (int)(atomic_fetch_add_explicit(&forced_total, 1,
						  memory_order_relaxed) % 3);
	int64_t freed;

	stats_get(&before);
	freed = gyre_collect(gen);
	if (freed < 0)
		fail("gyre_collect(%d) returned %lld", gen, (long long)freed);
	stats_get(&after);
	if (after.collections <= before.collections ||
	    after.gen[gen].collections <= before.gen[gen].collections)
		fail("gyre_collect(%d) returned but the collection counts stayed "
		     "at %llu / %llu", gen, (unsigned long long)after.collections,
		     (unsigned long long)after.gen[gen].collections);
	m->w->t.forced++;
}

/* Detaches and attaches again. While detached the thread's stack is no
 * root, so its stack graphs are dropped and rebuilt; its global and handle
 * graphs must survive on those roots alone. */
static void op_reattach(struct mutator *m)
{
	for (int s = 0; s < SLOTS; s++)
		m->stack[s] = NULL;
	mutated_stack_drop(&m->mut);
	if (gyre_thread_detach() != GYRE_OK)
		fail("gyre_thread_detach failed");
	usleep((useconds_t)rng_below(&m->g.rng, 500));
	if (gyre_thread_attach() != GYRE_OK)
		fail("gyre_thread_attach after a detach failed");
	verify_kind(m, ROOT_GLOBAL, "after a detach and re-attach");
	verify_kind(m, ROOT_HANDLE, "after a detach and re-attach");
	stack_roots_build(m);
	mutated_stack_build(&m->mut, &m->g.rng);
	mutated_verify(&m->mut, "after a detach and re-attach");
	m->w->t.reattaches++;
}

/* Odd threads use blocking regions, every third thread disabled regions
 * and every fourth detaches and re-attaches, so that each also meets
 * threads that do not. */
static bool uses_blocking(const struct mutator *m)
{
	return m->w->index % 2 == 1;
}

static bool uses_disable(const struct mutator *m)
{
	return m->w->index % 3 == 2;
}

static bool uses_reattach(const struct mutator *m)
{
	return m->w->index % 4 == 3;
}

/* One random operation, after a verification if a collection happened.
 * The thresholds are out of 10000. */
static void step(struct mutator *m)
{
	struct rng *r = &m->g.rng;
	int kind = (int)rng_below(r, ROOT_KINDS), slot = (int)rng_below(r, SLOTS);
	uint64_t x = rng_below(r, 10000);

	poll_collections(m);
	if (x < 600)
		op_replace(m, kind, slot);
	else if (x < 1000)
		graph_garbage(&m->g, m->g.target_nodes);
	else if (x < 1300)
		op_churn(m, slot);
	else if (x < 1330)
		op_spin(m, kind, slot);
	else if (x < 1360 && uses_blocking(m))
		op_blocking(m, kind, slot);
	else if (x >= 1360 && x < 1390 && uses_disable(m))
		op_disabled(m, kind, slot);
	else if (x >= 1390 && x < 1392)
		op_collect(m);
	else if (x >= 1392 && x < 1402 && uses_reattach(m))
		op_reattach(m);
	else if (x >= 1402 && x < 1432 && m->w->index == 0)
		op_freeze(m);
	else if (x >= 1432 && x < 2000) {
		weakrefs_step(&m->weak, r);
		m->w->t.weak_ops++;
	} else if (x >= 2000 && x < 2600)
		mutated_step(&m->mut, r);
	else
		op_mutate(m, kind, slot);
	m->w->t.steps++;
	atomic_store_explicit(&m->w->progress, m->w->t.steps,
			      memory_order_relaxed);
}

/* ----------------------------------------------------------------- thread */

static void mutator_setup(struct mutator *m, struct worker *w,
			  struct node **stack, void **mutated_stack)
{
	const struct options *o = w->opt;
	/* A tree node comes with about 5 objects (its buffer, leaves,
	 * extensions, arrays), spread over all root slots. */
	size_t target = o->live / (5 * ROOT_KINDS * SLOTS);

	report_set_thread(w->index);
	*m = (struct mutator){ .w = w, .stack = stack,
			       .global = global_roots[w->index] };
	graph_ctx_init(&m->g, w->index, o->seed, target);
	m->handles = calloc(SLOTS, sizeof *m->handles);
	if (!m->handles)
		fail("out of memory for handles");
	if (gyre_thread_attach() != GYRE_OK)
		fail("gyre_thread_attach failed");
	if (gyre_root_add(m->global, sizeof global_roots[0]) != GYRE_OK)
		fail("gyre_root_add of global row %d failed", w->index);
	roots_build(m);
	weakrefs_init(&m->weak, w->index);
	mutated_init(&m->mut, w->index, o->live, mutated_stack,
		     mutated_roots[w->index], &m->g.rng);
}

static void mutator_teardown(struct mutator *m)
{
	verify_all(m, "at the end");
	weakrefs_fini(&m->weak);
	mutated_fini(&m->mut);
	for (int s = 0; s < SLOTS; s++)
		if (gyre_handle_free(m->handles[s]) != GYRE_OK)
			fail("gyre_handle_free at the end failed");
	if (gyre_root_remove(m->global) != GYRE_OK)
		fail("gyre_root_remove of global row %d failed", m->w->index);
	if (gyre_thread_detach() != GYRE_OK)
		fail("gyre_thread_detach failed");
	m->w->t.bytes_allocated = m->g.bytes_allocated + m->mut.bytes_allocated;
	m->w->t.objects_allocated = m->g.objects_allocated +
				    m->mut.objects_allocated;
	m->w->t.mut = m->mut.t;
	free(m->handles);
	graph_ctx_fini(&m->g);
}

static void *mutator_main(void *arg)
{
	struct worker *w = arg;
	/* Stack roots: these arrays are the only paths to their graphs,
	 * big arrays and lists. */
	struct node *stack_roots[SLOTS] = { 0 };
	void *mutated_stack[MUTATED_SLOTS] = { 0 };
	struct mutator m;

	mutator_setup(&m, w, stack_roots, mutated_stack);
	while (now_s() < w->deadline)
		step(&m);
	mutator_teardown(&m);
	atomic_fetch_add(&workers_done, 1);
	return NULL;
}

/* ------------------------------------------------------------------- main */

static _Noreturn void usage(const char *why)
{
	fprintf(stderr, "stress: %s\nusage: stress [--threads N] [--seconds S] "
		"[--seed X] [--live N] [--check-ratio] [--max-rss-mb M]\n", why);
	exit(2);
}

static uint64_t parse_u64(const char *s, uint64_t min, uint64_t max)
{
	char *end;
	unsigned long long v;

	if (!s)
		usage("an option is missing its value");
	v = strtoull(s, &end, 0);
	if (*s == '-' || *end != '\0' || v < min || v > max)
		usage("an option value is malformed or out of range");
	return v;
}

static double parse_seconds(const char *s)
{
	char *end;
	double v;

	if (!s)
		usage("--seconds is missing its value");
	v = strtod(s, &end);
	if (*end != '\0' || !(v > 0 && v < 86400))
		usage("--seconds must be a positive number");
	return v;
}

static uint64_t seed_from_time(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000007u ^ (uint64_t)ts.tv_nsec ^
	       (uint64_t)getpid() << 32;
}

static void parse_args(int argc, char **argv, struct options *o)
{
	*o = (struct options){ .threads = 4, .seconds = 5, .live = 5000,
			       .seed = seed_from_time() };
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		/* argv[argc] is NULL, which the parsers report as missing. */
		if (!strcmp(a, "--check-ratio"))
			o->check_ratio = true;
		else if (!strcmp(a, "--threads"))
			o->threads = (int)parse_u64(argv[++i], 1, MAX_THREADS);
		else if (!strcmp(a, "--seconds"))
			o->seconds = parse_seconds(argv[++i]);
		else if (!strcmp(a, "--seed"))
			o->seed = parse_u64(argv[++i], 0, UINT64_MAX);
		else if (!strcmp(a, "--live"))
			o->live = parse_u64(argv[++i], 1, 100000000);
		else if (!strcmp(a, "--max-rss-mb"))
			o->max_rss_mb = (long)parse_u64(argv[++i], 1, 1 << 30);
		else
			usage("unknown argument");
	}
}

/* Waits for the workers; a run that overstays its deadline by
 * HANG_GRACE_S is a hang, reported with each thread's progress. */
static void watch(struct worker *w, int n, double deadline)
{
	while (atomic_load(&workers_done) < n) {
		if (now_s() > deadline + HANG_GRACE_S) {
			for (int i = 0; i < n; i++)
				fprintf(stderr, "stress: thread %d at step %llu\n",
					i, (unsigned long long)atomic_load(
						&w[i].progress));
			fail("hang: %d of %d threads still running %.0f s "
			     "after the deadline", n - atomic_load(&workers_done),
			     n, HANG_GRACE_S);
		}
		usleep(100 * 1000);
	}
	for (int i = 0; i < n; i++)
		pthread_join(w[i].tid, NULL);
}

static void run_workers(const struct options *o, struct worker *w)
{
	double deadline = now_s() + o->seconds;

	for (int i = 0; i < o->threads; i++) {
		w[i] = (struct worker){ .index = i, .opt = o,
					.deadline = deadline };
		if (pthread_create(&w[i].tid, NULL, mutator_main, &w[i]) != 0)
			fail("pthread_create failed");
	}
	watch(w, o->threads, deadline);
}

static void sum_tallies(const struct worker *w, int n, struct tally *sum)
{
	*sum = (struct tally){ 0 };
	for (int i = 0; i < n; i++) {
		const struct tally *t = &w[i].t;

		sum->steps += t->steps;
		sum->verifications += t->verifications;
		sum->forced += t->forced;
		sum->blocking += t->blocking;
		sum->disabled += t->disabled;
		sum->spins += t->spins;
		sum->churns += t->churns;
		sum->reattaches += t->reattaches;
		sum->weak_ops += t->weak_ops;
		mutated_tally_add(&sum->mut, &t->mut);
		sum->live_bytes_max += t->live_bytes_max;
		sum->live_objects_max += t->live_objects_max;
		sum->bytes_allocated += t->bytes_allocated;
		sum->objects_allocated += t->objects_allocated;
		if (t->heap_size_max > sum->heap_size_max)
			sum->heap_size_max = t->heap_size_max;
	}
}

/* With every root gone and nothing frozen, a collection must leave less
 * than a tenth of what the test held at most (stale words in the main
 * thread's stack may keep a little); returns what it left. */
static uint64_t collect_everything(void)
{
	gyre_stats s;

	if (gyre_thread_attach() != GYRE_OK)
		fail("gyre_thread_attach on the main thread failed");
	/* A run that ends frozen keeps what its frozen objects point at,
	 * stored after the freeze: not a leak (gyre.h), but 0.8-3 MiB, and
	 * once more than the live estimate, kept by roots that are not the
	 * threads'. Thawed, it is all garbage. */
	if (gyre_get_freeze_count() && gyre_unfreeze() != GYRE_OK)
		fail("the final gyre_unfreeze failed");
	if (gyre_collect(2) < 0)
		fail("the final gyre_collect failed");
	stats_get(&s);
	if (gyre_thread_detach() != GYRE_OK)
		fail("gyre_thread_detach on the main thread failed");
	return s.heap_live;
}

static void print_summary(const struct tally *t, const gyre_stats *s,
			  uint64_t live_after, long rss_mb)
{
	double mib = 1024.0 * 1024.0;

	printf("stress: %llu steps, %llu verifications, %llu forced "
	       "collections, %llu blocking, %llu disabled, %llu spins, "
	       "%llu handle churns, %llu re-attaches, %llu weak-reference "
	       "operations, %llu finalizers and %llu callbacks run\n",
	       (unsigned long long)t->steps, (unsigned long long)t->verifications,
	       (unsigned long long)t->forced, (unsigned long long)t->blocking,
	       (unsigned long long)t->disabled, (unsigned long long)t->spins,
	       (unsigned long long)t->churns,
	       (unsigned long long)t->reattaches, (unsigned long long)t->weak_ops,
	       (unsigned long long)weakrefs_finalized(),
	       (unsigned long long)weakrefs_callbacks());
	printf("stress: mutated heap: %llu bursts of %llu stores (%llu moves), "
	       "%llu big arrays made, %llu list appends, %llu trims; %llu "
	       "checks of %llu slots and %llu nodes\n",
	       (unsigned long long)t->mut.bursts,
	       (unsigned long long)t->mut.stores,
	       (unsigned long long)t->mut.moves,
	       (unsigned long long)t->mut.arrays_made,
	       (unsigned long long)t->mut.appends,
	       (unsigned long long)t->mut.trims,
	       (unsigned long long)t->mut.verifications,
	       (unsigned long long)t->mut.slots_checked,
	       (unsigned long long)t->mut.nodes_checked);
	printf("stress: gyre: %llu collections, %.1f MiB allocated (%llu "
	       "objects), %.1f MiB freed, pauses max %.2f ms, mean %.3f ms\n",
	       (unsigned long long)s->collections, s->bytes_allocated / mib,
	       (unsigned long long)s->objects_allocated, s->bytes_freed / mib,
	       s->pause_max_ns / 1e6,
	       s->pause_count ? s->pause_total_ns / 1e6 / s->pause_count : 0.0);
	printf("stress: test: %.1f MiB allocated (%llu objects); live "
	       "estimate %.2f MiB (%llu objects); ratio %.0fx\n",
	       t->bytes_allocated / mib, (unsigned long long)t->objects_allocated,
	       t->live_bytes_max / mib, (unsigned long long)t->live_objects_max,
	       t->live_bytes_max ? (double)s->bytes_allocated / t->live_bytes_max
				 : 0.0);
	printf("stress: peak heap_size %.1f MiB, heap_live after the final "
	       "collection %.2f MiB, peak RSS %ld MiB\n",
	       t->heap_size_max / mib, live_after / mib, rss_mb);
	for (int g = 0; g < 3; g++)
		printf("stress: gen %d: %llu collections, %llu objects "
		       "collected, %llu promoted, %llu pinned, pause max %.2f ms\n",
		       g, (unsigned long long)s->gen[g].collections,
		       (unsigned long long)s->gen[g].objects_collected,
		       (unsigned long long)s->gen[g].objects_promoted,
		       (unsigned long long)s->gen[g].objects_pinned,
		       s->gen[g].pause_max_ns / 1e6);
}

/* The end-of-run checks; returns the number that failed. */
static int check_totals(const struct options *o, const struct tally *t,
			const gyre_stats *s, uint64_t live_after, long rss_mb)
{
	int failed = 0;

#define CHECK(cond, ...) \
	do { \
		if (!(cond)) { \
			fprintf(stderr, "stress: FAIL (seed=%llu): ", \
				(unsigned long long)o->seed); \
			fprintf(stderr, __VA_ARGS__); \
			fputc('\n', stderr); \
			failed++; \
		} \
	} while (0)
	CHECK(s->bytes_allocated >= t->bytes_allocated,
	      "gyre counted fewer bytes allocated than the test made");
	CHECK(s->objects_allocated >= t->objects_allocated,
	      "gyre counted fewer objects allocated than the test made");
	CHECK(s->bytes_freed <= s->bytes_allocated &&
	      s->objects_freed <= s->objects_allocated,
	      "gyre freed more than was allocated");
	CHECK(s->collections >= t->forced + 1,
	      "fewer collections than were forced");
	/* The run must have exercised the generational paths: objects
	 * moved out of the nursery and generation 1, and some stayed pinned
	 * (stack roots hold young graphs). On a starved machine with the
	 * verifier on, a run may see only a few collections, all of
	 * generation 2 (whose minor collection promotes into generation 2):
	 * then only the forced collections, if there were enough, must have
	 * taken each generation. */
	CHECK(t->forced < 3 || (s->gen[0].collections > 0 &&
				s->gen[1].collections > 0 &&
				s->gen[2].collections > 0),
	      "a generation was never collected");
	CHECK(s->gen[0].collections + s->gen[1].collections == 0 ||
	      s->gen[0].objects_promoted + s->gen[1].objects_promoted > 0,
	      "minor collections ran and promoted nothing");
	CHECK(s->gen[0].objects_pinned + s->gen[1].objects_pinned +
	      s->gen[2].objects_pinned > 0, "no collection pinned anything");
	CHECK(t->weak_ops < 1000 || weakrefs_finalized() > 0,
	      "%llu weak-reference operations, and no finalizer ran",
	      (unsigned long long)t->weak_ops);
	CHECK(live_after < t->live_bytes_max / 10,
	      "a collection with no roots left %llu bytes live (the test "
	      "held at most %llu)", (unsigned long long)live_after,
	      (unsigned long long)t->live_bytes_max);
	CHECK(!o->check_ratio ||
	      s->bytes_allocated >= MIN_RATIO * t->live_bytes_max,
	      "allocated only %.1fx the live estimate (want %dx)",
	      (double)s->bytes_allocated / t->live_bytes_max, MIN_RATIO);
	CHECK(!o->max_rss_mb || rss_mb <= o->max_rss_mb,
	      "peak RSS %ld MiB is above the bound of %ld MiB", rss_mb,
	      o->max_rss_mb);
#undef CHECK
	return failed;
}

static long peak_rss_mb(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss / 1024;
}

int main(int argc, char **argv)
{
	static struct worker workers[MAX_THREADS];
	struct options o;
	struct tally t;
	gyre_stats s;
	uint64_t live_after;
	long rss;
	int failed;

	parse_args(argc, argv, &o);
	printf("seed=%llu\n", (unsigned long long)o.seed);
	printf("stress: %d threads, %.1f s, about %zu live objects per thread\n",
	       o.threads, o.seconds, o.live);
	fflush(stdout);
	report_set_seed(o.seed);
	if (gyre_init(NULL) != GYRE_OK)
		fail("gyre_init failed");
	graph_types_register();
	weakrefs_register();
	mutated_register();
	run_workers(&o, workers);
	sum_tallies(workers, o.threads, &t);
	live_after = collect_everything();
	stats_get(&s);
	rss = peak_rss_mb();
	print_summary(&t, &s, live_after, rss);
	failed = check_totals(&o, &t, &s, live_after, rss);
	if (gyre_shutdown() != GYRE_OK)
		fail("gyre_shutdown failed");
	printf("stress: %s\n", failed ? "FAIL" : "PASS");
	return failed ? 1 : 0;
}
