/*
 * pagepull.h — the one header of the shared library: exit statuses, allocators,
 * growable buffers, the JSON writer, the NDJSON output and line reader.
 * Every filter includes this and links build/libpagepull.a.
 */
#ifndef PAGEPULL_H
#define PAGEPULL_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <sys/types.h>

#define PP_VERSION "0.1.0"

/* Exit statuses, the same in every filter (DESIGN.md). */
enum {
	EXIT_OK = 0,
	EXIT_DATA = 1,		/* malformed data */
	EXIT_USAGE = 2,		/* usage error */
	EXIT_FAULT = 3,		/* the remote side answered with a fault/error document */
	EXIT_PERMFAIL = 69,	/* permanent remote failure */
	EXIT_IOERR = 74,	/* local I/O error */
	EXIT_TEMPFAIL = 75	/* temporary failure: retry later */
};

/* The record separator that starts a control line. */
#define CTL_RS '\x1e'

/* ealloc.c: allocators that end the filter (EXIT_IOERR, "out of memory") on failure. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

/* buf.c: a growable byte buffer; reset keeps the capacity for the next record. */
struct buf {
	char *p;
	size_t len, cap;
};
void buf_grow(struct buf *b, size_t extra);
void buf_add(struct buf *b, const void *s, size_t n);
void buf_adds(struct buf *b, const char *s);
void buf_addf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline void buf_addc(struct buf *b, char c)
{
	if (b->len + 1 >= b->cap)
		buf_grow(b, 1);
	b->p[b->len++] = c;
}
static inline void buf_reset(struct buf *b) { b->len = 0; }
const char *buf_str(struct buf *b);	/* NUL-terminated view, not counted in len */
void buf_free(struct buf *b);

/* utf8.c: validation. utf8_seqlen returns the length of the valid sequence at s
 * (1..4) or 0 if s[0] starts an invalid or truncated sequence. */
size_t utf8_seqlen(const unsigned char *s, size_t n);
void utf8_encode(struct buf *b, uint32_t cp);
/* Called whenever invalid UTF-8 was replaced; warns once per process on stderr. */
void utf8_note_invalid(void);

/* json.c: RFC 8259 writer into a buf. Strings are escaped; invalid UTF-8 becomes U+FFFD. */
void json_str(struct buf *b, const char *s, size_t n);
void json_cstr(struct buf *b, const char *s);
void json_key(struct buf *b, const char *s, size_t n);	/* "s": */

/* out.c: NDJSON output on stdout, fully buffered unless out_unbuffered is set. */
extern int out_unbuffered;
void out_init(void);			/* big stdout buffer */
void out_line(struct buf *b);		/* writes b and '\n'; dies with EXIT_IOERR on failure */
void out_ctl(struct buf *b);		/* writes CTL_RS, b and '\n' */
void out_write(const void *p, size_t n);
int fshut(FILE *f, const char *name);	/* flush+close check: 0 ok, EXIT_IOERR on error */

/* line.c: reads lines of any length into a reused buffer; the '\n' is stripped. */
struct linereader {
	FILE *f;
	char *line;
	size_t cap;
	long lineno;
};
ssize_t line_read(struct linereader *lr);	/* length, or -1 at EOF */

/* common option helpers */
void print_version(void);		/* "prog 0.1.0" on stdout */

/* jsontok.c: a streaming JSON lexer over read(2) blocks (json2ndjson). Each token is checked
 * and re-emitted compact into the nsink buffers set (0: skipped); strings normalised as json.c
 * writes them, numbers verbatim. Errors: "FILE:LINE:COL: what" and EXIT_DATA. */
#define JT_MAXSINK 64
struct jtok {
	int fd, eof;
	const char *name;		/* for messages */
	unsigned char *buf, *p, *end;	/* one reused block; p..end is unread */
	off_t base, linestart;		/* input offsets of buf[0] and of the current line */
	long line;
	struct buf *sink[JT_MAXSINK];
	int nsink;
	size_t max;			/* a sink longer than this is an error (0: no limit) */
	int warned_utf8, warned_surrogate;
};
void jt_init(struct jtok *t, int fd, const char *name);	/* keeps the block across inputs */
int jt_peek(struct jtok *t);		/* skips whitespace; the next byte, or -1 at the end */
int jt_bom(struct jtok *t);		/* skips a UTF-8 byte order mark; 1 if there was one */
void jt_byte(struct jtok *t);		/* emits and consumes the byte jt_peek returned */
void jt_string(struct jtok *t, struct buf *dec);	/* at '"'; dec (if any) gets the decoded bytes */
void jt_number(struct jtok *t);
void jt_literal(struct jtok *t);	/* true, false or null */
void jt_error(struct jtok *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));
void jt_expected(struct jtok *t, const char *what) __attribute__((noreturn));

/* redact.c: secrets out of messages. redact_line copies a header or verbose line into b
 * with the values of Authorization, Proxy-Authorization, Cookie and Set-Cookie replaced;
 * redact_url returns (malloc'ed) the URL without userinfo and fragment, and with the
 * values of credential-like query parameters (token, key, secret, pass…) replaced. */
int redact_is_secret_header(const char *name, size_t n);
void redact_line(struct buf *b, const char *s, size_t n);
char *redact_url(const char *url);

/* backoff.c: retry delays. backoff_delay: base * 2^(retry-1), capped at cap (if > 0), with
 * equal jitter (half fixed, half random); retry is 1 for the first retry. retry_after_secs:
 * a Retry-After value (seconds or an HTTP-date) as seconds from now, or -1 if invalid. */
double backoff_delay(double base, unsigned retry, double cap);
double retry_after_secs(const char *value, time_t now);
void sleep_secs(double s);		/* nanosleep, resumed after signals */

/* atomic.c: an output file written to a temporary beside it and renamed over it only
 * when atomic_close is told to keep it (else removed, also on SIGINT/SIGTERM/SIGHUP).
 * Errors opening end the program (EXIT_IOERR); atomic_close returns 0 or EXIT_IOERR. */
FILE *atomic_open(const char *path, char **tmp);
int atomic_close(FILE *f, char **tmp, const char *path, int keep);
void atomic_unlink_pending(void);	/* async-signal-safe, for a program's own handlers */

#endif
