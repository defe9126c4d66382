/*
 * fuzz.c — the runtime shared by the libFuzzer harnesses (see fuzz.h, trap.h): the exit
 * trap, memfd inputs, a quiet stdout, and a tracking allocator for cJSON.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cjson/cJSON.h>
#include "fuzz.h"

jmp_buf *fz_jump;
int fz_status;
int fz_jumped;

void fz_exit(int status)
{
	fz_status = status;
	if (fz_jump) {
		fz_jumped = 1;
		longjmp(*fz_jump, 1);
	}
	fflush(stdout);
	(exit)(status);
}

/* Messages only with FUZZ_VERBOSE set: millions of them would drown libFuzzer's own. */
static void say(int errnum, const char *fmt, va_list ap)
{
	if (!getenv("FUZZ_VERBOSE"))
		return;
	fprintf(stderr, "%s: ", program_invocation_short_name);
	if (fmt)
		vfprintf(stderr, fmt, ap);
	if (errnum >= 0)
		fprintf(stderr, "%s%s", fmt ? ": " : "", strerror(errnum));
	fputc('\n', stderr);
}

void fz_verr(int status, const char *fmt, va_list ap)
{
	say(errno, fmt, ap);
	fz_exit(status);
}

void fz_verrx(int status, const char *fmt, va_list ap)
{
	say(-1, fmt, ap);
	fz_exit(status);
}

void fz_err(int status, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fz_verr(status, fmt, ap);
}

void fz_errx(int status, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fz_verrx(status, fmt, ap);
}

/* The filters' final fshut(stdout) would close it for every later input. */
int fz_fshut(FILE *f, const char *name)
{
	(void)name;
	fflush(f);
	clearerr(f);
	return 0;
}

char **fz_argv(int *argc, ...)
{
	va_list ap;
	char **v = NULL;
	const char *s;
	int n = 0;
	va_start(ap, argc);
	do {
		s = va_arg(ap, const char *);
		v = realloc(v, (size_t)(n + 1) * sizeof *v);
		v[n++] = s ? strdup(s) : NULL;
	} while (s);
	va_end(ap);
	*argc = n - 1;
	return v;
}

void fz_setup(void)
{
	int fd = open("/dev/null", O_WRONLY);
	if (fd >= 0) {
		dup2(fd, STDOUT_FILENO);
		close(fd);
	}
}

void fz_after(void)
{
	fflush(stdout);
	clearerr(stdout);
	fz_cjson_sweep();
}

int fz_memfd(const uint8_t *data, size_t size)
{
	int fd = memfd_create("fuzz-input", MFD_CLOEXEC);
	if (fd < 0) {
		perror("memfd_create");
		abort();
	}
	for (size_t off = 0; off < size;) {
		ssize_t n = write(fd, data + off, size - off);
		if (n <= 0) {
			perror("memfd write");
			abort();
		}
		off += (size_t)n;
	}
	lseek(fd, 0, SEEK_SET);
	return fd;
}

const char *fz_fdpath(int fd)
{
	static char path[64];
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	return path;
}

const char *fz_root(void)
{
	static char root[PATH_MAX];
	const char *env = getenv("FUZZ_ROOT");
	if (env)
		return env;
	/* the binary is ROOT/build/fuzz/NAME */
	ssize_t n = readlink("/proc/self/exe", root, sizeof root - 1);
	if (n <= 0)
		return ".";
	root[n] = 0;
	for (int i = 0; i < 3; i++) {
		char *s = strrchr(root, '/');
		if (s)
			*s = 0;
	}
	return root;
}

/* The tracking allocator: a doubly linked list of live blocks behind cJSON's hooks. */
struct blk {
	struct blk *prev, *next;
	max_align_t align[];
};
static struct blk live = { &live, &live };
static int tracking;

static void *track_malloc(size_t n)
{
	struct blk *b = malloc(sizeof *b + n);
	if (!b)
		return NULL;
	b->next = live.next;
	b->prev = &live;
	live.next->prev = b;
	live.next = b;
	return b->align;
}

static void track_free(void *p)
{
	if (!p)
		return;
	struct blk *b = (struct blk *)((char *)p - offsetof(struct blk, align));
	b->prev->next = b->next;
	b->next->prev = b->prev;
	free(b);
}

void fz_cjson_track(void)
{
	cJSON_Hooks h = { track_malloc, track_free };
	cJSON_InitHooks(&h);
	tracking = 1;
}

void fz_cjson_sweep(void)
{
	if (!tracking)
		return;
	while (live.next != &live)
		track_free(live.next->align);
}
