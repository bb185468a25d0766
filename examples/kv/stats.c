/*
 * stats.c: the /stats document: the loops' counters, the cache, the
 * process's memory, and the memory manager's collections with their pause
 * histogram (none for malloc).
 */
#include <stdio.h>

#include "cache.h"
#include "recent.h"
#include "server.h"

static const char *counter_names[C_COUNT] = {
	[C_CONNECTIONS] = "connections", [C_REQUESTS] = "requests",
	[C_2XX] = "2xx", [C_404] = "404", [C_4XX] = "4xx", [C_5XX] = "5xx",
	[C_BAD] = "bad_requests", [C_SLOW] = "closed_slow",
	[C_CRITICAL] = "requests", [C_CRITICAL_GC] = "collections_inside",
	[C_CRITICAL_OVERRUN] = "budget_overruns",
};

/* VmRSS and VmHWM from /proc/self/status, in KiB (0 if unreadable). */
static void read_rss(uint64_t *rss_kb, uint64_t *peak_kb)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[128];

	*rss_kb = *peak_kb = 0;
	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		unsigned long long v;

		if (sscanf(line, "VmRSS: %llu", &v) == 1)
			*rss_kb = v;
		else if (sscanf(line, "VmHWM: %llu", &v) == 1)
			*peak_kb = v;
	}
	fclose(f);
}

/* The upper edge, in ms, of the log2 histogram bucket that holds the p-th
 * percentile. */
static double percentile_ms(const uint64_t *hist, double p)
{
	return (double)pause_quantile_us(hist, p / 100.0) / 1000.0;
}

/* gyre's time to safepoint, no-GC regions and memory limit (issue 20), or
 * null. */
static void write_controls(struct buf *out, const struct mm_pauses *p)
{
	if (!p->controls_known) {
		buf_puts(out, "null");
		return;
	}
	buf_printf(out, "{\"ttsp_max_ms\":%.3f,\"ttsp_p99_ms\":%.3f,"
	           "\"slow_stops\":%llu,\"regions_opened\":%llu,"
	           "\"regions_overrun\":%llu,\"region_longest_ms\":%.3f,"
	           "\"region_bytes\":%llu,",
	           p->ttsp_max_ns / 1e6, percentile_ms(p->ttsp_histogram, 99),
	           (unsigned long long)p->slow_stops,
	           (unsigned long long)p->regions_opened,
	           (unsigned long long)p->regions_overrun,
	           p->region_longest_ns / 1e6,
	           (unsigned long long)p->region_bytes);
	buf_printf(out, "\"memory_limit\":%llu,\"memory_total\":%llu,"
	           "\"limit_reached\":%llu,\"limit_exceeded\":%llu,"
	           "\"limit_held_ms\":%.3f,\"limit_refused\":%llu}",
	           (unsigned long long)p->memory_limit,
	           (unsigned long long)p->memory_total,
	           (unsigned long long)p->limit_reached,
	           (unsigned long long)p->limit_exceeded,
	           p->limit_held_ns / 1e6,
	           (unsigned long long)p->limit_refused);
}

static void write_gc(struct buf *out)
{
	struct mm_pauses p;

	kv_mm_pauses(&p);
	if (!p.known) {
		buf_puts(out, "null");
		return;
	}
	buf_printf(out, "{\"collections\":%llu,\"pause_count\":%llu,"
	           "\"pause_total_ms\":%.3f,\"pause_max_ms\":%.3f,"
	           "\"pause_p50_ms\":%.3f,\"pause_p99_ms\":%.3f,"
	           "\"pause_histogram_us\":[",
	           (unsigned long long)mm_gc_count(),
	           (unsigned long long)p.count, p.total_ns / 1e6,
	           p.max_ns / 1e6, percentile_ms(p.histogram, 50),
	           percentile_ms(p.histogram, 99));
	for (int b = 0; b < MM_PAUSE_BUCKETS; b++)
		buf_printf(out, "%s%llu", b ? "," : "",
		           (unsigned long long)p.histogram[b]);
	buf_puts(out, "],\"minor\":");
	if (p.minor_known) {
		buf_printf(out, "{\"count\":%llu,\"max_ms\":%.3f,\"p99_ms\":%.3f,"
		           "\"histogram_us\":[",
		           (unsigned long long)p.minor_count,
		           p.minor_max_ns / 1e6,
		           percentile_ms(p.minor_histogram, 99));
		for (int b = 0; b < MM_PAUSE_BUCKETS; b++)
			buf_printf(out, "%s%llu", b ? "," : "",
			           (unsigned long long)p.minor_histogram[b]);
		buf_puts(out, "]}");
	} else {
		buf_puts(out, "null");
	}
	if (p.frozen_known)
		buf_printf(out, ",\"frozen\":{\"objects\":%llu,\"bytes\":%llu}",
		           (unsigned long long)p.frozen_objects,
		           (unsigned long long)p.frozen_bytes);
	else
		buf_puts(out, ",\"frozen\":null");
	buf_puts(out, ",\"controls\":");
	write_controls(out, &p);
	buf_putc(out, '}');
}

void stats_write(const struct server *srv, struct buf *out)
{
	uint64_t sum[C_COUNT] = { 0 }, rss, peak;
	struct cache_counts cc;

	for (unsigned i = 0; i < srv->opt.threads; i++)
		for (int c = 0; c < C_COUNT; c++)
			sum[c] += atomic_load_explicit(
				&srv->loops[i].counters[c], memory_order_relaxed);
	cache_counts(&cc);
	read_rss(&rss, &peak);
	buf_printf(out, "{\"manager\":\"%s\",\"threads\":%u,\"uptime_s\":%.3f,",
	           mm_name(), srv->opt.threads,
	           (double)(now_ns() - srv->start_ns) / 1e9);
	for (int c = C_CONNECTIONS; c <= C_REQUESTS; c++)
		buf_printf(out, "\"%s\":%llu,", counter_names[c],
		           (unsigned long long)sum[c]);
	buf_puts(out, "\"responses\":{");
	for (int c = C_2XX; c <= C_5XX; c++)
		buf_printf(out, "%s\"%s\":%llu", c > C_2XX ? "," : "",
		           counter_names[c], (unsigned long long)sum[c]);
	buf_puts(out, "},");
	for (int c = C_BAD; c <= C_SLOW; c++)
		buf_printf(out, "\"%s\":%llu,", counter_names[c],
		           (unsigned long long)sum[c]);
	buf_printf(out, "\"critical\":{\"%s\":%llu,\"%s\":%llu,\"%s\":%llu},",
	           counter_names[C_CRITICAL], (unsigned long long)sum[C_CRITICAL],
	           counter_names[C_CRITICAL_GC],
	           (unsigned long long)sum[C_CRITICAL_GC],
	           counter_names[C_CRITICAL_OVERRUN],
	           (unsigned long long)sum[C_CRITICAL_OVERRUN]);
	buf_printf(out, "\"cache\":{\"entries\":%llu,\"capacity\":%llu,"
	           "\"evictions\":%llu},\"rss_kb\":%llu,\"rss_peak_kb\":%llu,"
	           "\"gc\":",
	           (unsigned long long)cc.entries,
	           (unsigned long long)cc.capacity,
	           (unsigned long long)cc.evictions, (unsigned long long)rss,
	           (unsigned long long)peak);
	write_gc(out);
	buf_puts(out, ",\"recent_puts\":");
	recent_write(out);
	buf_putc(out, '}');
}
