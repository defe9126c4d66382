/*
 * fetch-page's libcurl handle (part of the exchange, filters/fetch-page.c): setup() sets it
 * from the options and the request: the proxy (--proxy, checked as it is parsed, or the
 * environment's), the CA (the keeper's store when it is this exchange's), the rest.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "fetch-page.h"

int keeper_ca_use(CURL *h, const char *cacert);	/* filters/fetch-keeper.c */

/* Without --proxy, libcurl takes http_proxy, https_proxy, all_proxy and no_proxy from the
 * environment itself, as curl(1) does; nothing here may set CURLOPT_PROXY to "" (which
 * would turn that off). */
static void setup_proxy(CURL *h)
{
	if (fetch_opts.proxy)
		curl_easy_setopt(h, CURLOPT_PROXY, fetch_opts.proxy);
	if (fetch_opts.noproxy)
		curl_easy_setopt(h, CURLOPT_NOPROXY, fetch_opts.noproxy);
	if (req.proxy_user) {
		curl_easy_setopt(h, CURLOPT_PROXYUSERPWD, req.proxy_user);
		curl_easy_setopt(h, CURLOPT_PROXYAUTH, (long)CURLAUTH_BASIC);
	}
}

/* --proxy URL: a proxy URL that holds a user name or password is refused (it would sit in
 * argv, where ps shows it), and the message does not repeat it. */
void opt_proxy(const char *arg)
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
	fetch_opts.proxy = arg;
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
	return fetch_opts.proxy != NULL;
}

/* The CA: in a keeper, the run's store, loaded once for every page, when it is this
 * exchange's CA (fetch-keeper.c). Not with -k (nothing to load), -v (its trace shows
 * libcurl loading the CA, as alone) or a proxy (libcurl would give an HTTPS proxy's
 * connection the same SSL_CTX function, and so the server's store): libcurl loads it. */
static void setup_ca(CURL *h)
{
	if (!fetch_opts.insecure && !fetch_opts.verbose && !proxy_configured() && keeper_ca_use(h, fetch_opts.cacert))
		return;
	if (fetch_opts.cacert)
		curl_easy_setopt(h, CURLOPT_CAINFO, fetch_opts.cacert);
	if (fetch_opts.insecure) {
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	}
}

void setup(CURL *h)
{
	curl_easy_setopt(h, CURLOPT_URL, req.url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_BUFFERSIZE, 256L * 1024);
	curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
	curl_easy_setopt(h, CURLOPT_USERAGENT, fetch_opts.agent ? fetch_opts.agent : "fetch-page/" PP_VERSION);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, req.headers);
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, (long)fetch_opts.location);
	curl_easy_setopt(h, CURLOPT_MAXREDIRS, 20L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)(fetch_opts.max_time * 1000));
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)(fetch_opts.connect_timeout * 1000));
	if (fetch_opts.compressed) {	/* inflated by http.c, which checks that the stream ends */
		curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "gzip, deflate");
		curl_easy_setopt(h, CURLOPT_HTTP_CONTENT_DECODING, 0L);
	}
	setup_ca(h);
	if (fetch_opts.netrc)
		curl_easy_setopt(h, CURLOPT_NETRC, (long)CURL_NETRC_REQUIRED);
	if (fetch_opts.netrc_file)
		curl_easy_setopt(h, CURLOPT_NETRC_FILE, fetch_opts.netrc_file);
	if (req.user)
		curl_easy_setopt(h, CURLOPT_USERPWD, req.user);
	else if (fetch_opts.httpauth & CURLAUTH_NEGOTIATE)
		curl_easy_setopt(h, CURLOPT_USERPWD, ":");	/* Kerberos: the caller's own ticket */
	/* Several methods: libcurl asks the server first and takes the safest it offers.
	 * NTLM and Negotiate authenticate the connection, which libcurl keeps alive. */
	curl_easy_setopt(h, CURLOPT_HTTPAUTH, fetch_opts.httpauth ? fetch_opts.httpauth : (long)CURLAUTH_BASIC);
	setup_proxy(h);
	if (req.body) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req.body->len);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, buf_str(req.body));
	}
	if (fetch_opts.method && strcmp(fetch_opts.method, "HEAD") == 0)
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	else if (fetch_opts.method)
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, fetch_opts.method);
	if (fetch_opts.verbose)
		http_trace(h);
	xfer.curl = h;
	xfer.soap = fetch_opts.soap;
	xfer.decode = fetch_opts.compressed;
	xfer.expect = fetch_opts.expect;
	xfer.nexpect = fetch_opts.nexpect;
	xfer.stall_time = fetch_opts.stall_time;
	xfer.progress = fetch_opts.progress && !fetch_opts.silent && isatty(2);
	http_init(&xfer);
}
