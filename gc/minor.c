/*
 * minor.c: the minor collection (see minor.h). In order, world stopped:
 *
 * 1. setup: every nursery block (and, for generation 1, every gen-1 block)
 *    becomes from-space; gen-1 class lists are emptied so that no copy
 *    lands in from-space.
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
 * 4. release: copies get their start bits; nursery and gen-1 blocks with
 *    pinned objects stay (their start bits name exactly those objects),
 *    the others are freed.
 *
 * If to-space is exhausted (heap maximum), the object stays in place
 * (HDR_STAYS) like a pinned one: the collection never fails for memory.
 * If a copy stack cannot grow, or an object stayed, the overflow flag is
 * raised and, after the parallel phase, every copy and pinned object is
 * scanned again on one thread (processing a field twice is harmless) until
 * no flag is raised.
 */
#include <string.h>

#include "gc/card.h"
#include "gc/heap.h"
#include "gc/large.h"
#include "gc/mark.h"
#include "gc/minor.h"
#include "gc/nursery.h"
#include "gc/roots.h"
#include "gc/run.h"
#include "gc/type.h"
#include "gc/work.h"
#include "runtime/config.h"
#include "runtime/meta.h"
#include "threads/stw.h"
#include "threads/workers.h"

#define CARD_PENDING 2
#define CHUNK_BLOCKS 256
#define CHUNK_LARGE 16
#define CHUNK_CARDS 512 /* of a large object: 32 KiB of its payload */
#define RING 8

/* A field waiting in the prefetch ring (see process_slot). */
struct pending {
	void **slot;
	void *holder;
	unsigned hgen;
};

struct copier {
	struct work_stack *w;
	struct block *pending;             /* blocks with pending cards */
	struct pending ring[RING];
	unsigned ring_head, ring_n;
	struct run to[2][SIZECLASS_COUNT]; /* runs in gen 1 and gen 2 */
	struct block *blocks;              /* copied into, by copy_next */
	/* Copies by source and target: [from gen][to gen - 1]; bytes are
	 * the source's footprint (granule-rounded in the nursery, the slot
	 * in gen 1). */
	size_t objects[2][2], bytes[2][2];
	size_t slot_bytes[2];              /* of the copies, by target */
	size_t dirty_cards;                /* turned pending by this worker */
	/* Bytes this worker may still copy into generation 1; past it,
	 * survivors go to generation 2 whatever their age. */
	size_t gen1_room;
	/* Keeps the next worker's copier off this one's last cache line. */
	char pad[64];
};

static struct {
	struct work_pool wp;
	struct copier *copiers;
	unsigned tenure_age;         /* 0: everything goes to gen 2 */
	/* Blocks with pinned objects, by pin_next. Sync: written by the pin
	 * pass alone, then under pin_lock (objects that stay in place). */
	struct block *pinned;
	pthread_mutex_t pin_lock;
	/* Next block / large object to claim. Relaxed: the claim only hands
	 * out indices; the data was published by the job start. */
	_Atomic size_t next_block, next_large;
	size_t top;
	/* A push was dropped. Relaxed: read after the workers joined. */
	_Atomic bool overflow;
	size_t rescans;
	/* Objects and bytes of the retained nursery and of generation 1
	 * after the last minor collection. Collector only. */
	size_t retained_objects, retained_bytes;
	size_t gen1_objects, gen1_bytes;
} mn = {.pin_lock = PTHREAD_MUTEX_INITIALIZER};

int minor_init(unsigned workers)
{
	mn.copiers = meta_calloc(sizeof(struct copier) * workers);
	if (!mn.copiers)
		return GYRE_ENOMEM;
	if (work_pool_init(&mn.wp, workers)) {
		meta_free(mn.copiers);
		return GYRE_ENOMEM;
	}
	for (unsigned i = 0; i < workers; i++)
		mn.copiers[i].w = &mn.wp.stacks[i];
	mn.rescans = 0;
	mn.retained_objects = mn.retained_bytes = 0;
	mn.gen1_objects = mn.gen1_bytes = 0;
	return GYRE_OK;
}

void minor_shutdown(void)
{
	work_pool_shutdown(&mn.wp);
	meta_free(mn.copiers);
	mn.copiers = NULL;
}

void minor_set_stack_limit(size_t entries)
{
	mn.wp.stack_limit = entries;
}

size_t minor_gen1_bytes(void)
{
	return mn.gen1_bytes;
}

size_t minor_rescans(void)
{
	return mn.rescans;
}

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

/* Lists a block that keeps objects in place. Caller: the pin pass alone,
 * or a worker holding pin_lock. */
static void list_pinned(struct block *b)
{
	if (!b->pinned && !b->stayed) {
		b->pin_next = mn.pinned;
		mn.pinned = b;
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

static void pin_range(uintptr_t lo, uintptr_t hi, void *ctx)
{
	roots_scan_words(lo, hi, pin_word, ctx);
}

/* ------------------------------------------------------------- copying */

static void lost(struct work_stack *w, void *obj)
{
	(void)w;
	(void)obj;
	atomic_store_relaxed(&mn.overflow, true);
}

static inline void push(struct copier *c, void *obj)
{
	if (!work_push(&mn.wp, c->w, obj))
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
 * like a pinned one. Scanned by the recovery pass, not here: a worker may
 * be scanning this block's pinned objects already. */
static void *stay(void *obj, uint64_t h)
{
	struct block *b = block_of((uintptr_t)obj);
	pthread_mutex_lock(&mn.pin_lock);
	slot_mark(b, slot_of(b, obj));
	list_pinned(b);
	b->stayed = true;
	pthread_mutex_unlock(&mn.pin_lock);
	if (type_get(header_type(h))->kind != TYPE_NOPTR)
		atomic_store_relaxed(&mn.overflow, true);
	return obj;
}

/* The object's new address: its copy, or itself if it stays in place;
 * *gen is the generation it is in then. `space` is its from-space
 * block's space byte. Only a block with pinned objects has its metadata
 * read: the common path reads the header, the type's size and the
 * copier's own run. */
static void *evacuate(struct copier *c, void *obj, uint8_t space, unsigned *gen)
{
	unsigned src = space & SPACE_GEN_MASK;
	*gen = src;
	if (space & SPACE_PINNED) {
		struct block *b = block_of((uintptr_t)obj);
		if (slot_marked(b, slot_of(b, obj)))
			return obj; /* pinned by a root */
	}
	_Atomic uint64_t *hp = (_Atomic uint64_t *)object_header(obj);
	/* Acquire: pairs with the release of the winning CAS below, so the
	 * copy's block metadata (formatted before the copy) is visible to
	 * whoever follows the forwarding address. */
	uint64_t h = atomic_load_explicit(hp, memory_order_acquire);
	if (h & (HDR_FORWARDED | HDR_STAYS))
		goto claimed;
	unsigned age = header_age(h) < HDR_AGE_MAX ? header_age(h) + 1 : HDR_AGE_MAX;
	size_t bytes = HEADER_SIZE + (size_t)header_length(h) *
			gyre__type_size[header_type(h)];
	unsigned k = sizeclass_for(bytes);
	size_t slot_size = sizeclass_size[k];
	unsigned to = age >= mn.tenure_age || c->gen1_room < slot_size ? 2 : 1;
	char *slot = to_alloc(c, to, k);
	if (!slot && to == 1) {
		to = 2;
		slot = to_alloc(c, to, k);
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
		if (slot)
			run_unalloc(&c->to[to - 1][k], slot);
		goto claimed;
	}
	if (!slot)
		return stay(obj, h);
	copy_words(slot + HEADER_SIZE, obj, bytes - HEADER_SIZE);
	*(uint64_t *)slot = header_with_age(h, age);
	if (to == 1)
		c->gen1_room -= slot_size;
	c->objects[src][to - 1]++;
	/* The source's footprint: granule-rounded in the nursery, the same
	 * class's slot in generation 1. */
	c->bytes[src][to - 1] += src == 0 ? (bytes + GRANULE - 1) & ~(size_t)(GRANULE - 1)
					  : slot_size;
	c->slot_bytes[to - 1] += slot_size;
	*gen = to;
	void *copy = slot + HEADER_SIZE;
	if (type_get(header_type(h))->kind != TYPE_NOPTR)
		push(c, copy);
	return copy;
claimed:
	if (h & HDR_STAYS)
		return obj;
	void *fwd = (void *)(uintptr_t)(h & ~HDR_FORWARDED);
	*gen = space_of((uintptr_t)fwd) & SPACE_GEN_MASK;
	return fwd;
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
		v = evacuate(c, v, space, &gen);
		*p->slot = v;
	}
	if (gen < p->hgen)
		card_dirty(p->holder, p->slot);
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
	if (!v || !heap_contains((uintptr_t)v))
		return; /* NULL, or a large object: generation 2 */
	uint8_t space = space_of((uintptr_t)v);
	if (!(space & SPACE_FROM)) {
		if ((space & SPACE_GEN_MASK) < hgen)
			card_dirty(holder, slot);
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

/* Processes obj's pointer fields that lie in [lo, hi). */
/* Headers are read atomically: an object that stayed in place had its
 * header swapped (HDR_STAYS) by another worker. */
static inline uint64_t header_read(const void *obj)
{
	return __atomic_load_n(object_header(obj), __ATOMIC_RELAXED);
}

static void scan_fields(struct copier *c, void *obj, unsigned hgen,
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
	} else {
		struct field_ctx f = {c, obj, hgen, lo, hi};
		for (; e < n; e++, elem += t->size)
			t->trace(elem, visit, &f);
	}
}

/* All of obj's pointer fields: scan_fields without the range tests, for
 * the common case (copies and pinned objects). */
static void scan_object(struct copier *c, void *obj)
{
	uint64_t h = header_read(obj);
	const struct type *t = type_get(header_type(h));
	unsigned hgen = space_of((uintptr_t)obj) & SPACE_GEN_MASK;
	if (t->kind != TYPE_OFFSETS) {
		scan_fields(c, obj, hgen, 0, UINTPTR_MAX);
		return;
	}
	uint32_t n = header_length(h);
	char *elem = obj;
	for (uint32_t e = 0; e < n; e++, elem += t->size)
		for (uint32_t i = 0; i < t->n_ptrs; i++)
			process_slot(c, (void **)elem + t->word_offsets[i], obj, hgen);
}

/* Scans until the stack and the ring are empty. */
static void drain_local(struct work_stack *w, void *ctx)
{
	struct copier *c = ctx;
	do {
		while (w->n) {
			void *obj = w->items[--w->n];
			scan_object(c, obj);
			work_note_pop(&mn.wp, w);
		}
		ring_flush(c);
	} while (w->n);
}

/* --------------------------------------------------------------- cards */

static bool cards_clean(const uint8_t *cards, size_t n)
{
	for (size_t i = 0; i < n; i += 8) {
		uint64_t word = 0;
		memcpy(&word, cards + i, n - i < 8 ? n - i : 8);
		if (word)
			return false;
	}
	return true;
}

/* Turns dirty cards into pending ones; returns how many there were. */
static size_t prepare_cards(uint8_t *cards, size_t n)
{
	if (cards_clean(cards, n))
		return 0;
	size_t dirty = 0;
	for (size_t j = 0; j < n; j++)
		if (cards[j]) {
			cards[j] = CARD_PENDING;
			dirty++;
		}
	return dirty;
}

static void prepare_worker(unsigned id, void *arg)
{
	(void)arg;
	if (id == 0) {
		roots_for_each_stack(0, 1, pin_range, NULL);
		roots_for_each_area(pin_range, NULL);
	}
	/* Only blocks whose summary byte is set have dirty cards: the pass
	 * reads one byte per block, and a block's cards and metadata only
	 * when it was stored into, so an old generation that is not written
	 * costs next to nothing. Cards of the nursery and of from-space are
	 * cleared: the copy dirties again those of objects that stay. */
	struct copier *c = &mn.copiers[id];
	c->pending = NULL;
	c->dirty_cards = 0;
	size_t start;
	while ((start = atomic_add_relaxed(&mn.next_block, CHUNK_BLOCKS)) < mn.top) {
		size_t end = start + CHUNK_BLOCKS < mn.top ? start + CHUNK_BLOCKS : mn.top;
		for (size_t i = start; i < end; i++) {
			/* Eight clean summaries at a time: an old generation
			 * that is not written costs a load per 8 blocks. */
			uint64_t word;
			if (i % 8 == 0 && i + 8 <= end &&
			    (memcpy(&word, &heap.card_summary[i], 8), word == 0)) {
				i += 7;
				continue;
			}
			if (!heap.card_summary[i])
				continue;
			struct block *b = &heap.blocks[i];
			if (b->state != BLOCK_SMALL || block_from(b)) {
				card_clear_block(b);
				continue;
			}
			heap.card_summary[i] = 0;
			size_t dirty = prepare_cards(block_cards(b), CARDS_PER_BLOCK);
			if (!dirty)
				continue;
			c->dirty_cards += dirty;
			b->card_next = c->pending;
			c->pending = b;
		}
	}
	while ((start = atomic_add_relaxed(&mn.next_large, CHUNK_LARGE)) < large.count) {
		size_t end = start + CHUNK_LARGE < large.count ? start + CHUNK_LARGE
							       : large.count;
		for (size_t i = start; i < end; i++) {
			struct large *l = large.objs[i];
			size_t dirty = prepare_cards(l->cards, large_ncards(l));
			l->cards_pending = dirty != 0;
			c->dirty_cards += dirty;
			atomic_store_relaxed(&l->card_cursor, 0);
		}
	}
}

/* Claims one pending card: true if it was pending. */
static bool card_claim(uint8_t *card)
{
	return __atomic_fetch_and(card, (uint8_t)~CARD_PENDING, __ATOMIC_RELAXED) &
	       CARD_PENDING;
}

static void scan_block_cards(struct copier *c, struct block *b)
{
	uint8_t *cards = block_cards(b);
	char *base = block_base(b);
	for (size_t k = 0; k < CARDS_PER_BLOCK; k++) {
		if (!(__atomic_load_n(&cards[k], __ATOMIC_RELAXED) & CARD_PENDING) ||
		    !card_claim(&cards[k]))
			continue;
		uintptr_t lo = (uintptr_t)base + k * CARD_SIZE, hi = lo + CARD_SIZE;
		uint32_t first = block_slot(b, lo), last = block_slot(b, hi - 1);
		if (last >= b->nslots)
			last = b->nslots - 1;
		for (uint32_t s = first; s <= last; s++)
			if (bit_test(b->starts, s))
				scan_fields(c, object_from_slot(base + (size_t)s * b->obj_size),
					    b->gen, lo, hi);
	}
}

/* A large array (a server's table) can hold most of a minor collection's
 * roots: every worker takes chunks of its cards in turn. Relaxed: the
 * cursor only hands out chunk numbers. */
static void scan_large_cards(struct copier *c, struct large *l)
{
	void *obj = large_object(l);
	size_t n = large_ncards(l), start;
	while ((start = atomic_add_relaxed(&l->card_cursor, CHUNK_CARDS)) < n) {
		size_t end = start + CHUNK_CARDS < n ? start + CHUNK_CARDS : n;
		for (size_t k = start; k < end; k++) {
			if (!(__atomic_load_n(&l->cards[k], __ATOMIC_RELAXED) &
			      CARD_PENDING) || !card_claim(&l->cards[k]))
				continue;
			uintptr_t lo = (uintptr_t)obj + k * LARGE_CARD_SIZE;
			scan_fields(c, obj, 2, lo, lo + LARGE_CARD_SIZE);
		}
		drain_local(c->w, c);
	}
}

/* ---------------------------------------------------------- copy phase */

static void scan_pinned(struct copier *c, struct block *b)
{
	char *base = block_base(b);
	for (uint32_t s = 0; s < b->nslots; s++)
		if (slot_marked(b, s))
			scan_object(c, object_from_slot(base + (size_t)s * b->obj_size));
}

static void handle_cb(void **slot, void *ctx)
{
	struct copier *c = ctx;
	void *v = *slot;
	if (v && heap_contains((uintptr_t)v) && block_from(block_of((uintptr_t)v)))
		forward_slot(c, &(struct pending){slot, NULL, 0});
}

static void copy_worker(unsigned id, void *arg)
{
	struct block *pinned = arg;
	struct copier *c = &mn.copiers[id];
	unsigned n = mn.wp.nactive, i = 0;
	for (struct block *b = pinned; b; b = b->pin_next)
		if (i++ % n == id)
			scan_pinned(c, b);
	if (id == n - 1)
		roots_for_each_handle(handle_cb, c);
	for (struct block *b = c->pending; b; b = b->card_next) {
		scan_block_cards(c, b);
		drain_local(c->w, c);
	}
	/* Every worker visits every large object with pending cards, and
	 * they share its cards chunk by chunk. */
	for (size_t k = 0; k < large.count; k++)
		if (large.objs[k]->cards_pending)
			scan_large_cards(c, large.objs[k]);
	work_drain(&mn.wp, c->w, drain_local, NULL, lost, c);
}

/* Drains this worker's stack, and the packets it shares (no other worker
 * is running to take them), alone. */
static void drain_alone(struct copier *c)
{
	do
		drain_local(c->w, c);
	while (work_take(&mn.wp, c->w, lost));
}

/* Overflow recovery, on this thread: scans every copy and pinned object
 * again (already-updated fields are left as they are). */
static void rescan(struct copier *c)
{
	for (unsigned i = 0; i < mn.wp.nstacks; i++)
		for (unsigned g = 0; g < 2; g++)
			for (unsigned k = 0; k < SIZECLASS_COUNT; k++)
				run_record(&mn.copiers[i].to[g][k]);
	for (struct block *b = mn.pinned; b; b = b->pin_next) {
		scan_pinned(c, b);
		drain_alone(c);
	}
	for (unsigned i = 0; i < mn.wp.nstacks; i++) {
		struct block *b = mn.copiers[i].blocks;
		while (b) {
			scan_pinned(c, b);
			drain_alone(c);
			b = b->copy_next == b ? NULL : b->copy_next;
		}
	}
}

/* ------------------------------------------------------------- release */

/* Start bits := mark bits (the objects that stay, or the copies, plus the
 * objects already there); returns the objects that are new to the start
 * bits (or, replacing, all marked). Marks are cleared, except in a
 * generation-2 block while a concurrent cycle marks: there they are that
 * cycle's, and keep the copies black (allocated marked). */
static uint32_t marks_to_starts(struct block *b, bool replace)
{
	uint32_t n = 0;
	bool keep = b->gen == 2 && mark_old_active();
	for (unsigned i = 0; i < BITMAP_WORDS; i++) {
		uint64_t m = atomic_load_relaxed(&b->marks[i]);
		n += (uint32_t)__builtin_popcountll(replace ? m : m & ~b->starts[i]);
		b->starts[i] = replace ? m : b->starts[i] | m;
		if (!keep)
			atomic_store_relaxed(&b->marks[i], 0);
	}
	return n;
}

/* Objects that stayed for want of space lose their HDR_STAYS. Returns
 * the footprint of the block's objects. */
static size_t unstay(struct block *b)
{
	size_t bytes = 0;
	char *base = block_base(b);
	for (uint32_t s = 0; s < b->nslots; s++)
		if (bit_test(b->starts, s)) {
			uint64_t *h = (uint64_t *)(base + (size_t)s * b->obj_size);
			*h &= ~HDR_STAYS;
			bytes += b->state == BLOCK_NURSERY ? nursery_size_of(*h)
							   : b->obj_size;
		}
	return bytes;
}

/* The list, reversed. */
static struct block *reverse(struct block *b)
{
	struct block *r = NULL;
	while (b) {
		struct block *next = b->next;
		b->next = r;
		r = b;
		b = next;
	}
	return r;
}

static void release_nursery(struct minor_result *r)
{
	/* nursery.blocks runs from the newest block to the oldest; freed
	 * oldest first, the newest end on top of the free list, and the next
	 * buffers are the blocks most likely still in the cache. */
	struct block *keep = NULL, *b = reverse(nursery.blocks);
	mn.retained_objects = mn.retained_bytes = 0;
	while (b) {
		struct block *next = b->next;
		block_set_from(b, false);
		if (b->pinned || b->stayed) {
			b->pinned = b->stayed = false;
			b->parsed = true;
			mn.retained_objects += marks_to_starts(b, true);
			size_t bytes = unstay(b);
			mn.retained_bytes += bytes;
			r->survived_bytes += bytes;
			r->young_survived += bytes;
			b->next = keep;
			keep = b;
		} else {
			heap_free_block(b);
		}
		b = next;
	}
	nursery.blocks = keep;
	r->pinned_objects += mn.retained_objects;
	r->survived_objects += mn.retained_objects;
}

/* Gen-1 from-space after a generation-1 collection. */
static void release_gen1(struct minor_result *r)
{
	struct block **pp = &heap.gen1;
	while (*pp) {
		struct block *b = *pp;
		if (!block_from(b)) {
			pp = &b->gnext;
			continue;
		}
		block_set_from(b, false);
		if (b->pinned || b->stayed) {
			b->pinned = b->stayed = false;
			b->live = marks_to_starts(b, true);
			size_t bytes = unstay(b);
			r->pinned_objects += b->live;
			r->survived_objects += b->live;
			r->survived_bytes += bytes;
			r->gen1_survived += bytes;
			mn.gen1_objects += b->live;
			mn.gen1_bytes += bytes;
			if (b->live < b->nslots)
				heap_list_block(b);
			pp = &b->gnext;
		} else {
			*pp = b->gnext;
			heap_free_block(b);
		}
	}
}

static void release_copies(struct minor_result *r)
{
	for (unsigned i = 0; i < mn.wp.nstacks; i++) {
		struct copier *c = &mn.copiers[i];
		for (unsigned g = 0; g < 2; g++)
			for (unsigned k = 0; k < SIZECLASS_COUNT; k++)
				run_release(&c->to[g][k]);
		struct block *b = c->blocks;
		while (b) {
			struct block *next = b->copy_next == b ? NULL : b->copy_next;
			b->copy_next = NULL;
			b->live += marks_to_starts(b, false);
			b = next;
		}
		c->blocks = NULL;
		size_t footprint = 0;
		for (unsigned src = 0; src < 2; src++) {
			for (unsigned to = 0; to < 2; to++) {
				r->survived_objects += c->objects[src][to];
				footprint += c->bytes[src][to];
			}
			r->promoted_objects += c->objects[src][1];
			r->promoted_bytes += c->bytes[src][1];
			mn.gen1_objects += c->objects[src][0];
		}
		/* Nursery -> gen 1 is a promotion too; gen 1 -> gen 1 is not. */
		r->promoted_objects += c->objects[0][0];
		r->promoted_bytes += c->bytes[0][0];
		r->survived_bytes += footprint;
		r->young_survived += c->bytes[0][0] + c->bytes[0][1];
		r->gen1_survived += c->bytes[1][0] + c->bytes[1][1];
		r->gen2_bytes += c->slot_bytes[1];
		r->growth_bytes += c->slot_bytes[0] + c->slot_bytes[1] - footprint;
		mn.gen1_bytes += c->slot_bytes[0];
		memset(c->objects, 0, sizeof(c->objects));
		memset(c->bytes, 0, sizeof(c->bytes));
		memset(c->slot_bytes, 0, sizeof(c->slot_bytes));
	}
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
	mn.retained_objects = mn.retained_bytes = 0;
	for (struct block *b = nursery.blocks; b; b = b->next) {
		mn.retained_objects += count_starts(b);
		mn.retained_bytes += unstay(b);
	}
	mn.gen1_objects = mn.gen1_bytes = 0;
	for (struct block *b = heap.gen1; b; b = b->gnext) {
		uint32_t n = count_starts(b);
		mn.gen1_objects += n;
		mn.gen1_bytes += (size_t)n * b->obj_size;
	}
}

/* Runs a job on the workers taking part (work_pool_start): alone, it is
 * a call, without waking anyone. */
static void run_job(worker_fn fn, void *arg)
{
	if (mn.wp.nactive == 1)
		fn(0, arg);
	else
		workers_run(fn, arg);
}

struct minor_result minor_collect(unsigned gen, bool tenure_all, size_t gen1_max,
				  bool solo)
{
	GYRE_ASSERT(stw_world_stopped() && gen <= 1);
	struct minor_result r = {0};
	size_t from_objects = atomic_load_relaxed(&nursery.objects) + mn.retained_objects;
	size_t from_bytes = atomic_load_relaxed(&nursery.bytes) + mn.retained_bytes;
	mn.tenure_age = tenure_all ? 0 : gyre_cfg.tenure_age;
	mn.pinned = NULL;
	for (struct block *b = nursery.blocks; b; b = b->next)
		block_set_from(b, true);
	r.young_bytes = from_bytes;
	if (gen == 1) {
		r.gen1_bytes = mn.gen1_bytes;
		from_objects += mn.gen1_objects;
		from_bytes += mn.gen1_bytes;
		mn.gen1_objects = mn.gen1_bytes = 0;
		for (struct block *b = heap.gen1; b; b = b->gnext)
			block_set_from(b, true);
		for (unsigned k = 0; k < SIZECLASS_COUNT; k++)
			heap.classes[0][k].head = NULL;
	}
	work_pool_start(&mn.wp, solo ? 1 : mn.wp.nstacks);
	size_t room = gen1_max > mn.gen1_bytes ? gen1_max - mn.gen1_bytes : 0;
	for (unsigned i = 0; i < mn.wp.nstacks; i++)
		mn.copiers[i].gen1_room = room / mn.wp.nactive;

	uint64_t t0 = gyre_now_ns();
	mn.top = heap.top;
	atomic_store_relaxed(&mn.next_block, 0);
	atomic_store_relaxed(&mn.next_large, 0);
	run_job(prepare_worker, NULL);
	for (unsigned i = 0; i < mn.wp.nactive; i++)
		r.dirty_cards += mn.copiers[i].dirty_cards;
	/* Here, not in the pin pass: other workers read space bytes
	 * meanwhile. The copy job's start publishes them. */
	for (struct block *b = mn.pinned; b; b = b->pin_next)
		heap.space[block_index(b)] |= SPACE_PINNED;
	uint64_t t1 = gyre_now_ns();

	atomic_store_relaxed(&mn.overflow, false);
	run_job(copy_worker, mn.pinned);
	while (atomic_load_relaxed(&mn.overflow)) {
		atomic_store_relaxed(&mn.overflow, false);
		mn.rescans++;
		rescan(&mn.copiers[0]);
	}
	GYRE_ASSERT(cds_lfs_empty(&mn.wp.pool));
	uint64_t t2 = gyre_now_ns();

	release_copies(&r);
	if (gen == 1)
		release_gen1(&r);
	release_nursery(&r);
	atomic_store_relaxed(&nursery.handed, 0);
	atomic_store_relaxed(&nursery.objects, 0);
	atomic_store_relaxed(&nursery.bytes, 0);
	/* The nursery's bytes are granule-rounded and the copies' slot-sized:
	 * the difference is an estimate, never below zero. */
	r.collected_objects = from_objects > r.survived_objects
				      ? from_objects - r.survived_objects : 0;
	r.collected_bytes = from_bytes > r.survived_bytes
				    ? from_bytes - r.survived_bytes : 0;
	r.prepare_ns = t1 - t0;
	r.copy_ns = t2 - t1;
	r.release_ns = gyre_now_ns() - t2;
	return r;
}
