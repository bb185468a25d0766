/*
 * object.h: the one header word in front of every object (DESIGN.md, "Heap
 * layout"). The embedder's pointer is the address just after it.
 *
 *   bits 63..32  length: elements of an array (1 for gyre_alloc)
 *   bits 31..8   type id
 *   bits  7..5   reserved
 *   bits  4..2   age: minor collections survived (saturates at 7)
 *   bit      1   HDR_STAYS: during a minor collection, could not be copied
 *                (to-space exhausted) and stays in place
 *   bit      0   HDR_FORWARDED: during a minor collection, the whole word
 *                is the copy's address | 1 (objects are 16-byte aligned)
 *
 * gyre.h builds headers inline (gyre_alloc's fast path): the two must agree.
 *
 * [INV-HEADER] Every slot whose object-start bit is set holds a header with
 * a registered type, and the object it describes fits in the slot. Outside
 * a minor collection no header has HDR_FORWARDED or HDR_STAYS.
 */
#ifndef GYRE_OBJECT_H
#define GYRE_OBJECT_H

#include <stdint.h>

#include "runtime/internal.h"

#define HEADER_SIZE sizeof(uint64_t)
#define OBJECT_MAX_LENGTH UINT32_MAX

#define HDR_FORWARDED UINT64_C(1)
#define HDR_STAYS UINT64_C(2)
#define HDR_AGE_SHIFT 2
#define HDR_AGE_MAX 7
#define HDR_AGE_MASK ((uint64_t)HDR_AGE_MAX << HDR_AGE_SHIFT)

static inline uint64_t header_make(gyre_type type, uint32_t length)
{
	return (uint64_t)length << 32 | (uint64_t)type << 8;
}

static inline unsigned header_age(uint64_t h)
{
	return (unsigned)((h & HDR_AGE_MASK) >> HDR_AGE_SHIFT);
}

static inline uint64_t header_with_age(uint64_t h, unsigned age)
{
	return (h & ~HDR_AGE_MASK) | (uint64_t)age << HDR_AGE_SHIFT;
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
