/*
 * critical.c: the cost of a no-GC region (gyre_critical_begin /
 * gyre_critical_end) when no collection is needed, the figure issue 20
 * sets a target for (under 100 ns to open and close). One iteration is one
 * open and close, so `Time` is ns per region:
 * - critical/budget:B: a region of B bytes (64 KiB, 1 MiB), nothing
 *   allocated inside;
 * - critical_alloc/budget:B: the same with one 32-byte allocation inside
 *   (the bump, and every 64 KiB the buffer's charge against the budget);
 * - disable_enable: gyre_disable + gyre_enable, the region's nearest
 *   relative, for comparison.
 * One thread, attached for the whole call (no barrier waits).
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include "gbench.h"
#include <gyre.h>

static void check(int rc, const char *what)
{
	if (rc != GYRE_OK) {
		fprintf(stderr, "%s: %s\n", what, gyre_strerror(rc));
		exit(1);
	}
}

static void bm_critical(gbench_state *st)
{
	size_t budget = (size_t)gbench_range(st, 0);
	while (gbench_keep_running(st)) {
		check(gyre_critical_begin(budget), "gyre_critical_begin");
		check(gyre_critical_end(), "gyre_critical_end");
	}
	gbench_set_items_processed(st, gbench_iterations(st));
}

static void bm_critical_alloc(gbench_state *st)
{
	size_t budget = (size_t)gbench_range(st, 0);
	while (gbench_keep_running(st)) {
		check(gyre_critical_begin(budget), "gyre_critical_begin");
		void *volatile p = gyre_alloc_bytes(32 - 8);
		(void)p;
		check(gyre_critical_end(), "gyre_critical_end");
	}
	gbench_set_items_processed(st, gbench_iterations(st));
}

static void bm_disable_enable(gbench_state *st)
{
	while (gbench_keep_running(st)) {
		check(gyre_disable(), "gyre_disable");
		check(gyre_enable(), "gyre_enable");
	}
	gbench_set_items_processed(st, gbench_iterations(st));
}

int main(int argc, char **argv)
{
	check(gyre_init(NULL), "gyre_init");
	check(gyre_thread_attach(), "gyre_thread_attach");
	gbench_arg(gbench_arg(gbench_arg_name(gbench_register("critical", bm_critical),
					      "budget"), 64 << 10), 1 << 20);
	gbench_arg(gbench_arg(gbench_arg_name(gbench_register("critical_alloc",
							      bm_critical_alloc),
					      "budget"), 64 << 10), 1 << 20);
	gbench_register("disable_enable", bm_disable_enable);
	int rc = gbench_main(argc, argv);
	check(gyre_thread_detach(), "gyre_thread_detach");
	check(gyre_shutdown(), "gyre_shutdown");
	return rc;
}
