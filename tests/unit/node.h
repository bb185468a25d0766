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

#endif
