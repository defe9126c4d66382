/*
 * pager.c — paginate's engine: the loop. A window of pages, each a running page command
 * (or one waiting to be retried, or one done and waiting for its turn) whose stdout is
 * split by intake.c into a spool and a merged control object. At most --parallel commands
 * run at once; the window is wider (PAGER_WINDOW_PER_PARALLEL × --parallel) so that a
 * slow page at the head does not hold the others back: pages behind it that are done
 * wait in their spools while new ones start. Pages are written strictly in order: the
 * page at the head of the window is judged (pagejudge.c: stop rules, guards) and written
 * when its command is done, then the checkpoint follows (pagecommit.c). Only the head's
 * successor is certain; pages further ahead are guesses (offset + the largest page seen,
 * or the next page number) made once the total or the page count is known (-s offset
 * under --parallel also before it: speculate), and each is checked when its turn comes:
 * a wrong guess throws the guesses away, unjudged, and the window restarts from the true
 * coordinates. A discarded page whose command still runs is not killed but drained (its
 * output read and thrown away until it ends, bounded in time), and the run waits for it
 * before it ends: a page command killed mid-exchange costs the connection keeper its
 * connection. A page's states: the diagram in pager.h.
 */
#include <err.h>
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "pagepull.h"
#include "pager.h"

/* A page killed when the run fails gets SIGTERM, then this many waits of DISCARD_WAIT_USEC
 * (2 s in all) to end before SIGKILL. */
#define DISCARD_WAITS 200
#define DISCARD_WAIT_USEC 10000
/* A discarded page that was running is drained for at most this long (seconds, less if
 * --max-time ends it sooner): its exchange is normally a round trip that had begun. */
#define DISCARD_GRACE 10
/* poll(2) wakes at least this often (ms), whatever else is due. */
#define POLL_MAX_MS 60000
/* Without a terminal, --progress=0 still lets poll sleep this long (seconds). */
#define PROGRESS_MIN_EVERY 0.05

const char *const pager_strategy[PG_NSTRATEGY] = { "offset", "cursor", "after-key", "pages" };

const struct pager_opts *opts;
struct run run;

void pos_copy(struct pos *d, const struct pos *s)
{
	char *t = s->token ? xstrdup(s->token) : NULL;
	free(d->token);
	*d = *s;
	d->token = t;
}

void pos_set_token(struct pos *p, const char *t)
{
	free(p->token);
	p->token = t ? xstrdup(t) : NULL;
}

/* The diagram in pager.h as a table: the states each state may go to. */
#define TO(st) (1u << (st))
static const unsigned page_moves[] = {
	[PS_FREE] = TO(PS_RUN) | TO(PS_FAIL) | TO(PS_FREE),
	[PS_RUN] = TO(PS_OK) | TO(PS_END) | TO(PS_WAIT) | TO(PS_FAIL) | TO(PS_FREE),
	[PS_WAIT] = TO(PS_RUN) | TO(PS_FAIL) | TO(PS_FREE),
	[PS_OK] = TO(PS_FREE) | TO(PS_FAIL),
	[PS_END] = TO(PS_WAIT) | TO(PS_FAIL) | TO(PS_FREE),
	[PS_FAIL] = TO(PS_FREE),
};

void page_to(struct page *p, enum page_state st)
{
	/* A move the diagram does not have is a bug here, never the data's: stop at once
	 * rather than write or checkpoint a page in a state nobody reasoned about. */
	if (!(page_moves[p->st] & TO(st))) {
		warnx("internal error: page %lld: state %d to %d", p->at.number, p->st, st);
		abort();
	}
	p->st = st;
}

void page_fail(struct page *p, int status, const char *fmt, ...)
{
	va_list ap;
	buf_reset(&p->msg);
	buf_addf(&p->msg, "page %lld: ", p->at.number);
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	buf_grow(&p->msg, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(p->msg.p + p->msg.len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	p->msg.len += (size_t)n;
	p->status = status;
	page_to(p, PS_FAIL);
}

/* --- page commands ---------------------------------------------------------------- */

static void launch(struct page *p)
{
	char *env[7];
	if (asprintf(&env[0], "PAGE_INDEX=%lld", p->at.index) < 0 ||
	    asprintf(&env[1], "PAGE_NUMBER=%lld", p->at.number) < 0 ||
	    asprintf(&env[2], "PAGE_OFFSET=%lld", p->at.offset) < 0 ||
	    asprintf(&env[3], "PAGE_SIZE=%lld", opts->page_size) < 0 ||
	    asprintf(&env[4], "PAGE_TOKEN=%s", p->at.token ? p->at.token : "") < 0 ||
	    asprintf(&env[5], "PAGE_ATTEMPT=%d", p->attempt + 1) < 0)
		errx(EXIT_IOERR, "out of memory");
	env[6] = NULL;
	intake_reset(&p->in);
	p->attempt++;
	int rc = job_start(&p->job, opts->stages, opts->nstages, env, &p->fd), e = errno;
	for (int i = 0; i < 6; i++)
		free(env[i]);
	if (rc == 0) {
		p->timed_out = 0;
		p->deadline = opts->max_time > 0 ? clock_now() + opts->max_time : 0;
		page_to(p, PS_RUN);
		return;
	}
	page_fail(p, e == EAGAIN || e == ENOMEM ? EXIT_TEMPFAIL : EXIT_USAGE,
		  "%s: %s", opts->stages[p->job.failed][0], strerror(e));
}

static void reap(struct page *p, int read_errno)
{
	int wst = 0;
	intake_end(&p->in);
	close(p->fd);
	p->fd = -1;
	/* A page ahead of the head may be thrown away unjudged: its later stages' messages
	 * wait for its turn (pager_commit_ready), as its records do, unless it is retried. */
	p->job.hold = p->at.index != run.next.index;
	job_wait(&p->job, 0, &wst);
	if (read_errno)
		page_fail(p, EXIT_IOERR, "reading the command's output: %s", strerror(read_errno));
	else
		page_judge_exit(p, wst);
	if (p->st == PS_WAIT)
		job_show(&p->job);
}

/* SIGTERM to the whole group, then SIGKILL if it has not ended within 2 s. */
static void end_job(struct job *j, int fd)
{
	int wst, k;
	job_kill(j, SIGTERM);
	close(fd);
	for (k = 0; k < DISCARD_WAITS && !job_wait(j, 1, &wst); k++)
		usleep(DISCARD_WAIT_USEC);
	if (k == DISCARD_WAITS) {
		job_kill(j, SIGKILL);
		job_wait(j, 0, &wst);
	}
}

/* A running page that is discarded: its command goes on as a drain, so that an exchange
 * it has begun (with the run's connection keeper, say) ends as it would have, its answer
 * thrown away; killing it would have cost that exchange's connection. */
static void drain_add(struct page *p)
{
	if (run.ndrains == PAGER_MAX_PARALLEL) {	/* cannot be: in_flight bounds them */
		end_job(&p->job, p->fd);
		p->fd = -1;
		return;
	}
	struct drain *d = &run.drains[run.ndrains++];
	d->job = p->job;	/* muted by pager_discard */
	d->fd = p->fd;
	d->deadline = fmin(p->deadline ? p->deadline : INFINITY, clock_now() + DISCARD_GRACE);
	p->job.n = 0;		/* the drain holds the processes now */
	p->fd = -1;
}

/* A drain ends (kill: killed first); its slot goes to the last one's. */
static void drain_end(struct drain *d, int kill)
{
	int wst;
	if (kill)
		job_kill(&d->job, SIGKILL);
	close(d->fd);
	job_wait(&d->job, 0, &wst);	/* its status is no page's */
	*d = run.drains[--run.ndrains];
}

void pager_discard(enum discard how)
{
	for (long long i = run.next.index; i < run.plan.index; i++) {
		struct page *p = page_slot(i);
		job_mute(&p->job);	/* an unjudged page has nothing to say, running or not */
		if (p->st == PS_RUN && how == DISCARD_DRAIN)
			drain_add(p);
		else if (p->st == PS_RUN) {
			end_job(&p->job, p->fd);
			p->fd = -1;
		}
		page_to(p, PS_FREE);
	}
	while (how == DISCARD_KILL && run.ndrains) {
		struct drain *d = &run.drains[run.ndrains - 1];
		end_job(&d->job, d->fd);
		run.ndrains--;
	}
	pos_copy(&run.plan, &run.next);
}

/* --- the window ------------------------------------------------------------------- */

/* Page commands running or waiting for a retry, and drains. */
static int in_flight(void)
{
	int n = run.ndrains;
	for (long long i = run.next.index; i < run.plan.index; i++)
		n += page_slot(i)->st == PS_RUN || page_slot(i)->st == PS_WAIT;
	return n;
}

/* -s offset with --parallel and a total to come (--total-field): before any page has
 * declared it, the pages after the first are launched with it, at the offsets that
 * --page-size gives (as curl --parallel knows every URL up front), so that the first page
 * does not run alone. They are guesses like any page ahead: judged, and written, only at
 * the head, once the total is known; those at or past it never come there (the run ends
 * at the total and pager_discard drains them: their output thrown away, their exchange let
 * end so that its connection stays), so that they are never output nor taken for faults
 * (an end-of-data fault is believed only at the head, at or past the total). */
static int speculate(void)
{
	return opts->parallel > 1 && opts->total_field && !run.total_seen;
}

static int can_plan(void)
{
	long long ahead = run.plan.index - run.next.index;
	if (ahead >= run.window ||
	    (opts->max_pages && run.plan.index - run.first_index >= opts->max_pages))
		return 0;
	/* the head too: a drain still holds its place (its connection) */
	if (in_flight() >= opts->parallel)
		return 0;
	if (ahead == 0)
		return 1;
	if (opts->strategy == PG_OFFSET)
		return run.have_total ? run.plan.offset < run.total : speculate();
	if (opts->strategy == PG_PAGES)
		return run.have_count && run.plan.number <= run.page_count;
	return 0;
}

static int rate_ok(double t)
{
	if (!opts->rate)
		return 1;
	if (t < run.next_launch)
		return 0;
	run.next_launch = fmax(t, run.next_launch) + 1 / opts->rate;
	return 1;
}

static void launch_ready(double t)
{
	for (long long i = run.next.index; i < run.plan.index; i++) {
		struct page *p = page_slot(i);
		if (p->st == PS_WAIT && p->wake <= t && rate_ok(t))
			launch(p);
	}
	while (can_plan() && rate_ok(t)) {
		struct page *p = page_slot(run.plan.index);
		pos_copy(&p->at, &run.plan);
		p->attempt = 0;
		launch(p);
		run.plan.index++, run.plan.number++;
		run.plan.offset += run.step;
	}
}

static void wait_events(void)
{
	static char chunk[1 << 16];
	/* At most --parallel pages run or drain (can_plan), and --parallel is at most this. */
	struct pollfd pf[PAGER_MAX_PARALLEL];
	struct page *pp[PAGER_MAX_PARALLEL];
	int n = 0, nd = run.ndrains;
	double t = clock_now(), wake = INFINITY;
	for (long long i = run.next.index; i < run.plan.index; i++) {
		struct page *p = page_slot(i);
		if (p->st == PS_RUN && n + nd < PAGER_MAX_PARALLEL) {
			pf[n] = (struct pollfd){ p->fd, POLLIN, 0 }, pp[n++] = p;
			if (p->deadline)
				wake = fmin(wake, p->deadline);
		} else if (p->st == PS_WAIT)
			wake = fmin(wake, fmax(p->wake, opts->rate ? run.next_launch : 0));
	}
	/* the drains after the pages: pf[n + k] is drains[k] */
	for (int k = 0; k < nd; k++) {
		pf[n + k] = (struct pollfd){ run.drains[k].fd, POLLIN, 0 };
		wake = fmin(wake, run.drains[k].deadline);
	}
	if (opts->rate && !run.ending && can_plan())
		wake = fmin(wake, run.next_launch);
	if (opts->progress)
		wake = fmin(wake, run.last_progress +
			    (run.tty ? PROGRESS_TTY_EVERY : fmax(opts->progress_every, PROGRESS_MIN_EVERY)));
	if (n + nd == 0 && isinf(wake))
		return;
	int ms = isinf(wake) ? -1 : (int)fmin(ceil(fmax(wake - t, 0) * 1000), POLL_MAX_MS);
	if (poll(pf, (nfds_t)(n + nd), ms) == -1) {
		if (errno == EINTR)
			return;
		err(EXIT_IOERR, "poll");
	}
	for (int i = 0; i < n; i++) {
		if (!pf[i].revents)
			continue;
		ssize_t k = read(pf[i].fd, chunk, sizeof chunk);
		if (k > 0)
			intake_feed(&pp[i]->in, chunk, (size_t)k);
		else if (k == 0 || errno != EINTR)
			reap(pp[i], k == 0 ? 0 : errno);
	}
	t = clock_now();
	/* Drains from the last, as drain_end moves the last one into the slot it frees: a
	 * drain's output is read and thrown away until it ends, or its deadline. */
	for (int k = nd - 1; k >= 0; k--) {
		struct drain *d = &run.drains[k];
		ssize_t got = pf[n + k].revents ? read(d->fd, chunk, sizeof chunk) : -1;
		if (pf[n + k].revents && (got == 0 || (got == -1 && errno != EINTR)))
			drain_end(d, 0);
		else if (t >= d->deadline)
			drain_end(d, 1);
	}
	for (int i = 0; i < n; i++)
		if (pp[i]->st == PS_RUN && pp[i]->deadline && t >= pp[i]->deadline) {
			/* The whole group: a shell script's curl too. */
			job_kill(&pp[i]->job, SIGKILL);
			pp[i]->timed_out = 1;
			reap(pp[i], 0);
		}
	pager_progress(t, 0);
}

void pager_drained(void)
{
	run.ending = 1;		/* nothing is launched any more: no waking for --rate */
	while (run.ndrains)
		wait_events();
}

/* --- the run ------------------------------------------------------------------------- */

/* Every exit path (errx included): no page command is left running behind us. */
static void end_pages(void)
{
	for (int i = 0; run.slots && i < run.window; i++)
		job_kill(&run.slots[i].job, SIGTERM);
	for (int k = 0; k < run.ndrains; k++)
		job_kill(&run.drains[k].job, SIGTERM);
}

static void on_signal(int sig)
{
	/* The page commands run in process groups of their own: end them with us. */
	for (int i = 0; run.slots && i < run.window; i++)
		job_kill(&run.slots[i].job, sig);
	for (int k = 0; k < run.ndrains; k++)
		job_kill(&run.drains[k].job, sig);
	atomic_unlink_pending();
	/* Not silent: the stop line, as every other end has one (snprintf of integers and
	 * strings, then write(2): no stdio buffer is touched from the handler). */
	if (!opts->quiet) {
		char line[512];
		int n = snprintf(line, sizeof line, "%s%s: stop: interrupted by %s; %lld page%s, "
				 "%lld record%s\n", run.tty && opts->progress ? "\r\033[K" : "",
				 program_invocation_short_name,
				 sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : "SIGHUP",
				 run.pages, plural(run.pages), run.records, plural(run.records));
		if (n > 0)
			(void)!write(STDERR_FILENO, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

int pager_run(const struct pager_opts *options)
{
	opts = options;
	run.next = (struct pos){ 0, opts->start_page, opts->start_offset, NULL };
	pos_set_token(&run.next, opts->start_token);
	run.step = opts->page_size;
	run.have_count = opts->have_page_count, run.page_count = opts->page_count;
	if (opts->state)
		state_lock(opts->state);
	int resumed = pager_resume();
	if (run.done) {
		/* A finished run: nothing to fetch, and the output stays as it is. */
		if (!opts->quiet)
			fprintf(stderr, "%s: stop: already complete (%s); %lld page%s, %lld record%s\n",
				program_invocation_short_name, opts->state, run.pages, plural(run.pages),
				run.records, plural(run.records));
		return 0;
	}
	pager_open_output(resumed);
	run.window = opts->parallel > 1 ? PAGER_WINDOW_PER_PARALLEL * opts->parallel : 1;
	run.slots = xcalloc((size_t)run.window, sizeof *run.slots);
	atexit(end_pages);
	for (int i = 0; i < run.window; i++)
		intake_init(&run.slots[i].in, opts->spool_mem / (size_t)run.window,
			    opts->strategy == PG_AFTERKEY);
	pager_judge_start();
	pos_copy(&run.plan, &run.next);
	run.first_index = run.next.index;
	run.tty = isatty(STDERR_FILENO);
	run.t0 = run.last_progress = clock_now();
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);

	for (;;) {
		int rc = pager_commit_ready();
		if (rc >= 0)
			return rc;
		launch_ready(clock_now());
		rc = pager_commit_ready();
		if (rc >= 0)
			return rc;
		wait_events();
	}
}
