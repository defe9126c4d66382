/* args.c — option values shared by the filters: sizes with k/M/G suffixes. */
#include <errno.h>
#include <stdlib.h>
#include "pagepull.h"

int arg_size(const char *s, unsigned long long min, unsigned long long max,
	     unsigned long long *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || *s == '-' || *s == '+' || *s == ' ')
		return -1;
	int shift = 0;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	}
	if (*end || v > (~0ULL >> shift))
		return -1;
	v <<= shift;
	if (v < min || v > max)
		return -1;
	*out = v;
	return 0;
}
