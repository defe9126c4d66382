/*
 * pb2ndjson fuzz harness: the filter's own run() over each input, against the Diadoc
 * schema (build/diadoc.desc). The first input byte picks the mode: GetDocflowEventsResponse
 * streamed with --records Events and --meta, or decoded whole, each plain or --delimited;
 * the rest is the protobuf input.
 */
#include "fuzz.h"
#define main filter_main
#define fshut(f, n) fz_fshut(f, n)
#include "../../filters/pb2ndjson.c"
#undef main

static const struct pb_field *records_field;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static char desc[4096];
	snprintf(desc, sizeof desc, "%s/build/diadoc.desc", fz_root());
	int n;
	char **args = fz_argv(&n, "pb2ndjson", "-d", desc, "-t",
		"Diadoc.Api.Proto.Docflow.GetDocflowEventsResponse", "--records", "Events",
		"--meta", "total=TotalCount", "--meta", "type=TotalCountType", "--unknown",
		"--max-record-bytes", "65536", "--max-depth", "32",
		"/nonexistent/fuzz-config-only", NULL);
	fz_setup();
	FZ_TRY(filter_main(n, args));	/* ends at the open */
	if (!recf || !nmetas) {
		fprintf(stderr, "pb2ndjson harness: configuration failed (%s)\n", desc);
		abort();
	}
	records_field = recf;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static unsigned char *blk;
	if (size < 1)
		return 0;
	if (!blk)
		blk = xmalloc(BLOCK);
	recf = data[0] & 1 ? NULL : records_field;
	delimited = (data[0] & 2) != 0;
	int fd = fz_memfd(data + 1, size - 1);
	/* a pipe's input has no known size: the mode's bit 2 hides it */
	struct in in = { .fd = fd, .blk = blk, .size = data[0] & 4 ? -1 : (long long)size - 1 };
	dec.name = "fuzz";
	FZ_TRY(run(&in));
	close(fd);
	return 0;
}
