/*
 * datamill-norm — Data Mill records in one form, whichever format they were fetched in.
 *
 * The cursor function answers XML or JSON, and the two spell the same row differently:
 * XML dates are <BirthDate type="date">10.06.2014</BirthDate> (xml2ndjson makes that
 * {"@type":"date","#text":"10.06.2014"}), JSON dates are {"year":2014,"month":5,"day":10}
 * with a 0-based month, an empty XML element is JSON's null, and JSON may carry numbers
 * and booleans where XML has only text. Every top-level member of every record is made
 * the same: dates "YYYY-MM-DD", empty and null null, scalars strings. Nested arrays and
 * other objects pass unchanged. Control lines (0x1E) pass through untouched, so the filter
 * sits between a decoder and paginate(1). Every line is checked as RFC 8259 JSON before
 * any of it is written, so a bad line ends the run after the records before it. One line,
 * of at most --max-record-bytes, is held at a time; its output streams in 64 KiB pieces.
 */
#include <err.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include "pagepull.h"

#define PIECE (64 * 1024)	/* output is written on in pieces of about this size */

static struct {
	const char *name;
	long line;
	size_t max;		/* --max-record-bytes */
	const char *errat, *why;	/* where and what the last failed skip found wrong */
} in = { .max = 64 << 20 };
static struct buf out;

static void __attribute__((noreturn)) usage(int status)
{
	FILE *f = status ? stderr : stdout;
	fputs("usage: datamill-norm [-u] [--max-record-bytes N] [FILE ...]\n", f);
	exit(status);
}

static void bad(const char *p, const char *line, const char *what)
{
	errx(EXIT_DATA, "%s:%ld:%ld: %s", in.name, in.line, (long)(p - line) + 1, what);
}

static const char *ws(const char *p, const char *e)
{
	while (p < e && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
		p++;
	return p;
}

static const char *invalid(const char *at, const char *why)
{
	in.errat = at;
	in.why = why;
	return NULL;
}

/* What was expected at p; at the end of the line, that the line ended. */
static const char *expected(const char *p, const char *e, const char *what)
{
	return invalid(p, p < e ? what : "unexpected end of line");
}

/* The end of the string at p (at '"'), or NULL: escapes, control characters and UTF-8
 * checked as RFC 8259 says. */
static const char *skip_string(const char *p, const char *e)
{
	for (p++; p < e && *p != '"';) {
		unsigned char c = (unsigned char)*p;
		if (c < 0x20)
			return invalid(p, "control character in a string");
		if (c >= 0x80) {
			size_t k = utf8_seqlen((const unsigned char *)p, (size_t)(e - p));
			if (!k)
				return invalid(p, "invalid UTF-8");
			p += k;
			continue;
		}
		if (c == '\\') {
			if (++p == e)
				break;
			if (*p == 'u') {
				for (int i = 1; i <= 4; i++)
					if (p + i >= e || !strchr("0123456789abcdefABCDEF", p[i]) || !p[i])
						return invalid(p - 1, "invalid \\u escape in a string");
				p += 4;
			} else if (!strchr("\"\\/bfnrt", *p) || !*p)
				return invalid(p - 1, "invalid escape in a string");
		}
		p++;
	}
	return p < e ? p + 1 : invalid(e, "unexpected end of line in a string");
}

/* The end of the number at p, or NULL: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
static const char *skip_number(const char *p, const char *e)
{
	const char *s = p;
#define DIGITS(q) while (q < e && *q >= '0' && *q <= '9') q++
	if (p < e && *p == '-')
		p++;
	if (p < e && *p == '0')
		p++;
	else if (p < e && *p >= '1' && *p <= '9')
		DIGITS(p);
	else
		return invalid(s, "invalid value");
	if (p < e && *p == '.') {
		const char *d = ++p;
		DIGITS(p);
		if (p == d)
			return invalid(s, "invalid number");
	}
	if (p < e && (*p == 'e' || *p == 'E')) {
		if (++p < e && (*p == '+' || *p == '-'))
			p++;
		const char *d = p;
		DIGITS(p);
		if (p == d)
			return invalid(s, "invalid number");
	}
#undef DIGITS
	return p;
}

/* The end of the JSON value at p, or NULL (in.errat and in.why say why) if it is not one. */
static const char *skip(const char *p, const char *e, int depth)
{
	if (p >= e)
		return invalid(e, "unexpected end of line");
	if (depth > 1000)
		return invalid(p, "nesting deeper than 1000 levels");
	if (*p == '"')
		return skip_string(p, e);
	if (*p == '{' || *p == '[') {
		char close = *p == '{' ? '}' : ']';
		p = ws(p + 1, e);
		if (p < e && *p == close)
			return p + 1;
		for (;;) {
			if (close == '}') {
				if (p >= e || *p != '"')
					return expected(p, e, "expected a member name");
				if (!(p = skip(p, e, depth + 1)))
					return NULL;
				p = ws(p, e);
				if (p >= e || *p != ':')
					return expected(p, e, "expected ':'");
				p = ws(p + 1, e);
			}
			if (!(p = skip(p, e, depth + 1)))
				return NULL;
			p = ws(p, e);
			if (p < e && *p == close)
				return p + 1;
			if (p >= e || *p != ',')
				return expected(p, e, close == '}' ? "expected ',' or '}'" : "expected ',' or ']'");
			p = ws(p + 1, e);
		}
	}
	static const char *const lit[] = { "true", "false", "null" };
	for (int i = 0; i < 3; i++) {
		size_t n = strlen(lit[i]);
		if ((size_t)(e - p) >= n && !memcmp(p, lit[i], n))
			return p + n;
	}
	return skip_number(p, e);
}

/* Appends to out; a big piece goes out as it is, after what out holds. */
static void put(const char *p, size_t n)
{
	if (n < PIECE) {
		buf_add(&out, p, n);
		return;
	}
	out_write(out.p, out.len);
	buf_reset(&out);
	out_write(p, n);
}

static int is(const char *p, const char *e, const char *lit)
{
	size_t n = strlen(lit);
	return (size_t)(e - p) == n && !memcmp(p, lit, n);
}

/* A small non-negative integer, bare or quoted; -1 if it is not one. */
static long smallint(const char *p, const char *e)
{
	if (e - p >= 2 && *p == '"')
		p++, e--;
	if (p == e || e - p > 6)
		return -1;
	long v = 0;
	for (; p < e; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		v = v * 10 + (*p - '0');
	}
	return v;
}

/* A calendar date (proleptic Gregorian), written "YYYY-MM-DD"; 0 if there is no such day. */
static int iso(long y, long m, long d)
{
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (y < 1 || y > 9999 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1] + (m == 2 && leap))
		return 0;
	buf_addf(&out, "\"%04ld-%02ld-%02ld\"", y, m, d);
	return 1;
}

/* "dd.mm.yyyy" (quotes included) → ISO; 0 if it is not such a date. */
static int ddmmyyyy(const char *p, const char *e)
{
	if (e - p != 12 || p[3] != '.' || p[6] != '.')
		return 0;
	return iso(smallint(p + 7, p + 11), smallint(p + 4, p + 6), smallint(p + 1, p + 3));
}

/* An object member value: a date, an XML element with attributes, or anything else.
 * Returns 0 when the object is left as it is. */
static int object(const char *p, const char *e)
{
	const char *text = NULL, *texte = NULL, *k, *ke, *v, *ve;
	long ymd[3] = { -1, -1, -1 };
	int date = 0, attrs_only = 1, nymd = 0, other = 0;
	p = ws(p + 1, e);
	while (p < e && *p == '"') {
		k = p, ke = skip(p, e, 1);
		v = ws(ws(ke, e) + 1, e);
		ve = skip(v, e, 1);
		if (is(k, ke, "\"#text\""))
			text = v, texte = ve;
		else if (is(k, ke, "\"@type\""))
			date = is(v, ve, "\"date\"");
		else if (k[1] != '@')
			attrs_only = 0;
		if (is(k, ke, "\"year\"") || is(k, ke, "\"month\"") || is(k, ke, "\"day\"")) {
			int i = k[1] == 'y' ? 0 : k[1] == 'm' ? 1 : 2;
			nymd += ymd[i] == -1;
			ymd[i] = smallint(v, ve);
		} else
			other = 1;
		p = ws(ws(ve, e) + 1, e);
	}
	if (!other && nymd == 3 && ymd[1] >= 0 && iso(ymd[0], ymd[1] + 1, ymd[2]))
		return 1;	/* JSON months count from 0 */
	if (!attrs_only)
		return 0;
	if (!text || *text != '"' || texte - text == 2)
		buf_adds(&out, "null");
	else if (!(date && ddmmyyyy(text, texte)))
		put(text, (size_t)(texte - text));
	return 1;
}

static void value(const char *p, const char *e)
{
	if (*p == '"')
		put(e - p == 2 ? "null" : p, e - p == 2 ? 4 : (size_t)(e - p));
	else if (*p == '{') {
		if (!object(p, e))
			put(p, (size_t)(e - p));
	} else if (*p == '[' || is(p, e, "null"))
		put(p, (size_t)(e - p));
	else {			/* a number, true or false: the text, as a string */
		buf_addc(&out, '"');
		buf_add(&out, p, (size_t)(e - p));
		buf_addc(&out, '"');
	}
}

static void record(const char *line, size_t n)
{
	const char *e = line + n, *p = ws(line, e), *k, *v, *end;
	buf_reset(&out);
	if (p >= e || *p != '{')
		bad(p, line, "not a JSON object");
	if (!(end = skip(p, e, 0)))
		bad(in.errat, line, in.why);
	if ((end = ws(end, e)) != e)
		bad(end, line, "data after the object");
	buf_addc(&out, '{');
	p = ws(p + 1, e);
	while (*p == '"') {
		k = p, p = skip(p, e, 1);
		buf_add(&out, k, (size_t)(p - k));
		buf_addc(&out, ':');
		v = ws(ws(p, e) + 1, e);
		p = skip(v, e, 1);
		value(v, p);
		if (out.len >= PIECE) {
			out_write(out.p, out.len);
			buf_reset(&out);
		}
		p = ws(p, e);
		if (*p == ',') {
			buf_addc(&out, ',');
			p = ws(p + 1, e);
		}
	}
	buf_addc(&out, '}');
	out_line(&out);
}

static int run(FILE *f, const char *name)
{
	struct linereader lr = { .f = f };
	ssize_t n;
	in.name = name, in.line = 0;
	while ((n = line_read_max(&lr, in.max)) != -1) {
		in.line = lr.lineno;
		if (n == -2)
			errx(EXIT_DATA, "%s:%ld: line longer than --max-record-bytes (%zu)", name, in.line,
			     in.max);
		if (n > 0 && lr.line[0] == CTL_RS) {
			lr.line[n] = '\n';
			out_write(lr.line, (size_t)n + 1);
		} else if (n > 0)
			record(lr.line, (size_t)n);
	}
	free(lr.line);
	if (ferror(f)) {
		warn("%s", name);
		return EXIT_IOERR;
	}
	return f == stdin ? 0 : fshut(f, name);
}

int main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "unbuffered", no_argument, 0, 'u' }, { "help", no_argument, 0, 'h' },
		{ "version", no_argument, 0, 'V' },
		{ "max-record-bytes", required_argument, 0, 'B' }, { 0, 0, 0, 0 }
	};
	int c, rc = 0;
	unsigned long long max;
	while ((c = getopt_long(argc, argv, "hu", longopts, NULL)) != -1) {
		switch (c) {
		case 'u': out_unbuffered = 1; break;
		case 'B':
			if (arg_size(optarg, 1024, 1ULL << 31, &max)) {
				warnx("--max-record-bytes: not a number from 1024 to 2G: %s", optarg);
				usage(EXIT_USAGE);
			}
			in.max = (size_t)max;
			break;
		case 'h': usage(EXIT_OK); break;
		case 'V': print_version(); return fshut(stdout, "<stdout>");
		default: usage(EXIT_USAGE);
		}
	}
	out_init();
	if (optind == argc)
		rc = run(stdin, "<stdin>");
	for (int i = optind; i < argc && !rc; i++) {
		FILE *f = strcmp(argv[i], "-") ? fopen(argv[i], "re") : stdin;
		if (!f) {
			warn("%s", argv[i]);
			return EXIT_IOERR;
		}
		rc = run(f, f == stdin ? "<stdin>" : argv[i]);
	}
	buf_free(&out);
	return rc | fshut(stdout, "<stdout>");
}
