/*
 * spawn.c — runs a page command: one program, or a pipeline of programs joined by pipes,
 * with the last one's stdout on a pipe to us, the first one's stdin on /dev/null, extra
 * NAME=VALUE pairs in the environment (replacing inherited ones of the same name), all
 * in one process group of their own so that the whole command can be ended at once.
 * A pipeline run here needs no shell: a page then costs its programs and nothing else.
 * Each stage is made to die with us (PR_SET_PDEATHSIG, SIGKILL): its group is out of reach
 * of a signal to ours, and a page command must not outlive a paginate that was killed
 * (kill -9 included; the exit paths end the groups themselves, pager.c). fork and exec
 * rather than posix_spawn, which cannot set that; an exec failure comes back as an errno
 * over a close-on-exec pipe.
 * One failure, one message: the stderr of every stage after the first is kept in a memfd
 * and copied out when the job ends (or when the caller says: job.hold, job_show, job_mute;
 * paginate holds a page's back until its turn, and drops an unjudged page's), unless an
 * earlier stage failed — then it is only the later stage's view of the empty or cut input
 * it got (a decoder's "no element found" after fetch-page's 401).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
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

static char **make_env(char *const extra[])
{
	size_t ne = 0, nx = 0, k = 0;
	while (environ[ne])
		ne++;
	while (extra[nx])
		nx++;
	char **envp = xcalloc(ne + nx + 1, sizeof *envp);
	for (size_t i = 0; i < ne; i++)
		if (!env_overridden(environ[i], extra))
			envp[k++] = environ[i];
	for (size_t i = 0; i < nx; i++)
		envp[k++] = extra[i];
	envp[k] = NULL;
	return envp;
}

/* In the child: its descriptors, group, signals, and the exec. Only async-signal-safe
 * calls; an errno goes back on report. */
static void exec_stage(char *const argv[], char **envp, int in, int out, int errfd, pid_t pgid,
		       int report)
{
	pid_t parent = getppid();
	int e = 0;
	sigset_t none;
	sigemptyset(&none);
	setpgid(0, pgid);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1 || getppid() != parent)
		_exit(127);	/* the parent is gone already: nothing to run for */
	for (int s = 1; s < NSIG; s++)
		if (s != SIGKILL && s != SIGSTOP)
			signal(s, SIG_DFL);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (in == -1)
		in = open("/dev/null", O_RDONLY);
	if (in == -1 || dup2(in, STDIN_FILENO) == -1 || dup2(out, STDOUT_FILENO) == -1 ||
	    (errfd != -1 && dup2(errfd, STDERR_FILENO) == -1))
		e = errno;
	else {
		environ = envp;
		execvp(argv[0], argv);
		e = errno;
	}
	while (write(report, &e, sizeof e) == -1 && errno == EINTR)
		;
	_exit(127);
}

/* One stage: stdin from in (or /dev/null when -1), stdout to out, stderr to errfd (unless
 * -1), in group pgid (0: its own). */
static int start_stage(pid_t *pid, char *const argv[], char **envp, int in, int out, int errfd,
		       pid_t pgid)
{
	int report[2], e = 0;
	if (pipe2(report, O_CLOEXEC) == -1)
		return errno;
	*pid = fork();
	if (*pid == -1) {
		e = errno;
		close(report[0]), close(report[1]);
		return e;
	}
	if (*pid == 0)
		exec_stage(argv, envp, in, out, errfd, pgid, report[1]);
	/* Both sides: no window in which a signal to the group misses the new stage. */
	setpgid(*pid, pgid ? pgid : *pid);
	close(report[1]);
	ssize_t n;
	while ((n = read(report[0], &e, sizeof e)) == -1 && errno == EINTR)
		;
	close(report[0]);
	if (n == sizeof e) {	/* the exec failed: the child is gone, reap it */
		while (waitpid(*pid, NULL, 0) == -1 && errno == EINTR)
			;
		return e;
	}
	return 0;
}

int job_start(struct job *j, char **const stage[], int n, char *const extra[], int *outfd)
{
	char **envp = make_env(extra);
	int last[2], in = -1, e = 0;
	j->n = 0;
	j->hold = j->held = 0;
	if (pipe2(last, O_CLOEXEC) == -1) {
		free(envp);
		return -1;
	}
	for (int i = 0; i < n && !e; i++) {
		int link[2] = { -1, last[1] };
		if (i < n - 1 && pipe2(link, O_CLOEXEC) == -1) {
			e = errno;
			break;
		}
		pid_t pid = 0;
		/* without a memfd the stage's messages go straight through, as before */
		int errfd = i ? memfd_create("stage-stderr", MFD_CLOEXEC) : -1;
		e = start_stage(&pid, stage[i], envp, in, link[1], errfd, j->n ? j->pid[0] : 0);
		if (!e)
			j->errfd[j->n] = errfd, j->pid[j->n++] = pid;
		else if (errfd != -1)
			close(errfd);
		j->failed = i;
		if (in != -1)
			close(in);
		if (i < n - 1)
			close(link[1]);
		in = link[0];
	}
	if (in != -1 && in != last[0])
		close(in);
	free(envp);
	close(last[1]);
	if (e) {
		/* A stage that cannot start: the ones before it are ended, nothing half runs. */
		job_kill(j, SIGKILL);
		int wst;
		job_wait(j, 0, &wst);
		close(last[0]);
		errno = e;
		return -1;
	}
	*outfd = last[0];
	return 0;
}

void job_kill(const struct job *j, int sig)
{
	if (j->n)
		kill(-j->pid[0], sig);
}

void job_mute(struct job *j)
{
	for (int i = 0, n = j->n ? j->n : j->held; i < n; i++)
		if (j->errfd[i] != -1) {
			close(j->errfd[i]);
			j->errfd[i] = -1;
		}
	j->held = 0;
}

/* The page-status rule, stated once in paginate(1) ("Pipelines without a shell") and
 * followed by pp_status in pipelines/lib.sh: a stage failed for a reason of its own
 * unless its status is 0, or it was killed by SIGPIPE (or exited 141, as a shell stage
 * reports it) while a later stage exists to say why. A last stage's SIGPIPE is a failure. */
static int stage_failed(int wst, int last)
{
	int sigpipe = (WIFSIGNALED(wst) && WTERMSIG(wst) == SIGPIPE) ||
		      (WIFEXITED(wst) && WEXITSTATUS(wst) == 128 + SIGPIPE);
	return wst != 0 && (last || !sigpipe);
}

/* The pipeline's status: that of the first stage that failed for a reason of its own. */
static int combined(const int *wst, int n)
{
	for (int i = 0; i < n; i++)
		if (stage_failed(wst[i], i == n - 1))
			return wst[i];
	return 0;
}

/* The captured messages of the stages after the first, each only while no stage before
 * it has failed; the memfds are closed. */
static void show_messages(struct job *j, int n)
{
	int earlier_failed = n && stage_failed(j->wst[0], n == 1);
	for (int i = 1; i < n; i++) {
		int fd = j->errfd[i];
		char chunk[4096];
		ssize_t got;
		if (fd != -1 && !earlier_failed && lseek(fd, 0, SEEK_SET) == 0)
			while ((got = read(fd, chunk, sizeof chunk)) > 0 &&
			       write(STDERR_FILENO, chunk, (size_t)got) == got)
				;
		if (fd != -1)
			close(fd);
		j->errfd[i] = -1;
		earlier_failed |= stage_failed(j->wst[i], i == n - 1);
	}
}

int job_wait(struct job *j, int nohang, int *wst)
{
	for (int i = 0; i < j->n; i++) {
		if (j->done[i])
			continue;
		pid_t r;
		while ((r = waitpid(j->pid[i], &j->wst[i], nohang ? WNOHANG : 0)) == -1 && errno == EINTR)
			;
		if (r == 0)
			return 0;
		if (r == -1)	/* not our child any more: nothing to report */
			j->wst[i] = 0;
		j->done[i] = 1;
	}
	*wst = combined(j->wst, j->n);
	if (j->hold) {
		/* for job_show or job_mute; an empty memfd is closed now, so that pages waiting
		 * in paginate's window hold a descriptor only for a stage that had something to say */
		struct stat st;
		for (int i = 1; i < j->n; i++)
			if (j->errfd[i] != -1 && fstat(j->errfd[i], &st) == 0 && st.st_size == 0) {
				close(j->errfd[i]);
				j->errfd[i] = -1;
			}
		j->held = j->n;
	} else
		show_messages(j, j->n);
	j->n = 0;
	memset(j->done, 0, sizeof j->done);
	return 1;
}

void job_show(struct job *j)
{
	show_messages(j, j->held);
	j->held = 0;
}
