/*
 * prefork_pages.h: where a bench/prefork child's private pages are. The
 * child calls pages_measure on itself once its churn is over, while its
 * parent and siblings still map the frozen heap; bench/prefork.c prints
 * the result beside smaps_rollup's totals.
 */
#ifndef GYRE_BENCH_PREFORK_PAGES_H
#define GYRE_BENCH_PREFORK_PAGES_H

#include <stdbool.h>
#include <stddef.h>

/* Private bytes of one process, by what the pages hold. A page is
 * private when it is present and mapped by this process alone (pagemap's
 * "exclusively mapped" bit: what smaps counts as Private_*). */
struct pages {
	/* Frozen size-class blocks. The bench's program never writes a
	 * frozen object, so every private page here is one gyre wrote. */
	size_t frozen_blocks;
	/* Side-table pages (block metadata with the start and mark bits,
	 * cards, card summary and space bytes) that cover frozen blocks
	 * only: gyre's writes too. */
	size_t frozen_tables;
	/* Frozen large objects (the table): the record, header and payload
	 * pages, which the program's own stores into the table write. */
	size_t frozen_large;
	/* Their card and summary bytes: the write barrier's, for those
	 * stores (a collection writes a frozen card only where a store
	 * wrote it first). */
	size_t frozen_large_cards;
	/* The child's own blocks (every block below the heap's top that is
	 * not frozen: in use, or free and not returned). */
	size_t own_blocks;
	/* The reservation above the top: memory that gyre's prefault thread
	 * faulted in ahead of use (gc/heap/prefault.c), not yet a block. */
	size_t above_top;
	/* Side-table pages that cover at least one of the child's blocks. */
	size_t own_tables;
	/* Large objects that are not frozen (records, payloads, cards). */
	size_t own_large;
	/* Outside the heap and its side tables: file-backed mappings
	 * (libraries' data), the main thread's stack, and every other
	 * anonymous page (malloc, gyre's metadata arena with its work
	 * stacks and remembered-set vectors, threads' stacks). */
	size_t files, stack, anon;
};

/* Measures the calling process; false if /proc could not be read. */
bool pages_measure(struct pages *p);

#endif
