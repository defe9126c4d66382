/*
 * state.c — paginate's checkpoint: one JSON object with the next page's coordinates and
 * the counts so far, replaced atomically after every page (atomic.c: a temporary file
 * beside it, fsync, rename; then the directory is fsync'ed so the rename survives a power
 * cut). It holds coordinates and counts only — never a credential, a header or argv; the
 * token is the API's own continuation (a cursor, a key). The object's last member is
 * "sum": the POSIX cksum(1) CRC of the line before it with the object closed there
 * ("{…,"output":N}"), so a hand edit or a disk error is refused rather than resumed from,
 * and a shell can check it with cksum(1) (the pipelines' states use the same rule).
 * state_lock keeps a second run off the same checkpoint: flock(2) on FILE.lock, which
 * holds the holder's pid for the message.
 */
#include <err.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/file.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cjson/cJSON.h>
#include "pagepull.h"

static void sync_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir = slash ? xstrndup(path, slash == path ? 1 : (size_t)(slash - path)) : xstrdup(".");
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd != -1) {
		fsync(fd);
		close(fd);
	}
	free(dir);
}

/* POSIX cksum: CRC-32 (polynomial 0x04C11DB7, most significant bit first) over the bytes
 * and then over their length, least significant byte first, complemented. */
static uint32_t crc_byte(uint32_t crc, unsigned char c)
{
	crc ^= (uint32_t)c << 24;
	for (int k = 0; k < 8; k++)
		crc = crc & 0x80000000u ? crc << 1 ^ 0x04C11DB7u : crc << 1;
	return crc;
}

uint32_t state_cksum(const char *p, size_t n)
{
	uint32_t crc = 0;
	for (size_t i = 0; i < n; i++)
		crc = crc_byte(crc, (unsigned char)p[i]);
	for (size_t len = n; len; len >>= 8)
		crc = crc_byte(crc, len & 0xff);
	return ~crc;
}

/* The sum over b (an object's text without its closing brace) and the brace. */
static uint32_t sum_of(struct buf *b)
{
	buf_adds(b, "}");
	uint32_t crc = state_cksum(b->p, b->len);
	b->len--;
	return crc;
}

int state_save(const char *path, const struct pgstate *s)
{
	struct buf b = {0};
	buf_adds(&b, "{\"paginate\":1,\"strategy\":");
	json_cstr(&b, s->strategy);
	buf_addf(&b, ",\"done\":%s,\"index\":%lld,\"number\":%lld,\"offset\":%lld,"
		 "\"pages\":%lld,\"records\":%lld,\"empty_run\":%lld",
		 s->done ? "true" : "false", s->index, s->number, s->offset,
		 s->pages, s->records, s->empty_run);
	if (s->token) {
		buf_adds(&b, ",\"token\":");
		json_cstr(&b, s->token);
	}
	if (s->have_total)
		buf_addf(&b, ",\"total\":%lld", s->total);
	if (s->have_count)
		buf_addf(&b, ",\"page_count\":%lld", s->page_count);
	if (s->have_output)
		buf_addf(&b, ",\"output\":%lld", s->output);
	buf_addf(&b, ",\"sum\":\"%u\"}\n", (unsigned)sum_of(&b));

	char *tmp;
	FILE *f = atomic_open(path, &tmp);
	int ok = fwrite(b.p, 1, b.len, f) == b.len;
	buf_free(&b);
	if (atomic_close(f, &tmp, path, ok) || !ok)
		return EXIT_IOERR;
	sync_dir(path);
	return 0;
}

static int num(const cJSON *j, const char *name, long long *v, int need)
{
	const cJSON *it = ctl_get(j, name);
	if (!it && !need)
		return 0;
	if (ctl_int(it, v) == -1 || *v < 0)
		return -1;
	return 1;
}

/* A checkpoint whose sum is missing or wrong is refused: resuming from an offset that a
 * disk error or a hand edit changed would skip or repeat records without a word. */
static void verify_sum(const char *path, struct buf *b)
{
	static const char key[] = ",\"sum\":\"";
	char *at = NULL, *end;
	for (char *p = b->p; p && (p = memmem(p, b->len - (size_t)(p - b->p), key, sizeof key - 1)); p++)
		at = p;
	if (!at)
		errx(EXIT_DATA, "%s: not a paginate state file (no checksum); remove it to start over", path);
	errno = 0;
	unsigned long want = strtoul(at + sizeof key - 1, &end, 10);
	size_t tail = b->len - (size_t)(end - b->p);
	if (errno || end == at + sizeof key - 1 || want > UINT32_MAX ||
	    !(tail == 2 || tail == 3) || memcmp(end, "\"}\n", tail))
		errx(EXIT_DATA, "%s: not a paginate state file; remove it to start over", path);
	size_t keep = b->len;
	b->len = (size_t)(at - b->p);
	uint32_t got = sum_of(b);
	b->len = keep;
	if (got != want)
		errx(EXIT_DATA, "%s: damaged (its checksum does not match); remove it to start over", path);
}

int state_lock(const char *path)
{
	struct buf name = {0};
	buf_addf(&name, "%s.lock", path);
	int fd = open(buf_str(&name), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
	if (fd == -1)
		err(EXIT_IOERR, "%s", buf_str(&name));
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		if (errno != EWOULDBLOCK)
			err(EXIT_IOERR, "%s", buf_str(&name));
		char pid[32] = "";
		ssize_t n = pread(fd, pid, sizeof pid - 1, 0);
		pid[n > 0 ? strcspn(pid, "\n") : 0] = 0;
		errx(EXIT_TEMPFAIL, "%s: in use by another run (pid %s)", path, *pid ? pid : "unknown");
	}
	char pid[32];
	int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) == -1 || pwrite(fd, pid, (size_t)n, 0) != n)
		err(EXIT_IOERR, "%s", buf_str(&name));
	buf_free(&name);
	return fd;	/* held until the program ends */
}

int state_load(const char *path, struct pgstate *s)
{
	FILE *f = fopen(path, "re");
	if (!f) {
		if (errno == ENOENT)
			return 0;
		err(EXIT_IOERR, "%s", path);
	}
	struct buf b = {0};
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0 && b.len < (1 << 20))
		buf_add(&b, chunk, n);
	if (ferror(f))
		err(EXIT_IOERR, "%s", path);
	fclose(f);
	verify_sum(path, &b);
	cJSON *j = cJSON_ParseWithLength(b.p ? b.p : "", b.len);
	buf_free(&b);
	memset(s, 0, sizeof *s);
	const cJSON *st = ctl_get(j, "strategy"), *tok = ctl_get(j, "token");
	if (!cJSON_IsObject(j) || !cJSON_IsString(st) || (tok && !cJSON_IsString(tok)) ||
	    num(j, "index", &s->index, 1) < 0 || num(j, "number", &s->number, 1) < 0 ||
	    num(j, "offset", &s->offset, 1) < 0 || num(j, "pages", &s->pages, 1) < 0 ||
	    num(j, "records", &s->records, 1) < 0 || num(j, "empty_run", &s->empty_run, 0) < 0 ||
	    (s->have_total = num(j, "total", &s->total, 0)) < 0 ||
	    (s->have_count = num(j, "page_count", &s->page_count, 0)) < 0 ||
	    (s->have_output = num(j, "output", &s->output, 0)) < 0)
		errx(EXIT_DATA, "%s: not a paginate state file; remove it to start over", path);
	s->strategy = xstrdup(st->valuestring);
	s->token = tok ? xstrdup(tok->valuestring) : NULL;
	s->done = ctl_flag(ctl_get(j, "done")) == 1;
	cJSON_Delete(j);
	return 1;
}
