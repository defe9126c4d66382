/*
 * pagecommit.c — committing the pages at the head of the window, strictly in order: each
 * one judged (pagejudge.c), its spool written to -o (or stdout), then the checkpoint
 * (--state) that vouches for it; and the run's end: the declared total checked, the
 * state voided when the data moved, the stop line. The checkpoint never counts bytes
 * that are not on disk yet, and -o is never renamed: a resume truncates it back to the
 * checkpoint instead. Assumes the run (pager.h) that pager.c set up.
 */
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "pagepull.h"
#include "pager.h"


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

int pager_resume(void)
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

void pager_open_output(int resumed)
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

void pager_progress(double t, int final)
{
	if (!opts->progress ||
	    (!final && t - run.last_progress < (run.tty ? PROGRESS_TTY_EVERY : opts->progress_every)))
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
	pager_progress(clock_now(), 1);
	if (!opts->quiet)
		fprintf(stderr, "%s: stop: %s; %lld page%s, %lld record%s\n", program_invocation_short_name,
			reason, run.pages, plural(run.pages), run.records, plural(run.records));
}

/* --- the end of the run ------------------------------------------------------------ */

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
	/* A short count (end_checked) leaves no state: only a new run can be exact. */
	if (run.moved && opts->state && unlink(opts->state) == 0)
		warnx("%s removed: the next run starts from the first page", opts->state);
	/* The pages ahead of the end: after a success each one still running is let end its
	 * exchange (a round trip begun with the last pages, whose connection the next run
	 * segment may share) and waited for; after a failure they are killed. */
	pager_discard(rc ? DISCARD_KILL : DISCARD_DRAIN);
	pager_drained();
	if (rc) {
		buf_reset(&run.reason);
		buf_addf(&run.reason, "error, exit %d", rc);
	}
	stop_line(buf_str(&run.reason));
	return rc;
}

/* The data ends here by the run's rules: the count is checked (check_total) before the
 * state could say complete. For a short count no state is saved (finish removes the last
 * one): a complete one, left by a kill before its removal, would make the same command
 * say "already complete"; the last checkpoint is still exact (a resume truncates -o). */
static int end_checked(void)
{
	int rc = check_total();
	if (rc)
		run.moved = 1;
	return rc;
}

/* The data ends here by the run's rules: the state says complete. */
static int finish_done(void)
{
	run.done = 1;
	int rc = end_checked();
	if (!rc)
		save_state();
	return finish(rc);
}

/* --- committing the head ------------------------------------------------------------ */

static int commit(struct page *p)
{
	struct pos nx = {0};
	enum judgement v = page_judge(p, &nx);
	if (v == JUDGE_FAIL) {
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
	page_to(p, PS_FREE);
	run.done = v == JUDGE_DONE;
	int rc = run.done ? end_checked() : 0;
	if (!rc)
		save_state();
	pager_progress(clock_now(), 0);
	if (run.plan.index == run.next.index)
		pos_copy(&run.plan, &run.next);
	return v == JUDGE_GO ? -1 : finish(rc);
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
	const char *name = buf_str(&p->fault);
	if (opts->total_field ? run.have_total && at >= run.total : at > 0)
		return 1;
	if (opts->total_field && run.have_total)
		buf_addf(&what, "fault %s at offset %lld, below the declared total %lld", name, at, run.total);
	else if (opts->total_field)
		buf_addf(&what, "fault %s at offset %lld, before any total was declared", name, at);
	else
		buf_addf(&what, "fault %s on the first page of the data", name);
	page_retry(p, EXIT_TEMPFAIL, buf_str(&what));
	buf_free(&what);
	return 0;
}

int pager_commit_ready(void)
{
	for (;;) {
		if (run.plan.index == run.next.index) {
			if (opts->strategy == PG_PAGES && run.have_count && run.next.number > run.page_count) {
				buf_reset(&run.reason);
				buf_addf(&run.reason, "page count %lld reached", run.page_count);
				return finish_done();
			}
			return -1;
		}
		struct page *p = page_slot(run.next.index);
		/* A wrong guess is thrown away before anything else: a page launched at other
		 * coordinates than the head's is never judged (its failure is no failure of the
		 * run), nor waited for here (it drains while the true pages run). */
		if (opts->strategy == PG_OFFSET && p->at.offset != run.next.offset) {
			pager_discard(DISCARD_DRAIN);
			return -1;
		}
		if (p->st == PS_RUN || p->st == PS_WAIT)
			return -1;
		job_show(&p->job);	/* its later stages' messages, held back while it was ahead */
		if (p->st == PS_FAIL) {
			warnx("%s", buf_str(&p->msg));
			return finish(p->status);
		}
		if (p->st == PS_END && !end_believed(p))
			continue;	/* now waiting for a retry, or failed */
		if (p->st == PS_END) {
			buf_reset(&run.reason);
			buf_addf(&run.reason, "fault %s ends the data", buf_str(&p->fault));
			page_to(p, PS_FREE);
			return finish_done();
		}
		int rc = commit(p);
		if (rc >= 0)
			return rc;
	}
}
