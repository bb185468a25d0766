/*
 * http.c: the request parser and the response writer (see http.h).
 *
 * A request is parsed in two passes over its head: the first validates
 * every line and finds the body's length without allocating, so a request
 * whose body has not arrived yet costs no garbage each time more bytes come;
 * the second builds the request objects from the line positions the first
 * recorded.
 */
#include "http.h"

#include <stdint.h>
#include <strings.h>

/* Where one header line's name and value lie in the buffer. */
struct span {
	size_t name, name_len, value, value_len;
};

/* What the first pass learns. */
struct head {
	size_t len;                  /* bytes of request line and headers */
	enum http_method method;
	size_t target, target_len;
	int minor;                   /* HTTP/1.<minor> */
	struct span headers[HTTP_HEADERS_MAX];
	int n_headers;
	bool has_length;
	uint64_t content_length;
	int connection;              /* -1 close, 1 keep-alive, 0 unsaid */
};

static bool is_tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || (c != 0 && strchr("!#$%&'*+-.^_`|~", c));
}

/* A byte allowed in a header value: HTAB, visible ASCII, SP, obs-text. */
static bool is_value_char(unsigned char c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

/* A LF not after a CR anywhere in buf[0..len): refused outright, so a
 * client ending lines with LF alone gets 400 rather than a timeout. */
static bool has_bare_lf(const char *buf, size_t len)
{
	const char *p = buf;

	while ((p = memchr(p, '\n', len - (size_t)(p - buf))) != NULL) {
		if (p == buf || p[-1] != '\r')
			return true;
		p++;
	}
	return false;
}

static int parse_request_line(const char *buf, size_t line_len,
                              struct head *h)
{
	const char *sp1 = memchr(buf, ' ', line_len), *sp2, *v;
	size_t mlen;

	if (sp1 == NULL || sp1 == buf || sp1 - buf > 16)
		return 400;
	mlen = (size_t)(sp1 - buf);
	for (size_t i = 0; i < mlen; i++)
		if (buf[i] < 'A' || buf[i] > 'Z')
			return 400;
	if (mlen == 3 && memcmp(buf, "GET", 3) == 0)
		h->method = HTTP_GET;
	else if (mlen == 3 && memcmp(buf, "PUT", 3) == 0)
		h->method = HTTP_PUT;
	else if (mlen == 6 && memcmp(buf, "DELETE", 6) == 0)
		h->method = HTTP_DELETE;
	else
		h->method = HTTP_OTHER;

	h->target = mlen + 1;
	sp2 = memchr(sp1 + 1, ' ', line_len - h->target);
	if (sp2 == NULL)
		return 400;
	h->target_len = (size_t)(sp2 - (sp1 + 1));
	if (h->target_len > HTTP_TARGET_MAX)
		return 414;
	if (h->target_len == 0 || buf[h->target] != '/')
		return 400;
	for (size_t i = 0; i < h->target_len; i++) {
		unsigned char c = (unsigned char)buf[h->target + i];

		if (c <= 0x20 || c >= 0x7f)
			return 400;
	}

	v = sp2 + 1;
	if (buf + line_len - v != 8 || memcmp(v, "HTTP/", 5) != 0 ||
	    v[5] < '0' || v[5] > '9' || v[6] != '.' || v[7] < '0' || v[7] > '9')
		return 400;
	if (v[5] != '1' || (v[7] != '0' && v[7] != '1'))
		return 505;
	h->minor = v[7] - '0';
	return 0;
}

/* Content-Length: digits only; a repeat must agree. More than 10 digits
 * is too large whatever they say (HTTP_BODY_MAX has 7). */
static int parse_length(const char *v, size_t n, struct head *h)
{
	uint64_t x = 0;

	if (n == 0)
		return 400;
	for (size_t i = 0; i < n; i++)
		if (v[i] < '0' || v[i] > '9')
			return 400;
	if (n > 10)
		return 413;
	for (size_t i = 0; i < n; i++)
		x = x * 10 + (uint64_t)(v[i] - '0');
	if (h->has_length && h->content_length != x)
		return 400;
	h->has_length = true;
	h->content_length = x;
	return x > HTTP_BODY_MAX ? 413 : 0;
}

/* "close" or "keep-alive" among the comma-separated options. */
static void parse_connection(const char *v, size_t n, struct head *h)
{
	size_t i = 0;

	while (i < n) {
		size_t j = i;

		while (j < n && v[j] != ',')
			j++;
		size_t a = i, b = j;
		while (a < b && (v[a] == ' ' || v[a] == '\t'))
			a++;
		while (b > a && (v[b - 1] == ' ' || v[b - 1] == '\t'))
			b--;
		if (b - a == 5 && strncasecmp(v + a, "close", 5) == 0)
			h->connection = -1;
		else if (b - a == 10 && strncasecmp(v + a, "keep-alive", 10) == 0
		         && h->connection == 0)
			h->connection = 1;
		i = j + 1;
	}
}

/* One header line buf[start..start+n); n > 0. */
static int parse_header(const char *buf, size_t start, size_t n,
                        struct head *h)
{
	const char *line = buf + start, *colon = memchr(line, ':', n);
	struct span *s;
	size_t a, b;

	if (colon == NULL || colon == line)
		return 400;
	for (const char *c = line; c < colon; c++)
		if (!is_tchar((unsigned char)*c))
			return 400;
	for (size_t i = (size_t)(colon - line) + 1; i < n; i++)
		if (!is_value_char((unsigned char)line[i]))
			return 400;
	if (h->n_headers == HTTP_HEADERS_MAX)
		return 431;
	s = &h->headers[h->n_headers++];
	s->name = start;
	s->name_len = (size_t)(colon - line);
	a = s->name_len + 1;
	b = n;
	while (a < b && (line[a] == ' ' || line[a] == '\t'))
		a++;
	while (b > a && (line[b - 1] == ' ' || line[b - 1] == '\t'))
		b--;
	s->value = start + a;
	s->value_len = b - a;

	if (s->name_len == 14 && strncasecmp(line, "Content-Length", 14) == 0)
		return parse_length(buf + s->value, s->value_len, h);
	if (s->name_len == 17 && strncasecmp(line, "Transfer-Encoding", 17) == 0)
		return 501;
	if (s->name_len == 10 && strncasecmp(line, "Connection", 10) == 0)
		parse_connection(buf + s->value, s->value_len, h);
	return 0;
}

/* First pass: 0 with h filled, -1 if the head is incomplete, or a status. */
static int parse_head(const char *buf, size_t len, struct head *h)
{
	size_t scan = len < HTTP_HEAD_MAX ? len : HTTP_HEAD_MAX;
	size_t line_max = HTTP_TARGET_MAX + 32; /* method, spaces, version */
	const char *lf = memchr(buf, '\n', len < line_max ? len : line_max);
	const char *end;
	size_t pos;
	int status;

	/* Only the head is checked for bare LFs: a body may hold any byte. */
	end = memmem(buf, scan, "\r\n\r\n", 4);
	if (has_bare_lf(buf, end != NULL ? (size_t)(end - buf) + 4 : scan))
		return 400;
	if (lf == NULL)
		return len >= line_max ? 414 : -1;
	if ((status = parse_request_line(buf, (size_t)(lf - 1 - buf), h)))
		return status;
	if (end == NULL)
		return len >= HTTP_HEAD_MAX ? 431 : -1;
	h->len = (size_t)(end - buf) + 4;
	for (pos = (size_t)(lf - buf) + 1; pos < h->len - 2;) {
		const char *eol = memchr(buf + pos, '\r', h->len - pos);
		size_t n = (size_t)(eol - (buf + pos));

		if (eol[1] != '\n')
			return 400;   /* a CR alone inside a line */
		if ((status = parse_header(buf, pos, n, h)))
			return status;
		pos += n + 2;
	}
	if (h->method == HTTP_PUT && !h->has_length)
		return 411;
	return 0;
}

/* Second pass: the objects. */
static struct request *build(const char *buf, const struct head *h)
{
	struct request *r = request_new();
	struct header *tail = NULL;
	char *s;

	r->method = h->method;
	r->keep_alive = h->connection == 0 ? h->minor == 1 : h->connection > 0;
	s = kv_strndup(buf + h->target, h->target_len);
	MM_STORE(r, target, s);
	for (int i = 0; i < h->n_headers; i++) {
		const struct span *sp = &h->headers[i];
		struct header *hd = header_new();

		s = kv_strndup(buf + sp->name, sp->name_len);
		MM_STORE(hd, name, s);
		s = kv_strndup(buf + sp->value, sp->value_len);
		MM_STORE(hd, value, s);
		if (tail == NULL)
			MM_STORE(r, headers, hd);
		else
			MM_STORE(tail, next, hd);
		tail = hd;
	}
	if (h->content_length > 0) {
		s = kv_strndup(buf + h->len, h->content_length);
		MM_STORE(r, body, s);
		r->body_len = h->content_length;
	}
	return r;
}

long http_parse(const char *buf, size_t len, struct request **out)
{
	struct head h = { 0 };
	int status = parse_head(buf, len, &h);

	if (status > 0)
		return -status;
	if (status < 0 || len - h.len < h.content_length)
		return 0;
	*out = build(buf, &h);
	return (long)(h.len + h.content_length);
}

const char *http_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 204: return "No Content";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 411: return "Length Required";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 431: return "Request Header Fields Too Large";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	default: return "Internal Server Error";
	}
}

void http_respond(struct buf *out, int status, bool json, bool closing,
                  const char *extra, const char *body, size_t body_len)
{
	buf_printf(out, "HTTP/1.1 %d %s\r\nContent-Length: %zu\r\n%s%s%s\r\n",
	           status, http_reason(status), body_len,
	           json ? "Content-Type: application/json\r\n" : "",
	           closing ? "Connection: close\r\n" : "",
	           extra != NULL ? extra : "");
	buf_put(out, body, body_len);
}
