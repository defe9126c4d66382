/*
 * jsontok.c — unit tests of lib/jsontok.c, the streaming JSON lexer: each token checked and
 * re-emitted compact, strings normalised as json.c writes them, errors at FILE:LINE:COL,
 * and the same output however the input's 256 KiB read blocks cut a token.
 * The driver lexes a whole input as a stream of tokens (structure is not the lexer's
 * business), a space after each, in a child process (an error ends it with errx).
 */
#include "pagepull.h"
#include "unit.h"

#define BLOCK (256 * 1024)	/* JT_BLOCK in lib/jsontok.c: the size of one read */

struct input {
	const char *p;
	size_t n, max;
};

static void lex(const void *arg)
{
	const struct input *in = arg;
	FILE *f = tmpfile();
	if (!f || fwrite(in->p, 1, in->n, f) != in->n || fflush(f) || fseek(f, 0, SEEK_SET))
		exit(99);
	struct jtok t = { 0 };
	struct buf out = { 0 };
	t.sink[t.nsink++] = &out;
	t.max = in->max;
	jt_init(&t, fileno(f), "in");
	int c;
	while ((c = jt_peek(&t)) != -1) {
		if (c == '"')
			jt_string(&t, NULL);
		else if (c == '-' || (c >= '0' && c <= '9'))
			jt_number(&t);
		else if (c == 't' || c == 'f' || c == 'n')
			jt_literal(&t);
		else if (c && strchr("{}[]:,", c))
			jt_byte(&t);
		else
			jt_expected(&t, "a value");
		buf_addc(&out, ' ');
	}
	fwrite(out.p, 1, out.len, stdout);
}

/* lexes s (n bytes; 0: strlen) into c */
static void run_lex(struct child *c, const char *s, size_t n, size_t max)
{
	struct input in = { s, n ? n : strlen(s), max };
	in_child(lex, &in, c);
}

/* the input s must fail with status 1 and exactly the message want */
static void fails(const char *s, const char *want, const char *what)
{
	static struct child c;
	run_lex(&c, s, 0, 0);
	ok(c.status == 1, "jsontok: %s: exit 1", what);
	is(c.err, want, "jsontok: %s: the message", what);
}

int main(void)
{
	static struct child c;

	run_lex(&c, "{\"a\" : [1,\t-0.5e+3 ,true,false,null]}\r\n", 0, 0);
	is(c.out, "{ \"a\" : [ 1 , -0.5e+3 , true , false , null ] } ",
	    "jsontok: every kind of token, whitespace dropped, numbers verbatim");

	run_lex(&c, "\"a\\/b\\u00e9\\u0041\"", 0, 0);
	is(c.out, "\"a/b\xc3\xa9" "A\" ", "jsontok: escapes of plain characters are decoded (\\/ \\u00e9 \\u0041)");

	run_lex(&c, "\"q\\\"b\\\\n\\nt\\t\\u0001\\u001f\"", 0, 0);
	is(c.out, "\"q\\\"b\\\\n\\nt\\t\\u0001\\u001f\" ",
	    "jsontok: '\"', '\\\\' and control characters stay escaped, as json.c writes them");

	run_lex(&c, "\"\\ud83d\\ude00\"", 0, 0);
	is(c.out, "\"\xf0\x9f\x98\x80\" ", "jsontok: a surrogate pair becomes one 4-byte character");

	run_lex(&c, "\"\\ud800x\" \"\\udc00\"", 0, 0);
	is(c.out, "\"\xef\xbf\xbdx\" \"\xef\xbf\xbd\" ", "jsontok: lone surrogates become U+FFFD");
	is(c.err, "jsontok: in:1:2: warning: lone surrogate escape replaced by U+FFFD (reported once)\n",
	    "jsontok: lone surrogates: one warning for two");
	ok(c.status == 0, "jsontok: lone surrogates: exit 0");

	run_lex(&c, "\"a\xff" "b\xc3(\"", 0, 0);
	is(c.out, "\"a\xef\xbf\xbd" "b\xef\xbf\xbd(\" ", "jsontok: invalid UTF-8 bytes become U+FFFD");
	is(c.err, "jsontok: in:1:3: warning: invalid UTF-8 replaced by U+FFFD (reported once)\n",
	    "jsontok: invalid UTF-8: one warning for two");

	fails("01", "jsontok: in:1:2: invalid number\n", "a leading zero");
	fails("1.5.2", "jsontok: in:1:4: invalid number\n", "two decimal points");
	fails("0x1", "jsontok: in:1:2: invalid number\n", "a hexadecimal number");
	fails("[1.]", "jsontok: in:1:4: invalid number\n", "a point without digits");
	fails("-", "jsontok: in:1:2: unexpected end of input in a number\n", "a lone minus at the end");
	fails("1e", "jsontok: in:1:3: unexpected end of input in a number\n", "an exponent without digits at the end");
	fails("tru", "jsontok: in:1:1: unexpected end of input in 'true'\n", "a cut literal");
	fails("nulx", "jsontok: in:1:1: invalid literal (expected 'null')\n", "a misspelt literal");
	fails("truex", "jsontok: in:1:1: invalid literal (expected 'true')\n", "a literal glued to a letter");
	fails("[1,\n  2,\n   @]", "jsontok: in:3:4: unexpected '@', expected a value\n",
	    "an unexpected byte, at its line and column");
	fails("\"ab\ncd\"", "jsontok: in:1:4: unescaped control character U+000A in a string\n",
	    "a raw newline in a string");
	fails("\"abc", "jsontok: in:1:5: unexpected end of input in a string\n", "an unterminated string");
	fails("\"\\x\"", "jsontok: in:1:3: unexpected 'x', expected an escape character (one of \"\\/bfnrtu)\n",
	    "an unknown escape");
	fails("\"\\u12g4\"", "jsontok: in:1:2: invalid \\u escape\n", "a \\u escape with a non-hex digit");

	run_lex(&c, "\"abcdefghij\"", 0, 8);
	ok(c.status == 1 && strstr(c.err, "value longer than 8 bytes (--max-record-bytes)"),
	    "jsontok: a token beyond the sink's maximum is an error");

	/* Every cut across the read block: the tokens start just before BLOCK, so each byte of
	 * "é", a \u escape, a surrogate pair, a number and a literal falls on the edge once. */
	static const char tail[] = "\"\xc3\xa9\\u00e9\\ud83d\\ude00\xf0\x9f\x98\x80\" 12345.678e9 true";
	static const char want[] = "\"\xc3\xa9\xc3\xa9\xf0\x9f\x98\x80\xf0\x9f\x98\x80\" 12345.678e9 true ";
	size_t len = BLOCK + sizeof tail;
	char *big = malloc(len);
	int cuts = 0, good = 0;
	for (size_t pad = BLOCK - sizeof tail - 2; pad <= BLOCK; pad++, cuts++) {
		memset(big, ' ', pad);
		memcpy(big + pad, tail, sizeof tail - 1);
		run_lex(&c, big, pad + sizeof tail - 1, 0);
		good += c.status == 0 && strcmp(c.out, want) == 0;
	}
	ok(good == cuts, "jsontok: the same tokens however a read block cuts them (%d cuts)", cuts);
	free(big);
	return done_testing();
}
