/* b64.c — base64 (RFC 4648): standard padded encoding; decoding of either alphabet. */
#include "pagepull.h"

static const char enc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void b64_encode(struct buf *b, const void *src, size_t n)
{
	const unsigned char *s = src;
	buf_grow(b, (n + 2) / 3 * 4);
	char *o = b->p + b->len;
	for (; n >= 3; n -= 3, s += 3) {
		*o++ = enc[s[0] >> 2];
		*o++ = enc[(s[0] & 3) << 4 | s[1] >> 4];
		*o++ = enc[(s[1] & 15) << 2 | s[2] >> 6];
		*o++ = enc[s[2] & 63];
	}
	if (n) {
		*o++ = enc[s[0] >> 2];
		*o++ = enc[(s[0] & 3) << 4 | (n == 2 ? s[1] >> 4 : 0)];
		*o++ = n == 2 ? enc[(s[1] & 15) << 2] : '=';
		*o++ = '=';
	}
	b->len = (size_t)(o - b->p);
}

static int dec(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

int b64_decode(struct buf *b, const char *s, size_t n)
{
	for (int pad = 0; pad < 2 && n > 0 && s[n - 1] == '='; pad++)
		n--;
	if (n % 4 == 1)
		return -1;
	buf_grow(b, n / 4 * 3 + 3);
	uint32_t acc = 0;
	int bits = 0;
	for (size_t i = 0; i < n; i++) {
		int d = dec((unsigned char)s[i]);
		if (d < 0)
			return -1;
		acc = acc << 6 | (uint32_t)d;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			b->p[b->len++] = (char)(acc >> bits);
		}
	}
	return 0;
}
