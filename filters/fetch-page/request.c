/*
 * fetch-page's request (part of the exchange, filters/fetch-page.c): the options that add
 * headers (-H, --header-env, --expand-header), the body (--data, --form) and the query, then
 * derive(), which makes struct request of them all: the URL with the query, the body, the
 * SOAP and Expect headers, the credentials from the environment. A bad value is a usage error.
 */
#include <err.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "fetch-page.h"

struct request req;

static int has_header(const struct curl_slist *list, const char *name)
{
	size_t n = strlen(name);
	for (const struct curl_slist *l = list; l; l = l->next)
		if (strncasecmp(l->data, name, n) == 0 && (l->data[n] == ':' || l->data[n] == ';'))
			return 1;
	return 0;
}

static void append_header(struct curl_slist **list, const char *line)
{
	struct curl_slist *l = curl_slist_append(*list, line);
	if (!l)
		errx(EXIT_IOERR, "out of memory");
	*list = l;
}

/* secret: the header came from a file or the environment, so its value stays out of -v. */
static void add_header(struct curl_slist **list, const char *h, size_t n, int secret)
{
	if (n == 0 || memchr(h, '\r', n) || memchr(h, '\n', n) ||
	    (!memchr(h, ':', n) && h[n - 1] != ';'))
		bad("--header", "not a 'Name: value' header");
	size_t k = 0;
	while (k < n && h[k] != ':' && h[k] != ';')
		k++;
	if (secret)
		redact_add_header(h, k);
	char *s = xstrndup(h, n);
	append_header(list, s);
	free(s);
}

/* -H 'Name: value' or -H @FILE (one header a line; blank lines skipped). A secret
 * given on the command line anyway is blanked in argv, as curl does with -u. */
void opt_header(char *arg)
{
	if (arg[0] != '@') {
		add_header(&fetch_opts.headers, arg, strlen(arg), 0);
		size_t k = strcspn(arg, ":");
		if (arg[k] && redact_is_secret_header(arg, k))
			memset(arg + k + 1, ' ', strlen(arg + k + 1));
		return;
	}
	FILE *f = open_input(arg + 1);
	struct linereader lr = { .f = f };
	ssize_t n;
	while ((n = line_read(&lr)) != -1) {
		while (n > 0 && lr.line[n - 1] == '\r')
			n--;
		if (n > 0)
			add_header(&fetch_opts.headers, lr.line, (size_t)n, 1);
	}
	if (ferror(f))
		err(EXIT_USAGE, "%s", arg + 1);
	free(lr.line);
	if (f != stdin)
		fclose(f);
}

static const char *env_value(const char *opt, const char *var)
{
	const char *v = getenv(var);
	if (!v || !*v) {
		warnx("%s: environment variable %s is not set", opt, var);
		exit(EXIT_USAGE);
	}
	return v;
}

void opt_header_env(const char *arg)
{
	const char *eq = strchr(arg, '=');
	if (!eq || eq == arg || !eq[1])
		bad("--header-env", "expected NAME=VARIABLE");
	struct buf h = { 0 };
	buf_add(&h, arg, (size_t)(eq - arg));
	buf_adds(&h, ": ");
	buf_adds(&h, env_value("--header-env", eq + 1));
	buf_addf(&fetch_opts.header_env_vars, "%s%s", fetch_opts.header_env_vars.len ? ", " : "", eq + 1);
	add_header(&fetch_opts.headers, h.p, h.len, 1);
	explicit_bzero(h.p, h.len);
	buf_free(&h);
}

void opt_data(const char *arg)
{
	if (fetch_opts.has_data++)
		bad("--data", "only one request body");
	if (arg[0] != '@') {
		buf_adds(&fetch_opts.data, arg);
		return;
	}
	FILE *f = open_input(arg + 1);
	if (buf_read(&fetch_opts.data, f, SIZE_MAX) == -1)
		err(EXIT_USAGE, "%s", arg + 1);
	if (f != stdin)
		fclose(f);
}

/* NAME=VALUE, URL-encoded, joined with '&' into b. */
void add_pair(struct buf *b, const char *opt, const char *arg)
{
	const char *eq = strchr(arg, '=');
	if (!eq || eq == arg)
		bad(opt, "expected NAME=VALUE");
	char *n = curl_easy_escape(NULL, arg, (int)(eq - arg));
	char *v = curl_easy_escape(NULL, eq + 1, 0);
	if (!n || !v)
		errx(EXIT_IOERR, "out of memory");
	buf_addf(b, "%s%s=%s", b->len ? "&" : "", n, v);
	curl_free(n);
	curl_free(v);
}

void opt_expand_header(const char *arg)
{
	struct buf b = { 0 };
	expand("--expand-header", arg, &b);
	/* A header that took a variable's content may carry a secret: kept out of -v. */
	add_header(&fetch_opts.headers, b.p, b.len, strcmp(b.p, arg) != 0);
	explicit_bzero(b.p, b.len);
	buf_free(&b);
}

/* The URL operand with the --query pairs added. */
static void make_url(const char *arg, struct buf *query)
{
	CURLU *u = curl_url();
	char *scheme = NULL;
	int ok = u && curl_url_set(u, CURLUPART_URL, arg, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
	    (strcmp(scheme, "http") == 0 || strcmp(scheme, "https") == 0);
	curl_free(scheme);
	if (!ok) {
		curl_url_cleanup(u);	/* freed before exiting, so leak checkers stay quiet */
		bad(redact_url(arg), "not an http or https URL");
	}
	if (query->len) {
		char *s = NULL;
		if (curl_url_set(u, CURLUPART_QUERY, buf_str(query), CURLU_APPENDQUERY) != CURLUE_OK ||
		    curl_url_get(u, CURLUPART_URL, &s, 0) != CURLUE_OK)
			bad("--query", "cannot be added to the URL");
		req.url = xstrdup(s);
		curl_free(s);
	} else {
		req.url = xstrdup(arg);
	}
	curl_url_cleanup(u);
	req.shown_url = redact_url(req.url);
}

/* A variable named by --user-env or --proxy-user-env: it must hold user:password. */
static const char *credentials(const char *opt, const char *var)
{
	const char *v = env_value(opt, var);
	if (!strchr(v, ':'))
		bad(opt, "the variable must hold user:password");
	return v;
}

/* The request that the options make together: its URL, its body (--form or --data), the
 * headers that --soap-action implies and an empty Expect (no 100-continue round trip for
 * bodies over 1 MiB) unless given, and the credentials. */
void derive(void)
{
	static const char soap_type[] = "Content-Type: text/xml; charset=utf-8";
	static const char no_expect[] = "Expect:";
	make_url(fetch_opts.url, &fetch_opts.query);
	if (fetch_opts.form.len) {
		if (fetch_opts.has_data)
			bad("--form", "cannot be combined with --data");
		req.body = &fetch_opts.form;
	} else if (fetch_opts.has_data) {
		req.body = &fetch_opts.data;
	}
	for (const struct curl_slist *l = fetch_opts.headers; l; l = l->next)
		append_header(&req.headers, l->data);
	if (fetch_opts.soap_action) {
		if (!req.body)
			bad("--soap-action", "needs a request body (--data)");
		if (!has_header(req.headers, "Content-Type"))
			add_header(&req.headers, soap_type, sizeof soap_type - 1, 0);
		struct buf h = { 0 };
		buf_addf(&h, "SOAPAction: %s", fetch_opts.soap_action);
		if (!has_header(req.headers, "SOAPAction"))
			add_header(&req.headers, h.p, h.len, 0);
		buf_free(&h);
	}
	if (!has_header(req.headers, "Expect"))
		add_header(&req.headers, no_expect, sizeof no_expect - 1, 0);
	buf_adds(&req.cred_vars, fetch_opts.header_env_vars.len ? buf_str(&fetch_opts.header_env_vars) : "");
	if (fetch_opts.user_env) {
		req.user = credentials("--user-env", fetch_opts.user_env);
		buf_addf(&req.cred_vars, "%s%s", req.cred_vars.len ? ", " : "", fetch_opts.user_env);
	}
	if (fetch_opts.proxy_user_env)
		req.proxy_user = credentials("--proxy-user-env", fetch_opts.proxy_user_env);
}
