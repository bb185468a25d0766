/*
 * sizeclass.c: the size-class tables (see sizeclass.h). The lookup table is
 * filled once at init so that the allocation fast path is one load.
 */
#include "gc/heap/sizeclass.h"

/* 24, 40, 56 and 72 are there for the commonest small objects, a header
 * and two, four, six or eight words (a 48-byte node, a 64-byte record):
 * rounding them up to 32, 48, 64 and 80 costs a quarter to an eighth of
 * their memory (bench/churn --small's entries of three 48-byte nodes and
 * a 64-byte payload took 272 bytes instead of 240). Every size is a
 * multiple of 8, so objects stay 8-aligned. */
const uint32_t sizeclass_size[SIZECLASS_COUNT] = {
	16,   24,   32,   40,   48,   56,   64,   72,
	80,   96,   112,  128,  160,  192,  224,  256,  320,  384,
	448,  512,  640,  768,  896,  1024, 1280, 1536,
	1792, 2048, 2560, 3072, 3584, 4096, 5120, 6144,
	7168, 8192,
};

uint8_t sizeclass_of_words[SIZECLASS_MAX_SIZE / 8 + 1];

void sizeclass_init(void)
{
	unsigned c = 0;
	for (unsigned w = 0; w <= SIZECLASS_MAX_SIZE / 8; w++) {
		while (sizeclass_size[c] < w * 8)
			c++;
		sizeclass_of_words[w] = (uint8_t)c;
	}
}
