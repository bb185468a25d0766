/*
 * objects.c: the memory manager's start, its pause figures and kvserver's
 * object types (see objects.h on why they live in one file), and the
 * explicit frees that only the malloc/free builds perform
 * (MM_EXPLICIT_FREE).
 */
#include "objects.h"

static struct {
	mm_type header, request, jv, entry, shard_refs;
} kv_types;

void kv_mm_init(void)
{
	static const size_t header_ptrs[] = {
		offsetof(struct header, next), offsetof(struct header, name),
		offsetof(struct header, value) };
	static const size_t request_ptrs[] = {
		offsetof(struct request, target),
		offsetof(struct request, headers),
		offsetof(struct request, body) };
	static const size_t jv_ptrs[] = { offsetof(struct jv, p) };
	static const size_t entry_ptrs[] = {
		offsetof(struct entry, next), offsetof(struct entry, lru_prev),
		offsetof(struct entry, lru_next), offsetof(struct entry, key),
		offsetof(struct entry, doc) };
	static const size_t shard_ptrs[] = {
		offsetof(struct shard_refs, buckets),
		offsetof(struct shard_refs, lru) };

#if defined(MM_GYRE)
	/* gyre's default pause target (1 ms) suits a server already. A
	 * cache is sized to its memory, so the old generation grows by 25%
	 * (not the default 33%) before a collection: with concurrent
	 * marking the extra cycles cost the collector thread's time, not
	 * pauses (20% cost a tenth of the throughput on 2 cores). (GYRE_
	 * variables such as GYRE_GROWTH still win.) */
	mm_init_gyre(&(gyre_config){ .growth_percent = 25 });
#else
	mm_init();
#endif
	kv_types.header = mm_type_register("kv.header", sizeof(struct header),
	                                   header_ptrs, 3);
	kv_types.request = mm_type_register("kv.request",
	                                    sizeof(struct request),
	                                    request_ptrs, 3);
	kv_types.jv = mm_type_register("kv.jv", sizeof(struct jv), jv_ptrs, 1);
	kv_types.entry = mm_type_register("kv.entry", sizeof(struct entry),
	                                  entry_ptrs, 5);
	kv_types.shard_refs = mm_type_register("kv.shard",
	                                       sizeof(struct shard_refs),
	                                       shard_ptrs, 2);
}

void kv_mm_pauses(struct mm_pauses *out) { mm_pauses_get(out); }

struct header *header_new(void) { return mm_alloc(kv_types.header); }
struct request *request_new(void) { return mm_alloc(kv_types.request); }
struct jv *jv_new(void) { return mm_alloc(kv_types.jv); }
struct entry *entry_new(void) { return mm_alloc(kv_types.entry); }
struct shard_refs *shard_refs_new(void) { return mm_alloc(kv_types.shard_refs); }

char *kv_strndup(const char *s, size_t n)
{
	char *p = mm_alloc_bytes(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

void request_free(struct request *r)
{
	struct header *h, *next;

	if (!MM_EXPLICIT_FREE || r == NULL)
		return;
	for (h = r->headers; h != NULL; h = next) {
		next = h->next;
		mm_free(h->name);
		mm_free(h->value);
		mm_free(h);
	}
	mm_free(r->target);
	mm_free(r->body);
	mm_free(r);
}

void jv_free(struct jv *v)
{
	void **items;
	uint32_t i, n;

	if (!MM_EXPLICIT_FREE || v == NULL)
		return;
	if (v->kind == JV_ARRAY || v->kind == JV_OBJECT) {
		items = v->p;
		n = v->kind == JV_OBJECT ? 2 * v->n : v->n;
		for (i = 0; i < n; i++)
			jv_free(items[i]);
	}
	mm_free(v->p);
	mm_free(v);
}
