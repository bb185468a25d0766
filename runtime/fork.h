/*
 * fork.h: fork() from a process that uses gyre (see fork.c, and gyre.h,
 * "fork").
 */
#ifndef GYRE_FORK_H
#define GYRE_FORK_H

#include <pthread.h>

/* gyre_init, once the parts are up: installs the pthread_atfork handlers
 * (once per process) and arms them. GYRE_OK or GYRE_ENOMEM. */
int fork_arm(void);
/* gyre_shutdown, first: forks from now on leave gyre alone. */
void fork_disarm(void);
/* pthread_join(t, ret), for every join of gyre's own threads and of the
 * tests' threads in a child: in a ThreadSanitizer build's child of a fork
 * it calls libc's pthread_join past TSan's (fork.c says why). */
int fork_join(pthread_t t, void **ret);

#endif
