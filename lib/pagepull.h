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
int buf_read(struct buf *b, FILE *f, size_t max);	/* all of f: 0, or -1 with errno (EFBIG past max) */
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
/* The same with a bound: -2 (the rest of the line unread) when a line is longer than max
 * bytes, so that memory stays within max whatever the input. */
ssize_t line_read_max(struct linereader *lr, size_t max);

/* args.c: option values, one parser a kind; each returns 0 and sets *out, or -1 if
 * malformed or out of range (the caller names the option). Digits only: no sign, space,
 * exponent or hex. arg_num: a whole number within min..max ('-' only when min < 0).
 * arg_size: digits with an optional k, M or G suffix (powers of 1024), within min..max
 * after the suffix. arg_secs: seconds, digits with an optional fraction (0.5), at most max. */
int arg_num(const char *s, long long min, long long max, long long *out);
int arg_size(const char *s, unsigned long long min, unsigned long long max,
	     unsigned long long *out);
int arg_secs(const char *s, double max, double *out);

/* clock.c: monotonic seconds, for deadlines, waits and progress (never a date). */
double clock_now(void);

/* common option helpers */
void print_version(void);		/* "prog 0.1.0" on stdout */

/* pbwire.c: the protobuf wire format. pbw_varint reads a varint at *p (before end),
 * advances *p and returns 0, or returns PBW_TRUNC or PBW_LONG (over 10 bytes / 64 bits). */
enum { PB_VARINT = 0, PB_I64 = 1, PB_LEN = 2, PB_SGROUP = 3, PB_EGROUP = 4, PB_I32 = 5 };
enum { PBW_TRUNC = -1, PBW_LONG = -2 };
int pbw_varint(const unsigned char **p, const unsigned char *end, uint64_t *v);
void pbw_put_varint(struct buf *b, uint64_t v);
void pbw_put_fixed(struct buf *b, uint64_t v, int nbytes);	/* little endian, 4 or 8 */
static inline int64_t pbw_unzigzag(uint64_t v) { return (int64_t)(v >> 1) ^ -(int64_t)(v & 1); }
static inline uint64_t pbw_zigzag(int64_t v) { return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63); }

/* b64.c: base64. Encoding is standard and padded; decoding takes the standard or the
 * URL-safe alphabet, padding optional, and returns -1 on anything else. */
void b64_encode(struct buf *b, const void *p, size_t n);
int b64_decode(struct buf *b, const char *s, size_t n);

/* vars.c: curl's --variable and {{NAME[:fn…]}} expansion (trim, json, url, b64, 64dec).
 * open_in opens a file name ("-": stdin) or dies; why gets the reason of a -1. */
int var_set(const char *spec, FILE *(*open_in)(const char *), const char **why);
int var_expand(const char *in, struct buf *out, const char **why);
void var_free(void);

/* pbschema.c: a FileDescriptorSet (protoc --descriptor_set_out), indexed by protobuf-c's
 * descriptor.proto bindings. Field types are descriptor.proto's numbers (PBT_*). */
enum { PBT_DOUBLE = 1, PBT_FLOAT, PBT_INT64, PBT_UINT64, PBT_INT32, PBT_FIXED64, PBT_FIXED32,
       PBT_BOOL, PBT_STRING, PBT_GROUP, PBT_MESSAGE, PBT_BYTES, PBT_UINT32, PBT_ENUM,
       PBT_SFIXED32, PBT_SFIXED64, PBT_SINT32, PBT_SINT64 };
struct pb_enum {
	const char *name;		/* full name, no leading dot */
	size_t n;
	const char **names;		/* sorted by number (first declared on ties) */
	int32_t *numbers;
	int closed;			/* proto2: unknown numbers are not values */
};
struct pb_msg;
struct pb_field {
	const char *name, *json_name;
	char *key[2];			/* "name": and "jsonName": ready to copy */
	size_t keylen[2];
	uint32_t number;
	int type, wire, repeated, required, packed;	/* wire: pb_wiretype(type) */
	int presence;			/* proto2, message, oneof or proto3 optional */
	int oneof;			/* index in the message's oneofs, or -1 */
	const struct pb_msg *msg;	/* PBT_MESSAGE */
	const struct pb_enum *en;	/* PBT_ENUM */
};
struct pb_msg {
	const char *name;		/* full name, no leading dot */
	size_t nfields;
	struct pb_field *fields;	/* sorted by number */
	int noneofs, map_entry, nrequired;
	uint32_t ndirect;		/* direct[number] = index + 1, for number < ndirect */
	uint16_t *direct;
};
struct pb_schema {
	size_t nmsgs, nenums;
	struct pb_msg *msgs;		/* sorted by name */
	struct pb_enum *enums;
};
void pb_load(struct pb_schema *s, const char *path);	/* dies with EXIT_USAGE */
/* pb_load, then the message type (full name, leading dot or not): dies if there is none */
const struct pb_msg *pb_load_type(struct pb_schema *s, const char *path, const char *type);
const struct pb_msg *pb_find_msg(const struct pb_schema *s, const char *name);
const struct pb_field *pb_field_num(const struct pb_msg *m, uint32_t number);
const struct pb_field *pb_field_name(const struct pb_msg *m, const char *name, size_t n);
const char *pb_enum_name(const struct pb_enum *e, int32_t number);	/* NULL if none */
int pb_enum_number(const struct pb_enum *e, const char *name, size_t n, int32_t *number);
int pb_wiretype(int type);		/* PB_VARINT, PB_I64, PB_LEN or PB_I32 */

/* pbjson.c: protobuf bytes → the canonical JSON mapping, as json_format.MessageToDict prints
 * it (original names, field-number order). A message's fields are scanned into entries at its
 * nesting level (kept until that level is scanned again), then printed into out. Bad input
 * ends the program: "NAME: offset N: [field F (n): ]what", exit EXIT_DATA. */
struct pbj_ent {
	const struct pb_field *f;	/* NULL for an unknown field */
	uint64_t off;			/* offset of the tag in the input */
	const unsigned char *p;		/* PB_LEN: the payload */
	size_t len;
	uint64_t v;			/* PB_VARINT, PB_I64, PB_I32: the value */
	uint32_t num, seq;
	uint8_t wt, hl;			/* wire type; tag and length bytes before p */
};
struct pbj {
	const char *name;		/* the input, for errors */
	int int64_numbers, enum_numbers, json_names, unknown, max_depth;
	uint64_t limit;			/* a record's decoding memory, and 1 MiB (0: none) */
	uint64_t held;			/* set by the caller: the record's own bytes in memory */
	size_t entbytes;		/* the levels' entry tables */
	struct buf out;
	struct pbj_level *lv;		/* max_depth + 2 levels */
};
void pbj_init(struct pbj *d, int max_depth);
void pbj_message(struct pbj *d, const struct pb_msg *m, const unsigned char *p, size_t n,
    uint64_t off, int depth);
void pbj_scalar(struct pbj *d, const struct pb_field *f, const struct pbj_ent *e);
int pbj_is_default(const struct pb_field *f, const struct pbj_ent *e);
const struct pb_field *pbj_check_tag(struct pbj *d, const struct pb_msg *m, uint64_t tag,
    uint64_t off);
const struct pbj_ent *pbj_last(struct pbj *d, int depth, uint32_t num);
void pbj_fail(struct pbj *d, uint64_t off, const struct pb_field *f, uint32_t num,
    const char *fmt, ...) __attribute__((noreturn, format(printf, 5, 6)));

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

/* redact.c: secrets out of messages. redact_line copies a header, request or verbose
 * line into b with the values of Authorization, Proxy-Authorization, Cookie and
 * Set-Cookie replaced and URLs redacted; redact_url returns (malloc'ed) the URL without
 * userinfo and fragment, credential-like query values (token, key, pass…) replaced. */
int redact_is_secret_header(const char *name, size_t n);
void redact_add_header(const char *name, size_t n);	/* one more secret header name */
void redact_reset(void);		/* forget those (fetch-keeper, between exchanges) */
void redact_line(struct buf *b, const char *s, size_t n);
char *redact_url(const char *url);

/* backoff.c: retry delays. backoff_delay: base * 2^(retry-1), capped at cap (if > 0), with
 * equal jitter (half fixed, half random); retry is 1 for the first retry. */
double backoff_delay(double base, unsigned retry, double cap);
void sleep_secs(double s);		/* nanosleep, resumed after signals */

/* atomic.c: an output file written to a temporary beside it and renamed over it only
 * when atomic_close is told to keep it (else removed, also on SIGINT/SIGTERM/SIGHUP).
 * Errors opening end the program (EXIT_IOERR); atomic_close returns 0 or EXIT_IOERR. */
FILE *atomic_open(const char *path, char **tmp);
int atomic_close(FILE *f, char **tmp, const char *path, int keep);
void atomic_unlink_pending(void);	/* async-signal-safe, for a program's own handlers */

/* http.c: one attempt of an HTTP exchange on a libcurl handle (void *: CURL *) that the
 * caller has set up: a 2xx body, or a 500 SOAP Fault (XML Content-Type, or any when soap
 * is set), streamed to out; other bodies kept for the error line. http_perform returns
 * EXIT_OK, EXIT_TEMPFAIL (*retryable set: 408, 429, 5xx, timeouts, resets), EXIT_PERMFAIL
 * or EXIT_IOERR (out failed: werr), and the error line in m. */
struct http_xfer {
	void *curl;
	FILE *out;
	int soap, progress;		/* progress: a bytes-and-rate line on stderr */
	double stall_time;		/* no byte for this long ends the attempt (0: never) */
	long status;			/* the last attempt's: */
	int fault, werr, stalled;
	int64_t written;		/* body bytes written to out */
	int mode;			/* private */
	struct buf sniff, errbody;
	size_t drained;
	int64_t seen;
	double seen_at, shown_at;
	char reason[96], errbuf[256];	/* errbuf: CURL_ERROR_SIZE */
	int decode;			/* inflate a gzip or deflate body here (--compressed) */
	void *z;			/* private: the inflater */
	int zstate, zgzip;		/* private */
	char zerr[96];			/* private: what was wrong with the compressed body */
	const char *const *expect;	/* --expect-type media ranges ("!" refuses); NULL: any */
	size_t nexpect;
	int badtype;			/* the last attempt's 2xx had a type not expected */
};
void http_init(struct http_xfer *x);	/* sets x->curl's callbacks */
void http_trace(void *curl);		/* -v: libcurl's trace on stderr, redacted */
int http_perform(struct http_xfer *x, int *retryable, struct buf *m);
double http_retry_after(struct http_xfer *x);	/* seconds, or -1 if none */
/* Is TYPE a media range for --expect-type: type/subtype, a '*' subtype or type and subtype,
 * optionally after a '!'? */
int http_expect_valid(const char *type);
/* A handle for one exchange: a new one, or, in a keeper (http_keep_handle set), the same
 * one reset, so that its connection, DNS and TLS session caches serve every exchange.
 * In a keeper, http_watch_fd is the client's socket: its hang-up ends the transfer. */
extern int http_keep_handle, http_watch_fd;
void *http_handle(void);
/* The wait before a retry: 1 as soon as the watched client hangs up (its retry is nobody's
 * to make), else 0 after s seconds. */
int http_wait(double s);
/* In a keeper: 1 once the client (the served fetch-page) has hung up, killed mid-exchange. */
int http_client_gone(void);
void http_release(void *curl);
void http_free(struct http_xfer *x);	/* its buffers and inflater; zeroed */
/* A Retry-After value (seconds or an HTTP-date) as seconds from now, or -1 if invalid. */
double retry_after_secs(const char *value, time_t now);

/* fdpass.c: bytes and descriptors (SCM_RIGHTS, at most FDPASS_MAX a message) over a Unix
 * stream socket. fdpass_send: 0 or -1; fdpass_recv reads exactly n bytes (0) or fails (-1),
 * the descriptors received into fds (*nfds: room in, count out; NULL: none wanted). */
#define FDPASS_MAX 8
int fdpass_send(int sock, const void *p, size_t n, const int *fds, int nfds);
int fdpass_recv(int sock, void *p, size_t n, int *fds, int *nfds);

/* keeper.c: the connection keeper (fetch-keeper) — the request fetch-page sends over the
 * socket named by PAGEPULL_KEEPER (this header, then argc argv strings and envc environment
 * strings, each NUL-ended, with descriptors 0, 1, 2 and the working directory attached);
 * the keeper answers 'A' when it takes the exchange, then 'X' and the exit status or 'K'
 * and a signal number (int32, host order). keeper_call: 0 when a keeper served the exchange
 * (*status set; a keeper lost after 'A' is EXIT_TEMPFAIL), -1 when none did (nothing was
 * written: the caller makes the exchange itself). keeper_start/stop: paginate's keeper for
 * the run (none when PAGEPULL_KEEPER is set already or PAGEPULL_NO_KEEPALIVE is): a
 * fetch-keeper --serve, which makes its private directory and prints the socket's path. */
#define KEEPER_MAGIC { 'P', 'P', 'K', '1' }
#define KEEPER_REQ_MAX (64u << 20)
#define KEEPER_PATH_MAX 108	/* sockaddr_un's sun_path */
struct keeper_req {
	char magic[4];
	uint32_t len, argc, envc, umask;
};
int keeper_disabled(void);
int keeper_call(int argc, char **argv, int *status);
int keeper_mkdir(char sock[KEEPER_PATH_MAX]);
void keeper_start(int parallel);
extern const char *keeper_cacert;	/* keeper_start's --cacert: the run's CA file, loaded once */
void keeper_stop(void);

/* The modules below serve paginate (the page driver). */
struct cJSON;

/* spool.c: a page's bytes, in memory up to limit, then also in an unlinked temp file. */
struct spool {
	struct buf mem;		/* all of it, or the write-back part once spilled */
	size_t limit;
	int fd;			/* the temporary file, -1 until the first spill */
	off_t disk;		/* bytes in the file */
	size_t len;		/* bytes in all */
	int spilled;
};
void spool_init(struct spool *s, size_t limit);
void spool_add(struct spool *s, const void *p, size_t n);
void spool_reset(struct spool *s);		/* empty; keeps the memory and the file */
int spool_write(struct spool *s, int fd);	/* all of it to fd: 0, or -1 with errno */
void spool_free(struct spool *s);

/* intake.c: a page command's stdout → records spooled, control lines merged. */
struct intake {
	struct spool sp;
	struct buf ctl, last;	/* the control line being read; the last record */
	int keep_last, state;
	uint64_t hash, carry;	/* over the record bytes; see intake_digest */
	unsigned ncarry;
	long long records;
	struct cJSON *meta;	/* the page's control lines merged, or NULL */
	const char *bad;	/* why a control line was rejected, or NULL */
};
void intake_init(struct intake *in, size_t spool_limit, int keep_last);
void intake_reset(struct intake *in);
void intake_feed(struct intake *in, const char *p, size_t n);
void intake_end(struct intake *in);
uint64_t intake_digest(const struct intake *in);	/* of the records so far */
void intake_free(struct intake *in);

/* ctl.c: control-line objects (cJSON). */
int ctl_merge(struct cJSON **acc, const char *s, size_t n);	/* -1: not an object */
const struct cJSON *ctl_get(const struct cJSON *obj, const char *path);	/* "a.b" */
int ctl_text(const struct cJSON *v, struct buf *b);	/* value as a string; -1 absent/null */
int ctl_flag(const struct cJSON *v);	/* 1/"1"/true/"true" → 1, 0/"0"/false/"false" → 0, else -1 */
int ctl_int(const struct cJSON *v, long long *out);	/* number or numeric string; -1 if not */

/* state.c: paginate's checkpoint, replaced atomically (atomic.c, then the directory is
 * fsync'ed). state_save returns 0 or EXIT_IOERR (after a message); state_load returns 1,
 * or 0 if there is no such file, and ends the program on a file that is not a state. */
struct pgstate {
	const char *strategy;
	char *token;		/* the next PAGE_TOKEN, or NULL */
	int done, have_total, have_count, have_output;
	long long index, number, offset, pages, records, empty_run, total, page_count, output;
};
int state_save(const char *path, const struct pgstate *s);
int state_load(const char *path, struct pgstate *s);
/* state_lock: an exclusive flock(2) on PATH.lock (which then holds our pid), kept until the
 * program ends; a run that holds it already ends this one (EXIT_TEMPFAIL, naming its pid).
 * state_cksum: POSIX cksum(1)'s CRC, the checksum of every state file. */
int state_lock(const char *path);
uint32_t state_cksum(const char *p, size_t n);

/* spawn.c: a page command of n stages (a pipeline when n > 1): the last one's stdout on a
 * pipe (*outfd), the first one's stdin /dev/null, NAME=VALUE extras, one process group
 * led by pid[0]. job_start: 0, or -1 with errno (nothing left running). job_wait: 1 when
 * every stage has ended, with the pipeline's status in *wst (the first stage that failed
 * other than by SIGPIPE, else 0); 0 if nohang and some still run. */
#define JOB_MAX_STAGES 16
struct job {
	int n, failed;		/* failed: after job_start's -1, the stage that could not start */
	pid_t pid[JOB_MAX_STAGES];
	int wst[JOB_MAX_STAGES];
	char done[JOB_MAX_STAGES];
	int errfd[JOB_MAX_STAGES];	/* stages after the first: their stderr, shown by job_wait
					 * only when no earlier stage failed (-1: not captured) */
	int hold;		/* set after job_start: job_wait keeps those messages back */
	int held;		/* stages whose messages job_wait kept back, for job_show/job_mute */
};
int job_start(struct job *j, char **const stage[], int n, char *const extra[], int *outfd);
void job_kill(const struct job *j, int sig);	/* the whole process group */
/* job_mute: the later stages' messages will not be shown (while the job runs, or once
 * job_wait has held them back); job_show: those held back are shown now. */
void job_mute(struct job *j);
void job_show(struct job *j);
int job_wait(struct job *j, int nohang, int *wst);

/* pager.h: paginate's engine (pager.c, pagejudge.c, pagecommit.c). */

#endif
