/*
 * config.c: defaults, GYRE_* environment overrides and range checks for
 * gyre_config. Every bad value is a misuse named by its field, so that a
 * typo in an environment variable never silently runs a different heap.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/config.h"

gyre_config gyre_cfg;

#define KIB ((size_t)1 << 10)
#define MIB ((size_t)1 << 20)
#define GIB ((size_t)1 << 30)

static size_t physical_memory(void)
{
	long pages = sysconf(_SC_PHYS_PAGES);
	long page = sysconf(_SC_PAGESIZE);
	return pages > 0 && page > 0 ? (size_t)pages * (size_t)page : 0;
}

static size_t default_heap_max(void)
{
	size_t quarter = physical_memory() / 4;
	return quarter > 64 * MIB ? quarter : 64 * MIB;
}

/* Where the cgroup's memory limit is read (config_cgroup_paths). Sync:
 * set by tests before gyre_init, read by gyre_init. */
static const char *cgroup_v2 = "/sys/fs/cgroup/memory.max";
static const char *cgroup_v1 = "/sys/fs/cgroup/memory/memory.limit_in_bytes";

void config_cgroup_paths(const char *v2, const char *v1)
{
	cgroup_v2 = v2;
	cgroup_v1 = v1;
}

/* The number in `path` (a cgroup file: digits and a newline), or 0 if it
 * is absent, "max" or not a number. */
static size_t read_limit(const char *path)
{
	char buf[64];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	char *end;
	errno = 0;
	unsigned long long v = strtoull(buf, &end, 10);
	if (errno || end == buf || (*end != '\0' && *end != '\n'))
		return 0;
	return (size_t)v;
}

/* The cgroup's limit, v2's first: a cgroup has one or the other. One
 * above physical memory binds nothing (v1 writes "unlimited" as about
 * 2^63); one below heap_min the embedder did not ask for, and it would
 * fail gyre_init: both are ignored. */
static size_t cgroup_limit(size_t heap_min)
{
	size_t v = read_limit(cgroup_v2);
	if (!v)
		v = read_limit(cgroup_v1);
	size_t phys = physical_memory();
	return v < heap_min || (phys && v > phys) ? 0 : v;
}

static unsigned default_workers(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : n > 256 ? 256 : (unsigned)n;
}

/* Parses "123", "64K", "512M", "2G". Returns false on anything else. */
static bool parse_size(const char *s, size_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || s[0] == '-')
		return false;
	size_t mult = 1;
	switch (*end) {
	case 'K': case 'k': mult = KIB; end++; break;
	case 'M': case 'm': mult = MIB; end++; break;
	case 'G': case 'g': mult = GIB; end++; break;
	default: break;
	}
	if (*end != '\0' || v > SIZE_MAX / mult)
		return false;
	*out = (size_t)v * mult;
	return true;
}

static int env_size(const char *name, size_t *field)
{
	const char *s = getenv(name);
	if (!s)
		return GYRE_OK;
	if (!parse_size(s, field))
		return gyre_misuse(GYRE_EINVAL, "gyre_init",
				   "%s=\"%s\" is not a size (digits, optional K/M/G)",
				   name, s);
	return GYRE_OK;
}

static int env_uint(const char *name, unsigned *field)
{
	size_t v = 0;
	int rc = env_size(name, &v);
	const char *s = getenv(name);
	if (rc || !s)
		return rc;
	if (v > 1000000)
		return gyre_misuse(GYRE_EINVAL, "gyre_init", "%s=%s is out of range",
				   name, s);
	*field = (unsigned)v;
	return GYRE_OK;
}

static int env_flag(const char *name, int *field)
{
	const char *s = getenv(name);
	if (!s)
		return GYRE_OK;
	if (strcmp(s, "0") != 0 && strcmp(s, "1") != 0)
		return gyre_misuse(GYRE_EINVAL, "gyre_init", "%s=\"%s\" must be 0 or 1",
				   name, s);
	*field = s[0] == '1';
	return GYRE_OK;
}

/* A setting that is on by default: its variable takes 0 or 1, its field
 * -1 (off) or 1 (0: 1). */
static int env_on_by_default(const char *name, const char *field, int *v)
{
	if (*v < -1 || *v > 1)
		return gyre_misuse(GYRE_EINVAL, "gyre_init",
				   "config %s = %d is not -1, 0 or 1", field, *v);
	int on = *v >= 0;
	int rc = env_flag(name, &on);
	*v = on ? 1 : -1;
	return rc;
}

/* A setting of three modes (compact, promote_in_place): its variable
 * takes 0 (off), 1 (on) or 2 (everything), its field -1 (off), 1 or 2,
 * or 0 for `dflt`. */
static int env_mode(const char *name, const char *field, int *v, int dflt)
{
	if (*v < -1 || *v > 2)
		return gyre_misuse(GYRE_EINVAL, "gyre_init",
				   "config %s = %d: expected -1, 0, 1 or 2", field, *v);
	if (*v == 0)
		*v = dflt;
	const char *s = getenv(name);
	if (!s)
		return GYRE_OK;
	if (!strcmp(s, "0"))
		*v = -1;
	else if (!strcmp(s, "1") || !strcmp(s, "2"))
		*v = s[0] - '0';
	else
		return gyre_misuse(GYRE_EINVAL, "gyre_init",
				   "%s=\"%s\" must be 0, 1 or 2", name, s);
	return GYRE_OK;
}

static int apply_env(gyre_config *c)
{
	unsigned workers = c->workers;
	int rc = env_size("GYRE_HEAP_MAX", &c->heap_max);
	if (!rc) rc = env_size("GYRE_HEAP_MIN", &c->heap_min);
	if (!rc) rc = env_uint("GYRE_GROWTH", &c->growth_percent);
	if (!rc) rc = env_size("GYRE_NURSERY", &c->nursery_size);
	if (!rc) rc = env_uint("GYRE_TENURE_AGE", &c->tenure_age);
	if (!rc) rc = env_uint("GYRE_PAUSE_TARGET", &c->pause_target_us);
	if (!rc) rc = env_size("GYRE_FREE_FLOOR", &c->free_floor);
	if (!rc) rc = env_uint("GYRE_WORKERS", &workers);
	if (!rc) rc = env_flag("GYRE_STW_MARK", &c->stw_mark);
	if (!rc) rc = env_flag("GYRE_VERIFY", &c->verify);
	if (!rc) rc = env_flag("GYRE_TRACE", &c->trace);
	if (!rc) rc = env_on_by_default("GYRE_FINALIZER_THREAD", "finalizer_thread",
					&c->finalizer_thread);
	if (!rc) rc = env_on_by_default("GYRE_TENURE_FROM_OLD", "tenure_from_old",
					&c->tenure_from_old);
	if (!rc) rc = env_mode("GYRE_COMPACT", "compact", &c->compact, 1);
	if (!rc) rc = env_mode("GYRE_PROMOTE_IN_PLACE", "promote_in_place",
			       &c->promote_in_place, -1);
	if (!rc) rc = env_uint("GYRE_TTSP_THRESHOLD", &c->ttsp_threshold_us);
	if (!rc) rc = env_flag("GYRE_CRITICAL_FAIL", &c->critical_fail);
	if (!rc) rc = env_uint("GYRE_COMPACT_BUDGET", &c->compact_budget_us);
	if (!rc) rc = env_size("GYRE_MEMORY_LIMIT", &c->memory_limit);
	c->workers = workers;
	return rc;
}

static int out_of_range(const char *field, unsigned long long v)
{
	return gyre_misuse(GYRE_EINVAL, "gyre_init", "config %s = %llu is out of range",
			   field, v);
}

/* `no_limit`: GYRE_MEMORY_LIMIT=0, no limit even in a cgroup. */
static int validate(gyre_config *c, bool no_limit)
{
	if (c->heap_max == 0)
		c->heap_max = default_heap_max();
	if (c->heap_min == 0)
		c->heap_min = 32 * MIB < c->heap_max ? 32 * MIB : c->heap_max / 2;
	if (c->growth_percent == 0)
		c->growth_percent = 33;
	if (c->workers == 0)
		c->workers = default_workers();
	if (c->tenure_age == 0)
		c->tenure_age = 2;
	if (c->pause_target_us == 0)
		c->pause_target_us = 1000;
	if (c->ttsp_threshold_us == 0)
		c->ttsp_threshold_us = 1000;
	if (c->heap_max < 4 * MIB || c->heap_max > 1024 * GIB)
		return out_of_range("heap_max", c->heap_max);
	if (c->heap_min < 64 * KIB || c->heap_min > c->heap_max)
		return out_of_range("heap_min", c->heap_min);
	if (c->growth_percent < 10 || c->growth_percent > 10000)
		return out_of_range("growth_percent", c->growth_percent);
	if (c->workers > 256)
		return out_of_range("workers", c->workers);
	if (c->nursery_size &&
	    (c->nursery_size < 256 * KIB || c->nursery_size > c->heap_max / 2))
		return out_of_range("nursery_size", c->nursery_size);
	if (c->pause_target_us < 100 || c->pause_target_us > 1000000)
		return out_of_range("pause_target_us", c->pause_target_us);
	if (c->tenure_age > 7)
		return out_of_range("tenure_age", c->tenure_age);
	if (c->compact_budget_us &&
	    (c->compact_budget_us < 100 || c->compact_budget_us > 1000000))
		return out_of_range("compact_budget_us", c->compact_budget_us);
	if (c->ttsp_threshold_us > 60000000)
		return out_of_range("ttsp_threshold_us", c->ttsp_threshold_us);
	if (c->memory_limit == 0 && !no_limit)
		c->memory_limit = cgroup_limit(c->heap_min);
	if (c->memory_limit && c->memory_limit < c->heap_min)
		return gyre_misuse(GYRE_EINVAL, "gyre_init",
				   "config memory_limit = %zu is below heap_min = %zu",
				   c->memory_limit, c->heap_min);

	return GYRE_OK;
}

int config_resolve(const gyre_config *in, gyre_config *out)
{
	gyre_config c = {0};
	if (in)
		c = *in;
	c.stw_mark = c.stw_mark != 0;
	c.verify = c.verify != 0;
	c.trace = c.trace != 0;
	c.critical_fail = c.critical_fail != 0;
	int rc = apply_env(&c);
	bool no_limit = getenv("GYRE_MEMORY_LIMIT") && c.memory_limit == 0;
	if (!rc)
		rc = validate(&c, no_limit);
	if (!rc)
		*out = c;
	return rc;
}
