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

/* The configuration in force. Sync: written by gyre_init before any other
 * thread may use gyre, read-only afterwards. */
extern gyre_config gyre_cfg;

#endif
