/*
 * events.h: event callbacks (gyre_callback_add; DESIGN.md, "Observing").
 * Events are queued on the thread they happen on, with no lock and no
 * allocation (a pause may queue them with the world stopped), and
 * delivered by events_deliver on that same thread once it holds no gyre
 * lock and the world runs. See gyre.h for where each event is delivered.
 */
#ifndef GYRE_EVENTS_H
#define GYRE_EVENTS_H

#include <stdbool.h>
#include <stdint.h>

#include "runtime/internal.h"

/* What a pause tells the events (gc/driver/collect.c's pause_end). */
struct events_pause {
	unsigned generation;
	const char *reason;
	bool collection;    /* a collection (not an increment that goes on) */
	bool started, ended;/* it started, or ended, a concurrent cycle */
	uint64_t start_ns, end_ns;
	uint64_t freed, promoted;
};

/* The pause's events, queued (world stopped, initiator's thread). */
void events_pause(const struct events_pause *p);
/* Queues one event; `ev->time_ns` and `heap_size` are filled in here. */
void events_queue(gyre_event *ev);
/* Delivers what this thread has queued, unless it is inside a callback
 * (then the outer delivery does). The caller holds no gyre lock, and is
 * not inside a pause. Cheap when nothing is queued. */
void events_deliver(void);
/* True while the calling thread runs an event callback. */
bool events_in_callback(void);

/* gyre_callback_add / _remove after the arguments' checks: GYRE_OK,
 * GYRE_EINVAL (already registered), GYRE_ENOTFOUND, GYRE_ENOMEM. */
int events_add(gyre_event_fn fn, void *ctx);
int events_remove(gyre_event_fn fn, void *ctx);
/* gyre_shutdown: drops the callbacks. */
void events_shutdown(void);

#endif
