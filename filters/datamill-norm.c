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
 * sits between a decoder and paginate(1). One line is held at a time.
 */
#include <err.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include "pagepull.h"

static struct {
	const char *name;
	long line;
} in;
static struct buf out;

static void usage(FILE *f, int status)
{
	fputs("usage: datamill-norm [-u] [FILE ...]\n", f);
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

/* The end of the JSON value at p, or NULL if it is not one. Strings are checked for raw
 * control characters and cut escapes; the writers upstream did the rest. */
static const char *skip(const char *p, const char *e, int depth)
{
	if (p >= e || depth > 1000)
		return NULL;
	if (*p == '"') {
		for (p++; p < e && *p != '"'; p++) {
			if ((unsigned char)*p < 0x20)
				return NULL;
			if (*p == '\\' && ++p == e)
				return NULL;
		}
		return p < e ? p + 1 : NULL;
	}
	if (*p == '{' || *p == '[') {
		char close = *p == '{' ? '}' : ']';
		p = ws(p + 1, e);
		if (p < e && *p == close)
			return p + 1;
		for (;;) {
			if (close == '}') {
				if (p >= e || *p != '"' || !(p = skip(p, e, depth + 1)))
					return NULL;
				p = ws(p, e);
				if (p >= e || *p != ':')
					return NULL;
				p = ws(p + 1, e);
			}
			if (!(p = skip(p, e, depth + 1)))
				return NULL;
			p = ws(p, e);
			if (p < e && *p == close)
				return p + 1;
			if (p >= e || *p != ',')
				return NULL;
			p = ws(p + 1, e);
		}
	}
	const char *s = p;
	while (p < e && (strchr("+-.eE", *p) || (*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z')))
		p++;
	return p > s ? p : NULL;
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
		buf_add(&out, text, (size_t)(texte - text));
	return 1;
}

static void value(const char *p, const char *e)
{
	if (*p == '"')
		buf_add(&out, e - p == 2 ? "null" : p, e - p == 2 ? 4 : (size_t)(e - p));
	else if (*p == '{') {
		if (!object(p, e))
			buf_add(&out, p, (size_t)(e - p));
	} else if (*p == '[' || is(p, e, "null"))
		buf_add(&out, p, (size_t)(e - p));
	else {			/* a number, true or false: the text, as a string */
		buf_addc(&out, '"');
		buf_add(&out, p, (size_t)(e - p));
		buf_addc(&out, '"');
	}
}

static void record(const char *line, size_t n)
{
	const char *e = line + n, *p = ws(line, e), *k, *v;
	buf_reset(&out);
	if (p >= e || *p != '{' || !skip(p, e, 0) || ws(skip(p, e, 0), e) != e)
		bad(p, line, "not a JSON object");
	buf_addc(&out, '{');
	p = ws(p + 1, e);
	while (*p == '"') {
		k = p, p = skip(p, e, 1);
		buf_add(&out, k, (size_t)(p - k));
		buf_addc(&out, ':');
		v = ws(ws(p, e) + 1, e);
		p = skip(v, e, 1);
		value(v, p);
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
	while ((n = line_read(&lr)) != -1) {
		in.line = lr.lineno;
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
		{ "version", no_argument, 0, 'V' }, { 0, 0, 0, 0 }
	};
	int c, rc = 0;
	while ((c = getopt_long(argc, argv, "u", longopts, NULL)) != -1) {
		switch (c) {
		case 'u': out_unbuffered = 1; break;
		case 'h': usage(stdout, EXIT_OK); break;
		case 'V': print_version(); return fshut(stdout, "<stdout>");
		default: usage(stderr, EXIT_USAGE);
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
