/*
 * atomic.c — an output file that appears whole or not at all: the bytes stream into
 * a temporary file beside it (".NAME.XXXXXX", same directory, so rename is atomic),
 * which is fsync'ed and renamed over NAME on success and removed otherwise, also
 * when SIGINT, SIGTERM or SIGHUP ends the program (unless it handles them itself:
 * its handler may call atomic_unlink_pending). A symbolic link is followed to the file it
 * names (as curl and the shells do), and that file is the one replaced. Anything but a
 * regular file — a character device such as /dev/null or /dev/full, a FIFO, a socket —
 * is written in place: renaming over it would replace the device. A directory is a
 * usage error.
 */
#include <err.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "pagepull.h"

static char *volatile pending;	/* the temporary file being written, if any */

void atomic_unlink_pending(void)
{
	if (pending)
		unlink(pending);
}

static void on_signal(int sig)
{
	atomic_unlink_pending();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void catch_default(int sig)
{
	struct sigaction sa;
	if (sigaction(sig, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL)
		signal(sig, on_signal);
}

/* path with its symbolic links followed, the last component's as often as it takes: the
 * file that a write through path reaches (for a dangling link, the file open(2) would
 * create). Followed here rather than by realpath(3) because the target may not exist. */
static char *follow(const char *path)
{
	char *p = xstrdup(path), link[PATH_MAX];
	for (int hops = 0; hops < 40; hops++) {
		struct stat st;
		ssize_t n;
		if (lstat(p, &st) == -1 || !S_ISLNK(st.st_mode) ||
		    (n = readlink(p, link, sizeof link - 1)) == -1)
			return p;
		link[n] = 0;
		struct buf t = { 0 };
		const char *slash = strrchr(p, '/');
		if (link[0] != '/' && slash)
			buf_add(&t, p, (size_t)(slash + 1 - p));
		buf_adds(&t, link);
		free(p);
		p = (char *)buf_str(&t);
	}
	errx(EXIT_IOERR, "%s: %s", path, strerror(ELOOP));
}

FILE *atomic_open(const char *path, char **tmp)
{
	struct stat st;
	*tmp = NULL;
	/* stat(2), not follow(): the kernel also follows the links of /proc/self/fd, which
	 * readlink(2) shows as "pipe:[N]" (-o /dev/stdout, /dev/fd/N, a process substitution) */
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		errx(EXIT_USAGE, "%s: a directory, not a file", path);
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		FILE *f = fopen(path, "wb");
		if (!f)
			err(EXIT_IOERR, "%s", path);
		return f;
	}
	char *target = follow(path);
	const char *slash = strrchr(target, '/');
	struct buf t = { 0 };
	if (slash)
		buf_add(&t, target, (size_t)(slash + 1 - target));
	buf_addf(&t, ".%s.XXXXXX", slash ? slash + 1 : target);
	free(target);
	catch_default(SIGINT);
	catch_default(SIGTERM);
	catch_default(SIGHUP);
	int fd = mkstemp((char *)buf_str(&t));
	if (fd == -1)
		err(EXIT_IOERR, "%s", path);
	*tmp = pending = t.p;
	mode_t um = umask(0);	/* mkstemp's 0600 → what open(2) would have made */
	umask(um);
	fchmod(fd, 0666 & ~um);
	FILE *f = fdopen(fd, "wb");
	if (!f)
		err(EXIT_IOERR, "%s", path);
	return f;
}

int atomic_close(FILE *f, char **tmp, const char *path, int keep)
{
	int e = 0;
	if (fflush(f) == EOF || ferror(f) || (keep && *tmp && fsync(fileno(f)) == -1))
		e = errno ? errno : EIO;
	if (fclose(f) == EOF && !e)
		e = errno;
	char *target = *tmp && keep && !e ? follow(path) : NULL;
	if (target && rename(*tmp, target) == -1)
		e = errno;
	free(target);
	if (e && keep)
		warnx("%s: %s", path, strerror(e));
	if (*tmp && (e || !keep))
		unlink(*tmp);
	pending = NULL;
	free(*tmp);
	*tmp = NULL;
	return e ? EXIT_IOERR : 0;
}
