#!/usr/bin/env bats
# b64inflate: base64 + raw deflate / zlib / gzip found by itself, golden rows, errors,
# flat memory, the shared conventions.
load helpers

bats_require_minimum_version 1.5.0

F=$BATS_TEST_DIRNAME/fixtures/b64inflate

@test "b64inflate: --help, --version, usage errors" {
	run -0 b64inflate --help
	assert_output "usage: b64inflate [-u] [-f auto|deflate|zlib|gzip|none] [FILE]"
	run -0 b64inflate --version
	assert_output "b64inflate 0.1.0"
	run -2 b64inflate -f lzma
	assert_line --index 0 "b64inflate: -f lzma: not auto, deflate, zlib, gzip or none"
	run -2 b64inflate a b
	run -2 b64inflate --no-such-option
}

@test "b64inflate: raw deflate, zlib (wrapped) and gzip (URL-safe, unpadded) give the rows" {
	local f
	for f in deflate zlib gzip; do
		b64inflate "$F/rows.$f.b64" | cmp - "$F/rows.xml"
		b64inflate -f "$f" <"$F/rows.$f.b64" | cmp - "$F/rows.xml"
	done
}

@test "b64inflate: concatenated gzip members, all of them" {
	b64inflate "$F/two-members.gz.b64" | cmp - "$F/rows.xml"
}

@test "b64inflate: -f none decodes only; an empty input is an empty output" {
	run -0 b64inflate -f none <<<"PHJvd3Mv Pg=="
	assert_output "<rows/>"
	run -0 b64inflate </dev/null
	assert_output ""
}

@test "b64inflate: the wrong format, broken and truncated data, bad base64" {
	run -1 b64inflate -f gzip "$F/rows.zlib.b64"
	assert_output --partial "b64inflate: $F/rows.zlib.b64: byte 2: gzip data: incorrect header check"
	run -1 b64inflate <<<"$(head -c 200 "$F/rows.deflate.b64")"
	assert_output --partial "b64inflate: <stdin>: the deflate stream is truncated"
	run -1 b64inflate <<<"eJzLSM3JyQcABiwCFQ==eJzL"
	assert_output "b64inflate: <stdin>: base64: data after the padding"
	run -1 b64inflate <<<"eJz*LSM3"
	assert_output "b64inflate: <stdin>: not base64"
	# a byte after a gzip member starts a member that never ends
	run -1 b64inflate <<<"$( (printf 'hello' | gzip -c; printf 'x') | base64)"
	assert_line "b64inflate: <stdin>: the gzip stream is truncated"
	run -1 b64inflate <<<"$( (printf 'hi' | python3 -c 'import sys,zlib; sys.stdout.buffer.write(zlib.compress(sys.stdin.buffer.read()))'; printf 'junk') | base64)"
	assert_output --partial "data after the end of the zlib stream"
	run -74 b64inflate /nonexistent
	assert_output "b64inflate: /nonexistent: No such file or directory"
}

@test "b64inflate: 64 MiB out of a few KiB in flat memory" {
	ldd "$(command -v b64inflate)" | grep -q libasan && skip "a sanitizer build's RSS is not the filter's"
	head -c 67108864 /dev/zero | gzip -c | base64 >"$BATS_TEST_TMPDIR/bomb.b64"
	run -0 bash -c 'b64inflate "$1" | wc -c' _ "$BATS_TEST_TMPDIR/bomb.b64"
	assert_output 67108864
	local rss
	rss=$(peak_rss_kib b64inflate "$BATS_TEST_TMPDIR/bomb.b64")
	[ "$rss" -lt 8192 ]
}

@test "b64inflate: >/dev/full is exit 74; | head -c 1 ends quietly" {
	run -74 bash -c 'b64inflate "$1" >/dev/full' _ "$F/rows.gzip.b64"
	assert_output "b64inflate: <stdout>: No space left on device"
	head -c 4194304 /dev/zero | gzip -c | base64 >"$BATS_TEST_TMPDIR/z.b64"
	run -0 bash -c 'set -o pipefail; b64inflate "$1" | head -c 1 | wc -c; echo "${PIPESTATUS[0]}"' _ "$BATS_TEST_TMPDIR/z.b64"
	assert_output $'1\n141'
}

@test "b64inflate: --help and the man page's SYNOPSIS list the same long options, each described in the page" {
	help_matches_man b64inflate
}
