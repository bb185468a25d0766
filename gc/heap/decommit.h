/*
 * decommit.h: giving the heap's free memory back to the kernel (DESIGN.md,
 * "Heap layout"). Without it the heap's resident memory stays at its peak
 * once the program's load drops. Gyre's memory thread (prefault.c) looks
 * once a period while collections run, and each look
 * - returns the free blocks that stayed free the whole last period beyond
 *   what the heap keeps for the next cycle (`keep`, decommit.c): whole
 *   2 MiB-aligned runs of free blocks first (a huge page each, which the
 *   prefault thread may have mapped whole), single blocks too, the
 *   longest free first, when the heap is mostly free; each with
 *   MADV_DONTNEED (the reservation is private and anonymous: the pages read
 *   as zero afterwards), taken off the free list first [INV-FREE-LISTS];
 * - lets jemalloc purge the large-object arena's pages freed a period ago
 *   or more, near a memory limit all of them (meta_decay), and tells the
 *   limit what the arena holds then (limit_refresh_arena);
 * - measures the heap's resident memory (decommit_resident).
 * One period, META_DECAY_MS, for both: memory goes back once it has not
 * been needed for that long.
 */
#ifndef GYRE_DECOMMIT_H
#define GYRE_DECOMMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/meta.h"

#define DECOMMIT_PERIOD_NS ((uint64_t)META_DECAY_MS * 1000000)

/* Forgets the last look (heap_init). */
void decommit_init(void);
/* A look: decides how many blocks to return now, and measures what is
 * resident in the first `mapped` bytes of the reservation (beyond them
 * nothing is mapped). True if there are blocks to return: the caller
 * then calls decommit_step until it returns false. Memory thread only. */
bool decommit_begin(size_t mapped);
/* Returns one run, or a batch of single blocks (each madvise a few to a
 * few hundred microseconds); true while some of what decommit_begin
 * decided is left. Memory thread only. */
bool decommit_step(void);
/* How long after a collection (and between looks while returns are
 * left) the next look comes: DECOMMIT_PERIOD_NS, or a tenth of it while a
 * memory limit binds what the heap keeps or the heap is mostly free
 * (decommit.c). Any thread. */
uint64_t decommit_delay_ns(void);
/* Bytes of the reservation resident at the last look (and after its
 * returns). Any thread. */
size_t decommit_resident(void);

#endif
