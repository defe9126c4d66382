/*
 * intake.c — splits a page command's stdout as it arrives: record lines go to the page's
 * spool (counted, hashed for the loop guard, the last one kept when asked), control lines
 * (0x1E + JSON object) are merged into one object and never spooled, blank lines are
 * dropped, and a last line without '\n' gets one. Records are streamed, never held
 * whole, so one huge line costs no memory beyond the spool's bound.
 */
#include <string.h>
#include <cjson/cJSON.h>
#include "pagepull.h"

#define CTL_MAX (16u << 20)	/* a control line longer than this is not one */

enum { AT_START, IN_RECORD, IN_CTL };

void intake_init(struct intake *in, size_t spool_limit, int keep_last)
{
	memset(in, 0, sizeof *in);
	spool_init(&in->sp, spool_limit);
	in->keep_last = keep_last;
	intake_reset(in);
}

void intake_reset(struct intake *in)
{
	spool_reset(&in->sp);
	buf_reset(&in->ctl);
	buf_reset(&in->last);
	in->state = AT_START;
	in->hash = 14695981039346656037ULL;
	in->carry = 0, in->ncarry = 0;
	in->records = 0;
	in->bad = NULL;
	cJSON_Delete(in->meta);
	in->meta = NULL;
}

/* A 64-bit hash of the record bytes, eight at a time; bytes short of a word wait in
 * carry, so that the hash of a page does not depend on how its reads were cut. */
static void intake_hash(struct intake *in, const char *p, size_t n)
{
	uint64_t h = in->hash, w;
	for (; n && in->ncarry; p++, n--) {
		in->carry |= (uint64_t)(unsigned char)*p << (8 * in->ncarry);
		if (++in->ncarry == 8) {
			h = ((h ^ in->carry) * 0x100000001b3ULL), h ^= h >> 29;
			in->carry = 0, in->ncarry = 0;
		}
	}
	for (; n >= 8; p += 8, n -= 8) {
		memcpy(&w, p, 8);
		h = ((h ^ w) * 0x100000001b3ULL), h ^= h >> 29;
	}
	for (; n; p++, n--)
		in->carry |= (uint64_t)(unsigned char)*p << (8 * in->ncarry++);
	in->hash = h;
}

uint64_t intake_digest(const struct intake *in)
{
	uint64_t h = (in->hash ^ in->carry) * 0x9E3779B97F4A7C15ULL;
	return h ^ (h >> 31) ^ (uint64_t)in->sp.len;
}

static void intake_ctl_done(struct intake *in)
{
	if (!in->bad && ctl_merge(&in->meta, in->ctl.p ? in->ctl.p : "", in->ctl.len) == -1)
		in->bad = "control line is not a JSON object";
	buf_reset(&in->ctl);
}

void intake_feed(struct intake *in, const char *p, size_t n)
{
	while (n > 0) {
		if (in->state == AT_START) {
			if (*p == '\n') {
				p++, n--;
				continue;
			}
			if (*p == CTL_RS) {
				in->state = IN_CTL;
				p++, n--;
				continue;
			}
			in->state = IN_RECORD;
			in->records++;
			buf_reset(&in->last);
		}
		const char *nl = memchr(p, '\n', n);
		size_t k = nl ? (size_t)(nl - p) + 1 : n, body = nl ? k - 1 : k;
		if (in->state == IN_RECORD) {
			spool_add(&in->sp, p, k);
			intake_hash(in, p, k);
			if (in->keep_last)
				buf_add(&in->last, p, body);
		} else if (in->ctl.len + body > CTL_MAX) {
			in->bad = "control line too long";
			buf_reset(&in->ctl);
		} else {
			buf_add(&in->ctl, p, body);
		}
		if (nl) {
			if (in->state == IN_CTL)
				intake_ctl_done(in);
			in->state = AT_START;
		}
		p += k, n -= k;
	}
}

void intake_end(struct intake *in)
{
	if (in->state == IN_RECORD) {
		spool_add(&in->sp, "\n", 1);
		intake_hash(in, "\n", 1);
	} else if (in->state == IN_CTL) {
		intake_ctl_done(in);
	}
	in->state = AT_START;
}

void intake_free(struct intake *in)
{
	intake_reset(in);
	spool_free(&in->sp);
	buf_free(&in->ctl);
	buf_free(&in->last);
}
