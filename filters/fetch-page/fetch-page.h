/*
 * fetch-page's private header: what its parts share. The exchange is filters/fetch-page.c
 * (options, retries, main) and, beside it here, request.c (the request from the options:
 * headers, body, query, URL, credentials), setup.c (the libcurl handle: proxy, CA, the
 * rest) and meta.c (--meta-out). All are linked into fetch-keeper; no other filter uses this.
 */
#ifndef FETCH_PAGE_H
#define FETCH_PAGE_H
#include <curl/curl.h>
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
extern struct options fetch_opts;	/* fetch-page.c; not "opts": lib/pager.c has that one */

/* The request that follows from the options (derive(), as curl's config2setopts.c follows
 * from its config): the URL with the query, the body, the headers with SOAP's and Expect's,
 * the credentials from the environment. */
struct request {
	char *url, *shown_url;	/* shown_url: for messages, without credentials */
	struct buf *body;	/* &fetch_opts.data, &fetch_opts.form, or NULL */
	struct curl_slist *headers;	/* the options' headers, then the derived ones */
	const char *user;	/* user:password, from --user-env */
	const char *proxy_user;	/* user:password for the proxy, from --proxy-user-env */
	struct buf cred_vars;	/* the variables the credentials came from, for the 401 hint */
};
extern struct request req;	/* request.c */

extern struct http_xfer xfer;	/* fetch-page.c: the exchange */

/* fetch-page.c: the option parser's helpers */
void __attribute__((noreturn)) bad(const char *opt, const char *what);
FILE *open_input(const char *name);
const char *expand(const char *opt, const char *arg, struct buf *b);

/* request.c: the options that build the request, and derive() */
void opt_header(char *arg);
void opt_header_env(const char *arg);
void opt_data(const char *arg);
void add_pair(struct buf *b, const char *opt, const char *arg);
void opt_expand_header(const char *arg);
void derive(void);

/* setup.c */
void opt_proxy(const char *arg);
void setup(CURL *h);

/* meta.c */
int write_meta(int code, long attempts, double waited, const char *error);

#endif
