/*
 * ndjson2pb — NDJSON to protobuf, the inverse of pb2ndjson for request bodies.
 *
 * Each input line is a JSON object in the canonical protobuf JSON mapping (original or
 * lowerCamel field names; 64-bit integers as strings or numbers; bytes as standard or
 * URL-safe base64; enums by name or number; null for "not set"), parsed with cJSON and
 * encoded with the types of a FileDescriptorSet. Fields are written in number order, packed
 * where the schema packs, proto3 zero values left out: the bytes Python's
 * json_format.Parse + SerializeToString would give. Output is one message, or with
 * --delimited a varint length before each. Errors: "FILE:LINE: field PATH: what", exit 1.
 */
#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "pagepull.h"

#define MAX_DEPTH 100
#define NUL_MARK '\xff'

static const char usage_text[] =
"usage: ndjson2pb -d DESCRIPTOR_SET -t MESSAGE_TYPE [-u] [--delimited] [FILE]\n"
"       ndjson2pb -d DESCRIPTOR_SET -t MESSAGE_TYPE [-u] [--variable spec]...\n"
"                 --expand-json json\n";

static const char *fname = "<stdin>";
static long lineno;
static struct buf path;			/* the field being encoded, for errors */
static struct buf scratch[MAX_DEPTH + 2];	/* a nested message's bytes, per level */

static void fail(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
static void fail(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s: %s:%ld: ", program_invocation_short_name, fname, lineno);
	if (path.len)
		fprintf(stderr, "field %s: ", buf_str(&path));
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(EXIT_DATA);
}

static const char *jtype(const cJSON *j)
{
	return cJSON_IsString(j) ? "a string" : cJSON_IsNumber(j) ? "a number" :
	    cJSON_IsBool(j) ? "a boolean" : cJSON_IsArray(j) ? "an array" :
	    cJSON_IsObject(j) ? "an object" : "null";
}

/* b's bytes onto o; an empty buf may have no storage at all */
static void add(struct buf *o, const struct buf *b)
{
	if (b->len)
		buf_add(o, b->p, b->len);
}

static void tag(struct buf *o, const struct pb_field *f, int wt)
{
	pbw_put_varint(o, (uint64_t)f->number << 3 | (unsigned)wt);
}

/* An integer from a JSON number (exact only up to 2^53) or a decimal string. */
static void integer(const cJSON *j, int is_signed, int64_t *s, uint64_t *u)
{
	if (cJSON_IsNumber(j)) {
		double d = j->valuedouble;
		if (d != floor(d) || isinf(d))
			fail("%s is not an integer", cJSON_PrintUnformatted(j));
		if (fabs(d) >= 9007199254740992.0)
			fail("a number of 2^53 or more is not exact in JSON: give 64-bit values as strings");
		if (!is_signed && d < 0)
			fail("%.0f is out of range", d);
		*s = (int64_t)d;
		*u = (uint64_t)*s;
		return;
	}
	if (!cJSON_IsString(j))
		fail("expected an integer, got %s", jtype(j));
	const char *str = j->valuestring, *p = str + (*str == '-');
	if (!*p || strspn(p, "0123456789") != strlen(p))
		fail("\"%s\" is not an integer", str);
	char *end;
	errno = 0;
	if (is_signed)
		*s = strtoll(str, &end, 10), *u = (uint64_t)*s;
	else if (*str == '-')
		errno = ERANGE;
	else
		*u = strtoull(str, &end, 10), *s = (int64_t)*u;
	if (errno)
		fail("%s is out of range", str);
}

static double floating(const cJSON *j, int single)
{
	double d;
	if (cJSON_IsNumber(j))
		d = j->valuedouble;
	else if (cJSON_IsString(j)) {
		const char *s = j->valuestring;
		char *end;
		if (!strcmp(s, "NaN"))
			return NAN;
		if (!strcmp(s, "Infinity"))
			return INFINITY;
		if (!strcmp(s, "-Infinity"))
			return -INFINITY;
		d = strtod(s, &end);
		if (!*s || *end || isinf(d) || isnan(d))
			fail("\"%s\" is not a number", s);
	} else
		fail("expected a number, got %s", jtype(j));
	if (single && isfinite(d) && isinf((float)d))	/* FLT_MAX's shortest form reads above it */
		fail("%g is out of range for a float", d);
	return d;
}

static int utf8_valid(const char *s, size_t n)
{
	for (size_t i = 0, k; i < n; i += k)
		if (!(k = utf8_seqlen((const unsigned char *)s + i, n - i)))
			return 0;
	return 1;
}

/* cJSON's strings end at a NUL, so before parsing each \u0000 escape becomes the byte 0xFF
 * (never part of UTF-8, and the line was checked to be UTF-8), turned back when encoding. */
static size_t mark_nuls(char *s, size_t n)
{
	size_t o = 0;
	for (size_t i = 0; i < n;) {
		if (s[i] == '\\' && i + 5 < n && !memcmp(s + i + 1, "u0000", 5)) {
			s[o++] = NUL_MARK;
			i += 6;
		} else if (s[i] == '\\' && i + 1 < n) {
			s[o++] = s[i++];
			s[o++] = s[i++];
		} else
			s[o++] = s[i++];
	}
	return o;
}

static void message(const struct pb_msg *m, const cJSON *obj, struct buf *o, int depth);

/* One value of field f without its tag; 0 if it is the zero value (for proto3 fields). */
static int value(const struct pb_field *f, const cJSON *j, struct buf *o, int depth)
{
	int64_t s = 0;
	uint64_t u = 0;
	switch (f->type) {
	case PBT_MESSAGE: {
		if (!cJSON_IsObject(j))
			fail("expected an object, got %s", jtype(j));
		struct buf *sub = &scratch[depth + 1];
		message(f->msg, j, sub, depth + 1);
		pbw_put_varint(o, sub->len);
		add(o, sub);
		return 1;
	}
	case PBT_STRING:
		if (!cJSON_IsString(j))
			fail("expected a string, got %s", jtype(j));
		u = strlen(j->valuestring);
		pbw_put_varint(o, u);
		buf_add(o, j->valuestring, u);
		for (char *c = o->p + o->len - u; c < o->p + o->len; c++)
			if (*c == NUL_MARK)
				*c = 0;
		return u > 0;
	case PBT_BYTES: {
		if (!cJSON_IsString(j))
			fail("expected a base64 string, got %s", jtype(j));
		struct buf *b = &scratch[depth + 1];
		buf_reset(b);
		if (b64_decode(b, j->valuestring, strlen(j->valuestring)))
			fail("not base64: \"%s\"", j->valuestring);
		pbw_put_varint(o, b->len);
		add(o, b);
		return b->len > 0;
	}
	case PBT_BOOL:
		if (!cJSON_IsBool(j))
			fail("expected true or false, got %s", jtype(j));
		buf_addc(o, cJSON_IsTrue(j));
		return cJSON_IsTrue(j);
	case PBT_ENUM: {
		int32_t n;
		if (cJSON_IsString(j)) {
			if (pb_enum_number(f->en, j->valuestring, strlen(j->valuestring), &n))
				fail("\"%s\" is not a value of %s", j->valuestring, f->en->name);
		} else {
			integer(j, 1, &s, &u);
			if (s < INT32_MIN || s > INT32_MAX)
				fail("%lld is out of range", (long long)s);
			n = (int32_t)s;
			if (f->en->closed && !pb_enum_name(f->en, n))
				fail("%d is not a value of %s", n, f->en->name);
		}
		pbw_put_varint(o, (uint64_t)(int64_t)n);
		return n != 0;
	}
	case PBT_DOUBLE: case PBT_FLOAT: {
		double d = floating(j, f->type == PBT_FLOAT);
		if (f->type == PBT_FLOAT) {
			float x = (float)d;
			memcpy(&u, &x, 4);
			pbw_put_fixed(o, u, 4);
		} else {
			memcpy(&u, &d, 8);
			pbw_put_fixed(o, u, 8);
		}
		return u != 0;
	}
	}
	int is_signed = f->type == PBT_INT32 || f->type == PBT_INT64 || f->type == PBT_SINT32 ||
	    f->type == PBT_SINT64 || f->type == PBT_SFIXED32 || f->type == PBT_SFIXED64;
	int wide = f->type == PBT_INT64 || f->type == PBT_UINT64 || f->type == PBT_SINT64 ||
	    f->type == PBT_FIXED64 || f->type == PBT_SFIXED64;
	integer(j, is_signed, &s, &u);
	if (!wide && (is_signed ? s < INT32_MIN || s > INT32_MAX : u > UINT32_MAX))
		fail("%s is out of range", cJSON_IsString(j) ? j->valuestring : cJSON_PrintUnformatted(j));
	switch (f->type) {
	case PBT_SINT32: pbw_put_varint(o, (uint32_t)s << 1 ^ (uint32_t)(s < 0 ? -1 : 0)); break;
	case PBT_SINT64: pbw_put_varint(o, pbw_zigzag(s)); break;
	case PBT_FIXED32: case PBT_SFIXED32: pbw_put_fixed(o, u, 4); break;
	case PBT_FIXED64: case PBT_SFIXED64: pbw_put_fixed(o, u, 8); break;
	case PBT_UINT32: pbw_put_varint(o, u); break;
	default: pbw_put_varint(o, (uint64_t)s); break;	/* int32 and int64: sign-extended */
	}
	return u != 0;
}

/* Appends .name or [index] to the path; a name that is not a plain word is quoted, its
 * control characters (and NUL_MARK) escaped, so that an error stays one line. */
static void path_push(size_t *mark, const char *name, long index)
{
	*mark = path.len;
	if (!name) {
		buf_addf(&path, "[%ld]", index);
		return;
	}
	if (path.len)
		buf_addc(&path, '.');
	size_t n = strlen(name);
	if (n && strcspn(name, "\"\\.[] \xff\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c"
	    "\x0d\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f\x7f") == n) {
		buf_add(&path, name, n);
		return;
	}
	buf_addc(&path, '"');
	for (const unsigned char *c = (const unsigned char *)name; *c; c++)
		if (*c < 0x20 || *c == 0x7f || *c == 0xff)
			buf_addf(&path, "\\u%04x", *c == 0xff ? 0 : *c);
		else {
			if (*c == '"' || *c == '\\')
				buf_addc(&path, '\\');
			buf_addc(&path, (char)*c);
		}
	buf_addc(&path, '"');
}

/* A map: each member of the object becomes an entry message {1: key, 2: value}. */
static void map(const struct pb_field *f, const cJSON *obj, struct buf *o, int depth)
{
	const struct pb_field *kf = pb_field_num(f->msg, 1), *vf = pb_field_num(f->msg, 2);
	if (!cJSON_IsObject(obj))
		fail("expected an object, got %s", jtype(obj));
	struct buf *e = &scratch[depth + 1];
	for (const cJSON *it = obj->child; it; it = it->next) {
		size_t mark;
		path_push(&mark, it->string, 0);
		buf_reset(e);
		cJSON *key = cJSON_CreateString(it->string);
		if (kf->type == PBT_BOOL) {
			if (strcmp(it->string, "true") && strcmp(it->string, "false"))
				fail("map key is not true or false");
			cJSON_Delete(key);
			key = cJSON_CreateBool(!strcmp(it->string, "true"));
		}
		tag(e, kf, kf->wire);
		value(kf, key, e, depth + 1);
		cJSON_Delete(key);
		struct buf v = {0};	/* the value may itself need this level's scratch */
		tag(&v, vf, vf->wire);
		value(vf, it, &v, depth + 1);
		add(e, &v);
		buf_free(&v);
		tag(o, f, PB_LEN);
		pbw_put_varint(o, e->len);
		add(o, e);
		path.len = mark;
	}
}

static void field(const struct pb_field *f, const cJSON *j, struct buf *o, int depth)
{
	if (f->repeated && f->type == PBT_MESSAGE && f->msg->map_entry) {
		map(f, j, o, depth);
		return;
	}
	if (!f->repeated) {
		size_t mark = o->len;
		tag(o, f, f->wire);
		if (!value(f, j, o, depth) && !f->presence)
			o->len = mark;		/* proto3 leaves zero values out */
		return;
	}
	if (!cJSON_IsArray(j))
		fail("expected an array, got %s", jtype(j));
	struct buf packed = {0};
	long i = 0;
	for (const cJSON *it = j->child; it; it = it->next, i++) {
		size_t mark;
		path_push(&mark, NULL, i);
		if (cJSON_IsNull(it))
			fail("null in a repeated field");
		if (!f->packed)
			tag(o, f, f->wire);
		value(f, it, f->packed ? &packed : o, depth);
		path.len = mark;
	}
	if (f->packed && i > 0) {
		tag(o, f, PB_LEN);
		pbw_put_varint(o, packed.len);
		add(o, &packed);
	}
	buf_free(&packed);
}

static void message(const struct pb_msg *m, const cJSON *obj, struct buf *o, int depth)
{
	if (depth > MAX_DEPTH)
		fail("nesting deeper than %d levels", MAX_DEPTH);
	const cJSON **by = xcalloc(m->nfields + 1, sizeof *by);
	const struct pb_field **oneof = xcalloc((size_t)m->noneofs + 1, sizeof *oneof);
	for (const cJSON *it = obj->child; it; it = it->next) {
		size_t mark;
		path_push(&mark, it->string, 0);
		const struct pb_field *f = pb_field_name(m, it->string, strlen(it->string));
		if (!f)
			fail("no such field in %s", m->name);
		if (by[f - m->fields])
			fail("given twice");
		by[f - m->fields] = it;
		if (!cJSON_IsNull(it) && f->oneof >= 0) {
			if (oneof[f->oneof])
				fail("%s is set too, and both belong to one oneof", oneof[f->oneof]->name);
			oneof[f->oneof] = f;
		}
		path.len = mark;
	}
	buf_reset(o);
	for (size_t i = 0; i < m->nfields; i++) {
		const struct pb_field *f = &m->fields[i];
		size_t mark;
		path_push(&mark, f->name, 0);
		if (by[i] && !cJSON_IsNull(by[i]))
			field(f, by[i], o, depth);
		else if (f->required)
			fail("required field missing");
		path.len = mark;
	}
	free(by);
	free(oneof);
}

/* --variable NAME@FILE: the file ("-": stdin) or a usage error. */
static FILE *open_input(const char *name)
{
	if (strcmp(name, "-") == 0)
		return stdin;
	FILE *f = fopen(name, "rb");
	if (!f)
		err(EXIT_USAGE, "%s", name);
	return f;
}

static void __attribute__((noreturn)) usage(int status)
{
	fputs(usage_text, status ? stderr : stdout);
	exit(status);
}

/* One line: skipped if blank or a control line, else one message into msg. */
static int line(char *s, size_t n, const struct pb_msg *top, struct buf *msg)
{
	if (strspn(s, " \t\r") == n || *s == CTL_RS)
		return 0;
	if (!utf8_valid(s, n))
		fail("invalid UTF-8");
	n = mark_nuls(s, n);
	const char *end = NULL;
	cJSON *j = cJSON_ParseWithLengthOpts(s, n, &end, 0);
	if (j && end)
		end += strspn(end, " \t\r");
	if (!j || (end && (size_t)(end - s) < n)) {
		fprintf(stderr, "%s: %s:%ld:%ld: invalid JSON\n", program_invocation_short_name, fname,
		    lineno, end ? (long)(end - s) + 1 : 1L);
		cJSON_Delete(j);	/* a leak checker's exit is otherwise not clean */
		exit(EXIT_DATA);
	}
	if (!cJSON_IsObject(j))
		fail("expected an object, got %s", jtype(j));
	message(top, j, msg, 0);
	cJSON_Delete(j);
	return 1;
}

int main(int argc, char **argv)
{
	enum { O_DELIM = 256, O_HELP, O_VERSION, O_VARIABLE, O_EXPAND_JSON };
	static const struct option lopts[] = {
		{ "descriptor-set", required_argument, NULL, 'd' },
		{ "type", required_argument, NULL, 't' },
		{ "unbuffered", no_argument, NULL, 'u' },
		{ "delimited", no_argument, NULL, O_DELIM },
		{ "variable", required_argument, NULL, O_VARIABLE },
		{ "expand-json", required_argument, NULL, O_EXPAND_JSON },
		{ "help", no_argument, NULL, O_HELP },
		{ "version", no_argument, NULL, O_VERSION },
		{ 0 }
	};
	const char *desc = NULL, *type = NULL, *why;
	static struct buf expanded;	/* static: still reachable at exit, as scratch is (LeakSanitizer) */
	int c, delimited = 0, have_json = 0;
	while ((c = getopt_long(argc, argv, "d:ht:u", lopts, NULL)) != -1) {
		switch (c) {
		case 'd': desc = optarg; break;
		case 't': type = optarg; break;
		case 'u': out_unbuffered = 1; break;
		case O_DELIM: delimited = 1; break;
		case O_VARIABLE:
			if (var_set(optarg, open_input, &why) == -1) {
				const char *name = optarg + (optarg[0] == '%');
				warnx("--variable: %.*s: %s", (int)strcspn(name, "=@"), name, why);
				usage(EXIT_USAGE);
			}
			break;
		case O_EXPAND_JSON:
			if (have_json++) {
				warnx("--expand-json: only one message");
				usage(EXIT_USAGE);
			}
			if (var_expand(optarg, &expanded, &why) == -1) {
				warnx("--expand-json: %s", why);
				usage(EXIT_USAGE);
			}
			break;
		case 'h':
		case O_HELP: usage(EXIT_OK); break;
		case O_VERSION: print_version(); return fshut(stdout, "<stdout>");
		default: usage(EXIT_USAGE);
		}
	}
	if (!desc || !type)
		warnx("-d DESCRIPTOR_SET and -t MESSAGE_TYPE are both required");
	else if (argc - optind > 1)
		warnx("%s: unexpected argument (one input file at most)", argv[optind + 1]);
	else if (have_json && (argc > optind || delimited))
		warnx("--expand-json: not with an input file or --delimited");
	if (!desc || !type || argc - optind > 1 || (have_json && (argc > optind || delimited)))
		usage(EXIT_USAGE);
	var_free();
	static struct pb_schema schema;
	const struct pb_msg *top = pb_load_type(&schema, desc, type);
	struct linereader lr = { .f = stdin };
	if (have_json) {	/* the one message, from the command line: stdin is not read */
		fname = "--expand-json";
		lineno = 1;
		buf_addc(&expanded, '\0');
		expanded.len--;
		if (!line(expanded.p, expanded.len, top, &scratch[0]))
			fail("no message");
		out_init();
		out_write(scratch[0].p, scratch[0].len);
		return fshut(stdout, "<stdout>");
	}
	if (optind < argc && strcmp(argv[optind], "-")) {
		fname = argv[optind];
		if (!(lr.f = fopen(fname, "r")))
			err(EXIT_IOERR, "%s", fname);
	}
	out_init();
	struct buf *msg = &scratch[0], len = {0};
	long first = 0;
	ssize_t n;
	while ((n = line_read(&lr)) != -1) {
		lineno = lr.lineno;
		if (!delimited && first && strspn(lr.line, " \t\r") != (size_t)n && *lr.line != CTL_RS)
			fail("a second message (line %ld was the first): use --delimited", first);
		if (!line(lr.line, (size_t)n, top, msg))
			continue;
		first = lineno;
		if (delimited) {
			buf_reset(&len);
			pbw_put_varint(&len, msg->len);
			out_write(len.p, len.len);
			out_write(msg->p, msg->len);
		}
	}
	if (ferror(lr.f))
		err(EXIT_IOERR, "%s", fname);
	if (!delimited && first)
		out_write(msg->p, msg->len);
	free(lr.line);
	buf_free(&len);
	return fshut(stdout, "<stdout>");
}
