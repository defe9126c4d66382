/*
 * fetch-keeper — the connection keeper of a run (the ssh ControlMaster pattern): it
 * listens on a Unix socket in a private directory and makes the exchanges that
 * fetch-page clients hand it, each exactly as fetch-page would (filters/fetch-page.c's
 * main, linked in), but on libcurl handles that live as long as the run, so that their
 * connections, DNS answers, TLS sessions and loaded CA bundle serve every page. Up to
 * -P workers, each one process with one handle, take exchanges from the socket in turn.
 * A worker that ends (an exit deep in the exchange, a client's stdout gone) tells its
 * client the status first and is replaced. Called as fetch-page, it is the exchange.
 * The CA store is loaded once, by the parent before it forks the workers, which all
 * share it (see load_ca).
 */
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <curl/curl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <unistd.h>
#include "pagepull.h"

int fetch_page_main(int argc, char **argv);	/* filters/fetch-page.c */
void fetch_page_reset(void);

extern char **environ;

#define WORKERS_MAX 64

static int parallel = 1;
static char sock_path[KEEPER_PATH_MAX];
static int serve_mode;
static pid_t workers[WORKERS_MAX];
static volatile sig_atomic_t stopping;
static int client = -1;		/* the socket of the exchange in progress */
static const char *cacert;	/* --cacert (or PAGEPULL_CACERT): the run's CA file, not libcurl's default */

/* The run's CA store, loaded by the parent before it forks the workers (load_ca), so that
 * every worker's every connection shares it instead of loading the CA itself. */
static struct {
	X509_STORE *store;	/* NULL: none; every exchange loads its CA as alone */
	int has_file;		/* it holds a CA file (else only libcurl's default CApath) */
	struct stat file;	/* that file as loaded, to know it again in an exchange */
} run_ca;

static void __attribute__((noreturn)) usage(int status)
{
	fputs("usage: fetch-keeper [-P n] [--cacert file] --serve\n"
	      "       fetch-keeper [-P n] [--cacert file] [--] command [argument ...]\n",
	      status ? stderr : stdout);
	exit(status);
}

/* 'X' and an exit status, or 'K' and a signal; async-signal-safe. */
static void reply(char kind, int32_t v)
{
	char r[5] = { kind };
	memcpy(r + 1, &v, sizeof v);
	if (client >= 0)
		send(client, r, sizeof r, MSG_NOSIGNAL);
	client = -1;
}

/* The client's stdout went away: fetch-page would have died of SIGPIPE, so it will. */
static void on_sigpipe(int sig)
{
	reply('K', sig);
	_exit(0);
}

/* An exit() in the middle of the exchange (a usage error, an output that cannot be
 * created): its status goes to the client, and the worker ends with it. */
static void on_exit_hook(int status, void *arg)
{
	if (client < 0)
		return;
	fflush(NULL);	/* every stream still open: stdout may be closed (fshut) by now */
	reply('X', status);
}

/*
 * The CA store, once a run. libcurl makes a new SSL_CTX for each new connection and fills
 * its X509 store from CURLOPT_CAINFO and CURLOPT_CAPATH: parsing Debian's bundle is some
 * 13-20 ms of CPU, once a connection, and so once a worker under -P. Here the parent loads
 * it once (load_ca: the same calls and flags as libcurl's) before it forks the workers; an
 * exchange whose CA is that one (keeper_ca_use) sets CAINFO to none (CAPATH stays libcurl's
 * default, which the store has) and puts the store into each new connection's SSL_CTX from
 * CURLOPT_SSL_CTX_FUNCTION (install_ca). Why that is exactly libcurl's own verification, in
 * curl-7_88_1's lib/vtls/openssl.c: ossl_connect_step1 sets SSL_VERIFY_PEER (verifypeer is
 * untouched here), then calls the SSL_CTX function, then SSL_new; the X509 store is filled
 * only later, lazily, by Curl_ssl_setup_x509_store (from ossl_connect_step2 once the
 * ClientHello is sent, or from bio_cf_in_read before the server's first bytes reach
 * OpenSSL), which hands SSL_CTX_get_cert_store — this store — to populate_x509_store: with
 * CAfile NULL it loads no file; X509_STORE_load_path of the CApath finds the store's
 * hash-directory lookup with that directory in it already and adds nothing (no file is read
 * until a verification looks a name up, as alone); and with a CApath its CURL_CA_FALLBACK
 * branch (X509_STORE_set_default_paths, in a libcurl built --with-ca-fallback, which
 * Debian's is not) is never taken. It sets X509_V_FLAG_TRUSTED_FIRST and PARTIAL_CHAIN,
 * which the store has already. libcurl's own store cache (per handle, keyed by CAfile) is
 * not used with a CApath, nor with CURLOPT_CA_CACHE_TIMEOUT 0. A certificate that the
 * store does not trust fails the handshake as it would alone. Connections and TLS sessions
 * are reused only between exchanges with the same CAfile and CApath
 * (Curl_ssl_config_matches, lib/vtls/vtls.c), so one verified with this store (CAfile NULL)
 * never serves an exchange with another CA, nor the reverse.
 */
static int same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* As libcurl's populate_x509_store would for an exchange: the file (--cacert, else
 * libcurl's default), libcurl's default CApath (a hash directory, read lazily), the flags.
 * Only when libcurl's TLS library is OpenSSL; none when the file cannot be loaded (the
 * exchanges that name it then fail as they would alone). */
static void load_ca(void)
{
	const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
	if (!v->ssl_version || strncmp(v->ssl_version, "OpenSSL/", 8) != 0)
		return;
	const char *file = cacert ? cacert : v->cainfo;
	struct stat after;
	X509_STORE *store = X509_STORE_new();
	if (!store || (file && (stat(file, &run_ca.file) == -1 || !X509_STORE_load_file(store, file) ||
				stat(file, &after) == -1 || !same_file(&run_ca.file, &after))) ||
	    (v->capath && !X509_STORE_load_path(store, v->capath))) {
		X509_STORE_free(store);
		ERR_clear_error();
		return;
	}
	X509_STORE_set_flags(store, X509_V_FLAG_TRUSTED_FIRST | X509_V_FLAG_PARTIAL_CHAIN);
	run_ca.store = store;
	run_ca.has_file = file != NULL;
}

static CURLcode install_ca(CURL *h, void *ssl_ctx, void *store)
{
	if (!X509_STORE_up_ref(store))
		return CURLE_OUT_OF_MEMORY;
	SSL_CTX_set_cert_store(ssl_ctx, store);	/* frees the connection's own, empty one */
	return CURLE_OK;
}

/* For fetch-page's setup (filters/fetch-page/setup.c): when the exchange's CA file (its
 * --cacert, else libcurl's default) is the one loaded for the run, unchanged since, it
 * verifies with the run's store and libcurl loads nothing: 1. Else 0, nothing set. */
int keeper_ca_use(CURL *h, const char *file)
{
	struct stat st;
	if (!run_ca.store)
		return 0;
	if (!file)
		file = curl_version_info(CURLVERSION_NOW)->cainfo;
	if (!file != !run_ca.has_file || (file && (stat(file, &st) == -1 || !same_file(&st, &run_ca.file))))
		return 0;
	if (curl_easy_setopt(h, CURLOPT_SSL_CTX_FUNCTION, install_ca) != CURLE_OK)
		return 0;
	curl_easy_setopt(h, CURLOPT_SSL_CTX_DATA, run_ca.store);
	curl_easy_setopt(h, CURLOPT_CA_CACHE_TIMEOUT, 0L);
	curl_easy_setopt(h, CURLOPT_CAINFO, NULL);	/* CAPATH: the default, in the store */
	return 1;
}

static int read_request(int c, struct buf *b, int fds[4], struct keeper_req *h)
{
	static const char magic[4] = KEEPER_MAGIC;
	int nfds = 4;
	struct ucred cr;
	socklen_t crlen = sizeof cr;
	struct timeval tv = { .tv_sec = 10 };
	setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	if (getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cr, &crlen) == -1 || cr.uid != geteuid())
		return -1;
	int rc = fdpass_recv(c, h, sizeof *h, fds, &nfds);
	if (rc == -1 || nfds != 4 || memcmp(h->magic, magic, 4) != 0 || h->len > KEEPER_REQ_MAX ||
	    h->argc == 0 || (uint64_t)h->argc + h->envc > h->len) {
		while (nfds > 0)
			close(fds[--nfds]);
		return -1;
	}
	buf_reset(b);
	buf_grow(b, h->len + 1);
	if (fdpass_recv(c, b->p, h->len, NULL, NULL) == -1)
		return -1;
	b->len = h->len;
	b->p[b->len] = 0;
	return 0;
}

/* The request's strings as argv and environ arrays (NULL-ended), or -1 if they are not
 * exactly argc + envc NUL-ended strings. */
static int split(struct buf *b, const struct keeper_req *h, char ***argv, char ***env)
{
	static char **v;
	size_t n = (size_t)h->argc + h->envc, k = 0;
	v = xrealloc(v, (n + 2) * sizeof *v);
	for (char *s = b->p, *end = b->p + b->len; s < end; s += strlen(s) + 1) {
		if (k == n || !memchr(s, 0, (size_t)(end - s)))
			return -1;
		v[k < h->argc ? k : k + 1] = s;	/* a NULL between the two */
		k++;
	}
	if (k != n || (b->len && b->p[b->len - 1]))
		return -1;
	v[h->argc] = NULL;
	v[n + 1] = NULL;
	*argv = v;
	*env = v + h->argc + 1;
	return 0;
}

/* One exchange: the client's descriptors become 0, 1 and 2, its directory, umask and
 * environment ours, for fetch-page's main; then the keeper's own come back. */
static void serve(int c, struct buf *b, int home, int errfd, int null)
{
	struct keeper_req h;
	int fds[4];
	char **argv, **env, **keeper_env = environ;
	if (read_request(c, b, fds, &h) == -1)
		return;
	if (split(b, &h, &argv, &env) == -1 || send(c, "A", 1, MSG_NOSIGNAL) != 1) {
		for (int i = 0; i < 4; i++)
			close(fds[i]);
		return;
	}
	struct timeval tv = { 0 };
	setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	client = http_watch_fd = c;
	for (int i = 0; i < 3; i++) {
		dup2(fds[i], i);
		close(fds[i]);
	}
	stdin = fdopen(0, "r");
	stdout = fdopen(1, "w");
	if (!stdin || !stdout || fchdir(fds[3]) == -1)
		exit(EXIT_IOERR);
	close(fds[3]);
	mode_t keeper_umask = umask((mode_t)h.umask & 0777);
	environ = env;
	fetch_page_reset();
	int status = fetch_page_main((int)h.argc, argv);	/* closes stdout (fshut) */
	fclose(stdin);
	environ = keeper_env;
	umask(keeper_umask);
	if (fchdir(home) == -1)
		exit(EXIT_IOERR);
	dup2(null, 0);
	dup2(null, 1);
	dup2(errfd, 2);
	http_watch_fd = -1;
	reply('X', status);
}

static void worker(int lfd)
{
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	signal(SIGCHLD, SIG_DFL);
	signal(SIGPIPE, on_sigpipe);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	on_exit(on_exit_hook, NULL);
	program_invocation_short_name = "fetch-page";	/* its messages are fetch-page's */
	http_keep_handle = 1;
	fetch_page_reset();	/* keeps the fresh state */
	int home = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC), errfd = fcntl(2, F_DUPFD_CLOEXEC, 3);
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);	/* above 2: 0 and 1 are open */
	struct buf b = { 0 };
	for (;;) {
		int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (c == -1) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			_exit(EXIT_IOERR);
		}
		serve(c, &b, home, errfd, null);
		if (b.p)	/* the client's environment may hold secrets: not kept till the next one */
			explicit_bzero(b.p, b.len);
		client = -1;
		close(c);
	}
}

static void start_worker(int i, int lfd)
{
	pid_t pid = fork();
	if (pid == 0)
		worker(lfd);
	workers[i] = pid;	/* -1 if fork failed: tried again on the next SIGCHLD */
}

static void on_stop(int sig) { stopping = 1; }
static void on_child(int sig) { }

static void remove_socket(void)
{
	unlink(sock_path);
	rmdir(dirname(sock_path));	/* the run's private directory, once empty */
}

static int listen_at(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	strcpy(sa.sun_path, path);	/* keeper_mkdir made it fit */
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	mode_t m = umask(077);
	if (s == -1 || bind(s, (struct sockaddr *)&sa, sizeof sa) == -1 || listen(s, 128) == -1) {
		warn("%s", path);
		remove_socket();
		exit(EXIT_IOERR);
	}
	umask(m);
	return s;
}

/* Serve until SIGTERM (or the parent's death): the workers, replaced when they end.
 * The directory is made only once the parent's death would end us, so that a run
 * killed at any instant leaves none behind. */
static int serve_socket(void)
{
	sigset_t block, old;
	sigemptyset(&block);
	sigaddset(&block, SIGCHLD);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	sigprocmask(SIG_BLOCK, &block, &old);
	signal(SIGTERM, on_stop);
	signal(SIGINT, on_stop);
	signal(SIGHUP, on_stop);
	signal(SIGCHLD, on_child);
	signal(SIGPIPE, SIG_IGN);
	/* A group of our own: a kill -9 of the run's process group (or ^C) reaches the run,
	 * whose end then ends us with SIGTERM, so that the directory is always removed. */
	setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() == 1)
		return EXIT_OK;		/* the run ended before we began */
	if (keeper_mkdir(sock_path) == -1)
		err(EXIT_IOERR, "cannot make a private directory for the socket");
	int lfd = listen_at(sock_path);
	int null = open("/dev/null", O_RDWR);
	dup2(null, 0);
	struct buf line = { 0 };
	buf_addf(&line, "%s\n", sock_path);
	if (write(1, line.p, line.len) != (ssize_t)line.len)
		stopping = 1;
	buf_free(&line);
	dup2(null, 1);
	close(null);
	load_ca();	/* once, for every worker */
	for (int i = 0; i < parallel; i++)
		start_worker(i, lfd);
	while (!stopping) {
		sigsuspend(&old);
		pid_t pid;
		while ((pid = waitpid(-1, NULL, WNOHANG)) > 0)
			for (int i = 0; i < parallel; i++)
				if (workers[i] == pid)
					workers[i] = 0;
		for (int i = 0; i < parallel && !stopping; i++)
			if (workers[i] <= 0)
				start_worker(i, lfd);
	}
	for (int i = 0; i < parallel; i++)
		if (workers[i] > 0)
			kill(workers[i], SIGTERM);
	while (wait(NULL) > 0 || errno == EINTR)
		;
	remove_socket();
	return EXIT_OK;
}

/* fetch-keeper command…: like ssh-agent command, a keeper for as long as it runs. */
static int run_command(char **cmd)
{
	keeper_cacert = cacert;
	keeper_start(parallel);
	pid_t pid = fork();
	if (pid == 0) {
		execvp(cmd[0], cmd);
		warn("%s", cmd[0]);
		_exit(errno == ENOENT ? 127 : 126);
	}
	int wst = 0;
	while (pid > 0 && waitpid(pid, &wst, 0) == -1 && errno == EINTR)
		;
	keeper_stop();
	if (pid == -1)
		err(EXIT_IOERR, "fork");
	if (WIFSIGNALED(wst)) {
		signal(WTERMSIG(wst), SIG_DFL);
		raise(WTERMSIG(wst));
		return 128 + WTERMSIG(wst);
	}
	return WEXITSTATUS(wst);
}

enum { O_SERVE = 256, O_CACERT, O_HELP, O_VERSION };
static const struct option longopts[] = {
	{ "cacert", required_argument, 0, O_CACERT },
	{ "parallel", required_argument, 0, 'P' },
	{ "serve", no_argument, 0, O_SERVE },
	{ "help", no_argument, 0, O_HELP },
	{ "version", no_argument, 0, O_VERSION },
	{ 0, 0, 0, 0 }
};

int main(int argc, char **argv)
{
	const char *name = strrchr(argv[0], '/');
	if (strcmp(name ? name + 1 : argv[0], "fetch-page") == 0) {
		prctl(PR_SET_NAME, "fetch-page");	/* for ps -C, pgrep, top */
		return fetch_page_main(argc, argv);	/* no keeper served this one */
	}
	int c;
	long long asked;
	const char *env_cacert = getenv("PAGEPULL_CACERT");	/* for the keeper paginate starts */
	if (env_cacert && *env_cacert)
		cacert = env_cacert;
	while ((c = getopt_long(argc, argv, "+hP:", longopts, NULL)) != -1) {
		switch (c) {
		case 'P':
			if (arg_num(optarg, 1, WORKERS_MAX, &asked)) {
				warnx("-P %s: not a number from 1 to %d", optarg, WORKERS_MAX);
				usage(EXIT_USAGE);
			}
			parallel = (int)asked;
			break;
		case O_CACERT: cacert = optarg; break;
		case O_SERVE: serve_mode = 1; break;
		case 'h':
		case O_HELP: usage(EXIT_OK); break;
		case O_VERSION: print_version(); return fshut(stdout, "<stdout>");
		default: usage(EXIT_USAGE);
		}
	}
	if (!serve_mode == (optind == argc)) {
		warnx("%s", serve_mode ? "--serve: not with a command" : "a command or --serve is needed");
		usage(EXIT_USAGE);
	}
	if (!serve_mode)
		return run_command(argv + optind);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		errx(EXIT_IOERR, "cannot initialise libcurl");
	return serve_socket();
}
