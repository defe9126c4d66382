/*
 * xml2ndjson — XML to NDJSON, streaming, in flat memory.
 *
 * expat's SAX events drive everything. Paths (lib/xmlpath.c) are matched as elements
 * open, by namespace URI and local name, one bit mask per path and depth. Inside an
 * element matching --records PATH, events become JSON at once (lib/xmljson.c), and the
 * record is one line when it ends, so only one record is ever held; without --records
 * the whole document is one line. --meta values, and a SOAP 1.1/1.2 Fault (lib/
 * xmlfault.c), end the document's output as one control line (HACKING.md); --text
 * streams one element's raw text. Input, encodings and UTF-8 repair: lib/xmlin.c.
 * Hostile input: no external entities, expat's amplification limits, a depth limit, a
 * record size limit (the record's JSON and its bookkeeping), and a limit on what expat
 * itself allocates (the token it buffers whole, a DTD's declarations); --no-dtd refuses
 * a document type declaration outright, as SOAP does.
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
#include "xml.h"

#define BUFSZ (64 * 1024)	/* output is written in blocks of this size */

/* path[] holds, in this order: records, text, the two SOAP Faults, metas, arrays. */
enum { P_RECORDS, P_TEXT, P_FAULT11, P_FAULT12, P_META };

struct meta {
	const char *name, *src;
	struct buf val;
	int depth, found;
};

static struct {			/* the command line's settings */
	struct xmlns ns[64];
	size_t nns;
	const char *records, *text, *metaout;
	const char **arrays;
	struct meta *meta;
	int nmeta, quiet, quietfaults, qualified, wholedoc, nodtd, bareattrs;
	long maxdepth;
	size_t maxrec;
	FILE *metaf;
} opts = { .maxdepth = 256, .maxrec = 64 << 20 };

static struct xpath *path;
static char **arrname;	/* expat name of a forced empty array, per array path */
static int npath, parray;

static struct {			/* the document being read and its parser */
	XML_Parser p;
	const char *fname;
	int depth, capdepth, capfault, faultdepth, v12, textdepth, nactive, indtd;
	long records;
	int fault;
	uint64_t *mask;		/* (maxdepth + 2) rows of npath masks */
	uint32_t *cursor;	/* per depth: key lookup cursors (xj_key) */
	struct xjson j;
	struct buf out, faultjson;
	char errbuf[160];
	const char *errmsg;
	unsigned long errline, errcol;
	struct xmlin in;
} doc;

static void __attribute__((noreturn)) usage(int status)
{
	FILE *f = status ? stderr : stdout;
	fputs("usage: xml2ndjson [-qu] [-N PREFIX=URI]... [--records PATH] [--array NAME|PATH]...\n"
	      "                  [--meta NAME=PATH]... [--meta-out FILE] [--text PATH] [--qualified]\n"
	      "                  [--max-depth N] [--max-record-bytes N] [--no-dtd] [--bare-attrs]\n"
	      "                  [--quiet-faults] [FILE...]\n", f);
	exit(status);
}

static void bad_usage(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vwarnx(fmt, ap);
	va_end(ap);
	usage(EXIT_USAGE);
}

/* Stops the parser with our own error at the current position. */
static void fail(const char *fmt, ...)
{
	va_list ap;
	doc.errline = XML_GetCurrentLineNumber(doc.p);
	doc.errcol = XML_GetCurrentColumnNumber(doc.p) + 1;
	va_start(ap, fmt);
	vsnprintf(doc.errbuf, sizeof doc.errbuf, fmt, ap);
	va_end(ap);
	doc.errmsg = doc.errbuf;
	XML_SetElementHandler(doc.p, NULL, NULL);
	XML_SetCharacterDataHandler(doc.p, NULL);
	XML_StopParser(doc.p, XML_FALSE);
}

/* Forgets path i for the rest of the document (a meta or --text found). */
static void drop_path(int i)
{
	for (long k = 0; k <= opts.maxdepth + 1; k++)
		doc.mask[k * npath + i] = 0;
}

static void check_size(void)
{
	if (xj_full(&doc.j))
		fail("record larger than --max-record-bytes (%zu)", opts.maxrec);
}

/* An element inside a record or fault, its attributes as "@" members. */
static void json_start(uint32_t key, const XML_Char **atts, const uint64_t *m)
{
	int flags = 0;
	for (int a = parray; a < npath; a++)
		if (xpath_matched(&path[a], m[a]))
			flags = XJ_ARRAY;
	xj_start(&doc.j, key, flags);
	for (int i = 0; atts[i]; i += 2) {
		uint32_t k = xj_key(&doc.j, atts[i], 1, &doc.cursor[doc.depth + 1], NULL);
		if (!xj_isnil(&doc.j, k))
			xj_attr(&doc.j, k, atts[i + 1], strlen(atts[i + 1]));
		else if (!strcmp(atts[i + 1], "true") || !strcmp(atts[i + 1], "1"))
			xj_nil(&doc.j);
	}
	check_size();
}

static void meta_start(const uint64_t *m, const XML_Char **atts)
{
	for (int k = 0; k < opts.nmeta; k++) {
		struct meta *mt = &opts.meta[k];
		const struct xpath *xp = &path[P_META + k];
		if (mt->depth || !xpath_matched(xp, m[P_META + k]))
			continue;
		if (!xp->hasattr) {
			mt->depth = doc.depth;
			doc.nactive++;
			continue;
		}
		for (int i = 0; atts[i]; i += 2) {
			struct xname an;
			xname_split(&an, atts[i]);
			if (xpath_attr_match(xp, &an)) {
				buf_adds(&mt->val, atts[i + 1]);
				mt->found = 1;
				drop_path(P_META + k);
				break;
			}
		}
	}
}

static void XMLCALL on_start(void *u, const XML_Char *name, const XML_Char **atts)
{
	if (++doc.depth > opts.maxdepth) {
		fail("nesting deeper than --max-depth (%ld)", opts.maxdepth);
		return;
	}
	if (!doc.capdepth)
		xj_trim(&doc.j);	/* no key ids are held outside a record */
	uint32_t key = xj_key(&doc.j, name, 0, &doc.cursor[doc.depth], &doc.cursor[doc.depth + 1]);
	const struct xname *nm = xj_name(&doc.j, key);
	uint64_t *pm = doc.mask + (size_t)(doc.depth - 1) * npath, *m = pm + npath, live = 0;
	for (int i = 0; i < npath; i++)
		live |= pm[i];
	if (!live)		/* inside a record, as a rule: no path can match */
		memset(m, 0, (size_t)npath * sizeof *m);
	else
		for (int i = 0; i < npath; i++)
			m[i] = pm[i] ? xpath_next(&path[i], pm[i], nm) : 0;
	int f11 = xpath_matched(&path[P_FAULT11], m[P_FAULT11]);
	int f12 = xpath_matched(&path[P_FAULT12], m[P_FAULT12]);
	if (doc.capdepth) {
		json_start(key, atts, m);
		if ((f11 || f12) && !doc.faultdepth) {	/* whole-document mode */
			doc.faultdepth = doc.depth;
			doc.v12 = f12;
		}
	} else if (xpath_matched(&path[P_RECORDS], m[P_RECORDS]) || f11 || f12 ||
		   (opts.wholedoc && doc.depth == 1)) {
		doc.capdepth = doc.depth;
		doc.capfault = !opts.wholedoc && (f11 || f12);
		if (f11 || f12) {
			doc.faultdepth = doc.depth;
			doc.v12 = f12;
		}
		if (!opts.wholedoc)	/* records do not nest; nor faults in records */
			m[P_RECORDS] = m[P_FAULT11] = m[P_FAULT12] = 0;
		xj_begin(&doc.j, opts.wholedoc);
		json_start(key, atts, m);
	}
	if (opts.nmeta)
		meta_start(m, atts);
	if (!doc.textdepth && xpath_matched(&path[P_TEXT], m[P_TEXT]))
		doc.textdepth = doc.depth;
}

/* A Fault element ended: its summary into doc.faultjson. */
static void fault_end(const char *json, size_t len)
{
	buf_reset(&doc.faultjson);
	xmlfault_json(&doc.faultjson, json, len, doc.v12);
	doc.fault = 1;
}

/* ---- --bare-attrs ---- */

/* One member of a record's top-level object: its key without the quotes (and without
 * the "@" of an attribute), and its value's JSON, as offsets into the record. */
struct member {
	size_t key, keylen, val, vallen;
};

static struct member *bare_mem;
static size_t bare_cap;
static uint32_t *bare_slot;	/* open addressing: member index + 1 by key */
static size_t bare_slots;
static struct buf bare_out;

/* The end of the JSON string whose opening quote is at s[i]: just past its closing quote. */
static size_t skip_string(const char *s, size_t i)
{
	for (i++; s[i] != '"'; i++)
		if (s[i] == '\\')
			i++;
	return i + 1;
}

/* The end of the JSON value at s[i] (our own compact output: well formed). */
static size_t skip_value(const char *s, size_t i)
{
	int depth = 0;
	do {
		if (s[i] == '"')
			i = skip_string(s, i);
		else {
			if (s[i] == '{' || s[i] == '[')
				depth++;
			else if (s[i] == '}' || s[i] == ']')
				depth--;
			else if (!depth)	/* null (or a number, true, false) */
				while (s[i + 1] != ',' && s[i + 1] != '}' && s[i + 1] != ']')
					i++;
			i++;
		}
	} while (depth);
	return i;
}

static uint32_t *bare_lookup(const char *s, const struct member *m)
{
	uint32_t h = 2166136261u, *e;
	for (size_t i = 0; i < m->keylen; i++)
		h = (h ^ (unsigned char)s[m->key + i]) * 16777619u;
	for (size_t i = h & (bare_slots - 1);; i = (i + 1) & (bare_slots - 1)) {
		e = &bare_slot[i];
		if (!*e)
			return e;
		const struct member *o = &bare_mem[*e - 1];
		if (o->keylen == m->keylen && !memcmp(s + o->key, s + m->key, m->keylen))
			return e;
	}
}

/* JSON text with DEL escaped, as jq writes it. */
static void bare_put(struct buf *b, const char *s, size_t n)
{
	const char *del;
	while ((del = memchr(s, 0x7f, n))) {
		buf_add(b, s, (size_t)(del - s));
		buf_add(b, "\\u007f", 6);
		n -= (size_t)(del - s) + 1;
		s = del + 1;
	}
	buf_add(b, s, n);
}

/* The record at out[base..] rewritten as jq -c 'with_entries(.key |= ltrimstr("@"))'
 * writes it (docsvision-card ran that on rows in attribute form, at the cost of a jq
 * a page): its own attributes without their "@" (a child element of the same name then
 * gives the member its value, in the attribute's place: the last one wins, the first
 * keeps the place), DEL as \u007f, all else byte for byte. */
static void bare_attrs(struct buf *out, size_t base)
{
	const char *s = out->p + base;
	size_t n = 0, i = 1;
	while (s[i] != '}') {
		if (n == bare_cap) {
			bare_cap = bare_cap ? bare_cap * 2 : 64;
			bare_mem = xrealloc(bare_mem, bare_cap * sizeof *bare_mem);
		}
		struct member *m = &bare_mem[n++];
		size_t end = skip_string(s, i);
		m->key = i + 1 + (s[i + 1] == '@');
		m->keylen = end - 1 - m->key;
		m->val = end + 1;
		i = skip_value(s, m->val);
		m->vallen = i - m->val;
		if (s[i] == ',')
			i++;
	}
	if (n * 2 > bare_slots) {
		while (n * 2 > bare_slots)
			bare_slots = bare_slots ? bare_slots * 2 : 128;
		free(bare_slot);
		bare_slot = xcalloc(bare_slots, sizeof *bare_slot);
	} else
		memset(bare_slot, 0, bare_slots * sizeof *bare_slot);
	size_t kept = 0;	/* members that keep their place, packed at the front */
	for (size_t k = 0; k < n; k++) {
		uint32_t *e = bare_lookup(s, &bare_mem[k]);
		if (*e) {	/* a later one of a key: its value, in the first one's place */
			bare_mem[*e - 1].val = bare_mem[k].val;
			bare_mem[*e - 1].vallen = bare_mem[k].vallen;
		} else {
			bare_mem[kept] = bare_mem[k];
			*e = (uint32_t)++kept;
		}
	}
	buf_reset(&bare_out);
	buf_addc(&bare_out, '{');
	for (size_t k = 0; k < kept; k++) {
		const struct member *m = &bare_mem[k];
		if (k)
			buf_addc(&bare_out, ',');
		buf_addc(&bare_out, '"');
		bare_put(&bare_out, s + m->key, m->keylen);
		buf_add(&bare_out, "\":", 2);
		bare_put(&bare_out, s + m->val, m->vallen);
	}
	buf_addc(&bare_out, '}');
	out->len = base;
	buf_add(out, bare_out.p, bare_out.len);
}

/* Writes the records gathered so far. */
static void flush_out(void)
{
	if (doc.j.out.len)
		out_write(doc.j.out.p, doc.j.out.len);
	buf_reset(&doc.j.out);
}

static void XMLCALL on_end(void *u, const XML_Char *name)
{
	if (doc.capdepth) {
		const uint64_t *m = doc.mask + (size_t)doc.depth * npath;
		for (int a = parray; a < npath; a++) {
			const struct xpath *xp = &path[a];
			if (arrname[a - parray] && (m[a] >> (xp->n - 1) & 1))
				xj_emptyarray(&doc.j, xj_key(&doc.j, arrname[a - parray], 0, NULL, NULL));
		}
		xj_end(&doc.j);
		if (doc.faultdepth == doc.depth) {
			fault_end(doc.j.out.p + doc.j.lastval, doc.j.lastlen);
			doc.faultdepth = 0;
		}
		if (doc.depth == doc.capdepth) {
			doc.capdepth = 0;
			if (doc.capfault || (opts.wholedoc && doc.fault))
				doc.j.out.len = doc.j.base;	/* a fault is no record */
			else {
				if (opts.bareattrs)
					bare_attrs(&doc.j.out, doc.j.base);
				buf_addc(&doc.j.out, '\n');
				doc.records++;
				if (out_unbuffered || doc.j.out.len >= BUFSZ)
					flush_out();
			}
		}
	}
	for (int k = 0; doc.nactive && k < opts.nmeta; k++)
		if (opts.meta[k].depth == doc.depth) {
			opts.meta[k].depth = 0;
			opts.meta[k].found = 1;
			doc.nactive--;
			drop_path(P_META + k);
		}
	if (doc.textdepth == doc.depth) {
		doc.textdepth = 0;
		doc.records = 1;
		drop_path(P_TEXT);
	}
	doc.depth--;
}

static void XMLCALL on_chars(void *u, const XML_Char *s, int len)
{
	if (doc.capdepth && xj_chars(&doc.j, s, (size_t)len))
		check_size();
	for (int k = 0; doc.nactive && k < opts.nmeta; k++)
		if (opts.meta[k].depth) {
			buf_add(&opts.meta[k].val, s, (size_t)len);
			if (opts.meta[k].val.len > opts.maxrec)
				fail("--meta %s larger than --max-record-bytes", opts.meta[k].name);
		}
	if (doc.textdepth)
		out_write(s, (size_t)len);
}

/* External entities are never loaded: a reference to one is an error. */
static int XMLCALL on_extent(XML_Parser p, const XML_Char *ctx, const XML_Char *base,
			     const XML_Char *sysid, const XML_Char *pubid)
{
	return XML_STATUS_ERROR;
}

/* A document type declaration: refused with --no-dtd (SOAP 1.1, section 3, and SOAP 1.2
 * say a message must not have one); otherwise noted, for the message if it is too big. */
static void XMLCALL on_doctype(void *u, const XML_Char *name, const XML_Char *sysid,
			       const XML_Char *pubid, int has_internal_subset)
{
	if (opts.nodtd)
		fail("document type declaration, refused by --no-dtd");
	doc.indtd = 1;
}

static void XMLCALL on_doctype_end(void *u)
{
	doc.indtd = 0;
}

/* What expat was doing when its memory ran past the bound. */
static const char *refusal(void)
{
	if (doc.in.toolong && !doc.indtd)
		return "token larger than --max-record-bytes";
	snprintf(doc.errbuf, sizeof doc.errbuf, "%s larger than --max-record-bytes (%zu)",
		 doc.indtd ? "DTD" : "parser state", opts.maxrec);
	return doc.errbuf;
}

/* Parses the document on fd; 0, or an exit status with the error reported. */
static int parse_fd(int fd)
{
	int r = xmlin_parse(&doc.in, doc.p, fd);
	if (r < 0) {
		warn("%s", doc.fname);
		return EXIT_IOERR;
	}
	if (r == 0)
		return 0;
	if (!doc.errmsg) {
		doc.errmsg = doc.in.toolong || xmlin_refused() ? refusal() :
			   XML_ErrorString(XML_GetErrorCode(doc.p));
		doc.errline = XML_GetCurrentLineNumber(doc.p);
		doc.errcol = XML_GetCurrentColumnNumber(doc.p) + 1;
	}
	if (doc.capdepth)
		doc.j.out.len = doc.j.base;	/* the unfinished record */
	flush_out();
	warnx("%s:%lu:%lu: %s", doc.fname, doc.errline, doc.errcol, doc.errmsg);
	return EXIT_DATA;
}

/* After a document: the control line (metas, fault, record count) where it belongs. */
static void control_line(void)
{
	if (!opts.nmeta && !doc.fault)
		return;
	struct buf *b = &doc.out;
	buf_reset(b);
	buf_addc(b, '{');
	for (int k = 0; k < opts.nmeta; k++)
		if (opts.meta[k].found) {
			json_key(b, opts.meta[k].name, strlen(opts.meta[k].name));
			json_str(b, opts.meta[k].val.p, opts.meta[k].val.len);
			buf_addc(b, ',');
		}
	if (doc.fault) {
		buf_adds(b, "\"fault\":");
		buf_add(b, doc.faultjson.p, doc.faultjson.len);
		buf_addc(b, ',');
	}
	buf_addf(b, "\"records\":%ld}", doc.records);
	if (opts.metaf) {
		/* the object alone, as jq reads it; a pipeline adds the RS when it forwards it */
		if (fwrite(b->p, 1, b->len, opts.metaf) != b->len || fputc('\n', opts.metaf) == EOF ||
		    fflush(opts.metaf) == EOF)
			err(EXIT_IOERR, "%s", opts.metaout);
	} else if (!opts.text) {
		buf_addc(&doc.j.out, CTL_RS);
		buf_add(&doc.j.out, b->p, b->len);
		buf_addc(&doc.j.out, '\n');
	}
}

static int run(const char *fname)
{
	int fd = 0;
	doc.fname = "<stdin>";
	if (strcmp(fname, "-")) {
		doc.fname = fname;
		if ((fd = open(fname, O_RDONLY)) < 0) {
			warn("%s", fname);
			return EXIT_IOERR;
		}
	}
	doc.p = xmlin_create(&doc.in, XNS_SEP);
	if (!doc.p)
		errx(EXIT_IOERR, "out of memory");
	XML_SetElementHandler(doc.p, on_start, on_end);
	XML_SetCharacterDataHandler(doc.p, on_chars);
	XML_SetExternalEntityRefHandler(doc.p, on_extent);
	XML_SetDoctypeDeclHandler(doc.p, on_doctype, on_doctype_end);
	XML_SetParamEntityParsing(doc.p, XML_PARAM_ENTITY_PARSING_NEVER);
	XML_SetUnknownEncodingHandler(doc.p, xmlin_unknown_encoding, NULL);
	XML_SetBillionLaughsAttackProtectionMaximumAmplification(doc.p, 100.0f);
	XML_SetBillionLaughsAttackProtectionActivationThreshold(doc.p, 4 << 20);
	doc.depth = doc.capdepth = doc.faultdepth = doc.textdepth = 0;
	doc.nactive = doc.fault = doc.indtd = 0;
	doc.records = 0;
	doc.errmsg = NULL;
	for (int i = 0; i < npath; i++)
		doc.mask[i] = i == P_RECORDS ? opts.records != NULL : i == P_TEXT ? opts.text != NULL : 1;
	for (int k = 0; k < opts.nmeta; k++) {
		opts.meta[k].depth = opts.meta[k].found = 0;
		buf_reset(&opts.meta[k].val);
	}
	int rc = parse_fd(fd);
	flush_out();
	XML_ParserFree(doc.p);
	if (fd > 0)
		close(fd);
	if (rc)
		return rc;
	control_line();
	flush_out();
	if (doc.fault && !opts.quiet && !opts.quietfaults)
		warnx("%s: SOAP fault: %s", doc.fname, buf_str(&doc.faultjson));
	return doc.fault ? EXIT_FAULT : 0;
}

static size_t number(const char *opt, const char *s, size_t min, size_t max)
{
	unsigned long long v;
	if (arg_size(s, min, max, &v))
		bad_usage("%s: not a number from %zu to %zu: %s", opt, min, max, s);
	return (size_t)v;
}

static void compile(int i, const char *src, int allow_attr)
{
	const char *why = xpath_compile(&path[i], src, opts.ns, opts.nns, allow_attr);
	if (why)
		bad_usage("%s: %s", src, why);
}

/* Compiles every path once all -N bindings are known. */
static void setup(int narray)
{
	npath = P_META + opts.nmeta + narray;
	parray = P_META + opts.nmeta;
	path = xcalloc((size_t)npath, sizeof *path);
	arrname = xcalloc((size_t)narray + 1, sizeof *arrname);
	static const struct xmlns soap[] = {
		{ "s11", "http://schemas.xmlsoap.org/soap/envelope/" },
		{ "s12", "http://www.w3.org/2003/05/soap-envelope" },
	};
	xpath_compile(&path[P_FAULT11], "/s11:Envelope/s11:Body/s11:Fault", soap, 2, 0);
	xpath_compile(&path[P_FAULT12], "/s12:Envelope/s12:Body/s12:Fault", soap, 2, 0);
	if (opts.records)
		compile(P_RECORDS, opts.records, 0);
	if (opts.text)
		compile(P_TEXT, opts.text, 0);
	for (int k = 0; k < opts.nmeta; k++)
		compile(P_META + k, opts.meta[k].src, 1);
	for (int k = 0; k < narray; k++) {
		compile(parray + k, opts.arrays[k], 0);
		arrname[k] = xpath_child_name(&path[parray + k]);
	}
	doc.in.maxtoken = opts.maxrec;
	doc.in.maxmem = opts.maxrec + (1 << 20);	/* expat's own tables and buffers: 1 MiB */
	doc.in.quiet = opts.quiet;
	doc.j.qualified = opts.qualified;
	doc.j.ns = opts.ns;
	doc.j.nns = opts.nns;
	doc.j.limit = opts.maxrec;
	doc.mask = xcalloc((size_t)(opts.maxdepth + 2) * (size_t)npath, sizeof *doc.mask);
	doc.cursor = xcalloc((size_t)opts.maxdepth + 3, sizeof *doc.cursor);
}

static void add_meta(const char *arg)
{
	const char *eq = strchr(arg, '=');
	if (!eq || eq == arg || !eq[1])
		bad_usage("--meta: not NAME=PATH: %s", arg);
	char *name = xstrndup(arg, (size_t)(eq - arg));
	int bad = !strcmp(name, "records") || !strcmp(name, "fault");
	for (int k = 0; k < opts.nmeta; k++)
		bad |= !strcmp(opts.meta[k].name, name);
	if (bad)
		bad_usage("--meta: name already used: %s", name);
	opts.meta = xrealloc(opts.meta, (size_t)(opts.nmeta + 1) * sizeof *opts.meta);
	opts.meta[opts.nmeta++] = (struct meta){ .name = name, .src = eq + 1 };
}

static void add_ns(const char *arg)
{
	const char *eq = strchr(arg, '=');
	if (!eq || eq == arg || memchr(arg, ':', (size_t)(eq - arg)) ||
	    opts.nns == sizeof opts.ns / sizeof opts.ns[0])
		bad_usage("-N: not PREFIX=URI: %s", arg);
	opts.ns[opts.nns].prefix = xstrndup(arg, (size_t)(eq - arg));
	opts.ns[opts.nns++].uri = eq + 1;
}

int main(int argc, char *argv[])
{
	enum { O_ARRAY = 256, O_BAREATTRS, O_HELP, O_MAXDEPTH, O_MAXREC, O_META, O_METAOUT, O_NODTD,
	       O_QUALIFIED, O_QUIETFAULTS, O_RECORDS, O_TEXT, O_VERSION };
	static const struct option lopts[] = {
		{ "array", required_argument, NULL, O_ARRAY },
		{ "bare-attrs", no_argument, NULL, O_BAREATTRS },
		{ "help", no_argument, NULL, O_HELP },
		{ "max-depth", required_argument, NULL, O_MAXDEPTH },
		{ "max-record-bytes", required_argument, NULL, O_MAXREC },
		{ "meta", required_argument, NULL, O_META },
		{ "meta-out", required_argument, NULL, O_METAOUT },
		{ "no-dtd", no_argument, NULL, O_NODTD },
		{ "qualified", no_argument, NULL, O_QUALIFIED },
		{ "quiet", no_argument, NULL, 'q' },
		{ "quiet-faults", no_argument, NULL, O_QUIETFAULTS },
		{ "records", required_argument, NULL, O_RECORDS },
		{ "text", required_argument, NULL, O_TEXT },
		{ "unbuffered", no_argument, NULL, 'u' },
		{ "version", no_argument, NULL, O_VERSION },
		{ NULL, 0, NULL, 0 }
	};
	int c, narray = 0;
	opts.arrays = xcalloc((size_t)argc, sizeof *opts.arrays);
	while ((c = getopt_long(argc, argv, "hN:qu", lopts, NULL)) != -1) {
		switch (c) {
		case 'N': add_ns(optarg); break;
		case 'q': opts.quiet = 1; break;
		case 'u': out_unbuffered = 1; break;
		case O_ARRAY: opts.arrays[narray++] = optarg; break;
		case O_BAREATTRS: opts.bareattrs = 1; break;
		case 'h':
		case O_HELP: usage(EXIT_OK); break;
		case O_MAXDEPTH: opts.maxdepth = (long)number("--max-depth", optarg, 1, 10000); break;
		case O_MAXREC: opts.maxrec = number("--max-record-bytes", optarg, 1024, 1UL << 31); break;
		case O_META: add_meta(optarg); break;
		case O_METAOUT: opts.metaout = optarg; break;
		case O_NODTD: opts.nodtd = 1; break;
		case O_QUALIFIED: opts.qualified = 1; break;
		case O_QUIETFAULTS: opts.quietfaults = 1; break;
		case O_RECORDS: opts.records = optarg; break;
		case O_TEXT: opts.text = optarg; break;
		case O_VERSION: print_version(); return fshut(stdout, "<stdout>");
		default: usage(EXIT_USAGE);
		}
	}
	if (opts.text && opts.records)
		bad_usage("--text and --records exclude each other");
	if (opts.text && opts.bareattrs)
		bad_usage("--text and --bare-attrs exclude each other");
	if (opts.text && opts.nmeta && !opts.metaout)
		bad_usage("--meta with --text needs --meta-out FILE");
	opts.wholedoc = !opts.records && !opts.text;
	setup(narray);
	if (opts.metaout && !(opts.metaf = fopen(opts.metaout, "w")))
		err(EXIT_IOERR, "%s", opts.metaout);
	out_init();
	if (!opts.text)	/* records are gathered in doc.j.out and written in big blocks */
		setvbuf(stdout, NULL, _IONBF, 0);
	int rc = 0;
	if (optind == argc)
		rc = run("-");
	for (int i = optind; i < argc; i++) {
		int r = run(argv[i]);
		rc = rc ? rc : r;
	}
	int rc2 = fshut(stdout, "<stdout>");
	if (opts.metaf)
		rc2 |= fshut(opts.metaf, opts.metaout);
	return rc2 ? EXIT_IOERR : rc;
}
