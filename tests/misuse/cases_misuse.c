/*
 * cases_misuse.c: the misuse cases of the misuse test, one function per
 * bad input that gyre.h's contracts name, grouped by the part of the API
 * they misuse (lifecycle, threads, allocation, collection and thresholds,
 * types, roots). Each runs in a forked child set up by misuse.c, commits
 * its misuse and returns the status; misuse.c's table pairs it with the
 * function that must name the misuse and the status it must return. Kept
 * apart from the harness so that adding a documented error means adding a
 * case here, its declaration in misuse.h and a line in the table.
 */
#include "misuse.h"

#include <pthread.h>
#include <semaphore.h>
#include <stdlib.h>

/* ----------------------------------------------------- misuse: lifecycle */

int init_twice(void)
{
	init_or_die(NULL);
	return gyre_init(NULL);
}

static int init_with(gyre_config c)
{
	return gyre_init(&c);
}

int heap_max_too_small(void)
{
	return init_with((gyre_config){ .heap_max = 1 * MIB });
}

int heap_max_too_big(void)
{
	return init_with((gyre_config){ .heap_max = (size_t)2 << 40 });
}

int heap_min_too_small(void)
{
	return init_with((gyre_config){ .heap_min = 1024 });
}

int heap_min_above_max(void)
{
	return init_with((gyre_config){ .heap_max = 16 * MIB,
					.heap_min = 32 * MIB });
}

int growth_too_small(void)
{
	return init_with((gyre_config){ .growth_percent = 5 });
}

int growth_too_big(void)
{
	return init_with((gyre_config){ .growth_percent = 10001 });
}

int workers_too_many(void)
{
	return init_with((gyre_config){ .workers = 1000 });
}

static int init_with_env(const char *name, const char *value)
{
	if (setenv(name, value, 1) != 0)
		setup_failed("setenv");
	return gyre_init(NULL);
}

int env_heap_max_banana(void)
{
	return init_with_env("GYRE_HEAP_MAX", "banana");
}

int env_heap_min_bad_suffix(void)
{
	return init_with_env("GYRE_HEAP_MIN", "12X");
}

int env_growth_out_of_range(void)
{
	return init_with_env("GYRE_GROWTH", "5");
}

int nursery_too_small(void)
{
	return init_with((gyre_config){ .nursery_size = 128 * 1024 });
}

int nursery_above_half_heap(void)
{
	return init_with((gyre_config){ .heap_max = 64 * MIB,
					.nursery_size = 32 * MIB + 1 });
}

int tenure_age_too_big(void)
{
	return init_with((gyre_config){ .tenure_age = 8 });
}

int tenure_from_old_out_of_range(void)
{
	return init_with((gyre_config){ .tenure_from_old = 2 });
}

int env_tenure_from_old_bad(void)
{
	return init_with_env("GYRE_TENURE_FROM_OLD", "yes");
}

int env_nursery_bad_suffix(void)
{
	return init_with_env("GYRE_NURSERY", "1Q");
}

int env_tenure_age_out_of_range(void)
{
	return init_with_env("GYRE_TENURE_AGE", "8");
}

int pause_target_too_small(void)
{
	return init_with((gyre_config){ .pause_target_us = 99 });
}

int env_free_floor_banana(void)
{
	return init_with_env("GYRE_FREE_FLOOR", "banana");
}

int shutdown_attached(void)
{
	init_attached();
	return gyre_shutdown();
}

int shutdown_uninitialised(void)
{
	return gyre_shutdown();
}

int stats_null(void)
{
	init_or_die(NULL);
	return gyre_stats_get(NULL);
}

/* ------------------------------------------------------- misuse: threads */

int attach_uninitialised(void)
{
	return gyre_thread_attach();
}

int attach_twice(void)
{
	init_attached();
	return gyre_thread_attach();
}

int detach_unattached(void)
{
	init_or_die(NULL);
	return gyre_thread_detach();
}

int detach_disabled(void)
{
	init_attached();
	if (gyre_disable() != GYRE_OK)
		setup_failed("gyre_disable");
	return gyre_thread_detach();
}

int detach_blocking(void)
{
	init_attached();
	if (gyre_blocking_begin() != GYRE_OK)
		setup_failed("gyre_blocking_begin");
	return gyre_thread_detach();
}

int blocking_begin_unattached(void)
{
	init_or_die(NULL);
	return gyre_blocking_begin();
}

int blocking_end_without_begin(void)
{
	init_attached();
	return gyre_blocking_end();
}

int blocking_begin_twice(void)
{
	init_attached();
	if (gyre_blocking_begin() != GYRE_OK)
		setup_failed("gyre_blocking_begin");
	return gyre_blocking_begin();
}

/* ---------------------------------------------------- misuse: allocation */

int alloc_unattached(void)
{
	init_or_die(NULL);
	return status_of((uintptr_t)gyre_alloc(GYRE_TYPE_PTR));
}

int alloc_blocking(void)
{
	init_attached();
	if (gyre_blocking_begin() != GYRE_OK)
		setup_failed("gyre_blocking_begin");
	return status_of((uintptr_t)gyre_alloc(GYRE_TYPE_PTR));
}

int alloc_bytes_huge(void)
{
	init_attached();
	return status_of((uintptr_t)gyre_alloc_bytes(SIZE_MAX));
}

int alloc_array_huge(void)
{
	init_attached();
	return status_of((uintptr_t)gyre_alloc_array(GYRE_TYPE_PTR,
						     SIZE_MAX / 2));
}

/* 2^32 one-byte elements: more than 2^32-1 elements, and on machines with
 * less than 16 GiB also more than the default heap maximum; either rule
 * makes it GYRE_ETOOBIG. */
int alloc_array_too_many_elements(void)
{
	init_attached();
	return status_of((uintptr_t)gyre_alloc_array(GYRE_TYPE_BYTE,
						     (size_t)1 << 32));
}

int alloc_type_zero(void)
{
	init_attached();
	return status_of((uintptr_t)gyre_alloc(0));
}

int alloc_type_unregistered(void)
{
	init_attached();
	return status_of((uintptr_t)gyre_alloc(4242));
}

int alloc_array_type_unregistered(void)
{
	init_attached();
	return status_of((uintptr_t)gyre_alloc_array(4242, 1));
}

int collect_unattached(void)
{
	init_or_die(NULL);
	return (int)gyre_collect(2);
}

int disable_unattached(void)
{
	init_or_die(NULL);
	return gyre_disable();
}

int disable_blocking(void)
{
	init_attached();
	if (gyre_blocking_begin() != GYRE_OK)
		setup_failed("gyre_blocking_begin");
	return gyre_disable();
}

int enable_without_disable(void)
{
	init_attached();
	return gyre_enable();
}

static void *hold_disable(void *ready)
{
	if (gyre_thread_attach() != GYRE_OK || gyre_disable() != GYRE_OK)
		setup_failed("attach and disable on the second thread");
	sem_post(ready);
	for (;;)
		pause();
}

/* Collection is disabled, but by another thread: this thread has no
 * gyre_disable of its own to match. */
int enable_other_threads_disable(void)
{
	static sem_t ready;
	pthread_t t;

	init_attached();
	if (sem_init(&ready, 0, 0) != 0 ||
	    pthread_create(&t, NULL, hold_disable, &ready) != 0)
		setup_failed("starting the second thread");
	sem_wait(&ready);
	if (gyre_is_enabled() != 0)
		setup_failed("gyre_is_enabled() is not 0 after gyre_disable");
	return gyre_enable();
}

/* ------------------------------------- misuse: collection and thresholds */

int collect_generation_3(void)
{
	init_attached();
	return (int)gyre_collect(3);
}

int collect_generation_negative(void)
{
	init_attached();
	return (int)gyre_collect(-1);
}

int set_threshold_uninitialised(void)
{
	return gyre_set_threshold(MIB, 10, 33);
}

int threshold0_too_small(void)
{
	init_or_die(NULL);
	return gyre_set_threshold(256 * 1024 - 1, 10, 33);
}

int threshold0_above_half_heap(void)
{
	init_or_die(&(gyre_config){ .heap_max = 64 * MIB });
	return gyre_set_threshold(32 * MIB + 1, 10, 33);
}

int threshold1_zero(void)
{
	init_or_die(NULL);
	return gyre_set_threshold(MIB, 0, 33);
}

int threshold1_too_big(void)
{
	init_or_die(NULL);
	return gyre_set_threshold(MIB, 1000001, 33);
}

int threshold2_too_small(void)
{
	init_or_die(NULL);
	return gyre_set_threshold(MIB, 10, 9);
}

int threshold2_too_big(void)
{
	init_or_die(NULL);
	return gyre_set_threshold(MIB, 10, 10001);
}

int get_threshold_null(void)
{
	init_or_die(NULL);
	return gyre_get_threshold(NULL);
}

int get_threshold_uninitialised(void)
{
	size_t t[3];

	return gyre_get_threshold(t);
}

int get_count_null(void)
{
	init_or_die(NULL);
	return gyre_get_count(NULL);
}

int get_count_uninitialised(void)
{
	size_t c[3];

	return gyre_get_count(c);
}

/* --------------------------------------------------------- misuse: types */

static int register_with(gyre_type_desc d)
{
	init_or_die(NULL);
	return status_of(gyre_type_register(&d));
}

static void trace_nothing(void *obj, gyre_visit_fn visit, void *ctx)
{
	(void)obj;
	(void)visit;
	(void)ctx;
}

static const size_t offset_0[] = { 0 };
static const size_t offset_4[] = { 4 };
static const size_t offset_16[] = { 16 };

int type_uninitialised(void)
{
	gyre_type_desc d = { .name = "t", .size = 16 };

	return status_of(gyre_type_register(&d));
}

int type_size_zero(void)
{
	return register_with((gyre_type_desc){ .name = "t", .size = 0 });
}

int type_size_too_big(void)
{
	return register_with((gyre_type_desc){ .name = "t",
					       .size = ((size_t)1 << 30) + 8 });
}

int type_offset_misaligned(void)
{
	return register_with((gyre_type_desc){ .name = "t", .size = 16,
		.ptr_offsets = offset_4, .n_ptrs = 1 });
}

int type_offset_out_of_range(void)
{
	return register_with((gyre_type_desc){ .name = "t", .size = 16,
		.ptr_offsets = offset_16, .n_ptrs = 1 });
}

int type_offsets_and_trace(void)
{
	return register_with((gyre_type_desc){ .name = "t", .size = 16,
		.ptr_offsets = offset_0, .n_ptrs = 1, .trace = trace_nothing });
}

/* --------------------------------------------------------- misuse: roots */

static char area[64];

int root_add_uninitialised(void)
{
	return gyre_root_add(area, sizeof area);
}

int root_add_null(void)
{
	init_or_die(NULL);
	return gyre_root_add(NULL, 8);
}

int root_add_size_zero(void)
{
	init_or_die(NULL);
	return gyre_root_add(area, 0);
}

int root_add_overlapping(void)
{
	init_or_die(NULL);
	if (gyre_root_add(area, sizeof area) != GYRE_OK)
		setup_failed("gyre_root_add");
	return gyre_root_add(area + 8, 16);
}

int root_remove_unregistered(void)
{
	init_or_die(NULL);
	return gyre_root_remove(area);
}

int handle_new_unattached(void)
{
	init_or_die(NULL);
	return status_of((uintptr_t)gyre_handle_new(NULL));
}

int handle_free_twice(void)
{
	gyre_handle h;

	init_attached();
	h = gyre_handle_new(NULL);
	if (!h || gyre_handle_free(h) != GYRE_OK)
		setup_failed("gyre_handle_new and gyre_handle_free");
	return gyre_handle_free(h);
}

int handle_free_null(void)
{
	init_attached();
	return gyre_handle_free(NULL);
}

int handle_set_null(void)
{
	init_attached();
	return gyre_handle_set(NULL, NULL);
}
