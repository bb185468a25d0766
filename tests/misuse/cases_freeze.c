/*
 * cases_freeze.c: the misuse cases of gyre_freeze and gyre_unfreeze
 * (gyre.h, "The permanent generation"), in the form of cases_misuse.c
 * (each runs in a forked child set up by misuse.c, commits one misuse and
 * returns the status), and the calls that look alike but are not misuse:
 * a freeze nested in another, and a freeze while the caller itself holds
 * a gyre_disable.
 */
#include <pthread.h>
#include <semaphore.h>

#include "misuse.h"

static gyre_type node_type(void)
{
	static const size_t offs[] = {0};
	gyre_type_desc d = {.name = "node", .size = 64, .ptr_offsets = offs, .n_ptrs = 1};
	gyre_type t = gyre_type_register(&d);
	if (!t)
		setup_failed("gyre_type_register");
	return t;
}

/* An array of 64 nodes that a handle holds: a freeze leaves young the
 * objects a stack or register points at (pinned), and a word of this
 * thread's stack may name the array; its nodes are frozen. */
__attribute__((noinline)) static void hold_nodes(gyre_type t)
{
	void **a = gyre_alloc_array(GYRE_TYPE_PTR, 64);
	CHILD_CHECK(a != NULL && gyre_handle_new(a) != NULL);
	for (size_t i = 0; i < 64; i++)
		GYRE_STORE_AT(a, i, gyre_alloc(t));
}

int freeze_unattached(void)
{
	init_or_die(NULL);
	return gyre_freeze();
}

int freeze_blocking(void)
{
	init_attached();
	if (gyre_blocking_begin() != GYRE_OK)
		setup_failed("gyre_blocking_begin");
	return gyre_freeze();
}

/* The caller's own no-GC region: it promised no collection. */
int freeze_in_region(void)
{
	init_attached();
	if (gyre_critical_begin(1 << 20) != GYRE_OK)
		setup_failed("gyre_critical_begin");
	return gyre_freeze();
}

static void *hold_disable(void *ready)
{
	if (gyre_thread_attach() != GYRE_OK || gyre_disable() != GYRE_OK)
		setup_failed("attach and disable on the second thread");
	sem_post(ready);
	for (;;)
		pause();
}

/* Another thread holds a gyre_disable: its code relies on no collection
 * running, and a freeze collects. */
static void disabled_elsewhere(void)
{
	static sem_t ready;
	pthread_t t;
	if (sem_init(&ready, 0, 0) != 0 ||
	    pthread_create(&t, NULL, hold_disable, &ready) != 0)
		setup_failed("starting the second thread");
	sem_wait(&ready);
}

int freeze_disabled_by_other_thread(void)
{
	init_attached();
	disabled_elsewhere();
	return gyre_freeze();
}

int unfreeze_nothing_frozen(void)
{
	init_attached();
	return gyre_unfreeze();
}

int unfreeze_unattached(void)
{
	init_or_die(NULL);
	return gyre_unfreeze();
}

int unfreeze_disabled_by_other_thread(void)
{
	init_attached();
	hold_nodes(node_type());
	if (gyre_freeze() != GYRE_OK || gyre_get_freeze_count() == 0)
		setup_failed("a frozen object");
	disabled_elsewhere();
	return gyre_unfreeze();
}

/* Nesting: a second freeze adds what is alive and not frozen yet; one
 * unfreeze thaws all. */
static int freeze_twice(void)
{
	init_attached();
	gyre_type t = node_type();
	hold_nodes(t);
	CHILD_CHECK(gyre_freeze() == GYRE_OK);
	size_t first = gyre_get_freeze_count();
	CHILD_CHECK(first >= 1);
	hold_nodes(t);
	CHILD_CHECK(gyre_freeze() == GYRE_OK);
	CHILD_CHECK(gyre_get_freeze_count() > first);
	CHILD_CHECK(gyre_unfreeze() == GYRE_OK);
	CHILD_CHECK(gyre_get_freeze_count() == 0);
	return 0;
}

/* Python's advice: disable early, freeze before the fork. */
static int freeze_own_disable(void)
{
	init_attached();
	CHILD_CHECK(gyre_disable() == GYRE_OK);
	hold_nodes(node_type());
	CHILD_CHECK(gyre_freeze() == GYRE_OK);
	CHILD_CHECK(gyre_get_freeze_count() >= 1);
	CHILD_CHECK(gyre_enable() == GYRE_OK);
	return 0;
}

void test_freeze_nesting(void **state)
{
	(void)state;
	expect_clean_child(freeze_twice);
}

void test_freeze_own_disable(void **state)
{
	(void)state;
	expect_clean_child(freeze_own_disable);
}
