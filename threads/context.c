/*
 * context.c: context_save (see context.h). The function copies the
 * callee-saved registers and the stack pointer as they are at its call.
 * glibc's setjmp is not used because it mangles rbp, which then hides any
 * heap pointer the compiler kept there.
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
#else
#error "context_save is written for x86-64 only; port it before building here"
#endif
