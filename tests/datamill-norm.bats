#!/usr/bin/env bats
# datamill-norm: XML- and JSON-born Data Mill rows come out the same; golden pairs,
# control lines untouched, errors, the shared conventions.
load helpers

bats_require_minimum_version 1.5.0

F=$BATS_TEST_DIRNAME/fixtures/datamill-norm

@test "datamill-norm: --help, --version, usage errors" {
	run -0 datamill-norm --help
	assert_output "usage: datamill-norm [-u] [--max-record-bytes N] [FILE ...]"
	run -0 datamill-norm --version
	assert_output "datamill-norm 0.1.0"
	run -2 datamill-norm --no-such-option
}

@test "datamill-norm: one packet as XML and as JSON gives the same bytes (golden)" {
	xml2ndjson --records /data/row "$F/packet.xml" | datamill-norm >"$BATS_TEST_TMPDIR/x"
	json2ndjson --records .data "$F/packet.json" | datamill-norm >"$BATS_TEST_TMPDIR/j"
	cmp "$BATS_TEST_TMPDIR/x" "$F/packet.expected.ndjson"
	cmp "$BATS_TEST_TMPDIR/j" "$F/packet.expected.ndjson"
}

@test "datamill-norm: odd values, and a control line passed through (golden)" {
	datamill-norm "$F/odd.ndjson" | cmp - "$F/odd.expected.ndjson"
	datamill-norm <"$F/odd.ndjson" | cmp - "$F/odd.expected.ndjson"
	datamill-norm - <"$F/odd.ndjson" | cmp - "$F/odd.expected.ndjson"
}

@test "datamill-norm: leap days, and days that do not exist" {
	run -0 datamill-norm <<'IN'
{"a":{"year":2000,"month":1,"day":29},"b":{"year":1900,"month":1,"day":29},"c":{"@type":"date","#text":"29.02.2024"},"d":{"@type":"date","#text":"29.02.2023"}}
IN
	assert_output '{"a":"2000-02-29","b":{"year":1900,"month":1,"day":29},"c":"2024-02-29","d":"29.02.2023"}'
}

@test "datamill-norm: a line that is not an object is an error with its position" {
	run -1 datamill-norm <<'IN'
{"a":1}
[1,2]
IN
	assert_line '{"a":"1"}'
	assert_line "datamill-norm: <stdin>:2:1: not a JSON object"
	run -1 datamill-norm <<<'{"a":1'
	assert_output "datamill-norm: <stdin>:1:7: unexpected end of line"
	run -74 datamill-norm /nonexistent
	assert_output "datamill-norm: /nonexistent: No such file or directory"
}

@test "datamill-norm: >/dev/full is exit 74; | head -1 ends quietly" {
	run -74 bash -c 'datamill-norm "$1" >/dev/full' _ "$F/odd.ndjson"
	assert_output "datamill-norm: <stdout>: No space left on device"
	yes "$(head -n 1 "$F/odd.ndjson")" | head -n 20000 >"$BATS_TEST_TMPDIR/many"
	run -0 bash -c 'set -o pipefail; datamill-norm "$1" | head -n 1 | wc -l; echo "${PIPESTATUS[0]}"' _ "$BATS_TEST_TMPDIR/many"
	assert_output $'1\n141'
}

@test "datamill-norm: every line is checked as JSON: bad escapes, bad literals, raw 0xFF are errors after the records before them" {
	run --separate-stderr -1 datamill-norm <<'IN'
{"a":1}
{"a":"x\qy","b":[1,nul]}
IN
	assert_output '{"a":"1"}'
	assert_equal "$stderr" 'datamill-norm: <stdin>:2:8: invalid escape in a string'
	run --separate-stderr -1 datamill-norm <<<'{"b":[1,nul]}'
	assert_equal "$stderr" 'datamill-norm: <stdin>:1:9: invalid value'
	run --separate-stderr -1 datamill-norm < <(printf '{"a":"1"}\n{"a":"\xff"}\n')
	assert_output '{"a":"1"}'
	assert_equal "$stderr" 'datamill-norm: <stdin>:2:7: invalid UTF-8'
	local bad
	for bad in '{"a":01}' '{"a":1.}' '{"a":.5}' '{"a":"\u12g4"}' $'{"a":"tab\there"}' '{"a":tru}' \
		'{"a":1}x' '{"a" 1}' '{a:1}' '{"a":[1,]}' '{"a":{"b":1,}}'; do
		run -1 datamill-norm <<<"$bad"
	done
	run -0 datamill-norm <<<'{"a":-1.5e+3,"b":"\u00e9\n\/","c":true,"d":[0,1E5,{"x":null}],"e":"é"}'
	assert_output '{"a":"-1.5e+3","b":"\u00e9\n\/","c":"true","d":[0,1E5,{"x":null}],"e":"é"}'
}

@test "datamill-norm: --max-record-bytes bounds a line" {
	run --separate-stderr -1 datamill-norm --max-record-bytes 1k < <(echo '{"a":1}'; printf '{"a":"%02000d"}\n' 0)
	assert_output '{"a":"1"}'
	assert_equal "$stderr" "datamill-norm: <stdin>:2: line longer than --max-record-bytes (1024)"
	run -2 datamill-norm --max-record-bytes 10
	assert_line --index 0 "datamill-norm: --max-record-bytes: not a number from 1024 to 2G: 10"
}

@test "datamill-norm: --help and the man page's SYNOPSIS list the same long options, each described in the page" {
	help_matches_man datamill-norm
}
