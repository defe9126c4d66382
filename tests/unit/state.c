/*
 * state.c — unit tests of lib/state.c, paginate's checkpoint codec: the checksum is POSIX
 * cksum(1)'s, a saved state is one exact line, what is saved loads back field for field,
 * and a file that is damaged, edited or not a state is refused (exit 1) rather than
 * resumed from; state_lock keeps a second run off the same checkpoint (exit 75).
 */
#include <fcntl.h>
#include "pagepull.h"
#include "unit.h"

static char dir[] = "/tmp/pagepull-unit-state-XXXXXX";
static char path[256];

/* writes body (an object's text without its closing brace) and its sum to path */
static void write_state(const char *body)
{
	char text[1024];
	snprintf(text, sizeof text, "%s}", body);
	FILE *f = fopen(path, "w");
	fprintf(f, "%s,\"sum\":\"%u\"}\n", body, (unsigned)state_cksum(text, strlen(text)));
	fclose(f);
}

static void write_raw(const char *text)
{
	FILE *f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
}

static void load(const void *arg)
{
	struct pgstate s;
	printf("%d", state_load(path, &s));
}

/* the file at path must be refused with exit 1 and a message that holds want */
static void refused(const char *want, const char *what)
{
	static struct child c;
	in_child(load, NULL, &c);
	ok(c.status == 1 && strstr(c.err, want) && !*c.out, "state: %s is refused (exit 1, '%s')", what, want);
	if (c.status != 1 || !strstr(c.err, want))
		printf("#   exit %d: %s", c.status, c.err);
}

/* what state_load allocated */
static void forget(struct pgstate *s)
{
	free((char *)s->strategy);
	free(s->token);
	memset(s, 0, sizeof *s);
}

static void lock_it(const void *arg)
{
	state_lock(path);
	puts("locked");
}

int main(void)
{
	static struct child c;
	if (!mkdtemp(dir))
		return 99;
	snprintf(path, sizeof path, "%s/st", dir);

	/* the values cksum(1) prints */
	ok(state_cksum("", 0) == 4294967295u, "state: cksum of nothing is cksum(1)'s 4294967295");
	ok(state_cksum("a", 1) == 1220704766u, "state: cksum of 'a' is cksum(1)'s 1220704766");
	ok(state_cksum("abc\n", 4) == 1112837078u, "state: cksum of 'abc\\n' is cksum(1)'s 1112837078");
	ok(state_cksum("{\"paginate\":1}", 14) == 2048918058u, "state: cksum of {\"paginate\":1} is cksum(1)'s 2048918058");

	struct pgstate s = { .strategy = "cursor", .token = "c", .index = 2, .number = 3, .offset = 2,
			     .pages = 2, .records = 2, .have_output = 1, .output = 18 };
	ok(state_save(path, &s) == 0, "state: state_save returns 0");
	FILE *f = fopen(path, "r");
	char line[1024] = "";
	fread(line, 1, sizeof line - 1, f);
	fclose(f);
	is(line, "{\"paginate\":1,\"strategy\":\"cursor\",\"done\":false,\"index\":2,\"number\":3,\"offset\":2,"
	    "\"pages\":2,\"records\":2,\"empty_run\":0,\"token\":\"c\",\"output\":18,\"sum\":\"962173677\"}\n",
	    "state: a saved state is one exact line, its sum last");

	struct pgstate all = { .strategy = "after-key", .token = "a\"b\\c\n\xc3\xa9", .done = 1,
			       .index = 7, .number = 8, .offset = 9000000000LL, .pages = 7, .records = 123,
			       .empty_run = 2, .have_total = 1, .total = 0, .have_count = 1,
			       .page_count = 11, .have_output = 1, .output = 4096 };
	struct pgstate back;
	state_save(path, &all);
	ok(state_load(path, &back) == 1, "state: state_load returns 1 for a state file");
	ok(!strcmp(back.strategy, all.strategy) && !strcmp(back.token, all.token) && back.done == 1 &&
	    back.index == 7 && back.number == 8 && back.offset == 9000000000LL && back.pages == 7 &&
	    back.records == 123 && back.empty_run == 2 && back.have_total && back.total == 0 &&
	    back.have_count && back.page_count == 11 && back.have_output && back.output == 4096,
	    "state: every field loads back as saved (a token with quotes, a newline, UTF-8; a total of 0)");
	forget(&back);

	write_state("{\"paginate\":1,\"strategy\":\"offset\",\"done\":false,\"index\":1,\"number\":2,"
	    "\"offset\":10,\"pages\":1,\"records\":10");
	ok(state_load(path, &back) == 1 && !back.token && !back.have_total && !back.have_count &&
	    !back.have_output && back.empty_run == 0, "state: absent optional fields load as absent");
	forget(&back);

	unlink(path);
	ok(state_load(path, &back) == 0, "state: no file loads as 0 (a new run)");

	state_save(path, &s);
	f = fopen(path, "r+");
	fseek(f, strstr(line, "\"records\":2") - line + 10, SEEK_SET);
	fputc('3', f);
	fclose(f);
	refused("damaged (its checksum does not match)", "a state with one digit changed");
	write_raw("{\"paginate\":1,\"strategy\":\"cursor\",\"done\":false}\n");
	refused("not a paginate state file (no checksum)", "a state without its sum");
	write_state("{\"paginate\":1,\"strategy\":\"cursor\",\"done\":false,\"index\":1,\"number\":2,"
	    "\"offset\":10,\"pages\":1,\"records\":-1");
	refused("not a paginate state file", "a negative count under a good sum");
	write_state("{\"paginate\":1,\"strategy\":\"cursor\",\"done\":false,\"index\":1,\"number\":2,"
	    "\"offset\":10,\"pages\":1,\"records\":1,\"token\":5");
	refused("not a paginate state file", "a token that is not a string");
	write_state("{\"paginate\":1,\"strategy\":\"cursor\",\"done\":false,\"number\":2,"
	    "\"offset\":10,\"pages\":1,\"records\":1");
	refused("not a paginate state file", "a state without its index");
	state_save(path, &s);
	f = fopen(path, "a");
	fputs("x\n", f);
	fclose(f);
	refused("not a paginate state file", "a state with a line after it");
	write_raw("");
	refused("not a paginate state file", "an empty file");

	int fd = state_lock(path);
	in_child(lock_it, NULL, &c);
	char want[512];
	snprintf(want, sizeof want, "%s: in use by another run (pid %ld)", path, (long)getpid());
	ok(c.status == 75 && strstr(c.err, want) && !*c.out,
	    "state: a second lock on the same state is exit 75 naming the holder's pid");
	close(fd);
	in_child(lock_it, NULL, &c);
	is(c.out, "locked\n", "state: once the holder is gone, the lock is taken");

	char rm[512];
	snprintf(rm, sizeof rm, "rm -rf '%s'", dir);
	if (system(rm) != 0)
		return 99;
	return done_testing();
}
