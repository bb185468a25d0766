/*
 * workload.c: gyre-workload, the project's main job until the HTTP server
 * arrives. It embeds gyre the way a multi-threaded server would: worker
 * threads attach and serve "requests" whose object graphs die young, and
 * read (80%) or replace (20%) entries of a shared, long-lived cache that is
 * reachable only from a registered global root. A few requests run with
 * automatic collection turned off, as a latency-critical section would. The
 * run is bounded in time; it then prints a report (report.c: request
 * latency from its own histograms; pauses and heap figures from
 * gyre_stats_get) and checks every cached document against the checksums
 * stored when it was built, so that a collector bug shows up as a failing
 * exit status and not only as odd numbers. It implements the "network
 * servers", "load benchmarks" and "latency-critical sections" uses of
 * DESIGN.md, "Who uses it, and for what".
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <gyre.h>

#include "report.h"
#include "workload.h"

#define WRITE_PERCENT 20       /* share of requests that replace an entry */
#define CRITICAL_ONE_IN 1000   /* share of requests run under gyre_disable */
#define KEY_MAX 24             /* "/doc/" and a 32-bit number, or a 64-bit
                                  number in hex, with NUL */
#define TEXT_MAX 64            /* longest document text, with NUL */

/* ------------------------------------------------------------ gyre objects */

/* A cached document is a small tree of nodes. It is never changed after it
 * is published in the cache, which is what lets readers walk it after
 * dropping the cache lock. */
struct node {
	char *text;    /* gyre bytes, NUL-terminated */
	void **kids;   /* GYRE_TYPE_PTR array of struct node *, or NULL */
	uint64_t sum;  /* checksum of text and of the kids' sums, set at build */
};

/* One entry of a bucket's chain in the cache. */
struct entry {
	struct entry *next;  /* Sync: cache.lock */
	char *key;           /* immutable after publication, like the rest */
	struct node *doc;
	uint64_t hash;       /* hash_str(key); picks the bucket */
};

/* A request's header list, as a parser would build it. */
struct header {
	struct header *next;
	char *name;
	char *value;
};

/* A request: dies when it has been served. */
struct request {
	char *method;              /* "GET" or "PUT" */
	char *key;                 /* the document's path; a PUT keeps it */
	struct header *headers;
	uint64_t id;
};

/* Type ids. Sync: written by main before any worker starts. */
static gyre_type node_type, entry_type, header_type, request_type;

/* ----------------------------------------------------------------- errors */

_Noreturn void die(const char *what, const char *why)
{
	fprintf(stderr, "gyre-workload: %s: %s\n", what, why);
	exit(EXIT_FAILURE);
}

/* Every gyre call goes through check or must: this program expects none of
 * them to fail, so any failure ends it. */
void check(int status, const char *what)
{
	if (status != GYRE_OK)
		die(what, gyre_strerror(status));
}

static void *must(void *obj, const char *what)
{
	if (!obj)
		die(what, gyre_strerror(gyre_last_error()));
	return obj;
}

/* For the pthread calls, which return an errno value. */
static void check_errno(int err, const char *what)
{
	if (err)
		die(what, strerror(err));
}

/* ------------------------------------------------------------- allocation */

static void *alloc_obj(gyre_type type)
{
	return must(gyre_alloc(type), "gyre_alloc");
}

static void **alloc_ptrs(size_t n)
{
	return must(gyre_alloc_array(GYRE_TYPE_PTR, n), "gyre_alloc_array");
}

/* A gyre copy of a C string. */
static char *str_new(const char *s)
{
	size_t size = strlen(s) + 1;
	return memcpy(must(gyre_alloc_bytes(size), "gyre_alloc_bytes"), s, size);
}

/* Whether `str` is a whole gyre string: its object holds exactly its text
 * and the NUL. Bounded by the object's length, so a damaged string is
 * reported instead of being read past its end. */
static bool str_intact(const char *str)
{
	size_t size = gyre_length(str);
	return size > 0 && memchr(str, '\0', size) == str + size - 1;
}

static gyre_type type_register(const char *name, size_t size,
	const size_t *ptr_offsets, size_t n_ptrs)
{
	gyre_type_desc desc = { .name = name, .size = size,
		.ptr_offsets = ptr_offsets, .n_ptrs = n_ptrs };
	gyre_type type = gyre_type_register(&desc);
	if (type == 0)
		die("gyre_type_register", gyre_strerror(gyre_last_error()));
	return type;
}

static void types_register(void)
{
	static const size_t node_ptrs[] = { offsetof(struct node, text),
		offsetof(struct node, kids) };
	static const size_t entry_ptrs[] = { offsetof(struct entry, next),
		offsetof(struct entry, key), offsetof(struct entry, doc) };
	static const size_t header_ptrs[] = { offsetof(struct header, next),
		offsetof(struct header, name), offsetof(struct header, value) };
	static const size_t request_ptrs[] = { offsetof(struct request, method),
		offsetof(struct request, key), offsetof(struct request, headers) };

	node_type = type_register("node", sizeof(struct node), node_ptrs, 2);
	entry_type = type_register("entry", sizeof(struct entry), entry_ptrs, 3);
	header_type = type_register("header", sizeof(struct header),
		header_ptrs, 3);
	request_type = type_register("request", sizeof(struct request),
		request_ptrs, 3);
}

/* ------------------------------------------------------ random and hashing */

/* splitmix64: tiny, and good enough to pick keys and shapes. */
static uint64_t rng_next(uint64_t *state)
{
	uint64_t z = (*state += UINT64_C(0x9e3779b97f4a7c15));
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

/* A number in [0, n), by multiplying rather than by `%`, which would favour
 * small numbers. */
static uint32_t rng_below(uint64_t *state, uint32_t n)
{
	return (uint32_t)(((rng_next(state) >> 32) * n) >> 32);
}

/* FNV-1a. */
static uint64_t hash_str(const char *s)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325);
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * UINT64_C(0x100000001b3);
	return h;
}

static void key_format(char key[KEY_MAX], uint32_t k)
{
	snprintf(key, KEY_MAX, "/doc/%" PRIu32, k);
}

/* -------------------------------------------------------------- documents */

static uint64_t node_sum(const struct node *n)
{
	uint64_t sum = hash_str(n->text);
	size_t nkids = n->kids ? gyre_length(n->kids) : 0;
	for (size_t i = 0; i < nkids; i++) {
		const struct node *kid = n->kids[i];
		sum = (sum ^ kid->sum) * UINT64_C(0x100000001b3);
	}
	return sum;
}

static struct node *node_new(const char *text, void **kids)
{
	struct node *n = alloc_obj(node_type);
	GYRE_STORE(n, text, str_new(text));
	GYRE_STORE(n, kids, kids);
	n->sum = node_sum(n);
	return n;
}

/* A section of a document; about half of them carry a note. */
static struct node *section_new(const char *key, size_t i, uint64_t *rng)
{
	char text[TEXT_MAX];
	void **notes = NULL;
	if (rng_below(rng, 2)) {
		notes = alloc_ptrs(1);
		snprintf(text, sizeof text, "note %08" PRIx32,
			rng_below(rng, UINT32_MAX));
		GYRE_STORE_AT(notes, 0, node_new(text, NULL));
	}
	snprintf(text, sizeof text, "%s section %zu", key, i);
	return node_new(text, notes);
}

/* The document stored under `key`: a root whose text names the key and
 * version, and one to three sections, some with a note: 5 to 15 gyre
 * objects. The checksums are computed bottom-up as it is built. */
static struct node *doc_new(const char *key, const char *version,
	uint64_t *rng)
{
	char text[TEXT_MAX];
	size_t nsections = 1 + rng_below(rng, 3);
	void **sections = alloc_ptrs(nsections);
	for (size_t i = 0; i < nsections; i++)
		GYRE_STORE_AT(sections, i, section_new(key, i, rng));
	snprintf(text, sizeof text, "%s v%s", key, version);
	return node_new(text, sections);
}

/* Whether a document tree is whole: every text intact and every stored
 * checksum equal to a fresh one. `depth` bounds the walk, so that damage
 * which made a cycle is reported instead of looping. */
static bool doc_intact(const struct node *n, int depth)
{
	if (depth > 2 || !str_intact(n->text))
		return false;
	size_t nkids = n->kids ? gyre_length(n->kids) : 0;
	for (size_t i = 0; i < nkids; i++)
		if (!n->kids[i] || !doc_intact(n->kids[i], depth + 1))
			return false;
	return n->sum == node_sum(n);
}

/* Whether `doc` is the document of `key` (its root text is "<key> v..."). */
static bool doc_is_for(const struct node *doc, const char *key)
{
	size_t len = strlen(key);
	return strncmp(doc->text, key, len) == 0 && doc->text[len] == ' ';
}

static struct entry *entry_new(char *key, struct node *doc)
{
	struct entry *e = alloc_obj(entry_type);
	GYRE_STORE(e, key, key);
	GYRE_STORE(e, doc, doc);
	e->hash = hash_str(key);
	return e;
}

/* ------------------------------------------------------------------ cache */

/* The shared cache: a chained hash table whose bucket array lives in the
 * gyre heap. The array is reachable only through cache.buckets, which is
 * registered as a root area; every entry and document hangs off it. */
static struct {
	pthread_mutex_t lock;  /* guards the bucket slots and entry.next */
	void **buckets;        /* GYRE_TYPE_PTR array of chains. Sync: set by
	                          main before the workers start, then read-only
	                          (its elements are guarded by lock) */
	size_t mask;           /* bucket count - 1; same sync as buckets */
} cache = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* Takes the cache lock without holding up a collection: while the thread
 * waits for another holder it is in a blocking region, so a collection need
 * not wait for it. Inside the region it only locks, because the heap is out
 * of bounds there; gyre_blocking_end may wait for a collection to finish,
 * which is fine since it does not need this lock. */
static void cache_lock(void)
{
	check(gyre_blocking_begin(), "gyre_blocking_begin");
	int err = pthread_mutex_lock(&cache.lock);
	check(gyre_blocking_end(), "gyre_blocking_end");
	check_errno(err, "pthread_mutex_lock");
}

static void cache_unlock(void)
{
	check_errno(pthread_mutex_unlock(&cache.lock), "pthread_mutex_unlock");
}

static void cache_init(uint32_t table)
{
	size_t nbuckets = 1;
	while (nbuckets < table)
		nbuckets *= 2;
	check(gyre_root_add(&cache.buckets, sizeof cache.buckets),
		"gyre_root_add");
	cache.buckets = alloc_ptrs(nbuckets);
	cache.mask = nbuckets - 1;
}

/* The entry with `key` in its bucket's chain, or NULL; *prev is set to the
 * entry before it (NULL if first). Caller holds cache.lock. */
static struct entry *chain_find(const char *key, uint64_t hash,
	struct entry **prev)
{
	struct entry *e = cache.buckets[hash & cache.mask];
	*prev = NULL;
	while (e && !(e->hash == hash && strcmp(e->key, key) == 0)) {
		*prev = e;
		e = e->next;
	}
	return e;
}

/* The document cached under `key`, or NULL. It stays alive after the lock
 * is dropped because the caller's local holds it, and the stack is a root. */
static struct node *cache_get(const char *key)
{
	uint64_t hash = hash_str(key);
	struct entry *prev;
	cache_lock();
	struct entry *e = chain_find(key, hash, &prev);
	struct node *doc = e ? e->doc : NULL;
	cache_unlock();
	return doc;
}

/* Publishes `e`, replacing the entry with the same key if there is one.
 * Only pointers move under the lock: `e` was built before taking it. */
static void cache_put(struct entry *e)
{
	size_t b = e->hash & cache.mask;
	struct entry *prev;
	cache_lock();
	struct entry *old = chain_find(e->key, e->hash, &prev);
	if (!old) {
		GYRE_STORE(e, next, cache.buckets[b]);
		GYRE_STORE_AT(cache.buckets, b, e);
	} else {
		GYRE_STORE(e, next, old->next);
		if (prev)
			GYRE_STORE(prev, next, e);
		else
			GYRE_STORE_AT(cache.buckets, b, e);
	}
	cache_unlock();
}

/* Fills the cache with version 0 of every key, from the main thread before
 * the workers start. */
static void cache_fill(uint32_t table, uint64_t seed)
{
	char key[KEY_MAX];
	uint64_t rng = seed;
	for (uint32_t k = 0; k < table; k++) {
		key_format(key, k);
		char *gkey = str_new(key);
		cache_put(entry_new(gkey, doc_new(gkey, "0", &rng)));
	}
}

/* ---------------------------------------------------------------- requests */

static struct header *header_new(struct header *next, const char *name,
	const char *value)
{
	struct header *h = alloc_obj(header_type);
	GYRE_STORE(h, next, next);
	GYRE_STORE(h, name, str_new(name));
	GYRE_STORE(h, value, str_new(value));
	return h;
}

static const char *header_find(const struct header *h, const char *name)
{
	for (; h; h = h->next)
		if (strcmp(h->name, name) == 0)
			return h->value;
	return NULL;
}

/* What a parser would hand over: a GET or a PUT of a random key, with a
 * few headers; a PUT names the version it writes. */
static struct request *request_new(struct worker *w)
{
	char buf[KEY_MAX];
	bool write = rng_below(&w->rng, 100) < WRITE_PERCENT;
	struct request *req = alloc_obj(request_type);
	req->id = (uint64_t)w->index << 40 | w->requests;
	GYRE_STORE(req, method, str_new(write ? "PUT" : "GET"));
	key_format(buf, rng_below(&w->rng, w->table));
	GYRE_STORE(req, key, str_new(buf));
	struct header *h = header_new(NULL, "accept", "application/json");
	h = header_new(h, "host", "gyre.example");
	snprintf(buf, sizeof buf, "%" PRIx64, req->id);
	h = header_new(h, "x-request-id", buf);
	if (write) {
		snprintf(buf, sizeof buf, "%" PRIu32, rng_below(&w->rng, 1000000));
		h = header_new(h, "x-version", buf);
	}
	GYRE_STORE(req, headers, h);
	return req;
}

/* A read checks what it got, which is also the work the compiler cannot
 * drop: the count of bad reads decides the exit status. */
static void serve_get(struct worker *w, const struct request *req)
{
	const struct node *doc = cache_get(req->key);
	if (!doc || !doc_intact(doc, 0) || !doc_is_for(doc, req->key))
		w->bad++;
}

/* A write builds the new document and entry outside the lock. The entry
 * keeps the request's key string: the rest of the request dies. */
static void serve_put(struct worker *w, const struct request *req)
{
	const char *version = header_find(req->headers, "x-version");
	if (!version) {
		w->bad++;
		return;
	}
	cache_put(entry_new(req->key, doc_new(req->key, version, &w->rng)));
}

/* One request; one in CRITICAL_ONE_IN runs with automatic collection off,
 * the way a latency-critical section would. */
static void worker_request(struct worker *w)
{
	bool critical = rng_below(&w->rng, CRITICAL_ONE_IN) == 0;
	if (critical) {
		check(gyre_disable(), "gyre_disable");
		w->critical++;
	}
	struct request *req = request_new(w);
	if (strcmp(req->method, "PUT") == 0)
		serve_put(w, req);
	else
		serve_get(w, req);
	if (critical)
		check(gyre_enable(), "gyre_enable");
	w->requests++;
}

/* ----------------------------------------------------------------- workers */

/* Lets the workers start together with main's clock. Sync: initialised by
 * main before the workers are created. */
static pthread_barrier_t start_line;
/* Tells the workers to stop. Relaxed: it orders nothing; pthread_join is
 * what makes their counters visible to main. */
static atomic_bool stop;

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Waits at the start line. Callers are in a blocking region: the others
 * may still be allocating, and a collection must not wait for this thread. */
static void start_wait(void)
{
	int err = pthread_barrier_wait(&start_line);
	check_errno(err == PTHREAD_BARRIER_SERIAL_THREAD ? 0 : err,
		"pthread_barrier_wait");
}

static void latency_add(struct worker *w, uint64_t ns)
{
	unsigned b = ns < 2 ? 0 : 63 - (unsigned)__builtin_clzll(ns);
	w->lat[b]++;
	if (ns > w->lat_max_ns)
		w->lat_max_ns = ns;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	check(gyre_thread_attach(), "gyre_thread_attach");
	check(gyre_blocking_begin(), "gyre_blocking_begin");
	start_wait();
	check(gyre_blocking_end(), "gyre_blocking_end");
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		uint64_t t0 = now_ns();
		worker_request(w);
		latency_add(w, now_ns() - t0);
	}
	check(gyre_thread_detach(), "gyre_thread_detach");
	return NULL;
}

static void sleep_until(uint64_t deadline_ns)
{
	struct timespec ts = { .tv_sec = (time_t)(deadline_ns / 1000000000u),
		.tv_nsec = (long)(deadline_ns % 1000000000u) };
	int err;
	while ((err = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts,
			NULL)) == EINTR)
		continue;
	check_errno(err, "clock_nanosleep");
}

static void workers_start(struct worker *ws, uint32_t n)
{
	check_errno(pthread_barrier_init(&start_line, NULL, n + 1),
		"pthread_barrier_init");
	for (uint32_t i = 0; i < n; i++)
		check_errno(pthread_create(&ws[i].thread, NULL, worker_main,
			&ws[i]), "pthread_create");
}

/* Runs the workers for `seconds` and returns the seconds they really ran.
 * Main stays attached but spends the run in a blocking region: it only
 * waits, and collections must not wait for it. */
static double workers_run(struct worker *ws, uint32_t n, double seconds)
{
	check(gyre_blocking_begin(), "gyre_blocking_begin");
	workers_start(ws, n);
	start_wait();
	uint64_t t0 = now_ns();
	sleep_until(t0 + (uint64_t)(seconds * 1e9));
	atomic_store_explicit(&stop, true, memory_order_relaxed);
	for (uint32_t i = 0; i < n; i++)
		check_errno(pthread_join(ws[i].thread, NULL), "pthread_join");
	uint64_t t1 = now_ns();
	check(gyre_blocking_end(), "gyre_blocking_end");
	pthread_barrier_destroy(&start_line);
	return (double)(t1 - t0) / 1e9;
}

/* ------------------------------------------------------------- final check */

/* Checks one chain: each entry sits in the bucket its key's hash picks and
 * its document is whole and is its key's. Adds the entries to *count, and
 * gives up past `limit` of them, which only a cycle could reach. */
static bool chain_intact(size_t b, uint64_t limit, uint64_t *count)
{
	for (const struct entry *e = cache.buckets[b]; e; e = e->next) {
		if (++*count > limit || !str_intact(e->key)
				|| e->hash != hash_str(e->key)
				|| (e->hash & cache.mask) != b || !e->doc
				|| !doc_intact(e->doc, 0)
				|| !doc_is_for(e->doc, e->key)) {
			fprintf(stderr, "gyre-workload: check: bad entry in"
				" bucket %zu\n", b);
			return false;
		}
	}
	return true;
}

/* Checks the whole cache after the run, on a heap that a forced collection
 * has just swept: every entry is whole, and there are exactly `table` of
 * them with every key found, so none is lost or duplicated. Main is the
 * only mutator left, so walking the chains needs no lock. */
static bool cache_intact(uint32_t table)
{
	int64_t freed = gyre_collect(2);
	if (freed < 0)
		die("gyre_collect", gyre_strerror((int)freed));
	uint64_t count = 0;
	for (size_t b = 0; b <= cache.mask; b++) {
		gyre_safepoint();
		if (!chain_intact(b, table, &count))
			return false;
	}
	char key[KEY_MAX];
	for (uint32_t k = 0; k < table; k++) {
		key_format(key, k);
		if (!cache_get(key)) {
			fprintf(stderr, "gyre-workload: check: %s lost\n", key);
			return false;
		}
	}
	if (count != table)
		fprintf(stderr, "gyre-workload: check: %" PRIu64 " entries,"
			" expected %" PRIu32 "\n", count, table);
	return count == table;
}

/* ----------------------------------------------------------------- options */

static void usage(FILE *out)
{
	fputs("usage: gyre-workload [--threads N] [--seconds S] [--table N]"
		" [--seed X] [--json]\n"
		"  --threads N  worker threads (default 4)\n"
		"  --seconds S  how long to run (default 10)\n"
		"  --table N    entries in the shared cache (default 200000)\n"
		"  --seed X     seed for keys and shapes (default: from the"
		" clock; printed)\n"
		"  --json       print the report as one JSON object\n", out);
}

/* A whole unsigned number in [min, max]; strtoull alone would accept a
 * sign or trailing junk. */
static bool parse_u64(const char *s, uint64_t min, uint64_t max,
	uint64_t *out)
{
	char *end;
	if (!s || *s < '0' || *s > '9')
		return false;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno || *end || v < min || v > max)
		return false;
	*out = v;
	return true;
}

static bool parse_u32(const char *s, uint32_t min, uint32_t max,
	uint32_t *out)
{
	uint64_t v;
	if (!parse_u64(s, min, max, &v))
		return false;
	*out = (uint32_t)v;
	return true;
}

static bool parse_seconds(const char *s, double *out)
{
	char *end;
	if (!s)
		return false;
	errno = 0;
	double v = strtod(s, &end);
	/* The comparison is also false for NaN. */
	if (errno || end == s || *end || !(v > 0 && v <= 1e6))
		return false;
	*out = v;
	return true;
}

/* One option and its value; false if either is wrong. */
static bool option_parse(const char *name, const char *value,
	struct options *opt)
{
	if (strcmp(name, "--threads") == 0)
		return parse_u32(value, 1, 256, &opt->threads);
	if (strcmp(name, "--table") == 0)
		return parse_u32(value, 1, 100000000, &opt->table);
	if (strcmp(name, "--seed") == 0)
		return parse_u64(value, 0, UINT64_MAX, &opt->seed);
	if (strcmp(name, "--seconds") == 0)
		return parse_seconds(value, &opt->seconds);
	return false;
}

static bool options_parse(int argc, char **argv, struct options *opt)
{
	*opt = (struct options){ .threads = 4, .seconds = 10, .table = 200000,
		.seed = now_ns() ^ (uint64_t)getpid() << 32 };
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			opt->json = true;
		} else if (strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			exit(EXIT_SUCCESS);
		} else if (!option_parse(argv[i], argv[i + 1], opt)) {
			fprintf(stderr, "gyre-workload: bad option or value:"
				" %s %s\n", argv[i], argv[i + 1] ? argv[i + 1] : "");
			usage(stderr);
			return false;
		} else {
			i++;
		}
	}
	return true;
}

/* -------------------------------------------------------------------- main */

static struct worker *workers_new(const struct options *opt)
{
	struct worker *ws = calloc(opt->threads, sizeof *ws);
	if (!ws)
		die("calloc", strerror(ENOMEM));
	for (uint32_t i = 0; i < opt->threads; i++) {
		ws[i].index = i;
		ws[i].table = opt->table;
		ws[i].rng = opt->seed ^ (UINT64_C(0x9e3779b97f4a7c15) * (i + 1));
	}
	return ws;
}

/* Unregisters the root and leaves gyre; a failure here is a gyre bug as
 * much as one during the run. */
static void teardown(void)
{
	check(gyre_root_remove(&cache.buckets), "gyre_root_remove");
	cache.buckets = NULL;
	check(gyre_thread_detach(), "gyre_thread_detach");
	check(gyre_shutdown(), "gyre_shutdown");
}

int main(int argc, char **argv)
{
	struct options opt;
	if (!options_parse(argc, argv, &opt))
		return 2;
	check(gyre_init(NULL), "gyre_init");
	check(gyre_thread_attach(), "gyre_thread_attach");
	types_register();
	cache_init(opt.table);
	cache_fill(opt.table, opt.seed);

	struct worker *ws = workers_new(&opt);
	struct report r = { .opt = &opt };
	r.elapsed_s = workers_run(ws, opt.threads, opt.seconds);
	report_requests(&r, ws);
	free(ws);
	report_gc(&r);
	r.intact = cache_intact(opt.table) && r.bad == 0;
	teardown();

	if (opt.json)
		report_json(&r);
	else
		report_table(&r);
	if (r.bad)
		fprintf(stderr, "gyre-workload: %" PRIu64 " requests found a"
			" missing or damaged document\n", r.bad);
	return r.intact ? EXIT_SUCCESS : EXIT_FAILURE;
}
