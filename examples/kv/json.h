/*
 * json.h: documents are JSON values held as graphs of struct jv (objects.h).
 * The parser validates strictly (RFC 8259 grammar, nesting bounded) because
 * its input comes from clients; the writer prints a document compactly.
 */
#ifndef KV_JSON_H
#define KV_JSON_H

#include <stddef.h>

#include "buf.h"
#include "objects.h"

/* Arrays and objects nested deeper than this are refused: the parser
 * recurses once per level, so the bound is also its stack bound. */
#define JSON_DEPTH_MAX 32

/* Parses text[0..len) as one JSON value, with optional whitespace around
 * it. Returns the document, or NULL if the text is not valid JSON or nests
 * deeper than JSON_DEPTH_MAX. */
struct jv *json_parse(const char *text, size_t len);

/* Appends v to out as compact JSON: strings and numbers exactly as they
 * were sent, no whitespace. */
void json_write(const struct jv *v, struct buf *out);

#endif
