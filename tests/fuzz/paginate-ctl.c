/*
 * paginate control-line fuzz harness: a page command's stdout as paginate takes it in
 * (lib/intake.c: records spooled, 0x1E control lines merged with cJSON), fed in chunks
 * whose sizes the first input byte picks, then every reading paginate's options make of
 * the merged object and of the last record (lib/ctl.c: dotted paths, text, flags, ints).
 */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <cjson/cJSON.h>
#include "fuzz.h"
#include "pagepull.h"

static struct intake in;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fz_setup();
	intake_init(&in, 4096, 1);	/* a small spool limit: spills to disk too */
	return 0;
}

static void read_all(const cJSON *obj)
{
	static const char *const fields[] = { "handle", "eof", "total", "records", "count",
		"NextPageIndexKey", "IndexKey", "fault", "fault.name", "fault.code", "fault.string",
		"fault.detail", "a.b.c", "", ".", "..", NULL };
	struct buf t = { 0 };
	long long v;
	for (const char *const *f = fields; *f; f++) {
		const cJSON *it = ctl_get(obj, *f);
		ctl_text(it, &t);
		ctl_flag(it);
		ctl_int(it, &v);
	}
	buf_free(&t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t chunk = data[0] ? data[0] : 4096;
	data++, size--;
	intake_reset(&in);
	for (size_t off = 0; off < size; off += chunk)
		intake_feed(&in, (const char *)data + off, size - off < chunk ? size - off : chunk);
	intake_end(&in);
	read_all(in.meta);
	if (in.last.len) {
		cJSON *last = cJSON_ParseWithLength(in.last.p, in.last.len);
		read_all(last);
		cJSON_Delete(last);
	}
	/* the spool gives back exactly the record bytes it took */
	int fd = open("/dev/null", O_WRONLY);
	if (fd >= 0) {
		if (spool_write(&in.sp, fd) != 0)
			abort();
		close(fd);
	}
	return 0;
}
