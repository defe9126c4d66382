/*
 * http.c — one attempt of an HTTP exchange over a libcurl handle the caller has set
 * up, the body streamed to a FILE, and its outcome as an exit status. A 2xx body goes
 * to the FILE as it arrives; a 500 with a SOAP Fault (an XML Content-Type, or any
 * with soap set) is an answer and goes there too; any other body is kept only for
 * its first KiB, for the error line. Also the redacted trace (-v), the stall timeout
 * (no byte for stall_time seconds) and a progress line on stderr. fetch-page's
 * engine; the retry policy stays with the caller.
 *
 * A gzip or deflate body is inflated here rather than by libcurl, which accepts a
 * compressed stream that stops short as long as its HTTP framing is whole: here the
 * stream must reach its end, or the attempt fails like any other short transfer.
 */
#include <ctype.h>
#include <curl/curl.h>
#include <err.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <zlib.h>
#include "pagepull.h"

#define SNIFF_MAX (64 * 1024)	/* how far into a 500's XML body a Fault is looked for */
#define ERRBODY_MAX 1024	/* how much of an error body the error line shows */
#define DRAIN_MAX (1 << 20)	/* an error body beyond this is cut off */

#define TYPEBODY_MAX 48	/* how much of a body of the wrong type the error line shows */

enum { W_NONE, W_OUT, W_SNIFF, W_ERR, W_BADTYPE };
enum { Z_OFF, Z_RUN, Z_END, Z_BAD, Z_UNASKED };	/* x->zstate */

int http_keep_handle, http_watch_fd = -1;
static CURL *kept;	/* the keeper's handle, reused exchange after exchange */

/* A Fault element, any prefix, in the bytes. */
static int has_fault(const char *p, size_t n)
{
	const char *end = p + n;
	for (const char *s = p; (s = memchr(s, '<', (size_t)(end - s))); s++) {
		const char *name = s + 1, *c = name;
		for (; c < end && (isalnum((unsigned char)*c) || (*c && strchr("_-.:", *c))); c++)
			if (*c == ':')
				name = c + 1;
		if (c - name == 5 && memcmp(name, "Fault", 5) == 0 && c < end && *c && strchr(" \t\r\n/>", *c))
			return 1;
	}
	return 0;
}

static int xml_type(CURL *h)
{
	char *ct = NULL;
	curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ct);
	return ct && (strncasecmp(ct, "text/xml", 8) == 0 || strncasecmp(ct, "application/xml", 15) == 0 ||
		      strncasecmp(ct, "application/soap+xml", 20) == 0);
}

/* The media type of the answer, lowercase, without parameters; a missing Content-Type is
 * application/octet-stream (RFC 9110, 8.3: the recipient may assume it). */
static void media_type(CURL *h, char *t, size_t size)
{
	char *ct = NULL;
	curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ct);
	if (!ct)
		ct = "application/octet-stream";
	size_t n = 0;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	for (; *ct && *ct != ';' && *ct != ' ' && *ct != '\t' && n + 1 < size; ct++)
		t[n++] = (char)tolower((unsigned char)*ct);
	t[n] = 0;
}

/* Does media type t (lowercase) fall in range r: type/subtype, type and a '*' subtype, or
 * '*' for both? */
static int in_range(const char *t, const char *r)
{
	const char *slash = strchr(r, '/'), *ts = strchr(t, '/');
	size_t tn = ts ? (size_t)(ts - t) : strlen(t);
	if (!(slash - r == 1 && r[0] == '*') &&
	    ((size_t)(slash - r) != tn || strncasecmp(r, t, tn)))
		return 0;
	return !strcmp(slash + 1, "*") || (ts && !strcasecmp(slash + 1, ts + 1));
}

int http_expect_valid(const char *r)
{
	static const char tchar[] = "!#$&-^_.+*";	/* RFC 9110's token characters, and '*' */
	const char *slash = strchr(r + (*r == '!'), '/');
	if (!slash || slash == r + (*r == '!') || !slash[1] || strchr(slash + 1, '/'))
		return 0;
	for (const char *c = r + (*r == '!'); *c; c++)
		if (c != slash && !isalnum((unsigned char)*c) && !strchr(tchar + 1, *c))
			return 0;
	return 1;
}

/* Is the answer's type one that --expect-type allows? A range after '!' refuses; the
 * others, if any, are the only ones allowed. */
static int type_ok(struct http_xfer *x)
{
	char t[128];
	int positive = 0, hit = 0;
	if (!x->nexpect)
		return 1;
	media_type(x->curl, t, sizeof t);
	for (size_t i = 0; i < x->nexpect; i++) {
		const char *r = x->expect[i];
		if (*r == '!' && in_range(t, r + 1))
			return 0;
		if (*r != '!') {
			positive = 1;
			hit |= in_range(t, r);
		}
	}
	return !positive || hit;
}

static size_t put(struct http_xfer *x, const char *p, size_t n)
{
	if (n && fwrite(p, 1, n, x->out) != n) {
		x->werr = errno ? errno : EIO;
		if (x->werr == EPIPE && x->out == stdout) {	/* | head: end quietly */
			if (!http_keep_handle)	/* a keeper's own handler tells the client */
				signal(SIGPIPE, SIG_DFL);
			raise(SIGPIPE);
		}
		return 0;
	}
	x->written += (int64_t)n;
	return n;
}

static void keep_errbody(struct http_xfer *x, const char *p, size_t n)
{
	if (x->errbody.len < ERRBODY_MAX)
		buf_add(&x->errbody, p, n < ERRBODY_MAX - x->errbody.len ? n : ERRBODY_MAX - x->errbody.len);
	x->drained += n;
}

/* The body's bytes as they are (decoded, if they were compressed), by mode. */
static size_t body(struct http_xfer *x, const char *p, size_t n)
{
	switch (x->mode) {
	case W_BADTYPE:		/* not what was asked for: its first bytes, then stop */
		keep_errbody(x, p, n);
		return x->errbody.len < TYPEBODY_MAX ? n : 0;
	case W_OUT:
		return put(x, p, n);
	case W_SNIFF:
		buf_add(&x->sniff, p, n);
		if (has_fault(x->sniff.p, x->sniff.len)) {
			x->fault = 1;
			x->mode = W_OUT;
			return put(x, x->sniff.p, x->sniff.len) ? n : 0;
		}
		if (x->sniff.len < SNIFF_MAX)
			return n;
		x->mode = W_ERR;
		keep_errbody(x, x->sniff.p, x->sniff.len);
		return n;
	default:
		keep_errbody(x, p, n);
		return x->drained > DRAIN_MAX ? 0 : n;
	}
}

/* The inflater for the response's Content-Encoding: gzip, or deflate (zlib, or raw as
 * some servers send it); none or identity: Z_OFF; anything else was not asked for. */
static int zstart(struct http_xfer *x, const unsigned char *p, size_t n)
{
	struct curl_header *hd;
	if (curl_easy_header(x->curl, "Content-Encoding", 0, CURLH_HEADER, -1, &hd) != CURLHE_OK ||
	    !strcasecmp(hd->value, "identity") || !hd->value[0])
		return Z_OFF;
	int bits;
	if (!strcasecmp(hd->value, "gzip") || !strcasecmp(hd->value, "x-gzip"))
		bits = 15 + 16;
	else if (!strcasecmp(hd->value, "deflate"))
		bits = n >= 2 && (p[0] & 0x0f) == 8 && (p[0] >> 4) <= 7 && ((p[0] << 8) | p[1]) % 31 == 0 ?
		       15 : -15;
	else {
		snprintf(x->zerr, sizeof x->zerr, "Content-Encoding %.40s was not asked for", hd->value);
		return Z_UNASKED;
	}
	z_stream *z = x->z;
	if (!z)
		x->z = z = xcalloc(1, sizeof *z);
	else
		inflateEnd(z);
	memset(z, 0, sizeof *z);
	if (inflateInit2(z, bits) != Z_OK)
		errx(EXIT_IOERR, "out of memory");
	x->zgzip = bits == 15 + 16;
	return Z_RUN;
}

/* Inflates n compressed bytes into body(); 0 when they are not a valid stream (zerr says
 * why) or body() refused them. A gzip member may follow another, as gzip(1) allows. */
static int inflate_body(struct http_xfer *x, const char *p, size_t n, int gzip)
{
	static unsigned char out[64 * 1024];
	z_stream *z = x->z;
	z->next_in = (unsigned char *)p;
	z->avail_in = (uInt)n;
	while (z->avail_in) {
		if (x->zstate == Z_END) {
			if (!gzip) {
				snprintf(x->zerr, sizeof x->zerr, "data after the end of the deflate stream");
				return 0;
			}
			inflateReset(z);
			x->zstate = Z_RUN;
		}
		z->next_out = out;
		z->avail_out = sizeof out;
		int rc = inflate(z, Z_NO_FLUSH);
		if (rc == Z_STREAM_END)
			x->zstate = Z_END;
		else if (rc != Z_OK && !(rc == Z_BUF_ERROR && z->avail_out)) {
			snprintf(x->zerr, sizeof x->zerr, "%s data: %s", gzip ? "gzip" : "deflate",
				 z->msg ? z->msg : "broken stream");
			return 0;
		}
		size_t got = sizeof out - z->avail_out;
		if (got && body(x, (const char *)out, got) != got)
			return 0;
	}
	return 1;
}

static size_t on_body(char *p, size_t size, size_t nmemb, void *ud)
{
	struct http_xfer *x = ud;
	size_t n = size * nmemb;
	if (x->mode == W_NONE) {
		curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &x->status);
		x->mode = x->status / 100 == 2 ? (type_ok(x) ? W_OUT : W_BADTYPE) :
			  x->status == 500 && (x->soap || xml_type(x->curl)) ? W_SNIFF : W_ERR;
		x->zstate = x->decode ? zstart(x, (unsigned char *)p, n) : Z_OFF;
	}
	if (x->zstate == Z_OFF || x->zstate == Z_BAD)	/* Z_BAD: an error body, kept raw */
		return body(x, p, n);
	if (x->zstate != Z_UNASKED && inflate_body(x, p, n, x->zgzip))
		return n;
	if (x->mode != W_ERR) {
		x->zstate = x->zstate == Z_UNASKED ? Z_UNASKED : Z_BAD;
		return 0;
	}
	x->zstate = Z_BAD;	/* an error body is only shown: the rest as it comes */
	return body(x, p, n);
}

/* The status line's reason phrase, for messages (HTTP/2 has none). */
static size_t on_header(char *p, size_t size, size_t nmemb, void *ud)
{
	struct http_xfer *x = ud;
	size_t n = size * nmemb;
	if (n > 5 && memcmp(p, "HTTP/", 5) == 0) {
		const char *r = memchr(p, ' ', n);
		r = r ? memchr(r + 1, ' ', n - (size_t)(r + 1 - p)) : NULL;
		size_t k = r ? n - (size_t)(r + 1 - p) : 0;
		while (k && (r[k] == '\r' || r[k] == '\n'))
			k--;
		snprintf(x->reason, sizeof x->reason, "%.*s", (int)k, r ? r + 1 : "");
	}
	return n;
}

static int on_debug(CURL *h, curl_infotype t, char *p, size_t n, void *ud)
{
	static const char mark[] = { [CURLINFO_TEXT] = '*', [CURLINFO_HEADER_IN] = '<',
				     [CURLINFO_HEADER_OUT] = '>' };
	static struct buf b;
	if (t > CURLINFO_HEADER_OUT)
		return 0;
	for (const char *e = p + n, *l = p, *nl; l < e; l = nl) {
		nl = memchr(l, '\n', (size_t)(e - l));
		nl = nl ? nl + 1 : e;
		buf_reset(&b);
		buf_addc(&b, mark[t]);
		buf_addc(&b, ' ');
		redact_line(&b, l, (size_t)(nl - l));
		while (b.len > 2 && (b.p[b.len - 1] == '\n' || b.p[b.len - 1] == '\r'))
			b.len--;
		if (b.len > 2 || t != CURLINFO_HEADER_OUT)
			fprintf(stderr, "%.*s\n", (int)b.len, b.p);
	}
	return 0;
}

int http_client_gone(void)
{
	struct pollfd w = { .fd = http_watch_fd, .events = POLLIN };
	return http_watch_fd >= 0 && poll(&w, 1, 0) == 1;	/* hung up (or broke the protocol) */
}

/* libcurl calls this often while data flows and about once a second when none does. */
static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ult, curl_off_t ulnow)
{
	struct http_xfer *x = ud;
	double t = clock_now();
	if (http_client_gone())
		return 1;	/* nobody waits */
	if (dlnow != x->seen) {
		x->seen = dlnow;
		x->seen_at = t;
	} else if (x->stall_time > 0 && t - x->seen_at >= x->stall_time) {
		x->stalled = 1;
		return 1;
	}
	if (!x->progress || (t - x->shown_at < 0.5 && !(dltotal && dlnow == dltotal)))
		return 0;
	curl_off_t us = 0;
	curl_easy_getinfo(x->curl, CURLINFO_TOTAL_TIME_T, &us);
	double secs = (double)us / 1e6, mib = (double)dlnow / 1048576;
	x->shown_at = t;
	fprintf(stderr, "\r%s: %.1f MiB", program_invocation_short_name, mib);
	if (dltotal)
		fprintf(stderr, " of %.1f MiB", (double)dltotal / 1048576);
	fprintf(stderr, ", %.1f MiB/s   ", secs > 0 ? mib / secs : 0.0);
	return 0;
}

void http_init(struct http_xfer *x)
{
	CURL *h = x->curl;
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, x->errbuf);
	if (x->progress || x->stall_time > 0 || http_watch_fd >= 0) {
		curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
		curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
		curl_easy_setopt(h, CURLOPT_XFERINFODATA, x);
	}
}

int http_wait(double s)
{
	if (http_watch_fd < 0) {
		sleep_secs(s);
		return 0;
	}
	/* A keeper's worker, whose client killed alone would have taken its retry with it:
	 * a retry made for nobody is a request after the run (after a logout) and holds the
	 * worker for the pages waiting behind it. */
	for (double end = clock_now() + s, left = s; left > 0; left = end - clock_now()) {
		struct pollfd w = { .fd = http_watch_fd, .events = POLLIN };
		int ms = left > 60 ? 60000 : (int)(left * 1000) + 1;
		if (poll(&w, 1, ms) == 1)
			return 1;
	}
	return 0;
}

void *http_handle(void)
{
	if (!http_keep_handle)
		return curl_easy_init();
	if (kept)
		curl_easy_reset(kept);	/* options go; connections, DNS, TLS sessions stay */
	else
		kept = curl_easy_init();
	return kept;
}

void http_release(void *curl)
{
	if (curl != kept)
		curl_easy_cleanup(curl);
}

void http_free(struct http_xfer *x)
{
	buf_free(&x->sniff);
	buf_free(&x->errbody);
	if (x->z) {
		inflateEnd(x->z);
		free(x->z);
	}
	memset(x, 0, sizeof *x);
}

void http_trace(void *curl)
{
	curl_easy_setopt(curl, CURLOPT_VERBOSE, 1L);
	curl_easy_setopt(curl, CURLOPT_DEBUGFUNCTION, on_debug);
}

static int temporary(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_CONNECT: case CURLE_OPERATION_TIMEDOUT: case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR: case CURLE_GOT_NOTHING: case CURLE_PARTIAL_FILE:
	case CURLE_HTTP2: case CURLE_HTTP2_STREAM: case CURLE_HTTP3: case CURLE_QUIC_CONNECT_ERROR:
	case CURLE_WEIRD_SERVER_REPLY: case CURLE_BAD_CONTENT_ENCODING: case CURLE_PROXY:
	case CURLE_AGAIN:
		return 1;
	default:
		return 0;
	}
}

/* Bytes as one printable line: control characters and runs of white space become one
 * space, invalid UTF-8 becomes '?'. */
static void add_excerpt(struct buf *m, const char *p, size_t n)
{
	size_t start = m->len;
	const unsigned char *s = (const unsigned char *)p, *e = s + n;
	while (s < e) {
		size_t k = *s < 0x80 ? 1 : utf8_seqlen(s, (size_t)(e - s));
		if (*s <= 0x20 || *s == 0x7f) {
			if (m->len > start && m->p[m->len - 1] != ' ')
				buf_addc(m, ' ');
		} else if (k) {
			buf_add(m, s, k);
		} else {
			buf_addc(m, '?');
		}
		s += k ? k : 1;
	}
	while (m->len > start && m->p[m->len - 1] == ' ')
		m->len--;
}

/* For an HTTP error: status, the API's error headers (X-Diadoc-ErrorCode…), the body's start. */
static void http_error(struct http_xfer *x, struct buf *m)
{
	buf_addf(m, "HTTP %ld%s%s", x->status, x->reason[0] ? " " : "", x->reason);
	for (struct curl_header *hd = NULL; (hd = curl_easy_nextheader(x->curl, CURLH_HEADER, -1, hd));)
		if (strcasestr(hd->name, "error"))
			buf_addf(m, "; %s: %s", hd->name, hd->value);
	if (!x->errbody.len)
		return;
	buf_adds(m, "; body: ");
	add_excerpt(m, x->errbody.p, x->errbody.len);
	if (x->drained > x->errbody.len)
		buf_adds(m, " [...]");
}

/* A 2xx of a type --expect-type does not allow: its type and first bytes, escaped. */
static void type_error(struct http_xfer *x, struct buf *m)
{
	char *ct = NULL;
	curl_easy_getinfo(x->curl, CURLINFO_CONTENT_TYPE, &ct);
	buf_addf(m, "HTTP %ld with Content-Type ", x->status);
	if (ct)
		add_excerpt(m, ct, strlen(ct) < 100 ? strlen(ct) : 100);
	else
		buf_adds(m, "(none)");
	buf_adds(m, ", expected");
	for (size_t i = 0; i < x->nexpect; i++)
		buf_addf(m, "%s %s%s", i ? "," : "", *x->expect[i] == '!' ? "not " : "",
			 x->expect[i] + (*x->expect[i] == '!'));
	buf_addf(m, "; first bytes: \"");
	size_t n = x->errbody.len < TYPEBODY_MAX ? x->errbody.len : TYPEBODY_MAX;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)x->errbody.p[i];
		if (c == '\n')
			buf_adds(m, "\\n");
		else if (c == '\r')
			buf_adds(m, "\\r");
		else if (c == '\t')
			buf_adds(m, "\\t");
		else if (c == '"' || c == '\\')
			buf_addf(m, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			buf_addf(m, "\\x%02x", c);
		else
			buf_addc(m, (char)c);
	}
	buf_adds(m, x->errbody.len > n || x->drained > n ? "\"..." : "\"");
}

/* A proxy that refused the CONNECT of an https URL: libcurl reports a receive error, but
 * the proxy's status says what happened (407: its credentials are missing or wrong). */
static int proxy_refused(struct http_xfer *x, long code, int *retryable, struct buf *m)
{
	buf_addf(m, "proxy: CONNECT answered HTTP %ld%s%s", code, x->reason[0] ? " " : "", x->reason);
	*retryable = code == 408 || code == 429 || code / 100 == 5;
	return *retryable ? EXIT_TEMPFAIL : EXIT_PERMFAIL;
}

/* The exit status of the attempt, its error line in m, and whether a retry may help. */
static int outcome(struct http_xfer *x, CURLcode rc, int *retryable, struct buf *m)
{
	*retryable = 0;
	curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &x->status);
	if (x->werr)
		return EXIT_IOERR;
	if (x->status / 100 == 2 && (x->mode == W_BADTYPE || (x->mode == W_NONE && !type_ok(x)))) {
		x->badtype = 1;		/* a permanent answer: the same request gets the same */
		type_error(x, m);
		return EXIT_PERMFAIL;
	}
	if (x->mode == W_SNIFF)		/* a short 500 without a Fault */
		keep_errbody(x, x->sniff.p, x->sniff.len);
	if (x->mode == W_OUT && rc == CURLE_OK && x->zstate == Z_RUN)
		snprintf(x->zerr, sizeof x->zerr, "the %s stream stops before its end (a short transfer)",
			 x->zgzip ? "gzip" : "deflate");
	if (x->mode == W_OUT && (x->zstate == Z_BAD || x->zstate == Z_UNASKED ||
				 (rc == CURLE_OK && x->zstate == Z_RUN))) {
		buf_adds(m, x->zerr);	/* as libcurl's bad content encoding: worth a retry */
		if (x->zstate == Z_UNASKED)
			return EXIT_PERMFAIL;
		*retryable = 1;
		return EXIT_TEMPFAIL;
	}
	if (rc == CURLE_OK && (x->status / 100 == 2 || x->fault))
		return EXIT_OK;
	long connect_code = 0;
	curl_easy_getinfo(x->curl, CURLINFO_HTTP_CONNECTCODE, &connect_code);
	if (rc != CURLE_OK && x->status == 0 && connect_code >= 300)
		return proxy_refused(x, connect_code, retryable, m);
	int http = x->status >= 300 && x->mode != W_OUT;
	if (http)
		http_error(x, m);
	if (x->stalled) {
		snprintf(x->errbuf, sizeof x->errbuf, "stalled: no data for %g s", x->stall_time);
		rc = CURLE_OPERATION_TIMEDOUT;
	}
	if (rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && x->drained > DRAIN_MAX)) {
		buf_adds(m, http ? " (" : "");
		buf_adds(m, x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc));
		buf_adds(m, http ? ")" : "");
		if (!http) {
			*retryable = temporary(rc);
			return *retryable ? EXIT_TEMPFAIL : EXIT_PERMFAIL;
		}
	}
	if (x->status == 408 || x->status == 429 || x->status / 100 == 5) {
		*retryable = 1;
		return EXIT_TEMPFAIL;
	}
	return EXIT_PERMFAIL;
}

int http_perform(struct http_xfer *x, int *retryable, struct buf *m)
{
	x->status = 0;
	x->mode = W_NONE;
	buf_reset(&x->sniff);
	buf_reset(&x->errbody);
	x->drained = 0;
	x->werr = x->fault = x->stalled = x->badtype = 0;
	x->zstate = Z_OFF;
	x->zerr[0] = 0;
	x->written = x->seen = 0;
	x->seen_at = clock_now();
	x->shown_at = 0;
	x->reason[0] = x->errbuf[0] = 0;
	CURLcode rc = curl_easy_perform(x->curl);
	if (x->shown_at > 0)
		fputc('\n', stderr);
	return outcome(x, rc, retryable, m);
}

/* A Retry-After value (delta-seconds or an HTTP-date) as seconds from now, or -1. */
double retry_after_secs(const char *v, time_t now)
{
	while (*v == ' ' || *v == '\t')
		v++;
	if (*v >= '0' && *v <= '9') {
		char *end;
		double s = strtod(v, &end);
		return *end && !strchr(" \t\r\n", *end) ? -1 : s;
	}
	time_t t = curl_getdate(v, NULL);
	if (t == -1)
		return -1;
	return t > now ? (double)(t - now) : 0;
}

double http_retry_after(struct http_xfer *x)
{
	struct curl_header *hd;
	if (curl_easy_header(x->curl, "Retry-After", 0, CURLH_HEADER, -1, &hd) != CURLHE_OK)
		return -1;
	return retry_after_secs(hd->value, time(NULL));
}
