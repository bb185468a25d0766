/*
 * json.c: the JSON parser and writer (see json.h). Strings and numbers keep
 * their source text, so writing a document back needs no escaping or number
 * formatting, and what a client PUT is what it GETs, byte for byte but for
 * whitespace. Text must be UTF-8 (RFC 8259), so strings are checked to be.
 */
#include "json.h"

#include <stdbool.h>
#include <stdint.h>

struct parser {
	const char *s;
	const char *end;
	int depth;
};

static struct jv *parse_value(struct parser *p);

static void skip_space(struct parser *p)
{
	while (p->s < p->end && (*p->s == ' ' || *p->s == '\t' ||
	                         *p->s == '\n' || *p->s == '\r'))
		p->s++;
}

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

static bool is_hex(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static struct jv *leaf(uint32_t kind, const char *text, size_t n)
{
	struct jv *v = jv_new();
	char *copy = text != NULL ? kv_strndup(text, n) : NULL;

	v->kind = kind;
	v->n = (uint32_t)n;
	MM_STORE(v, p, copy);
	return v;
}

/* Steps over one UTF-8 encoded character of 2 to 4 bytes at p->s (whose
 * first byte is >= 0x80); false if it is not well-formed (RFC 3629: no
 * overlong forms, no surrogates, nothing above U+10FFFF). */
static bool skip_utf8(struct parser *p)
{
	const unsigned char *s = (const unsigned char *)p->s;
	size_t left = (size_t)(p->end - p->s), n;
	unsigned char lo = 0x80, hi = 0xbf;

	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4;
	else
		return false;
	if (s[0] == 0xe0)
		lo = 0xa0;         /* overlong */
	else if (s[0] == 0xed)
		hi = 0x9f;         /* surrogates */
	else if (s[0] == 0xf0)
		lo = 0x90;         /* overlong */
	else if (s[0] == 0xf4)
		hi = 0x8f;         /* above U+10FFFF */
	if (left < n || s[1] < lo || s[1] > hi)
		return false;
	for (size_t i = 2; i < n; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return false;
	p->s += n;
	return true;
}

/* The body of a string; p->s is just after the opening quote. */
static struct jv *parse_string(struct parser *p)
{
	const char *start = p->s;

	while (p->s < p->end && *p->s != '"') {
		unsigned char c = (unsigned char)*p->s;

		if (c < 0x20)
			return NULL;
		if (c >= 0x80) {
			if (!skip_utf8(p))
				return NULL;
			continue;
		}
		if (c != '\\') {
			p->s++;
			continue;
		}
		if (p->end - p->s < 2)
			return NULL;
		switch (p->s[1]) {
		case '"': case '\\': case '/': case 'b': case 'f': case 'n':
		case 'r': case 't':
			p->s += 2;
			break;
		case 'u':
			if (p->end - p->s < 6 || !is_hex(p->s[2]) ||
			    !is_hex(p->s[3]) || !is_hex(p->s[4]) ||
			    !is_hex(p->s[5]))
				return NULL;
			p->s += 6;
			break;
		default:
			return NULL;
		}
	}
	if (p->s >= p->end || (size_t)(p->s - start) > UINT32_MAX)
		return NULL;
	p->s++;
	return leaf(JV_STRING, start, (size_t)(p->s - 1 - start));
}

/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static struct jv *parse_number(struct parser *p)
{
	const char *start = p->s;

	if (p->s < p->end && *p->s == '-')
		p->s++;
	if (p->s < p->end && *p->s == '0') {
		p->s++;
	} else {
		if (p->s >= p->end || !is_digit(*p->s))
			return NULL;
		while (p->s < p->end && is_digit(*p->s))
			p->s++;
	}
	if (p->s < p->end && *p->s == '.') {
		p->s++;
		if (p->s >= p->end || !is_digit(*p->s))
			return NULL;
		while (p->s < p->end && is_digit(*p->s))
			p->s++;
	}
	if (p->s < p->end && (*p->s == 'e' || *p->s == 'E')) {
		p->s++;
		if (p->s < p->end && (*p->s == '+' || *p->s == '-'))
			p->s++;
		if (p->s >= p->end || !is_digit(*p->s))
			return NULL;
		while (p->s < p->end && is_digit(*p->s))
			p->s++;
	}
	return leaf(JV_NUMBER, start, (size_t)(p->s - start));
}

static struct jv *parse_literal(struct parser *p, const char *word,
                                uint32_t kind)
{
	size_t n = strlen(word);

	if ((size_t)(p->end - p->s) < n || memcmp(p->s, word, n) != 0)
		return NULL;
	p->s += n;
	return leaf(kind, NULL, 0);
}

/* The items of an array or object while it is parsed: a pointer array that
 * doubles when full (the old one is garbage, or freed for malloc). */
struct items {
	void **a;
	uint32_t n;
	uint32_t cap;
};

static void items_push(struct items *it, void *v)
{
	if (it->n == it->cap) {
		uint32_t cap = it->cap ? 2 * it->cap : 8;
		void **a = mm_alloc_ptrs(cap);

		for (uint32_t i = 0; i < it->n; i++)
			MM_STORE_AT(a, i, it->a[i]);
		mm_free(it->a);
		it->a = a;
		it->cap = cap;
	}
	MM_STORE_AT(it->a, it->n, v);
	it->n++;
}

static void items_free(struct items *it)
{
	for (uint32_t i = 0; i < it->n; i++)
		jv_free(it->a[i]);
	mm_free(it->a);
}

/* An array (close = ']') or an object (close = '}'); p->s is just after the
 * opening bracket. An object's items alternate key and value. */
static struct jv *parse_container(struct parser *p, char close)
{
	bool object = close == '}';
	struct items it = { 0 };
	struct jv *v;

	if (++p->depth > JSON_DEPTH_MAX)
		return NULL;
	skip_space(p);
	if (p->s < p->end && *p->s == close) {
		p->s++;
		goto done;
	}
	for (;;) {
		if (object) {
			skip_space(p);
			if (p->s >= p->end || *p->s != '"')
				goto fail;
			p->s++;
			if ((v = parse_string(p)) == NULL)
				goto fail;
			items_push(&it, v);
			skip_space(p);
			if (p->s >= p->end || *p->s != ':')
				goto fail;
			p->s++;
		}
		if ((v = parse_value(p)) == NULL)
			goto fail;
		items_push(&it, v);
		skip_space(p);
		if (p->s < p->end && *p->s == ',') {
			p->s++;
			continue;
		}
		if (p->s < p->end && *p->s == close) {
			p->s++;
			break;
		}
		goto fail;
	}
done:
	p->depth--;
	v = jv_new();
	v->kind = object ? JV_OBJECT : JV_ARRAY;
	v->n = object ? it.n / 2 : it.n;
	MM_STORE(v, p, it.a);
	return v;
fail:
	items_free(&it);
	return NULL;
}

static struct jv *parse_value(struct parser *p)
{
	skip_space(p);
	if (p->s >= p->end)
		return NULL;
	switch (*p->s) {
	case '{':
		p->s++;
		return parse_container(p, '}');
	case '[':
		p->s++;
		return parse_container(p, ']');
	case '"':
		p->s++;
		return parse_string(p);
	case 't':
		return parse_literal(p, "true", JV_TRUE);
	case 'f':
		return parse_literal(p, "false", JV_FALSE);
	case 'n':
		return parse_literal(p, "null", JV_NULL);
	default:
		return parse_number(p);
	}
}

struct jv *json_parse(const char *text, size_t len)
{
	struct parser p = { .s = text, .end = text + len };
	struct jv *v = parse_value(&p);

	if (v == NULL)
		return NULL;
	skip_space(&p);
	if (p.s != p.end) {
		jv_free(v);
		return NULL;
	}
	return v;
}

void json_write(const struct jv *v, struct buf *out)
{
	void **items = v->p;

	switch (v->kind) {
	case JV_NULL:
		buf_put(out, "null", 4);
		break;
	case JV_FALSE:
		buf_put(out, "false", 5);
		break;
	case JV_TRUE:
		buf_put(out, "true", 4);
		break;
	case JV_NUMBER:
		buf_put(out, v->p, v->n);
		break;
	case JV_STRING:
		buf_putc(out, '"');
		buf_put(out, v->p, v->n);
		buf_putc(out, '"');
		break;
	case JV_ARRAY:
		buf_putc(out, '[');
		for (uint32_t i = 0; i < v->n; i++) {
			if (i > 0)
				buf_putc(out, ',');
			json_write(items[i], out);
		}
		buf_putc(out, ']');
		break;
	case JV_OBJECT:
		buf_putc(out, '{');
		for (uint32_t i = 0; i < v->n; i++) {
			if (i > 0)
				buf_putc(out, ',');
			json_write(items[2 * i], out);
			buf_putc(out, ':');
			json_write(items[2 * i + 1], out);
		}
		buf_putc(out, '}');
		break;
	}
}
