/*
 * ttsp.h: time to safepoint (DESIGN.md, "Threads, safepoints,
 * handshakes"; issue 20, item 4). Each stop of the world measures how long
 * every other thread took from the stop request to its safepoint: a
 * thread stamps `stopped_ns` as it parks or enters a blocking region, and
 * the initiator, once all are stopped, reads the stamps. A stop in which
 * the slowest took at least gyre_config.ttsp_threshold_us is reported
 * (GYRE_EVENT_SLOW_SAFEPOINT, and a GYRE_TRACE line), naming that thread.
 */
#ifndef GYRE_TTSP_H
#define GYRE_TTSP_H

#include "threads/mutator.h"

/* World just stopped by `self` (NULL: not attached), registry_lock held:
 * counts each thread's time to safepoint since `requested_ns`, and queues
 * the event of a slow stop for delivery after the restart. */
void ttsp_measure(const struct mutator *self, uint64_t requested_ns);
/* gyre_stats' ttsp_* and slow_stops. */
void ttsp_read(gyre_stats *out);
/* gyre_init: the figures start from zero. */
void ttsp_reset(void);

#endif
