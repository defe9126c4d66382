/*
 * pbjson.c — protobuf message bytes to the canonical JSON mapping, value for value as
 * Google's json_format.MessageToDict(msg, preserving_proto_field_name=True) gives them:
 * fields in number order (whatever the wire order), repeated elements in wire order, the
 * last value of a singular field, merged occurrences of a singular message, the last member
 * of a oneof, proto3 implicit fields left out when zero. 64-bit integers are strings, bytes
 * padded base64, enums names (unknown numbers stay numbers), floats Python's shortest repr.
 * The message is in memory (one record); each nesting level keeps its scanned entries in a
 * reused array, so decoding allocates nothing in the steady state. What a record costs to
 * decode (its bytes, the entry tables, merged occurrences, its JSON) is checked against
 * d->limit as it grows: a few bytes of wire can cost 56 bytes of entry or 6 of JSON each.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "pagepull.h"

struct pbj_level {
	struct pbj_ent *e;
	size_t n, cap;
	const struct pb_field **owin;	/* per oneof: the member that wins */
	uint32_t *oseq, *ocut;		/* its last entry; entries before ocut don't count */
	size_t ocap;
};

static void element(struct pbj *d, const struct pb_field *f, const struct pbj_ent *e, int depth);

#define SLACK (1u << 20)	/* the decoder's tables, before they count */

/* Fails when the record, with `more` bytes of JSON to come, needs more than the limit. */
static void budget(struct pbj *d, uint64_t off, const struct pb_field *f, uint64_t more)
{
	if (d->limit && d->out.len + more + d->held + d->entbytes > d->limit + SLACK)
		pbj_fail(d, off, f, 0, "record over --max-record-bytes (%llu) once decoded",
		    (unsigned long long)d->limit);
}

void pbj_init(struct pbj *d, int max_depth)
{
	free(d->lv);
	d->max_depth = max_depth;
	d->lv = xcalloc((size_t)max_depth + 2, sizeof *d->lv);
}

void pbj_fail(struct pbj *d, uint64_t off, const struct pb_field *f, uint32_t num,
    const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s: %s: offset %llu: ", program_invocation_short_name, d->name,
	    (unsigned long long)off);
	if (f)
		fprintf(stderr, "field %s (%u): ", f->name, f->number);
	else if (num)
		fprintf(stderr, "field %u: ", num);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(EXIT_DATA);
}

const struct pb_field *pbj_check_tag(struct pbj *d, const struct pb_msg *m, uint64_t tag,
    uint64_t off)
{
	uint64_t num = tag >> 3;
	int wt = (int)(tag & 7);
	if (num == 0 || num > 536870911)
		pbj_fail(d, off, NULL, 0, "invalid field number %llu", (unsigned long long)num);
	if (wt == PB_SGROUP || wt == PB_EGROUP)
		pbj_fail(d, off, NULL, (uint32_t)num, "groups (wire type %d) are not supported", wt);
	if (wt > PB_I32)
		pbj_fail(d, off, NULL, (uint32_t)num, "invalid wire type %d", wt);
	const struct pb_field *f;
	if (num < m->ndirect)		/* pb_field_num's table, without the call */
		f = m->direct[num] ? &m->fields[m->direct[num] - 1] : NULL;
	else
		f = pb_field_num(m, (uint32_t)num);
	if (f) {
		int want = f->wire;
		static const char *const names[] = { "VARINT", "I64", "LEN", "SGROUP", "EGROUP", "I32" };
		if (wt != want && !(wt == PB_LEN && f->repeated && want != PB_LEN))
			pbj_fail(d, off, f, 0, "wire type %s (%d), expected %s (%d)", names[wt], wt,
			    names[want], want);
	}
	return f;
}

static uint64_t le(const unsigned char *p, int n)
{
	uint64_t v = 0;
	for (int i = n; i-- > 0;)
		v = v << 8 | p[i];
	return v;
}

static int cmp_ent(const void *a, const void *b)
{
	const struct pbj_ent *x = a, *y = b;
	if (x->num != y->num)
		return x->num < y->num ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Splits a message into entries at level depth, sorted by field number, then wire order. */
static struct pbj_level *scan(struct pbj *d, const struct pb_msg *m, const unsigned char *p,
    size_t n, uint64_t off, int depth)
{
	struct pbj_level *L = &d->lv[depth];
	const unsigned char *q = p, *end = n ? p + n : p;	/* p is NULL for an empty input */
	uint32_t last = 0;
	int sorted = 1;
	L->n = 0;
	while (q < end) {
		const unsigned char *t = q;
		uint64_t toff = off + (uint64_t)(q - p), tag, v = 0;
		int r = pbw_varint(&q, end, &tag);
		if (r)
			pbj_fail(d, toff, NULL, 0, r == PBW_LONG ? "over-long varint" : "truncated message");
		const struct pb_field *f = pbj_check_tag(d, m, tag, toff);
		uint32_t num = (uint32_t)(tag >> 3);
		int wt = (int)(tag & 7);
		const unsigned char *vp = NULL;
		size_t len = 0;
		r = 0;
		if (wt == PB_VARINT || wt == PB_LEN)
			r = pbw_varint(&q, end, &v);
		else if (end - q < (wt == PB_I64 ? 8 : 4))
			r = PBW_TRUNC;
		else {
			v = le(q, wt == PB_I64 ? 8 : 4);
			q += wt == PB_I64 ? 8 : 4;
		}
		if (r)
			pbj_fail(d, toff, f, num, r == PBW_LONG ? "over-long varint" : "truncated message");
		if (wt == PB_LEN) {
			if (v > (uint64_t)(end - q))
				pbj_fail(d, toff, f, num, "length %llu past end of message",
				    (unsigned long long)v);
			vp = q;
			len = (size_t)v;
			q += len;
		}
		if (L->n == L->cap) {
			size_t cap = L->cap ? 2 * L->cap : 32;
			d->entbytes += (cap - L->cap) * sizeof *L->e;
			budget(d, toff, f, 0);
			L->cap = cap;
			L->e = xrealloc(L->e, L->cap * sizeof *L->e);
		}
		L->e[L->n] = (struct pbj_ent){ .f = f, .off = toff, .p = vp, .len = len, .v = v,
		    .num = num, .seq = (uint32_t)L->n, .wt = (uint8_t)wt,
		    .hl = (uint8_t)(vp ? vp - t : 0) };
		L->n++;
		if (num < last)
			sorted = 0;
		last = num;
	}
	if (!sorted)
		qsort(L->e, L->n, sizeof *L->e, cmp_ent);
	return L;
}

const struct pbj_ent *pbj_last(struct pbj *d, int depth, uint32_t num)
{
	struct pbj_level *L = &d->lv[depth];
	const struct pbj_ent *e = NULL;
	for (size_t i = 0; i < L->n; i++)
		if (L->e[i].num == num)
			e = &L->e[i];
	return e;
}

/* buf_add with the room check inline: keys and numbers are small and many. */
static inline void put(struct buf *o, const void *s, size_t n)
{
	if (o->len + n < o->cap) {
		memcpy(o->p + o->len, s, n);
		o->len += n;
	} else
		buf_add(o, s, n);
}

/* Decimal without printf: this is the hot path for big responses. */
static void put_u64(struct buf *o, uint64_t v, int quote)
{
	char tmp[24], *s = tmp + sizeof tmp;
	if (quote)
		*--s = '"';
	do
		*--s = (char)('0' + v % 10);
	while (v /= 10);
	if (quote)
		*--s = '"';
	put(o, s, (size_t)(tmp + sizeof tmp - s));
}

static void put_i64(struct buf *o, int64_t v, int quote)
{
	if (v < 0) {
		if (quote)
			buf_addc(o, '"');
		buf_addc(o, '-');
		put_u64(o, -(uint64_t)v, 0);
		if (quote)
			buf_addc(o, '"');
	} else
		put_u64(o, (uint64_t)v, quote);
}

/* Python's repr of a double from C's "%.*e" digits: fixed notation for exponents -4..15
 * (with ".0" when integral), else d.ddde±XX. */
static void put_repr(struct buf *o, const char *e)
{
	char dig[24];
	size_t nd = 0;
	if (*e == '-')
		buf_addc(o, *e++);
	for (; *e != 'e'; e++)
		if (*e != '.')
			dig[nd++] = *e;
	int x = atoi(e + 1);
	while (nd > 1 && dig[nd - 1] == '0')
		nd--;
	if (x < -4 || x >= 16) {
		buf_addc(o, dig[0]);
		if (nd > 1) {
			buf_addc(o, '.');
			buf_add(o, dig + 1, nd - 1);
		}
		buf_addf(o, "e%c%02d", x < 0 ? '-' : '+', abs(x));
	} else if (x < 0) {
		buf_add(o, "0.", 2);
		for (int i = -1; i > x; i--)
			buf_addc(o, '0');
		buf_add(o, dig, nd);
	} else if ((size_t)x + 1 >= nd) {
		buf_add(o, dig, nd);
		for (size_t i = nd; i < (size_t)x + 1; i++)
			buf_addc(o, '0');
		buf_add(o, ".0", 2);
	} else {
		buf_add(o, dig, (size_t)x + 1);
		buf_addc(o, '.');
		buf_add(o, dig + x + 1, nd - (size_t)x - 1);
	}
}

/* The shortest digits that read back as the same double: a binary search over the
 * precision, since a precision that round-trips makes every larger one round-trip. A float
 * is printed as Python's json_format does (ToShortestFloat): the first of 6..9 digits that
 * reads back as the same float, so a subnormal may keep more digits than it needs. */
static void put_float(struct buf *o, double v, int single)
{
	if (isnan(v)) {
		buf_adds(o, "\"NaN\"");
		return;
	}
	if (isinf(v)) {
		buf_adds(o, v < 0 ? "\"-Infinity\"" : "\"Infinity\"");
		return;
	}
	char s[40], best[40];
	if (single) {
		for (int p = 6; p <= 9; p++) {
			snprintf(best, sizeof best, "%.*e", p - 1, v);
			if ((float)strtod(best, NULL) == (float)v)
				break;
		}
		put_repr(o, best);
		return;
	}
	int lo = 1, hi = 17;
	snprintf(best, sizeof best, "%.*e", hi - 1, v);
	while (lo < hi) {
		int mid = (lo + hi) / 2;
		snprintf(s, sizeof s, "%.*e", mid - 1, v);
		if (strtod(s, NULL) == v) {
			memcpy(best, s, sizeof s);
			hi = mid;
		} else
			lo = mid + 1;
	}
	put_repr(o, best);
}

static int utf8_ok(const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		size_t k = utf8_seqlen(s + i, n - i);
		if (!k)
			return 0;
		i += k;
	}
	return 1;
}

int pbj_is_default(const struct pb_field *f, const struct pbj_ent *e)
{
	return e->wt == PB_LEN ? e->len == 0 : e->v == 0;
}

void pbj_scalar(struct pbj *d, const struct pb_field *f, const struct pbj_ent *e)
{
	struct buf *o = &d->out;
	uint64_t v = e->v;
	int q64 = !d->int64_numbers;
	switch (f->type) {
	case PBT_DOUBLE: {
		double x;
		memcpy(&x, &v, sizeof x);
		put_float(o, x, 0);
		break;
	}
	case PBT_FLOAT: {
		float x;
		uint32_t u = (uint32_t)v;
		memcpy(&x, &u, sizeof x);
		put_float(o, x, 1);
		break;
	}
	case PBT_INT64: case PBT_SFIXED64: case PBT_SINT64: {
		int64_t x = f->type == PBT_SINT64 ? pbw_unzigzag(v) : (int64_t)v;
		put_i64(o, x, q64 || x > (1LL << 53) || x < -(1LL << 53));
		break;
	}
	case PBT_UINT64: case PBT_FIXED64:
		put_u64(o, v, q64 || v > (1ULL << 53));
		break;
	case PBT_INT32: case PBT_SFIXED32:
		put_i64(o, (int32_t)(uint32_t)v, 0);
		break;
	case PBT_SINT32:
		put_i64(o, (int32_t)((uint32_t)v >> 1 ^ -((uint32_t)v & 1)), 0);
		break;
	case PBT_UINT32: case PBT_FIXED32:
		put_u64(o, (uint32_t)v, 0);
		break;
	case PBT_BOOL:
		buf_adds(o, v ? "true" : "false");
		break;
	case PBT_ENUM: {
		const char *name = d->enum_numbers ? NULL : pb_enum_name(f->en, (int32_t)(uint32_t)v);
		if (name) {
			buf_addc(o, '"');
			buf_adds(o, name);
			buf_addc(o, '"');
		} else
			put_i64(o, (int32_t)(uint32_t)v, 0);
		break;
	}
	case PBT_STRING: {
		size_t i = 0;		/* ids and keys are printable ASCII: one pass */
		while (i < e->len && e->p[i] >= 0x20 && e->p[i] < 0x7f && e->p[i] != '"' &&
		    e->p[i] != '\\')
			i++;
		if (i == e->len) {
			budget(d, e->off, f, e->len + 2);
			buf_grow(o, e->len + 2);
			o->p[o->len++] = '"';
			memcpy(o->p + o->len, e->p, e->len);
			o->len += e->len;
			o->p[o->len++] = '"';
			break;
		}
		if (!utf8_ok(e->p + i, e->len - i))
			pbj_fail(d, e->off, f, 0, "invalid UTF-8");
		size_t special = 0;	/* an escape is at most 6 bytes: \u001f */
		for (size_t k = i; k < e->len; k++)
			special += e->p[k] < 0x20 || e->p[k] == 0x7f || e->p[k] == '"' || e->p[k] == '\\';
		budget(d, e->off, f, e->len + 5 * special + 2);
		json_str(o, (const char *)e->p, e->len);
		break;
	}
	case PBT_BYTES:
		budget(d, e->off, f, (e->len + 2) / 3 * 4 + 2);
		buf_addc(o, '"');
		b64_encode(o, e->p, e->len);
		buf_addc(o, '"');
		break;
	}
}

/* The elements of a packed field, one by one. */
static void packed(struct pbj *d, const struct pb_field *f, const struct pbj_ent *e, int *first)
{
	const unsigned char *q = e->p, *end = e->p + e->len;
	int wt = f->wire, w = wt == PB_I64 ? 8 : 4;
	while (q < end) {
		struct pbj_ent x = *e;
		x.wt = (uint8_t)wt;
		if (wt == PB_VARINT) {
			int r = pbw_varint(&q, end, &x.v);
			if (r)
				pbj_fail(d, e->off, f, 0, r == PBW_LONG ? "over-long varint" :
				    "truncated packed value");
		} else if (end - q < w)
			pbj_fail(d, e->off, f, 0, "truncated packed value");
		else {
			x.v = le(q, w);
			q += w;
		}
		if (!*first)
			buf_addc(&d->out, ',');
		*first = 0;
		pbj_scalar(d, f, &x);
		if (d->limit && d->out.len > d->limit)
			budget(d, e->off, f, 0);
	}
}

static void unknown(struct pbj *d, const struct pbj_ent *e, size_t n)
{
	struct buf *o = &d->out;
	buf_addf(o, "\"#%u\":[", e->num);
	for (size_t i = 0; i < n; i++) {
		if (i)
			buf_addc(o, ',');
		if (e[i].wt == PB_LEN) {
			buf_addc(o, '"');
			b64_encode(o, e[i].p, e[i].len);
			buf_addc(o, '"');
		} else
			put_u64(o, e[i].v, e[i].v > (1ULL << 53));
	}
	buf_addc(o, ']');
}

/* A map entry: "key":value, the key always a string; absent parts take their defaults. */
static void map_entry(struct pbj *d, const struct pb_msg *me, const struct pbj_ent *e, int depth)
{
	struct buf *o = &d->out;
	if (depth > d->max_depth)
		pbj_fail(d, e->off + e->hl, NULL, 0, "nesting deeper than %d levels", d->max_depth);
	struct pbj_level *L = scan(d, me, e->p, e->len, e->off + e->hl, depth);
	const struct pb_field *kf = pb_field_num(me, 1), *vf = pb_field_num(me, 2);
	struct pbj_ent none = { .off = e->off, .p = (const unsigned char *)"" };
	const struct pbj_ent *k = &none, *v = &none;
	for (size_t i = 0; i < L->n; i++) {
		if (L->e[i].num == 1)
			k = &L->e[i];
		else if (L->e[i].num == 2)
			v = &L->e[i];
	}
	size_t mark = o->len;
	int save = d->int64_numbers;
	d->int64_numbers = 0;
	pbj_scalar(d, kf, k);
	d->int64_numbers = save;
	if (o->p[mark] != '"') {		/* numbers and booleans become strings */
		buf_addc(o, '"');
		memmove(o->p + mark + 1, o->p + mark, o->len - mark - 1);
		o->p[mark] = '"';
		buf_addc(o, '"');
	}
	buf_addc(o, ':');
	element(d, vf, v, depth + 1);
}

void pbj_message(struct pbj *d, const struct pb_msg *m, const unsigned char *p, size_t n,
    uint64_t off, int depth)
{
	if (depth > d->max_depth)
		pbj_fail(d, off, NULL, 0, "nesting deeper than %d levels", d->max_depth);
	struct pbj_level *L = scan(d, m, p, n, off, depth);
	struct pbj_ent *E = L->e;
	if (m->nrequired) {
		size_t j = 0;
		for (size_t i = 0; i < m->nfields; i++) {
			if (!m->fields[i].required)
				continue;
			while (j < L->n && E[j].num < m->fields[i].number)
				j++;
			if (j == L->n || E[j].num != m->fields[i].number)
				pbj_fail(d, off, NULL, 0, "%s: missing required field %s", m->name,
				    m->fields[i].name);
		}
	}
	if (m->noneofs) {
		if (L->ocap < (size_t)m->noneofs) {
			L->ocap = (size_t)m->noneofs;
			L->owin = xrealloc(L->owin, L->ocap * sizeof *L->owin);
			L->oseq = xrealloc(L->oseq, L->ocap * sizeof *L->oseq);
			L->ocut = xrealloc(L->ocut, L->ocap * sizeof *L->ocut);
		}
		for (int k = 0; k < m->noneofs; k++) {
			L->owin[k] = NULL;
			L->ocut[k] = 0;
		}
		for (size_t i = 0; i < L->n; i++) {
			const struct pb_field *f = E[i].f;
			if (f && f->oneof >= 0 && (!L->owin[f->oneof] || E[i].seq > L->oseq[f->oneof])) {
				L->owin[f->oneof] = f;
				L->oseq[f->oneof] = E[i].seq;
			}
		}
		for (size_t i = 0; i < L->n; i++) {
			const struct pb_field *f = E[i].f;
			if (f && f->oneof >= 0 && f != L->owin[f->oneof] && E[i].seq >= L->ocut[f->oneof])
				L->ocut[f->oneof] = E[i].seq + 1;
		}
	}
	struct buf *o = &d->out;
	int ki = d->json_names;
	buf_addc(o, '{');
	int first = 1;
	for (size_t i = 0, j; i < L->n; i = j) {
		for (j = i + 1; j < L->n && E[j].num == E[i].num; j++)
			;
		const struct pb_field *f = E[i].f;
		size_t mark = o->len;
		if (!first)
			buf_addc(o, ',');
		if (!f) {
			if (!d->unknown) {
				o->len = mark;
				continue;
			}
			unknown(d, &E[i], j - i);
		} else if (f->repeated) {
			int map = f->type == PBT_MESSAGE && f->msg->map_entry, el = 1;
			put(o, f->key[ki], f->keylen[ki]);
			buf_addc(o, map ? '{' : '[');
			for (size_t k = i; k < j; k++) {
				if (E[k].wt == PB_LEN && f->wire != PB_LEN) {
					packed(d, f, &E[k], &el);
					continue;
				}
				if (!el)
					buf_addc(o, ',');
				el = 0;
				if (map)
					map_entry(d, f->msg, &E[k], depth + 1);
				else
					element(d, f, &E[k], depth + 1);
				if (d->limit && d->out.len > d->limit)
					budget(d, E[k].off, f, 0);
			}
			buf_addc(o, map ? '}' : ']');
		} else {
			uint32_t cut = f->oneof >= 0 ? L->ocut[f->oneof] : 0;
			if (f->oneof >= 0 && L->owin[f->oneof] != f) {
				o->len = mark;
				continue;
			}
			const struct pbj_ent *e = &E[j - 1];
			if (!f->presence && pbj_is_default(f, e)) {
				o->len = mark;
				continue;
			}
			put(o, f->key[ki], f->keylen[ki]);
			size_t from = i;
			while (E[from].seq < cut)
				from++;
			if (f->type == PBT_MESSAGE && j - from > 1) {
				/* occurrences of a singular message merge: decode them concatenated */
				struct buf cat = {0};
				for (size_t k = from; k < j; k++)
					buf_add(&cat, E[k].p, E[k].len);
				d->held += cat.len;
				budget(d, E[from].off, f, 0);
				pbj_message(d, f->msg, (const unsigned char *)cat.p, cat.len,
				    E[from].off + E[from].hl, depth + 1);
				d->held -= cat.len;
				buf_free(&cat);
			} else
				element(d, f, e, depth + 1);
		}
		first = 0;
		budget(d, E[i].off, f, 0);
	}
	buf_addc(o, '}');
}

static void element(struct pbj *d, const struct pb_field *f, const struct pbj_ent *e, int depth)
{
	if (f->type == PBT_MESSAGE)
		pbj_message(d, f->msg, e->p, e->len, e->off + e->hl, depth);
	else
		pbj_scalar(d, f, e);
}
