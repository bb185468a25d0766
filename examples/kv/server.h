/*
 * server.h: what the parts of kvserver share: the options, the server and
 * its event loops, and the loops' counters.
 */
#ifndef KV_SERVER_H
#define KV_SERVER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "buf.h"
#include "measure.h"   /* now_ns, pause_quantile_us (bench/) */
#include "objects.h"

struct options {
	unsigned port;
	unsigned threads;
	size_t capacity;
	size_t prefill;
	unsigned timeout_ms;
	unsigned workers;   /* --workers: pre-fork processes (0: serve here) */
};

/* What a loop counts. Only the loop's own thread writes its counters, and
 * /stats (on any loop) reads them all: relaxed atomics, a load and a store
 * each, as a reader wants recent values and orders nothing by them. */
enum counter {
	C_CONNECTIONS,   /* accepted */
	C_REQUESTS,      /* well-formed requests answered */
	C_2XX, C_404, C_4XX, C_5XX,   /* their responses; 4XX: other than 404 */
	C_BAD,           /* refused by the parser, or cut off mid-request */
	C_SLOW,          /* closed by a timeout */
	C_CRITICAL,      /* ?critical requests */
	C_CRITICAL_GC,   /* collections that ran inside one */
	C_CRITICAL_OVERRUN, /* ones whose no-GC region's budget ran out */
	C_COUNT
};

struct conn;
struct server;

struct loop {
	struct server *srv;
	pthread_t thread;
	int epfd;
	int listen_fd;
	uint64_t now_ns;           /* read once per wake-up */
	uint64_t swept_ns;         /* last timeout sweep */
	struct conn *conns;        /* ring sentinel of open connections */
	struct buf body;           /* scratch for a response body */
	_Atomic uint64_t counters[C_COUNT];
} __attribute__((aligned(64)));

struct server {
	struct options opt;
	int stop_fd;               /* eventfd: readable once the loops stop */
	uint64_t start_ns;
	struct loop *loops;        /* opt.threads of them */
};

static inline void counter_inc(struct loop *l, enum counter c)
{
	atomic_store_explicit(&l->counters[c],
	                      atomic_load_explicit(&l->counters[c],
	                                           memory_order_relaxed) + 1,
	                      memory_order_relaxed);
}

/* loop.c: binds the listeners (port 0 picks one; srv->opt.port is set to
 * it), then starts the loops, which attach to the memory manager. */
void loops_listen(struct server *srv);
/* In a pre-fork worker, before loops_start: new epoll sets and stop
 * eventfd of its own (those made before the fork are shared with the
 * other processes), watching the inherited listening sockets. */
void loops_own_events(struct server *srv);
void loops_start(struct server *srv);
/* Signals the loops to stop and joins them; they close their connections
 * and detach. */
void loops_stop(struct server *srv);
/* Closes the loops' descriptors and frees them (loops_stop ends with it;
 * a pre-fork parent, whose loops never ran, calls it alone). */
void loops_close(struct server *srv);

/* prefork.c: forks opt.workers workers after loops_listen; true in the
 * parent, false in a worker (which then serves as a single-process
 * server does). prefork_stop, in the parent: SIGTERM to every worker, then
 * reaps them; 1 if one did not exit with status 0. */
bool prefork_start(struct server *srv);
int prefork_stop(const struct server *srv);

/* routes.c: answers a well-formed request into out, counting it; returns
 * the status sent. */
int route(struct loop *l, const struct request *req, struct buf *out);

/* stats.c: the /stats document. */
void stats_write(const struct server *srv, struct buf *out);

#endif
