/*
 * limit.c: the soft memory limit (see limit.h; the policy is gyre.h's,
 * gyre_config.memory_limit).
 *
 * The collector's share of time: a sliding window of the last second of
 * wall time, in SLOTS slots of SLOT_NS. Each slot is one word holding the
 * slot's number (the monotonic clock / SLOT_NS, its low TAG_BITS) and the
 * nanoseconds noted in it, so that a note that finds the word of an older
 * slot restarts it with one compare-and-swap, with no lock: notes come
 * from the pauses' initiators and the collector thread at once. Go caps
 * its collector at half of the CPU with a limit set (GOMEMLIMIT); here a
 * little under (CAP_ON_PCT, with hysteresis), and the
 * pauses count whole (every thread is stopped) and the collector thread's
 * work as it runs, against wall time.
 *
 * Go's limiter can keep its collector to half by doing less of it (its
 * mutator assists) and letting the heap grow. The collections gyre's
 * allocations need cannot be left undone (a full nursery must be
 * emptied, a full heap collected), so while the cap holds they wait
 * (limit_hold): the program slows down. And where the heap cannot grow
 * any more (heap_max), a collection that can only recover what died
 * since the last full one found the live data over the limit is not
 * worth the collector's time: the allocation fails (limit_refuse), as
 * Java's GC overhead limit fails one when collections take nearly all
 * the time and recover little.
 */
#include <stdio.h>

#include "gc/driver/limit.h"
#include "gc/heap/card.h"
#include "gc/heap/heap.h"
#include "gc/heap/large.h"
#include "gc/heap/prefault.h"
#include "gc/old/sweep.h"
#include "runtime/atomics.h"
#include "runtime/config.h"
#include "runtime/events.h"
#include "runtime/internal.h"
#include "runtime/meta.h"

#define SLOTS 10
#define SLOT_NS ((uint64_t)100000000)
#define NS_BITS 40
#define NS_MASK (((uint64_t)1 << NS_BITS) - 1)
#define TAG_MASK (((uint64_t)1 << (64 - NS_BITS)) - 1)
/* The cap engages when the collector's share of the window passes
 * CAP_ON_PCT, and lets go once it is back under CAP_OFF_PCT. Not at 50 %:
 * a collection forced just under the cap counts whole once it is over,
 * and with the cap at 50 % bench/memlimit's share reached 52 %; and not
 * at one figure: without the gap the cap flipped 19-162 times in a run
 * of tests/unit/memlimit.c. */
#define CAP_ON_PCT 45
#define CAP_OFF_PCT 35
/* limit_note_work hands its time over this much at a time. */
#define WORK_FLUSH_NS ((uint64_t)1000000)
/* What a touched block costs in side tables: its entry (two bitmaps of
 * 512 bytes), its cards, its space and summary bytes. */
#define META_PER_BLOCK (sizeof(struct block) + CARDS_PER_BLOCK + 2)

/* Relaxed, all: each slot word is read and replaced whole (tag and count
 * together), and the counters are statistics; a late sight of a note
 * only moves the cap's decision by one slow path. */
static struct {
	_Atomic uint64_t slot[SLOTS];
	/* The collector was found over its share at the limit: set by the
	 * allocating thread that found it (which counts it), cleared by one
	 * that finds the share under CAP_OFF_PCT again. */
	_Atomic bool capped;
	/* data() right after the last full collection, or less if the
	 * lazy sweep of a cycle since ended with less in use: the live data
	 * as precisely as gyre knows it, at most (exceeds). Sync:
	 * written under collector.lock (limit_note_full with the world
	 * stopped, limit_note_swept), read relaxed: a judgement that comes a
	 * slow path late only moves a collection by as much. */
	_Atomic size_t live;
	/* The limit cannot be kept: the last full collection left the
	 * heap's data within a nursery's margin and the reserve of the
	 * limit (data_at_limit), where limit_due asks for the next one at
	 * once, and no cycle's sweep since found it back under. Sync: as
	 * `live`. */
	_Atomic bool unfit;
	/* What the large objects' arena held beyond their bytes (gyre's
	 * other metadata, freed pages not purged yet) at the memory
	 * thread's last look (limit_refresh_arena): in_use counts it without
	 * asking jemalloc on every slow path. */
	_Atomic size_t arena_extra;
	_Atomic uint64_t reached, exceeded, held_ns, refused;
} lim;

void limit_init(void)
{
	for (unsigned i = 0; i < SLOTS; i++)
		atomic_store_relaxed(&lim.slot[i], 0);
	atomic_store_relaxed(&lim.capped, false);
	atomic_store_relaxed(&lim.live, 0);
	atomic_store_relaxed(&lim.unfit, false);
	atomic_store_relaxed(&lim.arena_extra, 0);
	atomic_store_relaxed(&lim.reached, 0);
	atomic_store_relaxed(&lim.exceeded, 0);
	atomic_store_relaxed(&lim.held_ns, 0);
	atomic_store_relaxed(&lim.refused, 0);
}

/* The live data exceeds the limit, as the last full collection found it
 * (and no cycle's sweep since found less in use). */
static bool exceeds(size_t limit)
{
	return atomic_load_relaxed(&lim.live) > limit;
}

void limit_note_gc(uint64_t ns)
{
	uint64_t n = gyre_now_ns() / SLOT_NS;
	uint64_t tag = n & TAG_MASK;
	_Atomic uint64_t *w = &lim.slot[n % SLOTS];
	uint64_t old = atomic_load_relaxed(w), now;
	do {
		uint64_t had = (old >> NS_BITS) == tag ? old & NS_MASK : 0;
		uint64_t sum = had + ns < NS_MASK ? had + ns : NS_MASK;
		now = tag << NS_BITS | sum;
	} while (!atomic_compare_exchange_weak_explicit(w, &old, now, memory_order_relaxed,
							memory_order_relaxed));
}

uint64_t limit_note_work(uint64_t pending, uint64_t since)
{
	pending += gyre_now_ns() - since;
	if (pending < WORK_FLUSH_NS)
		return pending;
	limit_note_gc(pending);
	return 0;
}

/* The collector took more than pct % of the window that ends now: the
 * SLOTS - 1 whole slots before this one and this one's part. */
static bool share_over(unsigned pct)
{
	uint64_t t = gyre_now_ns(), n = t / SLOT_NS, sum = 0;
	for (unsigned i = 0; i < SLOTS; i++) {
		uint64_t w = atomic_load_relaxed(&lim.slot[i]);
		if (((n - (w >> NS_BITS)) & TAG_MASK) < SLOTS)
			sum += w & NS_MASK;
	}
	return 100 * sum > pct * ((SLOTS - 1) * SLOT_NS + t % SLOT_NS);
}

/* The cap holds: the share is over CAP_ON_PCT, or, once the cap
 * engaged, still over CAP_OFF_PCT. */
static bool over_cap(void)
{
	return share_over(atomic_load_relaxed(&lim.capped) ? CAP_OFF_PCT : CAP_ON_PCT);
}

/* Blocks in use, large objects and the side tables of every block taken
 * once (returned ones' entries stay): after a full collection, the live
 * data as the limit counts it. */
static size_t data(void)
{
	size_t used = atomic_load_relaxed(&heap.used);
	size_t touched = used / BLOCK_SIZE + atomic_load_relaxed(&heap.nfree) +
			 atomic_load_relaxed(&heap.nreturning) +
			 atomic_load_relaxed(&heap.nreturned);
	return used + touched * META_PER_BLOCK;
}

/* data(); what the memory thread mapped past the top: resident, and
 * taken by growth only after the free and returned blocks, so it may
 * stay mapped unused, and it counts as used (the room left under the
 * limit bounds it: prefault.c, want_for); and the large objects' arena
 * beyond their bytes, as of the last look. Relaxed, each count on its
 * own: a block moving between lists meanwhile is counted on one side or
 * the other. */
static size_t in_use(void)
{
	return data() + prefault_ahead() + atomic_load_relaxed(&lim.arena_extra);
}

/* What jemalloc's arena holds beyond the large objects' bytes, or 0
 * where it does not say (meta_footprint). */
static size_t arena_extra(void)
{
	size_t arena = meta_footprint(), large_bytes = atomic_load_relaxed(&large.bytes);
	return arena != SIZE_MAX && arena > large_bytes ? arena - large_bytes : 0;
}

void limit_refresh_arena(void)
{
	atomic_store_relaxed(&lim.arena_extra, arena_extra());
}

/* Everything gyre holds: the heap in use (in_use, with the arena as it
 * stands now), and its committed free blocks. */
size_t limit_total(void)
{
	return data() + prefault_ahead() + arena_extra() +
	       (atomic_load_relaxed(&heap.nfree) + atomic_load_relaxed(&heap.nreturning)) *
		       BLOCK_SIZE;
}

size_t limit_headroom(void)
{
	size_t limit = gyre_cfg.memory_limit, u = in_use();
	if (!limit)
		return SIZE_MAX;
	return u < limit ? limit - u : 0;
}

size_t limit_room(void)
{
	size_t limit = gyre_cfg.memory_limit;
	return !limit || atomic_load_relaxed(&lim.unfit) || over_cap() ? SIZE_MAX
									  : limit_headroom();
}

static void queue_event(const char *what, size_t bytes)
{
	events_queue(&(gyre_event){.kind = GYRE_EVENT_MEMORY_LIMIT, .generation = -1,
				   .reason = what, .bytes = bytes,
				   .budget = gyre_cfg.memory_limit});
}

/* in_use() is where limit_due asks for a full collection (`margin`: a
 * nursery's share, as pacer_due passes it). */
static bool at_limit(size_t limit, size_t margin)
{
	return in_use() + margin + LIMIT_RESERVE(limit) >= limit;
}

bool limit_due(size_t margin)
{
	size_t limit = gyre_cfg.memory_limit;
	if (!limit)
		return false;
	bool at = at_limit(limit, margin);
	if (!over_cap()) {
		atomic_store_relaxed(&lim.capped, false);
		return at && !sweep_old_pending() && !atomic_load_relaxed(&lim.unfit);
	}
	/* Once per pass over the share at the limit: the exchange lets one
	 * thread count it. */
	if (at && !atomic_exchange_explicit(&lim.capped, true, memory_order_relaxed)) {
		atomic_add_relaxed(&lim.exceeded, 1);
		queue_event("exceeded", limit_total());
		if (gyre_cfg.trace)
			fprintf(stderr, "gyre: t=%.6f memory limit exceeded: the collector "
				"took over %d%% of the last second; total %.1fMiB, limit %.1fMiB\n",
				gyre_now_ns() / 1e9, CAP_ON_PCT, limit_total() / 1048576.0,
				limit / 1048576.0);
	}
	return false;
}

bool limit_hold(void)
{
	return gyre_cfg.memory_limit && atomic_load_relaxed(&lim.capped) &&
	       share_over(CAP_ON_PCT);
}

void limit_note_held(uint64_t ns)
{
	atomic_add_relaxed(&lim.held_ns, ns);
}

/* The heap's data alone is where limit_due asks for a full collection:
 * no collection can bring the heap under it. Not in_use: what is mapped
 * ahead, and the arena's freed pages, the memory thread's next look
 * gives back near the limit (bench/memlimit: judged with them, the limit
 * stopped being enforced at 90% of it). */
static bool data_at_limit(size_t limit, size_t margin)
{
	return data() + margin + LIMIT_RESERVE(limit) >= limit;
}

void limit_note_full(size_t margin)
{
	size_t limit = gyre_cfg.memory_limit, now = data();
	if (!limit)
		return;
	atomic_store_relaxed(&lim.live, now);
	/* The limit stops being enforced: counted and told as when the cap
	 * engages (the event is delivered after the pause; its figure is
	 * the heap's data, not limit_total, which asks jemalloc). */
	if (!data_at_limit(limit, margin))
		atomic_store_relaxed(&lim.unfit, false);
	else if (!atomic_exchange_explicit(&lim.unfit, true, memory_order_relaxed)) {
		atomic_add_relaxed(&lim.exceeded, 1);
		queue_event("exceeded", now);
	}
}

void limit_note_swept(size_t margin)
{
	size_t limit = gyre_cfg.memory_limit, now = data();
	if (!limit)
		return;
	if (now < atomic_load_relaxed(&lim.live))
		atomic_store_relaxed(&lim.live, now);
	if (!data_at_limit(limit, margin))
		atomic_store_relaxed(&lim.unfit, false);
}

bool limit_refuse(void)
{
	size_t limit = gyre_cfg.memory_limit, live = atomic_load_relaxed(&lim.live);
	if (!limit || !atomic_load_relaxed(&lim.capped) || !exceeds(limit))
		return false;
	atomic_add_relaxed(&lim.refused, 1);
	if (gyre_cfg.trace)
		fprintf(stderr, "gyre: t=%.6f memory limit: full heap refused without a collection: "
			"the collector is over its share and the last full collection left "
			"%.1fMiB in use, limit %.1fMiB\n", gyre_now_ns() / 1e9, live / 1048576.0,
			limit / 1048576.0);
	return true;
}

void limit_note_reached(void)
{
	atomic_add_relaxed(&lim.reached, 1);
	queue_event("reached", limit_total());
}

void limit_read(gyre_stats *out)
{
	out->memory_limit = gyre_cfg.memory_limit;
	out->memory_total = limit_total();
	out->memory_limit_reached = atomic_load_relaxed(&lim.reached);
	out->memory_limit_exceeded = atomic_load_relaxed(&lim.exceeded);
	out->memory_limit_held_ns = atomic_load_relaxed(&lim.held_ns);
	out->memory_limit_refused = atomic_load_relaxed(&lim.refused);
}
