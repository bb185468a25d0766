/*
 * sizeclass.c: the size-class tables (see sizeclass.h). The lookup table is
 * filled once at init so that the allocation fast path is one load.
 */
#include "gc/sizeclass.h"

const uint32_t sizeclass_size[SIZECLASS_COUNT] = {
	16,   32,   48,   64,   80,   96,   112,  128,
	160,  192,  224,  256,  320,  384,  448,  512,
	640,  768,  896,  1024, 1280, 1536, 1792, 2048,
	2560, 3072, 3584, 4096, 5120, 6144, 7168, 8192,
};

uint8_t sizeclass_of_granules[SIZECLASS_MAX_SIZE / GRANULE + 1];

void sizeclass_init(void)
{
	unsigned c = 0;
	for (unsigned g = 0; g <= SIZECLASS_MAX_SIZE / GRANULE; g++) {
		while (sizeclass_size[c] < g * GRANULE)
			c++;
		sizeclass_of_granules[g] = (uint8_t)c;
	}
}
