/*
 * pager.c — paginate's engine. A window of pages, each a running page command (or one
 * waiting to be retried, or one done and waiting for its turn) whose stdout is split by
 * intake.c into a spool and a merged control object. At most --parallel commands run at
 * once; the window is wider (4 × --parallel) so that a slow page at the head does not
 * hold the others back: pages behind it that are done wait in their spools while new
 * ones start. Pages are written strictly in order: the page at the head
 * of the window is judged (stop rules, guards) and written when its command is done,
 * then the checkpoint follows. Only the head's successor is certain; pages further ahead
 * are guesses (offset + the largest page seen, or the next page number) made once the
 * total or the page count is known, and each is checked when its turn comes: a wrong
 * guess throws the guesses away and the window restarts from the true coordinates.
 */
#include <err.h>
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>
#include <cjson/cJSON.h>
#include "pagepull.h"

const char *const pager_strategy[PG_NSTRATEGY] = { "offset", "cursor", "after-key", "pages" };

struct pos {
	long long index, number, offset;
	char *token;
};

enum { PS_FREE, PS_RUN, PS_WAIT, PS_OK, PS_END, PS_FAIL };

struct page {
	int st, attempt, status, fd, timed_out;
	struct job job;		/* the page command's processes while it runs */
	double wake;		/* PS_WAIT: retry at this time */
	double deadline;	/* PS_RUN: killed at this time (--max-time), or 0 */
	struct pos at;
	struct buf msg;		/* PS_FAIL: the error; PS_END: the fault's name */
	struct intake in;
};

struct hset {			/* 64-bit hashes seen: tokens, page contents */
	uint64_t *v;
	size_t n, cap;
};

static const struct pager_opts *opts;	/* paginate's options, for the whole run */
static struct {			/* the run: its pages, counts, output and clock */
	struct page *slots;
	int window;		/* slots: 1, or 4 × --parallel */
	struct pos next, plan;	/* after the last written page; the next to launch */
	long long pages, records, run_pages, first_index, step, empty_run, out_len;
	long long total, page_count;
	int have_total, have_count, have_out_len, done, out_fd, out_regular, tty;
	int moved;		/* the data moved under the offsets, or contradicts its total:
				 * the state is void */
	int total_seen;		/* a page carried --total-field (or --total-if's field) */
	const char *out_name;
	struct buf reason, tmp;
	struct hset tokens, hashes;
	double t0, next_launch, last_progress;
} run;

static uint64_t hash_str(const char *s)
{
	uint64_t h = 14695981039346656037ULL;
	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
	return h;
}

/* Adds x; returns 1 if it was there already. */
static int hset_add(struct hset *h, uint64_t x)
{
	x = x ? x : 1;
	if (2 * (h->n + 1) > h->cap) {
		struct hset g = { xcalloc(h->cap ? 2 * h->cap : 64, sizeof *g.v), 0, h->cap ? 2 * h->cap : 64 };
		for (size_t i = 0; i < h->cap; i++)
			if (h->v[i])
				hset_add(&g, h->v[i]);
		free(h->v);
		*h = g;
	}
	size_t m = h->cap - 1, i = (size_t)(x * 0x9E3779B97F4A7C15ULL >> 20) & m;
	for (; h->v[i]; i = (i + 1) & m)
		if (h->v[i] == x)
			return 1;
	h->v[i] = x;
	h->n++;
	return 0;
}

static void pos_copy(struct pos *d, const struct pos *s)
{
	char *t = s->token ? xstrdup(s->token) : NULL;
	free(d->token);
	*d = *s;
	d->token = t;
}

static void set_token(struct pos *p, const char *t)
{
	free(p->token);
	p->token = t ? xstrdup(t) : NULL;
}

static struct page *slot(long long index)
{
	return &run.slots[index % run.window];
}

static void page_msg(struct page *p, int st, int status, const char *fmt, ...)
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
	p->st = st;
	p->status = status;
}

/* --- checkpoint and output ------------------------------------------------------ */

static void save_state(void)
{
	if (!opts->state)
		return;
	struct pgstate s = {
		.strategy = pager_strategy[opts->strategy], .token = run.next.token, .done = run.done,
		.index = run.next.index, .number = run.next.number, .offset = run.next.offset,
		.pages = run.pages, .records = run.records, .empty_run = run.empty_run,
		.have_total = run.have_total, .total = run.total, .have_count = run.have_count,
		.page_count = run.page_count, .have_output = opts->output != NULL, .output = run.out_len,
	};
	if (state_save(opts->state, &s))
		exit(EXIT_IOERR);
}

static int resume(void)
{
	struct pgstate s;
	if (!opts->state || !state_load(opts->state, &s))
		return 0;
	if (strcmp(s.strategy, pager_strategy[opts->strategy]))
		errx(EXIT_USAGE, "%s: a state of -s %s, not -s %s", opts->state, s.strategy,
		     pager_strategy[opts->strategy]);
	free((char *)s.strategy);
	if (!opts->output != !s.have_output)
		errx(EXIT_USAGE, "%s: written %s -o; resume it the same way", opts->state,
		     s.have_output ? "with" : "without");
	run.next = (struct pos){ s.index, s.number, s.offset, s.token };
	run.done = s.done, run.pages = s.pages, run.records = s.records, run.empty_run = s.empty_run;
	run.have_total = s.have_total, run.total = s.total;
	run.have_count = s.have_count, run.page_count = s.page_count;
	run.have_out_len = s.have_output, run.out_len = s.output;
	return 1;
}

static void open_output(int resumed)
{
	run.out_fd = STDOUT_FILENO;
	run.out_name = opts->output ? opts->output : "<stdout>";
	if (opts->output) {
		struct stat d;
		if (stat(opts->output, &d) == 0 && S_ISDIR(d.st_mode))
			errx(EXIT_USAGE, "-o %s: a directory, not a file", opts->output);
		/* A symbolic link is followed, a FIFO or a device written in place: open(2)
		 * does both, and nothing is ever renamed over -o. */
		int keep = resumed || opts->have_append_at;
		run.out_fd = open(opts->output, O_WRONLY | O_CREAT | O_CLOEXEC | (keep ? 0 : O_TRUNC), 0666);
		if (run.out_fd == -1)
			err(EXIT_IOERR, "%s", opts->output);
	}
	struct stat st;
	if (fstat(run.out_fd, &st) == -1)
		err(EXIT_IOERR, "%s", run.out_name);
	run.out_regular = S_ISREG(st.st_mode);
	if (opts->output && (resumed || opts->have_append_at) && run.out_regular) {
		long long keep = resumed ? run.out_len : opts->append_at;
		if (st.st_size < keep)
			errx(EXIT_DATA, "%s: shorter (%lld bytes) than %s (%lld)", opts->output,
			     (long long)st.st_size, resumed ? "the state says" : "--append-at", keep);
		run.out_len = keep;
		/* Bytes past the checkpoint belong to a page that is fetched again. */
		if (ftruncate(run.out_fd, run.out_len) == -1 || lseek(run.out_fd, run.out_len, SEEK_SET) == -1)
			err(EXIT_IOERR, "%s", opts->output);
	}
}

static void emit(struct page *p)
{
	if (spool_write(&p->in.sp, run.out_fd) == -1)
		err(EXIT_IOERR, "%s", run.out_name);
	run.out_len += (long long)p->in.sp.len;
	/* The checkpoint must never count bytes that are not on disk yet. */
	if (opts->state && run.out_regular && p->in.sp.len && fdatasync(run.out_fd) == -1)
		err(EXIT_IOERR, "%s", run.out_name);
}

/* --- progress and the stop line --------------------------------------------------- */

/* "1 page", "2 pages": the s of a count's noun. */
static const char *plural(long long n)
{
	return n == 1 ? "" : "s";
}

static void progress(double t, int final)
{
	if (!opts->progress || (!final && t - run.last_progress < (run.tty ? 0.2 : opts->progress_every)))
		return;
	if (final && !run.tty)
		return;
	run.last_progress = t;
	double el = t - run.t0, pps = el > 0 ? run.run_pages / el : 0, eta = -1;
	if (opts->strategy == PG_PAGES && run.have_count && pps > 0)
		eta = (run.page_count - run.next.number + 1) / pps;
	else if (run.have_total && run.records > 0 && el > 0 && run.total >= run.next.offset)
		eta = (run.total - run.next.offset) / (run.records / el);
	fprintf(stderr, "%s%s: %lld page%s, %lld record%s, %.1f pages/s", run.tty ? "\r" : "",
		program_invocation_short_name, run.pages, plural(run.pages), run.records, plural(run.records),
		pps);
	if (eta >= 0 && !final)
		fprintf(stderr, ", ETA %d:%02d", (int)(eta / 60), (int)fmod(eta, 60));
	fputs(run.tty ? (final ? "\033[K\n" : "\033[K") : "\n", stderr);
}

static void stop_line(const char *reason)
{
	progress(clock_now(), 1);
	if (!opts->quiet)
		fprintf(stderr, "%s: stop: %s; %lld page%s, %lld record%s\n", program_invocation_short_name,
			reason, run.pages, plural(run.pages), run.records, plural(run.records));
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
		p->st = PS_RUN;
		p->timed_out = 0;
		p->deadline = opts->max_time > 0 ? clock_now() + opts->max_time : 0;
		return;
	}
	page_msg(p, PS_FAIL, e == EAGAIN || e == ENOMEM ? EXIT_TEMPFAIL : EXIT_USAGE,
		 "%s: %s", opts->stages[p->job.failed][0], strerror(e));
}

static int listed(const char **names, size_t n, const char *a, const char *b)
{
	for (size_t i = 0; i < n; i++)
		if ((a && !strcmp(names[i], a)) || (b && !strcmp(names[i], b)))
			return 1;
	return 0;
}

static void retry_or_fail(struct page *p, int code, const char *what)
{
	if (p->attempt > opts->retry) {
		page_msg(p, PS_FAIL, code, "%s (%d attempt%s)", what, p->attempt, plural(p->attempt));
		return;
	}
	double d = backoff_delay(opts->retry_delay, (unsigned)p->attempt, 60);
	p->st = PS_WAIT;
	p->wake = clock_now() + d;
	if (!opts->quiet)
		warnx("page %lld: %s; retry %d of %d in %.1f s", p->at.number, what, p->attempt,
		      opts->retry, d);
}

/* What the command's exit status and its fault (if any) mean for the page. */
static void judge(struct page *p, int wst)
{
	int code = WIFEXITED(wst) ? WEXITSTATUS(wst) : 128 + WTERMSIG(wst);
	const cJSON *fault = ctl_get(p->in.meta, "fault");
	if (p->timed_out) {
		struct buf what = {0};
		buf_addf(&what, "no answer after %g s (--max-time)", opts->max_time);
		retry_or_fail(p, EXIT_TEMPFAIL, buf_str(&what));
		buf_free(&what);
		return;
	}
	if (p->in.bad) {
		page_msg(p, PS_FAIL, EXIT_DATA, "%s", p->in.bad);
		return;
	}
	if (code == 0 && !fault) {
		p->st = PS_OK;
		return;
	}
	if (code == 0 || code == EXIT_FAULT) {
		struct buf name = {0}, fcode = {0}, what = {0};
		int hn = ctl_text(ctl_get(fault, "name"), &name) == 0;
		int hc = ctl_text(ctl_get(fault, "code"), &fcode) == 0;
		const char *id = hn ? name.p : hc ? fcode.p : NULL;
		if (!fault)
			page_msg(p, PS_FAIL, EXIT_FAULT, "exit 3 without a fault control line");
		else if (listed(opts->end_faults, opts->nend_faults, hn ? name.p : 0, hc ? fcode.p : 0))
			page_msg(p, PS_END, 0, "%s", id);
		else if (listed(opts->retry_faults, opts->nretry_faults, hn ? name.p : 0, hc ? fcode.p : 0)) {
			buf_addf(&what, "fault %s", id);
			retry_or_fail(p, EXIT_FAULT, buf_str(&what));
		} else {
			ctl_text(ctl_get(fault, "string"), &what);
			page_msg(p, PS_FAIL, EXIT_FAULT, "fault %s%s%s", id ? id : "(unnamed)",
				 what.len ? ": " : "", what.len ? what.p : "");
		}
		buf_free(&name), buf_free(&fcode), buf_free(&what);
		return;
	}
	if (code == EXIT_TEMPFAIL) {
		retry_or_fail(p, code, "exit 75");
		return;
	}
	if (WIFSIGNALED(wst))
		page_msg(p, PS_FAIL, code, "command killed by signal %d", WTERMSIG(wst));
	else
		page_msg(p, PS_FAIL, code, "command exited with status %d", code);
}

static void reap(struct page *p, int wst_override)
{
	int wst = 0;
	intake_end(&p->in);
	close(p->fd);
	p->fd = -1;
	job_wait(&p->job, 0, &wst);
	if (wst_override)
		page_msg(p, PS_FAIL, EXIT_IOERR, "reading the command's output: %s", strerror(wst_override));
	else
		judge(p, wst);
}

/* Ends pages launched ahead (a wrong guess, or the run is over). */
static void discard(void)
{
	for (long long i = run.next.index; i < run.plan.index; i++) {
		struct page *p = slot(i);
		if (p->st == PS_RUN) {
			job_kill(&p->job, SIGTERM);
			close(p->fd);
			int wst, k;
			for (k = 0; k < 200 && !job_wait(&p->job, 1, &wst); k++)
				usleep(10000);
			if (k == 200) {
				job_kill(&p->job, SIGKILL);
				job_wait(&p->job, 0, &wst);
			}
		}
		p->st = PS_FREE;
	}
	pos_copy(&run.plan, &run.next);
}

/* --- judging a written page: the strategy's next coordinates and stop rule ------- */

enum { GO, STOP, STOP_DONE, FAIL };

static int declared(const cJSON *meta, const char *field, long long *v, int *have, struct page *p)
{
	const cJSON *it = field ? ctl_get(meta, field) : NULL;
	if (!it || cJSON_IsNull(it))
		return 0;
	long long x;
	if (ctl_int(it, &x) == -1 || x < 0) {
		page_msg(p, PS_FAIL, EXIT_DATA, "%s: not a count", field);
		return -1;
	}
	if (*have && *v != x && field == opts->total_field) {
		/* Under offsets a changed total means records moved: some would be skipped and
		 * others repeated, and no resume can tell which. Only a new run is exact. */
		if (opts->strategy == PG_OFFSET) {
			page_msg(p, PS_FAIL, EXIT_TEMPFAIL, "the declared total changed from %lld to "
				 "%lld: records moved under the offsets; the run must start again", *v, x);
			run.moved = 1;
			return -1;
		}
		warnx("page %lld: the declared total changed from %lld to %lld", p->at.number, *v, x);
	}
	*v = x, *have = 1;
	return 0;
}

static int token_loop(struct page *p, const char *tok)
{
	if (opts->token_repeats || !hset_add(&run.tokens, hash_str(tok)))
		return 0;
	page_msg(p, PS_FAIL, EXIT_DATA, "pagination loop: token \"%.64s\" seen before", tok);
	return 1;
}

static int judge_page(struct page *p, struct pos *nx)
{
	const cJSON *meta = p->in.meta;
	long long n = p->in.records;
	struct buf *t = &run.tmp;
	if (n > 0 && hset_add(&run.hashes, intake_digest(&p->in))) {
		page_msg(p, PS_FAIL, EXIT_DATA, "pagination loop: the same records as an earlier page");
		return FAIL;
	}
	pos_copy(nx, &run.next);	/* the page's own offset may have been a guess (-s pages) */
	nx->index++, nx->number++, nx->offset += n;
	if (opts->total_field &&
	    (ctl_get(meta, opts->total_field) || (opts->total_if && ctl_get(meta, opts->total_if))))
		run.total_seen = 1;
	const char *tif = opts->total_if ? (ctl_text(ctl_get(meta, opts->total_if), t) ? "" : t->p) : NULL;
	if ((!tif || !strcmp(tif, opts->total_if_value)) &&
	    declared(meta, opts->total_field, &run.total, &run.have_total, p))
		return FAIL;
	if (declared(meta, opts->page_count_field, &run.page_count, &run.have_count, p))
		return FAIL;
	if (opts->strategy == PG_PAGES && opts->token_field &&
	    !ctl_text(ctl_get(meta, opts->token_field), t) && t->len)
		set_token(nx, t->p);

	buf_reset(&run.reason);
	if (opts->done_field && ctl_flag(ctl_get(meta, opts->done_field)) == 1) {
		buf_addf(&run.reason, "%s is true", opts->done_field);
		return STOP_DONE;
	}
	if (opts->has_more_field && ctl_flag(ctl_get(meta, opts->has_more_field)) == 0) {
		buf_addf(&run.reason, "%s is false", opts->has_more_field);
		return STOP_DONE;
	}
	switch (opts->strategy) {
	case PG_PAGES:
		if (run.have_count) {
			if (p->at.number < run.page_count)
				break;
			buf_addf(&run.reason, "page count %lld reached", run.page_count);
			return STOP_DONE;
		}
		/* Without a page count, pages end the way offsets do. */
		__attribute__((fallthrough));
	case PG_OFFSET:
		if (n == 0) {
			buf_adds(&run.reason, "empty page");
			return STOP_DONE;
		}
		if (run.have_total && nx->offset >= run.total) {
			buf_addf(&run.reason, "offset %lld reached the total %lld", nx->offset, run.total);
			return STOP_DONE;
		}
		break;
	case PG_CURSOR:
		if (ctl_text(ctl_get(meta, opts->token_field), t) || !t->len) {
			set_token(nx, NULL);
			buf_addf(&run.reason, "no %s", opts->token_field);
			return STOP_DONE;
		}
		set_token(nx, t->p);
		if (token_loop(p, t->p))
			return FAIL;
		if (n == 0 && run.empty_run + 1 > opts->max_empty) {
			page_msg(p, PS_FAIL, EXIT_DATA, "%lld empty pages in a row (--max-empty %lld)",
				 run.empty_run + 1, opts->max_empty);
			return FAIL;
		}
		break;
	case PG_AFTERKEY:
		if (n == 0) {
			buf_adds(&run.reason, "empty page");
			return STOP_DONE;
		}
		cJSON *last = cJSON_ParseWithLength(p->in.last.p, p->in.last.len);
		int bad = ctl_text(ctl_get(last, opts->key_field), t);
		cJSON_Delete(last);
		if (bad) {
			page_msg(p, PS_FAIL, EXIT_DATA, "the last record has no %s", opts->key_field);
			return FAIL;
		}
		set_token(nx, t->p);
		if (token_loop(p, t->p))
			return FAIL;
		break;
	}
	if (opts->max_pages && run.run_pages + 1 >= opts->max_pages) {
		buf_addf(&run.reason, "--max-pages %lld reached", opts->max_pages);
		return STOP;
	}
	return GO;
}

/* --- the loop ------------------------------------------------------------------------ */

/* A run that ended by its rules must also have the count the API declared: short output
 * that exits 0 is the one failure nobody notices. */
static int check_total(void)
{
	long long got = opts->start_offset + run.records;
	if (opts->total_field && !run.have_total && !run.total_seen) {
		warnx("incomplete: no page declared --total-field %s (leave the option out for an API "
		      "without a total)", opts->total_field);
		return EXIT_DATA;
	}
	if (!run.have_total || got == run.total)
		return 0;
	if (opts->allow_short) {
		warnx("warning: %lld records, but the declared total is %lld (--allow-short)", got, run.total);
		return 0;
	}
	warnx("incomplete: %lld records, but the declared total is %lld", got, run.total);
	return EXIT_DATA;
}

static int finish(int rc)
{
	discard();
	/* A state saved as complete must not outlive a failed check: the same command would
	 * then say "already complete". Only a new run can be exact. */
	if (!rc && run.done && (rc = check_total()))
		run.moved = 1;
	if (run.moved && opts->state && unlink(opts->state) == 0)
		warnx("%s removed: the next run starts from the first page", opts->state);
	if (rc) {
		buf_reset(&run.reason);
		buf_addf(&run.reason, "error, exit %d", rc);
	}
	stop_line(buf_str(&run.reason));
	return rc;
}

static int commit(struct page *p)
{
	struct pos nx = {0};
	int v = judge_page(p, &nx);
	if (v == FAIL) {
		free(nx.token);
		warnx("%s", buf_str(&p->msg));
		return finish(p->status);
	}
	emit(p);
	run.pages++, run.run_pages++, run.records += p->in.records;
	run.empty_run = p->in.records ? 0 : run.empty_run + 1;
	/* Guesses ahead step by the largest page of this run (the page size before the
	 * first): a server that clamps the page size silently is learnt from page one. */
	if (p->in.records > 0 && (run.run_pages == 1 || p->in.records > run.step))
		run.step = p->in.records;
	free(run.next.token);
	run.next = nx;
	p->st = PS_FREE;
	run.done = v == STOP_DONE;
	save_state();
	progress(clock_now(), 0);
	if (run.plan.index == run.next.index)
		pos_copy(&run.plan, &run.next);
	return v == GO ? -1 : finish(0);
}

/* An end-of-data fault (--end-on-fault) at the head of the window ends the data only
 * where the API's own word puts the end: at or past the declared total when a total is
 * expected (--total-field; at offset 0 only after the API declared 0), and never at the
 * very start otherwise. Anywhere else it is a fault like another (a server that lost its
 * place, a list cut short): the page is retried, then the run fails with 75, for an exit
 * 0 there would be a silently short output. Returns 1 when the end is believed. */
static int end_believed(struct page *p)
{
	long long at = run.next.offset;
	struct buf what = {0};
	const char *name = p->msg.p + strcspn(p->msg.p, ":") + 2;
	if (opts->total_field ? run.have_total && at >= run.total : at > 0)
		return 1;
	if (opts->total_field && run.have_total)
		buf_addf(&what, "fault %s at offset %lld, below the declared total %lld", name, at, run.total);
	else if (opts->total_field)
		buf_addf(&what, "fault %s at offset %lld, before any total was declared", name, at);
	else
		buf_addf(&what, "fault %s on the first page of the data", name);
	retry_or_fail(p, EXIT_TEMPFAIL, buf_str(&what));
	buf_free(&what);
	return 0;
}

/* Writes the pages at the head of the window that are done; -1 while the run goes on. */
static int commit_ready(void)
{
	for (;;) {
		if (run.plan.index == run.next.index) {
			if (opts->strategy == PG_PAGES && run.have_count && run.next.number > run.page_count) {
				buf_reset(&run.reason);
				buf_addf(&run.reason, "page count %lld reached", run.page_count);
				run.done = 1;
				save_state();
				return finish(0);
			}
			return -1;
		}
		struct page *p = slot(run.next.index);
		if (p->st == PS_RUN || p->st == PS_WAIT)
			return -1;
		if (p->st == PS_FAIL) {
			warnx("%s", buf_str(&p->msg));
			return finish(p->status);
		}
		if (opts->strategy == PG_OFFSET && p->at.offset != run.next.offset) {	/* a wrong guess */
			discard();
			return -1;
		}
		if (p->st == PS_END && !end_believed(p))
			continue;	/* now waiting for a retry, or failed */
		if (p->st == PS_END) {
			buf_reset(&run.reason);
			buf_addf(&run.reason, "fault %s ends the data", p->msg.p + strcspn(p->msg.p, ":") + 2);
			p->st = PS_FREE;
			run.done = 1;
			save_state();
			return finish(0);
		}
		int rc = commit(p);
		if (rc >= 0)
			return rc;
	}
}

/* Page commands running or waiting for a retry. */
static int in_flight(void)
{
	int n = 0;
	for (long long i = run.next.index; i < run.plan.index; i++)
		n += slot(i)->st == PS_RUN || slot(i)->st == PS_WAIT;
	return n;
}

static int can_plan(void)
{
	long long ahead = run.plan.index - run.next.index;
	if (ahead >= run.window ||
	    (opts->max_pages && run.plan.index - run.first_index >= opts->max_pages))
		return 0;
	if (ahead > 0 && in_flight() >= opts->parallel)
		return 0;
	if (ahead == 0)
		return 1;
	if (opts->strategy == PG_OFFSET)
		return run.have_total && run.plan.offset < run.total;
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
		struct page *p = slot(i);
		if (p->st == PS_WAIT && p->wake <= t && rate_ok(t))
			launch(p);
	}
	while (can_plan() && rate_ok(t)) {
		struct page *p = slot(run.plan.index);
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
	struct pollfd pf[64];
	struct page *pp[64];
	int n = 0;
	double t = clock_now(), wake = INFINITY;
	for (long long i = run.next.index; i < run.plan.index; i++) {
		struct page *p = slot(i);
		if (p->st == PS_RUN) {
			pf[n] = (struct pollfd){ p->fd, POLLIN, 0 }, pp[n++] = p;
			if (p->deadline)
				wake = fmin(wake, p->deadline);
		} else if (p->st == PS_WAIT)
			wake = fmin(wake, fmax(p->wake, opts->rate ? run.next_launch : 0));
	}
	if (opts->rate && can_plan())
		wake = fmin(wake, run.next_launch);
	if (opts->progress)
		wake = fmin(wake, run.last_progress + (run.tty ? 0.2 : fmax(opts->progress_every, 0.05)));
	if (n == 0 && isinf(wake))
		return;
	int ms = isinf(wake) ? -1 : (int)fmin(ceil(fmax(wake - t, 0) * 1000), 60000);
	if (poll(pf, (nfds_t)n, ms) == -1) {
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
	for (int i = 0; i < n; i++)
		if (pp[i]->st == PS_RUN && pp[i]->deadline && t >= pp[i]->deadline) {
			/* The whole group: a shell script's curl too. */
			job_kill(&pp[i]->job, SIGKILL);
			pp[i]->timed_out = 1;
			reap(pp[i], 0);
		}
	progress(t, 0);
}

/* Every exit path (errx included): no page command is left running behind us. */
static void end_pages(void)
{
	for (int i = 0; run.slots && i < run.window; i++)
		job_kill(&run.slots[i].job, SIGTERM);
}

static void on_signal(int sig)
{
	/* The page commands run in process groups of their own: end them with us. */
	for (int i = 0; run.slots && i < run.window; i++)
		job_kill(&run.slots[i].job, sig);
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
	set_token(&run.next, opts->start_token);
	run.step = opts->page_size;
	run.have_count = opts->have_page_count, run.page_count = opts->page_count;
	if (opts->state)
		state_lock(opts->state);
	int resumed = resume();
	if (run.done) {
		/* A finished run: nothing to fetch, and the output stays as it is. */
		if (!opts->quiet)
			fprintf(stderr, "%s: stop: already complete (%s); %lld page%s, %lld record%s\n",
				program_invocation_short_name, opts->state, run.pages, plural(run.pages),
				run.records, plural(run.records));
		return 0;
	}
	open_output(resumed);
	run.window = opts->parallel > 1 ? 4 * opts->parallel : 1;
	run.slots = xcalloc((size_t)run.window, sizeof *run.slots);
	atexit(end_pages);
	for (int i = 0; i < run.window; i++)
		intake_init(&run.slots[i].in, opts->spool_mem / (size_t)run.window,
			    opts->strategy == PG_AFTERKEY);
	if (run.next.token && (opts->strategy == PG_CURSOR || opts->strategy == PG_AFTERKEY))
		hset_add(&run.tokens, hash_str(run.next.token));
	pos_copy(&run.plan, &run.next);
	run.first_index = run.next.index;
	run.tty = isatty(STDERR_FILENO);
	run.t0 = run.last_progress = clock_now();
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);

	for (;;) {
		int rc = commit_ready();
		if (rc >= 0)
			return rc;
		launch_ready(clock_now());
		rc = commit_ready();
		if (rc >= 0)
			return rc;
		wait_events();
	}
}
