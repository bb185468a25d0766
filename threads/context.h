/*
 * context.h: a snapshot of a thread's callee-saved registers and stack
 * pointer, taken when it stops for a collection or enters a blocking region,
 * so that its stack and registers can be scanned conservatively while it is
 * not running (DESIGN.md, "Roots").
 */
#ifndef GYRE_CONTEXT_H
#define GYRE_CONTEXT_H

#include <stdint.h>

#define CONTEXT_REGS 6

struct context {
	/* Callee-saved registers at the snapshot (x86-64: rbx, rbp, r12-r15).
	 * Every live value of the callers is either here or in a stack frame
	 * at or above `sp`. */
	uintptr_t regs[CONTEXT_REGS];
	/* The stack pointer at the snapshot: the scan covers [sp, stack top). */
	void *sp;
};

/* Written in assembly so that no compiler prologue (or sanitizer
 * instrumentation) can move a callee-saved register to a stack slot below
 * `sp` before it is copied. */
void context_save(struct context *ctx);

/* Fills ctx from the registers gyre_blocking_begin's trampoline pushed
 * (in push order) and its caller's stack pointer. */
void context_from_pushed(struct context *ctx, const uintptr_t *pushed, void *sp);

/* The C side of the gyre_blocking_begin trampoline (in api.c). */
int api_blocking_begin(const uintptr_t *pushed, void *sp);

#endif
