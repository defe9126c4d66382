/*
 * xml.h — the XML side of the library (xmlpath.c, xmljson.c, xmlfault.c, xmlin.c), apart from
 * pagepull.h because only the XML filters need it. Include it after pagepull.h.
 * Element and attribute names are expat's namespace-processed names: "URI" XNS_SEP
 * "local" for a name in a namespace, the bare local name otherwise.
 */
#ifndef PAGEPULL_XML_H
#define PAGEPULL_XML_H

/* expat declares its amplification limits only under XML_DTD, which Debian builds with. */
#ifndef XML_DTD
#define XML_DTD 1
#endif
#include <expat.h>
#include <string.h>

#define XNS_SEP '\x01'		/* cannot occur in a URI or name: not an XML character */

/* A name split into namespace URI (empty: none) and local part; not NUL-terminated. */
struct xname {
	const char *uri, *local;
	size_t urilen, loclen;
};
void xname_split(struct xname *nm, const char *name);

/* xmlpath.c: paths (/a/b, //c, p:name, *, a final /@attr), matched as an NFA. */
struct xmlns {
	const char *prefix, *uri;	/* -N PREFIX=URI */
};
#define XPATH_MAXSTEPS 63
struct xpstep {
	const char *uri, *local;	/* uri NULL: any namespace; local NULL: '*' */
	size_t urilen, loclen;
	unsigned char desc;		/* reached by '//' */
};
struct xpath {
	const char *src;
	struct xpstep steps[XPATH_MAXSTEPS];
	int n;
	int hasattr;
	struct xpstep attr;
};
/* Returns NULL, or what is wrong with src. */
const char *xpath_compile(struct xpath *xp, const char *src, const struct xmlns *ns,
			  size_t nns, int allow_attr);
/* The document's mask is 1; an element's is xpath_next(its parent's mask, its name). */
uint64_t xpath_next(const struct xpath *xp, uint64_t parent, const struct xname *nm);
static inline int xpath_matched(const struct xpath *xp, uint64_t mask)
{
	return (int)(mask >> xp->n & 1);
}
int xpath_attr_match(const struct xpath *xp, const struct xname *nm);
/* The expat name of the path's last step, if it is a named child step ("/a/p:b"); else
 * NULL (malloc'ed). */
char *xpath_child_name(const struct xpath *xp);

/*
 * xmljson.c: XML elements to JSON as they stream by, for one record at a time: keys by
 * name, repeated siblings grouped into arrays (in order of first appearance), forced
 * arrays, attributes "@name", mixed text "#text", empty elements null. Each element's
 * JSON is written as soon as it ends; a parent whose children repeat a key is regrouped
 * when it ends. Names are interned as keys whose JSON ("name":) is rendered once.
 */
#define XSI_NIL_NAME "http://www.w3.org/2001/XMLSchema-instance\001nil"
struct xkey {
	struct xname nm;	/* the split name */
	char *name;		/* the expat name (a copy) */
	uint32_t namelen, hash;
	uint32_t json, jsonlen;	/* "key": in keytext */
	uint32_t canon;		/* the first key with the same JSON: output uses this one */
	uint32_t stamp, last;	/* scratch of the duplicate check */
	uint32_t after, first;	/* guesses: the name after this one, its first child */
	unsigned char attr, nil;
};
struct xjent;
struct xjopen;
struct xjson {
	struct buf out;		/* the record's JSON, after those of earlier records */
	uint32_t base;		/* where the record starts in out */
	struct buf text;	/* text of the open elements */
	struct buf scratch;	/* regrouping */
	struct xjent *ent;	/* children of the open elements, in document order */
	struct xjopen *open;	/* the open elements */
	uint32_t nent, capent, nopen, capopen;
	uint32_t pend;		/* where the innermost element's unassigned text starts */
	uint32_t stamp;
	int keyed;		/* {"root": value}, or the root's value (always an object) */
	uint32_t lastval, lastlen;	/* the JSON value of the element that ended last */
	struct xkey *key;	/* interned names */
	uint32_t nkey, capkey, keyhcap;
	uint32_t *keyhash, *canonhash;	/* name → key; JSON → canonical key (id + 1) */
	struct buf keytext;
	size_t namebytes;	/* the keys' copies of their names */
	int qualified;		/* keys: "p:local" or "{URI}local" for names in a namespace */
	const struct xmlns *ns;	/* the prefixes p */
	size_t nns;
	size_t limit;		/* xj_full() when a record needs more bytes than this */
};
enum { XJ_ARRAY = 1 };	/* xj_start flags: a forced array (--array) */
/* The key of an expat element (attr 0) or attribute name; names with the same JSON
 * key are written as one key, and grouped. Ids stay valid until xj_trim, which forgets them all when there
 * are many (call it between records). sib and child (may be NULL) are cursors that
 * speed up the lookup: a per-depth uint32_t, 0 at first; sib for the name's level,
 * child for its children's (attributes use the element's child cursor as sib). */
uint32_t xj_key(struct xjson *x, const char *name, int attr, uint32_t *sib, uint32_t *child);
void xj_trim(struct xjson *x);
static inline const struct xname *xj_name(const struct xjson *x, uint32_t key)
{
	return &x->key[key].nm;
}
static inline int xj_isnil(const struct xjson *x, uint32_t key)
{
	return x->key[key].nil;
}
/* A new record at the end of out (the caller empties out when it likes). */
void xj_begin(struct xjson *x, int keyed);
/* Does the record need more than limit bytes: its JSON, its open text, and the keys and
 * entries kept for it (many distinct names cost more in bookkeeping than in JSON)? */
int xj_full(const struct xjson *x);
void xj_start(struct xjson *x, uint32_t key, int flags);
void xj_attr(struct xjson *x, uint32_t key, const char *val, size_t vlen);
void xj_nil(struct xjson *x);	/* the open element is null, whatever it holds */
/* Returns 1 when the text buffer had to grow (the time to check xj_full). */
static inline int xj_chars(struct xjson *x, const char *s, size_t n)
{
	struct buf *b = &x->text;
	int grew = b->len + n >= b->cap;
	if (grew)
		buf_grow(b, n);
	memcpy(b->p + b->len, s, n);
	b->len += n;
	return grew;
}
void xj_emptyarray(struct xjson *x, uint32_t key);	/* "key":[] unless it has one */
void xj_end(struct xjson *x);	/* after the root's end, x->out holds the record */

/* xmlfault.c: {"code","string","name","detail"} of a SOAP Fault element's JSON (v12:
 * SOAP 1.2, else 1.1), appended to b. */
void xmlfault_json(struct buf *b, const char *json, size_t len, int v12);

/*
 * xmlin.c: the input side. xmlin_is_utf8 tells from a document's first bytes (BOM,
 * XML declaration) whether it is UTF-8, so that invalid bytes can be repaired to U+FFFD
 * before expat sees them; xmlin_unknown_encoding serves any single-byte charset iconv
 * knows (windows-1251, KOI8-R, CP866, …) through expat's unknown-encoding handler.
 */
int xmlin_is_utf8(const char *s, size_t n);
/* Length of the longest prefix of s made of whole valid UTF-8 sequences; *tail is set
 * to the length of a valid but incomplete sequence that ends s exactly, else 0. */
size_t xmlin_utf8_valid(const char *s, size_t n, size_t *tail);
/* Appends s to b with every invalid byte replaced by U+FFFD (counted in *bad); unless
 * final, stops before an incomplete sequence at the end. Returns the bytes consumed. */
size_t xmlin_utf8_repair(struct buf *b, const char *s, size_t n, int final, size_t *bad);
int XMLCALL xmlin_unknown_encoding(void *data, const XML_Char *name, XML_Encoding *info);

struct xmlin {
	size_t maxtoken;	/* set by the caller: most input expat may hold unparsed */
	size_t maxmem;		/* set by the caller: most bytes expat may allocate (0: any) */
	int quiet;		/* set by the caller: no warning about invalid UTF-8 */
	int toolong;		/* the parse stopped at a token longer than maxtoken */
	size_t bad;		/* invalid UTF-8 bytes replaced so far */
	int repair;
	unsigned long long fed;	/* bytes given to expat: after repairs, not as read */
	struct buf fix;
};
/* Parses all of fd: 0 when the document is complete and well-formed, 1 when the parse
 * stopped (expat's error, or toolong), -1 on a read error (errno says why). */
int xmlin_parse(struct xmlin *in, XML_Parser p, int fd);
/* A namespace-processing parser whose allocations are counted: past in->maxmem, expat's
 * malloc fails (XML_ERROR_NO_MEMORY) and xmlin_refused() is true. One parser at a time. */
XML_Parser xmlin_create(struct xmlin *in, XML_Char sep);
int xmlin_refused(void);
size_t xmlin_mem_used(void);

#endif
