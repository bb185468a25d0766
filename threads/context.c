/*
 * context.c: saving a thread's registers and stack pointer (see
 * context.h), in assembly so that no compiler prologue (or sanitizer
 * instrumentation) moves a callee-saved register before it is copied.
 * glibc's setjmp is not used because it mangles rbp, which then hides any
 * heap pointer the compiler kept there.
 *
 * context_save serves a thread that stays inside gyre while it is stopped
 * (parked, or waiting for a lock): the frames between its caller and the
 * saved stack pointer stay alive, so anything they pushed is scanned.
 *
 * gyre_blocking_begin is different: it returns to the embedder, who then
 * runs (read, epoll_wait) with its own values in callee-saved registers,
 * and gyre's frames are dead. So the public entry point is a trampoline
 * that pushes the six callee-saved registers exactly as the caller left
 * them and passes them, with the caller's stack pointer, to
 * api_blocking_begin.
 */
#include "threads/context.h"

#if defined(__x86_64__)
__asm__(".text\n"
	".globl context_save\n"
	".hidden context_save\n"
	".type context_save, @function\n"
	"context_save:\n"
	"\tmovq %rbx, 0(%rdi)\n"
	"\tmovq %rbp, 8(%rdi)\n"
	"\tmovq %r12, 16(%rdi)\n"
	"\tmovq %r13, 24(%rdi)\n"
	"\tmovq %r14, 32(%rdi)\n"
	"\tmovq %r15, 40(%rdi)\n"
	/* rsp points at our return address; the caller's frame starts just
	 * above it, and including the return slot is harmless. */
	"\tmovq %rsp, 48(%rdi)\n"
	"\tret\n"
	".size context_save, .-context_save\n");

/* int gyre_blocking_begin(void): after the pushes, rsp points at the six
 * registers (r15 first) and rsp + 56 is the caller's stack pointer (past
 * our return address). The extra 8 bytes keep the call 16-byte aligned. */
__asm__(".text\n"
	".globl gyre_blocking_begin\n"
	".type gyre_blocking_begin, @function\n"
	"gyre_blocking_begin:\n"
	"\tpushq %rbx\n"
	"\tpushq %rbp\n"
	"\tpushq %r12\n"
	"\tpushq %r13\n"
	"\tpushq %r14\n"
	"\tpushq %r15\n"
	"\tmovq %rsp, %rdi\n"
	"\tleaq 56(%rsp), %rsi\n"
	"\tsubq $8, %rsp\n"
	"\tcall api_blocking_begin\n"
	"\taddq $8, %rsp\n"
	"\tpopq %r15\n"
	"\tpopq %r14\n"
	"\tpopq %r13\n"
	"\tpopq %r12\n"
	"\tpopq %rbp\n"
	"\tpopq %rbx\n"
	"\tret\n"
	".size gyre_blocking_begin, .-gyre_blocking_begin\n");

void context_from_pushed(struct context *ctx, const uintptr_t *pushed, void *sp)
{
	/* pushed[] holds r15, r14, r13, r12, rbp, rbx: the reverse of regs[]. */
	for (int i = 0; i < CONTEXT_REGS; i++)
		ctx->regs[i] = pushed[CONTEXT_REGS - 1 - i];
	ctx->sp = sp;
}
#else
#error "context.c is written for x86-64 only; port it before building here"
#endif
