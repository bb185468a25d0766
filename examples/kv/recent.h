/*
 * recent.h: an index of the documents stored most recently, kept through
 * weak references (gyre builds): it does not keep a document alive once
 * the cache has dropped it (evicted, replaced or deleted), and each weak
 * reference's callback counts the documents the collector has reclaimed
 * since. /stats shows how many of the last RECENT_SLOTS stored documents
 * are still in memory. Other builds have no weak references: the index is
 * empty and /stats says null.
 */
#ifndef KV_RECENT_H
#define KV_RECENT_H

#include <stdint.h>

#include "buf.h"
#include "objects.h"

#define RECENT_SLOTS 1024

/* On an attached thread, once, after kv_mm_init. */
void recent_init(void);
/* Notes a document about to be stored (before cache_put takes it). */
void recent_note(struct jv *doc);
/* Appends the index's figures to out as a JSON value. */
void recent_write(struct buf *out);

#endif
