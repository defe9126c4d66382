/*
 * keeper.c — the connection keeper's client side and its start and stop (see
 * fetch-keeper(1)). A keeper listens on a Unix socket in a private (0700) directory,
 * named by PAGEPULL_KEEPER. fetch-page connects, sends its arguments, environment and
 * umask, and passes its standard descriptors and its working directory (SCM_RIGHTS):
 * the keeper runs the exchange as fetch-page itself would, on a connection that
 * outlives the page, writing the body straight into fetch-page's stdout, and answers
 * with the exit status (or the signal, SIGPIPE, that would have ended fetch-page).
 * Nothing here uses libcurl: a client served by a keeper never loads it.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include "pagepull.h"

extern char **environ;

int keeper_disabled(void)
{
	const char *v = getenv("PAGEPULL_NO_KEEPALIVE");
	return v && *v && strcmp(v, "0") != 0;
}

static int unix_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof sa.sun_path)
		return -1;
	strcpy(sa.sun_path, path);
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s == -1)
		return -1;
	if (connect(s, (struct sockaddr *)&sa, sizeof sa) == -1) {
		close(s);
		return -1;
	}
	return s;
}

/* argv, then environ, each string with its NUL. */
static void add_strings(struct buf *b, char *const *v, uint32_t *count)
{
	for (*count = 0; v[*count]; ++*count)
		buf_add(b, v[*count], strlen(v[*count]) + 1);
}

/* A secret given with -H on the command line anyway is blanked in our argv once the
 * request holds it, as fetch-page does itself (and curl with -u). */
static void blank_header(char *h)
{
	size_t k = strcspn(h, ":");
	if (h[k] && redact_is_secret_header(h, k))
		memset(h + k + 1, ' ', strlen(h + k + 1));
}

static void blank_secrets(int argc, char **argv)
{
	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++) {
		char *a = argv[i];
		if (strncmp(a, "--header=", 9) == 0)
			blank_header(a + 9);
		else if (strcmp(a, "--header") == 0 && i + 1 < argc)
			blank_header(argv[++i]);
		else if (a[0] == '-' && a[1] != '-')
			for (char *c = a + 1; *c; c++) {
				if (strchr("kLnsv", *c))
					continue;	/* flags */
				if (*c == 'H')
					blank_header(c[1] ? c + 1 : i + 1 < argc ? argv[++i] : c + 1);
				else if (!c[1] && i + 1 < argc)
					i++;	/* another option's argument */
				break;
			}
	}
}

static int send_request(int s, int argc, char **argv)
{
	int fds[4] = { 0, 1, 2, -1 };
	for (int i = 0; i < 3; i++)
		if (fcntl(fds[i], F_GETFD) == -1)
			return -1;	/* a closed standard descriptor: nothing to pass */
	if ((fds[3] = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	struct keeper_req h = { .magic = KEEPER_MAGIC };
	struct buf b = { 0 };
	buf_add(&b, &h, sizeof h);
	add_strings(&b, argv, &h.argc);
	add_strings(&b, environ, &h.envc);
	mode_t m = umask(0);
	umask(m);
	h.umask = (uint32_t)m;
	h.len = (uint32_t)(b.len - sizeof h);
	memcpy(b.p, &h, sizeof h);
	blank_secrets(argc, argv);
	int rc = b.len > KEEPER_REQ_MAX ? -1 : fdpass_send(s, b.p, b.len, fds, 4);
	close(fds[3]);
	explicit_bzero(b.p, b.len);	/* the environment may hold secrets */
	buf_free(&b);
	return rc;
}

int keeper_call(int argc, char **argv, int *status)
{
	const char *path = getenv("PAGEPULL_KEEPER");
	if (!path || !*path || keeper_disabled())
		return -1;
	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
		if (strcmp(argv[i], "--no-keepalive") == 0)
			return -1;
	int s = unix_connect(path);
	if (s == -1)
		return -1;
	unsigned char ack, r[5];
	if (send_request(s, argc, argv) == -1 || fdpass_recv(s, &ack, 1, NULL, NULL) == -1 || ack != 'A') {
		close(s);	/* refused before it began: the exchange is ours to make */
		return -1;
	}
	if (fdpass_recv(s, r, sizeof r, NULL, NULL) == -1 || (r[0] != 'X' && r[0] != 'K')) {
		fprintf(stderr, "%s: %s: the connection keeper ended mid-exchange\n",
			program_invocation_short_name, path);
		*status = EXIT_TEMPFAIL;
		close(s);
		return 0;
	}
	int32_t v;
	memcpy(&v, r + 1, sizeof v);
	close(s);
	if (r[0] == 'K') {	/* what ended the exchange would have ended fetch-page */
		signal(v, SIG_DFL);
		raise(v);
		*status = 128 + v;
		return 0;
	}
	*status = v;
	return 0;
}

/* paginate's keeper: its pid and private directory while it runs. */
static pid_t keeper_pid = -1;
static char keeper_sock[KEEPER_PATH_MAX];

/* fetch-keeper beside this program (the build tree, an install), else from PATH. */
static void exec_keeper(char *const argv[])
{
	char self[PATH_MAX], path[PATH_MAX + 32];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n > 0) {
		self[n] = 0;
		char *slash = strrchr(self, '/');
		if (slash) {
			*slash = 0;
			snprintf(path, sizeof path, "%s/fetch-keeper", self);
			execv(path, argv);
		}
	}
	execvp("fetch-keeper", argv);
	_exit(127);
}

/* A private directory (mkdtemp: 0700) for a keeper's socket "S": in XDG_RUNTIME_DIR, else
 * TMPDIR, else /tmp. sock gets the socket's path; 0, or -1 if it would not fit a socket name. */
int keeper_mkdir(char sock[KEEPER_PATH_MAX])
{
	const char *base = getenv("XDG_RUNTIME_DIR");
	struct stat st;
	if (!base || !*base || stat(base, &st) == -1 || !S_ISDIR(st.st_mode) || access(base, W_OK))
		base = getenv("TMPDIR");
	if (!base || !*base)
		base = "/tmp";
	if (snprintf(sock, KEEPER_PATH_MAX, "%s/pagepull-keeper.XXXXXX", base) >= KEEPER_PATH_MAX - 2 ||
	    !mkdtemp(sock))
		return -1;
	strcat(sock, "/S");
	return 0;
}

const char *keeper_cacert;

void keeper_start(int parallel)
{
	const char *named = getenv("PAGEPULL_KEEPER");
	int p[2];
	if ((named && *named) || keeper_disabled() || pipe2(p, O_CLOEXEC) == -1)
		return;
	char n[16];
	snprintf(n, sizeof n, "%d", parallel < 1 ? 1 : parallel);
	char *argv[] = { "fetch-keeper", "-P", n, "--serve", NULL, NULL, NULL };
	if (keeper_cacert) {
		argv[4] = "--cacert";
		argv[5] = (char *)keeper_cacert;
	}
	pid_t pid = fork();
	if (pid == 0) {
		setpgid(0, 0);	/* the terminal's ^C goes to paginate, which ends us */
		dup2(p[1], 1);
		exec_keeper(argv);
	}
	close(p[1]);
	ssize_t r = 0, k;
	while (pid > 0 && r < KEEPER_PATH_MAX && (k = read(p[0], keeper_sock + r, (size_t)(KEEPER_PATH_MAX - r))) > 0)
		r += k;
	close(p[0]);
	if (r < 4 || r >= KEEPER_PATH_MAX || keeper_sock[r - 1] != '\n') {	/* none: pages connect alone */
		if (pid > 0) {
			kill(pid, SIGTERM);
			waitpid(pid, NULL, 0);
		}
		return;
	}
	keeper_sock[r - 1] = 0;
	keeper_pid = pid;
	setenv("PAGEPULL_KEEPER", keeper_sock, 1);
}

/* The keeper removes its socket and directory itself; after a kill -9 we do. */
void keeper_stop(void)
{
	if (keeper_pid <= 0)
		return;
	kill(keeper_pid, SIGTERM);
	while (waitpid(keeper_pid, NULL, 0) == -1 && errno == EINTR)
		;
	keeper_pid = -1;
	unlink(keeper_sock);
	char *slash = strrchr(keeper_sock, '/');
	*slash = 0;
	rmdir(keeper_sock);
	unsetenv("PAGEPULL_KEEPER");
}
