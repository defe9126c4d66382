/*
 * fetch-page's --meta-out (part of the exchange, filters/fetch-page.c): after the exchange,
 * one JSON object on what happened (URL without credentials, status, the --meta-header
 * headers, bytes, attempts, libcurl's timings, exit status), written atomically.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include "fetch-page.h"

static double info_secs(CURLINFO what)
{
	curl_off_t us = 0;
	curl_easy_getinfo(xfer.curl, what, &us);
	return (double)us / 1e6;
}

int write_meta(int code, long attempts, double waited, const char *error)
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
	for (size_t i = 0, n = 0; i < fetch_opts.nmeta; i++) {
		struct curl_header *hd;
		const char *name = fetch_opts.meta_headers[i];
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
	FILE *f = atomic_open(fetch_opts.meta_path, &tmp);
	fwrite(b.p, 1, b.len, f);
	buf_free(&b);
	return atomic_close(f, &tmp, fetch_opts.meta_path, 1);
}
