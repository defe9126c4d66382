/* pbwire.c — protobuf wire-format primitives: varints and little-endian fixed widths. */
#include "pagepull.h"

int pbw_varint(const unsigned char **pp, const unsigned char *end, uint64_t *v)
{
	const unsigned char *p = *pp;
	if (p < end && *p < 0x80) {		/* the common one-byte case */
		*v = *p;
		*pp = p + 1;
		return 0;
	}
	uint64_t x = 0;
	for (int shift = 0; shift < 70; shift += 7) {
		if (p == end)
			return PBW_TRUNC;
		unsigned c = *p++;
		if (shift == 63 && c > 1)	/* the 10th byte holds one bit */
			return PBW_LONG;
		x |= (uint64_t)(c & 0x7F) << shift;
		if (c < 0x80) {
			*v = x;
			*pp = p;
			return 0;
		}
	}
	return PBW_LONG;
}

void pbw_put_varint(struct buf *b, uint64_t v)
{
	buf_grow(b, 10);
	while (v >= 0x80) {
		b->p[b->len++] = (char)(v | 0x80);
		v >>= 7;
	}
	b->p[b->len++] = (char)v;
}

void pbw_put_fixed(struct buf *b, uint64_t v, int nbytes)
{
	buf_grow(b, (size_t)nbytes);
	for (int i = 0; i < nbytes; i++, v >>= 8)
		b->p[b->len++] = (char)(v & 0xFF);
}
