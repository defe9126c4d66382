/*
 * xmlpath.c — the little path language of the XML filters, matched while streaming.
 *
 * A path is /a/b/c (absolute), //c (anywhere) or any mix (/a//c); a step is a local
 * name, '*', or p:name / p:* where p is bound to a namespace URI (-N p=URI). A path
 * that does not start with '/' is searched anywhere, as if it began with "//".
 * Unprefixed steps match by local name in any namespace: document prefixes never matter.
 * A final "/@attr" (or "/@p:attr") names an attribute, where the caller allows it;
 * "//@attr" is the attribute of any element.
 *
 * Matching is a Thompson NFA over the stack of open elements: state i means "the first
 * i steps matched"; the set of states of an element is a bit mask computed from its
 * parent's mask and its own name, so nothing but one word per path and depth is kept.
 */
#include <string.h>
#include "pagepull.h"
#include "xml.h"

/* Binds a step's or attribute's prefix; 0 on success, -1 if the prefix is unknown. */
static int bind(const struct xmlns *ns, size_t nns, const char *pre, size_t len,
		const char **uri, size_t *urilen)
{
	for (size_t i = 0; i < nns; i++)
		if (strlen(ns[i].prefix) == len && !memcmp(ns[i].prefix, pre, len)) {
			*uri = ns[i].uri;
			*urilen = strlen(ns[i].uri);
			return 0;
		}
	return -1;
}

/* Parses one name test "name", "*", "p:name" or "p:*" of length len into st. */
static const char *name_test(struct xpstep *st, const char *s, size_t len,
			     const struct xmlns *ns, size_t nns)
{
	const char *colon = memchr(s, ':', len);
	st->uri = NULL;
	st->urilen = 0;
	if (colon) {
		if (colon == s || bind(ns, nns, s, (size_t)(colon - s), &st->uri, &st->urilen))
			return "unbound namespace prefix (bind it with -N PREFIX=URI)";
		len -= (size_t)(colon + 1 - s);
		s = colon + 1;
	}
	if (!len)
		return "empty step";
	if (memchr(s, '/', len) || memchr(s, '@', len) || memchr(s, ':', len))
		return "bad step";
	st->local = len == 1 && *s == '*' ? NULL : s;
	st->loclen = len;
	return NULL;
}

const char *xpath_compile(struct xpath *xp, const char *src, const struct xmlns *ns,
			  size_t nns, int allow_attr)
{
	memset(xp, 0, sizeof *xp);
	xp->src = src;
	const char *s = src;
	int desc = 1;			/* a relative path is searched anywhere */
	if (*s == '/') {
		desc = s[1] == '/';
		s += desc ? 2 : 1;
	}
	for (;;) {
		size_t len = strcspn(s, "/");
		if (*s == '@') {
			if (!allow_attr)
				return "an attribute step is allowed only in --meta";
			if (s[len])
				return "the attribute must be the last step";
			if (desc || xp->n == 0) {	/* "//@a": of any element */
				if (xp->n == XPATH_MAXSTEPS)
					return "too many steps";
				xp->steps[xp->n++] = (struct xpstep){ .desc = 1 };
			}
			const char *err = name_test(&xp->attr, s + 1, len - 1, ns, nns);
			if (err)
				return err;
			if (!xp->attr.local)
				return "attribute '*' is not supported";
			xp->hasattr = 1;
			return NULL;
		}
		if (xp->n == XPATH_MAXSTEPS)
			return "too many steps";
		struct xpstep *st = &xp->steps[xp->n];
		const char *err = name_test(st, s, len, ns, nns);
		if (err)
			return err;
		st->desc = (unsigned char)desc;
		xp->n++;
		s += len;
		if (!*s)
			return NULL;
		desc = s[1] == '/';
		s += desc ? 2 : 1;
	}
}

/* One name test against an element or attribute name. */
static int test(const struct xpstep *st, const struct xname *nm)
{
	if (st->local && (st->loclen != nm->loclen || memcmp(st->local, nm->local, nm->loclen)))
		return 0;
	return !st->uri || (st->urilen == nm->urilen && !memcmp(st->uri, nm->uri, nm->urilen));
}

uint64_t xpath_next(const struct xpath *xp, uint64_t parent, const struct xname *nm)
{
	uint64_t out = 0;
	parent &= ~(UINT64_C(1) << xp->n);	/* a match does not carry into its children */
	while (parent) {
		int i = __builtin_ctzll(parent);
		parent &= parent - 1;
		const struct xpstep *st = &xp->steps[i];
		if (st->desc)
			out |= UINT64_C(1) << i;
		if (test(st, nm))
			out |= UINT64_C(1) << (i + 1);
	}
	return out;
}

int xpath_attr_match(const struct xpath *xp, const struct xname *nm)
{
	return test(&xp->attr, nm);
}

void xname_split(struct xname *nm, const char *name)
{
	const char *sep = strchr(name, XNS_SEP);
	if (sep) {
		nm->uri = name;
		nm->urilen = (size_t)(sep - name);
		nm->local = sep + 1;
	} else {
		nm->uri = "";
		nm->urilen = 0;
		nm->local = name;
	}
	nm->loclen = strlen(nm->local);
}

char *xpath_child_name(const struct xpath *xp)
{
	const struct xpstep *st = &xp->steps[xp->n - 1];
	if (xp->n < 2 || st->desc || !st->local)
		return NULL;
	struct buf name = { 0 };
	if (st->uri && st->urilen) {
		buf_add(&name, st->uri, st->urilen);
		buf_addc(&name, XNS_SEP);
	}
	buf_add(&name, st->local, st->loclen);
	buf_str(&name);
	return name.p;
}
