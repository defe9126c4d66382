/*
 * pager.h — paginate's engine (pager.c, pagejudge.c, pagecommit.c), apart from pagepull.h
 * because only paginate needs it. Include it after pagepull.h. The first part is what
 * paginate.c calls; the rest is shared by the engine's three files and by nothing else.
 *
 *   pager.c       the loop: the window of pages, launching, reading, killing, signals
 *   pagejudge.c   judging a page: its command's exit and fault, then its records and
 *                 control fields (the strategy's next coordinates and stop rules)
 *   pagecommit.c  committing: the output, the checkpoint, progress and the stop line
 */
#ifndef PAGEPULL_PAGER_H
#define PAGEPULL_PAGER_H

/* --- for paginate ------------------------------------------------------------------ */

/* At most this many page commands at once (--parallel): wait_events polls one
 * descriptor a running page, in an array of this size. */
#define PAGER_MAX_PARALLEL 64
/* The window (pages launched and not yet written) is this many times --parallel, so that
 * a slow page at the head does not hold the others back. */
#define PAGER_WINDOW_PER_PARALLEL 4

enum { PG_OFFSET, PG_CURSOR, PG_AFTERKEY, PG_PAGES, PG_NSTRATEGY };
extern const char *const pager_strategy[];	/* -s's names, by PG_*: "offset", … */
struct pager_opts {
	int strategy, parallel, retry, quiet, strict, unbuffered, token_repeats, progress;
	int have_page_count, set_max_empty;
	int allow_short;	/* --allow-short: a count off the declared total only warns */
	long long page_size, start_offset, start_page, page_count, max_pages, max_empty;
	const char *start_token, *token_field, *key_field, *done_field, *has_more_field;
	const char *total_field, *total_if, *total_if_value, *page_count_field;
	const char *state, *output;
	long long append_at;	/* --append-at: -o keeps its first append_at bytes */
	int have_append_at;
	const char **end_faults, **retry_faults;
	size_t nend_faults, nretry_faults;
	double retry_delay, rate, progress_every, max_time;
	size_t spool_mem;
	char **stages[JOB_MAX_STAGES];	/* the page command: argv of each stage */
	int nstages;
};
/* The whole run: the page loop, stop rules, guards, retries, page-atomic output,
 * checkpoints, parallel pages. Returns the exit status. */
int pager_run(const struct pager_opts *o);

/* --- between the engine's files ------------------------------------------------------ */

/* A page's coordinates, as the page command gets them (PAGE_INDEX, …, PAGE_TOKEN). */
struct pos {
	long long index;	/* 0, 1, 2, … over every run of a --state */
	long long number;	/* --start-page, then one more a page */
	long long offset;	/* records before the page (a guess ahead of the head) */
	char *token;		/* cursor or after-key token (-s pages: --token-field), or NULL */
};
void pos_copy(struct pos *dst, const struct pos *src);
void pos_set_token(struct pos *p, const char *token);

/*
 * A page's states; page_to (pager.c) is the one function that changes them, and it
 * refuses (abort) a move not drawn here.
 *
 *   FREE ──launch──► RUN ──exit 0──► OK ──written at the head──────────────► FREE
 *                    │ ▲              └──judged bad at the head────────────► FAIL
 *    exit 75, a fault│ │launch
 *    to retry, or    ▼ │again
 *    --max-time     WAIT ◄──not believed at the head── END ◄──--end-on-fault── RUN
 *                                                       └──believed: the data ends──► FREE
 *
 *   RUN → FAIL          any other exit, a bad control line, a read error
 *   RUN, END → FAIL     instead of WAIT once the attempts (--retry) are spent
 *   FREE, WAIT → FAIL   a launch that fails (fork, exec)
 *   any → FREE          pager_discard: the pages ahead (a wrong guess, or the run is over);
 *                       a RUN page's command goes on as a drain (below), or is killed
 *
 * RUN and WAIT are in flight (--parallel bounds them). OK, END and FAIL wait for their
 * turn at the head of the window, where pagecommit.c writes the page or ends the run.
 */
enum page_state {
	PS_FREE,		/* a slot with no page */
	PS_RUN,			/* its command runs; its stdout is read into in */
	PS_WAIT,		/* to be launched again at wake */
	PS_OK,			/* the command succeeded: records in in, waiting for the head */
	PS_END,			/* an --end-on-fault fault: the end of the data, if believed */
	PS_FAIL			/* failed for good: msg and status say how */
};

struct page {
	enum page_state st;	/* changed by page_to only */
	int attempt;		/* attempts launched so far (PAGE_ATTEMPT of the last) */
	int status;		/* PS_FAIL: the exit status the run ends with */
	int fd;			/* PS_RUN: the read end of the command's stdout, else -1 */
	int timed_out;		/* PS_RUN: killed by --max-time, judged as such */
	struct job job;		/* the page command's processes while it runs */
	double wake;		/* PS_WAIT: retry at this time */
	double deadline;	/* PS_RUN: killed at this time (--max-time), or 0 */
	struct pos at;		/* the coordinates it was launched with */
	struct buf msg;		/* PS_FAIL: the error line, "page N: what" */
	struct buf fault;	/* PS_END: the fault's name (or code), as --end-on-fault named it */
	struct intake in;	/* its records spooled and control lines merged */
};

/* A page discarded while its command ran (a wrong guess, or past the end of the data): the
 * command is left to end by itself, its output read and thrown away, rather than killed
 * mid-exchange, which would cost the run's connection keeper a connection. It still
 * counts against --parallel, and is killed at its deadline. */
struct drain {
	struct job job;		/* the command's processes; their later stages' messages muted */
	int fd;			/* the read end of its stdout */
	double deadline;	/* killed at this time: --max-time, or DISCARD_GRACE after discard */
};

struct hset {			/* 64-bit hashes seen: tokens, page contents */
	uint64_t *v;
	size_t n, cap;
};

/* The run: its pages, counts, output and clock. One a process (pager.c defines it). */
struct run {
	struct page *slots;	/* the window: page index i is in slots[i % window] */
	struct drain drains[PAGER_MAX_PARALLEL];	/* discarded pages still running */
	int ndrains;		/* drains in use: with the RUN and WAIT pages, at most --parallel */
	int ending;		/* the run is over: only its drains are waited for */
	int window;		/* slots: 1, or PAGER_WINDOW_PER_PARALLEL × --parallel */
	struct pos next;	/* the page after the last one written: the head of the window */
	struct pos plan;	/* the next page to launch (plan.index - next.index are ahead) */
	long long first_index;	/* next.index when this process started (for --max-pages) */
	long long pages;	/* pages written by every run of the --state (checkpointed) */
	long long run_pages;	/* pages written by this process: --max-pages and pages/s */
	long long records;	/* records written by every run of the --state (checkpointed) */
	long long step;		/* the offset between guesses ahead: the largest page so far */
	long long empty_run;	/* empty pages in a row just written (-s cursor's --max-empty) */
	long long out_len;	/* bytes of -o that the checkpoint vouches for */
	int have_out_len;	/* out_len came from a state */
	long long total;	/* the declared total (--total-field) */
	int have_total;		/* total holds a declared value (from a page or the state) */
	long long page_count;	/* the page count (--page-count, --page-count-field) */
	int have_count;		/* page_count holds a value (option, page or state) */
	int total_seen;		/* a page carried --total-field (or --total-if's field) */
	int done;		/* the run ended by its rules: the state says complete */
	int moved;		/* the data moved under the offsets, or contradicts its total:
				 * the state is void */
	int out_fd;		/* -o (or stdout) */
	int out_regular;	/* out_fd is a regular file: truncated and fdatasync'ed */
	const char *out_name;	/* -o's name, or "<stdout>", for messages */
	int tty;		/* stderr is a terminal: progress rewrites one line */
	struct buf reason;	/* why the run stops, for the stop line */
	struct buf tmp;		/* a control field's text, reused page after page */
	struct hset tokens;	/* tokens seen (-s cursor, after-key): a loop guard */
	struct hset hashes;	/* pages' record digests seen: a loop guard */
	double t0;		/* when this process started its pages */
	double next_launch;	/* --rate: no launch before this time */
	double last_progress;	/* when the last progress line was shown */
};

/* A progress line on a terminal is redrawn at most this often (seconds). */
#define PROGRESS_TTY_EVERY 0.2

extern const struct pager_opts *opts;	/* paginate's options, for the whole run */
extern struct run run;

/* pager.c: the one place a page changes state (see the diagram), and its failure. */
void page_to(struct page *p, enum page_state st);
void page_fail(struct page *p, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* pager_discard: the pages ahead of the head are discarded (plan = next); those still
 * running become drains (DISCARD_DRAIN), or are killed with the drains there are
 * (DISCARD_KILL: the run fails). pager_drained: waits until every drain has ended (each
 * is killed at its deadline, and all by a signal to paginate). */
enum discard { DISCARD_DRAIN, DISCARD_KILL };
void pager_discard(enum discard how);
void pager_drained(void);

/* pagejudge.c: judging a page. page_judge_exit: what its command's exit status and fault
 * mean (RUN → OK, END, WAIT or FAIL). page_judge: the head's records and control fields;
 * *next gets the coordinates after it, run.reason why the run stops. page_retry: WAIT
 * for a retry, or FAIL with code once the attempts are spent. */
enum judgement { JUDGE_GO, JUDGE_STOP, JUDGE_DONE, JUDGE_FAIL };
void page_judge_exit(struct page *p, int wst);
enum judgement page_judge(struct page *p, struct pos *next);
void page_retry(struct page *p, int code, const char *what);
void pager_judge_start(void);	/* the start token counts as seen (loop guard) */

/* pagecommit.c: resume from the state, open -o, write the pages at the head (-1 while the
 * run goes on, else its exit status), progress lines. */
int pager_resume(void);
void pager_open_output(int resumed);
int pager_commit_ready(void);
void pager_progress(double t, int final);

/* The slot of the page of that index. */
static inline struct page *page_slot(long long index)
{
	return &run.slots[index % run.window];
}

/* "1 page", "2 pages": the s of a count's noun. */
static inline const char *plural(long long n)
{
	return n == 1 ? "" : "s";
}

#endif
