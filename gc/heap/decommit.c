/*
 * decommit.c: returning free blocks to the kernel (see decommit.h).
 *
 * What the heap keeps: the free blocks the next stretch of collections is
 * expected to take. Generation 2 grows by at most the pacer's allowance
 * (collect_allowance: growth% of what was live, at least heap_min) before
 * its next collection frees blocks again; the nursery takes threshold0
 * bytes of blocks between two minor collections, and the survivors of a
 * minor collection are copied into fresh blocks before its from-space is
 * freed (up to another threshold0). So `keep` is the allowance plus twice
 * threshold0. Returning less would make the program fault the same pages
 * in again within a cycle, in its own threads or in pauses.
 *
 * How long: a look returns at most what heap.free held beyond `keep` all
 * through the period since the last look (its low-water mark less keep):
 * that many free blocks were not needed for a whole period, the burst
 * they are kept for. What a gen-2 sweep frees in bulk is then returned
 * one to two periods after it, whatever the rate of collections.
 *
 * Which: whole runs first (a huge page whose 32 blocks are all free: one
 * madvise, nothing split), from the top of the heap down; then, only when
 * the heap is mostly free (its committed free blocks outweigh what it
 * uses), single blocks from the cold end of the free list, which split
 * huge pages but matter when little is in use. Returned memory is also
 * marked MADV_NOHUGEPAGE, the reservation's own setting: a whole returned
 * run reused in a region the prefault thread had asked huge pages for
 * would otherwise be faulted in as one huge page at once (2-4 ms, maybe in
 * a pause), and khugepaged, which collapses a region with a single page
 * mapped (max_ptes_none 511), would fill a partly returned huge page again.
 *
 * After a drop (the heap mostly free: its committed free blocks beyond
 * `keep` outweigh the blocks in use), a look returns what is beyond keep
 * at once, and looks come a tenth of a period after collections, not a
 * period: a program that let go of most of its data is not about to
 * take it all back within a second, and waiting one or two periods was
 * most of the time bench/shrink took to give 1.1 GiB back. The sweep that
 * ended such a drop asks for a look (prefault_stir).
 *
 * Near a memory limit (gyre_config.memory_limit), free committed blocks
 * count against it like blocks in use: `keep` is then at most the room
 * left under the limit (limit_room), a look returns whatever heap.free
 * holds beyond that at once (not only what stayed free a whole period),
 * single blocks too when no run is left, and looks come a tenth of a
 * period after collections: freed memory goes back before the heap grows
 * into memory it does not hold yet.
 */
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "gc/driver/collect.h"
#include "gc/driver/limit.h"
#include "gc/heap/decommit.h"
#include "gc/heap/heap.h"
#include "runtime/atomics.h"
#include "runtime/config.h"
#include "runtime/internal.h"

/* Single blocks returned per step: a millisecond or so (two madvise
 * calls of 5-20 us each per block). */
#define SCATTER_BATCH 32

/* Sync: the memory thread only, except `resident`. */
static struct {
	size_t quota;     /* blocks still to return since the last look */
	size_t keep;      /* blocks heap.free keeps */
	size_t below;     /* runs are looked for below this block */
	bool single;      /* runs are done: single blocks now */
	bool limited;     /* keep is bound by the memory limit */
	size_t mapped;    /* bytes of the reservation that may be resident */
	/* What this look returned, for GYRE_TRACE: runs, single blocks,
	 * when it began. */
	size_t runs, singles;
	uint64_t start_ns;
	/* Relaxed: a statistic, read on its own. */
	_Atomic size_t resident;
} dc;

/* What heap.free keeps; `limited`: the memory limit binds it. */
static size_t keep_blocks(bool *limited)
{
	size_t t[3];
	collect_get_thresholds(t);
	size_t bytes = collect_allowance() + 2 * t[0];
	size_t room = limit_room();
	*limited = room < bytes;
	bytes = *limited ? room : bytes;
	return (bytes + BLOCK_SIZE - 1) / BLOCK_SIZE;
}

/* The heap is mostly free beyond what it keeps (see above). */
static bool dropped(size_t keep)
{
	size_t free = atomic_load_relaxed(&heap.nfree);
	return free > keep && free - keep > atomic_load_relaxed(&heap.used) / BLOCK_SIZE;
}

uint64_t decommit_delay_ns(void)
{
	bool limited;
	size_t keep = keep_blocks(&limited);
	return limited || dropped(keep) ? DECOMMIT_PERIOD_NS / 10 : DECOMMIT_PERIOD_NS;
}

/* Resident pages of the first dc.mapped bytes, counted with mincore 64
 * MiB at a time. */
static void measure_resident(void)
{
	static unsigned char vec[16384];
	size_t page = (size_t)sysconf(_SC_PAGESIZE), pages = 0;
	for (size_t off = 0; off < dc.mapped; off += sizeof(vec) * page) {
		size_t len = dc.mapped - off < sizeof(vec) * page ? dc.mapped - off
								     : sizeof(vec) * page;
		if (mincore(heap.base + off, len, vec) != 0)
			return;
		for (size_t i = 0; i < (len + page - 1) / page; i++)
			pages += vec[i] & 1;
	}
	atomic_store_relaxed(&dc.resident, pages * page);
}

void decommit_init(void)
{
	dc.quota = 0;
	atomic_store_relaxed(&dc.resident, 0);
}

bool decommit_begin(size_t mapped)
{
	size_t low = heap_free_low_reset();
	dc.keep = keep_blocks(&dc.limited);
	/* Near the limit every freed page of the large objects' arena goes
	 * back now: they count towards it (limit_total). */
	meta_decay(dc.limited);
	limit_refresh_arena();
	if (dc.limited || dropped(dc.keep))
		low = atomic_load_relaxed(&heap.nfree);
	dc.quota = low > dc.keep ? low - dc.keep : 0;
	dc.below = heap.nblocks;
	dc.single = false;
	dc.mapped = mapped;
	dc.runs = dc.singles = 0;
	dc.start_ns = gyre_now_ns();
	if (!dc.quota)
		measure_resident();
	return dc.quota > 0;
}

/* The look's returns are done. */
static void trace_line(void)
{
	uint64_t now = gyre_now_ns();
	fprintf(stderr,
		"gyre: t=%.6f returned %.1fMiB (%zu runs, %zu single blocks) in "
		"%.3fms: free %.1fMiB, keep %.1fMiB, returned %.1fMiB, resident "
		"%.1fMiB\n", now / 1e9,
		(double)(dc.runs * HUGE_RUN + dc.singles) * BLOCK_SIZE / 1048576.0,
		dc.runs, dc.singles, (now - dc.start_ns) / 1e6,
		(double)atomic_load_relaxed(&heap.nfree) * BLOCK_SIZE / 1048576.0,
		(double)dc.keep * BLOCK_SIZE / 1048576.0,
		(double)atomic_load_relaxed(&heap.nreturned) * BLOCK_SIZE / 1048576.0,
		atomic_load_relaxed(&dc.resident) / 1048576.0);
}

/* Gives [p, p + bytes) back; false if the kernel refused. */
static bool give_back(char *p, size_t bytes)
{
	char *lo = (char *)((uintptr_t)p & ~(HUGE_PAGE - 1));
	char *hi = (char *)(((uintptr_t)p + bytes + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1));
	/* Fails harmlessly where THP is not built in. */
	madvise(lo, (size_t)(hi - lo), MADV_NOHUGEPAGE);
	return madvise(p, bytes, MADV_DONTNEED) == 0;
}

/* One run, if one is left and the quota takes it; false otherwise. */
static bool return_run(void)
{
	if (dc.quota < HUGE_RUN)
		return false;
	size_t first = heap_claim_run(dc.below, dc.keep);
	if (first == SIZE_MAX)
		return false;
	dc.below = first;
	heap_end_return(give_back(block_base(&heap.blocks[first]), HUGE_PAGE));
	dc.quota -= HUGE_RUN;
	dc.runs++;
	return true;
}

/* A batch of single blocks from the cold end of the free list. */
static void return_single(void)
{
	size_t want = dc.quota < SCATTER_BATCH ? dc.quota : SCATTER_BATCH;
	size_t n = heap_claim_blocks(want, dc.keep);
	bool ok = true;
	/* heap.returning is this thread's alone (heap.h). */
	for (struct block *b = heap.returning; b; b = b->next)
		ok &= give_back(block_base(b), BLOCK_SIZE);
	heap_end_return(ok);
	dc.quota = n < want ? 0 : dc.quota - n;
	dc.singles += n;
}

bool decommit_step(void)
{
	if (!dc.single && !return_run()) {
		dc.single = true;
		/* Mostly free: its committed free blocks outweigh the blocks
		 * and large objects in use; or a memory limit binds. */
		size_t free = atomic_load_relaxed(&heap.nfree) * BLOCK_SIZE;
		if (free <= atomic_load_relaxed(&heap.used) && !dc.limited)
			dc.quota = 0;
	}
	if (dc.single && dc.quota)
		return_single();
	if (dc.quota)
		return true;
	measure_resident();
	if (gyre_cfg.trace && dc.runs + dc.singles)
		trace_line();
	return false;
}

size_t decommit_resident(void)
{
	return atomic_load_relaxed(&dc.resident);
}
