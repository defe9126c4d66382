/*
 * paginate — the pagination driver. Runs a page command once per page with the page's
 * coordinates in PAGE_INDEX, PAGE_NUMBER, PAGE_OFFSET, PAGE_SIZE, PAGE_TOKEN; spools its
 * record lines, merges its control lines (0x1E + JSON), and releases a page's records
 * only when the command succeeded, in page order. The strategy (offset, cursor,
 * after-key, pages) picks the next coordinates and the stop rule; guards end loops;
 * exit 75 and chosen faults are retried; --state checkpoints after every page;
 * --parallel runs pages ahead once their coordinates are known (offset: the total;
 * pages: the page count), verifying each guess when its page comes to be written.
 * One event loop serves both the sequential and the parallel case.
 */
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cjson/cJSON.h>
#include "pagepull.h"
#include "pager.h"

/* A limit's value as a string, for a message. */
#define STR_(x) #x
#define STR(x) STR_(x)

static struct pager_opts o = { .page_size = 100, .start_page = 1, .max_empty = 100, .retry = 5,
				.retry_delay = 1, .parallel = 1, .spool_mem = 16 << 20,
				.progress_every = 10 };

static void __attribute__((noreturn)) usage(int status)
{
	FILE *f = status ? stderr : stdout;
	fprintf(f, "usage: paginate [-qu] [-m seconds] [-o file] [-P n]\n"
		"                [-s offset|cursor|after-key|pages] [--page-size n] [--start-offset n]\n"
		"                [--start-page n] [--start-token token]\n"
		"                [--token-field name] [--token-repeats] [--key-field name]\n"
		"                [--done-field name] [--has-more-field name] [--total-field name]\n"
		"                [--total-if field=value] [--page-count n] [--page-count-field name]\n"
		"                [--max-pages n] [--max-empty n] [--allow-short] [--end-on-fault name]\n"
		"                [--retry-on-fault name] [--retry n] [--retry-delay seconds]\n"
		"                [--state file] [--append-at bytes] [--rate n] [--progress[=seconds]]\n"
		"                [--spool-mem bytes] [--label text] [--no-keepalive]\n"
		"                [--] command [argument ...]\n"
		"       paginate [options] --pipeline [--] command [argument ...] '|' command ...\n");
	exit(status);
}

static void bad_usage(const char *fmt, const char *arg)
{
	fprintf(stderr, "paginate: ");
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	usage(EXIT_USAGE);
}

static long long num_arg(const char *s, const char *opt, long long min, long long max)
{
	long long v;
	if (arg_num(s, min, max, &v))
		bad_usage("%s: not a valid number", opt);
	return v;
}

static double secs_arg(const char *s, const char *opt)
{
	double v;
	if (arg_secs(s, 1e6, &v))
		bad_usage("%s: not a valid number", opt);
	return v;
}

static size_t size_arg(const char *s)
{
	unsigned long long v;
	if (arg_size(s, 1, 1ULL << 40, &v))
		bad_usage("%s: not a valid size", "--spool-mem");
	return (size_t)v;
}

static void names_add(const char ***v, size_t *n, const char *s)
{
	*v = xrealloc(*v, (*n + 1) * sizeof **v);
	(*v)[(*n)++] = s;
}

enum { O_PAGE_SIZE = 256, O_START_OFFSET, O_START_PAGE, O_START_TOKEN, O_TOKEN_FIELD,
       O_TOKEN_REPEATS, O_KEY_FIELD, O_DONE_FIELD, O_HAS_MORE, O_TOTAL_FIELD, O_TOTAL_IF,
       O_PAGE_COUNT, O_PAGE_COUNT_FIELD, O_MAX_PAGES, O_MAX_EMPTY, O_STRICT, O_END_FAULT,
       O_RETRY_FAULT, O_RETRY, O_RETRY_DELAY, O_STATE, O_RATE, O_PROGRESS, O_SPOOL_MEM,
       O_PIPELINE, O_HELP, O_VERSION, O_ALLOW_SHORT, O_LABEL, O_NO_KEEPALIVE, O_APPEND_AT };

static int pipeline;	/* --pipeline: arguments that are exactly "|" separate stages */

static const struct option longopts[] = {
	{ "max-time", required_argument, 0, 'm' }, { "output", required_argument, 0, 'o' },
	{ "parallel", required_argument, 0, 'P' },
	{ "quiet", no_argument, 0, 'q' }, { "strategy", required_argument, 0, 's' },
	{ "unbuffered", no_argument, 0, 'u' },
	{ "page-size", required_argument, 0, O_PAGE_SIZE },
	{ "start-offset", required_argument, 0, O_START_OFFSET },
	{ "start-page", required_argument, 0, O_START_PAGE },
	{ "start-token", required_argument, 0, O_START_TOKEN },
	{ "token-field", required_argument, 0, O_TOKEN_FIELD },
	{ "token-repeats", no_argument, 0, O_TOKEN_REPEATS },
	{ "key-field", required_argument, 0, O_KEY_FIELD },
	{ "done-field", required_argument, 0, O_DONE_FIELD },
	{ "has-more-field", required_argument, 0, O_HAS_MORE },
	{ "total-field", required_argument, 0, O_TOTAL_FIELD },
	{ "total-if", required_argument, 0, O_TOTAL_IF },
	{ "page-count", required_argument, 0, O_PAGE_COUNT },
	{ "page-count-field", required_argument, 0, O_PAGE_COUNT_FIELD },
	{ "max-pages", required_argument, 0, O_MAX_PAGES },
	{ "max-empty", required_argument, 0, O_MAX_EMPTY },
	{ "strict", no_argument, 0, O_STRICT },
	{ "allow-short", no_argument, 0, O_ALLOW_SHORT },
	{ "no-strict", no_argument, 0, O_ALLOW_SHORT },
	{ "end-on-fault", required_argument, 0, O_END_FAULT },
	{ "retry-on-fault", required_argument, 0, O_RETRY_FAULT },
	{ "retry", required_argument, 0, O_RETRY },
	{ "retry-delay", required_argument, 0, O_RETRY_DELAY },
	{ "state", required_argument, 0, O_STATE },
	{ "rate", required_argument, 0, O_RATE },
	{ "progress", optional_argument, 0, O_PROGRESS },
	{ "spool-mem", required_argument, 0, O_SPOOL_MEM },
	{ "pipeline", no_argument, 0, O_PIPELINE },
	{ "label", required_argument, 0, O_LABEL },
	{ "no-keepalive", no_argument, 0, O_NO_KEEPALIVE },
	{ "append-at", required_argument, 0, O_APPEND_AT },
	{ "help", no_argument, 0, O_HELP }, { "version", no_argument, 0, O_VERSION },
	{ 0, 0, 0, 0 }
};

static void parse_strategy(const char *s)
{
	for (int i = 0; i < PG_NSTRATEGY; i++)
		if (!strcmp(s, pager_strategy[i])) {
			o.strategy = i;
			return;
		}
	bad_usage("-s %s: not offset, cursor, after-key or pages", s);
}

static void parse_opt(int c, const char *arg)
{
	switch (c) {
	case 'm': o.max_time = secs_arg(arg, "--max-time"); break;
	case 'o': o.output = arg; break;
	case 'P': o.parallel = (int)num_arg(arg, "--parallel", 1, INT_MAX); break;
	case 'q': o.quiet = 1; break;
	case 's': parse_strategy(arg); break;
	case 'u': o.unbuffered = 1; break;
	case O_PAGE_SIZE: o.page_size = num_arg(arg, "--page-size", 1, LLONG_MAX); break;
	case O_START_OFFSET: o.start_offset = num_arg(arg, "--start-offset", 0, LLONG_MAX); break;
	case O_START_PAGE: o.start_page = num_arg(arg, "--start-page", 0, LLONG_MAX); break;
	case O_START_TOKEN: o.start_token = arg; break;
	case O_TOKEN_FIELD: o.token_field = arg; break;
	case O_TOKEN_REPEATS: o.token_repeats = 1; break;
	case O_KEY_FIELD: o.key_field = arg; break;
	case O_DONE_FIELD: o.done_field = arg; break;
	case O_HAS_MORE: o.has_more_field = arg; break;
	case O_TOTAL_FIELD: o.total_field = arg; break;
	case O_TOTAL_IF:
		if (!strchr(arg, '=') || *arg == '=')
			bad_usage("--total-if %s: not FIELD=VALUE", arg);
		o.total_if = xstrndup(arg, strcspn(arg, "="));
		o.total_if_value = strchr(arg, '=') + 1;
		break;
	case O_PAGE_COUNT: o.page_count = num_arg(arg, "--page-count", 0, LLONG_MAX); o.have_page_count = 1; break;
	case O_PAGE_COUNT_FIELD: o.page_count_field = arg; break;
	case O_MAX_PAGES: o.max_pages = num_arg(arg, "--max-pages", 1, LLONG_MAX); break;
	case O_MAX_EMPTY: o.max_empty = num_arg(arg, "--max-empty", 0, LLONG_MAX); o.set_max_empty = 1; break;
	/* A count off the declared total is an error by default; --strict stays for the
	 * scripts written when it was not, and the last of the two options wins. */
	case O_STRICT: o.strict = 1; o.allow_short = 0; break;
	case O_ALLOW_SHORT: o.allow_short = 1; o.strict = 0; break;
	case O_END_FAULT: names_add(&o.end_faults, &o.nend_faults, arg); break;
	case O_RETRY_FAULT: names_add(&o.retry_faults, &o.nretry_faults, arg); break;
	case O_RETRY: o.retry = (int)num_arg(arg, "--retry", 0, INT_MAX); break;
	case O_RETRY_DELAY: o.retry_delay = secs_arg(arg, "--retry-delay"); break;
	case O_STATE: o.state = arg; break;
	case O_RATE: o.rate = secs_arg(arg, "--rate"); break;
	case O_PROGRESS:
		o.progress = 1;
		if (arg)
			o.progress_every = secs_arg(arg, "--progress");
		break;
	case O_SPOOL_MEM: o.spool_mem = size_arg(arg); break;
	case O_PIPELINE: pipeline = 1; break;
	case O_APPEND_AT: o.append_at = num_arg(arg, "--append-at", 0, LLONG_MAX); o.have_append_at = 1; break;
	case O_NO_KEEPALIVE: setenv("PAGEPULL_NO_KEEPALIVE", "1", 1); break;
	case O_LABEL:
		/* One run of several (a pipeline's product types): every message of this one
		 * says which, err(3)'s included, as "paginate: LABEL: …". */
		if (asprintf(&program_invocation_short_name, "paginate: %s", arg) < 0)
			errx(EXIT_IOERR, "out of memory");
		break;
	case 'h':
	case O_HELP: usage(EXIT_OK); break;
	case O_VERSION: print_version(); exit(fshut(stdout, "<stdout>")); break;
	default: usage(EXIT_USAGE);
	}
}

/* The combinations that make no sense are usage errors, so that a pipeline author's
 * slip (a cursor option under the offset strategy) never passes silently. */
static void check_opts(void)
{
	int s = o.strategy;
	if (s == PG_CURSOR && !o.token_field)
		bad_usage("%s", "-s cursor needs --token-field");
	if (s == PG_AFTERKEY && !o.key_field)
		bad_usage("%s", "-s after-key needs --key-field");
	if (o.token_field && s != PG_CURSOR && s != PG_PAGES)
		bad_usage("--token-field: not with -s %s", pager_strategy[s]);
	if (o.key_field && s != PG_AFTERKEY)
		bad_usage("--key-field: not with -s %s", pager_strategy[s]);
	if ((o.token_repeats || o.set_max_empty) && s != PG_CURSOR)
		bad_usage("--token-repeats, --max-empty: not with -s %s", pager_strategy[s]);
	if ((o.have_page_count || o.page_count_field) && s != PG_PAGES)
		bad_usage("--page-count, --page-count-field: not with -s %s", pager_strategy[s]);
	if (o.start_token && s == PG_OFFSET)
		bad_usage("--start-token: not with -s %s", pager_strategy[s]);
	if (o.parallel > 1 && s != PG_OFFSET && s != PG_PAGES)
		bad_usage("--parallel: not with -s %s (the next page depends on this one)", pager_strategy[s]);
	if (o.parallel > PAGER_MAX_PARALLEL)
		bad_usage("--parallel: at most %s", STR(PAGER_MAX_PARALLEL));
	if (o.have_append_at && !o.output)
		bad_usage("%s", "--append-at needs -o");
	if (o.total_if && !o.total_field)
		bad_usage("%s", "--total-if needs --total-field");
	if (o.allow_short && !o.total_field)
		bad_usage("%s", "--allow-short needs --total-field");
}

/* The page command's stages. With --pipeline, each "|" argument becomes the NULL that
 * ends the stage before it, so the stages are argv's own pieces. */
static void split_stages(char **cmd)
{
	o.stages[0] = cmd;
	o.nstages = 1;
	for (char **a = cmd; pipeline && *a; a++) {
		if (strcmp(*a, "|") != 0)
			continue;
		if (o.nstages == JOB_MAX_STAGES)
			bad_usage("--pipeline: at most %s stages", STR(JOB_MAX_STAGES));
		*a = NULL;
		o.stages[o.nstages++] = a + 1;
	}
	for (int i = 0; i < o.nstages; i++)
		if (!o.stages[i][0])
			bad_usage("%s", "--pipeline: an empty stage (a '|' first, last or twice)");
}

int main(int argc, char *argv[])
{
	int c;
	while ((c = getopt_long(argc, argv, "+hm:o:P:qs:u", longopts, NULL)) != -1)
		parse_opt(c, optarg);
	if (optind >= argc)
		bad_usage("%s", "no page command");
	check_opts();
	split_stages(argv + optind);

	keeper_start(o.parallel);	/* the run's connections, for its fetch-page pages */
	int rc = pager_run(&o);
	keeper_stop();
	return rc;
}
