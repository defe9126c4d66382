/*
 * spool.c — holds one page's records until the page is known to be good, so that a
 * failed or retried page never reaches the output. Bytes stay in memory up to a bound;
 * past it the memory part becomes a write-back buffer in front of an unlinked temporary
 * file (in $TMPDIR, else /tmp), which is kept and reused for the next page.
 * I/O errors on the temporary file end the program with EXIT_IOERR.
 */
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "pagepull.h"

void spool_init(struct spool *s, size_t limit)
{
	memset(s, 0, sizeof *s);
	s->limit = limit ? limit : 1;
	s->fd = -1;
}

static int spool_tmpfile(void)
{
	const char *dir = getenv("TMPDIR");
	if (!dir || !*dir)
		dir = "/tmp";
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd != -1)
		return fd;
	/* No O_TMPFILE on this file system: the classic create-and-unlink. */
	struct buf path = {0};
	buf_addf(&path, "%s/paginate.XXXXXX", dir);
	fd = mkostemp(path.p, O_CLOEXEC);
	if (fd == -1)
		err(EXIT_IOERR, "%s", path.p);
	unlink(path.p);
	buf_free(&path);
	return fd;
}

static void spool_flush(struct spool *s)
{
	if (s->fd == -1)
		s->fd = spool_tmpfile();
	size_t off = 0;
	while (off < s->mem.len) {
		ssize_t n = write(s->fd, s->mem.p + off, s->mem.len - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			err(EXIT_IOERR, "spool");
		off += (size_t)n;
	}
	s->disk += (off_t)s->mem.len;
	buf_reset(&s->mem);
}

void spool_add(struct spool *s, const void *p, size_t n)
{
	if (s->mem.len + n > s->limit) {
		s->spilled = 1;
		spool_flush(s);
	}
	buf_add(&s->mem, p, n);
	s->len += n;
}

void spool_reset(struct spool *s)
{
	buf_reset(&s->mem);
	if (s->disk > 0 && ftruncate(s->fd, 0) == -1)
		err(EXIT_IOERR, "spool");
	if (s->fd != -1 && lseek(s->fd, 0, SEEK_SET) == -1)
		err(EXIT_IOERR, "spool");
	s->disk = 0;
	s->len = 0;
	s->spilled = 0;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int spool_write(struct spool *s, int fd)
{
	if (s->disk > 0) {
		char chunk[1 << 16];
		if (lseek(s->fd, 0, SEEK_SET) == -1)
			err(EXIT_IOERR, "spool");
		for (off_t left = s->disk; left > 0;) {
			ssize_t n = read(s->fd, chunk, left < (off_t)sizeof chunk ? (size_t)left : sizeof chunk);
			if (n == -1 && errno == EINTR)
				continue;
			if (n <= 0)
				err(EXIT_IOERR, "spool");
			if (write_all(fd, chunk, (size_t)n) == -1)
				return -1;
			left -= n;
		}
	}
	return write_all(fd, s->mem.p, s->mem.len);
}

void spool_free(struct spool *s)
{
	buf_free(&s->mem);
	if (s->fd != -1)
		close(s->fd);
	s->fd = -1;
}
