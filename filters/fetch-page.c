/*
 * fetch-page — one HTTP exchange over libcurl: the request from the command line
 * (secrets from files, the environment or .netrc, never from argv), the response
 * body streamed to stdout (or atomically to -o FILE), and the exit status by
 * failure class: 2xx → 0; 408, 429, 5xx, timeouts, refused and reset connections
 * → retried with backoff, then 75; other 4xx, TLS, DNS → 69. A 500 whose XML body
 * is a SOAP Fault is an answer: body to stdout, exit 0. Retries happen only while
 * no body byte has reached stdout. Memory stays flat: the body is never held.
 */
#include <ctype.h>
#include <curl/curl.h>
#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include "pagepull.h"

/* The command line as given: parse_args fills it and nothing else does. Files named with
 * @FILE and --header-env's variables are read as they come (so the first bad one is the one
 * named); what follows from several options together is derive()'s. */
struct options {
	long httpauth;		/* --basic, --ntlm, --negotiate, --anyauth (0: Basic) */
	const char *proxy, *noproxy;	/* --proxy, --noproxy; else libcurl reads the environment */
	const char *user_env, *proxy_user_env;	/* the variables that hold user:password */
	const char *method, *agent, *cacert, *netrc_file, *out_path, *meta_path, *soap_action;
	double max_time, connect_timeout, retry_delay, retry_max_time, max_retry_after, stall_time;
	long retry;
	int location, netrc, compressed, insecure, soap, silent, progress, verbose;
	struct curl_slist *headers;	/* -H, --header-env, --expand-header, in order */
	const char **meta_headers;
	size_t nmeta;
	const char **expect;	/* --expect-type */
	size_t nexpect;
	struct buf data, form, query;	/* --data (or its file), --form and --query pairs */
	int has_data, stdin_used;
	const char *url;	/* the URL operand, or --expand-url's expansion (url_owned) */
	char *url_owned;
	const char *auth_hint;	/* --auth-hint: what to check after a 401 or 403 */
	struct buf header_env_vars;	/* --header-env's variables, for the 401 hint */
};
#define OPTIONS_DEFAULT { .retry_delay = 1, .max_retry_after = 120 }
static struct options opts = OPTIONS_DEFAULT;

/* The request that follows from the options (derive(), as curl's config2setopts.c follows
 * from its config): the URL with the query, the body, the headers with SOAP's and Expect's,
 * the credentials from the environment. */
static struct request {
	char *url, *shown_url;	/* shown_url: for messages, without credentials */
	struct buf *body;	/* &opts.data, &opts.form, or NULL */
	struct curl_slist *headers;	/* the options' headers, then the derived ones */
	const char *user;	/* user:password, from --user-env */
	const char *proxy_user;	/* user:password for the proxy, from --proxy-user-env */
	struct buf cred_vars;	/* the variables the credentials came from, for the 401 hint */
} req;

int keeper_ca_use(CURL *h, const char *cacert);	/* filters/fetch-keeper.c */

static struct http_xfer xfer;	/* the exchange; xfer.out is stdout or the -o temporary */
static char *tmp_path;		/* the -o temporary, removed unless renamed */

static void __attribute__((noreturn)) usage(int status)
{
	fputs("usage: fetch-page [-kLnsv] [-A agent] [-d data] [-H header] [-m seconds] [-o file]\n"
	      "                  [-X method] [--anyauth] [--auth-hint text] [--basic] [--ntlm]\n"
	      "                  [--negotiate] [--cacert file] [--compressed]\n"
	      "                  [--connect-timeout seconds] [--expect-type type] [--form name=value]\n"
	      "                  [--header-env name=var] [--max-retry-after seconds]\n"
	      "                  [--meta-header name] [--meta-out file] [--netrc-file file] [--noproxy list]\n"
	      "                  [--no-keepalive] [--progress] [--proxy url] [--proxy-user-env var]\n"
	      "                  [--query name=value] [--retry n] [--retry-delay seconds]\n"
	      "                  [--retry-max-time seconds] [--soap] [--soap-action action]\n"
	      "                  [--stall-time seconds] [--user-env var] [--variable spec]\n"
	      "                  [--expand-data data] [--expand-header header] [--expand-query name=value]\n"
	      "                  URL | --expand-url URL\n", status ? stderr : stdout);
	exit(status);
}

static void bad(const char *opt, const char *what)
{
	warnx("%s: %s", opt, what);
	usage(EXIT_USAGE);
}

static double parse_secs(const char *opt, const char *s)
{
	double v;
	if (arg_secs(s, 1e7, &v))
		bad(opt, "not a number of seconds");
	return v;
}

static long parse_count(const char *opt, const char *s, long max)
{
	long long v;
	if (arg_num(s, 0, max, &v))
		bad(opt, "not a valid count");
	return (long)v;
}

static FILE *open_input(const char *name)
{
	if (strcmp(name, "-") == 0) {
		if (opts.stdin_used++)
			bad("@-", "standard input can be read only once");
		return stdin;
	}
	FILE *f = fopen(name, "rb");
	if (!f)
		err(EXIT_USAGE, "%s", name);
	return f;
}

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
static void opt_header(char *arg)
{
	if (arg[0] != '@') {
		add_header(&opts.headers, arg, strlen(arg), 0);
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
			add_header(&opts.headers, lr.line, (size_t)n, 1);
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

static void opt_header_env(const char *arg)
{
	const char *eq = strchr(arg, '=');
	if (!eq || eq == arg || !eq[1])
		bad("--header-env", "expected NAME=VARIABLE");
	struct buf h = { 0 };
	buf_add(&h, arg, (size_t)(eq - arg));
	buf_adds(&h, ": ");
	buf_adds(&h, env_value("--header-env", eq + 1));
	buf_addf(&opts.header_env_vars, "%s%s", opts.header_env_vars.len ? ", " : "", eq + 1);
	add_header(&opts.headers, h.p, h.len, 1);
	explicit_bzero(h.p, h.len);
	buf_free(&h);
}

static void opt_data(const char *arg)
{
	if (opts.has_data++)
		bad("--data", "only one request body");
	if (arg[0] != '@') {
		buf_adds(&opts.data, arg);
		return;
	}
	FILE *f = open_input(arg + 1);
	if (buf_read(&opts.data, f, SIZE_MAX) == -1)
		err(EXIT_USAGE, "%s", arg + 1);
	if (f != stdin)
		fclose(f);
}

/* NAME=VALUE, URL-encoded, joined with '&' into b. */
static void add_pair(struct buf *b, const char *opt, const char *arg)
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

/* --expect-type TYPE[,TYPE]...: media ranges, each checked now. */
static void opt_expect_type(const char *arg)
{
	for (const char *p = arg, *e; ; p = e + 1) {
		e = p + strcspn(p, ",");
		char *t = xstrndup(p, (size_t)(e - p));
		if (!http_expect_valid(t))
			bad("--expect-type", "not a media type (type/subtype, type/*, !type/subtype)");
		opts.expect = xrealloc(opts.expect, (opts.nexpect + 1) * sizeof *opts.expect);
		opts.expect[opts.nexpect++] = t;
		if (!*e)
			break;
	}
}

static void opt_variable(const char *arg)
{
	const char *why;
	if (var_set(arg, open_input, &why) == -1) {
		/* the name only: the rest of the argument could be a value */
		const char *name = arg + (arg[0] == '%');
		warnx("--variable: %.*s: %s", (int)strcspn(name, "=@"), name, why);
		usage(EXIT_USAGE);
	}
}

/* --expand-OPTION ARG: ARG with its {{variables}} expanded, in the buffer that the
 * handler of OPTION then takes. */
static const char *expand(const char *opt, const char *arg, struct buf *b)
{
	const char *why;
	if (var_expand(arg, b, &why) == -1)
		bad(opt, why);
	return buf_str(b);
}

static void opt_expand_header(const char *arg)
{
	struct buf b = { 0 };
	expand("--expand-header", arg, &b);
	/* A header that took a variable's content may carry a secret: kept out of -v. */
	add_header(&opts.headers, b.p, b.len, strcmp(b.p, arg) != 0);
	explicit_bzero(b.p, b.len);
	buf_free(&b);
}

/* Without --proxy, libcurl takes http_proxy, https_proxy, all_proxy and no_proxy from the
 * environment itself, as curl(1) does; nothing here may set CURLOPT_PROXY to "" (which
 * would turn that off). */
static void setup_proxy(CURL *h)
{
	if (opts.proxy)
		curl_easy_setopt(h, CURLOPT_PROXY, opts.proxy);
	if (opts.noproxy)
		curl_easy_setopt(h, CURLOPT_NOPROXY, opts.noproxy);
	if (req.proxy_user) {
		curl_easy_setopt(h, CURLOPT_PROXYUSERPWD, req.proxy_user);
		curl_easy_setopt(h, CURLOPT_PROXYAUTH, (long)CURLAUTH_BASIC);
	}
}

/* --proxy URL: a proxy URL that holds a user name or password is refused (it would sit in
 * argv, where ps shows it), and the message does not repeat it. */
static void opt_proxy(const char *arg)
{
	CURLU *u = curl_url();
	char *user = NULL;
	int bad_url = !u || curl_url_set(u, CURLUPART_URL, arg, CURLU_GUESS_SCHEME) != CURLUE_OK;
	int creds = !bad_url && curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK;
	curl_free(user);
	curl_url_cleanup(u);
	if (bad_url)
		bad("--proxy", "not a proxy URL");
	if (creds)
		bad("--proxy", "credentials in the URL would show in ps: use --proxy-user-env");
	opts.proxy = arg;
}

/* A proxy from --proxy or the variables libcurl reads (detect_proxy in curl-7_88_1's
 * lib/url.c), even an empty one. */
static int proxy_configured(void)
{
	static const char *const vars[] = { "http_proxy", "https_proxy", "HTTPS_PROXY", "all_proxy",
					    "ALL_PROXY" };
	for (size_t i = 0; i < sizeof vars / sizeof *vars; i++)
		if (getenv(vars[i]))
			return 1;
	return opts.proxy != NULL;
}

/* The CA: in a keeper, the run's store, loaded once for every page, when it is this
 * exchange's CA (fetch-keeper.c). Not with -k (nothing to load), -v (its trace shows
 * libcurl loading the CA, as alone) or a proxy (libcurl would give an HTTPS proxy's
 * connection the same SSL_CTX function, and so the server's store): libcurl loads it. */
static void setup_ca(CURL *h)
{
	if (!opts.insecure && !opts.verbose && !proxy_configured() && keeper_ca_use(h, opts.cacert))
		return;
	if (opts.cacert)
		curl_easy_setopt(h, CURLOPT_CAINFO, opts.cacert);
	if (opts.insecure) {
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	}
}

static void setup(CURL *h)
{
	curl_easy_setopt(h, CURLOPT_URL, req.url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_BUFFERSIZE, 256L * 1024);
	curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
	curl_easy_setopt(h, CURLOPT_USERAGENT, opts.agent ? opts.agent : "fetch-page/" PP_VERSION);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, req.headers);
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, (long)opts.location);
	curl_easy_setopt(h, CURLOPT_MAXREDIRS, 20L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)(opts.max_time * 1000));
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)(opts.connect_timeout * 1000));
	if (opts.compressed) {	/* inflated by http.c, which checks that the stream ends */
		curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "gzip, deflate");
		curl_easy_setopt(h, CURLOPT_HTTP_CONTENT_DECODING, 0L);
	}
	setup_ca(h);
	if (opts.netrc)
		curl_easy_setopt(h, CURLOPT_NETRC, (long)CURL_NETRC_REQUIRED);
	if (opts.netrc_file)
		curl_easy_setopt(h, CURLOPT_NETRC_FILE, opts.netrc_file);
	if (req.user)
		curl_easy_setopt(h, CURLOPT_USERPWD, req.user);
	else if (opts.httpauth & CURLAUTH_NEGOTIATE)
		curl_easy_setopt(h, CURLOPT_USERPWD, ":");	/* Kerberos: the caller's own ticket */
	/* Several methods: libcurl asks the server first and takes the safest it offers.
	 * NTLM and Negotiate authenticate the connection, which libcurl keeps alive. */
	curl_easy_setopt(h, CURLOPT_HTTPAUTH, opts.httpauth ? opts.httpauth : (long)CURLAUTH_BASIC);
	setup_proxy(h);
	if (req.body) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req.body->len);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, buf_str(req.body));
	}
	if (opts.method && strcmp(opts.method, "HEAD") == 0)
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	else if (opts.method)
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, opts.method);
	if (opts.verbose)
		http_trace(h);
	xfer.curl = h;
	xfer.soap = opts.soap;
	xfer.decode = opts.compressed;
	xfer.expect = opts.expect;
	xfer.nexpect = opts.nexpect;
	xfer.stall_time = opts.stall_time;
	xfer.progress = opts.progress && !opts.silent && isatty(2);
	http_init(&xfer);
}

/* The wait before retry number n: the server's Retry-After if it sent one, else backoff. */
static double retry_wait(unsigned n)
{
	double s = http_retry_after(&xfer);
	if (s < 0)
		s = backoff_delay(opts.retry_delay, n, opts.max_retry_after);
	return s < opts.max_retry_after ? s : opts.max_retry_after;
}

static double info_secs(CURLINFO what)
{
	curl_off_t us = 0;
	curl_easy_getinfo(xfer.curl, what, &us);
	return (double)us / 1e6;
}

static int write_meta(int code, long attempts, double waited, const char *error)
{
	struct buf b = { 0 };
	char *eff = NULL, *ct = NULL;
	long ver = 0;
	curl_easy_getinfo(xfer.curl, CURLINFO_EFFECTIVE_URL, &eff);
	curl_easy_getinfo(xfer.curl, CURLINFO_CONTENT_TYPE, &ct);
	curl_easy_getinfo(xfer.curl, CURLINFO_HTTP_VERSION, &ver);
	char *url = redact_url(eff ? eff : req.url);
	buf_adds(&b, "{\"url\":");
	json_cstr(&b, url);
	free(url);
	buf_addf(&b, ",\"status\":%ld,\"http_version\":%s,\"content_type\":", xfer.status,
		 ver == CURL_HTTP_VERSION_1_0 ? "\"1.0\"" : ver == CURL_HTTP_VERSION_1_1 ? "\"1.1\"" :
		 ver == CURL_HTTP_VERSION_2_0 ? "\"2\"" : ver == CURL_HTTP_VERSION_3 ? "\"3\"" : "null");
	if (ct)
		json_cstr(&b, ct);
	else
		buf_adds(&b, "null");
	buf_adds(&b, ",\"headers\":{");
	for (size_t i = 0, n = 0; i < opts.nmeta; i++) {
		struct curl_header *hd;
		const char *name = opts.meta_headers[i];
		if (curl_easy_header(xfer.curl, name, 0, CURLH_HEADER, -1, &hd) != CURLHE_OK)
			continue;
		buf_adds(&b, n++ ? "," : "");
		char *k = xstrdup(name);
		for (char *c = k; *c; c++)
			*c = (char)tolower((unsigned char)*c);
		json_key(&b, k, strlen(k));
		free(k);
		struct buf v = { 0 };
		for (size_t j = 0; j < hd->amount; j++) {
			curl_easy_header(xfer.curl, name, j, CURLH_HEADER, -1, &hd);
			buf_adds(&v, j ? ", " : "");
			buf_adds(&v, redact_is_secret_header(name, strlen(name)) ? "[redacted]" : hd->value);
		}
		json_str(&b, v.p ? v.p : "", v.len);
		buf_free(&v);
	}
	buf_addf(&b, "},\"bytes\":%jd,\"attempts\":%ld,\"retry_wait\":%.3f", (intmax_t)xfer.written,
		 attempts, waited);
	buf_addf(&b, ",\"time\":{\"namelookup\":%.6f,\"connect\":%.6f,\"tls\":%.6f,\"starttransfer\":%.6f,"
		 "\"total\":%.6f}", info_secs(CURLINFO_NAMELOOKUP_TIME_T), info_secs(CURLINFO_CONNECT_TIME_T),
		 info_secs(CURLINFO_APPCONNECT_TIME_T), info_secs(CURLINFO_STARTTRANSFER_TIME_T),
		 info_secs(CURLINFO_TOTAL_TIME_T));
	buf_addf(&b, ",\"exit\":%d", code);
	if (error) {
		buf_adds(&b, ",\"error\":");
		json_cstr(&b, error);
	}
	buf_adds(&b, "}\n");
	char *tmp;
	FILE *f = atomic_open(opts.meta_path, &tmp);
	fwrite(b.p, 1, b.len, f);
	buf_free(&b);
	return atomic_close(f, &tmp, opts.meta_path, 1);
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

enum { O_CACERT = 256, O_COMPRESSED, O_CONNECT_TIMEOUT, O_FORM, O_HEADER_ENV, O_MAX_RETRY_AFTER,
       O_META_HEADER, O_META_OUT, O_NETRC_FILE, O_PROGRESS, O_QUERY, O_RETRY, O_RETRY_DELAY,
       O_RETRY_MAX_TIME, O_SOAP, O_SOAP_ACTION, O_STALL_TIME, O_USER_ENV, O_VARIABLE,
       O_EXPAND_DATA, O_EXPAND_HEADER, O_EXPAND_QUERY, O_EXPAND_URL, O_HELP, O_VERSION,
       O_EXPECT_TYPE, O_NOPROXY, O_PROXY, O_PROXY_USER_ENV, O_AUTH_HINT, O_ANYAUTH, O_BASIC,
       O_NEGOTIATE, O_NTLM, O_NO_KEEPALIVE };

static const struct option longopts[] = {
	{ "user-agent", required_argument, 0, 'A' },
	{ "anyauth", no_argument, 0, O_ANYAUTH },
	{ "basic", no_argument, 0, O_BASIC },
	{ "negotiate", no_argument, 0, O_NEGOTIATE },
	{ "ntlm", no_argument, 0, O_NTLM },
	{ "data", required_argument, 0, 'd' },
	{ "header", required_argument, 0, 'H' },
	{ "insecure", no_argument, 0, 'k' },
	{ "location", no_argument, 0, 'L' },
	{ "max-time", required_argument, 0, 'm' },
	{ "netrc", no_argument, 0, 'n' },
	{ "output", required_argument, 0, 'o' },
	{ "silent", no_argument, 0, 's' },
	{ "verbose", no_argument, 0, 'v' },
	{ "request", required_argument, 0, 'X' },
	{ "auth-hint", required_argument, 0, O_AUTH_HINT },
	{ "cacert", required_argument, 0, O_CACERT },
	{ "compressed", no_argument, 0, O_COMPRESSED },
	{ "connect-timeout", required_argument, 0, O_CONNECT_TIMEOUT },
	{ "expect-type", required_argument, 0, O_EXPECT_TYPE },
	{ "form", required_argument, 0, O_FORM },
	{ "header-env", required_argument, 0, O_HEADER_ENV },
	{ "max-retry-after", required_argument, 0, O_MAX_RETRY_AFTER },
	{ "meta-header", required_argument, 0, O_META_HEADER },
	{ "meta-out", required_argument, 0, O_META_OUT },
	{ "netrc-file", required_argument, 0, O_NETRC_FILE },
	{ "noproxy", required_argument, 0, O_NOPROXY },
	{ "progress", no_argument, 0, O_PROGRESS },
	{ "proxy", required_argument, 0, O_PROXY },
	{ "proxy-user-env", required_argument, 0, O_PROXY_USER_ENV },
	{ "query", required_argument, 0, O_QUERY },
	{ "retry", required_argument, 0, O_RETRY },
	{ "retry-delay", required_argument, 0, O_RETRY_DELAY },
	{ "retry-max-time", required_argument, 0, O_RETRY_MAX_TIME },
	{ "soap", no_argument, 0, O_SOAP },
	{ "soap-action", required_argument, 0, O_SOAP_ACTION },
	{ "stall-time", required_argument, 0, O_STALL_TIME },
	{ "user-env", required_argument, 0, O_USER_ENV },
	{ "variable", required_argument, 0, O_VARIABLE },
	{ "expand-data", required_argument, 0, O_EXPAND_DATA },
	{ "expand-header", required_argument, 0, O_EXPAND_HEADER },
	{ "expand-query", required_argument, 0, O_EXPAND_QUERY },
	{ "expand-url", required_argument, 0, O_EXPAND_URL },
	{ "no-keepalive", no_argument, 0, O_NO_KEEPALIVE },
	{ "help", no_argument, 0, O_HELP },
	{ "version", no_argument, 0, O_VERSION },
	{ 0, 0, 0, 0 }
};

/* The command line into opts; derive() then makes the request of it. */
static void parse_args(int argc, char **argv)
{
	struct buf expansion = { 0 };
	int c;
	while ((c = getopt_long(argc, argv, "A:d:hH:kLm:no:svX:", longopts, NULL)) != -1) {
		switch (c) {
		case 'A': opts.agent = optarg; break;
		case 'd': opt_data(optarg); break;
		case 'h': usage(EXIT_OK); break;
		case 'H': opt_header(optarg); break;
		case 'k': opts.insecure = 1; break;
		case 'L': opts.location = 1; break;
		case 'm': opts.max_time = parse_secs("--max-time", optarg); break;
		case 'n': opts.netrc = 1; break;
		case 'o': opts.out_path = optarg; break;
		case 's': opts.silent = 1; break;
		case 'v': opts.verbose = 1; break;
		case 'X': opts.method = optarg; break;
		case O_ANYAUTH: opts.httpauth = (long)CURLAUTH_ANY; break;
		case O_AUTH_HINT: opts.auth_hint = optarg; break;
		case O_BASIC: opts.httpauth |= (long)CURLAUTH_BASIC; break;
		case O_CACERT: opts.cacert = optarg; break;
		case O_COMPRESSED: opts.compressed = 1; break;
		case O_CONNECT_TIMEOUT: opts.connect_timeout = parse_secs("--connect-timeout", optarg); break;
		case O_EXPECT_TYPE: opt_expect_type(optarg); break;
		case O_FORM: add_pair(&opts.form, "--form", optarg); break;
		case O_HEADER_ENV: opt_header_env(optarg); break;
		case O_MAX_RETRY_AFTER: opts.max_retry_after = parse_secs("--max-retry-after", optarg); break;
		case O_META_HEADER:
			opts.meta_headers = xrealloc(opts.meta_headers, (opts.nmeta + 1) * sizeof *opts.meta_headers);
			opts.meta_headers[opts.nmeta++] = optarg;
			break;
		case O_META_OUT: opts.meta_path = optarg; break;
		case O_NETRC_FILE: opts.netrc_file = optarg; opts.netrc = 1; break;
		case O_NEGOTIATE: opts.httpauth |= (long)CURLAUTH_NEGOTIATE; break;
		case O_NOPROXY: opts.noproxy = optarg; break;
		case O_NTLM: opts.httpauth |= (long)CURLAUTH_NTLM; break;
		case O_PROGRESS: opts.progress = 1; break;
		case O_PROXY: opt_proxy(optarg); break;
		case O_PROXY_USER_ENV: opts.proxy_user_env = optarg; break;
		case O_QUERY: add_pair(&opts.query, "--query", optarg); break;
		case O_RETRY: opts.retry = parse_count("--retry", optarg, 1000); break;
		case O_RETRY_DELAY: opts.retry_delay = parse_secs("--retry-delay", optarg); break;
		case O_RETRY_MAX_TIME: opts.retry_max_time = parse_secs("--retry-max-time", optarg); break;
		case O_SOAP: opts.soap = 1; break;
		case O_SOAP_ACTION: opts.soap_action = optarg; break;
		case O_STALL_TIME: opts.stall_time = parse_secs("--stall-time", optarg); break;
		case O_USER_ENV: opts.user_env = optarg; break;
		case O_VARIABLE: opt_variable(optarg); break;
		case O_EXPAND_DATA: opt_data(expand("--expand-data", optarg, &expansion)); break;
		case O_EXPAND_HEADER: opt_expand_header(optarg); break;
		case O_EXPAND_QUERY:
			add_pair(&opts.query, "--expand-query", expand("--expand-query", optarg, &expansion));
			break;
		case O_EXPAND_URL:
			free(opts.url_owned);
			opts.url = opts.url_owned = xstrdup(expand("--expand-url", optarg, &expansion));
			break;
		case O_NO_KEEPALIVE: break;	/* seen by the client: no keeper for this one */
		case O_HELP: usage(EXIT_OK); break;
		case O_VERSION: print_version(); exit(EXIT_OK);
		default: usage(EXIT_USAGE);
		}
	}
	if (optind == argc && !opts.url_owned) {
		warnx("the URL is missing (an operand, or --expand-url URL)");
		usage(EXIT_USAGE);
	}
	if (optind != argc - !opts.url_owned)
		bad(argv[argc - 1], opts.url_owned ? "unexpected argument (--expand-url gives the URL)"
						   : "unexpected argument (one URL at a time)");
	if (!opts.url_owned)
		opts.url = argv[optind];
	if (expansion.p)
		explicit_bzero(expansion.p, expansion.cap);	/* it may have held a secret */
	buf_free(&expansion);
	var_free();
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
static void derive(void)
{
	static const char soap_type[] = "Content-Type: text/xml; charset=utf-8";
	static const char no_expect[] = "Expect:";
	make_url(opts.url, &opts.query);
	if (opts.form.len) {
		if (opts.has_data)
			bad("--form", "cannot be combined with --data");
		req.body = &opts.form;
	} else if (opts.has_data) {
		req.body = &opts.data;
	}
	for (const struct curl_slist *l = opts.headers; l; l = l->next)
		append_header(&req.headers, l->data);
	if (opts.soap_action) {
		if (!req.body)
			bad("--soap-action", "needs a request body (--data)");
		if (!has_header(req.headers, "Content-Type"))
			add_header(&req.headers, soap_type, sizeof soap_type - 1, 0);
		struct buf h = { 0 };
		buf_addf(&h, "SOAPAction: %s", opts.soap_action);
		if (!has_header(req.headers, "SOAPAction"))
			add_header(&req.headers, h.p, h.len, 0);
		buf_free(&h);
	}
	if (!has_header(req.headers, "Expect"))
		add_header(&req.headers, no_expect, sizeof no_expect - 1, 0);
	buf_adds(&req.cred_vars, opts.header_env_vars.len ? buf_str(&opts.header_env_vars) : "");
	if (opts.user_env) {
		req.user = credentials("--user-env", opts.user_env);
		buf_addf(&req.cred_vars, "%s%s", req.cred_vars.len ? ", " : "", opts.user_env);
	}
	if (opts.proxy_user_env)
		req.proxy_user = credentials("--proxy-user-env", opts.proxy_user_env);
}

/* Before a retry, -o starts its file anew. */
static void rewind_out(void)
{
	if (!xfer.written)
		return;
	if (fflush(xfer.out) == EOF || ftruncate(fileno(xfer.out), 0) == -1 ||
	    fseek(xfer.out, 0, SEEK_SET) == -1) {
		int e = errno;
		atomic_unlink_pending();
		errx(EXIT_IOERR, "%s: %s", opts.out_path, strerror(e));
	}
}

/* After a 401 or 403: what to check, by name (--auth-hint, or the variables the
 * credentials came from), never by value. */
static void add_auth_hint(struct buf *m)
{
	if (xfer.status != 401 && xfer.status != 403)
		return;
	if (opts.auth_hint)
		buf_addf(m, "; %s", opts.auth_hint);
	else if (req.cred_vars.len)
		buf_addf(m, "; check the credentials in %s", buf_str(&req.cred_vars));
}

/* The attempts: until one succeeds, fails for good, or the retry budget is spent.
 * Returns the exit status; m holds the last error line. */
static int exchange(struct buf *m, long *attempt, double *waited)
{
	double t0 = clock_now();
	for (*attempt = 1;; ++*attempt) {
		int retryable, code;
		buf_reset(m);
		if ((code = http_perform(&xfer, &retryable, m)) == EXIT_OK)
			return code;
		if (code == EXIT_IOERR) {
			buf_addf(m, "%s: %s", xfer.out == stdout ? "<stdout>" : opts.out_path, strerror(xfer.werr));
			warnx("%s", buf_str(m));
			return code;
		}
		if (xfer.status / 100 == 3 && !opts.location)
			buf_adds(m, " (-L follows redirects)");
		int broken = xfer.written && !tmp_path;	/* bytes on stdout cannot be taken back */
		double wait = retry_wait((unsigned)*attempt);
		if (!retryable || broken || *attempt > opts.retry ||
		    (opts.retry_max_time > 0 && clock_now() - t0 + wait > opts.retry_max_time)) {
			if (retryable && broken)
				buf_addf(m, "; %jd body bytes already written, not retried", (intmax_t)xfer.written);
			else if (*attempt > 1)
				buf_addf(m, "; gave up after %ld attempts", *attempt);
			add_auth_hint(m);
			warnx("%s: %s", req.shown_url, buf_str(m));
			return code;
		}
		if (!opts.silent)
			warnx("%s: %s; retry %ld of %ld in %.1f s", req.shown_url, buf_str(m), *attempt,
			      opts.retry, wait);
		*waited += wait;
		sleep_secs(wait);
		rewind_out();
	}
}

int main(int argc, char **argv)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		errx(EXIT_IOERR, "cannot initialise libcurl");
	parse_args(argc, argv);
	derive();
	out_init();
	xfer.out = stdout;
	if (opts.out_path && strcmp(opts.out_path, "-") != 0) {
		xfer.out = atomic_open(opts.out_path, &tmp_path);
		static char fbuf[1 << 16];
		setvbuf(xfer.out, fbuf, _IOFBF, sizeof fbuf);
	}
	CURL *h = http_handle();
	if (!h)
		errx(EXIT_IOERR, "cannot initialise libcurl");
	setup(h);
	struct buf m = { 0 };
	long attempts;
	double waited = 0;
	int code = exchange(&m, &attempts, &waited), rc = code;
	if (xfer.out != stdout && atomic_close(xfer.out, &tmp_path, opts.out_path, code == EXIT_OK) &&
	    rc == EXIT_OK)
		rc = EXIT_IOERR;
	if (fshut(stdout, "<stdout>") && rc == EXIT_OK)
		rc = EXIT_IOERR;
	if (opts.meta_path && write_meta(rc, attempts, waited, code ? buf_str(&m) : NULL) && rc == EXIT_OK)
		rc = EXIT_IOERR;
	buf_free(&m);
	http_release(h);
	return rc;
}

/* fetch-keeper runs main() once an exchange in one process: before each, the state of
 * the last one goes. */
void fetch_page_reset(void)
{
	curl_slist_free_all(opts.headers);
	curl_slist_free_all(req.headers);
	if (opts.data.p)
		explicit_bzero(opts.data.p, opts.data.cap);	/* a request body may carry secrets */
	if (opts.form.p)
		explicit_bzero(opts.form.p, opts.form.cap);
	buf_free(&opts.data);
	buf_free(&opts.form);
	buf_free(&opts.query);
	buf_free(&opts.header_env_vars);
	free(opts.meta_headers);
	for (size_t i = 0; i < opts.nexpect; i++)
		free((char *)opts.expect[i]);
	free(opts.expect);
	free(opts.url_owned);
	free(req.url);
	free(req.shown_url);
	buf_free(&req.cred_vars);
	opts = (struct options)OPTIONS_DEFAULT;
	req = (struct request){ 0 };
	http_free(&xfer);
	tmp_path = NULL;
	optind = 0;
	var_free();
	redact_reset();
}
