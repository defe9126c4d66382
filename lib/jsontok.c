/*
 * jsontok.c — a streaming JSON lexer: the input is read(2) in big blocks into one reused
 * buffer and scanned byte by byte; each token is validated and re-emitted compact, at once,
 * into every "sink" buffer the caller has set (none: the token is only checked and skipped).
 * The structure (objects, arrays, depth) is the caller's business; this file knows tokens.
 *
 * Output form: whitespace dropped; numbers verbatim (grammar checked); strings normalised
 * as json.c writes them: UTF-8 copied, '"' '\\' and control characters escaped, every
 * other escape decoded (\/ → /, \u00e9 → é, surrogate pairs → one 4-byte character).
 * Invalid UTF-8 bytes and lone surrogate escapes become U+FFFD, with one warning each kind.
 * Lines are counted in the whitespace between tokens: a raw newline can stand nowhere else.
 */
#include <err.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "pagepull.h"

#define JT_BLOCK (256 * 1024)
#define OFF(t) ((t)->base + ((t)->p - (t)->buf))

/* Bytes that end a plain run inside a string: controls, '"', '\\' and non-ASCII. */
static unsigned char special[256];
static void init_tables(void);

void jt_init(struct jtok *t, int fd, const char *name)
{
	if (!t->buf) {
		t->buf = xmalloc(JT_BLOCK);
		init_tables();
	}
	t->fd = fd;
	t->name = name;
	t->p = t->end = t->buf;
	t->eof = 0;
	t->base = t->linestart = 0;
	t->line = 1;
}

void jt_error(struct jtok *t, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	errx(EXIT_DATA, "%s:%ld:%lld: %s", t->name, t->line,
	    (long long)(OFF(t) - t->linestart) + 1, msg);
}

static void jt_warn_once(struct jtok *t, int *done, const char *msg)
{
	if (*done)
		return;
	*done = 1;
	warnx("%s:%ld:%lld: warning: %s (reported once)", t->name, t->line,
	    (long long)(OFF(t) - t->linestart) + 1, msg);
}

/* Makes at least n bytes (n is small) available at t->p unless the input ends first;
 * returns how many are available. Only the unread tail is kept: memory stays one block. */
static size_t fill(struct jtok *t, size_t n)
{
	size_t have = (size_t)(t->end - t->p);
	if (have >= n || t->eof)
		return have;
	if (have)
		memmove(t->buf, t->p, have);
	t->base += t->p - t->buf;
	t->p = t->buf;
	t->end = t->buf + have;
	while (have < n && !t->eof) {
		ssize_t r = read(t->fd, t->end, JT_BLOCK - have);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			err(EXIT_IOERR, "%s", t->name);
		}
		if (r == 0)
			t->eof = 1;
		t->end += r;
		have += (size_t)r;
	}
	return have;
}

static void toolong(struct jtok *t)
{
	jt_error(t, "value longer than %zu bytes (--max-record-bytes)", t->max);
}

static inline void emit(struct jtok *t, const void *s, size_t n)
{
	if (t->nsink == 1) {	/* the usual case, inline: one record being built */
		struct buf *b = t->sink[0];
		if (b->len + n >= b->cap)
			buf_grow(b, n);
		memcpy(b->p + b->len, s, n);
		b->len += n;
		if (t->max && b->len > t->max)
			toolong(t);
		return;
	}
	for (int i = 0; i < t->nsink; i++) {
		buf_add(t->sink[i], s, n);
		if (t->max && t->sink[i]->len > t->max)
			toolong(t);
	}
}

static inline void emitc(struct jtok *t, char c)
{
	for (int i = 0; i < t->nsink; i++) {
		buf_addc(t->sink[i], c);
		if (t->max && t->sink[i]->len > t->max)
			toolong(t);
	}
}

/* The decoded copy of a key: bounded like the sinks. */
static void dec_add(struct jtok *t, struct buf *dec, const void *s, size_t n)
{
	buf_add(dec, s, n);
	if (t->max && dec->len > t->max)
		toolong(t);
}

void jt_expected(struct jtok *t, const char *what)
{
	if (t->p == t->end && !fill(t, 1))
		jt_error(t, "unexpected end of input, expected %s", what);
	unsigned c = *t->p;
	if (c > 0x20 && c < 0x7f)
		jt_error(t, "unexpected '%c', expected %s", c, what);
	jt_error(t, "unexpected byte 0x%02x, expected %s", c, what);
}

int jt_peek(struct jtok *t)
{
	for (;;) {
		while (t->p < t->end) {
			unsigned c = *t->p;
			if (c == ' ' || c == '\t' || c == '\r')
				t->p++;
			else if (c == '\n') {
				t->p++;
				t->line++;
				t->linestart = OFF(t);
			} else
				return (int)c;
		}
		if (!fill(t, 1))
			return -1;
	}
}

void jt_byte(struct jtok *t)
{
	emitc(t, (char)*t->p++);
}

int jt_bom(struct jtok *t)
{
	if (fill(t, 3) >= 3 && memcmp(t->p, "\xEF\xBB\xBF", 3) == 0) {
		t->p += 3;
		t->linestart = OFF(t);	/* columns count from after the BOM */
		return 1;
	}
	return 0;
}

static int hex4(const unsigned char *s)
{
	int v = 0;
	for (int i = 0; i < 4; i++) {
		int c = s[i], d;
		if (c >= '0' && c <= '9')
			d = c - '0';
		else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
			d = (c | 0x20) - 'a' + 10;
		else
			return -1;
		v = v << 4 | d;
	}
	return v;
}

/* Emits code point cp as json.c writes it (escaping included); dec gets its raw UTF-8. */
static void emit_cp(struct jtok *t, uint32_t cp, struct buf *dec)
{
	static struct buf u, q;
	buf_reset(&u);
	utf8_encode(&u, cp);
	if (dec)
		dec_add(t, dec, u.p, u.len);
	if (cp >= 0x20 && cp != '"' && cp != '\\') {
		emit(t, u.p, u.len);
		return;
	}
	buf_reset(&q);
	json_str(&q, u.p, u.len);
	emit(t, q.p + 1, q.len - 2);	/* without the quotes */
}

/* At a backslash inside a string: one escape (two for a surrogate pair). */
static void escape(struct jtok *t, struct buf *dec)
{
	if (fill(t, 2) < 2)
		jt_error(t, "unexpected end of input in a string");
	uint32_t cp;
	size_t used = 2;
	switch (t->p[1]) {
	case '"': cp = '"'; break;
	case '\\': cp = '\\'; break;
	case '/': cp = '/'; break;
	case 'b': cp = '\b'; break;
	case 'f': cp = '\f'; break;
	case 'n': cp = '\n'; break;
	case 'r': cp = '\r'; break;
	case 't': cp = '\t'; break;
	case 'u': {
		size_t have = fill(t, 6);
		int v = have >= 6 ? hex4(t->p + 2) : -1;
		if (v < 0)
			jt_error(t, have < 6 && t->eof ? "unexpected end of input in a string"
			    : "invalid \\u escape");
		cp = (uint32_t)v;
		used = 6;
		if (cp >= 0xD800 && cp <= 0xDBFF) {
			int lo = -1;
			if (fill(t, 12) >= 12 && t->p[6] == '\\' && t->p[7] == 'u')
				lo = hex4(t->p + 8);
			if (lo >= 0xDC00 && lo <= 0xDFFF) {
				cp = 0x10000 + ((cp - 0xD800) << 10) + (uint32_t)(lo - 0xDC00);
				used = 12;
			}
		}
		if (cp >= 0xD800 && cp <= 0xDFFF) {
			jt_warn_once(t, &t->warned_surrogate, "lone surrogate escape replaced by U+FFFD");
			cp = 0xFFFD;
		}
		break;
	}
	default:
		t->p++;
		jt_expected(t, "an escape character (one of \"\\/bfnrtu)");
		return;
	}
	emit_cp(t, cp, dec);
	t->p += used;
}

void jt_string(struct jtok *t, struct buf *dec)
{
	t->p++;
	emitc(t, '"');
	for (;;) {
		const unsigned char *s = t->p, *e = t->end;
		while (s < e) {
			unsigned c = *s;
			if (!special[c])
				s++;
			else if (c >= 0xC2 && c <= 0xDF && s + 1 < e && (s[1] & 0xC0) == 0x80)
				s += 2;		/* the common 2-byte case (Cyrillic) inline */
			else if (c >= 0x80 && (c = (unsigned)utf8_seqlen(s, (size_t)(e - s))) != 0)
				s += c;
			else
				break;
		}
		if (s > t->p) {
			emit(t, t->p, (size_t)(s - t->p));
			if (dec)
				dec_add(t, dec, t->p, (size_t)(s - t->p));
			t->p = (unsigned char *)s;
		}
		if (s == e) {
			if (!fill(t, 1))
				jt_error(t, "unexpected end of input in a string");
			continue;
		}
		unsigned c = *t->p;
		if (c == '"') {
			t->p++;
			emitc(t, '"');
			return;
		}
		if (c == '\\') {
			escape(t, dec);
			continue;
		}
		if (c < 0x20)
			jt_error(t, "unescaped control character U+%04X in a string", c);
		/* A non-ASCII byte: a sequence cut by the block end, or invalid UTF-8. */
		size_t n = utf8_seqlen(t->p, fill(t, 4));
		if (n) {
			emit(t, t->p, n);
			if (dec)
				dec_add(t, dec, t->p, n);
			t->p += n;
		} else {
			jt_warn_once(t, &t->warned_utf8, "invalid UTF-8 replaced by U+FFFD");
			emit(t, "\xEF\xBF\xBD", 3);
			if (dec)
				dec_add(t, dec, "\xEF\xBF\xBD", 3);
			t->p++;
		}
	}
}

/* The number grammar as a table: states 0 start, 1 '-', 2 '0', 3 int digits, 4 '.',
 * 5 fraction digits, 6 'e', 7 exponent sign, 8 exponent digits; -1 ends the number. */
enum { C_ZERO, C_DIGIT, C_MINUS, C_PLUS, C_DOT, C_E, C_OTHER };
static const signed char numnext[9][7] = {
	/*         0   1-9   -    +    .    e   other */
	[0] = {  2,   3,   1,  -1,  -1,  -1,  -1 },
	[1] = {  2,   3,  -1,  -1,  -1,  -1,  -1 },
	[2] = { -1,  -1,  -1,  -1,   4,   6,  -1 },
	[3] = {  3,   3,  -1,  -1,   4,   6,  -1 },
	[4] = {  5,   5,  -1,  -1,  -1,  -1,  -1 },
	[5] = {  5,   5,  -1,  -1,  -1,   6,  -1 },
	[6] = {  8,   8,   7,   7,  -1,  -1,  -1 },
	[7] = {  8,   8,  -1,  -1,  -1,  -1,  -1 },
	[8] = {  8,   8,  -1,  -1,  -1,  -1,  -1 },
};

static unsigned char numclass[256];

static void init_tables(void)
{
	for (int c = 0; c < 256; c++) {
		special[c] = c < 0x20 || c == '"' || c == '\\' || c >= 0x80;
		numclass[c] = c == '0' ? C_ZERO : c >= '1' && c <= '9' ? C_DIGIT : c == '-' ? C_MINUS
		    : c == '+' ? C_PLUS : c == '.' ? C_DOT : c == 'e' || c == 'E' ? C_E : C_OTHER;
	}
}

void jt_number(struct jtok *t)
{
	int st = 0;
	for (;;) {
		const unsigned char *s = t->p;
		int nx = 0;
		while (s < t->end && (nx = numnext[st][numclass[*s]]) >= 0) {
			st = nx;
			s++;
		}
		emit(t, t->p, (size_t)(s - t->p));
		t->p = (unsigned char *)s;
		if (nx < 0 || !fill(t, 1))
			break;
	}
	/* "01", "1.5.2", "0x1": a number glued to more number characters or a letter */
	unsigned c = t->p < t->end ? *t->p : ' ';
	int more = numclass[c] != C_OTHER || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z');
	if (more || !(st == 2 || st == 3 || st == 5 || st == 8)) {
		if (t->p == t->end && t->eof)
			jt_error(t, "unexpected end of input in a number");
		jt_error(t, "invalid number");
	}
}

void jt_literal(struct jtok *t)
{
	const char *w = *t->p == 't' ? "true" : *t->p == 'f' ? "false" : "null";
	size_t n = strlen(w), have = fill(t, n + 1);
	if (have < n || memcmp(t->p, w, n) != 0) {
		if (have < n && memcmp(t->p, w, have) == 0)
			jt_error(t, "unexpected end of input in '%s'", w);
		jt_error(t, "invalid literal (expected '%s')", w);
	}
	if (have > n) {
		unsigned c = t->p[n];
		if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z')
			jt_error(t, "invalid literal (expected '%s')", w);
	}
	emit(t, w, n);
	t->p += n;
}
