/*
 * atomics.h: C11 atomics with the memory ordering in the name, so that every
 * use says what it needs. Each acquire/release/seq_cst use in gyre carries a
 * comment naming what it pairs with; relaxed uses say why no ordering is
 * needed.
 */
#ifndef GYRE_ATOMICS_H
#define GYRE_ATOMICS_H

#include <stdatomic.h>
#include <time.h>

#define atomic_load_relaxed(p) atomic_load_explicit((p), memory_order_relaxed)
#define atomic_load_acquire(p) atomic_load_explicit((p), memory_order_acquire)
#define atomic_load_seq_cst(p) atomic_load_explicit((p), memory_order_seq_cst)

#define atomic_store_relaxed(p, v) \
	atomic_store_explicit((p), (v), memory_order_relaxed)
#define atomic_store_release(p, v) \
	atomic_store_explicit((p), (v), memory_order_release)
#define atomic_store_seq_cst(p, v) \
	atomic_store_explicit((p), (v), memory_order_seq_cst)

#define atomic_add_relaxed(p, v) \
	atomic_fetch_add_explicit((p), (v), memory_order_relaxed)
#define atomic_sub_relaxed(p, v) \
	atomic_fetch_sub_explicit((p), (v), memory_order_relaxed)
#define atomic_or_relaxed(p, v) \
	atomic_fetch_or_explicit((p), (v), memory_order_relaxed)

/* In a spin loop: tells the core it is one (a pause instruction). */
static inline void cpu_relax(void)
{
	__builtin_ia32_pause();
}

/* In a spin loop that has waited long enough to give its core away: sleeps
 * 10 us (a little more with the thread's timer slack). Not sched_yield: a
 * yield hands the core to whatever else is runnable on it for a whole time
 * slice, and the yielder gets it back at the next scheduler tick (bench/
 * churn: a pause's caller yielded to the prefault thread in a huge page's
 * zeroing and got its core back 3.5 ms later, its share long done). A
 * sleeper's wake-up takes the core back at once. */
static inline void spin_nap(void)
{
	nanosleep(&(struct timespec){.tv_nsec = 10000}, NULL);
}

/* Synchronisation that happens inside an uninstrumented library
 * (liburcu's lock-free stack) is invisible to ThreadSanitizer; these
 * annotations restate it: a tsan_release(p) before handing p over pairs
 * with the tsan_acquire(p) of whoever receives it. */
#if defined(__SANITIZE_THREAD__)
#include <sanitizer/tsan_interface.h>
#define tsan_release(p) __tsan_release(p)
#define tsan_acquire(p) __tsan_acquire(p)
#else
#define tsan_release(p) ((void)(p))
#define tsan_acquire(p) ((void)(p))
#endif

#endif
