/* line.c — the NDJSON record loop (mblaze's getdelim loop): any length, '\n' stripped. */
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
