/* args.c — option values, one parser a kind, as sbase has strtonum and curl tool_paramhlp.c:
 * whole numbers in a range, sizes with k/M/G suffixes, seconds. Each returns 0 and sets
 * *out, or -1; the caller names the option in its own message. One grammar for all: ASCII
 * digits only, no sign, no space, no exponent or hex (what the pipelines' pp_int and pp_secs
 * accept), so that "+5", " 5" and "0x10" are refused by every filter alike. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "pagepull.h"

static const char digits[] = "0123456789";

int arg_num(const char *s, long long min, long long max, long long *out)
{
	const char *d = *s == '-' && min < 0 ? s + 1 : s;
	if (strspn(d, digits) == 0 || d[strspn(d, digits)])
		return -1;
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int arg_size(const char *s, unsigned long long min, unsigned long long max,
	     unsigned long long *out)
{
	if (strspn(s, digits) == 0)
		return -1;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno)
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

int arg_secs(const char *s, double max, double *out)
{
	size_t whole = strspn(s, digits);
	if (whole == 0 || (s[whole] && (s[whole] != '.' || strspn(s + whole + 1, digits) == 0 ||
					 s[whole + 1 + strspn(s + whole + 1, digits)])))
		return -1;
	double v = strtod(s, NULL);
	if (!(v <= max))
		return -1;
	*out = v;
	return 0;
}
