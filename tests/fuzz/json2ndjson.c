/*
 * json2ndjson fuzz harness: the filter's own input() over each input, configured once as
 * a Data Mill/API-error pipeline would use it (records at .data, two --meta, --fault),
 * with a small record limit so that the limit's error path is reached too.
 */
#include "fuzz.h"
#define main filter_main
#define fshut(f, n) fz_fshut(f, n)
#include "../../filters/json2ndjson.c"
#undef main

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	int n;
	char **args = fz_argv(&n, "json2ndjson", "--records", ".data", "--meta", "handle=.handle",
		"--meta", "eof=.eof", "--fault", ".error", "--max-record-bytes", "4096",
		"--max-depth", "200", "/nonexistent/fuzz-config-only", NULL);
	fz_setup();
	FZ_TRY(filter_main(n, args));	/* ends at the open */
	if (parser.npaths == 0) {
		fprintf(stderr, "json2ndjson harness: configuration failed\n");
		abort();
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fd = fz_memfd(data, size);
	parser.ncaps = 0;
	parser.t.nsink = 0;
	parser.records = 0;
	for (int i = 0; i < parser.npaths; i++)
		parser.paths[i].have = 0;
	FZ_TRY(input(fd, "fuzz"));
	close(fd);
	return 0;
}
