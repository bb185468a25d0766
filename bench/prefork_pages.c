/*
 * prefork_pages.c: where a bench/prefork child's private pages are (see
 * prefork_pages.h). It reads the child's own /proc/self/pagemap over the
 * heap's blocks, its side tables and its large objects, sorting each
 * private page by what it holds, frozen or the child's own; what lies
 * outside them it sorts with /proc/self/smaps (files, the stack, other
 * anonymous memory). It reads gyre's internals (the block table, the
 * large-object set), hence its own file: prefork.c uses the public API
 * only.
 *
 * The caller is an attached, RUNNING thread that does not reach a
 * safepoint while this runs, so no pause can change the block table or
 * the large-object set under it (a pause waits for it). gyre's collector
 * thread may sweep the child's blocks meanwhile; frozen blocks and frozen
 * large objects, which decide the sorting, never change.
 */

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "prefork_pages.h"
#include "gc/heap/card.h"
#include "gc/heap/freeze.h"
#include "gc/heap/heap.h"
#include "gc/heap/large.h"

#define PAGE ((uintptr_t)4096)
/* pagemap entry bits (Documentation/admin-guide/mm/pagemap.rst). */
#define PM_PRESENT ((uint64_t)1 << 63)
#define PM_EXCLUSIVE ((uint64_t)1 << 56)

/* /proc/self/pagemap, and the first-frozen-count table: frozen_before[i]
 * is the number of frozen blocks among blocks [0, i). */
struct scan {
	int fd;
	size_t top;
	size_t *frozen_before;
};

static bool private_page(const struct scan *s, uintptr_t page)
{
	uint64_t e;
	if (pread(s->fd, &e, sizeof e, (off_t)(page / PAGE * sizeof e)) != sizeof e)
		return false;
	return (e & PM_PRESENT) && (e & PM_EXCLUSIVE);
}

/* Private bytes among the pages of [from, to). */
static size_t private_bytes(const struct scan *s, uintptr_t from, uintptr_t to)
{
	uint64_t e[512];
	size_t n = 0;
	for (uintptr_t p = from & ~(PAGE - 1); p < to;) {
		size_t want = (to - p + PAGE - 1) / PAGE;
		if (want > 512)
			want = 512;
		ssize_t got = pread(s->fd, e, want * sizeof e[0], (off_t)(p / PAGE * sizeof e[0]));
		if (got <= 0)
			break;
		for (size_t i = 0; i < (size_t)got / sizeof e[0]; i++)
			n += (e[i] & PM_PRESENT) && (e[i] & PM_EXCLUSIVE);
		p += (size_t)got / sizeof e[0] * PAGE;
	}
	return n * PAGE;
}

/* A side table of `per_block` bytes per block from `base`: each private
 * page goes to *frozen if every block it covers (below the top) is
 * frozen, else to *own. */
static void table_pages(const struct scan *s, const void *base, size_t per_block,
			size_t *frozen, size_t *own)
{
	uintptr_t b = (uintptr_t)base, end = b + s->top * per_block;
	for (uintptr_t p = b & ~(PAGE - 1); p < end; p += PAGE) {
		if (!private_page(s, p))
			continue;
		size_t first = p <= b ? 0 : (p - b) / per_block;
		size_t last = (p + PAGE - b + per_block - 1) / per_block;
		if (last > s->top)
			last = s->top;
		bool all_frozen = s->frozen_before[last] - s->frozen_before[first] == last - first;
		*(all_frozen ? frozen : own) += PAGE;
	}
}

static void blocks(const struct scan *s, struct pages *p)
{
	for (size_t i = 0; i < s->top; i++) {
		uintptr_t base = (uintptr_t)heap.base + (i << BLOCK_SHIFT);
		size_t n = private_bytes(s, base, base + BLOCK_SIZE);
		bool frozen = s->frozen_before[i + 1] > s->frozen_before[i];
		*(frozen ? &p->frozen_blocks : &p->own_blocks) += n;
	}
	p->above_top = private_bytes(s, (uintptr_t)heap.base + (s->top << BLOCK_SHIFT),
				     (uintptr_t)heap.base + (heap.nblocks << BLOCK_SHIFT));
	size_t *tf = &p->frozen_tables, *to = &p->own_tables;
	table_pages(s, heap.blocks, sizeof(struct block), tf, to);
	table_pages(s, heap.cards, CARDS_PER_BLOCK, tf, to);
	table_pages(s, heap.space, 1, tf, to);
	table_pages(s, heap.card_summary, 1, tf, to);
	/* One bit per block, set for free blocks only: the child's. */
	*to += private_bytes(s, (uintptr_t)heap.free_bits,
			     (uintptr_t)heap.free_bits + (s->top + 7) / 8);
}

/* A large object's record, header and payload pages, then the pages of
 * its summary bytes and cards (which follow the payload: the page they
 * share counts as cards). */
static void large_pages(const struct scan *s, const struct large *l, struct pages *p)
{
	uintptr_t start = (uintptr_t)l, end = start + sizeof *l + l->bytes;
	uintptr_t cards = end, cards_end = end;
	if (l->cards) {
		cards = (uintptr_t)(l->cards - large_nchunks(l)) & ~(PAGE - 1);
		cards_end = (uintptr_t)(l->cards + large_ncards(l));
	}
	bool frozen = large_frozen(l);
	*(frozen ? &p->frozen_large : &p->own_large) += private_bytes(s, start, cards);
	*(frozen ? &p->frozen_large_cards : &p->own_large) += private_bytes(s, cards, cards_end);
}

/* smaps: the private bytes of file-backed mappings and of the stack. */
static bool smaps(struct pages *p, size_t *total)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	if (!f)
		return false;
	char line[512];
	size_t *into = NULL;
	*total = 0;
	while (fgets(line, sizeof line, f)) {
		unsigned long lo, hi, kb;
		int at = 0;
		/* A mapping's first line: range, perms, offset, device, inode,
		 * then its path, if any. */
		if (sscanf(line, "%lx-%lx %*s %*s %*s %*s %n", &lo, &hi, &at) == 2 && at) {
			const char *path = line + at;
			into = path[0] == '/' ? &p->files
			     : !strncmp(path, "[stack]", 7) ? &p->stack : NULL;
			continue;
		}
		if (sscanf(line, "Private_Clean: %lu kB", &kb) == 1 ||
		    sscanf(line, "Private_Dirty: %lu kB", &kb) == 1) {
			*total += kb << 10;
			if (into)
				*into += kb << 10;
		}
	}
	fclose(f);
	return true;
}

bool pages_measure(struct pages *p)
{
	memset(p, 0, sizeof *p);
	struct scan s = {.fd = open("/proc/self/pagemap", O_RDONLY), .top = heap.top};
	if (s.fd < 0)
		return false;
	/* Mapped, and unmapped before smaps is read, so that it adds no
	 * private memory of its own to the figures. */
	size_t bytes = (s.top + 1) * sizeof(size_t);
	s.frozen_before = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (s.frozen_before == MAP_FAILED) {
		close(s.fd);
		return false;
	}
	s.frozen_before[0] = 0;
	for (size_t i = 0; i < s.top; i++)
		s.frozen_before[i + 1] = s.frozen_before[i] + block_frozen(&heap.blocks[i]);
	blocks(&s, p);
	for (size_t i = 0; i < large.count; i++)
		large_pages(&s, large.objs[i], p);
	munmap(s.frozen_before, bytes);
	close(s.fd);
	size_t total;
	if (!smaps(p, &total))
		return false;
	size_t known = p->frozen_blocks + p->frozen_tables + p->frozen_large +
		       p->frozen_large_cards + p->own_blocks + p->above_top + p->own_tables +
		       p->own_large + p->files + p->stack;
	p->anon = total > known ? total - known : 0;
	return true;
}
