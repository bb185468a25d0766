/*
 * compact_cycle.c: compaction at the end of a concurrent cycle, within a
 * pause budget (compact.h, "In a concurrent cycle").
 *
 * 1. The sweepers note every generation-2 block they leave under 7/8
 *    full (compact_note_swept).
 * 2. The pause that starts a cycle chooses candidates among them, the
 *    sparsest first, as long as their objects' bytes fit the budget (at
 *    the rate the last compactions reached) and in the free slots of
 *    their class's other noted blocks. Their blocks get SPACE_EVAC, and
 *    the copier takes no slot in them (heap_take_block).
 * 3. While the cycle marks, whatever may leave an old object (generation
 *    2 or 3, or large) holding a pointer into a candidate records that
 *    slot with its holder (compact_record): marking, for every field it
 *    traces (tracers' slots and gyre's own words included); the write
 *    barrier, for every store while the cycle marks (gyre__evac_record);
 *    the copier, for every promoted copy's fields. Young holders need no
 *    record: the pause that ends the cycle retires the threads' nursery
 *    buffers and updates every young object.
 * 4. That pause, once marking is complete: blocks that a stack,
 *    register or root area word points into are dropped; the others are
 *    evacuated (compact.c) into blocks of their class lists; the recorded
 *    slots (through their holders' copies, for holders that moved), the
 *    young objects, the handles, the finalizer queue and registry
 *    and the queued weak references' links are updated. The lazy sweep
 *    then frees the evacuated blocks (their old objects are unmarked).
 *
 * A cycle that ends otherwise (a full collection) moves nothing. So does
 * one whose records found no memory.
 *
 * Sync: the buffers of records are per thread, appended to by their
 * thread only and read with the world stopped (the stop orders the
 * appends before the reads); the list of buffers is pushed to with a
 * compare-and-swap and never shrinks while gyre runs.
 */
#include <string.h>

#include "gc/final/final.h"
#include "gc/heap/roots.h"
#include "gc/heap/type.h"
#include "gc/old/compact_impl.h"
#include "gc/young/nursery.h"
#include "runtime/config.h"
#include "runtime/meta.h"
#include "threads/stw.h"

struct record {
	void **slot;
	void *holder;
};

struct records {
	struct record *v;
	size_t n, cap;
	struct records *next;
};

static _Thread_local struct records *mine;

_Atomic bool compact_recording;

/* Occupancy classes of the noted blocks (live * SHARES / nslots), taken
 * sparsest first. */
#define SHARES 8

static struct {
	_Atomic(struct records *) all;
	/* A record found no memory: the cycle moves nothing. Relaxed: read
	 * with the world stopped. */
	_Atomic bool failed;
	/* Blocks the last sweep left sparse (step 1): their indices. */
	uint32_t *sparse;
	_Atomic size_t nsparse;
	/* The cycle's candidates (step 2). Sync: pauses only. */
	struct block **cand;
	size_t ncand;
	/* Bytes evacuated and updated per nanosecond by the last ones. */
	double rate;
} cc = {.rate = 0.5};

int compact_cycle_init(void)
{
	/* Off (compact_budget_us 0): no tables, and the sweepers note
	 * nothing. */
	if (!gyre_cfg.compact_budget_us)
		return GYRE_OK;
	cc.sparse = meta_alloc(heap.nblocks * sizeof(*cc.sparse));
	cc.cand = meta_alloc(heap.nblocks * sizeof(*cc.cand));
	atomic_store_relaxed(&cc.nsparse, 0);
	return cc.sparse && cc.cand ? GYRE_OK : GYRE_ENOMEM;
}

void compact_cycle_shutdown(void)
{
	for (struct records *r = atomic_load_relaxed(&cc.all), *next; r; r = next) {
		next = r->next;
		meta_free(r->v);
		meta_free(r);
	}
	atomic_store_relaxed(&cc.all, NULL);
	mine = NULL;
	meta_free(cc.sparse);
	meta_free(cc.cand);
	cc.sparse = NULL;
	cc.cand = NULL;
	atomic_store_relaxed(&compact_recording, false);
}

/* ----------------------------------------------------- 1. sparse blocks */

void compact_sweep_begin(void)
{
	atomic_store_relaxed(&cc.nsparse, 0);
}

void compact_note_swept(const struct block *b, uint32_t live)
{
	if (!cc.sparse || live == 0 || live * 8 >= b->nslots * 7)
		return;
	size_t i = atomic_add_relaxed(&cc.nsparse, 1);
	cc.sparse[i] = (uint32_t)block_index(b);
}

/* ---------------------------------------------------- 2. the candidates */

void compact_cycle_choose(void)
{
	GYRE_ASSERT(stw_world_stopped() && !compact_cycle_planned());
	cc.ncand = 0;
	size_t n = atomic_load_relaxed(&cc.nsparse);
	if (gyre_cfg.compact <= 0 || !gyre_cfg.compact_budget_us || !cc.sparse || !n)
		return;
	/* Room: the free slots of the noted blocks of each class. */
	size_t room[SIZECLASS_COUNT] = {0}, moved[SIZECLASS_COUNT] = {0};
	for (size_t i = 0; i < n; i++) {
		struct block *b = &heap.blocks[cc.sparse[i]];
		if (b->state == BLOCK_SMALL && b->gen == 2)
			room[b->sizeclass] += b->nslots - b->live;
	}
	double budget = (double)gyre_cfg.compact_budget_us * 1000 * cc.rate;
	double bytes = 0;
	for (unsigned share = 0; share < SHARES; share++)
		for (size_t i = 0; i < n; i++) {
			struct block *b = &heap.blocks[cc.sparse[i]];
			if (b->state != BLOCK_SMALL || b->gen != 2 || b->owned ||
			    b->live * SHARES / b->nslots != share)
				continue;
			unsigned c = b->sizeclass;
			double live_bytes = (double)b->live * b->obj_size;
			if (bytes + live_bytes > budget ||
			    moved[c] + b->nslots > room[c])
				continue;
			moved[c] += b->live;
			room[c] -= b->nslots - b->live;
			bytes += live_bytes;
			cc.cand[cc.ncand++] = b;
			__atomic_fetch_or(&heap.space[block_index(b)], SPACE_EVAC, __ATOMIC_RELAXED);
		}
	atomic_store_relaxed(&compact_recording, cc.ncand > 0);
	for (struct records *r = atomic_load_relaxed(&cc.all); r; r = r->next)
		r->n = 0;
	atomic_store_relaxed(&cc.failed, false);
}

/* ------------------------------------------------------- 3. the records */

static bool grow(struct records *r)
{
	size_t cap = r->cap ? r->cap * 2 : 1024;
	struct record *v = meta_realloc(r->v, cap * sizeof(*v));
	if (!v)
		return false;
	r->v = v;
	r->cap = cap;
	return true;
}

static struct records *my_records(void)
{
	if (mine)
		return mine;
	struct records *r = meta_calloc(sizeof(*r));
	if (!r)
		return NULL;
	r->next = atomic_load_relaxed(&cc.all);
	/* Release: the record's fields, before it is seen on the list. */
	while (!atomic_compare_exchange_weak_explicit(&cc.all, &r->next, r,
						       memory_order_release,
						       memory_order_relaxed))
		;
	mine = r;
	return r;
}

void compact_record(const void *holder, void **slot)
{
	if (!holder || (heap_contains((uintptr_t)holder) &&
			(space_of((uintptr_t)holder) & SPACE_GEN_MASK) < 2))
		return;
	struct records *r = my_records();
	if (!r || (r->n == r->cap && !grow(r))) {
		atomic_store_relaxed(&cc.failed, true);
		return;
	}
	r->v[r->n++] = (struct record){slot, (void *)holder};
}

size_t compact_records(void)
{
	size_t n = 0;
	for (struct records *r = atomic_load_acquire(&cc.all); r; r = r->next)
		n += r->n;
	return n;
}

GYRE_API void gyre__evac_record(void *obj, void **slot)
{
	compact_record(obj, slot);
}

/* ------------------------------------------------------ 4. the evacuation */

static void drop(struct block *b)
{
	__atomic_fetch_and(&heap.space[block_index(b)], (uint8_t)~SPACE_EVAC, __ATOMIC_RELAXED);
}

void compact_cycle_abandon(void)
{
	for (size_t i = 0; i < cc.ncand; i++)
		drop(cc.cand[i]);
	cc.ncand = 0;
	atomic_store_relaxed(&compact_recording, false);
}

static void held_word(uintptr_t v, void *ctx)
{
	(void)ctx;
	if (heap_contains(v) && (space_of(v) & SPACE_EVAC))
		drop(block_of(v));
}

static void held_range(uintptr_t lo, uintptr_t hi, void *ctx)
{
	roots_scan_words(lo, hi, held_word, ctx);
}

/* Candidates no root pins go to cp.cand; each class gets destinations
 * from its class list, as many as its candidates' marked objects need.
 * False without memory. */
static bool plan(void)
{
	size_t need[SIZECLASS_COUNT] = {0}, ndest = 0;
	cp.cand = meta_alloc(cc.ncand * sizeof(*cp.cand));
	cp.dest = meta_alloc(heap.top * sizeof(*cp.dest));
	if (!cp.cand || !cp.dest)
		return false;
	for (size_t i = 0; i < cc.ncand; i++) {
		struct block *b = cc.cand[i];
		if (!(heap.space[block_index(b)] & SPACE_EVAC))
			continue;
		cp.cand[cp.ncand++] = b;
		need[b->sizeclass] += compact_marked_slots(b);
	}
	for (unsigned c = 0; c < SIZECLASS_COUNT; c++) {
		cp.dest_start[c] = ndest;
		atomic_store_relaxed(&cp.dest_next[c], ndest);
		size_t room = 0;
		for (struct block *b = heap.classes[1][c].head; b && room < need[c]; b = b->next) {
			if (heap.space[block_index(b)] & SPACE_EVAC)
				continue;
			cp.dest[ndest++] = b;
			room += b->nslots - compact_marked_slots(b);
		}
	}
	cp.dest_start[SIZECLASS_COUNT] = ndest;
	return true;
}

/* Young objects are no holders on record: every one is updated, dead or
 * alive (a dead one's fields are read, and rewritten only where they name
 * a moved object). Cheaper than promoting them all: a young collection
 * copies what survives, this reads each object once. */
static void update_block(struct block *b)
{
	for (unsigned i = 0; i < BITMAP_WORDS; i++)
		for (uint64_t m = b->starts[i]; m; m &= m - 1) {
			uint32_t s = bitmap_slot(i, m);
			compact_update_object(object_from_slot(block_base(b) +
							       (size_t)s * b->obj_size),
					      false);
		}
}

static void update_young(void)
{
	for (struct block *b = nursery.blocks; b; b = b->next) {
		nursery_parse(b);
		update_block(b);
	}
	for (struct block *b = heap.gen1; b; b = b->gnext)
		if (b->state == BLOCK_SMALL)
			update_block(b);
}

/* A recorded slot, through its holder's copy if the holder moved. A
 * tracer's object is traced again instead: a slot may have left its
 * tracer's view since (gyre.h), and hold something else. */
static void update_record(const struct record *rec)
{
	void *holder = compact_moved(rec->holder);
	void **slot = (void **)((char *)holder + ((char *)rec->slot - (char *)rec->holder));
	if (type_get(header_type(*object_header(holder)))->kind == TYPE_TRACE)
		compact_update_object(holder, false);
	else
		compact_update_slot(slot, NULL, false);
}

void compact_cycle_remark(struct compact_result *r)
{
	GYRE_ASSERT(stw_world_stopped());
	memset(r, 0, sizeof(*r));
	if (!compact_cycle_planned())
		return;
	atomic_store_relaxed(&compact_recording, false);
	roots_for_each_stack(0, 1, held_range, NULL);
	roots_for_each_area(held_range, NULL);
	cp.nworkers = workers_count();
	cp.workers = meta_calloc(sizeof(struct worker) * cp.nworkers);
	if (atomic_load_relaxed(&cc.failed) || !cp.workers || !plan() || !cp.ncand) {
		compact_release();
		compact_cycle_abandon();
		return;
	}
	uint64_t t0 = gyre_now_ns();
	r->blocks = cp.ncand;
	compact_evacuate();
	uint64_t t1 = gyre_now_ns();
	for (struct records *rs = atomic_load_relaxed(&cc.all); rs; rs = rs->next) {
		for (size_t i = 0; i < rs->n; i++)
			update_record(&rs->v[i]);
		rs->n = 0;
	}
	update_young();
	compact_update_roots();
	final_for_each_weak_link(compact_update_root, NULL);
	compact_add_result(r);
	r->evacuate_ns = t1 - t0;
	r->update_ns = gyre_now_ns() - t1;
	uint64_t ns = r->evacuate_ns + r->update_ns;
	if (ns && r->bytes)
		cc.rate = (cc.rate + (double)r->bytes / (double)ns) / 2;
	compact_release();
	compact_cycle_abandon();
}
