/*
 * paginate state-file fuzz harness: lib/state.c's state_load over each input as a file;
 * a file it accepts must survive a round trip: saved with state_save and loaded again,
 * every field comes back equal (else the harness aborts: a finding). Each input is tried
 * twice: as it is (the checksum check) and with a right "sum" appended to it (so that a
 * mutation still reaches the parser behind the checksum).
 */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include "fuzz.h"
#include "pagepull.h"

static char saved[4096];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fz_setup();
	fz_cjson_track();
	const char *tmp = getenv("TMPDIR");
	snprintf(saved, sizeof saved, "%s/pagepull-fuzz-state.%d", tmp ? tmp : "/tmp", (int)getpid());
	return 0;
}

/* Invalid UTF-8 cannot survive JSON (it is written as U+FFFD): such strings are not compared. */
static int utf8_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0, k;
	for (; n; s += k, n -= k)
		if (!(k = utf8_seqlen((const unsigned char *)s, n)))
			return 0;
	return 1;
}

static int same(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

static int one(const uint8_t *data, size_t size)
{
	int fd = fz_memfd(data, size);
	struct pgstate s, r;
	int loaded = 0;
	memset(&s, 0, sizeof s);
	FZ_TRY(loaded = state_load(fz_fdpath(fd), &s));
	close(fd);
	if (fz_jumped || loaded != 1)
		return 0;
	if (!utf8_ok(s.strategy) || !utf8_ok(s.token)) {
		free((char *)s.strategy);
		free(s.token);
		return 0;
	}
	int rc = state_save(saved, &s);
	if (rc != 0)
		abort();
	memset(&r, 0, sizeof r);
	FZ_TRY(loaded = state_load(saved, &r));
	unlink(saved);
	if (fz_jumped || loaded != 1 || !same(s.strategy, r.strategy) || !same(s.token, r.token) ||
	    s.done != r.done || s.index != r.index || s.number != r.number || s.offset != r.offset ||
	    s.pages != r.pages || s.records != r.records || s.empty_run != r.empty_run ||
	    s.have_total != r.have_total || s.total != r.total || s.have_count != r.have_count ||
	    s.page_count != r.page_count || s.have_output != r.have_output || s.output != r.output) {
		fprintf(stderr, "state round trip differs: strategy %s/%s token %s/%s\n",
		    s.strategy, r.strategy, s.token ? s.token : "(null)", r.token ? r.token : "(null)");
		abort();
	}
	free((char *)s.strategy);
	free(s.token);
	free((char *)r.strategy);
	free(r.token);
	return 0;
}

/* The input as an object without its closing brace (one dropped if there), then a right
 * "sum" and the brace, as state_save writes it. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	one(data, size);
	struct buf b = { 0 };
	size_t n = size;
	if (n && data[n - 1] == '\n')
		n--;
	if (n && data[n - 1] == '}')
		n--;
	buf_add(&b, data, n);
	buf_adds(&b, "}");
	uint32_t crc = state_cksum(b.p, b.len);
	b.len--;
	buf_addf(&b, ",\"sum\":\"%u\"}\n", (unsigned)crc);
	one((const uint8_t *)b.p, b.len);
	buf_free(&b);
	return 0;
}
