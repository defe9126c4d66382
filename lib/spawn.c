/*
 * spawn.c — runs a command with its stdout on a pipe, its stdin on /dev/null, extra
 * NAME=VALUE pairs in its environment (replacing inherited ones of the same name), in a
 * process group of its own so that the whole group (a shell script and its curl) can be
 * ended at once. posix_spawnp: vfork speed, and an exec failure comes back as an errno.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "pagepull.h"

extern char **environ;

static int env_overridden(const char *e, char *const extra[])
{
	for (size_t i = 0; extra[i]; i++) {
		size_t n = strcspn(extra[i], "=") + 1;
		if (!strncmp(e, extra[i], n))
			return 1;
	}
	return 0;
}

pid_t spawn_cmd(char *const argv[], char *const extra[], int *outfd)
{
	size_t ne = 0, nx = 0;
	while (environ[ne])
		ne++;
	while (extra[nx])
		nx++;
	char **envp = xcalloc(ne + nx + 1, sizeof *envp);
	size_t k = 0;
	for (size_t i = 0; i < ne; i++)
		if (!env_overridden(environ[i], extra))
			envp[k++] = environ[i];
	for (size_t i = 0; i < nx; i++)
		envp[k++] = extra[i];
	envp[k] = NULL;

	int pfd[2];
	pid_t pid = -1;
	if (pipe2(pfd, O_CLOEXEC) == -1) {
		free(envp);
		return -1;
	}
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none;
	sigemptyset(&none);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], STDOUT_FILENO);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	posix_spawnattr_init(&at);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK);
	posix_spawnattr_setpgroup(&at, 0);
	posix_spawnattr_setsigmask(&at, &none);
	int e = posix_spawnp(&pid, argv[0], &fa, &at, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	free(envp);
	close(pfd[1]);
	if (e) {
		close(pfd[0]);
		errno = e;
		return -1;
	}
	*outfd = pfd[0];
	return pid;
}
