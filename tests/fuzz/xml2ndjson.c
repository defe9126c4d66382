/*
 * xml2ndjson fuzz harness: the filter's own run("-") over each input (put on fd 0),
 * configured once with records, a forced array, metas on attributes and on elements in
 * a namespace, and small depth and record limits.
 */
#include "fuzz.h"
#define main filter_main
#define fshut(f, n) fz_fshut(f, n)
#include "../../filters/xml2ndjson.c"
#undef main

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	int n;
	char **args = fz_argv(&n, "xml2ndjson", "-q", "-N", "bs=http://api.vetrf.ru/schema/cdm/base",
		"--records", "//row", "--array", "//item", "--meta", "handle=/data/@handle",
		"--meta", "eof=/data/@eof", "--meta", "total=//bs:total", "--max-depth", "64",
		"--max-record-bytes", "65536", "/nonexistent/fuzz-config-only", NULL);
	fz_setup();
	FZ_TRY(filter_main(n, args));	/* ends at the open */
	if (!opts.records) {
		fprintf(stderr, "xml2ndjson harness: configuration failed\n");
		abort();
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fd = fz_memfd(data, size);
	dup2(fd, STDIN_FILENO);
	close(fd);
	doc.p = NULL;
	FZ_TRY(run("-"));
	if (fz_jumped && doc.p)
		XML_ParserFree(doc.p);
	return 0;
}
