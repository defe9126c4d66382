/*
 * redact.c — keeps secrets out of messages. Header lines (and libcurl's verbose
 * text, which repeats HTTP/2 headers as "[name: value]") lose the values of
 * Authorization, Proxy-Authorization, Cookie, Set-Cookie and of any header the
 * program declared secret (fetch-page: those from a file or the environment); URLs
 * (also inside such lines, and a request line's target) lose their userinfo, their
 * fragment, and the values of query parameters whose names look like credentials
 * (token, key, secret, password, signature, session, auth…).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "pagepull.h"

static const char *const secret_headers[] = {
	"proxy-authorization", "authorization", "set-cookie", "cookie", NULL
};
static char **extra;		/* more, from redact_add_header */
static size_t nextra;

/* Substrings of query parameter names whose values are never shown. */
static const char *const secret_params[] = {
	"token", "key", "secret", "pass", "pwd", "auth", "sig", "session", "cred", NULL
};

void redact_add_header(const char *name, size_t n)
{
	if (redact_is_secret_header(name, n))
		return;
	extra = xrealloc(extra, (nextra + 1) * sizeof *extra);
	extra[nextra++] = xstrndup(name, n);
}

void redact_reset(void)
{
	while (nextra)
		free(extra[--nextra]);
}

/* The i-th secret header name, or NULL past the last. */
static const char *secret_name(size_t i)
{
	size_t k = sizeof secret_headers / sizeof *secret_headers - 1;
	return i < k ? secret_headers[i] : i - k < nextra ? extra[i - k] : NULL;
}

int redact_is_secret_header(const char *name, size_t n)
{
	const char *h;
	for (size_t i = 0; (h = secret_name(i)); i++)
		if (strlen(h) == n && strncasecmp(name, h, n) == 0)
			return 1;
	return 0;
}

static int name_char(unsigned char c)
{
	return isalnum(c) || c == '-' || c == '_';
}

/* Length of the secret header name (and its ':') at s, or 0. */
static size_t secret_at(const char *s, const char *end)
{
	const char *h;
	for (size_t i = 0; (h = secret_name(i)); i++) {
		size_t n = strlen(h);
		if ((size_t)(end - s) > n && strncasecmp(s, h, n) == 0 && s[n] == ':')
			return n + 1;
	}
	return 0;
}

/* A URL at p (http:// or https://): its length, or 0. */
static size_t url_at(const char *p, const char *end)
{
	size_t k = (size_t)(end - p) > 8 && strncasecmp(p, "https://", 8) == 0 ? 8 :
		   (size_t)(end - p) > 7 && strncasecmp(p, "http://", 7) == 0 ? 7 : 0;
	if (!k)
		return 0;
	while (p + k < end && !isspace((unsigned char)p[k]) && !strchr("'\"<>[]", p[k]))
		k++;
	return k;
}

static void add_url(struct buf *b, const char *u, size_t n)
{
	char *s = xstrndup(u, n), *r = redact_url(s);
	buf_adds(b, r);
	free(r);
	free(s);
}

/* "METHOD TARGET HTTP/…": the length of "METHOD ", or 0. */
static size_t request_line(const char *s, const char *end)
{
	const char *p = s;
	while (p < end && *p >= 'A' && *p <= 'Z')
		p++;
	if (p == s || p == end || *p != ' ')
		return 0;
	const char *t = memchr(p + 1, ' ', (size_t)(end - p - 1));
	return t && end - t > 6 && memcmp(t + 1, "HTTP/", 5) == 0 ? (size_t)(p + 1 - s) : 0;
}

void redact_line(struct buf *b, const char *s, size_t n)
{
	const char *end = s + n, *p = s;
	size_t k = request_line(s, end);
	if (k) {
		const char *t = memchr(s + k, ' ', n - k);
		buf_add(b, s, k);
		add_url(b, s + k, (size_t)(t - s - k));
		p = t;
	} else if (n > 9 && strncasecmp(s, "location:", 9) == 0) {
		buf_add(b, s, 9);
		for (p = s + 9; p < end && (*p == ' ' || *p == '\t'); p++)
			buf_addc(b, *p);
		for (k = 0; p + k < end && !isspace((unsigned char)p[k]); k++)
			;
		add_url(b, p, k);
		p += k;
	}
	while (p < end) {
		int boundary = p == s || !name_char((unsigned char)p[-1]);
		if (boundary && (k = url_at(p, end))) {
			add_url(b, p, k);
			p += k;
			continue;
		}
		if (!boundary || !(k = secret_at(p, end))) {
			buf_addc(b, *p++);
			continue;
		}
		const char *name = p, *v = p + k;
		buf_add(b, p, k);
		p = v;
		while (v < end && *v != '\r' && *v != '\n')
			v++;
		/* "[authorization: …]" in libcurl's HTTP/2 lines keeps its bracket */
		int bracket = name > s && name[-1] == '[' && v > p && v[-1] == ']';
		buf_adds(b, " [redacted]");
		if (bracket)
			buf_addc(b, ']');
		p = v;
	}
}

static int secret_param(const char *name, size_t n)
{
	for (const char *const *w = secret_params; *w; w++) {
		size_t k = strlen(*w);
		for (size_t i = 0; i + k <= n; i++)
			if (strncasecmp(name + i, *w, k) == 0)
				return 1;
	}
	return 0;
}

static void redact_query(struct buf *b, const char *q, const char *end)
{
	while (q < end) {
		const char *amp = memchr(q, '&', (size_t)(end - q));
		const char *stop = amp ? amp : end;
		const char *eq = memchr(q, '=', (size_t)(stop - q));
		if (eq && secret_param(q, (size_t)(eq - q))) {
			buf_add(b, q, (size_t)(eq - q));
			buf_adds(b, "=REDACTED");
		} else {
			buf_add(b, q, (size_t)(stop - q));
		}
		if (amp)
			buf_addc(b, '&');
		q = amp ? amp + 1 : end;
	}
}

char *redact_url(const char *url)
{
	struct buf b = { 0 };
	const char *p = strstr(url, "://");
	const char *auth = p ? p + 3 : url;
	size_t alen = strcspn(auth, "/?#");
	const char *at = NULL;
	for (const char *c = auth; c < auth + alen; c++)
		if (*c == '@')
			at = c;
	buf_add(&b, url, (size_t)(auth - url));
	if (at) {
		alen -= (size_t)(at + 1 - auth);
		auth = at + 1;
	}
	buf_add(&b, auth, alen);
	const char *rest = auth + alen, *frag = rest + strcspn(rest, "#");
	const char *q = memchr(rest, '?', (size_t)(frag - rest));
	buf_add(&b, rest, (size_t)((q ? q : frag) - rest));
	if (q) {
		buf_addc(&b, '?');
		redact_query(&b, q + 1, frag);
	}
	buf_str(&b);
	return b.p;
}
