/*
 * main.c: kvserver, an HTTP/1.1 key-value cache whose documents and
 * requests live in the heap of the memory manager it is built with (gyre,
 * Boehm GC, or malloc/free through bench/mm.h). It is the "network
 * servers" use of DESIGN.md, "Who uses it, and for what": event loops in
 * blocking regions, a long-lived table in the old generation written
 * through the barrier, short-lived request garbage, and a latency-critical
 * request type run with collection disabled. examples/load drives it.
 *
 * Start-up fills the cache (--prefill) with documents it generates, so a
 * load run begins with a full old generation; then it prints one line,
 * "kvserver <manager> listening on 127.0.0.1:<port>", and serves until
 * SIGINT or SIGTERM, after which it frees everything and exits 0.
 * With --workers N it serves from N forked processes instead, the cache
 * frozen in the parent and shared with them (prefork.c).
 */
#include <errno.h>
#include <signal.h>
#include <unistd.h>

#include "cache.h"
#include "json.h"
#include "recent.h"
#include "server.h"

static void usage(void)
{
	fputs("usage: kvserver [--port N] [--threads N] [--capacity N]\n"
	      "                [--prefill N] [--timeout-ms N] [--workers N]\n",
	      stderr);
	exit(2);
}

static unsigned long parse_number(const char *s, unsigned long lo,
                                  unsigned long hi)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi) {
		fprintf(stderr, "kvserver: %s is not a number in %lu..%lu\n",
		        s, lo, hi);
		usage();
	}
	return v;
}

static void parse_options(int argc, char **argv, struct options *o)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	bool prefill_set = false;

	*o = (struct options){ .port = 8080, .threads = cpus > 0 ? (unsigned)cpus : 1,
	                       .capacity = 100000, .timeout_ms = 5000 };
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (v == NULL)
			usage();
		if (strcmp(a, "--port") == 0)
			o->port = (unsigned)parse_number(v, 0, 65535);
		else if (strcmp(a, "--threads") == 0)
			o->threads = (unsigned)parse_number(v, 1, 256);
		else if (strcmp(a, "--capacity") == 0)
			o->capacity = parse_number(v, 1, 100000000);
		else if (strcmp(a, "--prefill") == 0) {
			o->prefill = parse_number(v, 0, 100000000);
			prefill_set = true;
		} else if (strcmp(a, "--timeout-ms") == 0)
			o->timeout_ms = (unsigned)parse_number(v, 10, 3600000);
		else if (strcmp(a, "--workers") == 0)
			o->workers = (unsigned)parse_number(v, 0, 256);
		else
			usage();
		i++;
	}
	if (!prefill_set)
		o->prefill = o->capacity;
}

/* A document of the kind the load sends: a user record with nested
 * arrays, a few hundred bytes, different for every seed. */
static void sample_doc(uint64_t seed, struct buf *out)
{
	uint64_t x = seed * 0x9e3779b97f4a7c15u + 1;

	out->len = 0;
	buf_printf(out, "{\"id\":%llu,\"name\":\"user-%llx\",\"active\":%s,"
	           "\"score\":%llu.%02llu,\"tags\":[\"t%llu\",\"t%llu\",\"t%llu\"],"
	           "\"address\":{\"city\":\"c%llu\",\"zip\":\"%05llu\"},"
	           "\"history\":[",
	           (unsigned long long)seed, (unsigned long long)x,
	           x & 1 ? "true" : "false", (unsigned long long)(x % 1000),
	           (unsigned long long)(x / 7 % 100),
	           (unsigned long long)(x % 11), (unsigned long long)(x % 13),
	           (unsigned long long)(x % 17), (unsigned long long)(x % 97),
	           (unsigned long long)(x % 100000));
	for (unsigned i = 0; i < 4 + x % 8; i++)
		buf_printf(out, "%s{\"t\":%u,\"v\":%llu}", i ? "," : "", i,
		           (unsigned long long)((x >> i) % 10000));
	buf_puts(out, "]}");
}

static void prefill(size_t n)
{
	struct buf text = { 0 };
	char key[32];

	for (size_t i = 0; i < n; i++) {
		struct jv *doc;

		sample_doc(i, &text);
		doc = json_parse(text.data, text.len);
		if (doc == NULL) {
			fputs("kvserver: a sample document does not parse\n",
			      stderr);
			exit(1);
		}
		cache_put(key, (size_t)snprintf(key, sizeof(key), "k%zu", i),
		          doc);
	}
	buf_free(&text);
}

int main(int argc, char **argv)
{
	struct server srv = { 0 };
	sigset_t stop;
	int sig, status = 0;

	parse_options(argc, argv, &srv.opt);
	/* Writes to a peer that has gone return EPIPE instead of killing us;
	 * the stop signals are taken by sigwait, in this thread only (the
	 * loops inherit the mask). */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);

	kv_mm_init();
	mm_thread_attach();
	cache_init(srv.opt.capacity);
	recent_init();
	prefill(srv.opt.prefill);
	if (srv.opt.workers)
		mm_freeze();
	mm_thread_detach();

	loops_listen(&srv);
	if (srv.opt.workers && prefork_start(&srv)) {
		printf("kvserver %s listening on 127.0.0.1:%u\n", mm_name(),
		       srv.opt.port);
		fflush(stdout);
		while (sigwait(&stop, &sig) != 0)
			;
		status = prefork_stop(&srv);
		loops_close(&srv);
	} else {
		srv.start_ns = now_ns();
		loops_start(&srv);
		if (!srv.opt.workers) {
			printf("kvserver %s listening on 127.0.0.1:%u\n",
			       mm_name(), srv.opt.port);
			fflush(stdout);
		}
		while (sigwait(&stop, &sig) != 0)
			;
		loops_stop(&srv);
	}
	mm_thread_attach();
	cache_destroy();
	mm_thread_detach();
	mm_shutdown();
	return status;
}
