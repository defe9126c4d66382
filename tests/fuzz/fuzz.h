/*
 * fuzz.h — the harnesses' side of tests/fuzz/fuzz.c: arming the exit trap around a call
 * into a filter, inputs as memory-backed file descriptors, stdout sent to /dev/null.
 * A harness #includes its filter's .c with main renamed, then calls the filter's own
 * per-document function; what the filter does on bad input (an error and an exit) is the
 * normal outcome, and only a sanitizer report or a libFuzzer timeout/OOM is a finding.
 */
#ifndef FUZZ_H
#define FUZZ_H
#include <stddef.h>
#include <stdint.h>

/* FZ_TRY(stmt): runs stmt; an exit inside it comes back here with fz_status set. */
#define FZ_TRY(stmt) do {					\
		jmp_buf fz_jb_;					\
		fz_status = 0;					\
		fz_jumped = 0;					\
		fz_jump = &fz_jb_;				\
		if (setjmp(fz_jb_) == 0) {			\
			stmt;					\
		}						\
		fz_jump = NULL;					\
		fz_after();					\
	} while (0)

char **fz_argv(int *argc, ...);	/* a writable argv from strings, NULL-ended */
void fz_setup(void);			/* stdout → /dev/null; call once from Initialize */
void fz_after(void);			/* clears stdout's error state after a run */
int fz_memfd(const uint8_t *data, size_t size);	/* a readable fd holding data, at offset 0 */
const char *fz_fdpath(int fd);		/* "/proc/self/fd/N" (static buffer) */
const char *fz_root(void);		/* the source tree, from FUZZ_ROOT or the binary's place */

/* cJSON allocations that survive a longjmp are freed by fz_cjson_sweep (else every
 * rejected input would leak its tree). fz_cjson_track installs the hooks. */
void fz_cjson_track(void);
void fz_cjson_sweep(void);
#endif
