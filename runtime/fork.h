/*
 * fork.h: fork() from a process that uses gyre (see fork.c, and gyre.h,
 * "fork").
 */
#ifndef GYRE_FORK_H
#define GYRE_FORK_H

/* gyre_init, once the parts are up: installs the pthread_atfork handlers
 * (once per process) and arms them. GYRE_OK or GYRE_ENOMEM. */
int fork_arm(void);
/* gyre_shutdown, first: forks from now on leave gyre alone. */
void fork_disarm(void);

#endif
