/*
 * pb2ndjson — protobuf to NDJSON, driven by a FileDescriptorSet read at run time.
 *
 * Output is the canonical protobuf JSON mapping as Google's json_format.MessageToDict
 * prints it with original field names: fields in number order, 64-bit integers as strings,
 * bytes as padded base64, enums by name, floats in Python's shortest repr. One message is
 * one line; with --records, the top-level message is walked as a stream and each element of
 * one repeated field becomes a line (memory: one element), with --meta envelope fields on a
 * control line after them. Lengths read from the input are never trusted for allocation:
 * buffers grow with the bytes actually read. Bad input ends the run with
 * "FILE: offset N: what" and exit 1.
 */
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "pagepull.h"

#define BLOCK (1u << 18)

static const char usage_text[] =
"usage: pb2ndjson -d DESCRIPTOR_SET -t MESSAGE_TYPE [-u] [--records FIELD]\n"
"                 [--meta NAME=FIELD]... [--delimited] [--int64-numbers] [--enum-numbers]\n"
"                 [--json-names] [--unknown] [--max-record-bytes N] [--max-depth N] [FILE]\n";

/* The input, read in blocks; offsets are counted from the start of the input. */
struct in {
	int fd;
	unsigned char *blk;
	size_t pos, end;
	uint64_t boff;			/* offset of blk[0] */
	long long size;			/* a regular file's size, or -1 */
	int eof;
};

struct meta {
	const char *name;
	const struct pb_field *f;
	int set;
	struct pbj_ent e;
	struct buf val;
};

static struct pbj dec;
static const struct pb_msg *top;
static const struct pb_field *recf;
static struct meta *metas;
static size_t nmetas;
static uint64_t max_record = 64u << 20;
static int delimited;
static uint64_t msg_off, msg_len;	/* --delimited: the current message's prefix */

static int in_fill(struct in *in)
{
	if (in->pos < in->end)
		return 1;
	if (in->eof)
		return 0;
	ssize_t n;
	while ((n = read(in->fd, in->blk, BLOCK)) < 0 && errno == EINTR)
		;
	if (n < 0)
		err(EXIT_IOERR, "%s", dec.name);
	in->boff += in->end;
	in->pos = 0;
	in->end = (size_t)n;
	if (n == 0)
		in->eof = 1;
	return n > 0;
}

static uint64_t in_tell(const struct in *in)
{
	return in->boff + in->pos;
}

/* A varint that may straddle blocks. */
static int in_varint(struct in *in, uint64_t *v)
{
	if (in->end - in->pos >= 10) {
		const unsigned char *p = in->blk + in->pos;
		int r = pbw_varint(&p, in->blk + in->end, v);
		in->pos = (size_t)(p - in->blk);
		return r;
	}
	unsigned char tmp[10];
	size_t n = 0;
	do {
		if (!in_fill(in))
			return PBW_TRUNC;
		tmp[n++] = in->blk[in->pos++];
	} while (tmp[n - 1] & 0x80 && n < 10);
	const unsigned char *p = tmp;
	return pbw_varint(&p, tmp + n, v);
}

static int in_fixed(struct in *in, int n, uint64_t *v)
{
	unsigned char b[8];
	for (int i = 0; i < n; i++) {
		if (!in_fill(in))
			return PBW_TRUNC;
		b[i] = in->blk[in->pos++];
	}
	*v = 0;
	while (n-- > 0)
		*v = *v << 8 | b[n];
	return 0;
}

/* Appends n bytes of input to b (or drops them if b is NULL); -1 at a premature end. */
static int in_take(struct in *in, struct buf *b, uint64_t n)
{
	while (n > 0) {
		if (!in_fill(in))
			return -1;
		size_t k = in->end - in->pos;
		if (k > n)
			k = (size_t)n;
		if (b)
			buf_add(b, in->blk + in->pos, k);
		in->pos += k;
		n -= k;
	}
	return 0;
}

/* A length-delimited value at tag offset toff, checked against the limits, then read: into
 * b, or (view) left in the block when it is there whole. Returns the bytes, *n their count. */
static const unsigned char *take_len(struct in *in, struct buf *b, int view, uint64_t lim,
    uint64_t toff, const struct pb_field *f, uint32_t num, uint64_t cap, size_t *n)
{
	uint64_t len;
	int r = in_varint(in, &len);
	if (r || in_tell(in) > lim)
		pbj_fail(&dec, toff, f, num, r == PBW_LONG ? "over-long varint" : "truncated message");
	uint64_t at = in_tell(in);
	if (b && len > cap)
		pbj_fail(&dec, toff, f, num, "length %llu over the limit of %llu bytes",
		    (unsigned long long)len, (unsigned long long)cap);
	if (len > lim - at || (in->size >= 0 && len > (uint64_t)in->size - at))
		pbj_fail(&dec, toff, f, num, "length %llu past end of message", (unsigned long long)len);
	*n = (size_t)len;
	if (view && len <= in->end - in->pos) {
		in->pos += len;
		return in->blk + in->pos - len;
	}
	if (b)
		buf_reset(b);
	if (in_take(in, b, len))
		pbj_fail(&dec, toff, f, num, "length %llu past end of message", (unsigned long long)len);
	return b && b->p ? (const unsigned char *)b->p : (const unsigned char *)"";
}

static void short_message(void)
{
	pbj_fail(&dec, msg_off, NULL, 0, "message length %llu past end of input",
	    (unsigned long long)msg_len);
}

static void put_ctl(size_t records)
{
	struct buf *o = &dec.out;
	buf_reset(o);
	buf_addc(o, '{');
	for (size_t i = 0; i < nmetas; i++) {
		struct meta *m = &metas[i];
		if (!m->set || (!m->f->presence && pbj_is_default(m->f, &m->e)))
			continue;
		json_key(o, m->name, strlen(m->name));
		m->e.p = (const unsigned char *)(m->val.p ? m->val.p : "");
		pbj_scalar(&dec, m->f, &m->e);
		buf_addc(o, ',');
	}
	buf_addf(o, "\"records\":%zu}", records);
	out_ctl(o);
}

static struct meta *meta_for(const struct pb_field *f)
{
	for (size_t i = 0; i < nmetas; i++)
		if (metas[i].f == f)
			return &metas[i];
	return NULL;
}

/* One top-level message up to lim, walked field by field: the records field's elements
 * are decoded one at a time, the meta fields remembered, the rest skipped. */
static void stream_doc(struct in *in, uint64_t lim)
{
	static struct buf rec;
	unsigned char seen[top->nfields + 1];
	memset(seen, 0, sizeof seen);
	size_t records = 0;
	uint64_t start = in_tell(in);
	for (size_t i = 0; i < nmetas; i++)
		metas[i].set = 0;
	while (in_tell(in) < lim && in_fill(in)) {
		uint64_t toff = in_tell(in), tag;
		int r = in_varint(in, &tag);
		if (r || in_tell(in) > lim)
			pbj_fail(&dec, toff, NULL, 0, r == PBW_LONG ? "over-long varint" : "truncated message");
		uint32_t num = (uint32_t)(tag >> 3);
		int wt = (int)(tag & 7);
		const struct pb_field *f = pbj_check_tag(&dec, top, tag, toff);
		if (f)
			seen[f - top->fields] = 1;
		struct meta *m = f ? meta_for(f) : NULL;
		if (f == recf) {
			size_t n;
			const unsigned char *p = take_len(in, &rec, 1, lim, toff, f, num, max_record, &n);
			buf_reset(&dec.out);
			dec.held = n;
			pbj_message(&dec, recf->msg, p, n, in_tell(in) - n, 1);
			out_line(&dec.out);
			records++;
		} else if (wt == PB_LEN) {
			size_t n;
			take_len(in, m ? &m->val : NULL, 0, lim, toff, f, num, max_record, &n);
			if (m) {
				m->set = 1;
				m->e = (struct pbj_ent){ .num = num, .wt = PB_LEN, .off = toff,
				    .len = m->val.len };
			}
		} else {
			uint64_t v = 0;
			r = wt == PB_VARINT ? in_varint(in, &v) : in_fixed(in, wt == PB_I64 ? 8 : 4, &v);
			if (r || in_tell(in) > lim)
				pbj_fail(&dec, toff, f, num, r == PBW_LONG ? "over-long varint" : "truncated message");
			if (m) {
				m->set = 1;
				m->e = (struct pbj_ent){ .num = num, .wt = (uint8_t)wt, .off = toff, .v = v };
			}
		}
	}
	if (lim != UINT64_MAX && in_tell(in) < lim)
		short_message();
	for (size_t i = 0; i < top->nfields; i++)
		if (top->fields[i].required && !seen[i])
			pbj_fail(&dec, start, NULL, 0, "%s: missing required field %s", top->name,
			    top->fields[i].name);
	if (nmetas)
		put_ctl(records);
}

/* One top-level message up to lim, whole: one line (and a control line with --meta). */
static void whole_doc(struct in *in, uint64_t lim)
{
	static struct buf msg;
	uint64_t start = in_tell(in);
	buf_reset(&msg);
	if (lim == UINT64_MAX)
		while (in_fill(in))
			in_take(in, &msg, in->end - in->pos);
	else if (in_take(in, &msg, lim - start))
		short_message();
	buf_reset(&dec.out);
	dec.held = msg.len;
	pbj_message(&dec, top, (const unsigned char *)(msg.p ? msg.p : ""), msg.len, start, 0);
	out_line(&dec.out);
	if (!nmetas)
		return;
	/* The top level's entries are still in dec's level 0: the last of each meta field. */
	for (size_t i = 0; i < nmetas; i++) {
		metas[i].set = 0;
		const struct pbj_ent *e = pbj_last(&dec, 0, metas[i].f->number);
		if (e) {
			metas[i].set = 1;
			metas[i].e = *e;
			buf_reset(&metas[i].val);
			if (e->wt == PB_LEN)
				buf_add(&metas[i].val, e->p, e->len);
		}
	}
	put_ctl(1);
}

static void run(struct in *in)
{
	void (*doc)(struct in *, uint64_t) = recf ? stream_doc : whole_doc;
	if (!delimited) {
		doc(in, UINT64_MAX);
		return;
	}
	while (in_fill(in)) {
		uint64_t off = in_tell(in), len;
		int r = in_varint(in, &len);
		if (r)
			pbj_fail(&dec, off, NULL, 0, r == PBW_LONG ? "over-long varint" : "truncated message");
		if (!recf && len > max_record)
			pbj_fail(&dec, off, NULL, 0, "message length %llu over the limit of %llu bytes",
			    (unsigned long long)len, (unsigned long long)max_record);
		msg_off = off;
		msg_len = len;
		doc(in, in_tell(in) + len);
	}
}

static void __attribute__((noreturn)) usage(int status)
{
	fputs(usage_text, status ? stderr : stdout);
	exit(status);
}

/* A positive number, with an optional k, M or G suffix (powers of 1024); 0 if allowed. */
static uint64_t number_arg(const char *opt, const char *s, int zero_ok)
{
	unsigned long long v;
	if (arg_size(s, !zero_ok, UINT64_MAX >> 30 << 30, &v))
		errx(EXIT_USAGE, "%s: not a %s number: %s", opt, zero_ok ? "non-negative" : "positive", s);
	return v;
}

static const struct pb_field *top_field(const char *opt, const char *name)
{
	const struct pb_field *f = pb_field_name(top, name, strlen(name));
	if (!f)
		errx(EXIT_USAGE, "%s: %s has no field %s", opt, top->name, name);
	return f;
}

static void add_meta(const char *arg)
{
	const char *eq = strchr(arg, '=');
	if (!eq || eq == arg || !eq[1])
		errx(EXIT_USAGE, "--meta: expected NAME=FIELD, got '%s'", arg);
	metas = xrealloc(metas, (nmetas + 1) * sizeof *metas);
	struct meta *m = &metas[nmetas];
	memset(m, 0, sizeof *m);
	m->name = xstrndup(arg, (size_t)(eq - arg));
	if (!strcmp(m->name, "records"))
		errx(EXIT_USAGE, "--meta: the name '%s' is reserved", m->name);
	for (size_t i = 0; i < nmetas; i++)
		if (!strcmp(metas[i].name, m->name))
			errx(EXIT_USAGE, "--meta: the name '%s' is given twice", m->name);
	m->f = top_field("--meta", eq + 1);
	if (m->f->repeated || m->f->type == PBT_MESSAGE)
		errx(EXIT_USAGE, "--meta: %s is not a singular scalar field", eq + 1);
	nmetas++;
}

int main(int argc, char **argv)
{
	enum { O_RECORDS = 256, O_META, O_DELIM, O_I64, O_ENUM, O_JSON, O_UNK, O_MAXREC, O_DEPTH,
	    O_HELP, O_VERSION };
	static const struct option lopts[] = {
		{ "descriptor-set", required_argument, NULL, 'd' },
		{ "type", required_argument, NULL, 't' },
		{ "unbuffered", no_argument, NULL, 'u' },
		{ "records", required_argument, NULL, O_RECORDS },
		{ "meta", required_argument, NULL, O_META },
		{ "delimited", no_argument, NULL, O_DELIM },
		{ "int64-numbers", no_argument, NULL, O_I64 },
		{ "enum-numbers", no_argument, NULL, O_ENUM },
		{ "json-names", no_argument, NULL, O_JSON },
		{ "unknown", no_argument, NULL, O_UNK },
		{ "max-record-bytes", required_argument, NULL, O_MAXREC },
		{ "max-depth", required_argument, NULL, O_DEPTH },
		{ "help", no_argument, NULL, O_HELP },
		{ "version", no_argument, NULL, O_VERSION },
		{ 0 }
	};
	const char *desc = NULL, *type = NULL, *records = NULL;
	const char **metargs = xcalloc((size_t)argc, sizeof *metargs);
	size_t nmetargs = 0;
	int c;
	uint64_t max_depth = 100;
	while ((c = getopt_long(argc, argv, "d:ht:u", lopts, NULL)) != -1) {
		switch (c) {
		case 'd': desc = optarg; break;
		case 't': type = optarg; break;
		case 'u': out_unbuffered = 1; break;
		case O_RECORDS: records = optarg; break;
		case O_META: metargs[nmetargs++] = optarg; break;
		case O_DELIM: delimited = 1; break;
		case O_I64: dec.int64_numbers = 1; break;
		case O_ENUM: dec.enum_numbers = 1; break;
		case O_JSON: dec.json_names = 1; break;
		case O_UNK: dec.unknown = 1; break;
		case O_MAXREC: max_record = number_arg("--max-record-bytes", optarg, 1); break;
		case O_DEPTH: max_depth = number_arg("--max-depth", optarg, 0); break;
		case 'h':
		case O_HELP: usage(EXIT_OK); break;
		case O_VERSION: free(metargs); print_version(); return fshut(stdout, "<stdout>");
		default: usage(EXIT_USAGE);
		}
	}
	if (!desc || !type)
		warnx("-d DESCRIPTOR_SET and -t MESSAGE_TYPE are both required");
	else if (argc - optind > 1)
		warnx("%s: unexpected argument (one input file at most)", argv[optind + 1]);
	if (!desc || !type || argc - optind > 1)
		usage(EXIT_USAGE);
	static struct pb_schema schema;
	top = pb_load_type(&schema, desc, type);
	if (records) {
		recf = top_field("--records", records);
		if (!recf->repeated || recf->type != PBT_MESSAGE || recf->msg->map_entry)
			errx(EXIT_USAGE, "--records: %s is not a repeated message field", records);
	}
	for (size_t i = 0; i < nmetargs; i++)
		add_meta(metargs[i]);
	free(metargs);
	if (!max_record)
		max_record = UINT64_MAX;
	if (max_depth > 10000)
		errx(EXIT_USAGE, "--max-depth: at most 10000");
	pbj_init(&dec, (int)max_depth);
	dec.limit = max_record == UINT64_MAX ? 0 : max_record;
	struct in in = { .fd = 0, .size = -1 };
	dec.name = "<stdin>";
	if (optind < argc && strcmp(argv[optind], "-")) {
		dec.name = argv[optind];
		if ((in.fd = open(dec.name, O_RDONLY)) < 0)
			err(EXIT_IOERR, "%s", dec.name);
	}
	struct stat st;
	off_t at;
	if (fstat(in.fd, &st) == 0 && S_ISREG(st.st_mode) && (at = lseek(in.fd, 0, SEEK_CUR)) >= 0)
		in.size = st.st_size - at;
	in.blk = xmalloc(BLOCK);
	out_init();
	run(&in);
	free(in.blk);
	return fshut(stdout, "<stdout>");
}
