/*
 * out.c — NDJSON on stdout. Fully buffered (a large buffer: records are small and
 * many), or flushed after each line with -u. A failed write ends the filter with
 * EXIT_IOERR right away, so a full disk is never silent.
 */
#include <err.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include "pagepull.h"

int out_unbuffered;

void out_init(void)
{
	static char obuf[1 << 16];
	setvbuf(stdout, obuf, _IOFBF, sizeof obuf);
}

static void out_check(void)
{
	if (ferror(stdout) || (out_unbuffered && fflush(stdout) == EOF))
		err(EXIT_IOERR, "<stdout>");
}

void out_write(const void *p, size_t n)
{
	if (n == 0)	/* an empty message has no buffer yet: fwrite(NULL, …) is undefined */
		return;
	if (fwrite(p, 1, n, stdout) != n)
		err(EXIT_IOERR, "<stdout>");
	out_check();
}

void out_line(struct buf *b)
{
	buf_addc(b, '\n');
	out_write(b->p, b->len);
	b->len--;
}

void out_ctl(struct buf *b)
{
	if (putchar(CTL_RS) == EOF)
		err(EXIT_IOERR, "<stdout>");
	out_line(b);
}

int fshut(FILE *f, const char *name)
{
	int bad = fflush(f) == EOF || ferror(f);
	if (f != stdin && fclose(f) == EOF)
		bad = 1;
	if (bad) {
		warn("%s", name);
		return EXIT_IOERR;
	}
	return 0;
}

void print_version(void)
{
	printf("%s %s\n", program_invocation_short_name, PP_VERSION);
}
