/*
 * b64inflate — base64 text in, the decompressed bytes out, streaming.
 *
 * DocsVision's compressed pages are base64 of deflate bytes, and which deflate the server
 * used (raw, as .NET's DeflateStream writes it; zlib; gzip) is not announced, so by
 * default the first two decoded bytes decide: 1F 8B is gzip, a valid zlib header (CM 8,
 * the check bits) is zlib, anything else raw deflate. zlib inflates in fixed blocks, so
 * memory is flat whatever the size; base64 may be wrapped, use either alphabet, and lack
 * its padding. Concatenated gzip members are all inflated, as gzip(1) does.
 */
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include "pagepull.h"

#define CHUNK (64 * 1024)

enum { F_AUTO, F_DEFLATE, F_ZLIB, F_GZIP, F_NONE };
static const char *formats[] = { "auto", "deflate", "zlib", "gzip", "none" };

static struct {			/* the input being decoded: base64 → bytes → inflated */
	const char *name;	/* the input, for messages */
	int format, started, ended, padded;	/* padded: '=' seen so far */
	z_stream z;
	struct buf text, bin;	/* base64 not yet decoded; decoded bytes not yet inflated */
	unsigned char out[CHUNK];
	long long in_bytes;	/* decoded bytes so far, for messages */
} dec;

static void __attribute__((noreturn)) usage(int status)
{
	FILE *f = status ? stderr : stdout;
	fputs("usage: b64inflate [-u] [-f auto|deflate|zlib|gzip|none] [FILE]\n", f);
	exit(status);
}

static void emit(const void *p, size_t n)
{
	if (n && fwrite(p, 1, n, stdout) != n)
		err(EXIT_IOERR, "<stdout>");
}

/* The zlib stream for the format; windowBits 15+32 accepts zlib and gzip headers. */
static void start(void)
{
	int f = dec.format;
	if (f == F_AUTO) {
		const unsigned char *b = (const unsigned char *)dec.bin.p;
		if (dec.bin.len < 2)
			f = F_DEFLATE;
		else if (b[0] == 0x1f && b[1] == 0x8b)
			f = F_GZIP;
		else if ((b[0] & 0x0f) == 8 && (b[0] >> 4) <= 7 && ((b[0] << 8) | b[1]) % 31 == 0)
			f = F_ZLIB;
		else
			f = F_DEFLATE;
		dec.format = f;
	}
	if (f != F_NONE && inflateInit2(&dec.z, f == F_DEFLATE ? -15 : f == F_ZLIB ? 15 : 15 + 16) != Z_OK)
		errx(EXIT_IOERR, "out of memory");
	dec.started = 1;
}

/* Inflates the decoded bytes held so far. */
static void inflate_bin(void)
{
	if (!dec.started) {
		if (dec.bin.len < 2 && dec.format == F_AUTO)
			return;
		start();
	}
	if (dec.format == F_NONE) {
		emit(dec.bin.p, dec.bin.len);
		dec.in_bytes += (long long)dec.bin.len;
		buf_reset(&dec.bin);
		return;
	}
	dec.z.next_in = (unsigned char *)dec.bin.p;
	dec.z.avail_in = (uInt)dec.bin.len;
	while (dec.z.avail_in) {
		if (dec.ended) {
			/* Another gzip member may follow one that ended (gzip -c a b). */
			if (dec.format != F_GZIP)
				errx(EXIT_DATA, "%s: byte %lld: data after the end of the %s stream", dec.name,
				     dec.in_bytes + (long long)(dec.bin.len - dec.z.avail_in), formats[dec.format]);
			inflateReset(&dec.z);
			dec.ended = 0;
		}
		dec.z.next_out = dec.out;
		dec.z.avail_out = sizeof dec.out;
		int rc = inflate(&dec.z, Z_NO_FLUSH);
		if (rc == Z_STREAM_END)
			dec.ended = 1;
		else if (rc == Z_BUF_ERROR && dec.z.avail_out)
			break;
		else if (rc != Z_OK)
			errx(EXIT_DATA, "%s: byte %lld: %s data: %s", dec.name,
			     dec.in_bytes + (long long)(dec.bin.len - dec.z.avail_in), formats[dec.format],
			     dec.z.msg ? dec.z.msg : rc == Z_MEM_ERROR ? "out of memory" : "broken stream");
		emit(dec.out, sizeof dec.out - dec.z.avail_out);
	}
	dec.in_bytes += (long long)dec.bin.len;
	buf_reset(&dec.bin);
}

/* Takes base64 text: whitespace skipped, whole quads decoded, padding only at the end. */
static void feed(const char *p, size_t n, int last)
{
	for (size_t i = 0; i < n; i++) {
		char c = p[i];
		if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
			continue;
		if (dec.padded && c != '=')
			errx(EXIT_DATA, "%s: base64: data after the padding", dec.name);
		if (c == '=' && ++dec.padded > 2)	/* held until the end: keep it small */
			errx(EXIT_DATA, "%s: base64: more than two padding characters", dec.name);
		buf_addc(&dec.text, c);
	}
	size_t whole = last ? dec.text.len : dec.text.len / 4 * 4;
	if (dec.padded && !last)
		whole = 0;	/* decoded at the end, with its padding */
	if (whole) {
		if (b64_decode(&dec.bin, dec.text.p, whole))
			errx(EXIT_DATA, "%s: not base64", dec.name);
		memmove(dec.text.p, dec.text.p + whole, dec.text.len - whole);
		dec.text.len -= whole;
	}
	inflate_bin();
}

static int run(int fd)
{
	static char in[CHUNK];
	ssize_t n;
	while ((n = read(fd, in, sizeof in)) != 0) {
		if (n == -1) {
			if (errno == EINTR)
				continue;
			warn("%s", dec.name);
			return EXIT_IOERR;
		}
		feed(in, (size_t)n, 0);
		if (out_unbuffered && fflush(stdout) == EOF)
			err(EXIT_IOERR, "<stdout>");
	}
	feed(NULL, 0, 1);
	if (!dec.started && dec.bin.len)	/* one decoded byte: too short for any format */
		start(), inflate_bin();
	if (dec.started && dec.format != F_NONE && !dec.ended)
		errx(EXIT_DATA, "%s: the %s stream is truncated", dec.name, formats[dec.format]);
	return 0;
}

int main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "format", required_argument, 0, 'f' }, { "unbuffered", no_argument, 0, 'u' },
		{ "help", no_argument, 0, 'h' }, { "version", no_argument, 0, 'V' }, { 0, 0, 0, 0 }
	};
	int c, i;
	dec.format = F_AUTO;
	while ((c = getopt_long(argc, argv, "f:hu", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			for (i = 0; i < 5 && strcmp(optarg, formats[i]); i++)
				;
			if (i == 5) {
				warnx("-f %s: not auto, deflate, zlib, gzip or none", optarg);
				usage(EXIT_USAGE);
			}
			dec.format = i;
			break;
		case 'u': out_unbuffered = 1; break;
		case 'h': usage(EXIT_OK); break;
		case 'V': print_version(); return fshut(stdout, "<stdout>");
		default: usage(EXIT_USAGE);
		}
	}
	if (argc - optind > 1) {
		warnx("%s: unexpected argument (one input file at most)", argv[optind + 1]);
		usage(EXIT_USAGE);
	}
	int fd = STDIN_FILENO;
	dec.name = "<stdin>";
	if (optind < argc && strcmp(argv[optind], "-")) {
		dec.name = argv[optind];
		if ((fd = open(dec.name, O_RDONLY | O_CLOEXEC)) == -1)
			err(EXIT_IOERR, "%s", dec.name);
	}
	out_init();
	int rc = run(fd);
	if (dec.started && dec.format != F_NONE)
		inflateEnd(&dec.z);
	return rc | fshut(stdout, "<stdout>");
}
