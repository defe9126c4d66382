/*
 * xmlin.c — the input side of the XML filters: encodings.
 *
 * expat knows UTF-8, UTF-16, ISO-8859-1 and US-ASCII. Russian services still send
 * windows-1251, KOI8-R or CP866; for those (and any other single-byte charset iconv
 * knows) the unknown-encoding handler builds expat's 256-entry byte map with iconv.
 *
 * expat rejects invalid UTF-8 as malformed XML. A UTF-8 document with a few stray bytes
 * (a Cyrillic field pasted in windows-1251) is better served by U+FFFD and a warning, so
 * the caller checks each chunk with xmlin_utf8_valid (a fast scan, ASCII eight bytes at
 * a time) and only rewrites a chunk that holds invalid bytes.
 *
 * xmlin_parse is xmlwf's loop (XML_GetBuffer, read, XML_ParseBuffer) with that repair
 * and one more guard: expat buffers an unfinished token whole, so the input it holds
 * beyond its last event is bounded. xmlin_create gives expat a counting allocator, so
 * that everything it keeps (that buffer, which doubles as it grows; a DTD's declarations;
 * its name tables) stays under a bound.
 */
#include <errno.h>
#include <iconv.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include "pagepull.h"
#include "xml.h"

int xmlin_is_utf8(const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	if (n >= 3 && s[0] == 0xEF && s[1] == 0xBB && s[2] == 0xBF)
		return 1;
	if (n >= 2 && ((s[0] == 0xFE && s[1] == 0xFF) || (s[0] == 0xFF && s[1] == 0xFE) ||
		       s[0] == 0 || s[1] == 0))
		return 0;		/* UTF-16 (or 32), with or without a BOM */
	if (n < 5 || memcmp(s, "<?xml", 5))
		return 1;
	const char *end = memmem(str, n, "?>", 2);
	const char *enc = memmem(str, end ? (size_t)(end - str) : n, "encoding", 8);
	if (!enc)
		return 1;
	enc += 8;
	while (*enc == ' ' || *enc == '=' || *enc == '\t' || *enc == '\r' || *enc == '\n')
		enc++;
	if (*enc != '"' && *enc != '\'')
		return 1;
	char q = *enc++;
	size_t len = 0;
	while (enc + len < str + n && enc[len] != q)
		len++;
	return (len == 5 && !strncasecmp(enc, "utf-8", 5)) ||
	       (len == 4 && !strncasecmp(enc, "utf8", 4));
}

/* Is s[0..avail) the start of some valid sequence that needs more bytes? */
static int valid_prefix(const unsigned char *s, size_t avail)
{
	static const unsigned char pads[] = { 0x80, 0x90, 0xA0 };
	if (avail >= 4)
		return 0;
	for (size_t k = 0; k < sizeof pads; k++) {
		unsigned char tmp[4];
		memcpy(tmp, s, avail);
		memset(tmp + avail, pads[k], 4 - avail);
		size_t len = utf8_seqlen(tmp, 4);
		if (len > avail)
			return 1;
	}
	return 0;
}

size_t xmlin_utf8_valid(const char *str, size_t n, size_t *tail)
{
	const unsigned char *s = (const unsigned char *)str, *p = s, *end = s + n;
	*tail = 0;
	while (p < end) {
		uint64_t w;
		while (end - p >= 8 && (memcpy(&w, p, 8), !(w & UINT64_C(0x8080808080808080))))
			p += 8;
		if (p == end)
			break;
		if (*p < 0x80) {
			p++;
			continue;
		}
		/* two-byte sequences (Cyrillic) without a call */
		if (*p >= 0xC2 && *p <= 0xDF && end - p >= 2 && (p[1] & 0xC0) == 0x80) {
			p += 2;
			continue;
		}
		size_t len = utf8_seqlen(p, (size_t)(end - p));
		if (!len) {
			if (valid_prefix(p, (size_t)(end - p)))
				*tail = (size_t)(end - p);
			return (size_t)(p - s);
		}
		p += len;
	}
	return n;
}

size_t xmlin_utf8_repair(struct buf *b, const char *str, size_t n, int final, size_t *bad)
{
	const unsigned char *s = (const unsigned char *)str, *end = s + n;
	while (s < end) {
		size_t tail, ok = xmlin_utf8_valid((const char *)s, (size_t)(end - s), &tail);
		buf_add(b, s, ok);
		s += ok;
		if (tail && !final)
			break;		/* completed by the next chunk */
		if (s < end) {
			buf_add(b, "\xEF\xBF\xBD", 3);
			++*bad;
			s++;
		}
	}
	return (size_t)(s - (const unsigned char *)str);
}

/* One byte through iconv: its code point, -1 if it is not a character of the charset,
 * -2 if it starts a multibyte sequence (a charset expat's byte map cannot describe). */
static long conv1(iconv_t cd, unsigned char byte)
{
	char in = (char)byte;
	unsigned char out[8];
	char *ip = &in, *op = (char *)out;
	size_t il = 1, ol = sizeof out;
	iconv(cd, NULL, NULL, NULL, NULL);
	if (iconv(cd, &ip, &il, &op, &ol) == (size_t)-1)
		return errno == EINVAL ? -2 : -1;
	if (sizeof out - ol != 4)
		return -1;
	return (long)out[0] | (long)out[1] << 8 | (long)out[2] << 16 | (long)out[3] << 24;
}

int XMLCALL xmlin_unknown_encoding(void *data, const XML_Char *name, XML_Encoding *info)
{
	iconv_t cd = iconv_open("UTF-32LE", name);
	if (cd == (iconv_t)-1)
		return XML_STATUS_ERROR;
	int ok = 1;
	for (int i = 0; i < 256 && ok; i++) {
		long cp = conv1(cd, (unsigned char)i);
		if (cp == -2)
			ok = 0;
		info->map[i] = (int)cp;
	}
	iconv_close(cd);
	info->data = NULL;
	info->convert = NULL;
	info->release = NULL;
	return ok ? XML_STATUS_OK : XML_STATUS_ERROR;
}

/* expat's allocations, counted with a header that holds each one's size. expat's memory
 * suite has no user pointer, so the count is one per process: one parser at a time. */
static struct {
	size_t used, max;
	int refused;
} mem;
#define HDR 16			/* keeps malloc's alignment */
/* What an allocation of n costs: the header, malloc's own 16 bytes, rounded to 16. DTDs
 * are many small allocations, where this is most of it. */
#define COST(n) (((n) + HDR + 16 + 15) & ~(size_t)15)

static void *mm_malloc(size_t n)
{
	if (n > SIZE_MAX / 2 || COST(n) > mem.max - mem.used) {
		mem.refused = 1;
		return NULL;
	}
	size_t *p = malloc(n + HDR);
	if (!p)
		return NULL;
	*p = n;
	mem.used += COST(n);
	return (char *)p + HDR;
}

static void *mm_realloc(void *q, size_t n)
{
	if (!q)
		return mm_malloc(n);
	size_t *p = (size_t *)((char *)q - HDR), old = *p;
	if (n > SIZE_MAX / 2 || (n > old && COST(n) - COST(old) > mem.max - mem.used)) {
		mem.refused = 1;
		return NULL;
	}
	if (!(p = realloc(p, n + HDR)))
		return NULL;
	mem.used = mem.used - COST(old) + COST(n);
	*p = n;
	return (char *)p + HDR;
}

static void mm_free(void *q)
{
	if (!q)
		return;
	size_t *p = (size_t *)((char *)q - HDR);
	mem.used -= COST(*p);
	free(p);
}

XML_Parser xmlin_create(struct xmlin *in, XML_Char sep)
{
	static const XML_Memory_Handling_Suite suite = { mm_malloc, mm_realloc, mm_free };
	mem.max = in->maxmem ? in->maxmem : SIZE_MAX;
	mem.used = 0;
	mem.refused = 0;
	return XML_ParserCreate_MM(NULL, &suite, &sep);
}

int xmlin_refused(void)
{
	return mem.refused;
}

size_t xmlin_mem_used(void)
{
	return mem.used;
}

#define CHUNK (64 * 1024)

/* Feeds n bytes at b (from XML_GetBuffer) to expat, repairing invalid UTF-8 first;
 * an incomplete sequence at the end is kept in tail[] for the next chunk. */
static int feed(struct xmlin *in, XML_Parser p, char *b, size_t n, int final, char *tail,
		size_t *ntail)
{
	size_t t = 0, ok = in->repair ? xmlin_utf8_valid(b, n, &t) : n;
	*ntail = 0;
	if (ok == n) {
		in->fed += n;
		return XML_ParseBuffer(p, (int)n, final);
	}
	if (ok + t == n && !final) {
		memcpy(tail, b + ok, t);
		*ntail = t;
		in->fed += ok;
		return XML_ParseBuffer(p, (int)ok, 0);
	}
	size_t bad = in->bad;
	buf_reset(&in->fix);
	size_t used = xmlin_utf8_repair(&in->fix, b, n, final, &in->bad);
	memcpy(tail, b + used, n - used);
	*ntail = n - used;
	if (in->bad > bad && !in->quiet)
		utf8_note_invalid();
	in->fed += in->fix.len;
	return XML_Parse(p, in->fix.p, (int)in->fix.len, final);
}

int xmlin_parse(struct xmlin *in, XML_Parser p, int fd)
{
	char tail[4];
	size_t ntail = 0;
	int final = 0;
	in->repair = -1;
	in->fed = 0;
	in->toolong = 0;
	while (!final) {
		char *b = XML_GetBuffer(p, CHUNK);
		if (!b) {	/* the buffer grows with the unfinished token it holds */
			in->toolong = mem.refused;
			return 1;
		}
		size_t n = ntail;
		memcpy(b, tail, ntail);
		do {		/* the first chunk must show the XML declaration */
			ssize_t r = read(fd, b + n, CHUNK - n);
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0)
				return -1;
			final = r == 0;
			n += (size_t)r;
		} while (in->repair < 0 && !final && n < 512 && !memchr(b, '>', n));
		if (in->repair < 0)
			in->repair = xmlin_is_utf8(b, n);
		if (feed(in, p, b, n, final, tail, &ntail) != XML_STATUS_OK)
			return 1;
		/* expat holds an unfinished token (a name, an attribute value) whole */
		XML_Index at = XML_GetCurrentByteIndex(p);
		if (at >= 0 && in->fed - (unsigned long long)at > in->maxtoken) {
			in->toolong = 1;
			return 1;
		}
	}
	return 0;
}
