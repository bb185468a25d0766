/*
 * verify.h: the heap verifier (GYRE_VERIFY=1). It checks, with the world
 * stopped, every invariant the collector relies on, and aborts with a
 * message naming the first one broken.
 */
#ifndef GYRE_VERIFY_H
#define GYRE_VERIFY_H

/* `when` names the phase boundary, for the message. Needs large_prepare. */
void verify_heap(const char *when);

/* After mark_old_finish, before the sweep: [INV-MARKED-OLD] as far as the
 * heap shows it now: every generation-2 or large object that a handle, a
 * young object or a marked object points at is marked. Needs
 * large_prepare. */
void verify_old_marks(const char *when);

/* After compact_heap's update, before the sweep (evacuated blocks still
 * flagged SPACE_EVAC): every field of a marked object, every handle and
 * every root of the finalizer queue and every object with a finalizer
 * is a marked object, never at
 * one that was evacuated (its old, forwarded copy); no marked object is
 * forwarded, and every marked slot holds an object. Needs large_prepare. */
void verify_compaction(void);

#endif
