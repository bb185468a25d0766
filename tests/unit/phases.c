/*
 * phases.c: unit tests of what gyre_stats says a minor collection spent
 * its pause on (gyre_gen_stats: stopping, roots, copying, releasing, and
 * the dirty cards it scanned): each part is counted, the parts fit in the
 * pause, and every dirty card is counted once.
 */
#include "harness.h"
#include "node.h"

/* A large pointer array (generation 2 from its allocation): one card per
 * 64-byte line, so LINES stores a line apart dirty LINES cards. */
#define SLOTS 4096
#define LINES 40
#define SLOTS_PER_LINE 8

static int up(void **state)
{
	(void)state;
	return node_up_with(NULL);
}

/* On a helper thread, whose stack dies with it: no stale word pins a
 * node, which would keep it young and its card dirty. */
static void store_young(void *arg)
{
	void **old = gyre_handle_get(arg);
	for (unsigned i = 0; i < LINES; i++)
		GYRE_STORE_AT(old, i * SLOTS_PER_LINE, node_new(i, NULL, NULL));
}

struct check {
	gyre_handle h;
	unsigned intact;
};

/* Reads the nodes back, on a helper thread too: a stale word in the
 * test's frame would pin a node, which then stays young. */
static void check_young(void *arg)
{
	struct check *c = arg;
	void **old = gyre_handle_get(c->h);
	c->intact = 0;
	for (unsigned i = 0; i < LINES; i++)
		c->intact += ((struct node *)old[i * SLOTS_PER_LINE])->value == i;
}

static void test_minor_phases_are_counted(void)
{
	disable();
	void **old = gyre_alloc_array(GYRE_TYPE_PTR, SLOTS);
	assert_non_null(old);
	gyre_handle h = gyre_handle_new(old);
	/* Cards left dirty by the harness's own objects, if any (an old
	 * object pointing at a pinned young one keeps its card): the same
	 * at every collection. */
	gyre_stats a, b;
	assert_true(gyre_collect(0) >= 0);
	assert_int_equal(gyre_stats_get(&a), GYRE_OK);
	assert_true(gyre_collect(0) >= 0);
	assert_int_equal(gyre_stats_get(&b), GYRE_OK);
	uint64_t base = b.gen[0].cards_scanned - a.gen[0].cards_scanned;
	harness_in_thread(store_young, h);
	assert_int_equal(gyre_stats_get(&a), GYRE_OK);
	assert_true(gyre_collect(0) >= 0);
	assert_int_equal(gyre_stats_get(&b), GYRE_OK);
	const gyre_gen_stats *g0 = &a.gen[0], *g1 = &b.gen[0];
	assert_int_equal(g1->cards_scanned - g0->cards_scanned, base + LINES);
	uint64_t stop = g1->stop_total_ns - g0->stop_total_ns;
	uint64_t roots = g1->roots_total_ns - g0->roots_total_ns;
	uint64_t copy = g1->copy_total_ns - g0->copy_total_ns;
	uint64_t release = g1->release_total_ns - g0->release_total_ns;
	assert_true(roots > 0 && copy > 0 && release > 0);
	assert_true(stop + roots + copy + release <= g1->pause_total_ns - g0->pause_total_ns);
	/* The cards' targets were copied: nothing young is left to point
	 * at, so the next collection scans none. */
	struct check c = {.h = h};
	harness_in_thread(check_young, &c);
	assert_int_equal(c.intact, LINES);
	assert_true(gyre_collect(1) >= 0);
	assert_true(gyre_collect(1) >= 0);
	assert_int_equal(gyre_stats_get(&a), GYRE_OK);
	assert_true(gyre_collect(0) >= 0);
	assert_int_equal(gyre_stats_get(&b), GYRE_OK);
	assert_int_equal(b.gen[0].cards_scanned - a.gen[0].cards_scanned, base);
	/* A generation-2 collection counts none of these. */
	assert_true(gyre_collect(2) >= 0);
	assert_int_equal(gyre_stats_get(&a), GYRE_OK);
	assert_int_equal(a.gen[2].copy_total_ns, 0);
	gyre_handle_free(h);
	enable();
}

#define TEST(fn) {#fn, run_body, up, node_down, &(struct body){fn}}

int main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(test_minor_phases_are_counted),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
