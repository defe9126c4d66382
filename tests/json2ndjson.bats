#!/usr/bin/env bats
# json2ndjson: golden pairs (the Data Mill seed's JSON example), control lines, lossless
# numbers and strings, bad input with FILE:LINE:COL, limits, and the common filter surface.
load helpers
bats_require_minimum_version 1.5.0

D="$FIX/json2ndjson"
RS=$'\x1e'

# j2n INPUT ARGS…: json2ndjson ARGS… with INPUT (printf %s) on stdin.
j2n() {
	local in=$1; shift
	printf '%s' "$in" | json2ndjson "$@"
}

@test "json2ndjson: seed golden pair, records of .data" {
	run --separate-stderr json2ndjson --records .data "$D/seed.json"
	assert_success
	assert_output "$(cat "$D/seed.ndjson")"
	assert_equal "$stderr" ""
}

@test "json2ndjson: seed golden pair with --meta: control line after the records" {
	run --separate-stderr json2ndjson --records .data --meta handle=.handle --meta eof=.eof \
		--meta missing=.total "$D/seed.json"
	assert_success
	assert_output "$(cat "$D/seed-meta.ndjson")"
	assert_line --index 3 "${RS}{\"handle\":\"{C57F629E-583C-4477-ACBF-E436F6D01628}\",\"eof\":true,\"records\":3}"
}

@test "json2ndjson: the seed's records equal jq -c '.data[]' (no big numbers in it)" {
	run json2ndjson --records '.data[]' "$D/seed.json"
	assert_success
	assert_output "$(jq -c '.data[]' "$D/seed.json")"
}

@test "json2ndjson: stdin and a file give the same output" {
	run json2ndjson --records .data < "$D/seed.json"
	assert_success
	assert_output "$(cat "$D/seed.ndjson")"
	run json2ndjson --records .data - < "$D/seed.json"
	assert_output "$(cat "$D/seed.ndjson")"
}

@test "json2ndjson: nested arrays and objects inside records, CRLF and spaces removed" {
	run json2ndjson --records .result.items --meta total=.result.total --meta next=.next \
		--meta cursor=.next.cursor "$D/nested.json"
	assert_success
	assert_output "$(cat "$D/nested.ndjson")"
}

@test "json2ndjson: strings re-emitted with normalised escapes (golden)" {
	run --separate-stderr json2ndjson --records .items "$D/escapes.json"
	assert_success
	assert_output "$(cat "$D/escapes.ndjson")"
	assert_equal "$stderr" \
		"json2ndjson: $D/escapes.json:8:14: warning: lone surrogate escape replaced by U+FFFD (reported once)"
}

@test "json2ndjson: eof before data and eof after data give the same control line" {
	run j2n '{"handle":"h1","eof":false,"data":[{"a":1},{"a":2}]}' --records .data --meta handle=.handle --meta eof=.eof
	assert_success
	assert_output "$(printf '{"a":1}\n{"a":2}\n\x1e{"handle":"h1","eof":false,"records":2}')"
	run j2n '{"data":[{"a":1},{"a":2}],"eof":false,"handle":"h1"}' --records .data --meta handle=.handle --meta eof=.eof
	assert_success
	assert_output "$(printf '{"a":1}\n{"a":2}\n\x1e{"handle":"h1","eof":false,"records":2}')"
}

@test "json2ndjson: empty array: no records, records 0 in the control line" {
	run j2n '{"handle":"h","eof":true,"data":[]}' --records .data --meta eof=.eof
	assert_success
	assert_output "${RS}{\"eof\":true,\"records\":0}"
}

@test "json2ndjson: absent or null PATH is no records; another value is one record" {
	run j2n '{"eof":"1"}' --records .data --meta eof=.eof
	assert_output "${RS}{\"eof\":\"1\",\"records\":0}"
	run j2n '{"data":null}' --records .data --meta d=.data
	assert_output "${RS}{\"d\":null,\"records\":0}"
	run j2n '{"data":{"only":1}}' --records .data
	assert_success
	assert_output '{"only":1}'
}

@test "json2ndjson: default records: a top-level array's elements, or the document" {
	run j2n ' [ {"a" : 1} , 2 , "x" ] '
	assert_success
	assert_output "$(printf '{"a":1}\n2\n"x"')"
	run j2n '{ "a" : [ 1 , 2 ] }'
	assert_output '{"a":[1,2]}'
}

@test "json2ndjson: numbers kept verbatim: 1e400, 12345678901234567890, -0.0, 1E+2" {
	run j2n '{"data":[{"big":12345678901234567890,"huge":1e400,"neg":-0.0,"e":1E+2,"f":0.10}]}' --records .data
	assert_success
	assert_output '{"big":12345678901234567890,"huge":1e400,"neg":-0.0,"e":1E+2,"f":0.10}'
}

@test "json2ndjson: invalid numbers are errors with their position" {
	local n
	for n in 01 1. - .5 +1 1e 1e+ 0x1 1.5.2; do
		run --separate-stderr j2n "[7, $n]"
		assert_failure 1
		assert_output "7"
		[[ "$stderr" == "json2ndjson: <stdin>:1:"*": "* ]] || fail "$n: $stderr"
	done
	run --separate-stderr j2n '[1, 01]'
	assert_equal "$stderr" "json2ndjson: <stdin>:1:6: invalid number"
}

@test "json2ndjson: \\u0000 stays escaped, surrogate pairs become one character" {
	run j2n '["a\u0000b", "\ud83d\ude00", "\uD83D\uDE00"]'
	assert_success
	assert_output "$(printf '"a\\u0000b"\n"\xf0\x9f\x98\x80"\n"\xf0\x9f\x98\x80"')"
}

@test "json2ndjson: invalid UTF-8 becomes U+FFFD with one warning" {
	run --separate-stderr j2n $'["a\xffb", "\xc3(", "ok \xd0\x96"]'
	assert_success
	assert_output "$(printf '"a\xef\xbf\xbdb"\n"\xef\xbf\xbd("\n"ok \xd0\x96"')"
	assert_equal "$stderr" "json2ndjson: <stdin>:1:4: warning: invalid UTF-8 replaced by U+FFFD (reported once)"
}

@test "json2ndjson: raw control characters and bad escapes in strings are errors" {
	run --separate-stderr j2n $'["a\tb"]'
	assert_failure 1
	assert_equal "$stderr" "json2ndjson: <stdin>:1:4: unescaped control character U+0009 in a string"
	run --separate-stderr j2n '["\x"]'
	assert_failure 1
	assert_equal "$stderr" "json2ndjson: <stdin>:1:4: unexpected 'x', expected an escape character (one of \"\\/bfnrtu)"
	run --separate-stderr j2n '["\u12G4"]'
	assert_failure 1
	assert_equal "$stderr" "json2ndjson: <stdin>:1:3: invalid \\u escape"
}

@test "json2ndjson: a huge string (8 MiB) in a record is copied whole" {
	local f="$BATS_TEST_TMPDIR/huge.json"
	{ printf '{"data":[{"s":"'; head -c 8388608 /dev/zero | tr '\0' 'x'; printf '"},{"n":1}]}'; } > "$f"
	run bash -c "json2ndjson --records .data '$f' | cut -c 1-10"
	assert_success
	assert_output "$(printf '{"s":"xxxx\n{"n":1}')"
	run bash -c "json2ndjson --records .data '$f' | wc -c"
	assert_output "$((8388608 + 9 + 8))"
}

@test "json2ndjson: truncated documents: exit 1, FILE:LINE:COL, completed records written" {
	printf '{"data":[\n {"a":1},\n {"b":[2,' > "$BATS_TEST_TMPDIR/t.json"
	run --separate-stderr json2ndjson --records .data --meta eof=.eof "$BATS_TEST_TMPDIR/t.json"
	assert_failure 1
	assert_output '{"a":1}'
	assert_equal "$stderr" "json2ndjson: $BATS_TEST_TMPDIR/t.json:3:10: unexpected end of input, expected a value"
	local doc
	for doc in '{"data":[{"a":"abc' '{"data":[{"a":tr' '{"data":[{"a":1' '{"data":[{"a":-' '{"data":[{"a"' '{"data":[{"a":"\u12' '{'; do
		run --separate-stderr j2n "$doc" --records .data
		assert_failure 1
		assert_output ""
		[[ "$stderr" == "json2ndjson: <stdin>:1:"*": unexpected end of input"* ]] || fail "$doc: $stderr"
	done
}

@test "json2ndjson: structural errors name what was expected" {
	run --separate-stderr j2n '{"a" 1}'
	assert_failure 1
	assert_equal "$stderr" "json2ndjson: <stdin>:1:6: unexpected '1', expected ':'"
	run --separate-stderr j2n '[1,]'
	assert_equal "$stderr" "json2ndjson: <stdin>:1:4: unexpected ']', expected a value"
	run --separate-stderr j2n '{"a":1,}'
	assert_equal "$stderr" "json2ndjson: <stdin>:1:8: unexpected '}', expected a string key"
	run --separate-stderr j2n '[1 2]'
	assert_equal "$stderr" "json2ndjson: <stdin>:1:4: unexpected '2', expected ',' or ']'"
	run --separate-stderr j2n '[nul]'
	assert_equal "$stderr" "json2ndjson: <stdin>:1:2: invalid literal (expected 'null')"
}

@test "json2ndjson: concatenated and newline-separated documents, one control line each" {
	run j2n $'{"data":[1],"h":"a"}{"data":[2,3],"h":"b"}\n\n{"data":[],"h":"c"}' --records .data --meta h=.h
	assert_success
	assert_output "$(printf '1\n\x1e{"h":"a","records":1}\n2\n3\n\x1e{"h":"b","records":2}\n\x1e{"h":"c","records":0}')"
	run j2n $'[1]\n[2]\n3\n"x"'
	assert_output "$(printf '1\n2\n3\n"x"')"
}

@test "json2ndjson: several files in turn, each with its own positions" {
	printf '[1]' > "$BATS_TEST_TMPDIR/a.json"
	printf '\n[2,' > "$BATS_TEST_TMPDIR/b.json"
	run --separate-stderr json2ndjson "$BATS_TEST_TMPDIR/a.json" "$BATS_TEST_TMPDIR/b.json"
	assert_failure 1
	assert_output "$(printf '1\n2')"
	assert_equal "$stderr" "json2ndjson: $BATS_TEST_TMPDIR/b.json:2:4: unexpected end of input, expected a value"
}

@test "json2ndjson: a byte order mark is skipped" {
	run j2n $'\xef\xbb\xbf{"data":[{"a":"b"}]}' --records .data
	assert_success
	assert_output '{"a":"b"}'
}

@test "json2ndjson: empty input is an error" {
	run --separate-stderr j2n $' \n ' --meta eof=.eof
	assert_failure 1
	assert_output ""
	assert_equal "$stderr" "json2ndjson: <stdin>:2:2: no JSON document in the input"
}

@test "json2ndjson: a missing input file is exit 74" {
	run --separate-stderr json2ndjson "$BATS_TEST_TMPDIR/nope.json"
	assert_failure 74
	assert_equal "$stderr" "json2ndjson: $BATS_TEST_TMPDIR/nope.json: No such file or directory"
}

@test "json2ndjson: meta values: any JSON value, compact, last one wins, quoted paths" {
	run j2n '{"a b":{"c":[10,{"d":"e\/f"}]},"n":1,"n":2, "arr" : [ 1 , 2 ]}' \
		--meta q='."a b".c[1].d' --meta r='.["a b"].c[0]' --meta n=.n --meta arr=.arr --records .none
	assert_success
	assert_output "${RS}{\"q\":\"e/f\",\"r\":10,\"n\":2,\"arr\":[1,2],\"records\":0}"
}

@test "json2ndjson: a meta path can point into the records" {
	run j2n '{"data":[{"id":"x"},{"id":"y"}]}' --records .data --meta last=.data[1].id
	assert_success
	assert_output "$(printf '{"id":"x"}\n{"id":"y"}\n\x1e{"last":"y","records":2}')"
}

@test "json2ndjson: --fault: an error object goes to stderr and the control line, exit 3" {
	run --separate-stderr j2n '{"error":{"code":404,"message":"handle not found"},"data":[]}' \
		--records .data --fault .error --meta handle=.handle
	assert_failure 3
	assert_output "${RS}{\"fault\":{\"code\":404,\"string\":\"handle not found\",\"name\":\"404\",\"detail\":{\"code\":404,\"message\":\"handle not found\"}},\"records\":0}"
	assert_equal "$stderr" 'json2ndjson: <stdin>: fault: {"code":404,"message":"handle not found"}'
}

@test "json2ndjson: --fault: name member, string value, and no control line without a fault" {
	run --separate-stderr j2n '{"error":{"name":"expiredHandle","status":"E7"}}' --fault .error --records .data
	assert_failure 3
	assert_output "${RS}{\"fault\":{\"code\":\"E7\",\"string\":null,\"name\":\"expiredHandle\",\"detail\":{\"name\":\"expiredHandle\",\"status\":\"E7\"}},\"records\":0}"
	run --separate-stderr j2n '{"error":"Handle expired"}' --fault .error --records .data
	assert_failure 3
	assert_output "${RS}{\"fault\":{\"code\":null,\"string\":\"Handle expired\",\"name\":null,\"detail\":\"Handle expired\"},\"records\":0}"
	run --separate-stderr j2n '{"error":null,"data":[1]}' --fault .error --records .data
	assert_success
	assert_output "1"
	run j2n '{"errors":[],"data":[1]}' --fault .errors --records .data
	assert_success
	assert_output "1"
}

@test "json2ndjson: --fault stops at the fault document" {
	run --separate-stderr j2n '{"data":[1]}{"error":{"code":1}}{"data":[2]}' --fault .error --records .data
	assert_failure 3
	assert_output "$(printf '1\n\x1e{"fault":{"code":1,"string":null,"name":"1","detail":{"code":1}},"records":0}')"
}

@test "json2ndjson: depth bomb of 1 000 000 '[' is an error, not a crash" {
	run --separate-stderr bash -c "head -c 1000000 /dev/zero | tr '\\0' '[' | json2ndjson"
	assert_failure 1
	assert_output ""
	assert_equal "$stderr" "json2ndjson: <stdin>:1:1001: nesting deeper than 1000 levels (--max-depth)"
}

@test "json2ndjson: --max-depth sets the limit" {
	run j2n '[[[1]]]' --max-depth 3
	assert_success
	assert_output '[[1]]'
	run --separate-stderr j2n '[[[1]]]' --max-depth 2
	assert_failure 1
	assert_equal "$stderr" "json2ndjson: <stdin>:1:3: nesting deeper than 2 levels (--max-depth)"
}

@test "json2ndjson: --max-record-bytes bounds a record" {
	run --separate-stderr j2n '{"data":[{"a":"1234"},{"a":"123456789"}]}' --records .data --max-record-bytes 12
	assert_failure 1
	assert_output '{"a":"1234"}'
	assert_equal "$stderr" "json2ndjson: <stdin>:1:29: value longer than 12 bytes (--max-record-bytes)"
	run j2n '{"data":[{"a":"123456789"}]}' --records .data --max-record-bytes 1k
	assert_success
}

@test "json2ndjson: usage errors exit 2 with the usage on stderr" {
	local args
	for args in --bogus '--records data' '--records .a..b' '--records .a[x]' '--meta x' \
		'--meta =.a' '--meta records=.a' '--meta a=.x --meta a=.y' '--fault a' \
		'--max-depth 0' '--max-depth x' '--max-record-bytes -1' '--records .a[]x'; do
		run --separate-stderr json2ndjson $args /dev/null
		assert_failure 2
		assert_output ""
		[ -n "$stderr" ] || fail "$args: no message"
	done
}

@test "json2ndjson: --help mirrors the synopsis on stdout, --version" {
	run --separate-stderr json2ndjson --help
	assert_success
	assert_line --index 0 "usage: json2ndjson [-u] [--records PATH] [--meta NAME=PATH]... [--fault PATH]"
	assert_equal "$stderr" ""
	run json2ndjson --version
	assert_success
	assert_output "json2ndjson 0.1.0"
}

@test "json2ndjson: a full output device is exit 74" {
	run --separate-stderr bash -c "json2ndjson --records .data '$D/seed.json' > /dev/full"
	assert_failure 74
	assert_equal "$stderr" "json2ndjson: <stdout>: No space left on device"
}

@test "json2ndjson: | head -1 ends it quietly" {
	local f="$BATS_TEST_TMPDIR/many.json"
	{ printf '{"data":['; yes '{"a":1},' | head -n 100000; printf '{"a":2}]}'; } > "$f"
	run --separate-stderr bash -c "set -o pipefail; json2ndjson --records .data '$f' | head -n 1"
	assert_failure 141
	assert_output '{"a":1}'
	assert_equal "$stderr" ""
}

@test "json2ndjson: -u writes each record before the input ends" {
	local in="$BATS_TEST_TMPDIR/in" out="$BATS_TEST_TMPDIR/out" line
	mkfifo "$in" "$out"
	json2ndjson -u --records .data <"$in" >"$out" 2>/dev/null &
	local pid=$!
	exec 4>"$in"
	printf '{"data":[{"a":1},' >&4
	read -r -t 20 line <"$out" || true
	exec 4>&-
	wait "$pid" || true
	assert_equal "$line" '{"a":1}'
}

@test "json2ndjson: peak RSS stays under 8 MiB on a 30 MB document" {
	ldd "$(command -v json2ndjson)" | grep -q libasan && skip "a sanitizer build's RSS is not the filter's"
	local f="$BATS_TEST_TMPDIR/big.json"
	{ printf '{"handle":"h","data":[\n'
	  yes '  {"LastName": "Абишин", "FirstName": "Вячеслав", "BirthDate": {"year": 2014, "month": 5, "day": 10}, "Id": 12345678901234567890},' | head -n 250000
	  printf '  {"last": true}\n], "eof": true}\n'; } > "$f"
	run bash -c "json2ndjson --records .data --meta eof=.eof '$f' | tail -n 1"
	assert_output "${RS}{\"eof\":true,\"records\":250001}"
	local rss; rss=$(peak_rss_kib json2ndjson --records .data --meta eof=.eof "$f")
	[ "$rss" -lt 8192 ] || fail "peak RSS $rss KiB"
}

@test "json2ndjson: --help and the man page's SYNOPSIS list the same long options, each described in the page" {
	help_matches_man json2ndjson
}
