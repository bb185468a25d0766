/*
 * mutated.c: the mutated-heap shape of the stress test (mutated.h).
 *
 * Objects: an entry of a big array and a node of a list are both a
 * `struct item` (one pointer field, `next`); a list's header is a
 * `struct header` (head and tail). An entry knows the array it is in (the
 * array's id), its slot and its sequence number, unique to the thread;
 * one entry in four has a companion, a second fresh item reachable only
 * through it (so that what a young object found from a card points at is
 * kept too). A node knows its list's id and its position. Each carries a
 * checksum of those words, so that memory freed and reused, or written by
 * the collector, reads as corrupted.
 *
 * Every store of a heap pointer goes through GYRE_STORE or GYRE_STORE_AT;
 * the arrays, headers and entries being stored are held in C locals
 * across allocations (a local is a root, and pins what it points at). The
 * arrays are large objects, which never move; headers, entries and nodes
 * move with minor collections and with compaction.
 */
#include "mutated.h"

#include "objects.h"
#include "report.h"

#include <stdbool.h>
#include <stdlib.h>

#define MIN_SLOTS 2048          /* 16 KiB of slots: a large object */
#define MAX_SLOTS 32768         /* 8 chunks of large-object cards */
#define MIN_NODES 512           /* the shortest a list may grow */
#define MAX_NODES 30000
#define MAX_BURST 64            /* stores in one burst */
#define MAX_APPEND 256          /* nodes appended in one step */
#define NEW_ARRAY_ONE_IN 64     /* bursts that first replace their array */
#define POLL_EVERY 4096         /* objects checked between safepoints */

#define ITEM_ENTRY UINT64_C(0x7972746e65)          /* an entry */
#define ITEM_ENTRY_PAIRED UINT64_C(0x7269617079)   /* one with a companion */
#define ITEM_COMPANION UINT64_C(0x6e6f6970)        /* the companion */
#define ITEM_NODE UINT64_C(0x65646f6e)             /* a list's node */
#define HEADER_MAGIC UINT64_C(0x7473696c6572796)

enum { SLOT_ARRAY, SLOT_LIST };
enum { KIND_STACK, KIND_GLOBAL, KIND_HANDLE };
static const char *const kind_name[MUTATED_KINDS] = { "stack", "global",
						      "handle" };

struct item {
	struct item *next;      /* an entry's companion, a node's successor */
	uint64_t kind;          /* ITEM_* */
	uint64_t owner;         /* entry: its array's id; companion: the
				   thread's tag; node: its list's id */
	uint64_t slot;          /* entry: its slot; others: 0 */
	uint64_t seq;           /* entry and companion: the entry's number;
				   node: its position in the list */
	uint64_t check;         /* item_sum: of kind..seq */
};

struct header {
	struct item *head, *tail;
	uint64_t magic;
	uint64_t id;
	uint64_t first, next;   /* the nodes' numbers: first..next-1 */
	uint64_t check;         /* header_sum: of magic..next */
};

/* Sync: written once by mutated_register before any mutator thread is
 * created (pthread_create orders the writes before the threads' reads). */
static gyre_type item_type, header_type;

static uint64_t item_sum(const struct item *it)
{
	return hash_words(&it->kind, 4);
}

static uint64_t header_sum(const struct header *h)
{
	return hash_words(&h->magic, 4);
}

/* ------------------------------------------------------------------ roots */

static void *root_get(struct mutated *m, int kind, int slot)
{
	switch (kind) {
	case KIND_STACK:
		return m->stack[slot];
	case KIND_GLOBAL:
		return m->global[slot];
	default:
		return gyre_handle_get(m->handle[slot]);
	}
}

static void root_put(struct mutated *m, int kind, int slot, void *obj)
{
	switch (kind) {
	case KIND_STACK:
		m->stack[slot] = obj;
		break;
	case KIND_GLOBAL:
		m->global[slot] = obj;
		break;
	default:
		if (gyre_handle_set(m->handle[slot], obj) != GYRE_OK)
			fail("gyre_handle_set failed");
	}
}

/* ------------------------------------------------------------- allocation */

/* Counts a new object after checking that it is zeroed (an object handed
 * out while still in use, or a free list left in it, shows up here). */
static void *fresh(struct mutated *m, void *p, size_t size, const char *what)
{
	const uint8_t *b = p;

	if (!p)
		fail("allocating a %s returned NULL", what);
	for (size_t i = 0; i < size; i++)
		if (b[i] != 0)
			fail("new %s at %p is not zeroed (byte %zu is 0x%02x)",
			     what, p, i, b[i]);
	m->bytes_allocated += size;
	m->objects_allocated++;
	return p;
}

static struct item *item_new(struct mutated *m, uint64_t kind,
			     uint64_t owner, uint64_t slot, uint64_t seq)
{
	struct item *it = fresh(m, gyre_alloc(item_type), sizeof *it, "item");

	it->kind = kind;
	it->owner = owner;
	it->slot = slot;
	it->seq = seq;
	it->check = item_sum(it);
	return it;
}

/* A fresh entry for slot `slot` of array `a`, now and then with a
 * companion (allocated while the entry is held only in a local). */
static struct item *entry_new(struct mutated *m, struct rng *r,
			      const struct mutated_array *a, size_t slot)
{
	bool paired = rng_below(r, 4) == 0;
	uint64_t seq = m->next_id++;
	struct item *e = item_new(m, paired ? ITEM_ENTRY_PAIRED : ITEM_ENTRY,
				  a->id, slot, seq);

	if (paired)
		GYRE_STORE(e, next, item_new(m, ITEM_COMPANION, m->owner, 0, seq));
	return e;
}

/* ----------------------------------------------------------------- checks */

/* Why entry e (with its companion) cannot be the one expected in slot s
 * of array a, or NULL if it is. */
static const char *entry_wrong(const struct mutated *m,
			       const struct mutated_array *a,
			       const struct item *e, size_t s, uint64_t want)
{
	const struct item *c;

	if (!e || ((uintptr_t)e & 7))
		return "lost";
	if (e->kind != ITEM_ENTRY && e->kind != ITEM_ENTRY_PAIRED)
		return "not an entry any more: freed or overwritten";
	if (e->check != item_sum(e))
		return "its checksum is wrong: corrupted";
	if (e->seq != want)
		return "another entry: a stale one (a store lost)";
	if (e->owner != a->id || e->slot != s)
		return "it says it is in another array or slot";
	c = e->next;
	if (e->kind == ITEM_ENTRY)
		return c ? "it has no companion but points at one" : NULL;
	if (!c || ((uintptr_t)c & 7) || c->kind != ITEM_COMPANION ||
	    c->check != item_sum(c) || c->seq != e->seq ||
	    c->owner != m->owner || c->next)
		return "its companion is lost or corrupted";
	return NULL;
}

/* Slot s of array k holds entry `want` (not 0), intact and in place. */
static void check_entry(const struct mutated *m, int k, const struct item *e,
			size_t s, uint64_t want, const char *when)
{
	const struct mutated_array *a = &m->array[k];
	const char *why = entry_wrong(m, a, e, s, want);
	bool readable = e && !((uintptr_t)e & 7);

	if (why)
		fail("%s: big array %#llx (%s root, %zu slots), slot %zu: "
		     "expected entry %llu, found %p (kind %#llx, entry %llu, "
		     "array %#llx, slot %llu): %s", when,
		     (unsigned long long)a->id, kind_name[k], a->len, s,
		     (unsigned long long)want, (const void *)e,
		     readable ? (unsigned long long)e->kind : 0ULL,
		     readable ? (unsigned long long)e->seq : 0ULL,
		     readable ? (unsigned long long)e->owner : 0ULL,
		     readable ? (unsigned long long)e->slot : 0ULL, why);
}

static void verify_array(struct mutated *m, int k, const char *when)
{
	const struct mutated_array *a = &m->array[k];
	void **arr = root_get(m, k, SLOT_ARRAY);
	size_t entries = 0;

	if (!arr || gyre_length(arr) != a->len)
		fail("%s: big array %#llx (%s root) is missing or has %zu slots, "
		     "expected %zu", when, (unsigned long long)a->id,
		     kind_name[k], arr ? gyre_length(arr) : 0, a->len);
	for (size_t s = 0; s < a->len; s++) {
		if (s % POLL_EVERY == POLL_EVERY - 1)
			gyre_safepoint();
		if (a->seq[s]) {
			const struct item *e = arr[s];

			check_entry(m, k, e, s, a->seq[s], when);
			entries += e->kind == ITEM_ENTRY_PAIRED ? 2 : 1;
		} else if (arr[s]) {
			fail("%s: big array %#llx (%s root), slot %zu holds %p, "
			     "expected NULL: a stale entry (a store lost)", when,
			     (unsigned long long)a->id, kind_name[k], s, arr[s]);
		}
	}
	m->t.slots_checked += a->len;
	m->seen_bytes += a->len * sizeof(void *) + entries * sizeof(struct item);
	m->seen_objects += 1 + entries;
}

/* Node n of list k is at position seq, intact. */
static void check_node(const struct mutated *m, int k, const struct item *n,
		       uint64_t seq, const char *when)
{
	const struct mutated_list *l = &m->list[k];

	if (!n || ((uintptr_t)n & 7))
		fail("%s: list %#llx (%s root) ends at node %llu, expected %llu "
		     "to %llu: lost", when, (unsigned long long)l->id,
		     kind_name[k], (unsigned long long)seq,
		     (unsigned long long)l->first, (unsigned long long)l->next - 1);
	if (n->kind != ITEM_NODE || n->check != item_sum(n) ||
	    n->owner != l->id || n->seq != seq)
		fail("%s: list %#llx (%s root), node %llu (of %llu to %llu) at %p "
		     "is another node or corrupted (kind %#llx, list %#llx, "
		     "position %llu)", when, (unsigned long long)l->id,
		     kind_name[k], (unsigned long long)seq,
		     (unsigned long long)l->first, (unsigned long long)l->next - 1,
		     (const void *)n, (unsigned long long)n->kind,
		     (unsigned long long)n->owner, (unsigned long long)n->seq);
}

static void check_header(const struct mutated *m, int k,
			 const struct header *h, const char *when)
{
	const struct mutated_list *l = &m->list[k];

	if (!h || h->magic != HEADER_MAGIC || h->check != header_sum(h) ||
	    h->id != l->id)
		fail("%s: the header of list %#llx (%s root) is lost or "
		     "corrupted (%p)", when, (unsigned long long)l->id,
		     kind_name[k], (const void *)h);
	if (h->first != l->first || h->next != l->next)
		fail("%s: the header of list %#llx (%s root) says nodes %llu to "
		     "%llu, expected %llu to %llu: stale", when,
		     (unsigned long long)l->id, kind_name[k],
		     (unsigned long long)h->first, (unsigned long long)h->next - 1,
		     (unsigned long long)l->first, (unsigned long long)l->next - 1);
}

static void verify_list(struct mutated *m, int k, const char *when)
{
	const struct mutated_list *l = &m->list[k];
	struct header *h = root_get(m, k, SLOT_LIST);
	struct item *n, *last = NULL;

	check_header(m, k, h, when);
	n = h->head;
	for (uint64_t seq = l->first; seq < l->next; seq++) {
		if ((seq - l->first) % POLL_EVERY == POLL_EVERY - 1)
			gyre_safepoint();
		check_node(m, k, n, seq, when);
		last = n;
		n = n->next;
	}
	if (n || h->tail != last)
		fail("%s: list %#llx (%s root) goes on past node %llu (to %p), or "
		     "its tail (%p) is not its last node (%p)", when,
		     (unsigned long long)l->id, kind_name[k],
		     (unsigned long long)l->next - 1, (void *)n, (void *)h->tail,
		     (void *)last);
	m->t.nodes_checked += l->next - l->first;
	m->seen_bytes += sizeof *h + (l->next - l->first) * sizeof(struct item);
	m->seen_objects += 1 + (l->next - l->first);
}

void mutated_verify(struct mutated *m, const char *when)
{
	for (int k = 0; k < MUTATED_KINDS; k++) {
		verify_array(m, k, when);
		verify_list(m, k, when);
	}
	m->t.verifications++;
}

/* ------------------------------------------------------------- big arrays */

/* Stores a fresh entry into slot s of array k. */
static void store_fresh(struct mutated *m, struct rng *r, int k, size_t s)
{
	struct mutated_array *a = &m->array[k];
	void **arr = root_get(m, k, SLOT_ARRAY);
	struct item *e = entry_new(m, r, a, s);

	GYRE_STORE_AT(arr, s, e);
	a->seq[s] = e->seq;
}

static void store_null(struct mutated *m, int k, size_t s)
{
	struct mutated_array *a = &m->array[k];
	void **arr = root_get(m, k, SLOT_ARRAY);

	GYRE_STORE_AT(arr, s, NULL);
	a->seq[s] = 0;
}

/* Moves the entry of a random slot of a random array (checked first) into
 * slot s of array k, and clears its old slot; with an empty source slot,
 * stores a fresh entry instead. No allocation in between. */
static void store_moved(struct mutated *m, struct rng *r, int k, size_t s)
{
	int from = (int)rng_below(r, MUTATED_KINDS);
	struct mutated_array *src = &m->array[from], *dst = &m->array[k];
	size_t j = rng_below(r, src->len);
	void **sarr = root_get(m, from, SLOT_ARRAY);
	void **darr = root_get(m, k, SLOT_ARRAY);
	struct item *e = sarr[j];

	if (!src->seq[j]) {
		store_fresh(m, r, k, s);
		return;
	}
	if (src == dst && j == s)
		return;
	check_entry(m, from, e, j, src->seq[j], "moving an entry");
	e->owner = dst->id;
	e->slot = s;
	e->check = item_sum(e);
	GYRE_STORE_AT(darr, s, e);
	dst->seq[s] = src->seq[j];
	GYRE_STORE_AT(sarr, j, NULL);
	src->seq[j] = 0;
	m->t.moves++;
}

/* A number from lo to hi, about log-uniform: many small ones, a few
 * near hi (rarely a multiple of the 8 slots of a card). */
static uint64_t pick_log(struct rng *r, uint64_t lo, uint64_t hi)
{
	uint64_t v = lo, levels = 0;

	while ((lo << (levels + 1)) < hi)
		levels++;
	v <<= rng_below(r, levels + 1);
	v += rng_below(r, v);
	return v < hi ? v : hi;
}

/* A new array under root k, a sixteenth of its slots filled: the old one
 * (if any) becomes garbage. */
static void array_new(struct mutated *m, struct rng *r, int k)
{
	struct mutated_array *a = &m->array[k];
	size_t len = pick_log(r, MIN_SLOTS, m->max_slots);
	uint64_t *seq = calloc(len, sizeof *seq);

	if (!seq)
		fail("out of memory for a big array's shadow");
	root_put(m, k, SLOT_ARRAY, fresh(m, gyre_alloc_array(GYRE_TYPE_PTR, len),
					 len * sizeof(void *), "big array"));
	free(a->seq);
	*a = (struct mutated_array){ .id = m->next_id++, .len = len, .seq = seq };
	for (size_t i = 0; i < len / 16; i++)
		store_fresh(m, r, k, rng_below(r, len));
	m->t.arrays_made++;
}

/* Stores at random slots of one array: fresh entries, NULLs and moved
 * entries, so that the array fills up to a third at most (it holds an
 * entry where it was stored more recently than NULL was). */
static void burst(struct mutated *m, struct rng *r)
{
	int k = (int)rng_below(r, MUTATED_KINDS);
	uint64_t n = 1 + rng_below(r, MAX_BURST);

	if (rng_below(r, NEW_ARRAY_ONE_IN) == 0)
		array_new(m, r, k);
	for (uint64_t i = 0; i < n; i++) {
		size_t s = rng_below(r, m->array[k].len);
		uint64_t x = rng_below(r, 20);

		if (x < 6)
			store_fresh(m, r, k, s);
		else if (x < 18)
			store_null(m, k, s);
		else
			store_moved(m, r, k, s);
	}
	m->t.bursts++;
	m->t.stores += n;
}

/* ------------------------------------------------------------------ lists */

static void header_seal(struct header *h, const struct mutated_list *l)
{
	h->first = l->first;
	h->next = l->next;
	h->check = header_sum(h);
}

static void list_pick_max(struct mutated *m, struct rng *r, int k)
{
	m->list[k].max = pick_log(r, MIN_NODES, m->max_nodes);
}

static void list_new(struct mutated *m, struct rng *r, int k)
{
	struct mutated_list *l = &m->list[k];
	struct header *h = fresh(m, gyre_alloc(header_type), sizeof *h,
				 "list header");

	*l = (struct mutated_list){ .id = m->next_id++, .first = 1, .next = 1 };
	list_pick_max(m, r, k);
	h->magic = HEADER_MAGIC;
	h->id = l->id;
	header_seal(h, l);
	root_put(m, k, SLOT_LIST, h);
}

/* Drops the first `count` nodes, each checked first. */
static void list_trim(struct mutated *m, int k, uint64_t count)
{
	struct mutated_list *l = &m->list[k];
	struct header *h = root_get(m, k, SLOT_LIST);

	for (uint64_t i = 0; i < count && l->first < l->next; i++) {
		check_node(m, k, h->head, l->first, "trimming a list");
		GYRE_STORE(h, head, h->head->next);
		l->first++;
	}
	if (!h->head)
		GYRE_STORE(h, tail, NULL);
	header_seal(h, l);
	m->t.trims++;
}

/* Appends nodes at the tail of one list: once the list is old, each link
 * is an old-to-young store. A list that reaches its length loses a
 * quarter to all of its nodes and draws a new length; others lose a few
 * now and then. */
static void append(struct mutated *m, struct rng *r)
{
	int k = (int)rng_below(r, MUTATED_KINDS);
	struct mutated_list *l = &m->list[k];
	struct header *h = root_get(m, k, SLOT_LIST);
	uint64_t n = 1 + rng_below(r, MAX_APPEND), len;

	for (uint64_t i = 0; i < n; i++) {
		struct item *node = item_new(m, ITEM_NODE, l->id, 0, l->next);

		if (h->tail)
			GYRE_STORE(h->tail, next, node);
		else
			GYRE_STORE(h, head, node);
		GYRE_STORE(h, tail, node);
		l->next++;
		header_seal(h, l);
	}
	m->t.appends += n;
	len = l->next - l->first;
	if (len >= l->max) {
		list_trim(m, k, len / 4 + rng_below(r, len - len / 4 + 1));
		list_pick_max(m, r, k);
	} else if (rng_below(r, 16) == 0) {
		list_trim(m, k, 1 + rng_below(r, len / 8 + 1));
	}
}

void mutated_step(struct mutated *m, struct rng *r)
{
	if (rng_below(r, 2))
		burst(m, r);
	else
		append(m, r);
}

/* ------------------------------------------------------------------ setup */

void mutated_register(void)
{
	static const size_t item_ptrs[] = { offsetof(struct item, next) };
	static const size_t header_ptrs[] = { offsetof(struct header, head),
					      offsetof(struct header, tail) };

	item_type = gyre_type_register(&(gyre_type_desc){
		.name = "stress.item", .size = sizeof(struct item),
		.ptr_offsets = item_ptrs, .n_ptrs = 1 });
	header_type = gyre_type_register(&(gyre_type_desc){
		.name = "stress.list", .size = sizeof(struct header),
		.ptr_offsets = header_ptrs, .n_ptrs = 2 });
	if (!item_type || !header_type)
		fail("registering the mutated heap's types");
}

static size_t clamp(size_t v, size_t lo, size_t hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

void mutated_stack_build(struct mutated *m, struct rng *r)
{
	array_new(m, r, KIND_STACK);
	list_new(m, r, KIND_STACK);
}

void mutated_stack_drop(struct mutated *m)
{
	m->stack[SLOT_ARRAY] = NULL;
	m->stack[SLOT_LIST] = NULL;
	free(m->array[KIND_STACK].seq);
	m->array[KIND_STACK] = (struct mutated_array){ 0 };
	m->list[KIND_STACK] = (struct mutated_list){ 0 };
}

void mutated_init(struct mutated *m, int thread, size_t live, void **stack,
		  void **global, struct rng *r)
{
	*m = (struct mutated){
		.stack = stack, .global = global,
		.owner = ((uint64_t)thread + 1) << 48 | UINT64_C(1) << 47,
		.max_slots = clamp(live * 8, MIN_SLOTS, MAX_SLOTS),
		.max_nodes = clamp(live * 4, MIN_NODES, MAX_NODES),
	};
	m->next_id = m->owner + 1;
	if (gyre_root_add(global, MUTATED_SLOTS * sizeof(void *)) != GYRE_OK)
		fail("gyre_root_add of the mutated heap's row failed");
	for (int s = 0; s < MUTATED_SLOTS; s++)
		if (!(m->handle[s] = gyre_handle_new(NULL)))
			fail("gyre_handle_new failed");
	for (int k = 0; k < MUTATED_KINDS; k++) {
		array_new(m, r, k);
		list_new(m, r, k);
	}
}

void mutated_fini(struct mutated *m)
{
	for (int s = 0; s < MUTATED_SLOTS; s++)
		if (gyre_handle_free(m->handle[s]) != GYRE_OK)
			fail("gyre_handle_free failed");
	if (gyre_root_remove(m->global) != GYRE_OK)
		fail("gyre_root_remove of the mutated heap's row failed");
	for (int k = 0; k < MUTATED_KINDS; k++)
		free(m->array[k].seq);
}

void mutated_tally_add(struct mutated_tally *sum, const struct mutated_tally *t)
{
	sum->bursts += t->bursts;
	sum->stores += t->stores;
	sum->moves += t->moves;
	sum->arrays_made += t->arrays_made;
	sum->appends += t->appends;
	sum->trims += t->trims;
	sum->verifications += t->verifications;
	sum->slots_checked += t->slots_checked;
	sum->nodes_checked += t->nodes_checked;
}
