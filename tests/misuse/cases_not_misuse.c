/*
 * cases_not_misuse.c: the cases of the misuse test that are not misuse and
 * must behave as documented in every build: heap exhaustion (NULL,
 * GYRE_ENOMEM and the on_oom hook, then recovery after a collection), the
 * disable/enable nesting and its reach across threads, a collection asked
 * for while disabled, and the error names. They sit beside the misuse
 * cases because they pin down the rest of gyre.h's error contract; each
 * but the last runs in a child through expect_clean_child (misuse.c).
 */
#include "misuse.h"

#include <pthread.h>
#include <semaphore.h>

/* ------------------------------------------- not misuse: heap exhaustion */

#define CHUNK 4096
#define HOLDER_SLOTS 8192 /* 32 MiB of chunks, twice the heap maximum */

struct oom_record {
	size_t calls;
	size_t last_request;
};

static void record_oom(size_t request, void *ctx)
{
	struct oom_record *r = ctx;

	r->calls++;
	r->last_request = request;
}

/* Allocates up to `limit` chunks into the holder array that handle h
 * keeps alive; returns how many it got. Not inlined, so that no pointer
 * into the heap is left in the caller's frame afterwards. */
static __attribute__((noinline)) size_t fill(gyre_handle h, size_t limit)
{
	for (size_t i = 0; i < limit; i++) {
		void *chunk = gyre_alloc_bytes(CHUNK);

		if (!chunk)
			return i;
		GYRE_STORE_AT((void **)gyre_handle_get(h), i, chunk);
	}
	return limit;
}

/* The filling half of heap_exhaustion, on a thread of its own: when the
 * thread is gone no stale copy of a pointer to the holder array can linger
 * in a register or a dead stack frame of the thread that collects, so the
 * collection that follows frees the chunks for certain. */
static void *fill_until_full(void *hp)
{
	gyre_handle *h = hp;

	CHILD_CHECK(gyre_thread_attach() == GYRE_OK);
	*h = gyre_handle_new(gyre_alloc_array(GYRE_TYPE_PTR, HOLDER_SLOTS));
	CHILD_CHECK(*h != NULL && gyre_handle_get(*h) != NULL);
	size_t held = fill(*h, HOLDER_SLOTS);
	CHILD_CHECK(held < HOLDER_SLOTS);
	CHILD_CHECK(held * CHUNK >= 8 * MIB);
	CHILD_CHECK(gyre_last_error() == GYRE_ENOMEM);
	/* Successful calls leave the last error alone. */
	gyre_stats st;
	CHILD_CHECK(gyre_stats_get(&st) == GYRE_OK && gyre_handle_get(*h) != NULL);
	CHILD_CHECK(gyre_last_error() == GYRE_ENOMEM);
	CHILD_CHECK(gyre_thread_detach() == GYRE_OK);
	return NULL;
}

static int heap_exhaustion(void)
{
	static struct oom_record oom;
	gyre_config c = { .heap_max = 16 * MIB, .on_oom = record_oom,
			  .oom_ctx = &oom };
	gyre_handle h = NULL;
	pthread_t filler;

	init_or_die(&c);
	CHILD_CHECK(gyre_thread_attach() == GYRE_OK);
	CHILD_CHECK(pthread_create(&filler, NULL, fill_until_full, &h) == 0);
	/* The join blocks: the filler's collections must not wait for us. */
	CHILD_CHECK(gyre_blocking_begin() == GYRE_OK);
	CHILD_CHECK(pthread_join(filler, NULL) == 0);
	CHILD_CHECK(gyre_blocking_end() == GYRE_OK);
	CHILD_CHECK(oom.calls >= 1);
	CHILD_CHECK(oom.last_request == CHUNK);

	CHILD_CHECK(gyre_handle_set(h, NULL) == GYRE_OK);
	CHILD_CHECK(gyre_collect(2) > 0);
	CHILD_CHECK(gyre_handle_set(h, gyre_alloc_array(GYRE_TYPE_PTR,
			HOLDER_SLOTS)) == GYRE_OK && gyre_handle_get(h));
	CHILD_CHECK(fill(h, 8 * MIB / CHUNK) == 8 * MIB / CHUNK);
	/* The last error is per thread: the filler's ENOMEM is not ours. */
	CHILD_CHECK(gyre_last_error() == GYRE_OK);

	CHILD_CHECK(gyre_handle_free(h) == GYRE_OK);
	CHILD_CHECK(gyre_thread_detach() == GYRE_OK);
	CHILD_CHECK(gyre_shutdown() == GYRE_OK);
	return 0;
}

void test_heap_exhaustion(void **state)
{
	(void)state;
	expect_clean_child(heap_exhaustion);
}

/* ----------------------------------- not misuse: disable, enable, collect */

/* Allocates n objects and drops them; not inlined for the same reason
 * as fill(). */
static __attribute__((noinline)) void make_garbage(size_t n)
{
	for (size_t i = 0; i < n; i++)
		CHILD_CHECK(gyre_alloc(GYRE_TYPE_PTR) != NULL);
}

static int collect_while_disabled(void)
{
	gyre_stats before, after;

	init_attached();
	CHILD_CHECK(gyre_disable() == GYRE_OK);
	make_garbage(1000);
	CHILD_CHECK(gyre_stats_get(&before) == GYRE_OK);
	CHILD_CHECK(gyre_collect(2) > 0);
	CHILD_CHECK(gyre_stats_get(&after) == GYRE_OK);
	CHILD_CHECK(after.collections > before.collections);
	CHILD_CHECK(gyre_is_enabled() == 0);
	CHILD_CHECK(gyre_enable() == GYRE_OK);
	CHILD_CHECK(gyre_is_enabled() == 1);
	CHILD_CHECK(gyre_thread_detach() == GYRE_OK);
	CHILD_CHECK(gyre_shutdown() == GYRE_OK);
	return 0;
}

void test_collect_while_disabled(void **state)
{
	(void)state;
	expect_clean_child(collect_while_disabled);
}

static int enable_nesting(void)
{
	init_attached();
	CHILD_CHECK(gyre_is_enabled() == 1);
	CHILD_CHECK(gyre_disable() == GYRE_OK);
	CHILD_CHECK(gyre_is_enabled() == 0);
	CHILD_CHECK(gyre_disable() == GYRE_OK);
	CHILD_CHECK(gyre_is_enabled() == 0);
	CHILD_CHECK(gyre_enable() == GYRE_OK);
	CHILD_CHECK(gyre_is_enabled() == 0);
	CHILD_CHECK(gyre_enable() == GYRE_OK);
	CHILD_CHECK(gyre_is_enabled() == 1);
	CHILD_CHECK(gyre_thread_detach() == GYRE_OK);
	CHILD_CHECK(gyre_shutdown() == GYRE_OK);
	return 0;
}

void test_enable_nesting(void **state)
{
	(void)state;
	expect_clean_child(enable_nesting);
}

/* Another thread's gyre_disable turns automatic collection off for all. */
struct disabler {
	sem_t disabled, go_on, enabled;
};

static void *disable_then_enable(void *arg)
{
	struct disabler *d = arg;

	CHILD_CHECK(gyre_thread_attach() == GYRE_OK);
	CHILD_CHECK(gyre_disable() == GYRE_OK);
	sem_post(&d->disabled);
	sem_wait(&d->go_on);
	CHILD_CHECK(gyre_enable() == GYRE_OK);
	CHILD_CHECK(gyre_thread_detach() == GYRE_OK);
	sem_post(&d->enabled);
	return NULL;
}

static int disable_is_global(void)
{
	static struct disabler d;
	pthread_t t;

	init_attached();
	CHILD_CHECK(sem_init(&d.disabled, 0, 0) == 0 &&
		    sem_init(&d.go_on, 0, 0) == 0 &&
		    sem_init(&d.enabled, 0, 0) == 0);
	CHILD_CHECK(pthread_create(&t, NULL, disable_then_enable, &d) == 0);
	sem_wait(&d.disabled);
	CHILD_CHECK(gyre_is_enabled() == 0);
	sem_post(&d.go_on);
	sem_wait(&d.enabled);
	CHILD_CHECK(gyre_is_enabled() == 1);
	CHILD_CHECK(pthread_join(t, NULL) == 0);
	CHILD_CHECK(gyre_thread_detach() == GYRE_OK);
	CHILD_CHECK(gyre_shutdown() == GYRE_OK);
	return 0;
}

void test_disable_is_global(void **state)
{
	(void)state;
	expect_clean_child(disable_is_global);
}

/* ----------------------------------------------- not misuse: error names */

void test_strerror(void **state)
{
	(void)state;
	for (int s = GYRE_OK; s >= GYRE_EBUDGET; s--) {
		const char *a = gyre_strerror(s);

		assert_non_null(a);
		assert_true(a[0] != '\0');
		for (int t = s + 1; t <= GYRE_OK; t++)
			assert_string_not_equal(a, gyre_strerror(t));
	}
	assert_non_null(gyre_strerror(-1000));
	assert_int_equal(gyre_last_error(), GYRE_OK);
}
