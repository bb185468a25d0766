/*
 * http.h: the HTTP/1.1 request parser and response writer. The parser is
 * strict (RFC 9112 syntax, CRLF line ends, bounded sizes) because it faces
 * the network: whatever a client sends, it returns a request, "not yet", or
 * the 4xx/5xx status to refuse it with.
 */
#ifndef KV_HTTP_H
#define KV_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "objects.h"

#define HTTP_HEAD_MAX 8192          /* request line and headers: else 431 */
#define HTTP_HEADERS_MAX 64         /* else 431 */
#define HTTP_TARGET_MAX 2048        /* else 414 */
#define HTTP_BODY_MAX (1u << 20)    /* Content-Length above it: 413 */

/* Parses the request at the start of buf[0..len). Returns the number of
 * bytes it spans (> 0) and sets *out to it; 0 when the bytes so far are a
 * valid beginning but not a whole request; or minus the status to refuse
 * it with (400, 411, 413, 414, 431, 501, 505), after which the connection
 * must be closed: the parser cannot tell where the next request would
 * start. Nothing is allocated unless a request is returned. */
long http_parse(const char *buf, size_t len, struct request **out);

/* The reason phrase of a status code this server sends. */
const char *http_reason(int status);

/* Appends a whole response: status line, Content-Length, Content-Type
 * (when json), Connection: close (when closing), `extra` header lines
 * (each ending in CRLF; may be NULL), and body[0..body_len). */
void http_respond(struct buf *out, int status, bool json, bool closing,
                  const char *extra, const char *body, size_t body_len);

#endif
