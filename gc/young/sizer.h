/*
 * sizer.h: the nursery's size (threshold 0) when it is left to gyre
 * (DESIGN.md, "Generations and the write barrier": thresholds). A bigger
 * nursery gives objects longer to die before a minor collection copies
 * them; a smaller one makes each minor pause shorter and keeps the
 * nursery in the cache. Which matters depends on how long the program's
 * objects live, so the sizer measures it: it keeps, for each size it has
 * run at, the share of the nursery that survived there.
 *
 * The size is a power of two times SIZER_MIN, and after every few
 * generation-0 collections (or one whose pause passed twice the target)
 * it moves one step:
 * - up, while a smaller nursery had a clearly higher survival than this
 *   one (or this one than the next): objects die young but not young
 *   enough, and each step up lets more of them die uncopied (GCBench,
 *   binary-trees: 30% survive at 8 MiB, 6% at 128 MiB);
 * - down, while the mean pause is over a third of the target (or the
 *   nursery is above its cache-sized base) and a smaller nursery does not
 *   raise the survival: what survives would survive any nursery, and a
 *   smaller one only splits the same copying into shorter pauses (a
 *   server's cache: 73% survive at 1 MiB and at 32 MiB); but not for the
 *   pause alone when that would cut it by less than a third: a
 *   collection's cost is modelled as a fixed part (the wait for the
 *   threads woken by the last restart, stopping them, preparing cards,
 *   releasing) and a part that halves with the nursery (copying), and
 *   where the fixed part is over a third of it, a step down makes twice
 *   the collections for little shorter pauses (bench/mutator, 4 threads:
 *   0.45 ms fixed and 0.2 ms copying at 256 KiB, 1,500 collections a
 *   second);
 * - up to the base, while the fixed part is over twice the rest and a
 *   step up keeps the pause within the target;
 * - back up towards the base when the mean pause is under a sixth of the
 *   target.
 * The target bounds the slow pauses, not the mean: on a shared machine a
 * pause that a scheduler tick, a page fault or a neighbour hits takes 2-4
 * times the usual one (bench/churn at 256 KiB: median 0.25 ms, p99
 * 0.7-0.9 ms; at 1 MiB: median 0.65 ms, p99 2.4-6 ms). The band is a
 * factor 2 wide, as a step is.
 * What was measured at a size is forgotten after a while, so a program
 * that changes its habits is measured again.
 */
#ifndef GYRE_SIZER_H
#define GYRE_SIZER_H

#include <stddef.h>
#include <stdint.h>

#define SIZER_MIN ((size_t)256 << 10)
#define SIZER_STEPS 10 /* SIZER_MIN << 0 .. SIZER_MIN << 9 (128 MiB) */

/* base and max are powers of two times SIZER_MIN, base <= max; target is
 * the pause target in nanoseconds. Returns the first size (base). */
size_t sizer_init(size_t base, size_t max, uint64_t target_ns);

/* After a generation-0 collection whose pause (from the stop request)
 * took pause_ns, of which copy_ns copying (the part that grows with what
 * survives; the rest, stopping, the pin pass, card preparation and
 * releasing, does not), whose initiator waited wait_ns before it for the
 * threads the last restart woke [INV-STW-FAIR] (a cost of each collection
 * too, though not a pause), and that found `young` bytes in the nursery,
 * of which `survived` survived, allocated by `threads` threads: the size
 * of the next nursery.
 * With GYRE_TRACE, every step is printed with the window that decided it. The base is per
 * thread: each allocating thread has a cache of its own, and every
 * collection stops them all (with two threads at 8 MiB in all, 64-byte
 * allocation took 5.3 ns, at 32 MiB 2.6-3.9). Caller: the collector,
 * with collector.lock held. */
size_t sizer_next(uint64_t pause_ns, uint64_t copy_ns, uint64_t wait_ns,
		  size_t young, size_t survived, unsigned threads);

#endif
