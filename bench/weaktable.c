/*
 * weaktable.c: a weak-keyed table under churn, the cache a server keeps
 * for objects it does not own (sessions, connections, compiled templates):
 * an entry lives as long as its key. The table has --entries slots; the
 * program owns the keys (an array of the same size) and, one operation at
 * a time, drops the key of a random slot (the entry then waits for a
 * collection to clear it) or, if that slot's key is already dropped,
 * checks that its entry was cleared or still holds its value, and puts a
 * new key and entry there. Each operation also makes a few short-lived
 * temporaries.
 *
 * gyre: each entry is an ephemeron (key, value). Boehm GC has none: each
 * entry is a two-word object whose key word is a disappearing link
 * (GC_general_register_disappearing_link), read under the allocation lock;
 * its value is strong (a value that reached its key would keep it: the
 * values here do not). Only the collectors run it.
 *
 * Usage: weaktable-<mm> [--entries N] [--seconds S] [--json]
 * Prints operations per second, entries found cleared, and the pauses
 * (count, total share of the run, max, p99) of the measured window.
 */
#include "mm.h"
#include "measure.h"

#define TEMPORARIES 4
#define VALUE_BYTES 48

struct options {
	long entries;
	double seconds;
	bool json;
};

/* The owner's keys and the table: roots (registered globals). */
static node **keys;
static void **table;

#if defined(MM_GYRE)

static void *entry_new(node *key, void *value)
{
	void *e = gyre_ephemeron_new(key, value);

	if (!e)
		mm_die("gyre_ephemeron_new", gyre_strerror(gyre_last_error()));
	return e;
}

static void *entry_value(void *e) { return gyre_ephemeron_value(e); }
static void *entry_key(void *e) { return gyre_ephemeron_key(e); }

#elif defined(MM_BOEHM)

/* The key is hidden (GC_HIDE_POINTER), or Boehm would scan it as a
 * strong reference; the link clears it when the key dies. */
struct entry {
	GC_hidden_pointer key;
	void *value;
};

static void *entry_new(node *key, void *value)
{
	struct entry *e = GC_MALLOC(sizeof(*e));

	if (!e)
		mm_die("GC_MALLOC", "out of memory");
	e->key = GC_HIDE_POINTER(key);
	e->value = value;
	if (GC_general_register_disappearing_link((void **)&e->key, key) == GC_NO_MEMORY)
		mm_die("GC_general_register_disappearing_link", "out of memory");
	return e;
}

static void *read_key(void *e)
{
	GC_hidden_pointer h = ((struct entry *)e)->key;

	return h ? GC_REVEAL_POINTER(h) : NULL;
}

static void *entry_key(void *e) { return GC_call_with_alloc_lock(read_key, e); }
static void *entry_value(void *e) { return entry_key(e) ? ((struct entry *)e)->value : NULL; }

#else
#error "weaktable runs on the collectors only (MM_GYRE or MM_BOEHM)"
#endif

static void parse(int argc, char **argv, struct options *o)
{
	*o = (struct options){ .entries = 1000000, .seconds = 10 };
	for (int k = 1; k < argc; k++) {
		if (strcmp(argv[k], "--entries") == 0 &&
		    long_arg(argc, argv, &k, 1, 100000000, &o->entries))
			continue;
		if (strcmp(argv[k], "--seconds") == 0 &&
		    double_arg(argc, argv, &k, 0.01, 3600, &o->seconds))
			continue;
		if (strcmp(argv[k], "--json") == 0) {
			o->json = true;
			continue;
		}
		fprintf(stderr, "usage: %s [--entries N] [--seconds S] [--json]\n", argv[0]);
		exit(2);
	}
}

/* A key and its entry in slot i; the value is a byte buffer tagged with
 * the key's number, checked when the entry is read. */
static void put(long i, int tag)
{
	node *k = mm_alloc_node();
	char *v = mm_alloc_bytes(VALUE_BYTES);

	k->i = (int)i;
	k->j = tag;
	memset(v, tag & 0xff, VALUE_BYTES);
	void *e = entry_new(k, v);
	MM_STORE_AT((void **)keys, i, k);
	MM_STORE_AT(table, i, e);
}

/* Slot i, whose key was dropped: its entry is cleared, or still whole. */
static bool dropped_entry_cleared(long i)
{
	void *e = table[i];
	node *k = entry_key(e);
	char *v = entry_value(e);

	if (!k)
		return true;
	if (k->i != (int)i || !v || v[0] != (char)(k->j & 0xff))
		mm_die("weaktable", "an entry whose key was dropped is not intact");
	return false;
}

int main(int argc, char **argv)
{
	struct options o;
	uint64_t rng = 7, ops = 0, cleared = 0, reused = 0;
	struct mm_pauses p0, p1;

	parse(argc, argv, &o);
	mm_init();
	mm_thread_attach();
	mm_root_add(&keys, sizeof(keys));
	mm_root_add(&table, sizeof(table));
	keys = (node **)mm_alloc_ptrs((size_t)o.entries);
	table = mm_alloc_ptrs((size_t)o.entries);
	uint64_t t0 = now_ns();
	for (long i = 0; i < o.entries; i++)
		put(i, (int)i);
	double build_s = (double)(now_ns() - t0) / 1e9;
	mm_pauses_get(&p0);
	t0 = now_ns();
	uint64_t end = t0 + (uint64_t)(o.seconds * 1e9);
	while ((ops & 1023) || now_ns() < end) {
		long i = (long)rng_below(&rng, (uint32_t)o.entries);
		for (int t = 0; t < TEMPORARIES; t++)
			mm_alloc_bytes(32);
		if (keys[i]) {
			MM_STORE_AT((void **)keys, i, (node *)NULL);
		} else {
			cleared += dropped_entry_cleared(i);
			reused++;
			put(i, (int)(ops & 0x7fffffff));
		}
		ops++;
	}
	double run_s = (double)(now_ns() - t0) / 1e9;
	mm_pauses_get(&p1);
	uint64_t hist[MM_PAUSE_BUCKETS];
	for (int b = 0; b < MM_PAUSE_BUCKETS; b++)
		hist[b] = p1.histogram[b] - p0.histogram[b];
	uint64_t pauses = p1.count - p0.count, pause_ns = p1.total_ns - p0.total_ns;
	if (o.json) {
		printf("{\"workload\":\"weaktable\",\"mm\":\"%s\",\"entries\":%ld,"
		       "\"build_s\":%.3f,\"seconds\":%.3f,\"ops_per_s\":%.0f,"
		       "\"reused\":%llu,\"found_cleared\":%llu,\"run_pauses\":%llu,"
		       "\"run_pause_share\":%.4f,\"run_pause_max_ms\":%.3f,"
		       "\"run_pause_p99_us_le\":%llu,\"peak_rss_mb\":%.1f}\n",
		       mm_name(), o.entries, build_s, run_s, (double)ops / run_s,
		       (unsigned long long)reused, (unsigned long long)cleared,
		       (unsigned long long)pauses, (double)pause_ns / 1e9 / run_s,
		       (double)p1.max_ns / 1e6,
		       (unsigned long long)pause_quantile_us(hist, 0.99),
		       peak_rss_kb() / 1024.0);
	} else {
		printf("weaktable %s: %ld entries, built in %.2f s; %.0f ops/s over %.2f s, "
		       "%llu slots reused, %.1f%% of their entries found cleared; pauses: "
		       "%llu, %.1f%% of the run, max %.2f ms (the whole run), p99 <= %llu us; "
		       "peak RSS %.0f MiB\n",
		       mm_name(), o.entries, build_s, (double)ops / run_s, run_s,
		       (unsigned long long)reused,
		       reused ? 100.0 * (double)cleared / (double)reused : 0.0,
		       (unsigned long long)pauses, 100.0 * (double)pause_ns / 1e9 / run_s,
		       (double)p1.max_ns / 1e6,
		       (unsigned long long)pause_quantile_us(hist, 0.99),
		       peak_rss_kb() / 1024.0);
	}
	keys = NULL;
	table = NULL;
	mm_thread_detach();
	mm_shutdown();
	return 0;
}
