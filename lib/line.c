/* line.c — the NDJSON record loop (mblaze's getdelim loop): any length, '\n' stripped;
 * line_read_max, a byte at a time (getc_unlocked), stops at a bound. */
#include <stdio.h>
#include "pagepull.h"

ssize_t line_read(struct linereader *lr)
{
	ssize_t rd = getdelim(&lr->line, &lr->cap, '\n', lr->f);
	if (rd == -1)
		return -1;
	lr->lineno++;
	if (rd > 0 && lr->line[rd - 1] == '\n')
		lr->line[--rd] = 0;
	return rd;
}

ssize_t line_read_max(struct linereader *lr, size_t max)
{
	size_t n = 0;
	int c;
	while ((c = getc_unlocked(lr->f)) != EOF && c != '\n') {
		if (n == max) {
			lr->lineno++;
			return -2;
		}
		if (n + 1 >= lr->cap) {
			size_t cap = lr->cap ? 2 * lr->cap : 4096;
			lr->cap = cap < max + 1 ? cap : max + 1;
			lr->line = xrealloc(lr->line, lr->cap);
		}
		lr->line[n++] = (char)c;
	}
	if (c == EOF && n == 0)
		return -1;
	lr->lineno++;
	if (lr->line)
		lr->line[n] = 0;
	return (ssize_t)n;
}
