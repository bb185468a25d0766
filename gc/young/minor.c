/*
 * minor.c: the minor collection (see minor.h). In order, world stopped:
 *
 * 1. setup: every nursery block (and, for generation 1, every gen-1 block)
 *    becomes from-space; gen-1 class lists are emptied so that no copy
 *    lands in from-space. While most of the nursery survives, its fuller
 *    blocks are promoted in place: listed with the pinned blocks, every
 *    object reached in them stays (like a pinned one), and their space
 *    byte says generation 2, the generation they join at release.
 * 2. prepare (parallel): the calling worker pins what stacks, registers
 *    and root areas point at in from-space (parsing nursery blocks to find
 *    object starts); all workers turn each dirty card of the other blocks
 *    and of large objects into "pending" (card value 2).
 * 3. copy (parallel): roots are the pinned objects, handles and pending
 *    cards; every from-space object they reach is copied (the winner of a
 *    compare-and-swap on its header installs the forwarding address), and
 *    copies are scanned from the workers' stacks. A scanned field that
 *    still points to a younger generation than its holder's gets its card
 *    dirtied (value 1); only the scanner of a pending card clears its
 *    pending bit, and no one clears the dirty bit, so no dirtying is lost.
 * 4. release: copies get their start bits; blocks promoted in place become
 *    PACKED blocks of generation 2; nursery and gen-1 blocks with pinned
 *    objects stay (their start bits name exactly those objects), the
 *    others are freed.
 *
 * If to-space is exhausted (heap maximum), the object stays in place
 * (HDR_STAYS) like a pinned one, and is scanned like a copy, by the
 * worker that claimed it alone (the pinned objects' scan skips it): the
 * collection never fails for memory, and takes no longer for it.
 * If a copy stack cannot grow, the overflow flag is
 * raised and, after the parallel phase, every copy and pinned object is
 * scanned again on one thread (processing a field twice is harmless) until
 * no flag is raised.
 *
 * This file is the driver; minor_copy.c pins and copies, minor_cards.c
 * prepares and scans cards, minor_release.c releases, and minor_impl.h
 * holds what they share.
 */
#include "gc/final/final.h"
#include "gc/heap/heap.h"
#include "gc/young/minor.h"
#include "gc/young/minor_impl.h"
#include "gc/young/nursery.h"
#include "gc/driver/work.h"
#include "runtime/config.h"
#include "runtime/meta.h"
#include "threads/stw.h"
#include "threads/workers.h"

struct minor_state minor_state = {.pin_lock = PTHREAD_MUTEX_INITIALIZER};
LOCK_RANKED(LOCK_PIN, &minor_state.pin_lock, 1, sizeof(pthread_mutex_t))

int minor_init(unsigned workers)
{
	minor_state.copiers = meta_calloc(sizeof(struct copier) * workers);
	if (!minor_state.copiers)
		return GYRE_ENOMEM;
	if (work_pool_init(&minor_state.wp, workers)) {
		meta_free(minor_state.copiers);
		return GYRE_ENOMEM;
	}
	for (unsigned i = 0; i < workers; i++)
		minor_state.copiers[i].w = &minor_state.wp.stacks[i];
	minor_state.rescans = 0;
	minor_state.retained_objects = minor_state.retained_bytes = 0;
	minor_state.gen1_objects = minor_state.gen1_bytes = 0;
	minor_state.survival = 0;
	minor_state.collections = 0;
	return GYRE_OK;
}

void minor_shutdown(void)
{
	for (unsigned i = 0; i < minor_state.wp.nstacks; i++) {
		ptrvec_free(&minor_state.copiers[i].weak);
		ptrvec_free(&minor_state.copiers[i].eph);
		ptrvec_free(&minor_state.copiers[i].frozen_pending);
	}
	work_pool_shutdown(&minor_state.wp);
	meta_free(minor_state.copiers);
	minor_state.copiers = NULL;
}

void minor_set_stack_limit(size_t entries)
{
	minor_state.wp.stack_limit = entries;
}

size_t minor_gen1_bytes(void)
{
	return minor_state.gen1_bytes;
}

size_t minor_rescans(void)
{
	return minor_state.rescans;
}

/* ---------------------------------------------------------------- driver */

static uint32_t count_starts(const struct block *b)
{
	uint32_t n = 0;
	for (unsigned i = 0; i < BITMAP_WORDS; i++)
		n += (uint32_t)__builtin_popcountll(b->starts[i]);
	return n;
}

void minor_recount(void)
{
	minor_state.retained_objects = minor_state.retained_bytes = 0;
	for (struct block *b = nursery.blocks; b; b = b->next) {
		minor_state.retained_objects += count_starts(b);
		minor_state.retained_bytes += minor_unstay(b);
	}
	minor_state.gen1_objects = minor_state.gen1_bytes = 0;
	for (struct block *b = heap.gen1; b; b = b->gnext) {
		uint32_t n = count_starts(b);
		minor_state.gen1_objects += n;
		minor_state.gen1_bytes += (size_t)n * b->obj_size;
	}
}

/* Promotion in place pays off when what it leaves behind (the dead
 * objects of the blocks it promotes, holes until a block empties) is
 * small against what it saves (copying the rest): at this survival. */
#define IN_PLACE_SURVIVAL 0.7
/* A block is promoted in place only if at least this much of it is
 * objects: the rest of a block taken late in the cycle would be a hole. */
#define IN_PLACE_FILL (BLOCK_SIZE * 3 / 4)

/* Whether nursery block b is promoted in place this collection. A block
 * retained for pinned objects is full to its top of dead ones: promoted,
 * a few objects would hold all of it. */
static bool promote_in_place(const struct block *b, bool survives)
{
	if (gyre_cfg.promote_in_place == 2)
		return survives && b->top > 0;
	return survives && !b->retained && b->top >= IN_PLACE_FILL;
}

/* Whether this collection promotes blocks in place: while most of the
 * nursery survives, unless the packed blocks' holes can take what
 * survives (a nursery's worth: copies fill holes, and promoting then
 * would only make more), and while the heap has room for the holes it
 * makes (a quarter of the heap in use, besides the nursery: near the
 * heap's maximum or the memory limit, memory is worth more than the
 * copy). The test mode promotes every other collection, so that copies
 * go into the holes the ones between leave. */
static bool in_place_due(size_t room)
{
	if (gyre_cfg.promote_in_place == 2)
		return minor_state.collections % 2 == 0;
	size_t handed = atomic_load_relaxed(&nursery.handed);
	return gyre_cfg.promote_in_place > 0 &&
	       minor_state.survival >= IN_PLACE_SURVIVAL &&
	       packed_holes_bytes() < handed &&
	       room >= atomic_load_relaxed(&heap.used) / 4 + handed;
}

/* The nursery becomes from-space; the blocks promoted in place are
 * listed with the pinned ones, which scan_pinned and the overflow rescan
 * walk. */
static void setup_nursery(size_t room)
{
	bool survives = in_place_due(room);
	for (struct block *b = nursery.blocks; b; b = b->next) {
		if (!promote_in_place(b, survives)) {
			block_set_from(b, true);
			continue;
		}
		/* Generation 2 in its metadata too: heap_gen_of (the
		 * finalizer queue's card rule) must agree with the space
		 * byte. */
		b->in_place = true;
		b->gen = 2;
		b->pin_next = minor_state.pinned;
		minor_state.pinned = b;
		heap.space[block_index(b)] = 2 | SPACE_FROM;
	}
}

static void note_survival(const struct minor_result *r)
{
	minor_state.collections++;
	if (!r->young_bytes)
		return;
	double share = (double)r->young_survived / (double)r->young_bytes;
	minor_state.survival = (minor_state.survival + share) / 2;
}

/* Runs a job on the workers taking part (work_pool_start): alone, it is
 * a call, without waking anyone. */
static void run_job(worker_fn fn, void *arg)
{
	if (minor_state.wp.nactive == 1)
		fn(0, arg);
	else
		workers_run(fn, arg);
}

struct minor_result minor_collect(unsigned gen, bool tenure_all, size_t gen1_max,
				  bool solo, size_t growth_room)
{
	GYRE_ASSERT(stw_world_stopped() && gen <= 1);
	struct minor_result r = {0};
	size_t from_objects = atomic_load_relaxed(&nursery.objects) + minor_state.retained_objects;
	size_t from_bytes = atomic_load_relaxed(&nursery.bytes) + minor_state.retained_bytes;
	minor_state.tenure_age = tenure_all ? 0 : gyre_cfg.tenure_age;
	minor_state.pinned = NULL;
	setup_nursery(growth_room);
	r.young_bytes = from_bytes;
	if (gen == 1) {
		r.gen1_bytes = minor_state.gen1_bytes;
		from_objects += minor_state.gen1_objects;
		from_bytes += minor_state.gen1_bytes;
		minor_state.gen1_objects = minor_state.gen1_bytes = 0;
		for (struct block *b = heap.gen1; b; b = b->gnext)
			block_set_from(b, true);
		for (unsigned k = 0; k < SIZECLASS_COUNT; k++)
			heap.classes[0][k].head = NULL;
	}
	work_pool_start(&minor_state.wp, solo ? 1 : minor_state.wp.nstacks);
	size_t room = gen1_max > minor_state.gen1_bytes ? gen1_max - minor_state.gen1_bytes : 0;
	for (unsigned i = 0; i < minor_state.wp.nstacks; i++)
		minor_state.copiers[i].gen1_room = room / minor_state.wp.nactive;

	uint64_t t0 = gyre_now_ns();
	minor_state.top = heap.top;
	atomic_store_relaxed(&minor_state.next_block, 0);
	atomic_store_relaxed(&minor_state.next_large, 0);
	run_job(minor_prepare_worker, NULL);
	for (unsigned i = 0; i < minor_state.wp.nactive; i++)
		r.dirty_cards += minor_state.copiers[i].dirty_cards;
	/* Here, not in the pin pass: other workers read space bytes
	 * meanwhile. The copy job's start publishes them. */
	for (struct block *b = minor_state.pinned; b; b = b->pin_next)
		heap.space[block_index(b)] |= SPACE_PINNED;
	uint64_t t1 = gyre_now_ns();

	final_check_young();
	atomic_store_relaxed(&minor_state.overflow, false);
	run_job(minor_copy_worker, minor_state.pinned);
	minor_recover();
	minor_final();
	GYRE_ASSERT(cds_lfs_empty(&minor_state.wp.pool));
	uint64_t t2 = gyre_now_ns();

	minor_release_copies(&r);
	if (gen == 1)
		minor_release_gen1(&r);
	minor_release_nursery(&r);
	atomic_store_relaxed(&nursery.handed, 0);
	atomic_store_relaxed(&nursery.objects, 0);
	atomic_store_relaxed(&nursery.bytes, 0);
	/* The nursery's bytes are granule-rounded and the copies' slot-sized:
	 * the difference is an estimate, never below zero. */
	r.collected_objects = from_objects > r.survived_objects
				      ? from_objects - r.survived_objects : 0;
	r.collected_bytes = from_bytes > r.survived_bytes
				    ? from_bytes - r.survived_bytes : 0;
	note_survival(&r);
	r.prepare_ns = t1 - t0;
	r.copy_ns = t2 - t1;
	r.release_ns = gyre_now_ns() - t2;
	return r;
}
