/*
 * xml2ndjson — XML to NDJSON, streaming, in flat memory.
 *
 * expat's SAX events drive everything: each element matching --records PATH is built
 * as a small tree (lib/xmltree.c) and written as one JSON line when it ends, so only
 * one record is ever held; without --records the whole document is one line. Paths
 * (lib/xmlpath.c) are matched as the elements open, by namespace URI and local name.
 * --meta values outside the records, and a SOAP 1.1/1.2 Fault, end the document's
 * output as one control line (HACKING.md); --text streams one element's raw text.
 * Hostile input: no external entities, expat's amplification limits, a depth limit, a
 * record size limit, and a limit on tokens expat would otherwise buffer whole.
 */
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cJSON.h>
#include "pagepull.h"
#include "xml.h"

#define BUFSZ (64 * 1024)

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
	struct meta *meta;
	int nmeta, quiet, qualified, wholedoc;
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
	int depth, capdepth, capfault, faultdepth, v12, textdepth, nactive;
	long records;
	int fault;
	uint64_t *mask;		/* (maxdepth + 2) rows of npath masks */
	uint32_t *cursor;	/* per depth: key lookup cursors (xj_key) */
	struct xjson j;
	struct buf out, faultjson, fix;
	char errbuf[160];
	const char *errmsg;
	unsigned long errline, errcol;
	size_t bad;
	unsigned long long fed;	/* bytes given to expat: after repairs, not as read */
} d;

static void usage(FILE *f, int status)
{
	fputs("usage: xml2ndjson [-qu] [-N PREFIX=URI]... [--records PATH] [--array NAME|PATH]...\n"
	      "                  [--meta NAME=PATH]... [--meta-out FILE] [--text PATH] [--qualified]\n"
	      "                  [--max-depth N] [--max-record-bytes N] [FILE...]\n", f);
	exit(status);
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

/* The JSON key of an element or attribute: its local name, or with --qualified and a
 * namespace, "p:local" (p bound by -N) or "{URI}local"; "@" first for an attribute. */
static void render(struct buf *b, const struct xname *nm, int attr)
{
	if (attr)
		buf_addc(b, '@');
	if (o.qualified && nm->urilen) {
		size_t i;
		for (i = 0; i < o.nns; i++)
			if (strlen(o.ns[i].uri) == nm->urilen && !memcmp(o.ns[i].uri, nm->uri, nm->urilen))
				break;
		if (i < o.nns) {
			buf_adds(b, o.ns[i].prefix);
			buf_addc(b, ':');
		} else {
			buf_addc(b, '{');
			buf_add(b, nm->uri, nm->urilen);
			buf_addc(b, '}');
		}
	}
	buf_add(b, nm->local, nm->loclen);
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
	uint64_t *pm = d.mask + (size_t)(d.depth - 1) * npath, *m = pm + npath;
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

/* The member of JSON object o whose key's local part is name (an array: its first). */
static const cJSON *member(const cJSON *o, const char *name)
{
	for (const cJSON *c = cJSON_IsObject(o) ? o->child : NULL; c; c = c->next) {
		const char *k = c->string, *l = k + strlen(k);
		while (l > k && l[-1] != ':' && l[-1] != '}')
			l--;
		if (*k != '@' && !strcmp(l, name))
			return cJSON_IsArray(c) ? c->child : c;
	}
	return NULL;
}

/* The text of an element's JSON: the string, or an object's "#text". */
static void text_json(struct buf *b, const cJSON *v)
{
	if (cJSON_IsObject(v))
		v = cJSON_GetObjectItemCaseSensitive(v, "#text");
	if (cJSON_IsString(v))
		json_cstr(b, v->valuestring);
	else
		buf_add(b, "null", 4);
}

/* {"code","string","name","detail"} of a Fault element's JSON, into d.faultjson. */
static void fault_end(const char *json, size_t len)
{
	cJSON *f = cJSON_ParseWithLength(json, len);
	const cJSON *code, *str, *det, *first = NULL;
	if (!f)
		errx(EXIT_IOERR, "out of memory");
	if (d.v12) {
		code = member(member(f, "Code"), "Value");
		str = member(member(f, "Reason"), "Text");
		det = member(f, "Detail");
	} else {
		code = member(f, "faultcode");
		str = member(f, "faultstring");
		det = member(f, "detail");
	}
	for (const cJSON *c = cJSON_IsObject(det) ? det->child : NULL; c && !first; c = c->next)
		if (*c->string != '@' && *c->string != '#')
			first = c;
	struct buf *b = &d.faultjson;
	buf_reset(b);
	buf_adds(b, "{\"code\":");
	text_json(b, code);
	buf_adds(b, ",\"string\":");
	text_json(b, str);
	buf_adds(b, ",\"name\":");
	if (first) {
		const char *k = first->string, *l = k + strlen(k);
		while (l > k && l[-1] != ':' && l[-1] != '}')
			l--;
		json_cstr(b, l);
	} else
		text_json(b, code);
	buf_adds(b, ",\"detail\":");
	char *dj = det ? cJSON_PrintUnformatted(det) : NULL;
	buf_adds(b, dj ? dj : "null");
	cJSON_free(dj);
	buf_addc(b, '}');
	cJSON_Delete(f);
	d.fault = 1;
}

/* Writes the records gathered so far. */
static void flush_out(void)
{
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
			if (d.capfault || d.fault)
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
	if (d.capdepth) {
		xj_chars(&d.j, s, (size_t)len);
		check_size();
	}
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

/* Feeds n bytes at b (from XML_GetBuffer) to expat, repairing invalid UTF-8 first;
 * an incomplete sequence at the end is kept in tail[] for the next chunk. */
static int feed(char *b, size_t n, int final, int repair, char *tail, size_t *ntail)
{
	size_t t, ok = repair ? xmlin_utf8_valid(b, n, &t) : n;
	*ntail = 0;
	if (ok == n) {
		d.fed += n;
		return XML_ParseBuffer(d.p, (int)n, final);
	}
	if (ok + t == n && !final) {
		memcpy(tail, b + ok, t);
		*ntail = t;
		d.fed += ok;
		return XML_ParseBuffer(d.p, (int)ok, 0);
	}
	size_t bad = d.bad;
	buf_reset(&d.fix);
	size_t used = xmlin_utf8_repair(&d.fix, b, n, final, &d.bad);
	memcpy(tail, b + used, n - used);
	*ntail = n - used;
	if (d.bad > bad && !o.quiet)
		utf8_note_invalid();
	d.fed += d.fix.len;
	return XML_Parse(d.p, d.fix.p, (int)d.fix.len, final);
}

/* Parses the document on fd; 0, or an exit status with the error reported. */
static int parse_fd(int fd)
{
	char tail[4];
	size_t ntail = 0;
	int repair = -1, final = 0;
	d.fed = 0;
	while (!final) {
		char *b = XML_GetBuffer(d.p, BUFSZ);
		if (!b)
			errx(EXIT_IOERR, "out of memory");
		size_t n = ntail;
		memcpy(b, tail, ntail);
		do {		/* the first chunk must show the XML declaration */
			ssize_t r = read(fd, b + n, BUFSZ - n);
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0) {
				warn("%s", d.fname);
				return EXIT_IOERR;
			}
			final = r == 0;
			n += (size_t)r;
		} while (repair < 0 && !final && n < 512 && !memchr(b, '>', n));
		if (repair < 0)
			repair = xmlin_is_utf8(b, n);
		if (feed(b, n, final, repair, tail, &ntail) != XML_STATUS_OK)
			break;
		XML_Index at = XML_GetCurrentByteIndex(d.p);
		if (at >= 0 && d.fed - (unsigned long long)at > o.maxrec) {
			d.errline = XML_GetCurrentLineNumber(d.p);
			d.errcol = XML_GetCurrentColumnNumber(d.p) + 1;
			d.errmsg = "token larger than --max-record-bytes";
			break;
		}
	}
	if (!final || XML_GetErrorCode(d.p) != XML_ERROR_NONE) {
		if (!d.errmsg) {
			d.errmsg = XML_ErrorString(XML_GetErrorCode(d.p));
			d.errline = XML_GetCurrentLineNumber(d.p);
			d.errcol = XML_GetCurrentColumnNumber(d.p) + 1;
		}
		flush_out();
		fflush(stdout);
		warnx("%s:%lu:%lu: %s", d.fname, d.errline, d.errcol, d.errmsg);
		return EXIT_DATA;
	}
	return 0;
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
		if (fputc(CTL_RS, o.metaf) == EOF || fwrite(b->p, 1, b->len, o.metaf) != b->len ||
		    fputc('\n', o.metaf) == EOF || fflush(o.metaf) == EOF)
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
	d.p = XML_ParserCreateNS(NULL, XNS_SEP);
	if (!d.p)
		errx(EXIT_IOERR, "out of memory");
	XML_SetElementHandler(d.p, on_start, on_end);
	XML_SetCharacterDataHandler(d.p, on_chars);
	XML_SetExternalEntityRefHandler(d.p, on_extent);
	XML_SetParamEntityParsing(d.p, XML_PARAM_ENTITY_PARSING_NEVER);
	XML_SetUnknownEncodingHandler(d.p, xmlin_unknown_encoding, NULL);
	XML_SetBillionLaughsAttackProtectionMaximumAmplification(d.p, 100.0f);
	XML_SetBillionLaughsAttackProtectionActivationThreshold(d.p, 4 << 20);
	d.depth = d.capdepth = d.faultdepth = d.textdepth = d.nactive = d.fault = 0;
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
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (end != s && *end && !end[1]) {
		int sh = *end == 'K' || *end == 'k' ? 10 : *end == 'M' ? 20 : *end == 'G' ? 30 : -1;
		if (sh > 0 && v <= (~0ULL >> sh))
			v <<= sh, end++;
	}
	if (errno || end == s || *end || *s == '-' || v < min || v > max) {
		warnx("%s: not a number from %zu to %zu: %s", opt, min, max, s);
		usage(stderr, EXIT_USAGE);
	}
	return (size_t)v;
}

static void compile(int i, const char *src, int allow_attr)
{
	const char *why = xpath_compile(&path[i], src, o.ns, o.nns, allow_attr);
	if (why) {
		warnx("%s: %s", src, why);
		usage(stderr, EXIT_USAGE);
	}
}

/* Compiles every path once all -N bindings are known. */
static void setup(const char **arrays, int narray)
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
		compile(parray + k, arrays[k], 0);
		const struct xpstep *st = &path[parray + k].steps[path[parray + k].n - 1];
		if (path[parray + k].n < 2 || st->desc || !st->local)
			continue;	/* no parent to hang an empty array on */
		struct buf name = { 0 };
		if (st->uri && st->urilen) {
			buf_add(&name, st->uri, st->urilen);
			buf_addc(&name, XNS_SEP);
		}
		buf_add(&name, st->local, st->loclen);
		arrname[k] = xstrdup(buf_str(&name));
		buf_free(&name);
	}
	d.j.render = render;
	d.j.limit = o.maxrec;
	d.mask = xcalloc((size_t)(o.maxdepth + 2) * (size_t)npath, sizeof *d.mask);
	d.cursor = xcalloc((size_t)o.maxdepth + 3, sizeof *d.cursor);
}

static void add_meta(const char *arg)
{
	const char *eq = strchr(arg, '=');
	if (!eq || eq == arg || !eq[1]) {
		warnx("--meta: not NAME=PATH: %s", arg);
		usage(stderr, EXIT_USAGE);
	}
	char *name = xstrndup(arg, (size_t)(eq - arg));
	int bad = !strcmp(name, "records") || !strcmp(name, "fault");
	for (int k = 0; k < o.nmeta; k++)
		bad |= !strcmp(o.meta[k].name, name);
	if (bad) {
		warnx("--meta: name already used: %s", name);
		usage(stderr, EXIT_USAGE);
	}
	o.meta = xrealloc(o.meta, (size_t)(o.nmeta + 1) * sizeof *o.meta);
	o.meta[o.nmeta++] = (struct meta){ .name = name, .src = eq + 1 };
}

static void add_ns(const char *arg)
{
	const char *eq = strchr(arg, '=');
	if (!eq || eq == arg || memchr(arg, ':', (size_t)(eq - arg)) ||
	    o.nns == sizeof o.ns / sizeof o.ns[0]) {
		warnx("-N: not PREFIX=URI: %s", arg);
		usage(stderr, EXIT_USAGE);
	}
	o.ns[o.nns].prefix = xstrndup(arg, (size_t)(eq - arg));
	o.ns[o.nns++].uri = eq + 1;
}

int main(int argc, char *argv[])
{
	enum { O_ARRAY = 256, O_HELP, O_MAXDEPTH, O_MAXREC, O_META, O_METAOUT, O_QUALIFIED,
	       O_RECORDS, O_TEXT, O_VERSION };
	static const struct option lopts[] = {
		{ "array", required_argument, NULL, O_ARRAY },
		{ "help", no_argument, NULL, O_HELP },
		{ "max-depth", required_argument, NULL, O_MAXDEPTH },
		{ "max-record-bytes", required_argument, NULL, O_MAXREC },
		{ "meta", required_argument, NULL, O_META },
		{ "meta-out", required_argument, NULL, O_METAOUT },
		{ "qualified", no_argument, NULL, O_QUALIFIED },
		{ "quiet", no_argument, NULL, 'q' },
		{ "records", required_argument, NULL, O_RECORDS },
		{ "text", required_argument, NULL, O_TEXT },
		{ "unbuffered", no_argument, NULL, 'u' },
		{ "version", no_argument, NULL, O_VERSION },
		{ NULL, 0, NULL, 0 }
	};
	const char **arrays = xcalloc((size_t)argc, sizeof *arrays);
	int c, narray = 0;
	while ((c = getopt_long(argc, argv, "N:qu", lopts, NULL)) != -1) {
		switch (c) {
		case 'N': add_ns(optarg); break;
		case 'q': o.quiet = 1; break;
		case 'u': out_unbuffered = 1; break;
		case O_ARRAY: arrays[narray++] = optarg; break;
		case O_HELP: usage(stdout, EXIT_OK); break;
		case O_MAXDEPTH: o.maxdepth = (long)number("--max-depth", optarg, 1, 10000); break;
		case O_MAXREC: o.maxrec = number("--max-record-bytes", optarg, 1024, 1UL << 31); break;
		case O_META: add_meta(optarg); break;
		case O_METAOUT: o.metaout = optarg; break;
		case O_QUALIFIED: o.qualified = 1; break;
		case O_RECORDS: o.records = optarg; break;
		case O_TEXT: o.text = optarg; break;
		case O_VERSION: print_version(); return fshut(stdout, "<stdout>");
		default: usage(stderr, EXIT_USAGE);
		}
	}
	if (o.text && o.records) {
		warnx("--text and --records exclude each other");
		usage(stderr, EXIT_USAGE);
	}
	if (o.text && o.nmeta && !o.metaout) {
		warnx("--meta with --text needs --meta-out FILE");
		usage(stderr, EXIT_USAGE);
	}
	o.wholedoc = !o.records && !o.text;
	setup(arrays, narray);
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
