/*
 * json2ndjson — splits a JSON document into NDJSON: each element of the array at --records
 * PATH becomes one compact line; envelope values (--meta) and an API error object (--fault)
 * go into one control line after the document's records. Streaming: the input is lexed in
 * blocks (lib/jsontok.c) and this file tracks only the open containers, so memory is bounded
 * by the largest record, never by the document. Many concatenated documents are handled in
 * turn. Paths are matched with one bit per path per open level (so at most 64 paths).
 */
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "pagepull.h"

#define MAXMETA 50
#define DEFAULT_DEPTH 1000
#define MAX_DEPTH 1000000
#define DEFAULT_RECORD_BYTES (64UL << 20)

enum role { R_RECORDS, R_META, R_FAULT, R_FAULTFIELD };

struct comp {
	char *key;		/* NULL for an array index */
	size_t len;
	unsigned long index;
};

struct path {
	struct comp *c;
	int n;
	enum role role;
	const char *name;	/* meta name, or the fault member */
	struct buf val;		/* the captured value (meta, fault) */
	int have;		/* captured in this document */
};

struct level {			/* an open container */
	uint64_t mask;		/* paths matched by the container's own position */
	unsigned long index;	/* of the current element, in an array */
	char obj, records;
};

struct capture {		/* a value being copied into a buffer */
	int depth, path;	/* path -1: a record */
};

static struct {			/* the paths to match and the document being read */
	struct jtok t;
	struct path paths[64];
	int npaths, fault;	/* fault: index of the --fault path, or -1 */
	uint64_t all;
	struct level *lv;
	int maxdepth, lvcap;
	struct capture caps[JT_MAXSINK];
	int ncaps;
	struct buf rec, key, ctl;
	unsigned long long records;
} parser = { .fault = -1, .maxdepth = DEFAULT_DEPTH };

/* Members of a fault object that fill the normalised "code", "string" and "name", in order
 * of preference; their paths follow the --fault path in parser.paths. */
static const char *const fault_members[] = { "code", "status", "error", "message", "string",
	"description", "error_description", "name" };
enum { F_CODE = 0, F_STRING = 3, F_NAME = 7, F_END = 8 };

static void __attribute__((noreturn)) usage(int status)
{
	FILE *f = status ? stderr : stdout;
	fprintf(f, "usage: json2ndjson [-u] [--records PATH] [--meta NAME=PATH]... [--fault PATH]\n"
	    "                   [--max-depth N] [--max-record-bytes N] [FILE ...]\n");
	exit(status);
}

/* A usage error: the message, then the usage, on stderr; exit 2. */
static void __attribute__((noreturn, format(printf, 1, 2))) bad(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vwarnx(fmt, ap);
	va_end(ap);
	usage(EXIT_USAGE);
}

static void add_comp(struct path *p, char *key, size_t len, unsigned long index)
{
	p->c = xrealloc(p->c, (size_t)(p->n + 1) * sizeof *p->c);
	p->c[p->n++] = (struct comp){ key, len, index };
}

/* A quoted key at s ('"'): \" and \\ escape; returns the end, or NULL. */
static const char *quoted(struct path *p, const char *s)
{
	struct buf k = { 0 };
	for (s++; *s != '"'; s++) {
		if (!*s || (*s == '\\' && s[1] != '"' && s[1] != '\\')) {
			buf_free(&k);
			return NULL;
		}
		if (*s == '\\')
			s++;
		buf_addc(&k, *s);
	}
	buf_str(&k);
	add_comp(p, k.p, k.len, 0);
	return s + 1;
}

/* Paths are jq-like: ".", ".a.b", ".a[0]", ".\"a b\"", ".[\"a\"]"; "[]" may end --records. */
static int parse_path(struct path *p, const char *s, int iter_ok)
{
	if (*s++ != '.')
		return -1;
	if (*s == 0)
		return 0;
	for (int first = 1;; first = 0) {
		if (*s == '[') {
			s++;
			if (*s == ']' && s[1] == 0 && iter_ok)
				return 0;
			if (*s == '"') {
				if (!(s = quoted(p, s)))
					return -1;
			} else {
				char *e;
				if (*s < '0' || *s > '9')
					return -1;
				errno = 0;
				unsigned long i = strtoul(s, &e, 10);
				if (errno)
					return -1;
				add_comp(p, NULL, 0, i);
				s = e;
			}
			if (*s++ != ']')
				return -1;
		} else if (!first && *s++ != '.')
			return -1;
		else if (*s == '"') {
			if (!(s = quoted(p, s)))
				return -1;
		} else if (*s != '[') {
			size_t n = strcspn(s, ".[\"");
			if (n == 0)
				return -1;
			add_comp(p, xstrndup(s, n), n, 0);
			s += n;
		}
		if (*s == 0)
			return 0;
	}
}

static int add_path(enum role role, const char *name, const char *spec, const char *opt)
{
	if (parser.npaths == 64)
		bad("too many paths");
	struct path *p = &parser.paths[parser.npaths];
	p->role = role;
	p->name = name;
	if (parse_path(p, spec, role == R_RECORDS) != 0)
		bad("%s: invalid path '%s' (examples: . .data .result.items .[\"a b\"][0])", opt, spec);
	parser.all |= 1ULL << parser.npaths;
	return parser.npaths++;
}

static void add_meta(char *arg)
{
	char *eq = strchr(arg, '=');
	if (!eq || eq == arg)
		bad("--meta: expected NAME=PATH, got '%s'", arg);
	*eq = 0;
	if (!strcmp(arg, "records") || !strcmp(arg, "fault"))
		bad("--meta: the name '%s' is reserved", arg);
	int n = 0;
	for (int i = 0; i < parser.npaths; i++)
		if (parser.paths[i].role == R_META && (++n, !strcmp(parser.paths[i].name, arg)))
			bad("--meta: the name '%s' is given twice", arg);
	if (n == MAXMETA)
		bad("--meta: at most %d", MAXMETA);
	add_path(R_META, arg, eq + 1, "--meta");
}

/* The fault path, then one path per member that can fill the normalised fault object. */
static void add_fault(const char *spec)
{
	parser.fault = add_path(R_FAULT, NULL, spec, "--fault");
	for (int k = 0; k < F_END; k++) {
		const char *m = fault_members[k];
		add_comp(&parser.paths[add_path(R_FAULTFIELD, m, spec, "--fault")], xstrdup(m), strlen(m), 0);
	}
}

static unsigned long long number_arg(const char *opt, const char *s, unsigned long long max)
{
	unsigned long long v;
	if (arg_size(s, 0, max, &v))
		bad("%s: '%s' is not a number up to %llu", opt, s, max);
	return v;
}

/* The paths still matched by the child of container d with this key (or index). */
static uint64_t child_mask(int d, const char *key, size_t len, unsigned long index)
{
	uint64_t in = parser.lv[d].mask, out = 0;
	while (in) {
		int i = __builtin_ctzll(in);
		in &= in - 1;
		const struct path *p = &parser.paths[i];
		if (p->n <= d)
			continue;
		const struct comp *c = &p->c[d];
		if (key ? c->key && c->len == len && !memcmp(c->key, key, len)
		    : !c->key && c->index == index)
			out |= 1ULL << i;
	}
	return out;
}

static void capture(struct buf *b, int depth, int path)
{
	parser.caps[parser.ncaps++] = (struct capture){ depth, path };
	parser.t.sink[parser.t.nsink++] = b;
}

/* A value begins at depth with first byte c: starts the captures it is the subject of.
 * Returns 1 if it is the records array (its elements become records). */
static int value_start(int c, int depth, uint64_t mask)
{
	int records = 0;
	if (depth > 0 && parser.lv[depth - 1].records)
		capture(&parser.rec, depth, -1);
	while (mask) {
		int i = __builtin_ctzll(mask);
		mask &= mask - 1;
		struct path *p = &parser.paths[i];
		if (p->n != depth)
			continue;
		if (p->role == R_RECORDS) {
			if (c == '[')
				records = 1;
			else if (c != 'n')	/* null: no records; another value: one */
				capture(&parser.rec, depth, -1);
			continue;
		}
		buf_reset(&p->val);
		p->have = 1;
		capture(&p->val, depth, i);
	}
	return records;
}

/* The value at depth is complete: ends its captures; a record goes out. */
static void value_end(int depth)
{
	while (parser.ncaps && parser.caps[parser.ncaps - 1].depth == depth) {
		parser.ncaps--;
		parser.t.nsink--;
		if (parser.caps[parser.ncaps].path < 0) {
			out_line(&parser.rec);
			buf_reset(&parser.rec);
			parser.records++;
		}
	}
}

static void push(int depth, uint64_t mask, int obj, int records)
{
	if (depth >= parser.maxdepth)
		jt_error(&parser.t, "nesting deeper than %d levels (--max-depth)", parser.maxdepth);
	if (depth >= parser.lvcap) {
		parser.lvcap = parser.lvcap ? 2 * parser.lvcap : 64;
		parser.lv = xrealloc(parser.lv, (size_t)parser.lvcap * sizeof *parser.lv);
	}
	parser.lv[depth] = (struct level){ mask, 0, (char)obj, (char)records };
}

/* An object key at container depth d; returns the mask for its value. */
static uint64_t key(int d)
{
	if (!parser.lv[d].mask) {
		jt_string(&parser.t, NULL);
		return 0;
	}
	buf_reset(&parser.key);
	jt_string(&parser.t, &parser.key);
	return child_mask(d, parser.key.p ? parser.key.p : "", parser.key.len, 0);
}

/* One document, from its first byte c to the end of its top-level value. The states:
 * expecting a value, a key (or '}' right after '{'), or what follows a value. */
static void document(int c)
{
	struct jtok *t = &parser.t;
	enum { VALUE, KEY, FIRSTKEY, FIRSTELEM, AFTER } st = VALUE;
	int depth = 0;		/* open containers = the depth of the next value */
	uint64_t mask = parser.all;	/* the paths that the next value's position matches */
	for (;; c = jt_peek(t)) {
		struct level *lv = depth ? &parser.lv[depth - 1] : NULL;
		switch (st) {
		case FIRSTELEM:
			if (c == ']')
				break;
			mask = lv->mask ? child_mask(depth - 1, NULL, 0, 0) : 0;
			/* fallthrough */
		case VALUE:
			if (c == '{' || c == '[') {
				int rec = value_start(c, depth, mask);
				push(depth, mask, c == '{', rec);
				jt_byte(t);
				depth++;
				st = c == '{' ? FIRSTKEY : FIRSTELEM;
				continue;
			}
			if (c > 0 && strchr("\"-0123456789tfn", c)) {
				value_start(c, depth, mask);
				c == '"' ? jt_string(t, NULL) : c >= 'a' ? jt_literal(t) : jt_number(t);
				goto ended;
			}
			jt_expected(t, "a value");
		case FIRSTKEY:
			if (c == '}')
				break;
			/* fallthrough */
		case KEY:
			if (c != '"')
				jt_expected(t, st == FIRSTKEY ? "a string key or '}'" : "a string key");
			mask = key(depth - 1);
			if (jt_peek(t) != ':')
				jt_expected(t, "':'");
			jt_byte(t);
			st = VALUE;
			continue;
		case AFTER:
			if (c == ',') {
				jt_byte(t);
				if (lv->obj)
					st = KEY;
				else {
					lv->index++;
					mask = lv->mask ? child_mask(depth - 1, NULL, 0, lv->index) : 0;
					st = VALUE;
				}
				continue;
			}
			if (c != (lv->obj ? '}' : ']'))
				jt_expected(t, lv->obj ? "',' or '}'" : "',' or ']'");
			break;
		}
		/* here: c closes the innermost container */
		jt_byte(t);
		depth--;
ended:
		value_end(depth);
		if (depth == 0)
			return;
		st = AFTER;
	}
}

/* The value of the first fault member in [from, to) that is present and a scalar. */
static const struct buf *member(int from, int to)
{
	for (int k = from; k < to; k++) {
		const struct path *p = &parser.paths[parser.fault + 1 + k];
		if (p->have && p->val.p[0] != '{' && p->val.p[0] != '[')
			return &p->val;
	}
	return NULL;
}

static void add_value(struct buf *b, const struct buf *v)
{
	buf_add(b, v ? v->p : "null", v ? v->len : 4);
}

/* "fault":{"code":…,"string":…,"name":…,"detail":…} from the value v at the fault path. */
static void fault_object(struct buf *b, const struct buf *v)
{
	const struct buf *code = member(F_CODE, F_STRING), *str = member(F_STRING, F_NAME),
	    *name = member(F_NAME, F_END);
	if (!str && v->p[0] == '"')
		str = v;
	if (!name || name->p[0] != '"')
		name = code;
	buf_adds(b, "\"fault\":{\"code\":");
	add_value(b, code);
	buf_adds(b, ",\"string\":");
	add_value(b, str);
	buf_adds(b, ",\"name\":");
	if (name && strchr("-0123456789", name->p[0]))
		buf_addf(b, "\"%.*s\"", (int)name->len, name->p);	/* a numeric code */
	else
		add_value(b, name && name->p[0] == '"' ? name : NULL);
	buf_adds(b, ",\"detail\":");
	add_value(b, v);
	buf_adds(b, "},");
}

static int is_fault(void)
{
	static const char *const empty[] = { "null", "false", "\"\"", "[]", "{}" };
	if (parser.fault < 0 || !parser.paths[parser.fault].have)
		return 0;
	const struct buf *v = &parser.paths[parser.fault].val;
	for (size_t i = 0; i < sizeof empty / sizeof *empty; i++)
		if (v->len == strlen(empty[i]) && !memcmp(v->p, empty[i], v->len))
			return 0;
	return 1;
}

/* After a document: the control line (with --meta, or a fault); 1 if it was a fault. */
static int finish(const char *name)
{
	int fault = is_fault(), metas = 0;
	buf_reset(&parser.ctl);
	buf_addc(&parser.ctl, '{');
	for (int i = 0; i < parser.npaths; i++) {
		struct path *p = &parser.paths[i];
		metas |= p->role == R_META;
		if (p->role == R_META && p->have) {
			json_key(&parser.ctl, p->name, strlen(p->name));
			buf_add(&parser.ctl, p->val.p, p->val.len);
			buf_addc(&parser.ctl, ',');
		}
	}
	if (fault) {
		const struct buf *v = &parser.paths[parser.fault].val;
		warnx("%s: fault: %.*s", name, (int)v->len, v->p);
		fault_object(&parser.ctl, v);
	}
	buf_addf(&parser.ctl, "\"records\":%llu}", parser.records);
	if (metas || fault)
		out_ctl(&parser.ctl);
	for (int i = 0; i < parser.npaths; i++)
		parser.paths[i].have = 0;
	parser.records = 0;
	return fault;
}

/* Every document of one input; returns EXIT_FAULT after a fault document, else 0. */
static int input(int fd, const char *name)
{
	struct jtok *t = &parser.t;
	jt_init(t, fd, name);
	int c, docs = 0;
	while ((c = jt_peek(t)) != -1) {
		if (c == 0xEF && jt_bom(t))
			continue;
		document(c);
		docs++;
		if (finish(name))
			return EXIT_FAULT;
	}
	if (!docs)
		jt_error(t, "no JSON document in the input");
	return 0;
}

int main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "fault", required_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'h' },
		{ "max-depth", required_argument, NULL, 'D' },
		{ "max-record-bytes", required_argument, NULL, 'B' },
		{ "meta", required_argument, NULL, 'M' },
		{ "records", required_argument, NULL, 'R' },
		{ "unbuffered", no_argument, NULL, 'u' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	const char *records = ".", *fault = NULL;
	int c;
	parser.t.max = DEFAULT_RECORD_BYTES;
	while ((c = getopt_long(argc, argv, "hu", longopts, NULL)) != -1) {
		switch (c) {
		case 'B': parser.t.max = number_arg("--max-record-bytes", optarg, (size_t)-1 >> 1); break;
		case 'D': parser.maxdepth = (int)number_arg("--max-depth", optarg, MAX_DEPTH); break;
		case 'F': fault = optarg; break;
		case 'M': add_meta(optarg); break;
		case 'R': records = optarg; break;
		case 'V': print_version(); return fshut(stdout, "<stdout>");
		case 'h': usage(EXIT_OK); break;
		case 'u': out_unbuffered = 1; break;
		default: usage(EXIT_USAGE);
		}
	}
	if (parser.maxdepth < 1)
		bad("--max-depth: must be at least 1");
	add_path(R_RECORDS, NULL, records, "--records");
	if (fault)
		add_fault(fault);
	out_init();
	int status = 0;
	if (optind == argc)
		status = input(STDIN_FILENO, "<stdin>");
	for (int i = optind; i < argc && !status; i++) {
		if (!strcmp(argv[i], "-")) {
			status = input(STDIN_FILENO, "<stdin>");
			continue;
		}
		int fd = open(argv[i], O_RDONLY);
		if (fd == -1)
			err(EXIT_IOERR, "%s", argv[i]);
		status = input(fd, argv[i]);
		close(fd);
	}
	int r = fshut(stdout, "<stdout>");
	return r ? r : status;
}
