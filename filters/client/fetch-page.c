/*
 * fetch-page, the client — what bin/fetch-page is. When a connection keeper serves
 * this run (PAGEPULL_KEEPER, see fetch-keeper(1)), the exchange is handed to it and
 * this program only waits for its exit status: it links no libcurl, so it starts in a
 * fraction of the time the exchange itself would need to load. Otherwise it becomes
 * the exchange (filters/fetch-page.c, linked into fetch-keeper beside it), unchanged.
 */
#include <err.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "pagepull.h"

int main(int argc, char **argv)
{
	int status;
	if (keeper_call(argc, argv, &status) == 0)
		return status;
	char self[PATH_MAX], path[PATH_MAX + 16];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	char *slash = n > 0 ? memrchr(self, '/', (size_t)n) : NULL;
	if (!slash)
		err(EXIT_IOERR, "/proc/self/exe");
	*slash = 0;
	snprintf(path, sizeof path, "%s/fetch-keeper", self);
	const char *base = strrchr(argv[0], '/');
	if (strcmp(base ? base + 1 : argv[0], "fetch-page") != 0)
		argv[0] = "fetch-page";	/* fetch-keeper makes the exchange when called so */
	execv(path, argv);
	err(EXIT_IOERR, "%s", path);
}
