/*
 * prefork.c: kvserver --workers N, the pre-fork model (nginx, gunicorn,
 * Python servers with gc.freeze): the parent loads the cache, freezes it
 * (gyre_freeze: its objects' pages are then never written by a collection,
 * so they stay shared copy-on-write with every worker), binds the
 * listening sockets and forks N workers. Each worker serves the same HTTP
 * interface on the inherited sockets (the kernel hands each connection to
 * one of the processes that accept on it) with --threads loops and a heap
 * of its own for what it allocates afterwards; /stats shows the worker
 * that answers. The parent only waits for the stop signal, passes it on to
 * the workers, and reaps them.
 */
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "server.h"

static pid_t *workers;

bool prefork_start(struct server *srv)
{
	workers = calloc(srv->opt.workers, sizeof(*workers));
	if (workers == NULL) {
		perror("kvserver: workers");
		exit(1);
	}
	for (unsigned i = 0; i < srv->opt.workers; i++) {
		pid_t pid = fork();

		if (pid < 0) {
			perror("kvserver: fork");
			exit(1);
		}
		if (pid == 0) {
			free(workers);
			workers = NULL;
			loops_own_events(srv);
			return false;
		}
		workers[i] = pid;
	}
	return true;
}

int prefork_stop(const struct server *srv)
{
	int failed = 0;

	for (unsigned i = 0; i < srv->opt.workers; i++)
		kill(workers[i], SIGTERM);
	for (unsigned i = 0; i < srv->opt.workers; i++) {
		int status;

		while (waitpid(workers[i], &status, 0) < 0)
			;
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			fprintf(stderr, "kvserver: worker %d ended with status %#x\n",
			        (int)workers[i], status);
			failed = 1;
		}
	}
	free(workers);
	return failed;
}
