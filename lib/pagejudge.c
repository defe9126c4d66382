/*
 * pagejudge.c — judging a page, in two steps. When its command ends: what the exit status
 * and the fault (if any) mean — done, the end of the data, a retry or a failure. When it
 * reaches the head of the window: its records and control fields under the strategy —
 * the next page's coordinates, the stop rules (done, has-more, page count, empty page,
 * total, no token), and the guards against a server that loops (a token or a page's
 * records seen before). Assumes the run (pager.h) that pager.c set up.
 */
#include <err.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <cjson/cJSON.h>
#include "pagepull.h"
#include "pager.h"

/* A retry waits at most this long, whatever --retry-delay and the attempt. */
#define RETRY_DELAY_CAP 60

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

void pager_judge_start(void)
{
	if (run.next.token && (opts->strategy == PG_CURSOR || opts->strategy == PG_AFTERKEY))
		hset_add(&run.tokens, hash_str(run.next.token));
}

/* --- when the command ends ---------------------------------------------------------- */

static int listed(const char **names, size_t n, const char *a, const char *b)
{
	for (size_t i = 0; i < n; i++)
		if ((a && !strcmp(names[i], a)) || (b && !strcmp(names[i], b)))
			return 1;
	return 0;
}

void page_retry(struct page *p, int code, const char *what)
{
	if (p->attempt > opts->retry) {
		page_fail(p, code, "%s (%d attempt%s)", what, p->attempt, plural(p->attempt));
		return;
	}
	double d = backoff_delay(opts->retry_delay, (unsigned)p->attempt, RETRY_DELAY_CAP);
	p->wake = clock_now() + d;
	page_to(p, PS_WAIT);
	if (!opts->quiet)
		warnx("page %lld: %s; retry %d of %d in %.1f s", p->at.number, what, p->attempt,
		      opts->retry, d);
}

/* A fault (exit 0 with one, or exit 3): the end of the data, a retry, or a failure. */
static void judge_fault(struct page *p, const cJSON *fault)
{
	struct buf name = {0}, fcode = {0}, what = {0};
	int hn = ctl_text(ctl_get(fault, "name"), &name) == 0;
	int hc = ctl_text(ctl_get(fault, "code"), &fcode) == 0;
	const char *id = hn ? name.p : hc ? fcode.p : NULL;
	if (!fault)
		page_fail(p, EXIT_FAULT, "exit 3 without a fault control line");
	else if (listed(opts->end_faults, opts->nend_faults, hn ? name.p : 0, hc ? fcode.p : 0)) {
		buf_reset(&p->fault);
		buf_adds(&p->fault, id);
		p->status = 0;
		page_to(p, PS_END);
	} else if (listed(opts->retry_faults, opts->nretry_faults, hn ? name.p : 0, hc ? fcode.p : 0)) {
		buf_addf(&what, "fault %s", id);
		page_retry(p, EXIT_FAULT, buf_str(&what));
	} else {
		ctl_text(ctl_get(fault, "string"), &what);
		page_fail(p, EXIT_FAULT, "fault %s%s%s", id ? id : "(unnamed)",
			  what.len ? ": " : "", what.len ? what.p : "");
	}
	buf_free(&name), buf_free(&fcode), buf_free(&what);
}

void page_judge_exit(struct page *p, int wst)
{
	int code = WIFEXITED(wst) ? WEXITSTATUS(wst) : 128 + WTERMSIG(wst);
	const cJSON *fault = ctl_get(p->in.meta, "fault");
	if (p->timed_out) {
		struct buf what = {0};
		buf_addf(&what, "no answer after %g s (--max-time)", opts->max_time);
		page_retry(p, EXIT_TEMPFAIL, buf_str(&what));
		buf_free(&what);
		return;
	}
	if (p->in.bad) {
		page_fail(p, EXIT_DATA, "%s", p->in.bad);
		return;
	}
	if (code == 0 && !fault) {
		page_to(p, PS_OK);
		return;
	}
	if (code == 0 || code == EXIT_FAULT) {
		judge_fault(p, fault);
		return;
	}
	if (code == EXIT_TEMPFAIL) {
		page_retry(p, code, "exit 75");
		return;
	}
	if (WIFSIGNALED(wst))
		page_fail(p, code, "command killed by signal %d", WTERMSIG(wst));
	else
		page_fail(p, code, "command exited with status %d", code);
}

/* --- at the head: the strategy's next coordinates and stop rules ---------------------- */

/* The counts a page may declare, each named by its option. */
enum count_role { COUNT_TOTAL, COUNT_PAGES };

static int declared(const cJSON *meta, enum count_role role, struct page *p)
{
	const char *field = role == COUNT_TOTAL ? opts->total_field : opts->page_count_field;
	long long *v = role == COUNT_TOTAL ? &run.total : &run.page_count;
	int *have = role == COUNT_TOTAL ? &run.have_total : &run.have_count;
	const cJSON *it = field ? ctl_get(meta, field) : NULL;
	if (!it || cJSON_IsNull(it))
		return 0;
	long long x;
	if (ctl_int(it, &x) == -1 || x < 0) {
		page_fail(p, EXIT_DATA, "%s: not a count", field);
		return -1;
	}
	if (*have && *v != x && role == COUNT_TOTAL) {
		/* Under offsets a changed total means records moved: some would be skipped and
		 * others repeated, and no resume can tell which. Only a new run is exact. */
		if (opts->strategy == PG_OFFSET) {
			page_fail(p, EXIT_TEMPFAIL, "the declared total changed from %lld to "
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
	page_fail(p, EXIT_DATA, "pagination loop: token \"%.64s\" seen before", tok);
	return 1;
}

/* The page's declared counts and token; -1 (the page failed) on a bad one. */
static int read_counts(struct page *p, struct pos *nx)
{
	const cJSON *meta = p->in.meta;
	struct buf *t = &run.tmp;
	if (opts->total_field &&
	    (ctl_get(meta, opts->total_field) || (opts->total_if && ctl_get(meta, opts->total_if))))
		run.total_seen = 1;
	const char *tif = opts->total_if ? (ctl_text(ctl_get(meta, opts->total_if), t) ? "" : t->p) : NULL;
	if ((!tif || !strcmp(tif, opts->total_if_value)) && declared(meta, COUNT_TOTAL, p))
		return -1;
	if (declared(meta, COUNT_PAGES, p))
		return -1;
	if (opts->strategy == PG_PAGES && opts->token_field &&
	    !ctl_text(ctl_get(meta, opts->token_field), t) && t->len)
		pos_set_token(nx, t->p);
	return 0;
}

/* The strategy's own stop rule and next token. */
static enum judgement by_strategy(struct page *p, struct pos *nx)
{
	const cJSON *meta = p->in.meta;
	long long n = p->in.records;
	struct buf *t = &run.tmp;
	switch (opts->strategy) {
	case PG_PAGES:
		if (run.have_count) {
			if (p->at.number < run.page_count)
				break;
			buf_addf(&run.reason, "page count %lld reached", run.page_count);
			return JUDGE_DONE;
		}
		/* Without a page count, pages end the way offsets do. */
		__attribute__((fallthrough));
	case PG_OFFSET:
		if (n == 0) {
			buf_adds(&run.reason, "empty page");
			return JUDGE_DONE;
		}
		if (run.have_total && nx->offset >= run.total) {
			buf_addf(&run.reason, "offset %lld reached the total %lld", nx->offset, run.total);
			return JUDGE_DONE;
		}
		break;
	case PG_CURSOR:
		if (ctl_text(ctl_get(meta, opts->token_field), t) || !t->len) {
			pos_set_token(nx, NULL);
			buf_addf(&run.reason, "no %s", opts->token_field);
			return JUDGE_DONE;
		}
		pos_set_token(nx, t->p);
		if (token_loop(p, t->p))
			return JUDGE_FAIL;
		if (n == 0 && run.empty_run + 1 > opts->max_empty) {
			page_fail(p, EXIT_DATA, "%lld empty pages in a row (--max-empty %lld)",
				  run.empty_run + 1, opts->max_empty);
			return JUDGE_FAIL;
		}
		break;
	case PG_AFTERKEY:
		if (n == 0) {
			buf_adds(&run.reason, "empty page");
			return JUDGE_DONE;
		}
		cJSON *last = cJSON_ParseWithLength(p->in.last.p, p->in.last.len);
		int bad = ctl_text(ctl_get(last, opts->key_field), t);
		cJSON_Delete(last);
		if (bad) {
			page_fail(p, EXIT_DATA, "the last record has no %s", opts->key_field);
			return JUDGE_FAIL;
		}
		pos_set_token(nx, t->p);
		if (token_loop(p, t->p))
			return JUDGE_FAIL;
		break;
	}
	return JUDGE_GO;
}

enum judgement page_judge(struct page *p, struct pos *nx)
{
	const cJSON *meta = p->in.meta;
	long long n = p->in.records;
	if (n > 0 && hset_add(&run.hashes, intake_digest(&p->in))) {
		page_fail(p, EXIT_DATA, "pagination loop: the same records as an earlier page");
		return JUDGE_FAIL;
	}
	pos_copy(nx, &run.next);	/* the page's own offset may have been a guess (-s pages) */
	nx->index++, nx->number++, nx->offset += n;
	if (read_counts(p, nx))
		return JUDGE_FAIL;

	buf_reset(&run.reason);
	if (opts->done_field && ctl_flag(ctl_get(meta, opts->done_field)) == 1) {
		buf_addf(&run.reason, "%s is true", opts->done_field);
		return JUDGE_DONE;
	}
	if (opts->has_more_field && ctl_flag(ctl_get(meta, opts->has_more_field)) == 0) {
		buf_addf(&run.reason, "%s is false", opts->has_more_field);
		return JUDGE_DONE;
	}
	enum judgement v = by_strategy(p, nx);
	if (v != JUDGE_GO)
		return v;
	if (opts->max_pages && run.run_pages + 1 >= opts->max_pages) {
		buf_addf(&run.reason, "--max-pages %lld reached", opts->max_pages);
		return JUDGE_STOP;
	}
	return JUDGE_GO;
}
