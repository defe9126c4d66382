/*
 * xmlpath.c — unit tests of lib/xmlpath.c, the path language of the XML filters compiled
 * to a Thompson NFA: which paths compile (and what is wrong with the others), which element
 * stacks match, namespaces bound with -N, attribute steps, and xpath_child_name.
 */
#include "pagepull.h"
#include "xml.h"
#include "unit.h"

static const struct xmlns NS[] = { { "p", "urn:p" }, { "q", "urn:q" } };

/* matches(path, stack): the element stack "a/b/c" (expat names: "urn:p|b" for a name in a
 * namespace) walked from the document's mask; 1 if its last element matches path. */
static int matches(const char *path, const char *stack)
{
	struct xpath xp;
	if (xpath_compile(&xp, path, NS, 2, 0))
		return -1;
	char names[256], *save = NULL;
	snprintf(names, sizeof names, "%s", stack);
	uint64_t mask = 1;
	int hit = 0;
	for (char *s = strtok_r(names, "/", &save); s; s = strtok_r(NULL, "/", &save)) {
		char *bar = strchr(s, '|');
		if (bar)
			*bar = XNS_SEP;
		struct xname nm;
		xname_split(&nm, s);
		mask = xpath_next(&xp, mask, &nm);
		hit = xpath_matched(&xp, mask);
	}
	return hit;
}

/* compile_error(path, allow_attr): what xpath_compile says, "" if it compiles */
static const char *compile_error(const char *path, int allow_attr)
{
	static struct xpath xp;
	const char *e = xpath_compile(&xp, path, NS, 2, allow_attr);
	return e ? e : "";
}

int main(void)
{
	struct {
		const char *path, *stack;
		int want;
	} m[] = {
		{ "/a/b", "a/b", 1 }, { "/a/b", "a/b/c", 0 }, { "/a/b", "x/a/b", 0 }, { "/a/b", "a", 0 },
		{ "//b", "b", 1 }, { "//b", "a/x/b", 1 }, { "//b", "b/b", 1 }, { "//b", "b/c", 0 },
		{ "b", "a/x/b", 1 },
		{ "/a//c", "a/c", 1 }, { "/a//c", "a/x/y/c", 1 }, { "/a//c", "x/a/c", 0 },
		{ "/a/*", "a/zz", 1 }, { "/a/*", "a", 0 }, { "/a/*", "a/b/c", 0 },
		{ "//a/b", "r/a/b", 1 }, { "//a/b", "r/a/x/b", 0 },
		{ "/a/p:b", "a/urn:p|b", 1 }, { "/a/p:b", "a/b", 0 }, { "/a/p:b", "a/urn:q|b", 0 },
		{ "/a/b", "urn:q|a/urn:p|b", 1 }, { "/a/p:*", "a/urn:p|zz", 1 }, { "/a/p:*", "a/urn:q|zz", 0 },
	};
	for (size_t i = 0; i < sizeof m / sizeof *m; i++)
		ok(matches(m[i].path, m[i].stack) == m[i].want, "xmlpath: %s %s %s", m[i].path,
		    m[i].want ? "matches" : "does not match", m[i].stack);

	is(compile_error("/a/x:b", 0), "unbound namespace prefix (bind it with -N PREFIX=URI)",
	    "xmlpath: an unbound prefix is refused");
	is(compile_error("/a//", 0), "empty step", "xmlpath: an empty last step is refused");
	is(compile_error("/a/:b", 0), "unbound namespace prefix (bind it with -N PREFIX=URI)",
	    "xmlpath: an empty prefix is refused");
	is(compile_error("/a/p:b:c", 0), "bad step", "xmlpath: a step with two colons is refused");
	is(compile_error("/a/@id", 0), "an attribute step is allowed only in --meta",
	    "xmlpath: an attribute step where none is allowed");
	is(compile_error("/a/@id/b", 1), "the attribute must be the last step",
	    "xmlpath: an attribute step before the last");
	is(compile_error("/a/@*", 1), "attribute '*' is not supported", "xmlpath: attribute '*' is refused");

	char deep[2 * XPATH_MAXSTEPS + 8] = "";
	for (int i = 0; i < XPATH_MAXSTEPS; i++)
		strcat(deep, "/a");
	is(compile_error(deep, 0), "", "xmlpath: %d steps compile", XPATH_MAXSTEPS);
	strcat(deep, "/a");
	is(compile_error(deep, 0), "too many steps", "xmlpath: %d steps are too many", XPATH_MAXSTEPS + 1);
	static char stack[4 * XPATH_MAXSTEPS];
	stack[0] = 0;
	for (int i = 0; i < XPATH_MAXSTEPS; i++)
		strcat(stack, i ? "/a" : "a");
	deep[strlen(deep) - 2] = 0;
	ok(matches(deep, stack) == 1, "xmlpath: the deepest path matches its stack (the mask's last bit)");

	struct xpath xp;
	struct xname nm;
	ok(!xpath_compile(&xp, "/a/@p:id", NS, 2, 1) && xp.hasattr && xp.n == 1,
	    "xmlpath: /a/@p:id is one element step and an attribute");
	xname_split(&nm, "urn:p\001id");
	ok(xpath_attr_match(&xp, &nm), "xmlpath: @p:id matches its attribute");
	xname_split(&nm, "id");
	ok(!xpath_attr_match(&xp, &nm), "xmlpath: @p:id does not match an unqualified id");
	ok(!xpath_compile(&xp, "//@id", NS, 2, 1) && xp.n == 1 && xp.steps[0].desc && !xp.steps[0].local,
	    "xmlpath: //@id is the attribute of any element");

	char *name = NULL;
	ok(!xpath_compile(&xp, "/a/p:b", NS, 2, 0) && (name = xpath_child_name(&xp)) &&
	    !strcmp(name, "urn:p\001b"), "xmlpath: the child name of /a/p:b is its expat name");
	free(name);
	ok(!xpath_compile(&xp, "/a//b", NS, 2, 0) && !xpath_child_name(&xp),
	    "xmlpath: /a//b has no child name");
	ok(!xpath_compile(&xp, "/a/*", NS, 2, 0) && !xpath_child_name(&xp), "xmlpath: /a/* has no child name");
	ok(!xpath_compile(&xp, "/b", NS, 2, 0) && !xpath_child_name(&xp), "xmlpath: /b has no child name");
	return done_testing();
}
