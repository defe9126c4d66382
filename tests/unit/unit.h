/*
 * unit.h — the C unit tests' harness (tests/unit/NAME.c, one per lib/ module with logic
 * easier to test alone than through a filter). TAP on stdout, as bats writes it, so that
 * .ci/run counts the lines: "ok N NAME: what", "not ok N …" with "# got/want" lines, the
 * plan "1..N" last. A test whose code ends the program (errx) runs in a child: in_child()
 * gives its exit status and what it wrote on stderr and stdout.
 */
#ifndef PAGEPULL_UNIT_H
#define PAGEPULL_UNIT_H
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int unit_n, unit_failed;

/* ok(COND, "name"): one TAP line; returns COND. */
static int ok(int cond, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int ok(int cond, const char *fmt, ...)
{
	va_list ap;
	printf("%sok %d ", cond ? "" : "not ", ++unit_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	unit_failed += !cond;
	return cond;
}

/* is(GOT, WANT, "name"): strings equal, both shown on failure. */
#define is(got, want, ...) do {							\
	const char *g_ = (got), *w_ = (want);					\
	if (!ok(g_ && strcmp(g_, w_) == 0, __VA_ARGS__))			\
		printf("#   got:  '%s'\n#   want: '%s'\n", g_ ? g_ : "(null)", w_); \
} while (0)

/* What a child run left: its exit status (-1: killed by a signal), stdout and stderr. */
struct child {
	int status;
	char out[1 << 16], err[4096];
};

static inline void slurp(int fd, char *b, size_t cap)
{
	size_t n = 0;
	ssize_t r;
	while ((r = read(fd, b + n, cap - 1 - n)) > 0 && n + (size_t)r < cap - 1)
		n += (size_t)r;
	if (r > 0)
		n += (size_t)r;
	b[n < cap ? n : cap - 1] = 0;
	close(fd);
}

/* in_child(fn, arg, c): runs fn(arg) in a child process, which then exits 0. */
static inline void in_child(void (*fn)(const void *), const void *arg, struct child *c)
{
	char name[] = "/tmp/pagepull-unit-XXXXXX";
	int out = mkstemp(name), err[2];
	if (out == -1 || pipe(err) == -1) {
		perror("unit");
		exit(1);
	}
	unlink(name);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		dup2(out, 1);
		dup2(err[1], 2);
		close(err[0]);
		fn(arg);
		fflush(stdout);
		_exit(0);
	}
	close(err[1]);
	slurp(err[0], c->err, sizeof c->err);
	int st;
	waitpid(pid, &st, 0);
	c->status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	lseek(out, 0, SEEK_SET);
	slurp(out, c->out, sizeof c->out);
}

/* The plan, last; the exit status says whether every test passed. */
static inline int done_testing(void)
{
	printf("1..%d\n", unit_n);
	return unit_failed != 0;
}
#endif
