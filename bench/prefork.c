/*
 * prefork.c: what gyre_freeze saves a pre-fork server (issue 19). A parent
 * fills a table of small graphs (each entry a list of three 48-byte nodes
 * and a 64-byte payload, as churn --small), collects, freezes it (unless
 * --no-freeze), and forks CHILDREN children. Each child replaces its own
 * share (--churn-percent, default 20) of the table's entries with new ones
 * that live in the child, again and again for --seconds, allocating and
 * collecting as it goes; then it reports its memory and waits. The parent,
 * once every child has reported, reads each child's
 * /proc/PID/smaps_rollup (Private_Clean + Private_Dirty: what the child
 * does not share) and its own (Shared_Clean + Shared_Dirty), prints one
 * line per child and a summary, and lets them exit.
 *
 * A child's "own" memory is what its heap commits beyond the frozen heap
 * it inherited: its gyre heap_committed less the parent's heap_size just
 * after the freeze (the frozen blocks and large objects). Private memory
 * beyond that is the shared heap it copied, shown as a share of the
 * frozen heap. Each child also sorts its own private pages by what they
 * hold before it reports (prefork_pages.h), and the parent prints that
 * breakdown and what lies beyond the child's own objects. Every entry is
 * checked when it is replaced and at the end (a child whose table is
 * damaged exits 1).
 *
 * gyre only (gyre_freeze has no counterpart in the other managers).
 *
 * Usage: prefork [--table-mb N] [--children N] [--seconds S]
 *                [--churn-percent P] [--no-freeze]
 */
#define _POSIX_C_SOURCE 200809L

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <gyre.h>

#include "prefork_pages.h"

enum { NODES = 3, PAYLOAD = 64, ENTRY_BYTES = 208, MAX_CHILDREN = 64 };

struct enode {
	struct enode *next;
	uint64_t *payload;
	uint64_t key, pad[3];
};

static gyre_type enode_type;
static void **table;
static size_t entries;

static struct {
	size_t table_mb, children, percent;
	double seconds;
	bool freeze;
} opt = {1024, 4, 20, 30.0, true};

static void die(const char *what)
{
	fprintf(stderr, "prefork: %s failed: %s\n", what,
		gyre_strerror(gyre_last_error()));
	exit(2);
}

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + t.tv_nsec / 1e9;
}

/* An entry for key k: NODES nodes, each with the key, the last with a
 * payload whose words are derived from it. */
static struct enode *entry_new(uint64_t k)
{
	struct enode *head = NULL;
	for (int i = 0; i < NODES; i++) {
		struct enode *n = gyre_alloc(enode_type);
		if (!n)
			die("gyre_alloc");
		n->key = k;
		GYRE_STORE(n, next, head);
		head = n;
	}
	uint64_t *p = gyre_alloc_bytes(PAYLOAD);
	if (!p)
		die("gyre_alloc_bytes");
	for (int i = 0; i < PAYLOAD / 8; i++)
		p[i] = k * 0x9e3779b97f4a7c15u + (uint64_t)i;
	GYRE_STORE(head, payload, p);
	return head;
}

static bool entry_ok(const struct enode *n, uint64_t k)
{
	if (!n || !n->payload)
		return false;
	for (int i = 0; i < PAYLOAD / 8; i++)
		if (n->payload[i] != k * 0x9e3779b97f4a7c15u + (uint64_t)i)
			return false;
	for (int i = 0; i < NODES; i++, n = n->next)
		if (!n || n->key != k)
			return false;
	return n == NULL;
}

/* Slot s holds key s in the parent; a child replaces the slots whose hash
 * falls in its share (spread over the whole table), storing keys
 * s + (round << 40) there. */
static bool churned(size_t s)
{
	uint64_t h = (s * 0x9e3779b97f4a7c15u) >> 32;
	return h % 100 < opt.percent;
}

static uint64_t key_of(const void *e)
{
	return ((const struct enode *)e)->key;
}

/* smaps_rollup's `field` (kB) of process pid. */
static size_t rollup_kb(pid_t pid, const char *field)
{
	char path[64], line[256];
	snprintf(path, sizeof path, "/proc/%d/smaps_rollup", (int)pid);
	FILE *f = fopen(path, "r");
	size_t total = 0, len = strlen(field);
	if (!f)
		return 0;
	while (fgets(line, sizeof line, f))
		if (!strncmp(line, field, len) && line[len] == ':')
			total += strtoull(line + len + 1, NULL, 10);
	fclose(f);
	return total;
}

struct report {
	double replaced;        /* entries replaced */
	size_t committed;       /* gyre heap_committed at the end */
	size_t collections;     /* the child's own */
	/* Its minor collections' pauses: total (ns), and the upper edge (us)
	 * of the highest log2 bucket they reached (the maximum in gyre_stats
	 * is the parent's too). */
	uint64_t minor_ns, minor_max_us, minors;
	struct pages pages;     /* where its private pages are */
	bool pages_ok;
};

static void child(int fd, const gyre_stats *at_fork)
{
	double end = now_s() + opt.seconds;
	uint64_t round = 1;
	struct report r = {0};
	while (now_s() < end) {
		for (size_t s = 0; s < entries; s++) {
			if (!churned(s))
				continue;
			uint64_t old = key_of(table[s]);
			if (!entry_ok(table[s], old) || (old & ((1ull << 40) - 1)) != s)
				_exit(1);
			GYRE_STORE_AT(table, s, entry_new(s + (round << 40)));
			r.replaced++;
			if (((size_t)r.replaced & 4095) == 0 && now_s() >= end)
				break;
		}
		round++;
	}
	for (size_t s = 0; s < entries; s++)
		if (!entry_ok(table[s], key_of(table[s])))
			_exit(1);
	gyre_stats st;
	if (gyre_stats_get(&st))
		die("gyre_stats_get");
	r.committed = st.heap_committed;
	r.collections = st.collections - at_fork->collections;
	for (int g = 0; g < 2; g++) {
		r.minors += st.gen[g].collections - at_fork->gen[g].collections;
		r.minor_ns += st.gen[g].pause_total_ns - at_fork->gen[g].pause_total_ns;
		for (int b = 0; b < GYRE_PAUSE_BUCKETS; b++)
			if (st.gen[g].pause_histogram[b] != at_fork->gen[g].pause_histogram[b] &&
			    (uint64_t)2 << b > r.minor_max_us)
				r.minor_max_us = (uint64_t)2 << b;
	}
	r.pages_ok = pages_measure(&r.pages);
	if (write(fd, &r, sizeof r) != sizeof r)
		_exit(3);
	pause(); /* the parent measures, then kills */
	_exit(0);
}

static void parse(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : "";
		if (!strcmp(a, "--no-freeze"))
			opt.freeze = false;
		else if (!strcmp(a, "--table-mb"))
			opt.table_mb = strtoull(v, NULL, 10), i++;
		else if (!strcmp(a, "--children"))
			opt.children = strtoull(v, NULL, 10), i++;
		else if (!strcmp(a, "--seconds"))
			opt.seconds = strtod(v, NULL), i++;
		else if (!strcmp(a, "--churn-percent"))
			opt.percent = strtoull(v, NULL, 10), i++;
		else {
			fputs("usage: prefork [--table-mb N] [--children N] [--seconds S] "
			      "[--churn-percent P] [--no-freeze]\n", stderr);
			exit(2);
		}
	}
	if (opt.children < 1 || opt.children > MAX_CHILDREN || opt.percent > 100)
		exit(2);
}

static void fill(void)
{
	entries = opt.table_mb * (1u << 20) / ENTRY_BYTES;
	table = gyre_alloc_array(GYRE_TYPE_PTR, entries);
	if (!table || !gyre_handle_new(table))
		die("the table");
	for (size_t s = 0; s < entries; s++)
		GYRE_STORE_AT(table, s, entry_new(s));
}

/* Fills the table, collects and (unless --no-freeze) freezes; returns
 * the statistics then. */
static gyre_stats set_up(void)
{
	static const size_t offs[] = {offsetof(struct enode, next),
				      offsetof(struct enode, payload)};
	gyre_type_desc d = {.name = "enode", .size = sizeof(struct enode),
			    .ptr_offsets = offs, .n_ptrs = 2};
	if (gyre_init(NULL) || gyre_thread_attach() || !(enode_type = gyre_type_register(&d)))
		die("gyre_init");
	double t0 = now_s();
	fill();
	if (gyre_collect(2) < 0 || (opt.freeze && gyre_freeze()))
		die("collect and freeze");
	gyre_stats st;
	if (gyre_stats_get(&st))
		die("gyre_stats_get");
	printf("prefork: %zu entries (%zu MiB asked), filled in %.1f s; %s: %llu objects "
	       "frozen, %.0f MiB; heap %.0f MiB\n", entries, opt.table_mb, now_s() - t0,
	       opt.freeze ? "frozen" : "not frozen", (unsigned long long)st.frozen_objects,
	       st.frozen_bytes / 1048576.0, st.heap_size / 1048576.0);
	fflush(stdout);
	return st;
}

/* Where the private pages of `n` children (summed in p) are, per child
 * (prefork_pages.h), and what is left beyond their own objects (blocks
 * and large objects), as a share of the frozen heap: the program's stores
 * into the frozen table, gyre's side tables and cards, and the process's
 * own memory. */
static void print_pages(const struct pages *p, size_t n, size_t frozen_heap)
{
#define MIB(x) ((double)(x) / 1048576.0 / (double)n)
	size_t own = p->own_blocks + p->own_large;
	size_t gyre = p->frozen_blocks + p->frozen_tables + p->frozen_large_cards +
		      p->own_tables + p->above_top;
	size_t total = own + gyre + p->frozen_large + p->files + p->stack + p->anon;
	double pct = 100.0 / ((double)frozen_heap / 1048576.0);
	printf("  pages (MiB): frozen blocks %.1f, their side tables %.1f; frozen "
	       "table %.1f, its cards %.1f; own blocks %.1f, their side tables %.1f, "
	       "own large objects %.1f; prefaulted above the top %.1f; files %.1f, "
	       "stack %.1f, other anonymous %.1f\n",
	       MIB(p->frozen_blocks), MIB(p->frozen_tables), MIB(p->frozen_large),
	       MIB(p->frozen_large_cards), MIB(p->own_blocks), MIB(p->own_tables),
	       MIB(p->own_large), MIB(p->above_top), MIB(p->files), MIB(p->stack),
	       MIB(p->anon));
	printf("  beyond its own objects (%.0f MiB): %.1f MiB = %.2f%% of the frozen heap: "
	       "its stores into the frozen table %.2f%%, gyre's side tables, cards and prefaulted memory "
	       "%.2f%%, files, stack and other anonymous %.2f%%\n",
	       MIB(own), MIB(total - own), pct * MIB(total - own), pct * MIB(p->frozen_large),
	       pct * MIB(gyre), pct * MIB(p->files + p->stack + p->anon));
#undef MIB
}

static void pages_add(struct pages *sum, const struct pages *p)
{
	sum->frozen_blocks += p->frozen_blocks;
	sum->frozen_tables += p->frozen_tables;
	sum->frozen_large += p->frozen_large;
	sum->frozen_large_cards += p->frozen_large_cards;
	sum->own_blocks += p->own_blocks;
	sum->own_tables += p->own_tables;
	sum->above_top += p->above_top;
	sum->own_large += p->own_large;
	sum->files += p->files;
	sum->stack += p->stack;
	sum->anon += p->anon;
}

/* Child c's line, once it has reported on fd; its private memory beyond
 * its own heap (MiB) goes to *extra, its own heap to *own. False if the
 * child failed. */
static bool report_child(size_t c, pid_t pid, int fd, size_t frozen_heap,
			 double *own, double *extra, struct pages *sum)
{
	struct report r;
	if (read(fd, &r, sizeof r) != sizeof r) {
		fprintf(stderr, "prefork: child %zu failed\n", c);
		return false;
	}
	size_t priv = rollup_kb(pid, "Private_Clean") + rollup_kb(pid, "Private_Dirty");
	*own = r.committed > frozen_heap ? (r.committed - frozen_heap) / 1048576.0 : 0;
	*extra = priv / 1024.0 - *own;
	printf("child %zu: private %.0f MiB (own heap %.0f MiB, beyond it %.0f MiB = "
	       "%.1f%% of the frozen heap); %.0f entries replaced, %zu collections, "
	       "minor pauses mean %.2f ms, max < %.1f ms\n",
	       c, priv / 1024.0, *own, *extra, 100.0 * *extra / (frozen_heap / 1048576.0),
	       r.replaced, r.collections,
	       r.minors ? r.minor_ns / 1e6 / (double)r.minors : 0.0, r.minor_max_us / 1e3);
	if (!r.pages_ok) {
		fprintf(stderr, "prefork: child %zu could not read its pagemap\n", c);
		return false;
	}
	print_pages(&r.pages, 1, frozen_heap);
	pages_add(sum, &r.pages);
	return true;
}

int main(int argc, char **argv)
{
	parse(argc, argv);
	gyre_stats st = set_up();
	size_t frozen_heap = st.heap_size;
	pid_t pids[MAX_CHILDREN];
	int fds[MAX_CHILDREN];
	for (size_t c = 0; c < opt.children; c++) {
		int p[2];
		if (pipe(p))
			die("pipe");
		pids[c] = fork();
		if (pids[c] == 0) {
			close(p[0]);
			child(p[1], &st);
		}
		close(p[1]);
		fds[c] = p[0];
	}
	double own_total = 0, extra_total = 0, own = 0, extra = 0;
	struct pages sum = {0};
	int failed = 0;
	for (size_t c = 0; c < opt.children; c++) {
		failed |= !report_child(c, pids[c], fds[c], frozen_heap, &own, &extra, &sum);
		own_total += own;
		extra_total += extra;
	}
	printf("parent: shared %.0f MiB, private %.0f MiB; children: own heap %.0f MiB and "
	       "%.1f%% of the frozen heap beyond it, on average\n",
	       (rollup_kb(getpid(), "Shared_Clean") + rollup_kb(getpid(), "Shared_Dirty")) / 1024.0,
	       (rollup_kb(getpid(), "Private_Clean") + rollup_kb(getpid(), "Private_Dirty")) / 1024.0,
	       own_total / opt.children,
	       100.0 * extra_total / opt.children / (frozen_heap / 1048576.0));
	printf("children on average:\n");
	print_pages(&sum, opt.children, frozen_heap);
	for (size_t c = 0; c < opt.children; c++) {
		int status;
		kill(pids[c], SIGKILL);
		waitpid(pids[c], &status, 0);
		failed |= !WIFSIGNALED(status);
	}
	return failed;
}
