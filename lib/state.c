/*
 * state.c — paginate's checkpoint: one JSON object with the next page's coordinates and
 * the counts so far, replaced atomically after every page (atomic.c: a temporary file
 * beside it, fsync, rename; then the directory is fsync'ed so the rename survives a power
 * cut). It holds coordinates and counts only — never a credential, a header or argv; the
 * token is the API's own continuation (a cursor, a key).
 */
#include <err.h>
#include <errno.h>
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
	buf_adds(&b, "}\n");

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
		errx(EXIT_DATA, "%s: not a paginate state file", path);
	s->strategy = xstrdup(st->valuestring);
	s->token = tok ? xstrdup(tok->valuestring) : NULL;
	s->done = ctl_flag(ctl_get(j, "done")) == 1;
	cJSON_Delete(j);
	return 1;
}
