/*
 * ndjson2pb fuzz harness: the filter's own line() over each line of the input, against the
 * Diadoc schema (build/diadoc.desc), as GetDocflowEventsRequest (the pipelines' request
 * body: nested messages, bytes, enums, repeated strings, int32). cJSON trees left by a
 * rejected line are swept after each input.
 */
#include "fuzz.h"
#define main filter_main
#define fshut(f, n) fz_fshut(f, n)
#include "../../filters/ndjson2pb.c"
#undef main

static const struct pb_msg *req;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static struct pb_schema schema;
	char desc[4096];
	snprintf(desc, sizeof desc, "%s/build/diadoc.desc", fz_root());
	fz_setup();
	fz_cjson_track();
	FZ_TRY(pb_load(&schema, desc));
	req = fz_jumped ? NULL :
	    pb_find_msg(&schema, "Diadoc.Api.Proto.Docflow.GetDocflowEventsRequest");
	if (!req) {
		fprintf(stderr, "ndjson2pb harness: cannot load %s\n", desc);
		abort();
	}
	out_init();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* line() sees what line_read gives: a NUL-terminated line without its '\n' */
	char *s = xmalloc(size + 1);
	memcpy(s, data, size);
	s[size] = 0;
	lineno = 0;
	char *p = s;
	for (;;) {
		char *nl = memchr(p, '\n', (size_t)(s + size - p));
		if (nl)
			*nl = 0;
		lineno++;
		buf_reset(&path);
		FZ_TRY(line(p, nl ? (size_t)(nl - p) : (size_t)(s + size - p), req, &scratch[0]));
		if (!nl || fz_jumped)
			break;
		p = nl + 1;
	}
	free(s);
	return 0;
}
