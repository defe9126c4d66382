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

static struct {
	struct xmlns ns[64];
	size_t nns;
	const char *records, *text, *metaout;
	const char **arrays;
	struct meta *meta;
	int nmeta, quiet, qualified, wholedoc, nodtd;
	long maxdepth;
	size_t maxrec;
	FILE *metaf;
} o = { .maxdepth = 256, .maxrec = 64 << 20 };

static struct xpath *path;
static char **arrname;	/* expat name of a forced empty array, per array path */
static int npath, parray;

static struct {
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
} d;

static void __attribute__((noreturn)) usage(int status)
{
	FILE *f = status ? stderr : stdout;
	fputs("usage: xml2ndjson [-qu] [-N PREFIX=URI]... [--records PATH] [--array NAME|PATH]...\n"
	      "                  [--meta NAME=PATH]... [--meta-out FILE] [--text PATH] [--qualified]\n"
	      "                  [--max-depth N] [--max-record-bytes N] [--no-dtd] [FILE...]\n", f);
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
	d.errline = XML_GetCurrentLineNumber(d.p);
	d.errcol = XML_GetCurrentColumnNumber(d.p) + 1;
	va_start(ap, fmt);
	vsnprintf(d.errbuf, sizeof d.errbuf, fmt, ap);
	va_end(ap);
	d.errmsg = d.errbuf;
	XML_SetElementHandler(d.p, NULL, NULL);
	XML_SetCharacterDataHandler(d.p, NULL);
	XML_StopParser(d.p, XML_FALSE);
}

/* Forgets path i for the rest of the document (a meta or --text found). */
static void drop_path(int i)
{
	for (long k = 0; k <= o.maxdepth + 1; k++)
		d.mask[k * npath + i] = 0;
}

static void check_size(void)
{
	if (xj_full(&d.j))
		fail("record larger than --max-record-bytes (%zu)", o.maxrec);
}

/* An element inside a record or fault, its attributes as "@" members. */
static void json_start(uint32_t key, const XML_Char **atts, const uint64_t *m)
{
	int flags = 0;
	for (int a = parray; a < npath; a++)
		if (xpath_matched(&path[a], m[a]))
			flags = XJ_ARRAY;
	xj_start(&d.j, key, flags);
	for (int i = 0; atts[i]; i += 2) {
		uint32_t k = xj_key(&d.j, atts[i], 1, &d.cursor[d.depth + 1], NULL);
		if (!xj_isnil(&d.j, k))
			xj_attr(&d.j, k, atts[i + 1], strlen(atts[i + 1]));
		else if (!strcmp(atts[i + 1], "true") || !strcmp(atts[i + 1], "1"))
			xj_nil(&d.j);
	}
	check_size();
}

static void meta_start(const uint64_t *m, const XML_Char **atts)
{
	for (int k = 0; k < o.nmeta; k++) {
		struct meta *mt = &o.meta[k];
		const struct xpath *xp = &path[P_META + k];
		if (mt->depth || !xpath_matched(xp, m[P_META + k]))
			continue;
		if (!xp->hasattr) {
			mt->depth = d.depth;
			d.nactive++;
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
	if (++d.depth > o.maxdepth) {
		fail("nesting deeper than --max-depth (%ld)", o.maxdepth);
		return;
	}
	if (!d.capdepth)
		xj_trim(&d.j);	/* no key ids are held outside a record */
	uint32_t key = xj_key(&d.j, name, 0, &d.cursor[d.depth], &d.cursor[d.depth + 1]);
	const struct xname *nm = xj_name(&d.j, key);
	uint64_t *pm = d.mask + (size_t)(d.depth - 1) * npath, *m = pm + npath, live = 0;
	for (int i = 0; i < npath; i++)
		live |= pm[i];
	if (!live)		/* inside a record, as a rule: no path can match */
		memset(m, 0, (size_t)npath * sizeof *m);
	else
		for (int i = 0; i < npath; i++)
			m[i] = pm[i] ? xpath_next(&path[i], pm[i], nm) : 0;
	int f11 = xpath_matched(&path[P_FAULT11], m[P_FAULT11]);
	int f12 = xpath_matched(&path[P_FAULT12], m[P_FAULT12]);
	if (d.capdepth) {
		json_start(key, atts, m);
		if ((f11 || f12) && !d.faultdepth) {	/* whole-document mode */
			d.faultdepth = d.depth;
			d.v12 = f12;
		}
	} else if (xpath_matched(&path[P_RECORDS], m[P_RECORDS]) || f11 || f12 ||
		   (o.wholedoc && d.depth == 1)) {
		d.capdepth = d.depth;
		d.capfault = !o.wholedoc && (f11 || f12);
		if (f11 || f12) {
			d.faultdepth = d.depth;
			d.v12 = f12;
		}
		if (!o.wholedoc)	/* records do not nest; nor faults in records */
			m[P_RECORDS] = m[P_FAULT11] = m[P_FAULT12] = 0;
		xj_begin(&d.j, o.wholedoc);
		json_start(key, atts, m);
	}
	if (o.nmeta)
		meta_start(m, atts);
	if (!d.textdepth && xpath_matched(&path[P_TEXT], m[P_TEXT]))
		d.textdepth = d.depth;
}

/* A Fault element ended: its summary into d.faultjson. */
static void fault_end(const char *json, size_t len)
{
	buf_reset(&d.faultjson);
	xmlfault_json(&d.faultjson, json, len, d.v12);
	d.fault = 1;
}

/* Writes the records gathered so far. */
static void flush_out(void)
{
	if (d.j.out.len)
		out_write(d.j.out.p, d.j.out.len);
	buf_reset(&d.j.out);
}

static void XMLCALL on_end(void *u, const XML_Char *name)
{
	if (d.capdepth) {
		const uint64_t *m = d.mask + (size_t)d.depth * npath;
		for (int a = parray; a < npath; a++) {
			const struct xpath *xp = &path[a];
			if (arrname[a - parray] && (m[a] >> (xp->n - 1) & 1))
				xj_emptyarray(&d.j, xj_key(&d.j, arrname[a - parray], 0, NULL, NULL));
		}
		xj_end(&d.j);
		if (d.faultdepth == d.depth) {
			fault_end(d.j.out.p + d.j.lastval, d.j.lastlen);
			d.faultdepth = 0;
		}
		if (d.depth == d.capdepth) {
			d.capdepth = 0;
			if (d.capfault || (o.wholedoc && d.fault))
				d.j.out.len = d.j.base;	/* a fault is no record */
			else {
				buf_addc(&d.j.out, '\n');
				d.records++;
				if (out_unbuffered || d.j.out.len >= BUFSZ)
					flush_out();
			}
		}
	}
	for (int k = 0; d.nactive && k < o.nmeta; k++)
		if (o.meta[k].depth == d.depth) {
			o.meta[k].depth = 0;
			o.meta[k].found = 1;
			d.nactive--;
			drop_path(P_META + k);
		}
	if (d.textdepth == d.depth) {
		d.textdepth = 0;
		d.records = 1;
		drop_path(P_TEXT);
	}
	d.depth--;
}

static void XMLCALL on_chars(void *u, const XML_Char *s, int len)
{
	if (d.capdepth && xj_chars(&d.j, s, (size_t)len))
		check_size();
	for (int k = 0; d.nactive && k < o.nmeta; k++)
		if (o.meta[k].depth) {
			buf_add(&o.meta[k].val, s, (size_t)len);
			if (o.meta[k].val.len > o.maxrec)
				fail("--meta %s larger than --max-record-bytes", o.meta[k].name);
		}
	if (d.textdepth)
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
	if (o.nodtd)
		fail("document type declaration, refused by --no-dtd");
	d.indtd = 1;
}

static void XMLCALL on_doctype_end(void *u)
{
	d.indtd = 0;
}

/* What expat was doing when its memory ran past the bound. */
static const char *refusal(void)
{
	if (d.in.toolong && !d.indtd)
		return "token larger than --max-record-bytes";
	snprintf(d.errbuf, sizeof d.errbuf, "%s larger than --max-record-bytes (%zu)",
		 d.indtd ? "DTD" : "parser state", o.maxrec);
	return d.errbuf;
}

/* Parses the document on fd; 0, or an exit status with the error reported. */
static int parse_fd(int fd)
{
	int r = xmlin_parse(&d.in, d.p, fd);
	if (r < 0) {
		warn("%s", d.fname);
		return EXIT_IOERR;
	}
	if (r == 0)
		return 0;
	if (!d.errmsg) {
		d.errmsg = d.in.toolong || xmlin_refused() ? refusal() :
			   XML_ErrorString(XML_GetErrorCode(d.p));
		d.errline = XML_GetCurrentLineNumber(d.p);
		d.errcol = XML_GetCurrentColumnNumber(d.p) + 1;
	}
	if (d.capdepth)
		d.j.out.len = d.j.base;	/* the unfinished record */
	flush_out();
	warnx("%s:%lu:%lu: %s", d.fname, d.errline, d.errcol, d.errmsg);
	return EXIT_DATA;
}

/* After a document: the control line (metas, fault, record count) where it belongs. */
static void control_line(void)
{
	if (!o.nmeta && !d.fault)
		return;
	struct buf *b = &d.out;
	buf_reset(b);
	buf_addc(b, '{');
	for (int k = 0; k < o.nmeta; k++)
		if (o.meta[k].found) {
			json_key(b, o.meta[k].name, strlen(o.meta[k].name));
			json_str(b, o.meta[k].val.p, o.meta[k].val.len);
			buf_addc(b, ',');
		}
	if (d.fault) {
		buf_adds(b, "\"fault\":");
		buf_add(b, d.faultjson.p, d.faultjson.len);
		buf_addc(b, ',');
	}
	buf_addf(b, "\"records\":%ld}", d.records);
	if (o.metaf) {
		/* the object alone, as jq reads it; a pipeline adds the RS when it forwards it */
		if (fwrite(b->p, 1, b->len, o.metaf) != b->len || fputc('\n', o.metaf) == EOF ||
		    fflush(o.metaf) == EOF)
			err(EXIT_IOERR, "%s", o.metaout);
	} else if (!o.text) {
		buf_addc(&d.j.out, CTL_RS);
		buf_add(&d.j.out, b->p, b->len);
		buf_addc(&d.j.out, '\n');
	}
}

static int run(const char *fname)
{
	int fd = 0;
	d.fname = "<stdin>";
	if (strcmp(fname, "-")) {
		d.fname = fname;
		if ((fd = open(fname, O_RDONLY)) < 0) {
			warn("%s", fname);
			return EXIT_IOERR;
		}
	}
	d.p = xmlin_create(&d.in, XNS_SEP);
	if (!d.p)
		errx(EXIT_IOERR, "out of memory");
	XML_SetElementHandler(d.p, on_start, on_end);
	XML_SetCharacterDataHandler(d.p, on_chars);
	XML_SetExternalEntityRefHandler(d.p, on_extent);
	XML_SetDoctypeDeclHandler(d.p, on_doctype, on_doctype_end);
	XML_SetParamEntityParsing(d.p, XML_PARAM_ENTITY_PARSING_NEVER);
	XML_SetUnknownEncodingHandler(d.p, xmlin_unknown_encoding, NULL);
	XML_SetBillionLaughsAttackProtectionMaximumAmplification(d.p, 100.0f);
	XML_SetBillionLaughsAttackProtectionActivationThreshold(d.p, 4 << 20);
	d.depth = d.capdepth = d.faultdepth = d.textdepth = d.nactive = d.fault = d.indtd = 0;
	d.records = 0;
	d.errmsg = NULL;
	for (int i = 0; i < npath; i++)
		d.mask[i] = i == P_RECORDS ? o.records != NULL : i == P_TEXT ? o.text != NULL : 1;
	for (int k = 0; k < o.nmeta; k++) {
		o.meta[k].depth = o.meta[k].found = 0;
		buf_reset(&o.meta[k].val);
	}
	int rc = parse_fd(fd);
	flush_out();
	XML_ParserFree(d.p);
	if (fd > 0)
		close(fd);
	if (rc)
		return rc;
	control_line();
	flush_out();
	if (d.fault && !o.quiet)
		warnx("%s: SOAP fault: %s", d.fname, buf_str(&d.faultjson));
	return d.fault ? EXIT_FAULT : 0;
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
	const char *why = xpath_compile(&path[i], src, o.ns, o.nns, allow_attr);
	if (why)
		bad_usage("%s: %s", src, why);
}

/* Compiles every path once all -N bindings are known. */
static void setup(int narray)
{
	npath = P_META + o.nmeta + narray;
	parray = P_META + o.nmeta;
	path = xcalloc((size_t)npath, sizeof *path);
	arrname = xcalloc((size_t)narray + 1, sizeof *arrname);
	static const struct xmlns soap[] = {
		{ "s11", "http://schemas.xmlsoap.org/soap/envelope/" },
		{ "s12", "http://www.w3.org/2003/05/soap-envelope" },
	};
	xpath_compile(&path[P_FAULT11], "/s11:Envelope/s11:Body/s11:Fault", soap, 2, 0);
	xpath_compile(&path[P_FAULT12], "/s12:Envelope/s12:Body/s12:Fault", soap, 2, 0);
	if (o.records)
		compile(P_RECORDS, o.records, 0);
	if (o.text)
		compile(P_TEXT, o.text, 0);
	for (int k = 0; k < o.nmeta; k++)
		compile(P_META + k, o.meta[k].src, 1);
	for (int k = 0; k < narray; k++) {
		compile(parray + k, o.arrays[k], 0);
		arrname[k] = xpath_child_name(&path[parray + k]);
	}
	d.in.maxtoken = o.maxrec;
	d.in.maxmem = o.maxrec + (1 << 20);	/* expat's own tables and buffers: 1 MiB */
	d.in.quiet = o.quiet;
	d.j.qualified = o.qualified;
	d.j.ns = o.ns;
	d.j.nns = o.nns;
	d.j.limit = o.maxrec;
	d.mask = xcalloc((size_t)(o.maxdepth + 2) * (size_t)npath, sizeof *d.mask);
	d.cursor = xcalloc((size_t)o.maxdepth + 3, sizeof *d.cursor);
}

static void add_meta(const char *arg)
{
	const char *eq = strchr(arg, '=');
	if (!eq || eq == arg || !eq[1])
		bad_usage("--meta: not NAME=PATH: %s", arg);
	char *name = xstrndup(arg, (size_t)(eq - arg));
	int bad = !strcmp(name, "records") || !strcmp(name, "fault");
	for (int k = 0; k < o.nmeta; k++)
		bad |= !strcmp(o.meta[k].name, name);
	if (bad)
		bad_usage("--meta: name already used: %s", name);
	o.meta = xrealloc(o.meta, (size_t)(o.nmeta + 1) * sizeof *o.meta);
	o.meta[o.nmeta++] = (struct meta){ .name = name, .src = eq + 1 };
}

static void add_ns(const char *arg)
{
	const char *eq = strchr(arg, '=');
	if (!eq || eq == arg || memchr(arg, ':', (size_t)(eq - arg)) ||
	    o.nns == sizeof o.ns / sizeof o.ns[0])
		bad_usage("-N: not PREFIX=URI: %s", arg);
	o.ns[o.nns].prefix = xstrndup(arg, (size_t)(eq - arg));
	o.ns[o.nns++].uri = eq + 1;
}

int main(int argc, char *argv[])
{
	enum { O_ARRAY = 256, O_HELP, O_MAXDEPTH, O_MAXREC, O_META, O_METAOUT, O_NODTD,
	       O_QUALIFIED, O_RECORDS, O_TEXT, O_VERSION };
	static const struct option lopts[] = {
		{ "array", required_argument, NULL, O_ARRAY },
		{ "help", no_argument, NULL, O_HELP },
		{ "max-depth", required_argument, NULL, O_MAXDEPTH },
		{ "max-record-bytes", required_argument, NULL, O_MAXREC },
		{ "meta", required_argument, NULL, O_META },
		{ "meta-out", required_argument, NULL, O_METAOUT },
		{ "no-dtd", no_argument, NULL, O_NODTD },
		{ "qualified", no_argument, NULL, O_QUALIFIED },
		{ "quiet", no_argument, NULL, 'q' },
		{ "records", required_argument, NULL, O_RECORDS },
		{ "text", required_argument, NULL, O_TEXT },
		{ "unbuffered", no_argument, NULL, 'u' },
		{ "version", no_argument, NULL, O_VERSION },
		{ NULL, 0, NULL, 0 }
	};
	int c, narray = 0;
	o.arrays = xcalloc((size_t)argc, sizeof *o.arrays);
	while ((c = getopt_long(argc, argv, "hN:qu", lopts, NULL)) != -1) {
		switch (c) {
		case 'N': add_ns(optarg); break;
		case 'q': o.quiet = 1; break;
		case 'u': out_unbuffered = 1; break;
		case O_ARRAY: o.arrays[narray++] = optarg; break;
		case 'h':
		case O_HELP: usage(EXIT_OK); break;
		case O_MAXDEPTH: o.maxdepth = (long)number("--max-depth", optarg, 1, 10000); break;
		case O_MAXREC: o.maxrec = number("--max-record-bytes", optarg, 1024, 1UL << 31); break;
		case O_META: add_meta(optarg); break;
		case O_METAOUT: o.metaout = optarg; break;
		case O_NODTD: o.nodtd = 1; break;
		case O_QUALIFIED: o.qualified = 1; break;
		case O_RECORDS: o.records = optarg; break;
		case O_TEXT: o.text = optarg; break;
		case O_VERSION: print_version(); return fshut(stdout, "<stdout>");
		default: usage(EXIT_USAGE);
		}
	}
	if (o.text && o.records)
		bad_usage("--text and --records exclude each other");
	if (o.text && o.nmeta && !o.metaout)
		bad_usage("--meta with --text needs --meta-out FILE");
	o.wholedoc = !o.records && !o.text;
	setup(narray);
	if (o.metaout && !(o.metaf = fopen(o.metaout, "w")))
		err(EXIT_IOERR, "%s", o.metaout);
	out_init();
	if (!o.text)	/* records are gathered in d.j.out and written in big blocks */
		setvbuf(stdout, NULL, _IONBF, 0);
	int rc = 0;
	if (optind == argc)
		rc = run("-");
	for (int i = optind; i < argc; i++) {
		int r = run(argv[i]);
		rc = rc ? rc : r;
	}
	int rc2 = fshut(stdout, "<stdout>");
	if (o.metaf)
		rc2 |= fshut(o.metaf, o.metaout);
	return rc2 ? EXIT_IOERR : rc;
}
