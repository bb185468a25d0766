/*
 * gyre_inline.h: the inline fast paths of gyre.h (allocation, the write
 * barrier and its log), and what they read of gyre's state. Not part of
 * the API: names with two underscores may change in any release. Include
 * <gyre.h>, which includes this file.
 */
#ifndef GYRE_INLINE_H
#define GYRE_INLINE_H

#ifndef GYRE_H
#error "include <gyre.h>, not <gyre_inline.h>"
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------ inline paths (internal) */

/* Not part of the API: what the inline fast paths above need. Names with
 * two underscores may change in any release. */
#define GYRE__TYPE_MAX 65536
#define GYRE__NURSERY_MAX 8192 /* larger objects (header included) are old */
#define GYRE__CARD_SHIFT 9
#define GYRE__LARGE_CARD_SHIFT 6
#define GYRE__LARGE_CHUNK_SHIFT 9 /* cards per summary byte of a large object */
#define GYRE__BLOCK_SHIFT 16

/* The calling thread's nursery buffer: [cursor, limit) is free, zeroed
 * memory. Both are NULL while the thread may not allocate inline
 * (unattached, in a blocking region). */
struct gyre__tlab {
	char *cursor;
	char *limit;
	uint64_t objects; /* allocated in this buffer */
};
extern __thread struct gyre__tlab gyre__tlab
	__attribute__((tls_model("initial-exec")));
extern uint32_t gyre__type_size[GYRE__TYPE_MAX];
extern uint32_t gyre__type_step_inv[GYRE__TYPE_MAX];
extern uintptr_t gyre__heap_base;
extern uintptr_t gyre__heap_bytes;
extern uint8_t *gyre__cards;
extern uint8_t *gyre__card_summary;
extern uint8_t *gyre__space;

/* While generation 2 is being marked concurrently (gyre__marking is 1),
 * GYRE_STORE logs the value it overwrites into the thread's buffer
 * [cursor, limit) (a snapshot-at-the-beginning barrier); a full or absent
 * buffer goes through gyre__satb_record. gyre__marking changes only with
 * the world stopped, so a relaxed load sees the current cycle. */
struct gyre__satb {
	void **cursor;
	void **limit;
};
extern __thread struct gyre__satb gyre__satb
	__attribute__((tls_model("initial-exec")));
extern uint8_t gyre__marking;
void gyre__satb_record(void *old);

/* While a concurrent cycle that compacts marks, a store of a pointer into
 * one of its candidate blocks (their gyre__space byte has
 * GYRE__SPACE_EVAC) records the field, so that it can follow the object
 * when it moves (gc/old/compact_cycle.c). */
#define GYRE__SPACE_EVAC 16
void gyre__evac_record(void *obj, void **slot);

static inline void gyre__evac_check(void *obj, void **slot, void *value)
{
	uintptr_t rel = (uintptr_t)value - gyre__heap_base;
	if (rel < gyre__heap_bytes &&
	    (__atomic_load_n(&gyre__space[rel >> GYRE__BLOCK_SHIFT], __ATOMIC_RELAXED) &
	     GYRE__SPACE_EVAC))
		gyre__evac_record(obj, slot);
}

/* Appends obj (not NULL) to the calling thread's log. */
static inline void gyre__satb_log(void *obj)
{
	struct gyre__satb *q = &gyre__satb;
	if (q->cursor != q->limit)
		*q->cursor++ = obj;
	else
		gyre__satb_record(obj);
}

/* Takes `bytes` (header included, granule-rounded) from the thread's
 * buffer and writes the header; NULL when the buffer is too short. */
static inline void *gyre__bump(size_t bytes, uint64_t header)
{
	struct gyre__tlab *t = &gyre__tlab;
	char *p = t->cursor;
	if (__builtin_expect((size_t)(t->limit - p) < bytes, 0))
		return NULL;
	t->cursor = p + bytes;
	t->objects++;
	*(uint64_t *)p = header;
	return p + sizeof(uint64_t);
}

static inline void *gyre__alloc_array_inline(gyre_type type, size_t n)
{
	size_t payload;
	if (__builtin_expect(type < GYRE__TYPE_MAX, 1) &&
	    gyre__type_size[type] != 0 &&
	    !__builtin_mul_overflow(n, (size_t)gyre__type_size[type], &payload) &&
	    payload <= GYRE__NURSERY_MAX - sizeof(uint64_t)) {
		void *obj = gyre__bump((payload + sizeof(uint64_t) + 15) & ~(size_t)15,
				       (uint64_t)n << 32 | (uint64_t)type << 8);
		if (__builtin_expect(obj != NULL, 1))
			return obj;
	}
	return (gyre_alloc_array)(type, n);
}

/* One object: its footprint is looked up whole (gyre__type_step_inv:
 * an unregistered id reads as too large for any buffer), no multiply. */
static inline void *gyre__alloc_one(gyre_type type)
{
	if (__builtin_expect(type < GYRE__TYPE_MAX, 1)) {
		void *obj = gyre__bump((uint32_t)~gyre__type_step_inv[type],
				       (uint64_t)1 << 32 | (uint64_t)type << 8);
		if (__builtin_expect(obj != NULL, 1))
			return obj;
	}
	return (gyre_alloc)(type);
}

/* Bytes have a known type of size 1: no table lookup, no multiply. */
static inline void *gyre__alloc_bytes_inline(size_t size)
{
	if (__builtin_expect(size <= GYRE__NURSERY_MAX - sizeof(uint64_t), 1)) {
		void *obj = gyre__bump((size + sizeof(uint64_t) + 15) & ~(size_t)15,
				       (uint64_t)size << 32 |
					       (uint64_t)GYRE_TYPE_BYTE << 8);
		if (__builtin_expect(obj != NULL, 1))
			return obj;
	}
	return (gyre_alloc_bytes)(size);
}

#ifndef GYRE_NO_INLINE
#define gyre_alloc(type) gyre__alloc_one(type)
#define gyre_alloc_array(type, n) gyre__alloc_array_inline((type), (n))
#define gyre_alloc_bytes(size) gyre__alloc_bytes_inline(size)
#endif

/* Stores value into the pointer field at byte offset `off` of obj and, if
 * obj is old, marks the field's card: the heap's table (and its
 * one-byte-per-block summary) for objects in the block heap, else the
 * large object's own cards, whose address is the word two before the
 * object, and the summary byte of their chunk of 512, the chunks'
 * summaries lying before the cards in reverse (gc/heap/large.h). A young holder (space byte 0: a nursery block) needs
 * no card, as nothing is younger than it; most stores initialise new
 * objects, and the early return halves their cost. A block's space byte
 * changes from 0 only with the world stopped, so a relaxed load never
 * sees 0 for an old holder. Threads storing
 * into neighbouring objects write the same byte, so the marks are atomic
 * stores; relaxed, plain byte moves: collections read cards only with the
 * world stopped, which orders them after every store. The field itself is
 * loaded and stored atomically because the collector thread may read it
 * meanwhile: the store is a release and the loads acquires (plain moves
 * on x86), so that a chain of stores and loads carries the metadata of
 * the block the stored object lives in, written by the thread that took
 * the block, to whoever follows the pointer; the collector reads that
 * metadata to tell old objects from young. What the collector misses by
 * reading the new value rather than the old, the log below hands it. */
static inline void gyre__store(void *obj, size_t off, void *value)
{
	void **slot = (void **)((char *)obj + off);
	if (__builtin_expect(__atomic_load_n(&gyre__marking, __ATOMIC_RELAXED), 0)) {
		void *old = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
		if (old)
			gyre__satb_log(old);
		gyre__evac_check(obj, slot, value);
	}
	__atomic_store_n(slot, value, __ATOMIC_RELEASE);
	uintptr_t rel = (uintptr_t)slot - gyre__heap_base;
	if (__builtin_expect(rel < gyre__heap_bytes, 1)) {
		if (__atomic_load_n(&gyre__space[rel >> GYRE__BLOCK_SHIFT],
				    __ATOMIC_RELAXED) == 0)
			return;
		__atomic_store_n(&gyre__cards[rel >> GYRE__CARD_SHIFT], 1,
				 __ATOMIC_RELAXED);
		__atomic_store_n(&gyre__card_summary[rel >> GYRE__BLOCK_SHIFT], 1,
				 __ATOMIC_RELAXED);
	} else {
		uint8_t *cards = ((uint8_t **)obj)[-2];
		size_t card = off >> GYRE__LARGE_CARD_SHIFT;
		__atomic_store_n(&cards[card], 1, __ATOMIC_RELAXED);
		__atomic_store_n(&cards[-1 - (card >> GYRE__LARGE_CHUNK_SHIFT)], 1,
				 __ATOMIC_RELAXED);
	}
}

#ifdef __cplusplus
}
#endif

#endif /* GYRE_INLINE_H */
