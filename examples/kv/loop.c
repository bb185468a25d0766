/*
 * loop.c: one epoll event loop per thread, each with its own listening
 * socket on the shared port (SO_REUSEPORT: the kernel spreads connections),
 * and the connections it accepted. Sockets are non-blocking and epoll is
 * level-triggered: a connection reads one chunk per wake-up, answers every
 * whole request it holds, and writes what it can; epoll brings it back for
 * the rest.
 *
 * The thread is attached to the memory manager for its whole life, and
 * every call that may wait (epoll_wait, read, write) is inside a blocking
 * region, so a collection never waits for a loop that waits for the
 * network.
 *
 * A connection is closed when its peer closes, on a parse error (after the
 * error response, and after draining what the peer still sends, so that
 * closing with unread input does not turn into a reset that destroys the
 * response), and by the sweep: a request not whole within timeout_ms gets
 * 408; a connection with nothing pending for 10 x timeout_ms, or whose
 * peer stops reading its responses that long, is closed.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http.h"
#include "server.h"

#define READ_CHUNK 65536
#define EVENTS_MAX 64
#define SWEEP_MS 50
/* While this many response bytes wait to be written, no more requests are
 * read: a client that does not read cannot make the server buffer without
 * bound. */
#define OUT_HIGH (1u << 20)
/* How long a closing connection's input is drained before the close. */
#define DRAIN_NS 1000000000u

struct conn {
	struct conn *prev, *next;   /* the loop's ring */
	int fd;
	uint32_t events;            /* what epoll watches now */
	struct buf in;              /* bytes not yet parsed */
	struct buf out;             /* responses; out_sent of them written */
	size_t out_sent;
	uint64_t since_ns;          /* when the pending request began */
	uint64_t active_ns;         /* last read or write progress */
	bool closing;               /* close once `out` is written */
	bool draining;              /* written; discarding input until EOF */
};

/* epoll data for the two descriptors that are not connections. */
static char listen_tag, stop_tag;

static void die(const char *what)
{
	fprintf(stderr, "kvserver: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void watch(struct loop *l, int op, int fd, uint32_t events, void *tag)
{
	struct epoll_event ev = { .events = events, .data.ptr = tag };

	if (epoll_ctl(l->epfd, op, fd, &ev) != 0)
		die("epoll_ctl");
}

static size_t out_pending(const struct conn *c)
{
	return c->out.len - c->out_sent;
}

static void conn_close(struct conn *c)
{
	close(c->fd);   /* also removes it from the epoll set */
	c->prev->next = c->next;
	c->next->prev = c->prev;
	buf_free(&c->in);
	buf_free(&c->out);
	free(c);
}

static void accept_all(struct loop *l)
{
	for (;;) {
		int fd = accept4(l->listen_fd, NULL, NULL,
		                 SOCK_NONBLOCK | SOCK_CLOEXEC);
		int one = 1;
		struct conn *c;

		if (fd < 0)
			return;   /* EAGAIN; or out of descriptors: retried later */
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		c = calloc(1, sizeof(*c));
		if (c == NULL) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->since_ns = c->active_ns = l->now_ns;
		c->next = l->conns->next;
		c->prev = l->conns;
		c->next->prev = c;
		l->conns->next = c;
		c->events = EPOLLIN;
		watch(l, EPOLL_CTL_ADD, fd, c->events, c);
		counter_inc(l, C_CONNECTIONS);
	}
}

/* Queues the response that refuses a request and ends the connection. */
static void refuse(struct loop *l, struct conn *c, int status)
{
	http_respond(&c->out, status, false, true, NULL, NULL, 0);
	c->closing = true;
	c->in.len = 0;
	counter_inc(l, status == 408 ? C_SLOW : C_BAD);
	counter_inc(l, status >= 500 ? C_5XX : C_4XX);
}

/* Answers every whole request in c->in. */
static void serve(struct loop *l, struct conn *c)
{
	while (c->in.len > 0 && !c->closing && out_pending(c) < OUT_HIGH) {
		struct request *req = NULL;
		long n = http_parse(c->in.data, c->in.len, &req);

		if (n == 0)
			return;
		if (n < 0) {
			refuse(l, c, (int)-n);
			return;
		}
		route(l, req, &c->out);
		if (!req->keep_alive)
			c->closing = true;
		request_free(req);
		buf_consume(&c->in, (size_t)n);
		c->since_ns = l->now_ns;
	}
}

/* One read; false if the connection is gone. */
static bool read_some(struct loop *l, struct conn *c)
{
	ssize_t n;
	int err;

	buf_reserve(&c->in, READ_CHUNK);
	MM_BLOCKING_BEGIN();
	n = read(c->fd, c->in.data + c->in.len, READ_CHUNK);
	err = errno;
	MM_BLOCKING_END();
	if (n > 0) {
		c->active_ns = l->now_ns;
		if (c->draining)
			return true;   /* discarded: c->in stays empty */
		if (c->in.len == 0)
			c->since_ns = l->now_ns;
		c->in.len += (size_t)n;
		return true;
	}
	if (n < 0 && (err == EAGAIN || err == EINTR))
		return true;
	if (c->in.len > 0 && !c->closing)
		counter_inc(l, C_BAD);   /* cut off mid-request */
	conn_close(c);
	return false;
}

/* Writes what it can; false if the connection is gone. */
static bool write_some(struct loop *l, struct conn *c)
{
	while (out_pending(c) > 0) {
		ssize_t n;
		int err;

		MM_BLOCKING_BEGIN();
		n = write(c->fd, c->out.data + c->out_sent, out_pending(c));
		err = errno;
		MM_BLOCKING_END();
		if (n > 0) {
			c->out_sent += (size_t)n;
			c->active_ns = l->now_ns;
			continue;
		}
		if (n < 0 && (err == EAGAIN || err == EINTR))
			break;
		conn_close(c);
		return false;
	}
	if (out_pending(c) == 0) {
		c->out.len = c->out_sent = 0;
		if (c->closing && !c->draining) {
			shutdown(c->fd, SHUT_WR);
			c->draining = true;
			c->since_ns = l->now_ns;
		}
	}
	return true;
}

/* Watches for input unless output is backed up or the request stream has
 * ended, and for output while some waits. */
static void rewatch(struct loop *l, struct conn *c)
{
	uint32_t ev = 0;

	if (c->draining || (!c->closing && out_pending(c) < OUT_HIGH))
		ev |= EPOLLIN;
	if (out_pending(c) > 0)
		ev |= EPOLLOUT;
	if (ev != c->events) {
		c->events = ev;
		watch(l, EPOLL_CTL_MOD, c->fd, ev, c);
	}
}

static void conn_event(struct loop *l, struct conn *c, uint32_t events)
{
	if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && !read_some(l, c))
		return;
	if (!c->draining)
		serve(l, c);
	if (!write_some(l, c))
		return;
	rewatch(l, c);
}

static void sweep(struct loop *l)
{
	uint64_t timeout = (uint64_t)l->srv->opt.timeout_ms * 1000000u;
	struct conn *c, *next;

	for (c = l->conns->next; c != l->conns; c = next) {
		next = c->next;
		if (c->draining) {
			if (l->now_ns - c->since_ns > DRAIN_NS)
				conn_close(c);
		} else if (c->in.len > 0 && !c->closing &&
		           l->now_ns - c->since_ns > timeout) {
			refuse(l, c, 408);
			if (write_some(l, c))
				rewatch(l, c);
		} else if (l->now_ns - c->active_ns > 10 * timeout) {
			counter_inc(l, C_SLOW);
			conn_close(c);
		}
	}
	l->swept_ns = l->now_ns;
}

static void *loop_main(void *arg)
{
	struct loop *l = arg;
	struct epoll_event ev[EVENTS_MAX];
	bool stop = false;

	mm_thread_attach();
	while (!stop) {
		int n;

		MM_BLOCKING_BEGIN();
		n = epoll_wait(l->epfd, ev, EVENTS_MAX, SWEEP_MS);
		MM_BLOCKING_END();
		l->now_ns = now_ns();
		for (int i = 0; i < n; i++) {
			if (ev[i].data.ptr == &stop_tag)
				stop = true;
			else if (ev[i].data.ptr == &listen_tag)
				accept_all(l);
			else
				conn_event(l, ev[i].data.ptr, ev[i].events);
		}
		if (l->now_ns - l->swept_ns >= SWEEP_MS * 1000000u)
			sweep(l);
	}
	while (l->conns->next != l->conns)
		conn_close(l->conns->next);
	mm_thread_detach();
	return NULL;
}

static int listen_on(unsigned port)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
	                         .sin_port = htons((uint16_t)port),
	                         .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;

	if (fd < 0)
		die("socket");
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0)
		die("setsockopt");
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0)
		die("bind");
	if (listen(fd, 1024) != 0)
		die("listen");
	return fd;
}

void loops_listen(struct server *srv)
{
	srv->loops = calloc(srv->opt.threads, sizeof(*srv->loops));
	srv->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (srv->loops == NULL || srv->stop_fd < 0)
		die("setting up the loops");
	for (unsigned i = 0; i < srv->opt.threads; i++) {
		struct loop *l = &srv->loops[i];

		l->srv = srv;
		l->listen_fd = listen_on(srv->opt.port);
		if (srv->opt.port == 0) {
			struct sockaddr_in a;
			socklen_t len = sizeof(a);

			if (getsockname(l->listen_fd, (struct sockaddr *)&a,
			                &len) != 0)
				die("getsockname");
			srv->opt.port = ntohs(a.sin_port);
		}
		l->epfd = epoll_create1(EPOLL_CLOEXEC);
		l->conns = calloc(1, sizeof(*l->conns));
		if (l->epfd < 0 || l->conns == NULL)
			die("setting up a loop");
		l->conns->next = l->conns->prev = l->conns;
		watch(l, EPOLL_CTL_ADD, l->listen_fd, EPOLLIN, &listen_tag);
		watch(l, EPOLL_CTL_ADD, srv->stop_fd, EPOLLIN, &stop_tag);
	}
}

void loops_own_events(struct server *srv)
{
	close(srv->stop_fd);
	srv->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (srv->stop_fd < 0)
		die("eventfd");
	for (unsigned i = 0; i < srv->opt.threads; i++) {
		struct loop *l = &srv->loops[i];

		close(l->epfd);
		l->epfd = epoll_create1(EPOLL_CLOEXEC);
		if (l->epfd < 0)
			die("epoll_create1");
		watch(l, EPOLL_CTL_ADD, l->listen_fd, EPOLLIN, &listen_tag);
		watch(l, EPOLL_CTL_ADD, srv->stop_fd, EPOLLIN, &stop_tag);
	}
}

void loops_start(struct server *srv)
{
	for (unsigned i = 0; i < srv->opt.threads; i++)
		mm_thread_create(&srv->loops[i].thread, loop_main,
		                 &srv->loops[i]);
}

void loops_stop(struct server *srv)
{
	uint64_t one = 1;

	if (write(srv->stop_fd, &one, sizeof(one)) != sizeof(one))
		die("write to the stop eventfd");
	for (unsigned i = 0; i < srv->opt.threads; i++)
		mm_thread_join(srv->loops[i].thread);
	loops_close(srv);
}

void loops_close(struct server *srv)
{
	for (unsigned i = 0; i < srv->opt.threads; i++) {
		struct loop *l = &srv->loops[i];

		close(l->epfd);
		close(l->listen_fd);
		buf_free(&l->body);
		free(l->conns);
	}
	close(srv->stop_fd);
	free(srv->loops);
	srv->loops = NULL;
}
