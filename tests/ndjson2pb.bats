#!/usr/bin/env bats
# ndjson2pb: byte-compatibility with python3-protobuf's serializer (a golden Diadoc request,
# random messages of every Diadoc type and of the test schemas), the round trip through
# pb2ndjson, both field-name styles, the value forms it accepts, every error with its exact
# message, and the common filter surface.
load helpers
bats_require_minimum_version 1.5.0

F="$FIX/pb"
P=Diadoc.Api.Proto.Docflow
RQ=$P.GetDocflowEventsRequest
PY=/usr/bin/python3
AT=pagepull.test.AllTypes

setup_file() {
	protoc -I"$FIX/pb" --include_imports --descriptor_set_out="$BATS_FILE_TMPDIR/all.desc" \
		--python_out="$BATS_FILE_TMPDIR" alltypes.proto alltypes3.proto
}

# n2p JSON ARGS…: ndjson2pb -d all.desc -t AllTypes ARGS… on one line of JSON; the bytes
# in hex on stdout.
n2p() {
	local j=$1; shift
	printf '%s\n' "$j" | ndjson2pb -d "$BATS_FILE_TMPDIR/all.desc" -t $AT "$@" | od -An -v -tx1 | tr -d ' \n'
}

# err JSON: sets status and stderr for ndjson2pb -t AllTypes on one line of JSON.
err() {
	run --separate-stderr bash -c 'printf "%s\n" "$1" | ndjson2pb -d "$2" -t "$3"' _ \
		"$1" "$BATS_FILE_TMPDIR/all.desc" $AT
}

@test "ndjson2pb: --help prints the usage on stdout" {
	run --separate-stderr ndjson2pb --help
	assert_success
	assert_output "usage: ndjson2pb -d DESCRIPTOR_SET -t MESSAGE_TYPE [-u] [--delimited] [FILE]
       ndjson2pb -d DESCRIPTOR_SET -t MESSAGE_TYPE [-u] [--variable spec]...
                 --expand-json json"
	assert_equal "$stderr" ""
}

@test "ndjson2pb: --version" {
	run ndjson2pb --version
	assert_success
	assert_output "ndjson2pb 0.1.0"
}

@test "ndjson2pb: usage errors exit 2" {
	run --separate-stderr ndjson2pb -d "$PAGEPULL_DESC"
	assert_failure 2
	assert_equal "$stderr" "ndjson2pb: -d DESCRIPTOR_SET and -t MESSAGE_TYPE are both required
usage: ndjson2pb -d DESCRIPTOR_SET -t MESSAGE_TYPE [-u] [--delimited] [FILE]
       ndjson2pb -d DESCRIPTOR_SET -t MESSAGE_TYPE [-u] [--variable spec]...
                 --expand-json json"
	run --separate-stderr ndjson2pb -d "$PAGEPULL_DESC" -t "$RQ" --records x
	assert_failure 2
	run --separate-stderr ndjson2pb -d "$PAGEPULL_DESC" -t Nope
	assert_failure 2
	assert_equal "$stderr" "ndjson2pb: $PAGEPULL_DESC: no message type Nope"
	run --separate-stderr ndjson2pb -d "$PAGEPULL_DESC" -t "$RQ" /nonexistent.json
	assert_failure 74
	assert_equal "$stderr" "ndjson2pb: /nonexistent.json: No such file or directory"
}

@test "ndjson2pb: Diadoc request golden: the bytes python3-protobuf serializes" {
	run bash -c 'ndjson2pb -d "$1" -t "$2" "$3" | cmp - "$4"' _ "$PAGEPULL_DESC" "$RQ" \
		"$F/events-request.json" "$F/events-request.pb"
	assert_success
	assert_output ""
	run bash -c 'ndjson2pb -d "$1" -t ".$2" < "$3" | cmp - "$4"' _ "$PAGEPULL_DESC" "$RQ" \
		"$F/events-request.json" "$F/events-request.pb"
	assert_success
}

@test "ndjson2pb: a pipeline's request: AfterIndexKey from the last record's IndexKey" {
	run bash -c 'jq -c "{Filter: {SortDirection: \"Ascending\"}, AfterIndexKey: .IndexKey, Limit: 100}" |
		ndjson2pb -d "$1" -t "$2" | pb2ndjson -d "$1" -t "$2"' _ "$PAGEPULL_DESC" "$RQ" \
		<<< '{"IndexKey":"bwNnWhYAo1oJmVDYNvZ1zA=="}'
	assert_success
	assert_output '{"Filter":{"SortDirection":"Ascending"},"AfterIndexKey":"bwNnWhYAo1oJmVDYNvZ1zA==","Limit":100}'
}

@test "ndjson2pb: round trip through pb2ndjson is the identity for every Diadoc message (V2, V5 and all they reach)" {
	local d="$BATS_TEST_TMPDIR" t n=0
	# build/py is a test prerequisite (make check builds it, not make all)
	[ -e "$ROOT/build/py/.stamp" ] || make -s -C "$ROOT" build/py/.stamp >&2
	"$PY" "$F/diadoc-random.py" "$ROOT/build/py" "$d" 31337 40 > "$d/types"
	while read -r t; do
		ndjson2pb -d "$PAGEPULL_DESC" -t "$t" --delimited "$d/$t.json" > "$d/$t.got"
		cmp "$d/$t.got" "$d/$t.bin" || fail "$t: bytes differ from python3-protobuf's"
		pb2ndjson -d "$PAGEPULL_DESC" -t "$t" --delimited "$d/$t.got" > "$d/$t.back"
		cmp "$d/$t.back" "$d/$t.json" || fail "$t: the round trip changed the JSON"
		n=$((n + 1))
	done < "$d/types"
	assert_equal "$n" 124
}

@test "ndjson2pb: oracle: python3-protobuf's bytes for 300 random AllTypes and Msg3" {
	local d="$BATS_TEST_TMPDIR"
	"$PY" "$F/oracle.py" "$BATS_FILE_TMPDIR" plain 99 300 "$d/p.bin" "$d/p.json" "$d/p.canon"
	run bash -c 'ndjson2pb -d "$1" -t "$2" --delimited "$3" | cmp - "$4"' _ \
		"$BATS_FILE_TMPDIR/all.desc" $AT "$d/p.json" "$d/p.canon"
	assert_success
	"$PY" "$F/oracle.py" "$BATS_FILE_TMPDIR" p3 99 300 "$d/3.bin" "$d/3.json" "$d/3.canon"
	run bash -c 'ndjson2pb -d "$1" -t "$2" --delimited "$3" | cmp - "$4"' _ \
		"$BATS_FILE_TMPDIR/all.desc" pagepull.test3.Msg3 "$d/3.json" "$d/3.canon"
	assert_success
}

@test "ndjson2pb: both field-name styles give the same bytes" {
	run n2p '{"req":1,"snake_case_name":5,"renamed":"x"}'
	assert_output c001018005058a050178
	run n2p '{"req":1,"snakeCaseName":5,"customJson":"x"}'
	assert_output c001018005058a050178
}

@test "ndjson2pb: 64-bit integers as strings or exact numbers; enums by name or number" {
	run n2p '{"req":"-1","f_int64":"-9223372036854775808","f_uint64":9007199254740991,"f_enum":"NEGATIVE"}'
	assert_output 188080808080808080800120ffffffffffffff0f70ffffffffffffffffff01c001ffffffffffffffffff01
	run n2p '{"req":-1,"f_int64":"-9223372036854775808","f_uint64":"9007199254740991","f_enum":-1}'
	assert_output 188080808080808080800120ffffffffffffff0f70ffffffffffffffffff01c001ffffffffffffffffff01
	run n2p '{"req":1.0,"f_sint32":-2,"f_sint64":"-3","f_fixed32":"4294967295","f_sfixed64":"-1"}'
	assert_output 3dffffffff8101ffffffffffffffff880103900105c00101
}

@test "ndjson2pb: bytes in standard or URL-safe base64, padded or not; floats and their names" {
	run n2p '{"req":0,"f_bytes":"_-8"}'
	assert_output 6202ffefc00100
	run n2p '{"req":0,"f_bytes":"/+8="}'
	assert_output 6202ffefc00100
	run n2p '{"req":0,"f_double":"-Infinity","f_float":"NaN","r_float":[0.1,"1e-45"]}'
	assert_output 09000000000000f0ff150000c07fc001008502cdcccc3d850201000000
	run n2p '{"req":0,"r_float":[0.1,"1e-45"],"p_float":[]}'
	assert_output c001008502cdcccc3d850201000000
}

@test "ndjson2pb: null means not set; \\u0000 inside a string survives; maps" {
	run n2p '{"req":0,"f_string":null,"f_msg":null}'
	assert_output c00100
	run n2p '{"req":0,"f_string":"a\u0000b"}'
	assert_output 4a03610062c00100
	run n2p '{"req":0,"maps":{"bool_str":{"true":"t"},"i64_msg":{"-5":{}}}}'
	assert_output c001009a0616120d08fbffffffffffffffff0112001a050801120174
	run n2p '{"req":0,"maps":{"bool_str":{"true":"t"}}}'
	assert_output c001009a06071a050801120174
}

@test "ndjson2pb: errors: unknown field, wrong types, out of range (exit 1, FILE:LINE: field PATH)" {
	err '{"req":1,"f_msg":{"kids":[{"a":1},{"zz":1}]}}'
	assert_failure 1
	assert_equal "$stderr" "ndjson2pb: <stdin>:1: field f_msg.kids[1].zz: no such field in pagepull.test.Inner"
	err '{"req":1,"f_string":5}'
	assert_equal "$stderr" "ndjson2pb: <stdin>:1: field f_string: expected a string, got a number"
	err '{"req":1,"f_bool":1}'
	assert_equal "$stderr" "ndjson2pb: <stdin>:1: field f_bool: expected true or false, got a number"
	err '{"req":1,"r_int32":5}'
	assert_equal "$stderr" "ndjson2pb: <stdin>:1: field r_int32: expected an array, got a number"
	err '{"req":1,"r_int32":[1,null]}'
	assert_equal "$stderr" "ndjson2pb: <stdin>:1: field r_int32[1]: null in a repeated field"
	err '{"req":1,"f_msg":[]}'
	assert_equal "$stderr" "ndjson2pb: <stdin>:1: field f_msg: expected an object, got an array"
	err '{"req":1,"f_int32":2147483648}'
	assert_equal "$stderr" "ndjson2pb: <stdin>:1: field f_int32: 2147483648 is out of range"
	err '{"req":1,"f_uint32":-1}'
	assert_equal "$stderr" "ndjson2pb: <stdin>:1: field f_uint32: -1 is out of range"
	err '{"req":1,"f_uint64":"18446744073709551616"}'
	assert_equal "$stderr" "ndjson2pb: <stdin>:1: field f_uint64: 18446744073709551616 is out of range"
	err '{"req":1,"f_int64":9007199254740993}'
	assert_equal "$stderr" "ndjson2pb: <stdin>:1: field f_int64: a number of 2^53 or more is not exact in JSON: give 64-bit values as strings"
	err '{"req":1,"f_int32":1.5}'
	assert_equal "$stderr" "ndjson2pb: <stdin>:1: field f_int32: 1.5 is not an integer"
	err '{"req":1,"f_int32":"0x10"}'
	assert_equal "$stderr" 'ndjson2pb: <stdin>:1: field f_int32: "0x10" is not an integer'
	err '{"req":1,"f_float":1e39}'
	assert_equal "$stderr" "ndjson2pb: <stdin>:1: field f_float: 1e+39 is out of range for a float"
	err '{"req":1,"f_double":"lots"}'
	assert_equal "$stderr" 'ndjson2pb: <stdin>:1: field f_double: "lots" is not a number'
}

@test "ndjson2pb: errors: enums, base64, maps, oneofs, duplicates" {
	err '{"req":1,"f_enum":"PURPLE"}'
	assert_failure 1
	assert_equal "$stderr" 'ndjson2pb: <stdin>:1: field f_enum: "PURPLE" is not a value of pagepull.test.Color'
	err '{"req":1,"f_enum":5}'
	assert_equal "$stderr" "ndjson2pb: <stdin>:1: field f_enum: 5 is not a value of pagepull.test.Color"
	err '{"req":1,"f_bytes":"a b"}'
	assert_equal "$stderr" 'ndjson2pb: <stdin>:1: field f_bytes: not base64: "a b"'
	err '{"req":1,"maps":{"bool_str":{"yes":"t"}}}'
	assert_equal "$stderr" "ndjson2pb: <stdin>:1: field maps.bool_str.yes: map key is not true or false"
	err '{"req":1,"o_int":1,"o_str":"x"}'
	assert_equal "$stderr" "ndjson2pb: <stdin>:1: field o_str: o_int is set too, and both belong to one oneof"
	err '{"req":1,"snake_case_name":1,"snakeCaseName":2}'
	assert_equal "$stderr" "ndjson2pb: <stdin>:1: field snakeCaseName: given twice"
}

@test "ndjson2pb: errors: missing required fields, nested too" {
	run --separate-stderr ndjson2pb -d "$PAGEPULL_DESC" -t "$RQ" <<< '{"Limit":5}'
	assert_failure 1
	assert_output ""
	assert_equal "$stderr" "ndjson2pb: <stdin>:1: field Filter: required field missing"
	run --separate-stderr ndjson2pb -d "$PAGEPULL_DESC" -t "$RQ" <<< '{"Filter":{"FromTimestamp":{}}}'
	assert_failure 1
	assert_equal "$stderr" "ndjson2pb: <stdin>:1: field Filter.FromTimestamp.Ticks: required field missing"
	err '{"req":null}'
	assert_equal "$stderr" "ndjson2pb: <stdin>:1: field req: required field missing"
}

@test "ndjson2pb: errors: invalid JSON (with its column), not an object, invalid UTF-8" {
	printf '{"Filter":{}}\n\n{"Filter":{},}\n' > "$BATS_TEST_TMPDIR/in.json"
	run --separate-stderr ndjson2pb -d "$PAGEPULL_DESC" -t "$RQ" --delimited "$BATS_TEST_TMPDIR/in.json"
	assert_failure 1
	assert_equal "$stderr" "ndjson2pb: $BATS_TEST_TMPDIR/in.json:3:14: invalid JSON"
	err '{"req":1} x'
	assert_equal "$stderr" "ndjson2pb: <stdin>:1:11: invalid JSON"
	err '"str"'
	assert_equal "$stderr" "ndjson2pb: <stdin>:1: expected an object, got a string"
	err $'{"req":1,"f_string":"\xff"}'
	assert_equal "$stderr" "ndjson2pb: <stdin>:1: invalid UTF-8"
}

@test "ndjson2pb: one message unless --delimited; blank and control lines are skipped" {
	printf '{"Filter":{}}\n{"Filter":{}}\n' > "$BATS_TEST_TMPDIR/two.json"
	run --separate-stderr ndjson2pb -d "$PAGEPULL_DESC" -t "$RQ" "$BATS_TEST_TMPDIR/two.json"
	assert_failure 1
	assert_output ""
	assert_equal "$stderr" "ndjson2pb: $BATS_TEST_TMPDIR/two.json:2: a second message (line 1 was the first): use --delimited"
	printf '\n{"Filter":{}}\n\x1e{"records":1}\n  \n{"Limit":1,"Filter":{}}\n' > "$BATS_TEST_TMPDIR/d.json"
	run bash -c 'ndjson2pb -d "$1" -t "$2" --delimited "$3" | od -An -v -tx1 | tr -d " \n"' _ "$PAGEPULL_DESC" "$RQ" \
		"$BATS_TEST_TMPDIR/d.json"
	assert_success
	assert_output 020a00040a005801
	run bash -c 'printf "\n\n" | ndjson2pb -d "$1" -t "$2" | wc -c' _ "$PAGEPULL_DESC" "$RQ"
	assert_success
	assert_output 0
}

@test "ndjson2pb: >/dev/full exits 74" {
	run --separate-stderr bash -c 'ndjson2pb -d "$1" -t "$2" "$3" > /dev/full' _ \
		"$PAGEPULL_DESC" "$RQ" "$F/events-request.json"
	assert_failure 74
	assert_equal "$stderr" "ndjson2pb: <stdout>: No space left on device"
}

@test "ndjson2pb: | head -c 1 ends quietly" {
	run --separate-stderr bash -c 'yes "$(cat "$3")" | head -n 50000 |
		ndjson2pb -d "$1" -t "$2" --delimited | head -c 1 | od -An -tx1 | tr -d " "' _ \
		"$PAGEPULL_DESC" "$RQ" "$F/events-request.json"
	assert_success
	assert_output 34
	assert_equal "$stderr" ""
}

@test "ndjson2pb: --expand-json puts PAGE_TOKEN into the message without a shell; empty leaves the field unset" {
	cd "$BATS_TEST_TMPDIR"
	D=$PAGEPULL_DESC
	printf '%s\n' '{"Filter":{"SortDirection":"Ascending"},"AfterIndexKey":"YWJj"}' | ndjson2pb -d "$D" -t "$RQ" >want
	PAGE_TOKEN=YWJj ndjson2pb -d "$D" -t "$RQ" --variable %PAGE_TOKEN= \
		--expand-json '{"Filter":{"SortDirection":"Ascending"},"AfterIndexKey":{{PAGE_TOKEN:jsonval}}}' </dev/null >got
	cmp want got
	printf '%s\n' '{"Filter":{"SortDirection":"Ascending"}}' | ndjson2pb -d "$D" -t "$RQ" >want
	PAGE_TOKEN= ndjson2pb -d "$D" -t "$RQ" --variable %PAGE_TOKEN= \
		--expand-json '{"Filter":{"SortDirection":"Ascending"},"AfterIndexKey":{{PAGE_TOKEN:jsonval}}}' >got
	cmp want got
	# a token with quotes or backslashes stays one JSON string
	run -1 env PAGE_TOKEN='a"b\c' ndjson2pb -d "$D" -t "$RQ" --variable %PAGE_TOKEN \
		--expand-json '{"Filter":{"SortDirection":"Ascending"},"AfterIndexKey":{{PAGE_TOKEN:jsonval}}}'
	assert_output 'ndjson2pb: --expand-json:1: field AfterIndexKey: not base64: "a"b\c"'
	run -2 ndjson2pb -d "$D" -t "$RQ" --expand-json '{}' file
	assert_line --index 0 'ndjson2pb: --expand-json: not with an input file or --delimited'
	run -2 ndjson2pb -d "$D" -t "$RQ" --expand-json '{{X:nope}}'
	assert_line --index 0 'ndjson2pb: --expand-json: unknown function (trim, json, jsonval, url, b64, 64dec)'
	run -2 ndjson2pb -d "$D" -t "$RQ" --variable %NO_SUCH_VARIABLE_HERE --expand-json '{}'
	assert_line --index 0 --partial 'ndjson2pb: --variable: NO_SUCH_VARIABLE_HERE: '
}

@test "ndjson2pb: --help and the man page's SYNOPSIS list the same long options, each described in the page" {
	help_matches_man ndjson2pb
}
