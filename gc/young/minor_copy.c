/*
 * minor_copy.c: the copying core of the minor collection (minor.c has the
 * phases in order): pinning what conservative roots point at, evacuating
 * from-space objects (claimed by a compare-and-swap on the header, copied
 * into a run of the worker's own), scanning copies through a prefetch
 * ring, and the copy phase's job with its overflow recovery.
 */
#include <string.h>

#include "gc/heap/card.h"
#include "gc/old/compact.h"
#include "gc/final/final.h"
#include "gc/heap/freeze.h"
#include "gc/heap/heap.h"
#include "gc/heap/large.h"
#include "gc/young/minor_impl.h"
#include "gc/young/nursery.h"
#include "gc/heap/roots.h"
#include "gc/heap/run.h"
#include "gc/heap/type.h"
#include "gc/driver/work.h"
#include "runtime/config.h"

static inline uint32_t slot_of(const struct block *b, const void *obj)
{
	return block_slot(b, (uintptr_t)obj - HEADER_SIZE);
}

static inline bool slot_marked(const struct block *b, uint32_t s)
{
	return atomic_load_relaxed(&b->marks[s / 64]) >> (s % 64) & 1;
}

static inline void slot_mark(struct block *b, uint32_t s)
{
	atomic_or_relaxed(&b->marks[s / 64], UINT64_C(1) << (s % 64));
}

/* ------------------------------------------------------------- pinning */

/* Lists a block that keeps objects in place (one promoted in place was
 * listed at setup). Caller: the pin pass alone, or a worker holding
 * pin_lock. */
static void list_pinned(struct block *b)
{
	if (!b->pinned && !b->stayed && !b->in_place) {
		b->pin_next = minor_state.pinned;
		minor_state.pinned = b;
	}
}

static void pin_word(uintptr_t v, void *ctx)
{
	(void)ctx;
	if (!heap_contains(v))
		return;
	struct block *b = block_of(v);
	if (!block_from(b))
		return;
	if (b->state == BLOCK_NURSERY)
		nursery_parse(b);
	void *obj = heap_find_small(v);
	if (obj) {
		slot_mark(b, slot_of(b, obj));
		list_pinned(b);
		b->pinned = true;
	}
}

void minor_pin_range(uintptr_t lo, uintptr_t hi, void *ctx)
{
	roots_scan_words(lo, hi, pin_word, ctx);
}

/* ------------------------------------------------------------- copying */

static void lost(struct work_stack *w, void *obj)
{
	(void)w;
	(void)obj;
	atomic_store_relaxed(&minor_state.overflow, true);
}

static inline void push(struct copier *c, void *obj)
{
	if (!work_push(&minor_state.wp, c->w, obj))
		lost(c->w, obj);
}

/* A slot of class k in generation gen; its run records it in the mark
 * bits (start bits are set at release: card scanners read them
 * meanwhile). */
static inline char *to_alloc(struct copier *c, unsigned gen, unsigned k)
{
	struct run *r = &c->to[gen - 1][k];
	if (GYRE_UNLIKELY((size_t)(r->limit - r->cursor) < sizeclass_size[k])) {
		if (!run_refill(r, gen, k))
			return NULL;
		struct block *b = r->block;
		if (!b->copy_next) {
			b->copy_next = c->blocks ? c->blocks : b;
			c->blocks = b;
		}
	}
	char *slot = r->cursor;
	r->cursor += sizeclass_size[k];
	/* To-space is written in address order: fetch a few lines ahead
	 * for writing, so the copies' stores hit. */
	__builtin_prefetch(slot + 256, 1);
	return slot;
}

/* A slot in generation 2 for an object of `bytes`: in a hole of a packed
 * block while there are some (its footprint is then *size, the bytes
 * GRANULE-rounded, and its mark bit is set by the caller once claimed),
 * else of class k. */
static inline char *to_alloc_old(struct copier *c, unsigned k, size_t bytes,
				 size_t *size, bool *hole)
{
	*hole = false;
	*size = sizeclass_size[k];
	/* Only promotion in place makes holes: without it, one test of a
	 * setting fixed at init. */
	if (gyre_cfg.promote_in_place > 0 && (packed_holes_bytes() || c->hole.block)) {
		size_t footprint = (bytes + GRANULE - 1) & ~(size_t)(GRANULE - 1);
		char *slot = packed_alloc(&c->hole, footprint, &c->blocks);
		if (slot) {
			*hole = true;
			*size = footprint;
			return slot;
		}
	}
	return to_alloc(c, 2, k);
}

/* Copies the payload: most objects are a few words, for which a call to
 * memcpy costs more than the copy. Whole words: both objects' slots are
 * granule-aligned, so the last partial word is inside both. */
static inline void copy_words(void *dst, const void *src, size_t bytes)
{
	if (bytes <= 64) {
		uint64_t *d = dst;
		const uint64_t *s = src;
		for (size_t i = 0; i < (bytes + 7) / 8; i++)
			d[i] = s[i];
	} else {
		memcpy(dst, src, bytes);
	}
}

/* An object that cannot be copied (to-space is exhausted) stays in place,
 * like a pinned one, and is scanned like a copy: the winner of its claim
 * pushes it, and scan_pinned leaves it to that worker (two workers
 * scanning one object would race on its fields). Left to the overflow
 * rescan instead, each object that stayed cost a pass over every copy and
 * pinned block to reach the next: a long list at the heap's maximum took
 * a pass per node (minutes). The mark is a release: a worker whose
 * acquire load sees it sees HDR_STAYS, which the claim's CAS stored
 * before. */
static void *stay(struct copier *c, void *obj, uint64_t h)
{
	struct block *b = block_of((uintptr_t)obj);
	uint32_t s = slot_of(b, obj);
	pthread_mutex_lock(&minor_state.pin_lock);
	atomic_fetch_or_explicit(&b->marks[s / 64], UINT64_C(1) << (s % 64),
				 memory_order_release);
	list_pinned(b);
	b->stayed = true;
	pthread_mutex_unlock(&minor_state.pin_lock);
	if (type_get(header_type(h))->kind != TYPE_NOPTR)
		push(c, obj);
	return obj;
}

/* True if from-space object obj, in a block whose space byte is `space`,
 * was pinned by a root: only a block with pinned objects has its
 * metadata read. */
static inline bool pinned_by_root(const void *obj, uint8_t space)
{
	if (!(space & SPACE_PINNED))
		return false;
	struct block *b = block_of((uintptr_t)obj);
	return slot_marked(b, slot_of(b, obj));
}

/* Where a claimed object (header h: HDR_FORWARDED or HDR_STAYS) is now:
 * itself if it stays (*gen unchanged), else its copy, with the copy's
 * generation in *gen. */
static inline void *claimed_at(void *obj, uint64_t h, unsigned *gen)
{
	if (h & HDR_STAYS)
		return obj;
	void *fwd = (void *)(uintptr_t)(h & ~HDR_FORWARDED);
	*gen = space_of((uintptr_t)fwd) & SPACE_GEN_MASK;
	return fwd;
}

/* An object of a block promoted in place (header h, unclaimed) stays
 * where it is, for good: claimed like one that stays for want of space
 * (HDR_STAYS, then its mark bit with release, so that scan_pinned leaves
 * it to the claimer), but without the pin lock: its block was listed at
 * setup. *gen is already 2. */
static void *keep_in_place(struct copier *c, void *obj, _Atomic uint64_t *hp,
			   uint64_t h, unsigned *gen)
{
	if (!atomic_compare_exchange_strong_explicit(hp, &h, h | HDR_STAYS,
			memory_order_acq_rel, memory_order_acquire))
		return claimed_at(obj, h, gen);
	struct block *b = block_of((uintptr_t)obj);
	uint32_t s = slot_of(b, obj);
	atomic_fetch_or_explicit(&b->marks[s / 64], UINT64_C(1) << (s % 64),
				 memory_order_release);
	if (type_get(header_type(h))->kind != TYPE_NOPTR)
		push(c, obj);
	return obj;
}

/* The object's new address: its copy, or itself if it stays in place;
 * *gen is the generation it is in then. `space` is its from-space
 * block's space byte; hgen is the generation of the holder it was reached
 * from first (0 for a root): from generation 2 it is tenured at once
 * (tenure_from_old), and so is everything its copy reaches first. Only a
 * block with pinned objects has its metadata read: the common path reads
 * the header, the type's size and the copier's own run. */
static void *evacuate(struct copier *c, void *obj, uint8_t space, unsigned hgen,
		      unsigned *gen)
{
	unsigned src = space & SPACE_GEN_MASK;
	*gen = src;
	if (pinned_by_root(obj, space))
		return obj;
	_Atomic uint64_t *hp = (_Atomic uint64_t *)object_header(obj);
	/* Acquire: pairs with the release of the winning CAS below, so the
	 * copy's block metadata (formatted before the copy) is visible to
	 * whoever follows the forwarding address. */
	uint64_t h = atomic_load_explicit(hp, memory_order_acquire);
	if (h & (HDR_FORWARDED | HDR_STAYS))
		goto claimed;
	if (space_in_place(space))
		return keep_in_place(c, obj, hp, h, gen);
	unsigned age = header_age(h) < HDR_AGE_MAX ? header_age(h) + 1 : HDR_AGE_MAX;
	size_t bytes = HEADER_SIZE + (size_t)header_length(h) *
			gyre__type_size[header_type(h)];
	unsigned k = sizeclass_for(bytes);
	size_t slot_size = sizeclass_size[k];
	unsigned to = age >= minor_state.tenure_age || c->gen1_room < slot_size ||
		      (hgen >= 2 && gyre_cfg.tenure_from_old > 0) ? 2 : 1;
	/* The copy's footprint: its class's slot, or in a hole its bytes
	 * GRANULE-rounded. */
	size_t copy_size = slot_size;
	bool hole = false;
	char *slot = to == 2 ? to_alloc_old(c, k, bytes, &copy_size, &hole)
			     : to_alloc(c, to, k);
	if (!slot && to == 1) {
		to = 2;
		slot = to_alloc_old(c, k, bytes, &copy_size, &hole);
	}
	uint64_t want = slot ? (uintptr_t)(slot + HEADER_SIZE) | HDR_FORWARDED
			     : h | HDR_STAYS;
	/* Claim first, copy after: the CAS is a full barrier, and issued
	 * after the copy it would wait for the copy's stores, which miss in
	 * a fresh to-space line. No other worker reads the copy's contents
	 * (they only store its address; the winner alone scans it), so the
	 * copy may be written after the address is published. */
	if (!atomic_compare_exchange_strong_explicit(hp, &h, want,
			memory_order_acq_rel, memory_order_acquire)) {
		/* Another worker moved it, or left it in place, first. */
		if (hole)
			packed_unalloc(&c->hole, slot, copy_size);
		else if (slot)
			run_unalloc(&c->to[to - 1][k], slot);
		goto claimed;
	}
	if (!slot)
		return stay(c, obj, h);
	/* A copy into a hole is recorded now (a run records its copies
	 * when it moves on): the release turns marks into start bits. */
	if (hole) {
		struct block *b = block_of((uintptr_t)slot);
		slot_mark(b, block_slot(b, (uintptr_t)slot));
	}
	copy_words(slot + HEADER_SIZE, obj, bytes - HEADER_SIZE);
	*(uint64_t *)slot = header_with_age(h, age);
	if (to == 1)
		c->gen1_room -= slot_size;
	c->objects[src][to - 1]++;
	/* The source's footprint: granule-rounded in the nursery, the same
	 * class's slot in generation 1. */
	size_t src_size = src == 0 ? (bytes + GRANULE - 1) & ~(size_t)(GRANULE - 1)
				   : slot_size;
	c->bytes[src][to - 1] += src_size;
	c->slot_bytes[to - 1] += copy_size;
	if (hole) {
		c->hole_bytes += copy_size;
		c->hole_src_bytes += src_size;
	}
	*gen = to;
	void *copy = slot + HEADER_SIZE;
	if (type_get(header_type(h))->kind != TYPE_NOPTR)
		push(c, copy);
	return copy;
claimed:
	return claimed_at(obj, h, gen);
}

/* Updates one field of `holder` (generation hgen) whose target was in
 * from-space when it entered the ring, and keeps [INV-CARDS] for it. The
 * target is looked at again: a type that names one field twice puts it in
 * the ring twice, and the second time it already points to the copy. */
static void forward_slot(struct copier *c, const struct pending *p)
{
	void *v = *p->slot;
	uint8_t space = space_of((uintptr_t)v);
	unsigned gen = space & SPACE_GEN_MASK;
	if (space & SPACE_FROM) {
		v = evacuate(c, v, space, p->hgen, &gen);
		*p->slot = v;
	}
	if (gen < p->hgen)
		card_keep(p->holder, p->slot, gen);
}

/* Empties the prefetch ring. */
static void ring_flush(struct copier *c)
{
	while (c->ring_n) {
		struct pending p = c->ring[c->ring_head];
		c->ring_head = (c->ring_head + 1) % RING;
		c->ring_n--;
		forward_slot(c, &p);
	}
}

/* One field of `holder` (generation hgen). A target in from-space is
 * about to have its header read, a cache miss in a nursery larger than
 * the cache: its header is prefetched and the field waits in a ring, so
 * that RING misses are in flight while earlier fields are forwarded. */
static inline void process_slot(struct copier *c, void **slot, void *holder,
				unsigned hgen)
{
	void *v = *slot;
	if (!v)
		return;
	if (!heap_contains((uintptr_t)v)) {
		/* A large object: generation 2, younger than a frozen holder
		 * unless frozen too [INV-FROZEN]. */
		if (hgen == GEN_FROZEN && !large_frozen(large_of(v)))
			card_keep(holder, slot, 2);
		return;
	}
	uint8_t space = space_of((uintptr_t)v);
	if (!(space & SPACE_FROM)) {
		if ((space & SPACE_GEN_MASK) < hgen)
			card_keep(holder, slot, space & SPACE_GEN_MASK);
		if (GYRE_UNLIKELY(space & SPACE_EVAC))
			compact_record(holder, slot); /* compact_cycle.c */
		return;
	}
	/* Both ends of a small object: it may straddle two lines. */
	__builtin_prefetch(object_header(v), 1);
	__builtin_prefetch((char *)v + 32, 0);
	if (c->ring_n == RING) {
		struct pending p = c->ring[c->ring_head];
		c->ring[c->ring_head] = (struct pending){slot, holder, hgen};
		c->ring_head = (c->ring_head + 1) % RING;
		forward_slot(c, &p);
		return;
	}
	c->ring[(c->ring_head + c->ring_n++) % RING] = (struct pending){slot, holder, hgen};
}

/* Word 0 of a weak reference (weak.h): not traced, but noted if its
 * target is in from-space, for minor_final; a target elsewhere is kept
 * to [INV-WEAK-CARDS] like any field. Without memory for the note, the
 * reference is traced like a strong one: its target survives this
 * collection. */
static void weak_slot(struct copier *c, void **slot, void *holder, unsigned hgen)
{
	if (minor_in_from(*slot) && ptrvec_push(&c->weak, slot))
		return;
	process_slot(c, slot, holder, hgen);
}

/* An ephemeron's words (weak.h): noted if its key is in from-space, for
 * minor_final to decide once the key's fate is known; otherwise the key
 * is alive as far as this collection goes, and both words are fields.
 * Without memory for the note, both are traced: the pair survives this
 * collection. */
static void eph_fields(struct copier *c, void **e, unsigned hgen)
{
	if (minor_in_from(e[0]) && ptrvec_push(&c->eph, e)) {
		compact_note(e, &e[1], e[1]);
		return;
	}
	process_slot(c, &e[0], e, hgen);
	process_slot(c, &e[1], e, hgen);
}

/* gyre's own words of obj (type.h), if any of them lies in [lo, hi): an
 * ephemeron is decided whole, whichever of its two cards is dirty. */
static void special_fields(struct copier *c, void *obj, const struct type *t,
			   unsigned hgen, uintptr_t lo, uintptr_t hi)
{
	void **w = obj;
	if ((uintptr_t)w >= hi || (uintptr_t)(w + type_special_words(t)) <= lo)
		return;
	if (t->special == SPECIAL_WEAK)
		weak_slot(c, w, obj, hgen);
	else
		eph_fields(c, w, hgen);
}

struct field_ctx {
	struct copier *c;
	void *holder;
	unsigned hgen;
	uintptr_t lo, hi;
};

static void visit(void **slot, void *ctx)
{
	struct field_ctx *f = ctx;
	if ((uintptr_t)slot >= f->lo && (uintptr_t)slot < f->hi)
		process_slot(f->c, slot, f->holder, f->hgen);
}

/* Headers are read atomically: an object that stayed in place had its
 * header swapped (HDR_STAYS) by another worker. */
static inline uint64_t header_read(const void *obj)
{
	return __atomic_load_n(object_header(obj), __ATOMIC_RELAXED);
}

void minor_scan_fields(struct copier *c, void *obj, unsigned hgen,
		       uintptr_t lo, uintptr_t hi)
{
	uint64_t h = header_read(obj);
	const struct type *t = type_get(header_type(h));
	if (t->kind == TYPE_NOPTR)
		return;
	uintptr_t base = (uintptr_t)obj;
	uint32_t n = header_length(h), e = 0;
	if (lo > base)
		e = (uint32_t)((lo - base) / t->size);
	if (hi - base < (uintptr_t)n * t->size)
		n = (uint32_t)((hi - base + t->size - 1) / t->size);
	char *elem = (char *)obj + (size_t)e * t->size;
	if (t->kind == TYPE_OFFSETS) {
		for (; e < n; e++, elem += t->size)
			for (uint32_t i = 0; i < t->n_ptrs; i++) {
				void **slot = (void **)elem + t->word_offsets[i];
				if ((uintptr_t)slot >= lo && (uintptr_t)slot < hi)
					process_slot(c, slot, obj, hgen);
			}
		if (t->special)
			special_fields(c, obj, t, hgen, lo, hi);
	} else {
		struct field_ctx f = {c, obj, hgen, lo, hi};
		for (; e < n; e++, elem += t->size)
			t->trace(elem, visit, &f);
	}
}

/* All of obj's pointer fields: minor_scan_fields without the range tests,
 * for the common case (copies and pinned objects). */
static void scan_object(struct copier *c, void *obj)
{
	uint64_t h = header_read(obj);
	const struct type *t = type_get(header_type(h));
	unsigned hgen = space_of((uintptr_t)obj) & SPACE_GEN_MASK;
	if (t->kind != TYPE_OFFSETS) {
		minor_scan_fields(c, obj, hgen, 0, UINTPTR_MAX);
		return;
	}
	uint32_t n = header_length(h);
	char *elem = obj;
	for (uint32_t e = 0; e < n; e++, elem += t->size)
		for (uint32_t i = 0; i < t->n_ptrs; i++)
			process_slot(c, (void **)elem + t->word_offsets[i], obj, hgen);
	if (GYRE_UNLIKELY(t->special))
		special_fields(c, obj, t, hgen, 0, UINTPTR_MAX);
}

/* Scans until the stack and the ring are empty. */
void minor_drain_local(struct work_stack *w, void *ctx)
{
	struct copier *c = ctx;
	do {
		while (w->n) {
			void *obj = w->items[--w->n];
			scan_object(c, obj);
			work_note_pop(&minor_state.wp, w);
		}
		ring_flush(c);
	} while (w->n);
}

/* ---------------------------------------------------------- copy phase */

/* Scans the objects that stay in block b. In the copy phase (`copying`)
 * only those a root pinned: one that stayed for want of space is its
 * claimer's to scan (stay); the acquire load pairs with stay's release,
 * so a mark it sees has its HDR_STAYS visible. The recovery pass scans
 * them all. */
static void scan_pinned(struct copier *c, struct block *b, bool copying)
{
	char *base = block_base(b);
	/* A word of marks at a time: a pinned nursery block has 4,096 slots
	 * and a few pinned objects. A mark that stay() sets after the word
	 * was loaded is its claimer's object, which this scan skips anyway. */
	for (unsigned w = 0; w < BITMAP_WORDS; w++)
		for (uint64_t m = atomic_load_explicit(&b->marks[w], memory_order_acquire);
		     m; m &= m - 1) {
			uint32_t s = bitmap_slot(w, m);
			void *obj = object_from_slot(base + (size_t)s * b->obj_size);
			if (copying && (header_read(obj) & HDR_STAYS))
				continue;
			scan_object(c, obj);
		}
}

static void handle_cb(void **slot, void *ctx)
{
	struct copier *c = ctx;
	void *v = *slot;
	if (v && heap_contains((uintptr_t)v) && block_from(block_of((uintptr_t)v)))
		forward_slot(c, &(struct pending){slot, NULL, 0});
}

void minor_copy_worker(unsigned id, void *arg)
{
	struct block *pinned = arg;
	struct copier *c = &minor_state.copiers[id];
	unsigned n = minor_state.wp.nactive, i = 0;
	for (struct block *b = pinned; b; b = b->pin_next)
		if (i++ % n == id)
			scan_pinned(c, b, true);
	if (id == n - 1) {
		roots_for_each_handle(handle_cb, c);
		final_for_each_root(handle_cb, c);
	}
	for (struct block *b = c->pending; b; b = b->card_next) {
		minor_scan_block_cards(c, b);
		minor_drain_local(c->w, c);
	}
	for (size_t k = 0; k < c->frozen_pending.n; k++) {
		minor_scan_block_cards(c, c->frozen_pending.v[k]);
		minor_drain_local(c->w, c);
	}
	/* Every worker visits every large object with pending cards, and
	 * they share its cards chunk by chunk. */
	for (size_t k = 0; k < large.count; k++)
		if (large.objs[k]->cards_pending)
			minor_scan_large_cards(c, large.objs[k]);
	work_drain(&minor_state.wp, c->w, minor_drain_local, NULL, lost, c);
}

/* Drains this worker's stack, and the packets it shares (no other worker
 * is running to take them), alone. */
static void drain_alone(struct copier *c)
{
	do
		minor_drain_local(c->w, c);
	while (work_take(&minor_state.wp, c->w, lost));
}

void minor_record_runs(void)
{
	for (unsigned i = 0; i < minor_state.wp.nstacks; i++)
		for (unsigned g = 0; g < 2; g++)
			for (unsigned k = 0; k < SIZECLASS_COUNT; k++)
				run_record(&minor_state.copiers[i].to[g][k]);
}

/* Scans every copy and pinned object again. */
static void rescan(struct copier *c)
{
	minor_record_runs();
	for (struct block *b = minor_state.pinned; b; b = b->pin_next) {
		scan_pinned(c, b, false);
		drain_alone(c);
	}
	for (unsigned i = 0; i < minor_state.wp.nstacks; i++) {
		struct block *b = minor_state.copiers[i].blocks;
		while (b) {
			scan_pinned(c, b, false);
			drain_alone(c);
			b = b->copy_next == b ? NULL : b->copy_next;
		}
	}
}

void minor_recover(void)
{
	while (atomic_load_relaxed(&minor_state.overflow)) {
		atomic_store_relaxed(&minor_state.overflow, false);
		minor_state.rescans++;
		rescan(&minor_state.copiers[0]);
	}
}

void *minor_survivor(void *obj, unsigned *gen)
{
	uint8_t space = space_of((uintptr_t)obj);
	*gen = space & SPACE_GEN_MASK;
	if (pinned_by_root(obj, space))
		return obj;
	uint64_t h = header_read(obj);
	return h & (HDR_FORWARDED | HDR_STAYS) ? claimed_at(obj, h, gen) : NULL;
}

void minor_keep(void **slot)
{
	handle_cb(slot, &minor_state.copiers[0]);
}

void minor_drain(void)
{
	drain_alone(&minor_state.copiers[0]);
}

void minor_keep_field(void **slot, void *holder)
{
	struct copier *c = &minor_state.copiers[0];
	unsigned hgen = space_of((uintptr_t)holder) & SPACE_GEN_MASK;
	void *v = *slot;
	if (v && heap_contains((uintptr_t)v))
		forward_slot(c, &(struct pending){slot, holder, hgen});
	drain_alone(c);
}
