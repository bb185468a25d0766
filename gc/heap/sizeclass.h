/*
 * sizeclass.h: the size classes of small objects (DESIGN.md, "Heap layout":
 * size-class blocks). Sizes include the header and are multiples of 8;
 * classes grow by about 1/4 so that internal fragmentation stays under
 * 25%. Objects above SIZECLASS_MAX_SIZE are large objects. (The nursery
 * packs objects on its own 16-byte GRANULE.)
 */
#ifndef GYRE_SIZECLASS_H
#define GYRE_SIZECLASS_H

#include <stddef.h>
#include <stdint.h>

#define GRANULE 16
#define SIZECLASS_COUNT 36
#define SIZECLASS_MAX_SIZE 8192

/* Size in bytes of each class, header included. */
extern const uint32_t sizeclass_size[SIZECLASS_COUNT];
/* Class of a size, indexed by (size + 7) / 8. Sync: filled by
 * sizeclass_init in gyre_init, read-only afterwards. */
extern uint8_t sizeclass_of_words[SIZECLASS_MAX_SIZE / 8 + 1];

void sizeclass_init(void);

/* Class for `bytes` (header included, at most SIZECLASS_MAX_SIZE). */
static inline unsigned sizeclass_for(size_t bytes)
{
	return sizeclass_of_words[(bytes + 7) / 8];
}

#endif
