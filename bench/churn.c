/*
 * churn.c: a server-shaped macro workload. A large table of small object
 * graphs stays live (a session or cache store: by default about 256 MiB)
 * while T threads keep replacing random entries, each operation also
 * allocating a few temporaries that die at once (a request buffer, a small
 * scratch array). What it measures is what a server feels: operations per
 * second and the latency of each operation (p50, p99, p99.9, max), where a
 * collector's pauses show up as the tail, next to peak RSS and collections.
 *
 * A table entry is a record with a name, a body and a small array of
 * attribute buffers, all filled with random bytes and checksummed when the
 * record is built. Each replaced record is checked as it leaves the table,
 * and every record left is checked at the end; any mismatch makes the run
 * exit with status 1. Slots are guarded by striped mutexes, taken through
 * MM_MUTEX_LOCK (inside a blocking region for gyre when contended).
 *
 * With --small, an entry is instead a list of three 48-byte nodes and a
 * 64-byte payload (208 bytes), and the temporaries four 32-byte buffers:
 * a cache of small entries replaced fast (issue 16's small-entry churn).
 *
 * Built against each manager through mm.h; see README.md.
 *
 * Usage: churn [--threads N] [--table-mb N] [--seconds S | --ops N]
 *              [--small] [--seed N] [--latency-file PATH] [--json]
 *              [--regions N [--regions-off]]
 * --regions: a thread opening N no-GC regions a second (regions.h).
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
#include "regions.h"

enum {
	NAME_MIN = 16, NAME_SPAN = 32,     /* name: 16..47 bytes */
	BODY_MIN = 32, BODY_SPAN = 480,    /* body: 32..511 bytes */
	MAX_ATTRS = 6,                     /* attributes: 1..6 buffers */
	ATTR_MIN = 8, ATTR_SPAN = 56,      /* each 8..63 bytes */
	REQUEST_MIN = 64, REQUEST_SPAN = 192, /* temporary request buffer */
	SCRATCH = 2,                       /* temporary buffers in the scratch */
	SCRATCH_LEN = 32,
	/* Bytes one record takes with its buffers, on average, in the malloc
	 * variants; --table-mb divides by it to size the table. */
	RECORD_BYTES = 640,
	SMALL_NODES = 3,                   /* --small: nodes of an entry, */
	SMALL_PAYLOAD = 64,                /* its payload, */
	SMALL_BYTES = 208,                 /* and its bytes */
	SMALL_TEMPS = 4,                   /* --small: temporaries, */
	SMALL_TEMP_LEN = 32,               /* each this long */
	STRIPES = 4096,                    /* mutexes guarding the slots */
	MAX_THREADS = 64,
	DEFAULT_THREADS = 2,
	DEFAULT_TABLE_MB = 256,
	DEFAULT_SECONDS = 10,
	MAX_SECONDS = 3600,
	FILL_THREAD = MAX_THREADS,         /* serial numbers of the first fill */
};

/* A table entry. The three pointers are its pointer fields; every other
 * field is covered by checksum. */
struct record {
	uint8_t *name;
	uint8_t *body;
	void **attrs;              /* n_attrs byte buffers (uint8_t *) */
	uint64_t slot;             /* the table index it was built for */
	uint64_t serial;           /* builder thread << 48 | its count */
	uint64_t checksum;         /* of everything below and the buffers */
	uint32_t name_len;
	uint32_t body_len;
	uint32_t n_attrs;
	uint16_t attr_len[MAX_ATTRS];
};

/* --small: a node of an entry's list, 48 bytes. The first carries the
 * entry's identity; the last points at the payload. The two pointers are
 * its pointer fields; the rest is covered by the first node's checksum. */
struct snode {
	struct snode *next;
	uint8_t *payload;
	uint64_t slot;
	uint64_t serial;
	uint64_t checksum;         /* first node: of the list and the payload */
	uint64_t tag;              /* random, per node */
};

struct options {
	int threads;
	bool small;
	long table_mb;
	double seconds;
	long long ops;             /* total operations; 0: run for seconds */
	unsigned long long seed;
	const char *latency_file;
	bool json;
};

/* State every thread shares. Sync: set by main before the threads start,
 * then read-only; the table's slots are guarded by stripe[slot % STRIPES]. */
static struct {
	void **table;              /* n_slots records, a traced pointer array */
	uint64_t n_slots;
	mm_type record_type;
	mm_type snode_type;
	pthread_mutex_t stripe[STRIPES];
	pthread_barrier_t start_line;
	const struct options *opt;
} shared;

struct worker {
	pthread_t thread;
	int index;
	uint64_t rng;
	uint64_t ops;              /* operations done */
	uint64_t ops_target;       /* with --ops: operations to do */
	uint64_t built;            /* records this thread has built */
	uint64_t corrupt;          /* replaced records that failed their check */
	uint64_t sink;             /* what the temporaries hashed to */
	struct latency lat;
};

/* ------------------------------------------------------ random, checksum */

static void fill_random(uint8_t *p, size_t n, uint64_t *s)
{
	size_t k = 0;

	for (; k + 8 <= n; k += 8) {
		uint64_t v = rng_next(s);
		memcpy(p + k, &v, 8);
	}
	for (uint64_t v = rng_next(s); k < n; k++, v >>= 8)
		p[k] = (uint8_t)v;
}

static uint64_t mix(uint64_t h, uint64_t v)
{
	h ^= v;
	h *= 0x9e3779b97f4a7c15u;
	return h ^ (h >> 29);
}

static uint64_t hash_bytes(uint64_t h, const uint8_t *p, size_t n)
{
	size_t k = 0;
	uint64_t tail = 0;

	for (; k + 8 <= n; k += 8) {
		uint64_t v;
		memcpy(&v, p + k, 8);
		h = mix(h, v);
	}
	for (; k < n; k++)
		tail = tail << 8 | p[k];
	return mix(h, tail ^ n);
}

static uint64_t record_sum(const struct record *r)
{
	uint64_t h = mix(mix(r->slot, r->serial), r->name_len);

	h = mix(mix(h, r->body_len), r->n_attrs);
	h = hash_bytes(h, r->name, r->name_len);
	h = hash_bytes(h, r->body, r->body_len);
	for (uint32_t a = 0; a < r->n_attrs; a++)
		h = hash_bytes(h, r->attrs[a], r->attr_len[a]);
	return h;
}

static bool record_intact(const struct record *r, uint64_t slot)
{
	return r != NULL && r->slot == slot && r->n_attrs >= 1 &&
	       r->n_attrs <= MAX_ATTRS && record_sum(r) == r->checksum;
}

/* ---------------------------------------------------------------- records */

static uint8_t *random_bytes(size_t n, uint64_t *s)
{
	uint8_t *p = mm_alloc_bytes(n);

	fill_random(p, n, s);
	return p;
}

/* A new record for `slot`, every buffer filled and the whole checksummed. */
static struct record *record_new(uint64_t slot, uint64_t serial, uint64_t *s)
{
	struct record *r = mm_alloc(shared.record_type);
	void **attrs;

	r->slot = slot;
	r->serial = serial;
	r->name_len = NAME_MIN + rng_below(s, NAME_SPAN);
	r->body_len = BODY_MIN + rng_below(s, BODY_SPAN);
	r->n_attrs = 1 + rng_below(s, MAX_ATTRS);
	MM_STORE(r, name, random_bytes(r->name_len, s));
	MM_STORE(r, body, random_bytes(r->body_len, s));
	attrs = mm_alloc_ptrs(r->n_attrs);
	MM_STORE(r, attrs, attrs);
	for (uint32_t a = 0; a < r->n_attrs; a++) {
		r->attr_len[a] = (uint16_t)(ATTR_MIN + rng_below(s, ATTR_SPAN));
		MM_STORE_AT(attrs, a, random_bytes(r->attr_len[a], s));
	}
	r->checksum = record_sum(r);
	return r;
}

/* Only the malloc variants free; for the collectors this does nothing. */
static void record_free(struct record *r)
{
	for (uint32_t a = 0; a < r->n_attrs; a++)
		mm_free(r->attrs[a]);
	mm_free(r->attrs);
	mm_free(r->body);
	mm_free(r->name);
	mm_free(r);
}

/* --small: an entry for `slot`, and its checks and freeing. */
static uint64_t small_sum(const struct snode *n)
{
	uint64_t h = mix(n->slot, n->serial);

	for (const struct snode *k = n; k; k = k->next) {
		h = mix(h, k->tag);
		if (!k->next)
			h = hash_bytes(h, k->payload, SMALL_PAYLOAD);
	}
	return h;
}

static struct snode *small_new(uint64_t slot, uint64_t serial, uint64_t *s)
{
	struct snode *next = NULL, *n = NULL;

	for (int k = 0; k < SMALL_NODES; k++) {
		n = mm_alloc(shared.snode_type);
		n->tag = rng_next(s);
		MM_STORE(n, next, next);
		if (!next)
			MM_STORE(n, payload, random_bytes(SMALL_PAYLOAD, s));
		next = n;
	}
	n->slot = slot;
	n->serial = serial;
	n->checksum = small_sum(n);
	return n;
}

static bool small_intact(const struct snode *n, uint64_t slot)
{
	int len = 0;

	for (const struct snode *k = n; k && len <= SMALL_NODES; k = k->next)
		len++;
	return n != NULL && len == SMALL_NODES && n->slot == slot &&
	       small_sum(n) == n->checksum;
}

static void small_free(struct snode *n)
{
	while (n) {
		struct snode *next = n->next;

		if (!next)
			mm_free(n->payload);
		mm_free(n);
		n = next;
	}
}

/* An entry of the shape the run uses. */
static void *entry_new(uint64_t slot, uint64_t serial, uint64_t *s)
{
	return shared.opt->small ? (void *)small_new(slot, serial, s)
	                         : (void *)record_new(slot, serial, s);
}

static bool entry_intact(const void *e, uint64_t slot)
{
	return shared.opt->small ? small_intact(e, slot) : record_intact(e, slot);
}

static void entry_free(void *e)
{
	if (shared.opt->small)
		small_free(e);
	else
		record_free(e);
}

/* --------------------------------------------------------------- workers */

/* The temporaries of one operation: a request buffer and a scratch array
 * of two small buffers (--small: four 32-byte buffers), read once and
 * dropped. Returns a value derived
 * from them, so that building them is not optimised away. */
static uint64_t temporaries(uint64_t *s)
{
	if (shared.opt->small) {
		uint64_t h = 0;

		for (int k = 0; k < SMALL_TEMPS; k++) {
			uint8_t *t = random_bytes(SMALL_TEMP_LEN, s);

			h = hash_bytes(h, t, SMALL_TEMP_LEN);
			mm_free(t);
		}
		return h;
	}
	size_t n = REQUEST_MIN + rng_below(s, REQUEST_SPAN);
	uint8_t *request = random_bytes(n, s);
	void **scratch = mm_alloc_ptrs(SCRATCH);
	uint64_t h = hash_bytes(0, request, n);

	for (int k = 0; k < SCRATCH; k++) {
		MM_STORE_AT(scratch, k, random_bytes(SCRATCH_LEN, s));
		h = hash_bytes(h, scratch[k], SCRATCH_LEN);
	}
	for (int k = 0; k < SCRATCH; k++)
		mm_free(scratch[k]);
	mm_free(scratch);
	mm_free(request);
	return h;
}

/* One operation: build an entry for a random slot, swap it in under the
 * slot's stripe lock, then check and drop the one it replaced. */
static void operation(struct worker *w)
{
	uint64_t slot = rng_next(&w->rng) % shared.n_slots;
	uint64_t serial = (uint64_t)w->index << 48 | w->built++;
	pthread_mutex_t *m = &shared.stripe[slot % STRIPES];
	void *fresh, *old;

	w->sink ^= temporaries(&w->rng);
	fresh = entry_new(slot, serial, &w->rng);
	MM_MUTEX_LOCK(m);
	old = shared.table[slot];
	MM_STORE_AT(shared.table, slot, fresh);
	MM_MUTEX_UNLOCK(m);
	if (!entry_intact(old, slot)) {
		w->corrupt++;
		return;
	}
	entry_free(old);
}

static bool worker_done(const struct worker *w, uint64_t now,
                        uint64_t deadline)
{
	return shared.opt->ops ? w->ops >= w->ops_target : now >= deadline;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	uint64_t deadline, t0;

	mm_thread_attach();
	MM_BLOCKING_BEGIN();
	pthread_barrier_wait(&shared.start_line);
	MM_BLOCKING_END();
	t0 = now_ns();
	deadline = t0 + (uint64_t)(shared.opt->seconds * 1e9);
	while (!worker_done(w, t0, deadline)) {
		uint64_t t1;

		operation(w);
		t1 = now_ns();
		latency_add(&w->lat, t1 - t0);
		w->ops++;
		t0 = t1;
	}
	mm_thread_detach();
	return NULL;
}

/* ----------------------------------------------------------------- phases */

/* Fills every slot, on the main thread, before the timed phase. */
static void table_fill(uint64_t *s)
{
	for (uint64_t k = 0; k < shared.n_slots; k++)
		MM_STORE_AT(shared.table, k,
		            entry_new(k, (uint64_t)FILL_THREAD << 48 | k, s));
}

/* The number of slots whose record fails its check. A safepoint every
 * 4 Ki slots: a check of 256 MiB without one held a collection's stop
 * for 371 ms (the trace's "slow stop"), and every 64 Ki for 31 ms. */
static uint64_t table_check(void)
{
	uint64_t bad = 0;

	for (uint64_t k = 0; k < shared.n_slots; k++) {
		if ((k & 0xfff) == 0)
			mm_safepoint();
		bad += !entry_intact(shared.table[k], k);
	}
	return bad;
}

/* Starts the workers, releases them together and waits for them; returns
 * the seconds from the release to the last join. Main waits in a blocking
 * region: it holds the table (a root there) but does not touch the heap. */
static double run_workers(struct worker *ws, int n)
{
	uint64_t t0, t1;

	mm_check_errno(pthread_barrier_init(&shared.start_line, NULL,
	                                    (unsigned)n + 1),
	               "pthread_barrier_init");
	MM_BLOCKING_BEGIN();
	for (int t = 0; t < n; t++)
		mm_thread_create(&ws[t].thread, worker_main, &ws[t]);
	pthread_barrier_wait(&shared.start_line);
	t0 = now_ns();
	for (int t = 0; t < n; t++)
		mm_thread_join(ws[t].thread);
	t1 = now_ns();
	MM_BLOCKING_END();
	pthread_barrier_destroy(&shared.start_line);
	return (double)(t1 - t0) / 1e9;
}

static void workers_init(struct worker *ws, const struct options *opt)
{
	uint64_t seed = opt->seed * 0x9e3779b97f4a7c15u + 1;

	for (int t = 0; t < opt->threads; t++) {
		memset(&ws[t], 0, sizeof(ws[t]));
		ws[t].index = t;
		ws[t].rng = mix(seed, (uint64_t)t + 1) | 1;
		ws[t].ops_target = (uint64_t)opt->ops / (uint64_t)opt->threads +
		                   ((uint64_t)t < (uint64_t)opt->ops %
		                                  (uint64_t)opt->threads);
	}
}

/* ------------------------------------------------------------- reporting */

struct result {
	double wall_s;
	uint64_t ops;
	uint64_t corrupt;          /* failed checks, during the run and at the end */
	struct latency lat;        /* every worker's, merged */
	struct mm_pauses filled;   /* the pauses up to the end of the fill */
};

static void report(const struct options *opt, const struct result *r)
{
	const struct latency *l = &r->lat;
	double ops_s = r->wall_s > 0 ? (double)r->ops / r->wall_s : 0;

	if (opt->json) {
		printf("{\"workload\":\"churn\",\"mm\":\"%s\",\"threads\":%d,"
		       "\"small\":%s,"
		       "\"table_mb\":%ld,\"slots\":%llu,\"wall_s\":%.6f,"
		       "\"ops\":%llu,\"ops_per_s\":%.1f,\"p50_us\":%.3f,"
		       "\"p99_us\":%.3f,\"p999_us\":%.3f,\"max_us\":%.3f",
		       mm_name(), opt->threads, opt->small ? "true" : "false",
		       opt->table_mb, (unsigned long long)shared.n_slots, r->wall_s,
		       (unsigned long long)r->ops, ops_s,
		       latency_quantile_us(l, 0.5), latency_quantile_us(l, 0.99),
		       latency_quantile_us(l, 0.999), (double)l->max_ns / 1e3);
		print_mm_json();
		print_minor_window_json("run_", &r->filled);
		printf("}\n");
		return;
	}
	printf("churn %s: %d threads, %llu %sslots (~%ld MiB): %llu ops in "
	       "%.3f s, %.0f ops/s\n  latency us: p50 %.2f, p99 %.2f, "
	       "p99.9 %.2f, max %.2f\n  ", mm_name(), opt->threads,
	       (unsigned long long)shared.n_slots, opt->small ? "small " : "",
	       opt->table_mb, (unsigned long long)r->ops, r->wall_s, ops_s,
	       latency_quantile_us(l, 0.5), latency_quantile_us(l, 0.99),
	       latency_quantile_us(l, 0.999), (double)l->max_ns / 1e3);
	print_mm_text();
}

static void usage(void)
{
	fprintf(stderr,
	        "usage: churn [--threads N] [--table-mb N] [--seconds S | --ops N]\n"
	        "             [--small] [--seed N] [--latency-file PATH] [--json]\n"
	        "             [--regions N [--regions-off]]\n"
	        "  --threads N        replacing threads, 1..%d (default %d)\n"
	        "  --table-mb N       live table size in MiB, about (default %d)\n"
	        "  --seconds S        timed phase, up to %d (default %d)\n"
	        "  --ops N            instead: N operations in all\n"
	        "  --small            entries of three 48-byte nodes and 64 bytes\n"
	        "  --seed N           random seed (default 1)\n"
	        "  --latency-file P   write the latency CDF (upper_us fraction)\n"
	        "  --json             print one JSON object\n"
	        "  --regions N        a thread opens N no-GC regions a second\n"
	        "  --regions-off      ... doing their work without the regions\n",
	        MAX_THREADS, DEFAULT_THREADS, DEFAULT_TABLE_MB, MAX_SECONDS,
	        DEFAULT_SECONDS);
	exit(2);
}

/* One option at argv[*k] into *opt; false if it is not one. */
static bool parse_one(int argc, char **argv, int *k, struct options *opt)
{
	const char *a = argv[*k];
	long v;

	if (strcmp(a, "--threads") == 0 &&
	    long_arg(argc, argv, k, 1, MAX_THREADS, &v))
		opt->threads = (int)v;
	else if (strcmp(a, "--table-mb") == 0 &&
	         long_arg(argc, argv, k, 1, 1L << 20, &v))
		opt->table_mb = v;
	else if (strcmp(a, "--seconds") == 0)
		return double_arg(argc, argv, k, 0.001, MAX_SECONDS,
		                  &opt->seconds);
	else if (strcmp(a, "--ops") == 0 &&
	         long_arg(argc, argv, k, 1, 1L << 40, &v))
		opt->ops = v;
	else if (strcmp(a, "--seed") == 0 &&
	         long_arg(argc, argv, k, 0, 1L << 62, &v))
		opt->seed = (unsigned long long)v;
	else if (strcmp(a, "--latency-file") == 0 && *k + 1 < argc)
		opt->latency_file = argv[++*k];
	else if (strcmp(a, "--json") == 0)
		opt->json = true;
	else if (strcmp(a, "--small") == 0)
		opt->small = true;
	else if (strcmp(a, "--regions") == 0 &&
	         long_arg(argc, argv, k, 1, 100000, &v))
		regions.per_s = v;
	else if (strcmp(a, "--regions-off") == 0)
		regions.off = true;
	else
		return false;
	return true;
}

static struct options parse_args(int argc, char **argv)
{
	struct options opt = { .threads = DEFAULT_THREADS,
	                       .table_mb = DEFAULT_TABLE_MB,
	                       .seconds = DEFAULT_SECONDS, .seed = 1 };

	for (int k = 1; k < argc; k++)
		if (!parse_one(argc, argv, &k, &opt))
			usage();
	return opt;
}

/* ------------------------------------------------------------------ main */

static void shared_init(const struct options *opt)
{
	static const size_t ptrs[] = { offsetof(struct record, name),
	                               offsetof(struct record, body),
	                               offsetof(struct record, attrs) };
	static const size_t snode_ptrs[] = { offsetof(struct snode, next),
	                                     offsetof(struct snode, payload) };

	shared.opt = opt;
	shared.record_type = mm_type_register("record", sizeof(struct record),
	                                      ptrs, 3);
	shared.snode_type = mm_type_register("snode", sizeof(struct snode),
	                                     snode_ptrs, 2);
	shared.n_slots = (uint64_t)opt->table_mb * 1024 * 1024 /
	                 (opt->small ? SMALL_BYTES : RECORD_BYTES);
	mm_root_add(&shared.table, sizeof(shared.table));
	for (int k = 0; k < STRIPES; k++)
		mm_check_errno(pthread_mutex_init(&shared.stripe[k], NULL),
		               "pthread_mutex_init");
}

/* The whole run. shared.table, which keeps the table reachable, is a root
 * (see shared_init). */
static void run(const struct options *opt, struct worker *ws,
                struct result *r)
{
	uint64_t s = opt->seed * 0x2545f4914f6cdd1du + 7;

	shared.table = mm_alloc_ptrs(shared.n_slots);
	table_fill(&s);
	mm_pauses_get(&r->filled);
	workers_init(ws, opt);
	regions_start();
	r->wall_s = run_workers(ws, opt->threads);
	regions_stop();
	for (int t = 0; t < opt->threads; t++) {
		r->ops += ws[t].ops;
		r->corrupt += ws[t].corrupt;
		latency_merge(&r->lat, &ws[t].lat);
	}
	r->corrupt += table_check();
}

int main(int argc, char **argv)
{
	struct options opt = parse_args(argc, argv);
	static struct worker ws[MAX_THREADS];
	static struct result r;
	int status = 0;

	mm_init();
	mm_thread_attach();
	shared_init(&opt);
	run(&opt, ws, &r);
	report(&opt, &r);
	if (!regions_report()) {
		fprintf(stderr, "churn %s: collections ran inside no-GC regions\n",
		        mm_name());
		status = 1;
	}
	if (r.corrupt) {
		fprintf(stderr, "churn %s: %llu corrupt records\n", mm_name(),
		        (unsigned long long)r.corrupt);
		status = 1;
	}
	if (opt.latency_file && !latency_write(&r.lat, opt.latency_file)) {
		perror(opt.latency_file);
		status = 2;
	}
	mm_thread_detach();
	mm_shutdown();
	return status;
}
