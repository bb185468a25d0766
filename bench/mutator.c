/*
 * mutator.c: a program that keeps storing new objects into old ones, as an
 * interpreter, a language runtime or a cache does all day. Each of T
 * threads owns a random object graph (about --live-mb MiB live) and runs
 * operations on it, most of which store fresh objects into objects
 * allocated long ago:
 *
 * - scattered stores: walk 1-8 random edges from a random root, then store
 *   a fresh object or small subtree (1-15 objects) into a random field of
 *   the object reached (the stores land on many cards);
 * - bursts: 1-32 fresh objects into random slots of one of a few
 *   long-lived arrays of 64 to 8,192 slots;
 * - fresh pointer arrays of 8 to 32,768 slots, filled with fresh objects,
 *   kept at a root or dropped;
 * - list appends: lists of up to 80,000 nodes built at the tail, so that
 *   every link is a store from an old node into a young one;
 * - edges moved between objects (sharing and cycles);
 * - subtrees replaced at the roots, and now and then a large (64 KiB to
 *   1 MiB) payload;
 * - every second (or 8 times --live-mb of allocation), a walk over
 *   everything the thread can reach that checks every object (long loops
 *   without allocation, polling a safepoint).
 *
 * Every operation also allocates a buffer and four small objects that die
 * at once, as a request's temporaries. An object has 0 to 8 pointer
 * fields and a pointer-free payload of 16 B to 4 KiB (mostly small). Live size is steered towards --live-mb by the
 * check walk: over it, more stores store NULL. It reports operations per
 * second, the share of wall time in pauses and the minor pauses of the
 * timed phase (for gyre, what they spent their time on), after a build
 * phase that allocates the whole graph at once.
 *
 * Only the collectors run it (gyre and Boehm GC): the program drops
 * objects without knowing whether anything else still points at them.
 *
 * Usage: mutator [--threads N] [--live-mb N] [--seconds S] [--seed N]
 *                [--json]
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

#if !defined(MM_GYRE) && !defined(MM_BOEHM)
#error "mutator drops objects without freeing them: a collector only"
#endif

enum {
	MAX_FIELDS = 8,
	ROOTS = 4096,              /* root slots per thread, at most */
	ROOT_SHARE = 16 << 10,     /* bytes of the target per root slot */
	ARRAYS = 16,               /* long-lived arrays: root slots 0.. */
	LISTS = 4,                 /* lists: root slots ARRAYS.. */
	FIRST_TREE = ARRAYS + LISTS,
	MAX_THREADS = 16,
	DEFAULT_THREADS = 1,
	DEFAULT_LIVE_MB = 64,
	DEFAULT_SECONDS = 10,
	MAX_SECONDS = 3600,
	SAFEPOINT_EVERY = 1024,    /* objects a check walk visits between polls */
	STACK_SLOTS = 65536,       /* the check walk's first stack */
	TEMPORARIES = 4,           /* short-lived objects per operation */
};

/* K_LIST: a list's header (op_append), an object with two fields that no
 * other operation stores into. */
enum kind { K_OBJ = 1, K_VEC = 2, K_LIST = 3 };

/* A graph object. `payload` and f[] are its pointer fields: payload holds
 * pointer-free bytes (K_OBJ, len bytes) or a pointer array (K_VEC, len
 * slots, each NULL or an object). `sum` checks the words before it. */
struct obj {
	uint64_t id;               /* thread << 48 | serial */
	uint32_t epoch;            /* the last check walk that visited it */
	uint8_t kind;
	uint8_t nptr;              /* fields in f[] */
	uint16_t unused;
	uint32_t len;
	uint32_t sum;
	void *payload;
	struct obj *f[];
};

struct options {
	int threads;
	long live_mb;
	double seconds;
	unsigned long long seed;
	bool json;
};

struct worker {
	pthread_t thread;
	int index;
	uint64_t rng;
	uint64_t serial;
	uint64_t allocated;        /* bytes of objects and payloads built */
	/* The root array (nroots slots: one per ROOT_SHARE bytes of the
	 * target, so that a small graph is not mostly the trees hung from
	 * them, FIRST_TREE + 64 at least). A registered root area: this struct
	 * lives in static memory, which gyre does not otherwise scan. */
	void **roots;
	uint32_t nroots;
	uint32_t epoch;
	uint32_t list_len[LISTS], list_max[LISTS];
	double prune;              /* chance that a store stores NULL */
	uint64_t target_bytes;
	uint64_t live_bytes;       /* found by the last check walk */
	uint64_t checks;
	uint64_t ops;
	uint64_t corrupt;
	double build_s;
};

static struct {
	mm_type types[MAX_FIELDS + 1]; /* an object with n fields */
	pthread_barrier_t start_line;
	const struct options *opt;
} shared;

/* ------------------------------------------------------------- random */

/* Log-uniform in [lo, lo << octaves). */
static uint32_t rng_log(uint64_t *s, uint32_t lo, uint32_t octaves)
{
	uint32_t base = lo << rng_below(s, octaves);

	return base + rng_below(s, base);
}

static uint32_t mix32(uint64_t a, uint64_t b)
{
	uint64_t h = (a ^ (b * 0x9e3779b97f4a7c15u)) * 0xff51afd7ed558ccdu;

	return (uint32_t)(h ^ (h >> 32));
}

/* ------------------------------------------------------------- objects */

static uint32_t obj_sum(const struct obj *o)
{
	return mix32(o->id, (uint64_t)o->kind << 48 | (uint64_t)o->nptr << 32 |
	                    o->len);
}

/* The payload's first and last words name the object. */
static void payload_sign(uint8_t *p, uint32_t len, uint64_t id)
{
	uint64_t head = id ^ 0x5bd1e9955bd1e995u, tail = ~id;

	memcpy(p, &head, 8);
	memcpy(p + len - 8, &tail, 8);
}

static bool payload_intact(const uint8_t *p, uint32_t len, uint64_t id)
{
	uint64_t head, tail;

	memcpy(&head, p, 8);
	memcpy(&tail, p + len - 8, 8);
	return head == (id ^ 0x5bd1e9955bd1e995u) && tail == ~id;
}

static void obj_set(struct obj *o, uint32_t i, struct obj *v)
{
	MM_STORE(o, f[i], v);
}

/* An object with `nptr` fields and a payload of `len` bytes (>= 16). */
static struct obj *obj_new(struct worker *w, uint32_t nptr, uint32_t len)
{
	struct obj *o = mm_alloc(shared.types[nptr]);
	uint8_t *p;

	o->id = (uint64_t)w->index << 48 | ++w->serial;
	o->kind = K_OBJ;
	o->nptr = (uint8_t)nptr;
	o->len = len;
	o->sum = obj_sum(o);
	w->allocated += sizeof(*o) + nptr * sizeof(void *) + len;
	p = mm_alloc_bytes(len);
	payload_sign(p, len, o->id);
	MM_STORE(o, payload, p);
	return o;
}

/* 16 B to 4 KiB, mostly small: the octave is the lower of two draws. */
static uint32_t payload_len(uint64_t *s)
{
	uint32_t a = rng_below(s, 8), b = rng_below(s, 8);

	return rng_log(s, 16, 1) << (a < b ? a : b);
}

static struct obj *small_new(struct worker *w)
{
	return obj_new(w, rng_below(&w->rng, 3), 16 + rng_below(&w->rng, 48));
}

/* A pointer array of `slots`, wrapped in an object. */
static struct obj *vec_new(struct worker *w, uint32_t slots)
{
	struct obj *o = mm_alloc(shared.types[0]);

	o->id = (uint64_t)w->index << 48 | ++w->serial;
	o->kind = K_VEC;
	o->len = slots;
	o->sum = obj_sum(o);
	MM_STORE(o, payload, mm_alloc_ptrs(slots));
	return o;
}

/* A random tree of `n` objects. */
static struct obj *tree_new(struct worker *w, uint32_t n)
{
	uint32_t nptr = n > 1 ? 1 + rng_below(&w->rng, MAX_FIELDS)
	                      : rng_below(&w->rng, MAX_FIELDS + 1);
	struct obj *o = obj_new(w, nptr, payload_len(&w->rng));
	uint32_t left = n - 1;

	for (uint32_t i = 0; i < nptr && left; i++) {
		uint32_t k = i + 1 == nptr ? left : rng_below(&w->rng, left + 1);

		if (k) {
			struct obj *c = tree_new(w, k);

			obj_set(o, i, c);
		}
		left -= k;
	}
	return o;
}

/* A fresh subtree of 1-15 objects, mostly a few. */
static struct obj *fresh(struct worker *w)
{
	return tree_new(w, rng_log(&w->rng, 1, 4));
}

/* ----------------------------------------------------------- the graph */

static struct obj *root_get(struct worker *w, uint32_t k)
{
	return w->roots[k];
}

static void root_set(struct worker *w, uint32_t k, struct obj *v)
{
	MM_STORE_AT(w->roots, k, v);
}

/* A random child of `o`, or NULL. */
static struct obj *child(struct worker *w, struct obj *o)
{
	if (o->kind == K_VEC)
		return ((struct obj **)o->payload)[rng_below(&w->rng, o->len)];
	return o->nptr ? o->f[rng_below(&w->rng, o->nptr)] : NULL;
}

/* The object `steps` random edges from a random tree root (NULL if there
 * is none there); stops early at a leaf. */
static struct obj *walk(struct worker *w, uint32_t steps)
{
	struct obj *o = root_get(w, rng_below(&w->rng, w->nroots));

	for (uint32_t k = 0; o && k < steps; k++) {
		struct obj *c = child(w, o);

		if (!c)
			break;
		o = c;
	}
	return o;
}

/* Stores v into a random field or slot of o; false if o has none, or is
 * a list's header: its tail must stay the list's last node, which
 * op_append stores into (a walk from an empty list stops at its header;
 * a store of an object without fields as its tail made the next append
 * write past that object, over its neighbour's header). */
static bool store_into(struct worker *w, struct obj *o, struct obj *v)
{
	if (o->kind == K_LIST)
		return false;
	if (o->kind == K_VEC) {
		MM_STORE_AT((void **)o->payload, rng_below(&w->rng, o->len), v);
		return true;
	}
	if (!o->nptr)
		return false;
	obj_set(o, rng_below(&w->rng, o->nptr), v);
	return true;
}

static bool prune(struct worker *w)
{
	return (double)rng_below(&w->rng, 1u << 20) < w->prune * (1u << 20);
}

static void op_scattered_store(struct worker *w)
{
	struct obj *o = walk(w, 1 + rng_below(&w->rng, 8));

	if (o)
		store_into(w, o, prune(w) ? NULL : fresh(w));
}

static void op_burst(struct worker *w)
{
	struct obj *a = root_get(w, rng_below(&w->rng, ARRAYS));
	uint32_t n = 1 + rng_below(&w->rng, 32);

	for (uint32_t k = 0; k < n; k++)
		store_into(w, a, prune(w) ? NULL : small_new(w));
}

/* At most this many objects in one list or fresh array: a small graph
 * (--live-mb) has short lists and arrays, so that one is never most of it. */
static uint32_t cap_objects(const struct worker *w, uint32_t n)
{
	uint64_t cap = w->target_bytes / 512;

	return n < cap ? n : (uint32_t)(cap > 8 ? cap : 8);
}

static void op_fresh_array(struct worker *w)
{
	struct obj *v = vec_new(w, cap_objects(w, rng_log(&w->rng, 8, 12)));

	for (uint32_t k = 0; k < v->len; k++)
		MM_STORE_AT((void **)v->payload, k, small_new(w));
	/* Kept at a root, or dropped at once (a request's scratch table). */
	if (!prune(w))
		root_set(w, FIRST_TREE + rng_below(&w->rng, w->nroots - FIRST_TREE), v);
}

/* A list is a header (f[0] its head, f[1] its tail) and nodes linked by
 * f[0]; the worker counts its appends, and replaces it (dropping the
 * whole list) once it has reached its length. */
static struct obj *list_new(struct worker *w, uint32_t k)
{
	struct obj *h;

	w->list_len[k] = 0;
	w->list_max[k] = cap_objects(w, rng_log(&w->rng, 10, 13));
	h = obj_new(w, 2, 16);
	h->kind = K_LIST;
	h->sum = obj_sum(h);
	return h;
}

static void op_append(struct worker *w)
{
	uint32_t k = rng_below(&w->rng, LISTS);
	struct obj *h = root_get(w, ARRAYS + k);
	struct obj *n = obj_new(w, 1, 16 + rng_below(&w->rng, 48));
	struct obj *tail = h->f[1];

	/* Only a node has the link an append stores into (store_into leaves
	 * headers alone): through anything else it would store past the end. */
	if (tail && (tail->kind != K_OBJ || tail->nptr != 1))
		mm_die("op_append", "a list's tail is not one of its nodes");
	obj_set(tail ? tail : h, 0, n);
	obj_set(h, 1, n);
	if (++w->list_len[k] == w->list_max[k])
		root_set(w, ARRAYS + k, list_new(w, k));
}

static void op_move_edge(struct worker *w)
{
	struct obj *a = walk(w, 1 + rng_below(&w->rng, 8));
	struct obj *b = walk(w, 1 + rng_below(&w->rng, 8));

	if (a && b)
		store_into(w, a, child(w, b));
}

static void op_replace_tree(struct worker *w)
{
	uint32_t k = FIRST_TREE + rng_below(&w->rng, w->nroots - FIRST_TREE);

	root_set(w, k, prune(w) ? NULL : tree_new(w, rng_log(&w->rng, 1, 7)));
}

static void op_large(struct worker *w)
{
	struct obj *o = walk(w, 1 + rng_below(&w->rng, 8));

	if (o)
		store_into(w, o, obj_new(w, 0, rng_log(&w->rng, 64 << 10, 4)));
}

/* Short-lived temporaries, as every request has: a buffer and
 * TEMPORARIES small objects, dropped at once. */
static uint64_t temporaries(struct worker *w)
{
	uint8_t *a = mm_alloc_bytes(32 + rng_below(&w->rng, 96));
	uint64_t h = 0;

	a[0] = (uint8_t)w->serial;
	for (int k = 0; k < TEMPORARIES; k++)
		h += small_new(w)->id;
	return a[0] + h;
}

static uint64_t operation(struct worker *w)
{
	uint32_t r = rng_below(&w->rng, 1000);

	if (r < 400)
		op_scattered_store(w);
	else if (r < 550)
		op_burst(w);
	else if (r < 560) {
		/* One in a thousand operations: 4,000 objects on average. */
		if (rng_below(&w->rng, 10) == 0)
			op_fresh_array(w);
	} else if (r < 680)
		op_append(w);
	else if (r < 880)
		op_move_edge(w);
	else if (r < 998)
		op_replace_tree(w);
	else if (rng_below(&w->rng, 4) == 0)
		op_large(w);
	return temporaries(w);
}

/* ---------------------------------------------------------- the check */

/* The check walk's stack: a pointer array in the heap, so that the
 * objects on it are seen (and moved) by a collection that runs at one of
 * the walk's safepoints. */
struct stack {
	void **items;
	uint32_t n, cap;
};

static void stack_push(struct stack *s, struct obj *o)
{
	if (s->n == s->cap) {
		void **bigger = mm_alloc_ptrs((size_t)s->cap * 2);

		for (uint32_t k = 0; k < s->n; k++)
			MM_STORE_AT(bigger, k, s->items[k]);
		s->items = bigger;
		s->cap *= 2;
	}
	MM_STORE_AT(s->items, s->n, o);
	s->n++;
}

static struct obj *stack_pop(struct stack *s)
{
	return s->items[--s->n];
}

static bool obj_intact(const struct obj *o, int thread)
{
	if ((int)(o->id >> 48) != thread || o->sum != obj_sum(o))
		return false;
	if (o->kind == K_VEC)
		return o->nptr == 0 && o->payload != NULL;
	return (o->kind == K_OBJ || (o->kind == K_LIST && o->nptr == 2)) &&
	       o->nptr <= MAX_FIELDS && o->len >= 16 &&
	       o->payload && payload_intact(o->payload, o->len, o->id);
}

static void visit(struct worker *w, struct stack *s, struct obj *o)
{
	if (o && o->epoch != w->epoch) {
		o->epoch = w->epoch;
		stack_push(s, o);
	}
}

/* Walks everything the thread reaches, checks every object, counts the
 * live bytes and steers `prune` towards the target. */
static void check(struct worker *w)
{
	struct stack s = { mm_alloc_ptrs(STACK_SLOTS), 0, STACK_SLOTS };
	uint64_t bytes = 0, objects = 0;

	w->epoch++;
	for (uint32_t k = 0; k < w->nroots; k++)
		visit(w, &s, root_get(w, k));
	while (s.n) {
		struct obj *o = stack_pop(&s);

		if (++objects % SAFEPOINT_EVERY == 0)
			mm_safepoint();
		if (!obj_intact(o, w->index)) {
			w->corrupt++;
			continue;
		}
		bytes += sizeof(*o) + o->nptr * sizeof(void *);
		if (o->kind == K_VEC) {
			bytes += (uint64_t)o->len * sizeof(void *);
			for (uint32_t k = 0; k < o->len; k++)
				visit(w, &s, ((struct obj **)o->payload)[k]);
		} else {
			bytes += o->len;
			for (uint32_t k = 0; k < o->nptr; k++)
				visit(w, &s, o->f[k]);
		}
	}
	w->live_bytes = bytes;
	w->checks++;
	/* Stores store NULL half the time at the target, more above it. */
	w->prune = 0.5 + 2 * ((double)bytes / (double)w->target_bytes - 1);
	w->prune = w->prune < 0 ? 0 : w->prune > 0.95 ? 0.95 : w->prune;
}

/* ---------------------------------------------------------- the thread */

/* Fills the roots: the long-lived arrays, the lists, then trees until the
 * thread holds about its target. */
static void build(struct worker *w)
{
	uint64_t bytes = 0, share = w->target_bytes / ROOT_SHARE;

	w->nroots = share > ROOTS ? ROOTS : share < FIRST_TREE + 64 ? FIRST_TREE + 64
	                                                          : (uint32_t)share;
	w->roots = mm_alloc_ptrs(w->nroots);
	for (uint32_t k = 0; k < ARRAYS; k++) {
		struct obj *a = vec_new(w, cap_objects(w, rng_log(&w->rng, 64, 7)));

		root_set(w, k, a);
		bytes += (uint64_t)a->len * sizeof(void *);
	}
	for (uint32_t k = 0; k < LISTS; k++)
		root_set(w, ARRAYS + k, list_new(w, k));
	bytes += w->allocated;
	for (uint32_t k = FIRST_TREE; bytes < w->target_bytes; k++) {
		uint64_t before = w->allocated;

		if (k == w->nroots)
			k = FIRST_TREE;
		root_set(w, k, tree_new(w, rng_log(&w->rng, 16, 6)));
		bytes += w->allocated - before;
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	uint64_t t0, deadline, next_check, checked_at, sink = 0;

	mm_thread_attach();
	t0 = now_ns();
	build(w);
	check(w);
	w->build_s = (double)(now_ns() - t0) / 1e9;
	MM_BLOCKING_BEGIN();
	pthread_barrier_wait(&shared.start_line);
	MM_BLOCKING_END();
	t0 = now_ns();
	deadline = t0 + (uint64_t)(shared.opt->seconds * 1e9);
	next_check = t0 + 1000000000u;
	checked_at = w->allocated;
	for (;;) {
		for (int k = 0; k < 64; k++)
			sink += operation(w);
		w->ops += 64;
		uint64_t t = now_ns();
		if (t >= deadline)
			break;
		/* Every second, or sooner once the thread has allocated 8
		 * times its target: a small graph would otherwise grow far
		 * past it before it is measured. */
		if (t >= next_check || w->allocated - checked_at > 8 * w->target_bytes) {
			check(w);
			next_check = now_ns() + 1000000000u;
			checked_at = w->allocated;
		}
	}
	check(w);
	w->roots = NULL;
	mm_thread_detach();
	return (void *)(uintptr_t)(sink & 1);
}

/* ------------------------------------------------------------- report */

struct result {
	double build_s;            /* the slowest thread's build */
	double wall_s;
	uint64_t ops, corrupt, live_bytes, checks;
	struct mm_pauses built, end;
};

/* What the timed phase's minor pauses spent their time on (gyre only):
 * their total, stopping, roots, copying and releasing, in ms. */
enum { PH_TOTAL, PH_STOP, PH_ROOTS, PH_COPY, PH_RELEASE, PHASES };

static void minor_phases_ms(const struct result *r, double ms[PHASES])
{
	const struct mm_pauses *a = &r->built, *b = &r->end;

	ms[PH_TOTAL] = (double)(b->minor_total_ns - a->minor_total_ns) / 1e6;
	ms[PH_STOP] = (double)(b->minor_stop_ns - a->minor_stop_ns) / 1e6;
	ms[PH_ROOTS] = (double)(b->minor_roots_ns - a->minor_roots_ns) / 1e6;
	ms[PH_COPY] = (double)(b->minor_copy_ns - a->minor_copy_ns) / 1e6;
	ms[PH_RELEASE] = (double)(b->minor_release_ns - a->minor_release_ns) / 1e6;
}

static void print_minor_phases_json(const struct result *r)
{
	double ms[PHASES];

	if (!r->end.minor_known) {
		printf(",\"run_minor_ms\":null");
		return;
	}
	minor_phases_ms(r, ms);
	printf(",\"run_minor_ms\":{\"total\":%.1f,\"stop\":%.1f,\"roots\":%.1f,"
	       "\"copy\":%.1f,\"release\":%.1f},\"run_minor_cards\":%llu",
	       ms[PH_TOTAL], ms[PH_STOP], ms[PH_ROOTS], ms[PH_COPY], ms[PH_RELEASE],
	       (unsigned long long)(r->end.minor_cards - r->built.minor_cards));
}

static void report(const struct options *opt, const struct result *r)
{
	double ops_s = (double)r->ops / r->wall_s;
	double pause_s = (double)(r->end.total_ns - r->built.total_ns) / 1e9;
	uint64_t h[MM_PAUSE_BUCKETS], n = 0;

	for (int b = 0; b < MM_PAUSE_BUCKETS; b++) {
		h[b] = r->end.minor_histogram[b] - r->built.minor_histogram[b];
		n += h[b];
	}
	if (opt->json) {
		printf("{\"workload\":\"mutator\",\"mm\":\"%s\",\"threads\":%d,"
		       "\"live_mb\":%ld,\"build_s\":%.3f,\"wall_s\":%.3f,"
		       "\"ops\":%llu,\"ops_per_s\":%.1f,\"run_pause_s\":%.3f,"
		       "\"run_pause_share\":%.4f,\"run_pauses\":%llu,"
		       "\"live_found_mb\":%.1f,\"checks\":%llu",
		       mm_name(), opt->threads, opt->live_mb, r->build_s,
		       r->wall_s, (unsigned long long)r->ops, ops_s, pause_s,
		       pause_s / r->wall_s,
		       (unsigned long long)(r->end.count - r->built.count),
		       (double)r->live_bytes / 1048576.0,
		       (unsigned long long)r->checks);
		print_mm_json();
		print_minor_window_json("run_", &r->built);
		print_minor_phases_json(r);
		printf("}\n");
		return;
	}
	printf("mutator %s: %d threads, %.0f MiB live: built in %.2f s; "
	       "%llu ops in %.2f s, %.0f ops/s; pauses %.1f%% of the run",
	       mm_name(), opt->threads, (double)r->live_bytes / 1048576.0,
	       r->build_s, (unsigned long long)r->ops, r->wall_s, ops_s,
	       100 * pause_s / r->wall_s);
	if (r->end.minor_known) {
		double ms[PHASES];

		minor_phases_ms(r, ms);
		printf(", minor p50 <= %llu us, p99 <= %llu us (%llu); of their "
		       "time: stop %.0f%%, roots %.0f%%, copy %.0f%%, release %.0f%%",
		       (unsigned long long)pause_quantile_us(h, 0.5),
		       (unsigned long long)pause_quantile_us(h, 0.99),
		       (unsigned long long)n, 100 * ms[PH_STOP] / ms[PH_TOTAL],
		       100 * ms[PH_ROOTS] / ms[PH_TOTAL], 100 * ms[PH_COPY] / ms[PH_TOTAL],
		       100 * ms[PH_RELEASE] / ms[PH_TOTAL]);
	}
	printf("\n  ");
	print_mm_text();
}

static void usage(void)
{
	fprintf(stderr,
	        "usage: mutator [--threads N] [--live-mb N] [--seconds S] [--seed N]\n"
	        "               [--json]\n"
	        "  --threads N   mutating threads, 1..%d (default %d)\n"
	        "  --live-mb N   live graph per thread in MiB, about (default %d)\n"
	        "  --seconds S   timed phase, up to %d (default %d)\n"
	        "  --seed N      random seed (default 1)\n"
	        "  --json        print one JSON object\n",
	        MAX_THREADS, DEFAULT_THREADS, DEFAULT_LIVE_MB, MAX_SECONDS,
	        DEFAULT_SECONDS);
	exit(2);
}

static struct options parse_args(int argc, char **argv)
{
	struct options opt = { .threads = DEFAULT_THREADS,
	                       .live_mb = DEFAULT_LIVE_MB,
	                       .seconds = DEFAULT_SECONDS, .seed = 1 };
	long v;

	for (int k = 1; k < argc; k++) {
		const char *a = argv[k];

		if (strcmp(a, "--threads") == 0 &&
		    long_arg(argc, argv, &k, 1, MAX_THREADS, &v))
			opt.threads = (int)v;
		else if (strcmp(a, "--live-mb") == 0 &&
		         long_arg(argc, argv, &k, 1, 1L << 16, &v))
			opt.live_mb = v;
		else if (strcmp(a, "--seconds") == 0 &&
		         double_arg(argc, argv, &k, 0.001, MAX_SECONDS,
		                    &opt.seconds))
			;
		else if (strcmp(a, "--seed") == 0 &&
		         long_arg(argc, argv, &k, 0, 1L << 62, &v))
			opt.seed = (unsigned long long)v;
		else if (strcmp(a, "--json") == 0)
			opt.json = true;
		else
			usage();
	}
	return opt;
}

/* ---------------------------------------------------------------- main */

static void types_init(void)
{
	size_t offs[MAX_FIELDS + 1];

	offs[0] = offsetof(struct obj, payload);
	for (int n = 0; n <= MAX_FIELDS; n++) {
		char name[16];

		if (n)
			offs[n] = offsetof(struct obj, f) + (size_t)(n - 1) * sizeof(void *);
		snprintf(name, sizeof(name), "obj%d", n);
		shared.types[n] = mm_type_register(name, sizeof(struct obj) +
		                                   (size_t)n * sizeof(void *),
		                                   offs, (size_t)n + 1);
	}
}

/* Starts the threads, which build their graphs; the timed phase starts
 * when every graph is built. Main waits in a blocking region. */
static void run(const struct options *opt, struct worker *ws, struct result *r)
{
	uint64_t seed = opt->seed * 0x9e3779b97f4a7c15u + 1;
	uint64_t t0;

	mm_check_errno(pthread_barrier_init(&shared.start_line, NULL,
	                                    (unsigned)opt->threads + 1),
	               "pthread_barrier_init");
	for (int t = 0; t < opt->threads; t++) {
		ws[t].index = t + 1;
		ws[t].rng = (seed ^ (uint64_t)(t + 1) * 0xbf58476d1ce4e5b9u) | 1;
		ws[t].target_bytes = (uint64_t)opt->live_mb << 20;
		ws[t].prune = 0.5;
		mm_root_add(&ws[t].roots, sizeof(ws[t].roots));
	}
	MM_BLOCKING_BEGIN();
	for (int t = 0; t < opt->threads; t++)
		mm_thread_create(&ws[t].thread, worker_main, &ws[t]);
	pthread_barrier_wait(&shared.start_line);
	MM_BLOCKING_END();
	mm_pauses_get(&r->built);
	MM_BLOCKING_BEGIN();
	t0 = now_ns();
	for (int t = 0; t < opt->threads; t++)
		mm_thread_join(ws[t].thread);
	r->wall_s = (double)(now_ns() - t0) / 1e9;
	MM_BLOCKING_END();
	mm_pauses_get(&r->end);
	pthread_barrier_destroy(&shared.start_line);
	for (int t = 0; t < opt->threads; t++) {
		if (ws[t].build_s > r->build_s)
			r->build_s = ws[t].build_s;
		r->ops += ws[t].ops;
		r->corrupt += ws[t].corrupt;
		r->live_bytes += ws[t].live_bytes;
		r->checks += ws[t].checks;
	}
}

int main(int argc, char **argv)
{
	struct options opt = parse_args(argc, argv);
	static struct worker ws[MAX_THREADS];
	static struct result r;

	shared.opt = &opt;
	mm_init();
	mm_thread_attach();
	types_init();
	run(&opt, ws, &r);
	report(&opt, &r);
	mm_thread_detach();
	mm_shutdown();
	if (r.corrupt) {
		fprintf(stderr, "mutator %s: %llu corrupt objects\n", mm_name(),
		        (unsigned long long)r.corrupt);
		return 1;
	}
	return 0;
}
