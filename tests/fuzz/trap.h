/*
 * trap.h — force-included (cc -include) into every translation unit of a fuzz harness:
 * the filters end on bad input with exit(3)/err(3)/errx(3); here those calls become
 * fz_exit & co., which longjmp back into the harness when it has armed fz_jump (and
 * really exit otherwise), so one process can take millions of inputs. The macros are
 * function-like so that variables named err or exit are left alone.
 */
#ifndef FUZZ_TRAP_H
#define FUZZ_TRAP_H
#include <err.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

extern jmp_buf *fz_jump;	/* armed by the harness around a call into the filter */
extern int fz_status;		/* the status the filter tried to exit with */
extern int fz_jumped;		/* 1 if the last FZ_TRY ended by an exit */

void fz_exit(int status) __attribute__((noreturn));
void fz_err(int status, const char *fmt, ...) __attribute__((noreturn, format(printf, 2, 3)));
void fz_errx(int status, const char *fmt, ...) __attribute__((noreturn, format(printf, 2, 3)));
void fz_verr(int status, const char *fmt, va_list ap) __attribute__((noreturn));
void fz_verrx(int status, const char *fmt, va_list ap) __attribute__((noreturn));
int fz_fshut(FILE *f, const char *name);

#define exit(s) fz_exit(s)
#define err(...) fz_err(__VA_ARGS__)
#define errx(...) fz_errx(__VA_ARGS__)
#define verr(s, f, a) fz_verr(s, f, a)
#define verrx(s, f, a) fz_verrx(s, f, a)
#endif
