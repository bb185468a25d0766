/*
 * config.h: the configuration gyre runs with, after defaults and GYRE_*
 * environment variables are applied to the embedder's gyre_config and the
 * result validated (DESIGN.md, "The public surface": lifecycle).
 */
#ifndef GYRE_CONFIG_H
#define GYRE_CONFIG_H

#include "runtime/internal.h"

/* Resolves `in` (NULL = defaults) with the environment into `out`.
 * Returns GYRE_OK or GYRE_EINVAL through gyre_misuse, naming the field. */
int config_resolve(const gyre_config *in, gyre_config *out);

/* A test hook: the files the cgroup's memory limit is read from (v2's
 * memory.max, v1's memory.limit_in_bytes), in place of /sys/fs/cgroup's.
 * Call before gyre_init. */
void config_cgroup_paths(const char *v2, const char *v1);

/* The configuration in force. Sync: written by gyre_init before any other
 * thread may use gyre, read-only afterwards. */
extern gyre_config gyre_cfg;

#endif
