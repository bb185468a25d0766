/*
 * routes.c: what each request does. /kv/<key> gets, stores and deletes
 * documents in the cache; /kv/<key>?critical is a GET whose lookup and
 * response run in a no-GC region (gyre_critical_begin; automatic
 * collection disabled for the other collectors), as a latency-critical
 * section of a server would, and counts any collection that ran inside it
 * and any region whose budget ran out;
 * a PUT's document is noted in the index of recent ones (recent.h);
 * /stats reports the server and its memory manager.
 */
#include "cache.h"
#include "http.h"
#include "json.h"
#include "recent.h"
#include "server.h"

#define KEY_MAX 200

static bool is_key_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '~' ||
	       c == '-';
}

static int respond(struct loop *l, struct buf *out, int status, bool json,
                   bool closing, const char *extra)
{
	http_respond(out, status, json, closing, extra, l->body.data,
	             json ? l->body.len : 0);
	counter_inc(l, C_REQUESTS);
	counter_inc(l, status < 300 ? C_2XX : status == 404 ? C_404
	                                    : status < 500 ? C_4XX : C_5XX);
	return status;
}

/* A region's budget: what one GET takes from the heap is a few small
 * objects, but the count is in whole 64 KiB nursery buffers: two leave
 * room for a buffer that runs out mid-request. */
#define CRITICAL_BUDGET (128 * 1024)

static int get_critical(struct loop *l, const char *key, size_t len,
                        struct buf *out, bool closing)
{
	uint64_t before;
	int status;
	bool opened = mm_critical_begin(CRITICAL_BUDGET);

	before = mm_gc_count();
	status = cache_get(key, len, &l->body) ? 200 : 404;
	status = respond(l, out, status, status == 200, closing, NULL);
	if (mm_gc_count() != before)
		counter_inc(l, C_CRITICAL_GC);
	if (!mm_critical_end(opened))
		counter_inc(l, C_CRITICAL_OVERRUN);
	counter_inc(l, C_CRITICAL);
	return status;
}

static int kv(struct loop *l, const struct request *req, const char *key,
              struct buf *out, bool closing)
{
	const char *query = strchr(key, '?');
	size_t len = query != NULL ? (size_t)(query - key) : strlen(key);
	bool critical = query != NULL && strcmp(query, "?critical") == 0;
	struct jv *doc;
	bool found;

	if (len == 0 || len > KEY_MAX || (query != NULL && !critical))
		return respond(l, out, 400, false, closing, NULL);
	for (size_t i = 0; i < len; i++)
		if (!is_key_char(key[i]))
			return respond(l, out, 400, false, closing, NULL);
	switch (req->method) {
	case HTTP_GET:
		if (critical)
			return get_critical(l, key, len, out, closing);
		found = cache_get(key, len, &l->body);
		return respond(l, out, found ? 200 : 404, found, closing, NULL);
	case HTTP_PUT:
		doc = json_parse(req->body != NULL ? req->body : "",
		                 req->body_len);
		if (doc == NULL)
			return respond(l, out, 400, false, closing, NULL);
		recent_note(doc);
		return respond(l, out, cache_put(key, len, doc) ? 200 : 201,
		               false, closing, NULL);
	case HTTP_DELETE:
		return respond(l, out, cache_delete(key, len) ? 204 : 404,
		               false, closing, NULL);
	default:
		return respond(l, out, 405, false, closing,
		               "Allow: GET, PUT, DELETE\r\n");
	}
}

int route(struct loop *l, const struct request *req, struct buf *out)
{
	bool closing = !req->keep_alive;

	l->body.len = 0;
	if (strncmp(req->target, "/kv/", 4) == 0)
		return kv(l, req, req->target + 4, out, closing);
	if (strcmp(req->target, "/stats") == 0) {
		if (req->method != HTTP_GET)
			return respond(l, out, 405, false, closing,
			               "Allow: GET\r\n");
		stats_write(l->srv, &l->body);
		return respond(l, out, 200, true, closing, NULL);
	}
	return respond(l, out, 404, false, closing, NULL);
}
