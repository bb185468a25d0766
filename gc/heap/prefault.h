/*
 * prefault.h: the heap's memory is faulted in ahead of its use, by a
 * thread of its own (DESIGN.md, "Heap layout"). The reservation is mapped
 * lazily, and the first write to each page of it is a fault that maps and
 * zeroes it: on the virtual machines servers run on, 0.3-0.8 GB/s (here
 * 1.2 ms per fresh MiB with huge pages, 3.5 ms without). A minor
 * collection that copies into fresh blocks pays that inside its pause, and
 * an allocating thread on its own time. So a thread keeps the pages up to
 * PREFAULT_AHEAD past the highest block handed out already mapped
 * (MADV_POPULATE_WRITE, which maps without writing: blocks handed out
 * meanwhile are not disturbed; in huge pages, asked for a step at a time,
 * while the rest of the heap has small ones), off every pause and every
 * program thread, and never below the highest block handed out.
 * The cost: up to PREFAULT_AHEAD more resident memory than the heap uses,
 * which a memory limit counts (prefault_ahead): near one the thread maps
 * no more than the room left, and its looks give back what was mapped
 * beyond that; and while the heap does not grow: a look at free memory
 * (below) that finds the top where the previous look left it gives the
 * pages above it back, and the next block taken above the top has them
 * mapped again.
 * Where the kernel lacks MADV_POPULATE_WRITE (before Linux 5.14) the
 * thread stops mapping and pages are faulted in where they are first
 * written.
 *
 * The same thread, the heap's memory thread, also gives free memory back
 * (decommit.h): a period after a collection ends, and every period while
 * that left something to return or collections go on, it looks at the
 * free blocks and returns those the heap does not keep. It is off the
 * allocation path and takes no part in pauses; its madvise calls run while
 * the program runs (a step under way when a collection begins goes on,
 * like a mapping step).
 */
#ifndef GYRE_PREFAULT_H
#define GYRE_PREFAULT_H

#include <stdbool.h>
#include <stddef.h>

#define PREFAULT_AHEAD ((size_t)16 << 20)

/* Starts the thread for the reservation [base, base + bytes); false if it
 * could not be started (pages are then faulted in where first written). */
bool prefault_start(char *base, size_t bytes);
/* The blocks below `top` bytes of the reservation have been handed out:
 * the thread maps PREFAULT_AHEAD past it, less near a memory limit (no
 * more than the room left under it). Cheap when nothing is to be done;
 * may be called under heap.lock (the thread never takes it). */
void prefault_note(size_t top);
/* Called with the world stopped: true as a collection begins, false as it
 * ends. While held, the thread starts no step and is not woken: a woken
 * thread took a core from a worker in the middle of its share (bench/churn
 * filling its table: the caller waited 1.5 ms for it), and one in a step
 * runs for a huge page's zeroing, 1.5-2.5 ms here. A step under way when
 * a collection begins goes on (see work_drain). As a collection ends, a
 * look at free memory is due a period later, if none is already. */
void prefault_hold(bool held);
/* A lazy sweep freed much (collect.c): a look at free memory is due as
 * after a collection, sooner if the heap is now mostly free. Any thread
 * (not in a pause: prefault_hold does that there). */
void prefault_stir(void);
/* The bytes the thread has mapped past the highest block handed out:
 * resident, held from the system, not yet in use (the memory limit
 * counts them: limit_total). Any thread; relaxed reads, a figure. */
size_t prefault_ahead(void);
void prefault_stop(void);
/* fork's child, with no collection running: the thread exists only in
 * the parent; it starts again here, where the parent's left off (what it
 * mapped ahead is mapped: the child's copy of it is not touched again, so
 * pages shared with the parent stay shared, until a look gives them
 * back). If it cannot start, pages
 * are faulted in where first written and no memory is returned. */
void prefault_after_fork_child(void);

#endif
