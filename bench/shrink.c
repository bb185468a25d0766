/*
 * shrink.c: does memory go back when the load drops? A server holds a
 * large cache of small entries (by default 1 GiB), then its load drops:
 * it keeps a tenth of the entries (by default the newest: a cache that
 * expires its oldest) in a new, smaller table, drops the rest and the old
 * table, and goes on serving: T threads replace random entries of the
 * small table, each operation also making a few temporaries that die at
 * once. A sampler thread reads the process's resident set
 * (/proc/self/statm) every 10 ms from the start.
 *
 * What it reports: the peak RSS, the RSS when the drop is done, 5 s after
 * it and at the end, the lowest RSS after the drop and when RSS first fell
 * under --target-mb (350 by default), and the operations per second after
 * the drop. The gyre build also reports what gyre_stats says of the heap's
 * memory at the end. With --json, drop_at_s is when the drop was done on
 * the monotonic clock, the clock of GYRE_TRACE's t=.
 *
 * With --collect, the program asks for a full collection once the drop
 * is done (mm_collect: gyre_collect(2), GC_gcollect; nothing for malloc),
 * as one that knows its data just shrank may: what then goes back does
 * not wait for the collector's own trigger.
 *
 * An entry is a list of three 48-byte nodes and a 64-byte payload (208
 * bytes, as churn --small), checksummed when built; each replaced entry
 * and, at the end, every entry kept is checked, and a mismatch makes the
 * run exit with status 1. With --scatter the kept entries are every tenth
 * one instead of the newest: what stays is spread over all the memory the
 * cache filled, which no non-moving manager can give back (gyre does not
 * compact yet).
 *
 * Built against each manager through mm.h; see README.md.
 *
 * Usage: shrink [--live-mb N] [--keep-percent P] [--scatter] [--collect]
 *               [--threads N] [--seconds S] [--target-mb N] [--seed N]
 *               [--rss-file PATH] [--json]
 */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mm.h"
#include "measure.h"

enum {
	NODES = 3,                 /* nodes of an entry, */
	PAYLOAD = 64,              /* its payload, */
	ENTRY_BYTES = 208,         /* and its bytes (malloc's count) */
	TEMPS = 4,                 /* temporaries per operation, */
	TEMP_LEN = 32,             /* each this long */
	STRIPES = 4096,            /* mutexes guarding the slots */
	MAX_THREADS = 64,
	DEFAULT_THREADS = 2,
	DEFAULT_LIVE_MB = 1024,
	DEFAULT_KEEP_PERCENT = 10,
	DEFAULT_TARGET_MB = 350,
	SAMPLE_MS = 10,
	/* Samples kept: an hour's worth. */
	MAX_SAMPLES = 3600 * 1000 / SAMPLE_MS,
	/* "RSS 5 s after the drop". */
	AFTER_S = 5,
};

#define DEFAULT_SECONDS 10.0

/* An entry's node, 48 bytes. The first carries the entry's identity; the
 * last points at the payload. */
struct snode {
	struct snode *next;
	uint8_t *payload;
	uint64_t slot;             /* the entry's identity (id_of) */
	uint64_t serial;
	uint64_t checksum;         /* first node: of the list and the payload */
	uint64_t tag;              /* random, per node */
};

struct options {
	long live_mb;
	long keep_percent;
	bool scatter;
	bool collect;
	int threads;
	double seconds;
	long target_mb;
	unsigned long long seed;
	const char *rss_file;
	bool json;
};

/* Sync: table, n_slots and ids are written by main while no worker runs
 * (the fill, the drop), then read-only until the workers are joined; slot
 * k is guarded by stripe[k % STRIPES]. */
static struct {
	void **table;              /* a traced pointer array; a root */
	uint64_t n_slots;
	/* After the drop: the identity of slot k's entries (the slot its
	 * first entry had in the full table); before, the slot itself. */
	uint64_t *ids;
	mm_type snode_type;
	pthread_mutex_t stripe[STRIPES];
	pthread_barrier_t start_line;
	double seconds;
} shared;

/* RSS samples since the start. Sync: written by the sampler thread alone;
 * main reads them after joining it. */
static struct {
	pthread_t thread;
	_Atomic bool stop;
	uint64_t t0;
	uint64_t n;
	uint64_t t_ns[MAX_SAMPLES];
	long rss_kb[MAX_SAMPLES];
} samples;

struct worker {
	pthread_t thread;
	int index;
	uint64_t rng;
	uint64_t ops;
	uint64_t built;
	uint64_t corrupt;
	uint64_t sink;
};

/* ------------------------------------------------------ random, checksum */

static uint64_t mix(uint64_t h, uint64_t v)
{
	h ^= v;
	h *= 0x9e3779b97f4a7c15u;
	return h ^ (h >> 29);
}

static uint64_t hash_bytes(uint64_t h, const uint8_t *p, size_t n)
{
	for (size_t k = 0; k + 8 <= n; k += 8) {
		uint64_t v;
		memcpy(&v, p + k, 8);
		h = mix(h, v);
	}
	return h;
}

static uint8_t *random_bytes(size_t n, uint64_t *s)
{
	uint8_t *p = mm_alloc_bytes(n);

	for (size_t k = 0; k + 8 <= n; k += 8) {
		uint64_t v = rng_next(s);
		memcpy(p + k, &v, 8);
	}
	return p;
}

/* ---------------------------------------------------------------- entries */

static uint64_t entry_sum(const struct snode *n)
{
	uint64_t h = mix(n->slot, n->serial);

	for (const struct snode *k = n; k; k = k->next) {
		h = mix(h, k->tag);
		if (!k->next)
			h = hash_bytes(h, k->payload, PAYLOAD);
	}
	return h;
}

static struct snode *entry_new(uint64_t slot, uint64_t serial, uint64_t *s)
{
	struct snode *next = NULL, *n = NULL;

	for (int k = 0; k < NODES; k++) {
		n = mm_alloc(shared.snode_type);
		n->tag = rng_next(s);
		MM_STORE(n, next, next);
		if (!next)
			MM_STORE(n, payload, random_bytes(PAYLOAD, s));
		next = n;
	}
	n->slot = slot;
	n->serial = serial;
	n->checksum = entry_sum(n);
	return n;
}

static bool entry_intact(const struct snode *n, uint64_t slot)
{
	int len = 0;

	for (const struct snode *k = n; k && len <= NODES; k = k->next)
		len++;
	return n != NULL && len == NODES && n->slot == slot &&
	       entry_sum(n) == n->checksum;
}

/* Only the malloc variants free; for the collectors this does nothing. */
static void entry_free(struct snode *n)
{
	while (n) {
		struct snode *next = n->next;

		if (!next)
			mm_free(n->payload);
		mm_free(n);
		n = next;
	}
}

/* ---------------------------------------------------------------- sampler */

static void *sampler_main(void *arg)
{
	(void)arg;
	while (!atomic_load(&samples.stop) && samples.n < MAX_SAMPLES) {
		samples.t_ns[samples.n] = now_ns() - samples.t0;
		samples.rss_kb[samples.n] = rss_kb();
		samples.n++;
		nanosleep(&(struct timespec){.tv_nsec = SAMPLE_MS * 1000000L}, NULL);
	}
	return NULL;
}

/* ------------------------------------------------------- fill, drop, churn */

/* The cache at its peak: every slot filled, on the main thread. */
static __attribute__((noinline)) void fill(uint64_t *s)
{
	shared.table = mm_alloc_ptrs(shared.n_slots);
	for (uint64_t k = 0; k < shared.n_slots; k++)
		MM_STORE_AT(shared.table, k, entry_new(k, k, s));
}

/* Whether slot k of the full table is kept. */
static bool kept(const struct options *opt, uint64_t k, uint64_t n_keep)
{
	if (opt->scatter)
		return k % (100 / (uint64_t)opt->keep_percent) == 0 &&
		       k / (100 / (uint64_t)opt->keep_percent) < n_keep;
	return k >= shared.n_slots - n_keep;
}

static uint64_t id_of(uint64_t slot)
{
	return shared.ids ? shared.ids[slot] : slot;
}

/* The load drops: the kept entries move to a new table (the same objects,
 * so what stays is where the fill put it), the others and the old table
 * are dropped. Every entry is checked on the way. Returns the corrupt
 * ones. */
static __attribute__((noinline)) uint64_t drop(const struct options *opt)
{
	uint64_t n_keep = shared.n_slots * (uint64_t)opt->keep_percent / 100;
	void **small = mm_alloc_ptrs(n_keep);
	uint64_t j = 0, corrupt = 0;

	shared.ids = malloc(n_keep * sizeof(*shared.ids));
	if (shared.ids == NULL)
		mm_die("malloc", "out of memory");
	for (uint64_t k = 0; k < shared.n_slots; k++) {
		struct snode *e = shared.table[k];

		/* A loop that does not allocate polls: gyre's pauses wait
		 * for it otherwise. */
		if (k % 4096 == 0)
			mm_safepoint();
		corrupt += !entry_intact(e, k);
		if (kept(opt, k, n_keep) && j < n_keep) {
			shared.ids[j] = k;
			MM_STORE_AT(small, j++, e);
		} else {
			entry_free(e);
		}
	}
	mm_free(shared.table);
	shared.table = small;
	shared.n_slots = n_keep;
	return corrupt;
}

/* One operation: temporaries, then a new entry for a random slot, swapped
 * in under the slot's stripe lock; the replaced one is checked and
 * dropped. */
static void operation(struct worker *w)
{
	uint64_t slot = rng_next(&w->rng) % shared.n_slots;
	uint64_t serial = (uint64_t)w->index << 48 | w->built++;
	pthread_mutex_t *m = &shared.stripe[slot % STRIPES];
	struct snode *fresh, *old;

	for (int k = 0; k < TEMPS; k++) {
		uint8_t *t = random_bytes(TEMP_LEN, &w->rng);

		w->sink = hash_bytes(w->sink, t, TEMP_LEN);
		mm_free(t);
	}
	fresh = entry_new(id_of(slot), serial, &w->rng);
	MM_MUTEX_LOCK(m);
	old = shared.table[slot];
	MM_STORE_AT(shared.table, slot, fresh);
	MM_MUTEX_UNLOCK(m);
	if (!entry_intact(old, id_of(slot))) {
		w->corrupt++;
		return;
	}
	entry_free(old);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	uint64_t deadline;

	mm_thread_attach();
	MM_BLOCKING_BEGIN();
	pthread_barrier_wait(&shared.start_line);
	MM_BLOCKING_END();
	deadline = now_ns() + (uint64_t)(shared.seconds * 1e9);
	while (now_ns() < deadline) {
		operation(w);
		w->ops++;
	}
	mm_thread_detach();
	return NULL;
}

/* Runs the workers for shared.seconds; main waits in a blocking region. */
static void churn(struct worker *ws, int n, uint64_t seed)
{
	mm_check_errno(pthread_barrier_init(&shared.start_line, NULL,
	                                    (unsigned)n + 1),
	               "pthread_barrier_init");
	for (int t = 0; t < n; t++) {
		memset(&ws[t], 0, sizeof(ws[t]));
		ws[t].index = t;
		ws[t].rng = mix(seed, (uint64_t)t + 1) | 1;
	}
	MM_BLOCKING_BEGIN();
	for (int t = 0; t < n; t++)
		mm_thread_create(&ws[t].thread, worker_main, &ws[t]);
	pthread_barrier_wait(&shared.start_line);
	for (int t = 0; t < n; t++)
		mm_thread_join(ws[t].thread);
	MM_BLOCKING_END();
	pthread_barrier_destroy(&shared.start_line);
}

/* Overwrites a stretch of dead stack, so that no stale word of the fill
 * or the drop keeps the old table alive for a conservative collector. */
static __attribute__((noinline)) void clear_stack(void)
{
	char junk[16384];

	memset(junk, 0, sizeof(junk));
	__asm__ volatile("" : : "r"(junk) : "memory");
}

/* ------------------------------------------------------------- reporting */

struct result {
	uint64_t entries;          /* at the peak */
	uint64_t kept;
	double fill_s, drop_s;
	uint64_t ops;
	uint64_t corrupt;
	uint64_t drop_ns;          /* when the drop was done, from the start */
	/* From the samples, in KiB (-1: none). */
	long peak_kb, at_drop_kb, after_kb, end_kb, min_after_kb;
	double below_s;            /* seconds after the drop, or -1 */
};

/* The first sample at or after t_ns, or -1 if the run ended before. */
static long sample_at(uint64_t t_ns)
{
	for (uint64_t i = 0; i < samples.n; i++)
		if (samples.t_ns[i] >= t_ns)
			return samples.rss_kb[i];
	return -1;
}

/* A sample in MiB as a JSON value: null for -1. */
static void print_mb_json(const char *key, long kb)
{
	if (kb < 0)
		printf(",\"%s\":null", key);
	else
		printf(",\"%s\":%.1f", key, kb / 1024.0);
}

static void summarise(const struct options *opt, struct result *r)
{
	r->peak_kb = r->min_after_kb = -1;
	r->below_s = -1;
	for (uint64_t i = 0; i < samples.n; i++) {
		long kb = samples.rss_kb[i];

		if (kb > r->peak_kb)
			r->peak_kb = kb;
		if (samples.t_ns[i] < r->drop_ns)
			continue;
		if (r->min_after_kb < 0 || kb < r->min_after_kb)
			r->min_after_kb = kb;
		if (r->below_s < 0 && kb <= opt->target_mb * 1024)
			r->below_s = (double)(samples.t_ns[i] - r->drop_ns) / 1e9;
	}
	r->at_drop_kb = sample_at(r->drop_ns);
	r->after_kb = sample_at(r->drop_ns + (uint64_t)AFTER_S * 1000000000u);
	r->end_kb = samples.n ? samples.rss_kb[samples.n - 1] : -1;
}

static bool write_rss_file(const struct result *r, const char *path)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		return false;
	fprintf(f, "# seconds_after_drop rss_mib (%s)\n", mm_name());
	for (uint64_t i = 0; i < samples.n; i++)
		fprintf(f, "%.3f %.1f\n",
		        ((double)samples.t_ns[i] - (double)r->drop_ns) / 1e9,
		        samples.rss_kb[i] / 1024.0);
	return fclose(f) == 0;
}

/* What gyre says of its heap's memory (null for the others). */
static void print_heap_json(void)
{
#if defined(MM_GYRE)
	gyre_stats s;

	mm_check(gyre_stats_get(&s), "gyre_stats_get");
	printf(",\"heap_size_mb\":%.1f,\"heap_committed_mb\":%.1f,"
	       "\"heap_resident_mb\":%.1f,\"returned_mb\":%.1f",
	       s.heap_size / 1048576.0, s.heap_committed / 1048576.0,
	       s.heap_resident / 1048576.0, s.bytes_returned / 1048576.0);
#else
	printf(",\"heap_size_mb\":null,\"heap_committed_mb\":null,"
	       "\"heap_resident_mb\":null,\"returned_mb\":null");
#endif
}

static void report(const struct options *opt, const struct result *r)
{
	double ops_s = (double)r->ops / shared.seconds;

	if (opt->json) {
		printf("{\"workload\":\"shrink\",\"mm\":\"%s\",\"threads\":%d,"
		       "\"live_mb\":%ld,\"keep_percent\":%ld,\"scatter\":%s,"
		       "\"collect\":%s,"
		       "\"entries\":%llu,\"kept\":%llu,\"fill_s\":%.3f,"
		       "\"drop_s\":%.3f,\"seconds\":%.3f,\"ops\":%llu,"
		       "\"ops_per_s\":%.1f,\"target_mb\":%ld,\"drop_at_s\":%.6f",
		       mm_name(), opt->threads, opt->live_mb, opt->keep_percent,
		       opt->scatter ? "true" : "false",
		       opt->collect ? "true" : "false",
		       (unsigned long long)r->entries, (unsigned long long)r->kept,
		       r->fill_s, r->drop_s, shared.seconds,
		       (unsigned long long)r->ops, ops_s, opt->target_mb,
		       (double)(samples.t0 + r->drop_ns) / 1e9);
		print_mb_json("rss_peak_mb", r->peak_kb);
		print_mb_json("rss_drop_mb", r->at_drop_kb);
		print_mb_json("rss_5s_mb", r->after_kb);
		print_mb_json("rss_end_mb", r->end_kb);
		print_mb_json("rss_min_after_mb", r->min_after_kb);
		if (r->below_s < 0)
			printf(",\"below_target_s\":null");
		else
			printf(",\"below_target_s\":%.2f", r->below_s);
		print_heap_json();
		print_mm_json();
		printf("}\n");
		return;
	}
	printf("shrink %s: %llu entries (~%ld MiB) filled in %.2f s, %llu kept "
	       "(%s), dropped%s in %.2f s; %d threads for %.1f s: %.0f ops/s\n"
	       "  RSS MiB: peak %.0f, at the drop %.0f, ", mm_name(),
	       (unsigned long long)r->entries, opt->live_mb, r->fill_s,
	       (unsigned long long)r->kept, opt->scatter ? "scattered" : "newest",
	       opt->collect ? " and collected" : "", r->drop_s, opt->threads,
	       shared.seconds, ops_s,
	       r->peak_kb / 1024.0, r->at_drop_kb / 1024.0);
	if (r->after_kb >= 0)
		printf("%d s after %.0f, ", AFTER_S, r->after_kb / 1024.0);
	printf("end %.0f, lowest after %.0f; ", r->end_kb / 1024.0,
	       r->min_after_kb / 1024.0);
	if (r->below_s < 0)
		printf("never under %ld MiB\n  ", opt->target_mb);
	else
		printf("under %ld MiB %.2f s after the drop\n  ", opt->target_mb,
		       r->below_s);
	print_mm_text();
}

static void usage(void)
{
	fprintf(stderr,
	        "usage: shrink [--live-mb N] [--keep-percent P] [--scatter] "
	        "[--collect]\n"
	        "              [--threads N] [--seconds S] [--target-mb N] "
	        "[--seed N]\n"
	        "              [--rss-file PATH] [--json]\n"
	        "  --live-mb N        the cache at its peak, MiB (default %d)\n"
	        "  --keep-percent P   what stays after the drop, 1..50 (default %d)\n"
	        "  --scatter          keep every (100/P)-th entry, not the newest\n"
	        "  --collect          a full collection once the drop is done\n"
	        "  --threads N        threads after the drop, 1..%d (default %d)\n"
	        "  --seconds S        how long they run (default %.0f; the RSS\n"
	        "                     %d s after the drop needs %d or more)\n"
	        "  --target-mb N      report when RSS first falls under N MiB "
	        "(default %d)\n"
	        "  --seed N           random seed (default 1)\n"
	        "  --rss-file P       write the RSS samples (seconds after the drop, "
	        "MiB)\n"
	        "  --json             print one JSON object\n",
	        DEFAULT_LIVE_MB, DEFAULT_KEEP_PERCENT, MAX_THREADS, DEFAULT_THREADS,
	        DEFAULT_SECONDS, AFTER_S, AFTER_S, DEFAULT_TARGET_MB);
	exit(2);
}

static bool parse_one(int argc, char **argv, int *k, struct options *opt)
{
	const char *a = argv[*k];
	long v;

	if (strcmp(a, "--live-mb") == 0 && long_arg(argc, argv, k, 1, 1L << 20, &v))
		opt->live_mb = v;
	else if (strcmp(a, "--keep-percent") == 0 &&
	         long_arg(argc, argv, k, 1, 50, &v))
		opt->keep_percent = v;
	else if (strcmp(a, "--scatter") == 0)
		opt->scatter = true;
	else if (strcmp(a, "--collect") == 0)
		opt->collect = true;
	else if (strcmp(a, "--threads") == 0 &&
	         long_arg(argc, argv, k, 1, MAX_THREADS, &v))
		opt->threads = (int)v;
	else if (strcmp(a, "--seconds") == 0)
		return double_arg(argc, argv, k, 0.01, 3600, &opt->seconds);
	else if (strcmp(a, "--target-mb") == 0 &&
	         long_arg(argc, argv, k, 1, 1L << 30, &v))
		opt->target_mb = v;
	else if (strcmp(a, "--seed") == 0 && long_arg(argc, argv, k, 0, 1L << 62, &v))
		opt->seed = (unsigned long long)v;
	else if (strcmp(a, "--rss-file") == 0 && *k + 1 < argc)
		opt->rss_file = argv[++*k];
	else if (strcmp(a, "--json") == 0)
		opt->json = true;
	else
		return false;
	return true;
}

static struct options parse_args(int argc, char **argv)
{
	struct options opt = { .live_mb = DEFAULT_LIVE_MB,
	                       .keep_percent = DEFAULT_KEEP_PERCENT,
	                       .threads = DEFAULT_THREADS,
	                       .seconds = DEFAULT_SECONDS,
	                       .target_mb = DEFAULT_TARGET_MB, .seed = 1 };

	for (int k = 1; k < argc; k++)
		if (!parse_one(argc, argv, &k, &opt))
			usage();
	return opt;
}

/* ------------------------------------------------------------------ main */

static void shared_init(const struct options *opt)
{
	static const size_t ptrs[] = { offsetof(struct snode, next),
	                               offsetof(struct snode, payload) };

	shared.snode_type = mm_type_register("snode", sizeof(struct snode),
	                                     ptrs, 2);
	shared.n_slots = (uint64_t)opt->live_mb * 1024 * 1024 / ENTRY_BYTES;
	shared.seconds = opt->seconds;
	mm_root_add(&shared.table, sizeof(shared.table));
	for (int k = 0; k < STRIPES; k++)
		mm_check_errno(pthread_mutex_init(&shared.stripe[k], NULL),
		               "pthread_mutex_init");
}

/* The whole run: fill, drop, churn, the final check. The table is reached
 * only through shared.table, a root (see shared_init). */
static void run(const struct options *opt, struct worker *ws, struct result *r)
{
	uint64_t s = opt->seed * 0x2545f4914f6cdd1du + 7;
	uint64_t t0 = now_ns(), t1, t2;

	r->entries = shared.n_slots;
	fill(&s);
	t1 = now_ns();
	r->corrupt += drop(opt);
	clear_stack();
	if (opt->collect)
		mm_collect();
	t2 = now_ns();
	r->kept = shared.n_slots;
	r->fill_s = (double)(t1 - t0) / 1e9;
	r->drop_s = (double)(t2 - t1) / 1e9;
	r->drop_ns = t2 - samples.t0;
	churn(ws, opt->threads, opt->seed);
	for (int t = 0; t < opt->threads; t++) {
		r->ops += ws[t].ops;
		r->corrupt += ws[t].corrupt;
	}
	for (uint64_t k = 0; k < shared.n_slots; k++) {
		if (k % 4096 == 0)
			mm_safepoint();
		r->corrupt += !entry_intact(shared.table[k], id_of(k));
	}
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
	samples.t0 = now_ns();
	mm_check_errno(pthread_create(&samples.thread, NULL, sampler_main, NULL),
	               "pthread_create");
	run(&opt, ws, &r);
	atomic_store(&samples.stop, true);
	MM_BLOCKING_BEGIN();
	mm_check_errno(pthread_join(samples.thread, NULL), "pthread_join");
	MM_BLOCKING_END();
	summarise(&opt, &r);
	report(&opt, &r);
	if (r.corrupt) {
		fprintf(stderr, "shrink %s: %llu corrupt entries\n", mm_name(),
		        (unsigned long long)r.corrupt);
		status = 1;
	}
	if (opt.rss_file && !write_rss_file(&r, opt.rss_file)) {
		perror(opt.rss_file);
		status = 2;
	}
	mm_thread_detach();
	mm_shutdown();
	return status;
}
