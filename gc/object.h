/*
 * object.h: the one header word in front of every object (DESIGN.md, "Heap
 * layout"). The embedder's pointer is the address just after it.
 *
 *   bits 63..32  length: elements of an array (1 for gyre_alloc)
 *   bits 31..8   type id
 *   bits  7..0   reserved for generation/age and forwarding
 *
 * [INV-HEADER] Every slot whose object-start bit is set holds a header with
 * a registered type, and the object it describes fits in the slot.
 */
#ifndef GYRE_OBJECT_H
#define GYRE_OBJECT_H

#include <stdint.h>

#include "runtime/internal.h"

#define HEADER_SIZE sizeof(uint64_t)
#define OBJECT_MAX_LENGTH UINT32_MAX

static inline uint64_t header_make(gyre_type type, uint32_t length)
{
	return (uint64_t)length << 32 | (uint64_t)type << 8;
}

static inline gyre_type header_type(uint64_t h)
{
	return (gyre_type)(h >> 8 & 0xffffff);
}

static inline uint32_t header_length(uint64_t h)
{
	return (uint32_t)(h >> 32);
}

/* The header of the object whose payload starts at `obj`. */
static inline uint64_t *object_header(const void *obj)
{
	return (uint64_t *)obj - 1;
}

static inline void *object_from_slot(void *slot)
{
	return (char *)slot + HEADER_SIZE;
}

#endif
