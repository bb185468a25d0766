/*
 * api.h: what the files of the public interface share (api.c and
 * api_final.c): the checks every entry point starts with.
 */
#ifndef GYRE_API_IMPL_H
#define GYRE_API_IMPL_H

#include "runtime/internal.h"
#include "threads/mutator.h"

/* GYRE_OK if gyre is initialised; else the misuse, reported. */
int api_need_init(const char *fn);
/* The calling thread's mutator if it may touch the heap (attached, not
 * in a blocking region); else NULL with the misuse reported in *rc. */
struct mutator *api_heap_user(const char *fn, int *rc);
/* With checks on, refuses a pointer into the block heap that cannot be
 * an object start (reported as a misuse of fn). */
int api_check_object(const char *fn, void *obj);

#endif
