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

static struct {
	const char *name;	/* the input, for messages */
	int format, started, ended, padded;	/* padded: '=' seen so far */
	z_stream z;
	struct buf text, bin;	/* base64 not yet decoded; decoded bytes not yet inflated */
	unsigned char out[CHUNK];
	long long in_bytes;	/* decoded bytes so far, for messages */
} s;

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
	int f = s.format;
	if (f == F_AUTO) {
		const unsigned char *b = (const unsigned char *)s.bin.p;
		if (s.bin.len < 2)
			f = F_DEFLATE;
		else if (b[0] == 0x1f && b[1] == 0x8b)
			f = F_GZIP;
		else if ((b[0] & 0x0f) == 8 && (b[0] >> 4) <= 7 && ((b[0] << 8) | b[1]) % 31 == 0)
			f = F_ZLIB;
		else
			f = F_DEFLATE;
		s.format = f;
	}
	if (f != F_NONE && inflateInit2(&s.z, f == F_DEFLATE ? -15 : f == F_ZLIB ? 15 : 15 + 16) != Z_OK)
		errx(EXIT_IOERR, "out of memory");
	s.started = 1;
}

/* Inflates the decoded bytes held so far. */
static void inflate_bin(void)
{
	if (!s.started) {
		if (s.bin.len < 2 && s.format == F_AUTO)
			return;
		start();
	}
	if (s.format == F_NONE) {
		emit(s.bin.p, s.bin.len);
		s.in_bytes += (long long)s.bin.len;
		buf_reset(&s.bin);
		return;
	}
	s.z.next_in = (unsigned char *)s.bin.p;
	s.z.avail_in = (uInt)s.bin.len;
	while (s.z.avail_in) {
		if (s.ended) {
			/* Another gzip member may follow one that ended (gzip -c a b). */
			if (s.format != F_GZIP)
				errx(EXIT_DATA, "%s: byte %lld: data after the end of the %s stream", s.name,
				     s.in_bytes + (long long)(s.bin.len - s.z.avail_in), formats[s.format]);
			inflateReset(&s.z);
			s.ended = 0;
		}
		s.z.next_out = s.out;
		s.z.avail_out = sizeof s.out;
		int rc = inflate(&s.z, Z_NO_FLUSH);
		if (rc == Z_STREAM_END)
			s.ended = 1;
		else if (rc == Z_BUF_ERROR && s.z.avail_out)
			break;
		else if (rc != Z_OK)
			errx(EXIT_DATA, "%s: byte %lld: %s data: %s", s.name,
			     s.in_bytes + (long long)(s.bin.len - s.z.avail_in), formats[s.format],
			     s.z.msg ? s.z.msg : rc == Z_MEM_ERROR ? "out of memory" : "broken stream");
		emit(s.out, sizeof s.out - s.z.avail_out);
	}
	s.in_bytes += (long long)s.bin.len;
	buf_reset(&s.bin);
}

/* Takes base64 text: whitespace skipped, whole quads decoded, padding only at the end. */
static void feed(const char *p, size_t n, int last)
{
	for (size_t i = 0; i < n; i++) {
		char c = p[i];
		if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
			continue;
		if (s.padded && c != '=')
			errx(EXIT_DATA, "%s: base64: data after the padding", s.name);
		if (c == '=' && ++s.padded > 2)	/* held until the end: keep it small */
			errx(EXIT_DATA, "%s: base64: more than two padding characters", s.name);
		buf_addc(&s.text, c);
	}
	size_t whole = last ? s.text.len : s.text.len / 4 * 4;
	if (s.padded && !last)
		whole = 0;	/* decoded at the end, with its padding */
	if (whole) {
		if (b64_decode(&s.bin, s.text.p, whole))
			errx(EXIT_DATA, "%s: not base64", s.name);
		memmove(s.text.p, s.text.p + whole, s.text.len - whole);
		s.text.len -= whole;
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
			warn("%s", s.name);
			return EXIT_IOERR;
		}
		feed(in, (size_t)n, 0);
		if (out_unbuffered && fflush(stdout) == EOF)
			err(EXIT_IOERR, "<stdout>");
	}
	feed(NULL, 0, 1);
	if (!s.started && s.bin.len)	/* one decoded byte: too short for any format */
		start(), inflate_bin();
	if (s.started && s.format != F_NONE && !s.ended)
		errx(EXIT_DATA, "%s: the %s stream is truncated", s.name, formats[s.format]);
	return 0;
}

int main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "format", required_argument, 0, 'f' }, { "unbuffered", no_argument, 0, 'u' },
		{ "help", no_argument, 0, 'h' }, { "version", no_argument, 0, 'V' }, { 0, 0, 0, 0 }
	};
	int c, i;
	s.format = F_AUTO;
	while ((c = getopt_long(argc, argv, "f:hu", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			for (i = 0; i < 5 && strcmp(optarg, formats[i]); i++)
				;
			if (i == 5) {
				warnx("-f %s: not auto, deflate, zlib, gzip or none", optarg);
				usage(EXIT_USAGE);
			}
			s.format = i;
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
	s.name = "<stdin>";
	if (optind < argc && strcmp(argv[optind], "-")) {
		s.name = argv[optind];
		if ((fd = open(s.name, O_RDONLY | O_CLOEXEC)) == -1)
			err(EXIT_IOERR, "%s", s.name);
	}
	out_init();
	int rc = run(fd);
	if (s.started && s.format != F_NONE)
		inflateEnd(&s.z);
	return rc | fshut(stdout, "<stdout>");
}
