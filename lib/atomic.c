/*
 * atomic.c — an output file that appears whole or not at all: the bytes stream into
 * a temporary file beside it (".NAME.XXXXXX", same directory, so rename is atomic),
 * which is fsync'ed and renamed over NAME on success and removed otherwise, also
 * when SIGINT, SIGTERM or SIGHUP ends the program (unless it handles them itself:
 * its handler may call atomic_unlink_pending). Special files such as /dev/null or a
 * FIFO are written in place: renaming over them would replace them.
 */
#include <err.h>
#include <errno.h>
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

FILE *atomic_open(const char *path, char **tmp)
{
	struct stat st;
	*tmp = NULL;
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		FILE *f = fopen(path, "wb");
		if (!f)
			err(EXIT_IOERR, "%s", path);
		return f;
	}
	const char *slash = strrchr(path, '/');
	struct buf t = { 0 };
	if (slash)
		buf_add(&t, path, (size_t)(slash + 1 - path));
	buf_addf(&t, ".%s.XXXXXX", slash ? slash + 1 : path);
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
	if (*tmp && keep && !e && rename(*tmp, path) == -1)
		e = errno;
	if (e && keep)
		warnx("%s: %s", path, strerror(e));
	if (*tmp && (e || !keep))
		unlink(*tmp);
	pending = NULL;
	free(*tmp);
	*tmp = NULL;
	return e ? EXIT_IOERR : 0;
}
