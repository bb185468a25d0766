/*
 * misuse.h: what the files of the misuse test share. misuse.c is the
 * harness (a case runs in a forked child; the parent checks how the child
 * ended) and the table of cases that main() runs; cases_misuse.c holds the
 * misuse cases, each committing one documented misuse, and
 * cases_not_misuse.c the cases that are not misuse and must succeed in
 * every build. The cases live apart from the harness so that each file
 * stays small as gyre.h documents more errors. Private to tests/misuse.
 */
#ifndef MISUSE_H
#define MISUSE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <gyre.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#ifndef GYRE_DEBUG
#error "tests/misuse/meson.build passes -DGYRE_DEBUG=1 or 0 (gyre's checks)"
#endif

/* Exit codes of a child for outcomes that are not a status (which exits
 * with -status, 1..9). */
#define EXIT_SUCCEEDED 200   /* the misuse was accepted */
#define EXIT_SETUP 201       /* a step before the misuse failed */
#define EXIT_LAST_ERROR 202  /* gyre_last_error() differs from the status */
#define EXIT_CHECK 203       /* a check of a non-misuse case failed */

#define MIB ((size_t)1 << 20)

/* ---------------------------------------------- in the child (misuse.c) */

/* Reports a failed step before the misuse and exits with EXIT_SETUP. */
_Noreturn void setup_failed(const char *what);

/* For the non-misuse cases: a failed check ends the child. */
#define CHILD_CHECK(cond) \
	do { \
		if (!(cond)) { \
			fprintf(stderr, "%s:%d: check failed: %s (last error: " \
				"%s)\n", __FILE__, __LINE__, #cond, \
				gyre_strerror(gyre_last_error())); \
			_exit(EXIT_CHECK); \
		} \
	} while (0)

/* gyre_init(config), or setup_failed. */
void init_or_die(const gyre_config *config);

/* gyre_init(NULL) and gyre_thread_attach, or setup_failed. */
void init_attached(void);

/* The status of a call that returns a pointer or a type id. */
int status_of(uintptr_t result);

/* --------------------------------------------- in the parent (misuse.c) */

/* Runs a case that is not a misuse: the child must exit 0 in every build. */
void expect_clean_child(int (*body)(void));

/* ------------------------------------------------------- cases_misuse.c */

/* Each runs in a child, commits one misuse and returns the status that the
 * misuse call returned (in builds with checks, the call aborts instead). */

/* lifecycle */
int init_twice(void);
int heap_max_too_small(void);
int heap_max_too_big(void);
int heap_min_too_small(void);
int heap_min_above_max(void);
int growth_too_small(void);
int growth_too_big(void);
int workers_too_many(void);
int env_heap_max_banana(void);
int env_heap_min_bad_suffix(void);
int env_growth_out_of_range(void);
int nursery_too_small(void);
int nursery_above_half_heap(void);
int tenure_age_too_big(void);
int env_nursery_bad_suffix(void);
int env_tenure_age_out_of_range(void);
int tenure_from_old_out_of_range(void);
int env_tenure_from_old_bad(void);
int pause_target_too_small(void);
int env_free_floor_banana(void);
int shutdown_attached(void);
int shutdown_uninitialised(void);
int stats_null(void);
/* threads */
int attach_uninitialised(void);
int attach_twice(void);
int detach_unattached(void);
int detach_disabled(void);
int detach_blocking(void);
int blocking_begin_unattached(void);
int blocking_end_without_begin(void);
int blocking_begin_twice(void);
/* allocation */
int alloc_unattached(void);
int alloc_blocking(void);
int alloc_bytes_huge(void);
int alloc_array_huge(void);
int alloc_array_too_many_elements(void);
int alloc_type_zero(void);
int alloc_type_unregistered(void);
int alloc_array_type_unregistered(void);
int collect_unattached(void);
int disable_unattached(void);
int disable_blocking(void);
int enable_without_disable(void);
int enable_other_threads_disable(void);
/* generations: collection and thresholds */
int collect_generation_3(void);
int collect_generation_negative(void);
int set_threshold_uninitialised(void);
int threshold0_too_small(void);
int threshold0_above_half_heap(void);
int threshold1_zero(void);
int threshold1_too_big(void);
int threshold2_too_small(void);
int threshold2_too_big(void);
int get_threshold_null(void);
int get_threshold_uninitialised(void);
int get_count_null(void);
int get_count_uninitialised(void);
/* types */
int type_uninitialised(void);
int type_size_zero(void);
int type_size_too_big(void);
int type_offset_misaligned(void);
int type_offset_out_of_range(void);
int type_offsets_and_trace(void);
/* roots */
int root_add_uninitialised(void);
int root_add_null(void);
int root_add_size_zero(void);
int root_add_overlapping(void);
int root_remove_unregistered(void);
int handle_new_unattached(void);
int handle_free_twice(void);
int handle_free_null(void);
int handle_set_null(void);

/* ------------------------------------------------------- cases_final.c */

int finalizer_thread_out_of_range(void);
int finalizer_thread_env_bad(void);
int weak_new_null(void);
int weak_new_unattached(void);
int weak_get_not_weak(void);
int weak_get_null(void);
int ephemeron_new_null_key(void);
int ephemeron_value_not_ephemeron(void);
int alloc_gyre_own_type(void);
int finalizer_register_null(void);
int finalizer_register_no_fn(void);
int finalizer_register_twice(void);
int finalizer_register_interior(void);
int finalizer_register_blocking(void);
int finalizer_cancel_unregistered(void);
int run_finalizers_unattached(void);

/* ------------------------------------------------------- cases_freeze.c */

int freeze_unattached(void);
int freeze_blocking(void);
int freeze_in_region(void);
int freeze_disabled_by_other_thread(void);
int unfreeze_nothing_frozen(void);
int unfreeze_unattached(void);
int unfreeze_disabled_by_other_thread(void);
void test_freeze_nesting(void **state);
void test_freeze_own_disable(void **state);
/* ---------------------------------------------------- cases_controls.c */

int critical_budget_zero(void);
int critical_budget_above_max(void);
int critical_end_without_begin(void);
int critical_begin_blocking(void);
int detach_in_critical(void);
int callback_add_null(void);
int callback_add_twice(void);
int callback_remove_absent(void);
int callback_add_uninitialised(void);
int collect_in_callback(void);
int ttsp_threshold_too_big(void);
int env_ttsp_threshold_banana(void);
int env_critical_fail_bad(void);
int memory_limit_below_heap_min(void);
int env_memory_limit_banana(void);

/* --------------------------------------------------- cases_not_misuse.c */

/* cmocka tests; each but test_strerror runs its case in a child. */
void test_heap_exhaustion(void **state);
void test_collect_while_disabled(void **state);
void test_enable_nesting(void **state);
void test_disable_is_global(void **state);
void test_strerror(void **state);

#endif
