/*
 * node.h: the node that the collection tests build their graphs from (two
 * pointer fields and a value), and the helpers that build them; defined in
 * harness.c.
 */
#ifndef GYRE_TEST_NODE_H
#define GYRE_TEST_NODE_H

#include "harness.h"

/* The node most tests build graphs from: two pointer fields and a value.
 * harness_node_register (after gyre_init) sets node_type. */
struct node {
	struct node *left, *right;
	uint64_t value;
};
extern gyre_type node_type;
/* 0, or -1 if the type could not be registered. */
int harness_node_register(void);
/* A node (the test fails if the allocation does). */
struct node *node_new(uint64_t value, struct node *l, struct node *r);
/* A list of `length` nodes linked by ->left, valued value, value + 1, ... */
struct node *chain(uint64_t value, unsigned length);

/* gyre_init(config), attach, register node_type: 0 or -1. */
int node_up_with(const gyre_config *config);

/* gyre_disable / gyre_enable for a test, counted, so that a test that
 * fails while collection is disabled leaves a teardown that works:
 * node_down enables what is left open, then detaches and shuts down. */
void disable(void);
void enable(void);
int node_down(void **state);

/* A test body run through run_body, which first clears the dead stack:
 * each test's heap is mapped where the previous one's was, so a stale
 * word in the test function's own frame could name an object of this
 * test and keep or pin it. cmocka's state points at the body. */
struct body {
	void (*fn)(void);
};
void run_body(void **state);

#endif
