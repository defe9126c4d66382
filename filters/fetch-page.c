/*
 * fetch-page — one HTTP exchange over libcurl: the request from the command line
 * (secrets from files, the environment or .netrc, never from argv), the response
 * body streamed to stdout (or atomically to -o FILE), and the exit status by
 * failure class: 2xx → 0; 408, 429, 5xx, timeouts, refused and reset connections
 * → retried with backoff, then 75; other 4xx, TLS, DNS → 69. A 500 whose XML body
 * is a SOAP Fault is an answer: body to stdout, exit 0. Retries happen only while
 * no body byte has reached stdout. Memory stays flat: the body is never held.
 *
 * Its parts, beside it in filters/fetch-page/ (fetch-page.h): request.c, setup.c, meta.c.
 */
#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "fetch-page/fetch-page.h"

/* The command line as given, by parse_args (struct options in fetch-page.h). */
struct options fetch_opts = OPTIONS_DEFAULT;

struct http_xfer xfer;	/* the exchange; xfer.out is stdout or the -o temporary */
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

void bad(const char *opt, const char *what)
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

FILE *open_input(const char *name)
{
	if (strcmp(name, "-") == 0) {
		if (fetch_opts.stdin_used++)
			bad("@-", "standard input can be read only once");
		return stdin;
	}
	FILE *f = fopen(name, "rb");
	if (!f)
		err(EXIT_USAGE, "%s", name);
	return f;
}

/* --expect-type TYPE[,TYPE]...: media ranges, each checked now. */
static void opt_expect_type(const char *arg)
{
	for (const char *p = arg, *e; ; p = e + 1) {
		e = p + strcspn(p, ",");
		char *t = xstrndup(p, (size_t)(e - p));
		if (!http_expect_valid(t))
			bad("--expect-type", "not a media type (type/subtype, type/*, !type/subtype)");
		fetch_opts.expect = xrealloc(fetch_opts.expect, (fetch_opts.nexpect + 1) * sizeof *fetch_opts.expect);
		fetch_opts.expect[fetch_opts.nexpect++] = t;
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
const char *expand(const char *opt, const char *arg, struct buf *b)
{
	const char *why;
	if (var_expand(arg, b, &why) == -1)
		bad(opt, why);
	return buf_str(b);
}

/* The wait before retry number n: the server's Retry-After if it sent one, else backoff. */
static double retry_wait(unsigned n)
{
	double s = http_retry_after(&xfer);
	if (s < 0)
		s = backoff_delay(fetch_opts.retry_delay, n, fetch_opts.max_retry_after);
	return s < fetch_opts.max_retry_after ? s : fetch_opts.max_retry_after;
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

/* The command line into fetch_opts; derive() then makes the request of it. */
static void parse_args(int argc, char **argv)
{
	struct buf expansion = { 0 };
	int c;
	while ((c = getopt_long(argc, argv, "A:d:hH:kLm:no:svX:", longopts, NULL)) != -1) {
		switch (c) {
		case 'A': fetch_opts.agent = optarg; break;
		case 'd': opt_data(optarg); break;
		case 'h': usage(EXIT_OK); break;
		case 'H': opt_header(optarg); break;
		case 'k': fetch_opts.insecure = 1; break;
		case 'L': fetch_opts.location = 1; break;
		case 'm': fetch_opts.max_time = parse_secs("--max-time", optarg); break;
		case 'n': fetch_opts.netrc = 1; break;
		case 'o': fetch_opts.out_path = optarg; break;
		case 's': fetch_opts.silent = 1; break;
		case 'v': fetch_opts.verbose = 1; break;
		case 'X': fetch_opts.method = optarg; break;
		case O_ANYAUTH: fetch_opts.httpauth = (long)CURLAUTH_ANY; break;
		case O_AUTH_HINT: fetch_opts.auth_hint = optarg; break;
		case O_BASIC: fetch_opts.httpauth |= (long)CURLAUTH_BASIC; break;
		case O_CACERT: fetch_opts.cacert = optarg; break;
		case O_COMPRESSED: fetch_opts.compressed = 1; break;
		case O_CONNECT_TIMEOUT: fetch_opts.connect_timeout = parse_secs("--connect-timeout", optarg); break;
		case O_EXPECT_TYPE: opt_expect_type(optarg); break;
		case O_FORM: add_pair(&fetch_opts.form, "--form", optarg); break;
		case O_HEADER_ENV: opt_header_env(optarg); break;
		case O_MAX_RETRY_AFTER: fetch_opts.max_retry_after = parse_secs("--max-retry-after", optarg); break;
		case O_META_HEADER:
			fetch_opts.meta_headers = xrealloc(fetch_opts.meta_headers, (fetch_opts.nmeta + 1) * sizeof *fetch_opts.meta_headers);
			fetch_opts.meta_headers[fetch_opts.nmeta++] = optarg;
			break;
		case O_META_OUT: fetch_opts.meta_path = optarg; break;
		case O_NETRC_FILE: fetch_opts.netrc_file = optarg; fetch_opts.netrc = 1; break;
		case O_NEGOTIATE: fetch_opts.httpauth |= (long)CURLAUTH_NEGOTIATE; break;
		case O_NOPROXY: fetch_opts.noproxy = optarg; break;
		case O_NTLM: fetch_opts.httpauth |= (long)CURLAUTH_NTLM; break;
		case O_PROGRESS: fetch_opts.progress = 1; break;
		case O_PROXY: opt_proxy(optarg); break;
		case O_PROXY_USER_ENV: fetch_opts.proxy_user_env = optarg; break;
		case O_QUERY: add_pair(&fetch_opts.query, "--query", optarg); break;
		case O_RETRY: fetch_opts.retry = parse_count("--retry", optarg, 1000); break;
		case O_RETRY_DELAY: fetch_opts.retry_delay = parse_secs("--retry-delay", optarg); break;
		case O_RETRY_MAX_TIME: fetch_opts.retry_max_time = parse_secs("--retry-max-time", optarg); break;
		case O_SOAP: fetch_opts.soap = 1; break;
		case O_SOAP_ACTION: fetch_opts.soap_action = optarg; break;
		case O_STALL_TIME: fetch_opts.stall_time = parse_secs("--stall-time", optarg); break;
		case O_USER_ENV: fetch_opts.user_env = optarg; break;
		case O_VARIABLE: opt_variable(optarg); break;
		case O_EXPAND_DATA: opt_data(expand("--expand-data", optarg, &expansion)); break;
		case O_EXPAND_HEADER: opt_expand_header(optarg); break;
		case O_EXPAND_QUERY:
			add_pair(&fetch_opts.query, "--expand-query", expand("--expand-query", optarg, &expansion));
			break;
		case O_EXPAND_URL:
			free(fetch_opts.url_owned);
			fetch_opts.url = fetch_opts.url_owned = xstrdup(expand("--expand-url", optarg, &expansion));
			break;
		case O_NO_KEEPALIVE: break;	/* seen by the client: no keeper for this one */
		case O_HELP: usage(EXIT_OK); break;
		case O_VERSION: print_version(); exit(EXIT_OK);
		default: usage(EXIT_USAGE);
		}
	}
	if (optind == argc && !fetch_opts.url_owned) {
		warnx("the URL is missing (an operand, or --expand-url URL)");
		usage(EXIT_USAGE);
	}
	if (optind != argc - !fetch_opts.url_owned)
		bad(argv[argc - 1], fetch_opts.url_owned ? "unexpected argument (--expand-url gives the URL)"
						   : "unexpected argument (one URL at a time)");
	if (!fetch_opts.url_owned)
		fetch_opts.url = argv[optind];
	if (expansion.p)
		explicit_bzero(expansion.p, expansion.cap);	/* it may have held a secret */
	buf_free(&expansion);
	var_free();
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
		errx(EXIT_IOERR, "%s: %s", fetch_opts.out_path, strerror(e));
	}
}

/* After a 401 or 403: what to check, by name (--auth-hint, or the variables the
 * credentials came from), never by value. */
static void add_auth_hint(struct buf *m)
{
	if (xfer.status != 401 && xfer.status != 403)
		return;
	if (fetch_opts.auth_hint)
		buf_addf(m, "; %s", fetch_opts.auth_hint);
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
			buf_addf(m, "%s: %s", xfer.out == stdout ? "<stdout>" : fetch_opts.out_path, strerror(xfer.werr));
			warnx("%s", buf_str(m));
			return code;
		}
		if (xfer.status / 100 == 3 && !fetch_opts.location)
			buf_adds(m, " (-L follows redirects)");
		int broken = xfer.written && !tmp_path;	/* bytes on stdout cannot be taken back */
		double wait = retry_wait((unsigned)*attempt);
		if (!retryable || broken || *attempt > fetch_opts.retry ||
		    (fetch_opts.retry_max_time > 0 && clock_now() - t0 + wait > fetch_opts.retry_max_time)) {
			if (retryable && broken)
				buf_addf(m, "; %jd body bytes already written, not retried", (intmax_t)xfer.written);
			else if (*attempt > 1)
				buf_addf(m, "; gave up after %ld attempts", *attempt);
			add_auth_hint(m);
			warnx("%s: %s", req.shown_url, buf_str(m));
			return code;
		}
		if (!fetch_opts.silent)
			warnx("%s: %s; retry %ld of %ld in %.1f s", req.shown_url, buf_str(m), *attempt,
			      fetch_opts.retry, wait);
		*waited += wait;
		if (http_wait(wait))
			return code;	/* a keeper's client gone: nobody to retry for */
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
	if (fetch_opts.out_path && strcmp(fetch_opts.out_path, "-") != 0) {
		xfer.out = atomic_open(fetch_opts.out_path, &tmp_path);
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
	if (xfer.out != stdout && atomic_close(xfer.out, &tmp_path, fetch_opts.out_path, code == EXIT_OK) &&
	    rc == EXIT_OK)
		rc = EXIT_IOERR;
	if (fshut(stdout, "<stdout>") && rc == EXIT_OK)
		rc = EXIT_IOERR;
	/* A served fetch-page killed mid-exchange would have written no --meta-out alone. */
	if (fetch_opts.meta_path && !http_client_gone() &&
	    write_meta(rc, attempts, waited, code ? buf_str(&m) : NULL) && rc == EXIT_OK)
		rc = EXIT_IOERR;
	buf_free(&m);
	http_release(h);
	return rc;
}

/* fetch-keeper runs main() once an exchange in one process: before each, the state of
 * the last one goes. */
void fetch_page_reset(void)
{
	curl_slist_free_all(fetch_opts.headers);
	curl_slist_free_all(req.headers);
	if (fetch_opts.data.p)
		explicit_bzero(fetch_opts.data.p, fetch_opts.data.cap);	/* a request body may carry secrets */
	if (fetch_opts.form.p)
		explicit_bzero(fetch_opts.form.p, fetch_opts.form.cap);
	buf_free(&fetch_opts.data);
	buf_free(&fetch_opts.form);
	buf_free(&fetch_opts.query);
	buf_free(&fetch_opts.header_env_vars);
	free(fetch_opts.meta_headers);
	for (size_t i = 0; i < fetch_opts.nexpect; i++)
		free((char *)fetch_opts.expect[i]);
	free(fetch_opts.expect);
	free(fetch_opts.url_owned);
	free(req.url);
	free(req.shown_url);
	buf_free(&req.cred_vars);
	fetch_opts = (struct options)OPTIONS_DEFAULT;
	req = (struct request){ 0 };
	http_free(&xfer);
	tmp_path = NULL;
	optind = 0;
	var_free();
	redact_reset();
}
