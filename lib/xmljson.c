/*
 * xmljson.c — XML elements to JSON while they stream by, one record at a time.
 *
 * Each element's "key": is written when it starts and its value when it ends, so the
 * record's JSON grows in document order in one buffer and nothing is built twice. An
 * element keeps a list of its children (entries: key, where each one's JSON lies);
 * when it ends, if two entries share a key (repeated siblings, even with others in
 * between) or one is a forced array, its content is rewritten with the groups as
 * arrays, in order of first appearance. Most elements need no rewriting, and the
 * duplicate check is one pass with per-key stamps.
 *
 * Text: the text of an element that holds no child elements is kept exactly; between
 * and around child elements, whitespace-only runs are dropped and the others joined.
 * An element's text is dropped from the text buffer when it ends, so the buffer holds
 * only the text of the open elements, and an element's runs are always contiguous.
 * Text comes from expat, which only ever hands out valid UTF-8 (it rejects invalid
 * input, and the caller repairs UTF-8 documents before expat sees them), so the JSON
 * writer here only escapes, without validating again.
 *
 * Names are interned: an id per distinct expat name, with the JSON of its key rendered
 * once; names rendered alike (one local name in two namespaces) are written as the
 * first of them (its "canonical" key), so that they group as one key.
 */
#include <stdlib.h>
#include <string.h>
#include "pagepull.h"
#include "xml.h"

struct xjent {
	uint32_t key, seg, end;	/* "key": starts at seg, its value ends at end */
	uint32_t next;		/* regrouping: the next member of its group (0: none) */
	unsigned char forced, done;
};

struct xjopen {
	uint32_t ent;		/* its own entry, among its parent's children */
	uint32_t ent0;		/* its children's entries start here */
	uint32_t val;		/* its value starts here in out */
	uint32_t textbase, text, textlen;
	unsigned char obj, haselem, nil;
};

/* ---- keys ---- */

/* The key of an element or attribute: its local name, or with qualified and a
 * namespace, "p:local" (p bound to the URI by ns) or "{URI}local"; "@" first for an
 * attribute. */
static void render(const struct xjson *x, struct buf *b, const struct xname *nm, int attr)
{
	if (attr)
		buf_addc(b, '@');
	if (x->qualified && nm->urilen) {
		size_t i;
		for (i = 0; i < x->nns; i++)
			if (strlen(x->ns[i].uri) == nm->urilen && !memcmp(x->ns[i].uri, nm->uri, nm->urilen))
				break;
		if (i < x->nns) {
			buf_adds(b, x->ns[i].prefix);
			buf_addc(b, ':');
		} else {
			buf_addc(b, '{');
			buf_add(b, nm->uri, nm->urilen);
			buf_addc(b, '}');
		}
	}
	buf_add(b, nm->local, nm->loclen);
}

static uint32_t namehash(const char *s, size_t n, int attr)
{
	uint64_t a = 0, b = 0;
	if (n >= 8) {
		memcpy(&a, s, 8);
		memcpy(&b, s + n - 8, 8);
	} else
		memcpy(&a, s, n);
	uint64_t h = a * UINT64_C(0x9E3779B97F4A7C15) ^
		     (b + n * 2 + (uint64_t)attr) * UINT64_C(0xC2B2AE3D27D4EB4F);
	return (uint32_t)(h >> 29) ^ (uint32_t)h;
}

/* The first key with the same JSON as key k: "x" from two namespaces is one key. */
static uint32_t canonical(struct xjson *x, uint32_t k)
{
	const struct xkey *kk = &x->key[k];
	const char *json = x->keytext.p + kk->json;
	uint32_t mask = x->keyhcap - 1, h = namehash(json, kk->jsonlen, 2), i, c;
	if (kk->nil)
		return k;	/* xsi:nil is never written: keep it apart from any "@nil" */
	for (i = h & mask; (c = x->canonhash[i]); i = (i + 1) & mask) {
		const struct xkey *y = &x->key[c - 1];
		if (y->jsonlen == kk->jsonlen && !memcmp(x->keytext.p + y->json, json, kk->jsonlen))
			return c - 1;
	}
	x->canonhash[i] = k + 1;
	return k;
}

static void keyhash_grow(struct xjson *x)
{
	free(x->keyhash);
	free(x->canonhash);
	x->keyhcap = x->keyhcap ? x->keyhcap * 2 : 256;
	x->keyhash = xcalloc(x->keyhcap, sizeof *x->keyhash);
	x->canonhash = xcalloc(x->keyhcap, sizeof *x->canonhash);
	for (uint32_t k = 0; k < x->nkey; k++) {
		uint32_t i = x->key[k].hash & (x->keyhcap - 1);
		while (x->keyhash[i])
			i = (i + 1) & (x->keyhcap - 1);
		x->keyhash[i] = k + 1;
		if (x->key[k].canon == k)
			canonical(x, k);
	}
}

static uint32_t newkey(struct xjson *x, const char *name, size_t n, int attr, uint32_t h)
{
	if ((x->nkey + 1) * 2 > x->keyhcap)
		keyhash_grow(x);
	if (x->nkey == x->capkey) {
		x->capkey = x->capkey ? x->capkey * 2 : 64;
		x->key = xrealloc(x->key, x->capkey * sizeof *x->key);
	}
	uint32_t k = x->nkey++, i;
	struct xkey *kk = &x->key[k];
	memset(kk, 0, sizeof *kk);
	kk->name = xstrndup(name, n);
	x->namebytes += n + 1;
	kk->namelen = (uint32_t)n;
	kk->hash = h;
	kk->attr = (unsigned char)attr;
	kk->nil = attr && !strcmp(name, XSI_NIL_NAME);
	xname_split(&kk->nm, kk->name);
	struct buf key = { 0 };
	render(x, &key, &kk->nm, attr);
	kk->json = (uint32_t)x->keytext.len;
	json_key(&x->keytext, key.p, key.len);
	kk->jsonlen = (uint32_t)(x->keytext.len - kk->json);
	buf_free(&key);
	kk->canon = canonical(x, k);
	for (i = h & (x->keyhcap - 1); x->keyhash[i]; i = (i + 1) & (x->keyhcap - 1))
		;
	x->keyhash[i] = k + 1;
	return k;
}

/* The raw id of a name: the guess if it is right, else by hash, else a new key. */
static uint32_t lookup(struct xjson *x, const char *name, int attr, uint32_t guess)
{
	if (guess && guess <= x->nkey) {
		const struct xkey *g = &x->key[guess - 1];
		if (g->attr == attr && !strcmp(g->name, name))
			return guess - 1;
	}
	size_t n = strlen(name);
	uint32_t h = namehash(name, n, attr), k;
	if (x->keyhcap) {
		uint32_t mask = x->keyhcap - 1;
		for (uint32_t i = h & mask; (k = x->keyhash[i]); i = (i + 1) & mask) {
			const struct xkey *kk = &x->key[k - 1];
			if (kk->hash == h && kk->namelen == n && kk->attr == attr &&
			    !memcmp(kk->name, name, n))
				return k - 1;
		}
	}
	return newkey(x, name, n, attr, h);
}

/*
 * Siblings come in the same order record after record, so the key that followed a
 * name last time is tried first (one strcmp instead of strlen, hash and probe). A
 * cursor names where the guess is kept: (id + 1) << 1, plus 1 for "its first child".
 */
uint32_t xj_key(struct xjson *x, const char *name, int attr, uint32_t *sib, uint32_t *child)
{
	uint32_t c = sib ? *sib : 0, r = c >> 1, raw;
	int ok = r && r <= x->nkey;
	raw = lookup(x, name, attr, !ok ? 0 : c & 1 ? x->key[r - 1].first : x->key[r - 1].after);
	if (ok) {		/* (newkey may have moved the keys) */
		if (c & 1)
			x->key[r - 1].first = raw + 1;
		else
			x->key[r - 1].after = raw + 1;
	}
	if (sib)
		*sib = (raw + 1) << 1;
	if (child)
		*child = (raw + 1) << 1 | 1;
	return raw;
}

void xj_trim(struct xjson *x)
{
	if (x->nkey < 4096 && x->keytext.len < (1 << 20))
		return;
	for (uint32_t k = 0; k < x->nkey; k++)
		free(x->key[k].name);
	x->nkey = 0;
	x->namebytes = 0;
	buf_reset(&x->keytext);
	memset(x->keyhash, 0, x->keyhcap * sizeof *x->keyhash);
	memset(x->canonhash, 0, x->keyhcap * sizeof *x->canonhash);
}

int xj_full(const struct xjson *x)
{
	size_t books = (size_t)x->nkey * (sizeof *x->key + 16) + x->namebytes +
		       (size_t)x->keyhcap * 2 * sizeof *x->keyhash +
		       (size_t)x->nent * sizeof *x->ent + (size_t)x->nopen * sizeof *x->open;
	return x->out.len - x->base + x->text.len + x->keytext.len + books > x->limit;
}

/* ---- writing ---- */

static unsigned char needs_escape[256];

static inline void put(struct buf *b, const void *s, size_t n)
{
	if (b->len + n >= b->cap)
		buf_grow(b, n);
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

/* Has the word a byte below 0x20, a '"' or a '\\'? (exact: no false positives) */
static inline int special8(const unsigned char *p)
{
	const uint64_t ones = UINT64_C(0x0101010101010101), high = ones * 0x80;
	uint64_t w, q, bs;
	memcpy(&w, p, 8);
	q = w ^ (ones * '"');
	bs = w ^ (ones * '\\');
	return ((((w - ones * 0x20) & ~w) | ((q - ones) & ~q) | ((bs - ones) & ~bs)) & high) != 0;
}

/* A JSON string of valid UTF-8: only '"', '\\' and control characters are escaped. */
static void str(struct buf *b, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + n;
	if (!needs_escape['"']) {
		for (int c = 0; c < 0x20; c++)
			needs_escape[c] = 1;
		needs_escape['"'] = needs_escape['\\'] = 1;
	}
	put(b, "\"", 1);
	for (;;) {
		const unsigned char *run = p;
		while (p < end) {
			if (end - p >= 8 && !special8(p))
				p += 8;
			else if (!needs_escape[*p])
				p++;
			else
				break;
		}
		put(b, run, (size_t)(p - run));
		if (p == end)
			break;
		size_t at = b->len;	/* the rare escape: lib's, without its quotes */
		json_str(b, (const char *)p++, 1);
		memmove(b->p + at, b->p + at + 1, b->len - at - 2);
		b->len -= 2;
	}
	put(b, "\"", 1);
}

static inline void putkey(struct xjson *x, struct buf *b, uint32_t key)
{
	put(b, x->keytext.p + x->key[key].json, x->key[key].jsonlen);
}

/* Opens e's object for one more entry: '{' before the first, ',' before the others. */
static inline void nextentry(struct xjson *x, struct xjopen *e)
{
	put(&x->out, e->obj ? "," : "{", 1);
	e->obj = 1;
}

static inline struct xjent *newent(struct xjson *x, uint32_t key, int forced)
{
	if (x->nent == x->capent) {
		x->capent = x->capent ? x->capent * 2 : 256;
		x->ent = xrealloc(x->ent, x->capent * sizeof *x->ent);
	}
	struct xjent *en = &x->ent[x->nent++];
	*en = (struct xjent){ .key = key, .seg = (uint32_t)x->out.len, .forced = (unsigned char)forced };
	return en;
}

static int allspace(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\n' && s[i] != '\t' && s[i] != '\r')
			return 0;
	return 1;
}

/* Gives e the text gathered since x->pend (exact, or dropped if blank). Runs of one
 * element are contiguous: a child's text is gone by the time the parent's resumes. */
static void flush(struct xjson *x, struct xjopen *e, int exact)
{
	size_t len = x->text.len - x->pend;
	if (!exact && allspace(x->text.p + x->pend, len)) {
		x->text.len = x->pend;
		return;
	}
	if (!e->textlen)
		e->text = x->pend;
	e->textlen += (uint32_t)len;
}

void xj_begin(struct xjson *x, int keyed)
{
	x->base = (uint32_t)x->out.len;
	buf_reset(&x->text);
	x->nent = x->nopen = x->pend = 0;
	x->keyed = keyed;
	if (keyed)
		put(&x->out, "{", 1);
}

void xj_start(struct xjson *x, uint32_t key, int flags)
{
	key = x->key[key].canon;
	if (x->nopen) {
		struct xjopen *p = &x->open[x->nopen - 1];
		if (x->text.len != x->pend)
			flush(x, p, 0);
		p->haselem = 1;
		nextentry(x, p);
	}
	newent(x, key, flags & XJ_ARRAY);
	if (x->nopen || x->keyed)
		putkey(x, &x->out, key);
	if (x->nopen == x->capopen) {
		x->capopen = x->capopen ? x->capopen * 2 : 64;
		x->open = xrealloc(x->open, x->capopen * sizeof *x->open);
	}
	x->open[x->nopen++] = (struct xjopen){ .ent = x->nent - 1, .ent0 = x->nent,
		.val = (uint32_t)x->out.len, .textbase = (uint32_t)x->text.len };
	x->pend = (uint32_t)x->text.len;
}

void xj_attr(struct xjson *x, uint32_t key, const char *val, size_t vlen)
{
	key = x->key[key].canon;
	nextentry(x, &x->open[x->nopen - 1]);
	struct xjent *en = newent(x, key, 0);
	putkey(x, &x->out, key);
	str(&x->out, val, vlen);
	en->end = (uint32_t)x->out.len;
}

void xj_nil(struct xjson *x)
{
	x->open[x->nopen - 1].nil = 1;
}

void xj_emptyarray(struct xjson *x, uint32_t key)
{
	key = x->key[key].canon;
	struct xjopen *e = &x->open[x->nopen - 1];
	for (uint32_t i = e->ent0; i < x->nent; i++)
		if (x->ent[i].key == key) {
			x->ent[i].forced = 1;
			return;
		}
	if (x->text.len != x->pend)
		flush(x, e, 0);
	e->haselem = 1;
	nextentry(x, e);
	struct xjent *en = newent(x, key, 0);
	putkey(x, &x->out, key);
	put(&x->out, "[]", 2);
	en->end = (uint32_t)x->out.len;
}

/* A fresh stamp for the per-key scratch of one duplicate check. */
static uint32_t stamp(struct xjson *x)
{
	if (++x->stamp == 0) {
		for (uint32_t k = 0; k < x->nkey; k++)
			x->key[k].stamp = 0;
		x->stamp = 1;
	}
	return x->stamp;
}

/* Do e's children need grouping: a key seen twice, or a forced array? */
static int needs_groups(struct xjson *x, const struct xjopen *e)
{
	uint32_t s = stamp(x);
	for (uint32_t i = e->ent0; i < x->nent; i++) {
		struct xkey *k = &x->key[x->ent[i].key];
		if (x->ent[i].forced || k->stamp == s)
			return 1;
		k->stamp = s;
	}
	return 0;
}

/* Rewrites e's content with each key once, its members in an array. */
static void regroup(struct xjson *x, struct xjopen *e)
{
	uint32_t s = stamp(x);
	struct xjent *en = x->ent;
	for (uint32_t i = e->ent0; i < x->nent; i++) {
		struct xkey *k = &x->key[en[i].key];
		en[i].next = 0;
		en[i].done = 0;
		if (k->stamp == s)
			en[k->last].next = i;
		k->stamp = s;
		k->last = i;
	}
	struct buf *b = &x->scratch;
	buf_reset(b);
	for (uint32_t i = e->ent0; i < x->nent; i++) {
		if (en[i].done)
			continue;
		int many = en[i].next != 0 || en[i].forced;
		for (uint32_t j = en[i].next; j; j = en[j].next)
			many |= en[j].forced;
		if (b->len)
			put(b, ",", 1);
		putkey(x, b, en[i].key);
		if (many)
			put(b, "[", 1);
		for (uint32_t j = i; j; j = en[j].next) {
			uint32_t val = en[j].seg + x->key[en[j].key].jsonlen;
			put(b, x->out.p + val, en[j].end - val);
			en[j].done = 1;
			if (!many)
				break;
			put(b, en[j].next ? "," : "]", 1);
		}
	}
	x->out.len = e->val + 1;	/* after its '{' */
	put(&x->out, b->p, b->len);
}

void xj_end(struct xjson *x)
{
	struct xjopen *e = &x->open[x->nopen - 1];
	struct buf *out = &x->out;
	int record = x->nopen == 1 && !x->keyed;	/* a record's value is an object */
	if (x->text.len != x->pend)
		flush(x, e, !e->haselem);
	const char *text = x->text.p + e->text;
	if (e->nil) {
		out->len = e->val;
		put(out, record ? "{}" : "null", record ? 2 : 4);
	} else if (e->obj) {
		if (x->nent - e->ent0 > 1 || x->ent[e->ent0].forced)
			if (needs_groups(x, e))
				regroup(x, e);
		if (e->textlen) {
			put(out, ",\"#text\":", 9);
			str(out, text, e->textlen);
		}
		put(out, "}", 1);
	} else if (record) {
		if (e->textlen) {
			put(out, "{\"#text\":", 9);
			str(out, text, e->textlen);
			put(out, "}", 1);
		} else
			put(out, "{}", 2);
	} else if (e->textlen)
		str(out, text, e->textlen);
	else
		put(out, "null", 4);
	x->lastval = e->val;
	x->lastlen = (uint32_t)(out->len - e->val);
	x->ent[e->ent].end = (uint32_t)out->len;
	x->nent = e->ent0;
	x->text.len = e->textbase;
	x->pend = e->textbase;
	if (--x->nopen == 0 && x->keyed)
		put(out, "}", 1);
}
