/*
 * json.c — the JSON writer: RFC 8259 string escaping into a buf.
 * Only '"', '\\' and control characters are escaped; valid UTF-8 is copied as is,
 * so output is compact and Cyrillic stays readable. Invalid UTF-8 never reaches
 * the output: each bad byte becomes U+FFFD (with one warning per process).
 */
#include <string.h>
#include "pagepull.h"

static const char hex[] = "0123456789abcdef";

/* 1 for bytes that need attention: control characters, '"', '\\' and non-ASCII. */
static unsigned char special[256];

static void init_special(void)
{
	for (int c = 0; c < 256; c++)
		special[c] = c < 0x20 || c == '"' || c == '\\' || c >= 0x80;
}

static void escape_ctl(struct buf *b, unsigned char c)
{
	switch (c) {
	case '"': buf_add(b, "\\\"", 2); return;
	case '\\': buf_add(b, "\\\\", 2); return;
	case '\n': buf_add(b, "\\n", 2); return;
	case '\r': buf_add(b, "\\r", 2); return;
	case '\t': buf_add(b, "\\t", 2); return;
	case '\b': buf_add(b, "\\b", 2); return;
	case '\f': buf_add(b, "\\f", 2); return;
	}
	char u[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };
	buf_add(b, u, 6);
}

void json_str(struct buf *b, const char *str, size_t n)
{
	if (!special['"'])
		init_special();
	const unsigned char *s = (const unsigned char *)str, *end = s + n;
	buf_grow(b, n + 2);
	buf_addc(b, '"');
	while (s < end) {
		const unsigned char *run = s;
		while (s < end && !special[*s])
			s++;
		buf_add(b, run, (size_t)(s - run));
		if (s == end)
			break;
		if (*s < 0x80) {
			escape_ctl(b, *s++);
			continue;
		}
		size_t len = utf8_seqlen(s, (size_t)(end - s));
		if (len) {
			buf_add(b, s, len);
			s += len;
		} else {
			buf_add(b, "\xEF\xBF\xBD", 3);
			utf8_note_invalid();
			s++;
		}
	}
	buf_addc(b, '"');
}

void json_key(struct buf *b, const char *s, size_t n)
{
	json_str(b, s, n);
	buf_addc(b, ':');
}

void json_cstr(struct buf *b, const char *s)
{
	json_str(b, s, strlen(s));
}
