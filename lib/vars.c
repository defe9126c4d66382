/*
 * vars.c — curl's command-line variables (curl 8.3): `--variable NAME=text`, `NAME@file`,
 * `%NAME` (from the environment, required) or `%NAME=default`, and `{{NAME}}` expanded
 * in `--expand-*` arguments, with functions applied left to right: `{{NAME:trim:json}}`.
 * A page command can then build its request from the page's environment (PAGE_OFFSET,
 * PAGE_TOKEN …) without a shell. Semantics follow curl: an unknown name expands to
 * nothing, `\{{` is a literal `{{`, and content holding a NUL byte must be encoded.
 * One function is ours: `jsonval`, the content as a quoted JSON string, or `null` when
 * it is empty (a request field that the first page leaves out).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "pagepull.h"

#define VAR_NAME_MAX 128
#define VAR_CONTENT_MAX (64u << 20)	/* a request body is never larger than this */

struct var {
	char name[VAR_NAME_MAX + 1];
	struct buf v;
};

static struct var *vars;
static size_t nvars;

static size_t name_len(const char *s)
{
	size_t n = 0;
	while ((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= 'A' && s[n] <= 'Z') ||
	       (s[n] >= '0' && s[n] <= '9') || s[n] == '_')
		n++;
	return n;
}

static struct var *var_find(const char *name, size_t n)
{
	for (size_t i = 0; i < nvars; i++)
		if (strlen(vars[i].name) == n && !memcmp(vars[i].name, name, n))
			return &vars[i];
	return NULL;
}

static struct buf *var_slot(const char *name, size_t n)
{
	struct var *v = var_find(name, n);
	if (!v) {
		vars = xrealloc(vars, (nvars + 1) * sizeof *vars);
		v = &vars[nvars++];
		memcpy(v->name, name, n);
		v->name[n] = 0;
		v->v = (struct buf){ 0 };
	}
	buf_reset(&v->v);	/* setting a name again replaces its content, as in curl */
	return &v->v;
}

int var_set(const char *spec, FILE *(*open_in)(const char *), const char **why)
{
	int env = spec[0] == '%';
	const char *name = spec + env;
	size_t n = name_len(name);
	char op = name[n];
	if (n == 0 || n > VAR_NAME_MAX || (op != '=' && op != '@' && !(env && op == 0))) {
		*why = "expected NAME=text, NAME@file, %NAME, %NAME=text or %NAME@file";
		return -1;
	}
	char *key = xstrndup(name, n);
	const char *ev = env ? getenv(key) : NULL;
	free(key);
	if (env && !ev && op == 0) {
		*why = "the environment variable is not set";
		return -1;
	}
	struct buf *b = var_slot(name, n);
	if (ev) {
		buf_adds(b, ev);
		return 0;
	}
	if (op == '=') {
		buf_adds(b, name + n + 1);
		return 0;
	}
	FILE *f = open_in(name + n + 1);
	int rc = buf_read(b, f, VAR_CONTENT_MAX);
	if (rc == -1)
		*why = strerror(errno);
	if (f != stdin)
		fclose(f);
	return rc;
}

/* RFC 3986's unreserved characters stay as they are under :url. */
static int unreserved(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_' || c == '~';
}

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

static int is_fn(const char *fn, size_t n, const char *name)
{
	return strlen(name) == n && !memcmp(fn, name, n);
}

/* One function over in: the result replaces in. */
static int apply(const char *fn, size_t n, struct buf *in, struct buf *tmp, const char **why)
{
	buf_reset(tmp);
	if (is_fn(fn, n, "trim")) {
		size_t a = 0, z = in->len;
		while (a < z && is_space(in->p[a]))
			a++;
		while (z > a && is_space(in->p[z - 1]))
			z--;
		buf_add(tmp, in->p + a, z - a);
	} else if (is_fn(fn, n, "json")) {
		json_str(tmp, in->p ? in->p : "", in->len);
		memmove(tmp->p, tmp->p + 1, tmp->len - 2);	/* curl leaves the quotes out */
		tmp->len -= 2;
	} else if (is_fn(fn, n, "jsonval")) {
		/* not curl's: a whole JSON value, so that an empty variable leaves a field unset */
		if (in->len)
			json_str(tmp, in->p, in->len);
		else
			buf_adds(tmp, "null");
	} else if (is_fn(fn, n, "url")) {
		static const char hex[] = "0123456789ABCDEF";
		for (size_t i = 0; i < in->len; i++) {
			unsigned char c = (unsigned char)in->p[i];
			if (unreserved(c)) {
				buf_addc(tmp, (char)c);
			} else {
				buf_addc(tmp, '%');
				buf_addc(tmp, hex[c >> 4]);
				buf_addc(tmp, hex[c & 15]);
			}
		}
	} else if (is_fn(fn, n, "b64")) {
		b64_encode(tmp, in->p, in->len);
	} else if (is_fn(fn, n, "64dec")) {
		if (b64_decode(tmp, in->p ? in->p : "", in->len) == -1) {
			*why = "64dec: not base64";
			return -1;
		}
	} else {
		*why = "unknown function (trim, json, jsonval, url, b64, 64dec)";
		return -1;
	}
	struct buf t = *in;
	*in = *tmp;
	*tmp = t;
	return 0;
}

/* At s (just after "{{"): NAME[:fn…]}}. Returns the length up to and with "}}", or 0
 * when this is not an expansion (copied literally, as curl does). */
static size_t expansion(const char *s, struct buf *out, const char **why, int *failed)
{
	size_t n = name_len(s), k = n;
	while (s[k] == ':') {
		size_t f = name_len(s + k + 1);
		if (!f)
			return 0;
		k += 1 + f;
	}
	if (n == 0 || n > VAR_NAME_MAX || s[k] != '}' || s[k + 1] != '}')
		return 0;
	const struct var *v = var_find(s, n);
	struct buf val = { 0 }, tmp = { 0 };
	if (v)
		buf_add(&val, v->v.p ? v->v.p : "", v->v.len);
	int encoded = 0;
	for (size_t i = n; i < k && !*failed;) {
		size_t f = name_len(s + i + 1);
		if (apply(s + i + 1, f, &val, &tmp, why) == -1)
			*failed = 1;
		encoded = is_fn(s + i + 1, f, "json") || is_fn(s + i + 1, f, "url") ||
			  is_fn(s + i + 1, f, "b64") || is_fn(s + i + 1, f, "jsonval");
		i += 1 + f;
	}
	if (!*failed && !encoded && val.len && memchr(val.p, 0, val.len)) {
		*why = "the content holds a NUL byte: encode it (:b64, :url or :json)";
		*failed = 1;
	}
	buf_add(out, val.p ? val.p : "", val.len);
	buf_free(&val);
	buf_free(&tmp);
	return k + 2;
}

int var_expand(const char *in, struct buf *out, const char **why)
{
	int failed = 0;
	buf_reset(out);
	for (const char *s = in; *s && !failed;) {
		if (s[0] == '\\' && s[1] == '{' && s[2] == '{') {
			buf_add(out, "{{", 2);
			s += 3;
			continue;
		}
		if (s[0] == '{' && s[1] == '{') {
			size_t k = expansion(s + 2, out, why, &failed);
			if (k) {
				s += 2 + k;
				continue;
			}
		}
		buf_addc(out, *s++);
	}
	buf_str(out);
	return failed ? -1 : 0;
}

void var_free(void)
{
	for (size_t i = 0; i < nvars; i++) {
		if (vars[i].v.p)
			explicit_bzero(vars[i].v.p, vars[i].v.cap);	/* contents may be secrets */
		buf_free(&vars[i].v);
	}
	free(vars);
	vars = NULL;
	nvars = 0;
}
