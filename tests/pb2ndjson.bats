#!/usr/bin/env bats
# pb2ndjson: golden Diadoc responses (records and control lines), an oracle test against
# python3-protobuf's json_format.MessageToDict on random messages of a test schema (every
# scalar type, presence, packed/unpacked, oneofs, maps, merged occurrences, unknown fields),
# malformed input with exact errors, limits, memory, and the common filter surface.
load helpers
bats_require_minimum_version 1.5.0

F="$FIX/pb"
P=Diadoc.Api.Proto.Docflow
EV=$P.GetDocflowEventsResponse
PK=$P.GetDocflowsByPacketIdResponse
RS=$'\x1e'
PY=/usr/bin/python3

setup_file() {
	protoc -I"$FIX/pb" --include_imports --descriptor_set_out="$BATS_FILE_TMPDIR/all.desc" \
		--python_out="$BATS_FILE_TMPDIR" alltypes.proto alltypes3.proto
}

# hexin HEX: the bytes written as HEX, on stdout.
hexin() {
	printf "$(printf '%s' "$1" | sed 's/../\\x&/g')"
}

# varint N: N as a protobuf varint, in hex.
varint() {
	local n=$1
	while [ "$n" -gt 127 ]; do
		printf '%02x' $(((n & 127) | 128))
		n=$((n >> 7))
	done
	printf '%02x' "$n"
}

# bad HEX ARGS…: pb2ndjson -d diadoc.desc ARGS… on those bytes; sets status, output, stderr.
bad() {
	local hex=$1; shift
	hexin "$hex" > "$BATS_TEST_TMPDIR/in.pb"
	run --separate-stderr pb2ndjson -d "$PAGEPULL_DESC" "$@" "$BATS_TEST_TMPDIR/in.pb"
}

# oracle KIND TYPE SEED N: random messages serialized by python; pb2ndjson's lines vs
# MessageToDict's, both through jq -cS.
oracle() {
	local t=$BATS_TEST_TMPDIR
	"$PY" "$F/oracle.py" "$BATS_FILE_TMPDIR" "$1" "$3" "$4" "$t/in.bin" "$t/want.json"
	pb2ndjson -d "$BATS_FILE_TMPDIR/all.desc" -t "$2" --delimited "$t/in.bin" > "$t/got.json"
	jq -cS . "$t/got.json" > "$t/got.s"
	jq -cS . "$t/want.json" > "$t/want.s"
	run diff "$t/want.s" "$t/got.s"
	assert_success
	assert_output ""
	run wc -l < "$t/got.json"
	assert_output "$4"
}

@test "pb2ndjson: --help prints the usage on stdout" {
	run --separate-stderr pb2ndjson --help
	assert_success
	assert_line --index 0 "usage: pb2ndjson -d DESCRIPTOR_SET -t MESSAGE_TYPE [-u] [--records FIELD]"
	assert_line --index 2 "                 [--json-names] [--unknown] [--max-record-bytes N] [--max-depth N] [FILE]"
	assert_equal "$stderr" ""
}

@test "pb2ndjson: --version" {
	run pb2ndjson --version
	assert_success
	assert_output "pb2ndjson 0.1.0"
}

@test "pb2ndjson: usage errors exit 2 with the usage on stderr" {
	run --separate-stderr pb2ndjson -t "$EV"
	assert_failure 2
	assert_output ""
	assert_equal "${stderr%%$'\n'*}" "pb2ndjson: -d DESCRIPTOR_SET and -t MESSAGE_TYPE are both required"
	assert_equal "$(sed -n 2p <<<"$stderr")" "usage: pb2ndjson -d DESCRIPTOR_SET -t MESSAGE_TYPE [-u] [--records FIELD]"
	run --separate-stderr pb2ndjson -d "$PAGEPULL_DESC" -t "$EV" a b
	assert_failure 2
	run --separate-stderr pb2ndjson -d "$PAGEPULL_DESC" -t "$EV" --bogus
	assert_failure 2
	assert_equal "${stderr%%$'\n'*}" "pb2ndjson: unrecognized option '--bogus'"
}

@test "pb2ndjson: bad schema arguments exit 2 with one line" {
	run --separate-stderr pb2ndjson -d /nonexistent.desc -t "$EV"
	assert_failure 2
	assert_equal "$stderr" "pb2ndjson: /nonexistent.desc: No such file or directory"
	run --separate-stderr pb2ndjson -d "$F/alltypes.proto" -t "$EV"
	assert_failure 2
	assert_equal "$stderr" "pb2ndjson: $F/alltypes.proto: not a FileDescriptorSet (protoc --descriptor_set_out)"
	run --separate-stderr pb2ndjson -d "$PAGEPULL_DESC" -t $P.Nope
	assert_failure 2
	assert_equal "$stderr" "pb2ndjson: $PAGEPULL_DESC: no message type $P.Nope"
	run --separate-stderr pb2ndjson -d "$PAGEPULL_DESC" -t "$EV" --records TotalCount
	assert_failure 2
	assert_equal "$stderr" "pb2ndjson: --records: TotalCount is not a repeated message field"
	run --separate-stderr pb2ndjson -d "$PAGEPULL_DESC" -t "$EV" --records Nope
	assert_failure 2
	assert_equal "$stderr" "pb2ndjson: --records: $EV has no field Nope"
	run --separate-stderr pb2ndjson -d "$PAGEPULL_DESC" -t "$EV" --meta n=Events
	assert_failure 2
	assert_equal "$stderr" "pb2ndjson: --meta: Events is not a singular scalar field"
	run --separate-stderr pb2ndjson -d "$PAGEPULL_DESC" -t "$EV" --meta TotalCount
	assert_failure 2
	assert_equal "$stderr" "pb2ndjson: --meta: expected NAME=FIELD, got 'TotalCount'"
	run --separate-stderr pb2ndjson -d "$PAGEPULL_DESC" -t "$EV" --meta records=TotalCount
	assert_failure 2
	assert_equal "$stderr" "pb2ndjson: --meta: the name 'records' is reserved"
	run --separate-stderr pb2ndjson -d "$PAGEPULL_DESC" -t "$EV" --max-depth 0
	assert_failure 2
	assert_equal "$stderr" "pb2ndjson: --max-depth: not a positive number: 0"
}

@test "pb2ndjson: a missing input file exits 74" {
	run --separate-stderr pb2ndjson -d "$PAGEPULL_DESC" -t "$EV" /nonexistent.pb
	assert_failure 74
	assert_equal "$stderr" "pb2ndjson: /nonexistent.pb: No such file or directory"
}

@test "pb2ndjson: Diadoc events golden: --records Events with --meta (file and stdin)" {
	run --separate-stderr pb2ndjson -d "$PAGEPULL_DESC" -t "$EV" --records Events \
		--meta TotalCount=TotalCount --meta TotalCountType=TotalCountType "$F/events.pb"
	assert_success
	assert_output "$(cat "$F/events.ndjson")"
	assert_line --index 3 "${RS}{\"TotalCount\":3,\"TotalCountType\":\"GreaterThanOrEqual\",\"records\":3}"
	assert_equal "$stderr" ""
	run pb2ndjson -d "$PAGEPULL_DESC" -t ".$EV" --records Events \
		--meta TotalCount=TotalCount --meta TotalCountType=TotalCountType - < "$F/events.pb"
	assert_success
	assert_output "$(cat "$F/events.ndjson")"
}

@test "pb2ndjson: Diadoc DocumentType: each published number decodes to its published name" {
	# encoded by protoc from a hand-written schema that knows no names (fixtures/pb/doctypes.*)
	protoc -I"$F" --encode=fixture.Response doctypes.proto < "$F/doctypes.txtpb" > "$BATS_TEST_TMPDIR/t.pb"
	run pb2ndjson -d "$PAGEPULL_DESC" -t "$EV" --records Events "$BATS_TEST_TMPDIR/t.pb"
	assert_success
	run jq -r .Document.DocumentInfo.DocumentType <<<"$output"
	assert_output "$(cat "$F/doctypes.names")"
}

@test "pb2ndjson: without --records the message is one line, the same records inside" {
	run pb2ndjson -d "$PAGEPULL_DESC" -t "$EV" "$F/events.pb"
	assert_success
	assert_equal "${#lines[@]}" 1
	run jq -c '.Events[]' <<< "$output"
	assert_output "$(head -n 3 "$F/events.ndjson")"
}

@test "pb2ndjson: Diadoc packet golden: NextPageIndexKey present, absent (omitted), empty page" {
	for f in packet packet-last packet-empty; do
		run pb2ndjson -d "$PAGEPULL_DESC" -t "$PK" --records Documents \
			--meta NextPageIndexKey=NextPageIndexKey "$F/$f.pb"
		assert_success
		assert_output "$(cat "$F/$f.ndjson")"
	done
	run tail -n 1 "$F/packet.ndjson"
	assert_output "${RS}{\"NextPageIndexKey\":\"8PHy8/T19vf4+fr7/P3+/w==\",\"records\":2}"
	run cat "$F/packet-last.ndjson"
	assert_line --index 1 "${RS}{\"records\":1}"
	run cat "$F/packet-empty.ndjson"
	assert_output "${RS}{\"NextPageIndexKey\":\"AAAAAAAAAAAAAAAAAAAAAA==\",\"records\":0}"
}

@test "pb2ndjson: meta of a whole message (no --records) counts one record" {
	run pb2ndjson -d "$PAGEPULL_DESC" -t "$PK" --meta k=NextPageIndexKey "$F/packet-empty.pb"
	assert_success
	assert_line --index 0 '{"NextPageIndexKey":"AAAAAAAAAAAAAAAAAAAAAA=="}'
	assert_line --index 1 "${RS}{\"k\":\"AAAAAAAAAAAAAAAAAAAAAA==\",\"records\":1}"
}

@test "pb2ndjson: request golden, field-number order, int64 string, bytes base64" {
	run pb2ndjson -d "$PAGEPULL_DESC" -t $P.GetDocflowEventsRequest "$F/events-request.pb"
	assert_success
	assert_output "$(cat "$F/events-request.json")"
	assert_output '{"Filter":{"FromTimestamp":{"Ticks":"638000000000000000"},"SortDirection":"Ascending"},"AfterIndexKey":"AAECAwQFBgcICQoLDA0ODw==","PopulateDocuments":true,"MessageTypes":["Letter","Draft"],"Limit":100}'
}

@test "pb2ndjson: --int64-numbers, --enum-numbers, --json-names" {
	run pb2ndjson -d "$PAGEPULL_DESC" -t $P.GetDocflowEventsRequest --int64-numbers \
		--enum-numbers "$F/events-request.pb"
	assert_success
	assert_output '{"Filter":{"FromTimestamp":{"Ticks":"638000000000000000"},"SortDirection":1},"AfterIndexKey":"AAECAwQFBgcICQoLDA0ODw==","PopulateDocuments":true,"MessageTypes":["Letter","Draft"],"Limit":100}'
	# f_int64 2^53 + 1 stays a string, f_uint64 5 is a number; field 80 snake_case_name,
	# 81 renamed (json_name customJson)
	hexin 1881808080808080102005c001018005018a050178 > "$BATS_TEST_TMPDIR/a.pb"
	run pb2ndjson -d "$BATS_FILE_TMPDIR/all.desc" -t pagepull.test.AllTypes --int64-numbers \
		--json-names "$BATS_TEST_TMPDIR/a.pb"
	assert_success
	assert_output '{"fInt64":"9007199254740993","fUint64":5,"req":1,"snakeCaseName":1,"customJson":"x"}'
	run pb2ndjson -d "$BATS_FILE_TMPDIR/all.desc" -t pagepull.test.AllTypes "$BATS_TEST_TMPDIR/a.pb"
	assert_output '{"f_int64":"9007199254740993","f_uint64":"5","req":1,"snake_case_name":1,"renamed":"x"}'
}

@test "pb2ndjson: unknown fields skipped, or shown with --unknown as \"#N\" arrays" {
	# req=1, then field 100 varint 300, field 101 LEN "hi", field 100 again, 102 fixed32, 103 fixed64
	hexin c00101a006ac02aa06026869a00601b50601000000b906ffffffffffffffff > "$BATS_TEST_TMPDIR/u.pb"
	run pb2ndjson -d "$BATS_FILE_TMPDIR/all.desc" -t pagepull.test.AllTypes "$BATS_TEST_TMPDIR/u.pb"
	assert_success
	assert_output '{"req":1}'
	run pb2ndjson -d "$BATS_FILE_TMPDIR/all.desc" -t pagepull.test.AllTypes --unknown "$BATS_TEST_TMPDIR/u.pb"
	assert_success
	assert_output '{"req":1,"#100":[300,1],"#101":["aGk="],"#102":[1],"#103":["18446744073709551615"]}'
}

@test "pb2ndjson: out of order, repeated and merged occurrences, oneof: the last member wins" {
	# req=5; f_msg {a:1}; f_int32=7; f_msg {s:"x"}; f_int32=9; o_int=3; o_str="z"; req=6
	hexin c001055a02080128075a031201782809b00403ba04017ac00106 > "$BATS_TEST_TMPDIR/m.pb"
	run pb2ndjson -d "$BATS_FILE_TMPDIR/all.desc" -t pagepull.test.AllTypes "$BATS_TEST_TMPDIR/m.pb"
	assert_success
	assert_output '{"f_int32":9,"f_msg":{"a":1,"s":"x"},"req":6,"o_str":"z"}'
}

@test "pb2ndjson: proto2 defaults: a set optional field equal to its default is printed" {
	# d_int32 (20) = 42, d_string (21) = "hi", d_bool (23) = true, req = 0
	hexin a0012aaa01026869b80101c00100 > "$BATS_TEST_TMPDIR/d.pb"
	run pb2ndjson -d "$BATS_FILE_TMPDIR/all.desc" -t pagepull.test.AllTypes "$BATS_TEST_TMPDIR/d.pb"
	assert_success
	assert_output '{"d_int32":42,"d_string":"hi","d_bool":true,"req":0}'
}

@test "pb2ndjson: floats print as Python's repr (shortest round trip; floats via ToShortestFloat)" {
	# f_double: 0.1, 1e16, 1e-05, 100.0, -0.0, NaN; f_float: 0.1f, subnormal 1e-45
	local d
	for d in 9a9999999999b93f 0080e03779c34143 f168e388b5f8e43e 0000000000005940 \
		0000000000000080 000000000000f87f; do
		hexin "c0010009$d" > "$BATS_TEST_TMPDIR/f.pb"
		pb2ndjson -d "$BATS_FILE_TMPDIR/all.desc" -t pagepull.test.AllTypes "$BATS_TEST_TMPDIR/f.pb"
	done > "$BATS_TEST_TMPDIR/out"
	for d in cdcccc3d 01000000; do
		hexin "c0010015$d" > "$BATS_TEST_TMPDIR/f.pb"
		pb2ndjson -d "$BATS_FILE_TMPDIR/all.desc" -t pagepull.test.AllTypes "$BATS_TEST_TMPDIR/f.pb"
	done >> "$BATS_TEST_TMPDIR/out"
	run cat "$BATS_TEST_TMPDIR/out"
	assert_output '{"f_double":0.1,"req":0}
{"f_double":1e+16,"req":0}
{"f_double":1e-05,"req":0}
{"f_double":100.0,"req":0}
{"f_double":-0.0,"req":0}
{"f_double":"NaN","req":0}
{"f_float":0.1,"req":0}
{"f_float":1.4013e-45,"req":0}'
}

@test "pb2ndjson: oracle, proto2 AllTypes: 300 random messages equal MessageToDict (jq -cS)" {
	oracle all pagepull.test.AllTypes 20260101 300
}

@test "pb2ndjson: oracle, AllTypes without maps: byte for byte equal to Python's compact JSON" {
	local t=$BATS_TEST_TMPDIR
	"$PY" "$F/oracle.py" "$BATS_FILE_TMPDIR" plain 4242 300 "$t/in.bin" "$t/want.json"
	run pb2ndjson -d "$BATS_FILE_TMPDIR/all.desc" -t pagepull.test.AllTypes --delimited "$t/in.bin"
	assert_success
	assert_output "$(cat "$t/want.json")"
}

@test "pb2ndjson: oracle, proto3 Msg3: implicit presence, open enums, packed by default" {
	oracle p3 pagepull.test3.Msg3 777 300
}

@test "pb2ndjson: --delimited: each message a document, with its own control line" {
	local f
	for f in packet packet-last; do
		hexin "$(varint "$(stat -c %s "$F/$f.pb")")"
		cat "$F/$f.pb"
	done > "$BATS_TEST_TMPDIR/d.pb"
	run pb2ndjson -d "$PAGEPULL_DESC" -t "$PK" --delimited --records Documents \
		--meta NextPageIndexKey=NextPageIndexKey "$BATS_TEST_TMPDIR/d.pb"
	assert_success
	assert_output "$(cat "$F/packet.ndjson" "$F/packet-last.ndjson")"
	run pb2ndjson -d "$PAGEPULL_DESC" -t "$PK" --delimited "$BATS_TEST_TMPDIR/d.pb"
	assert_success
	assert_equal "${#lines[@]}" 2
}

@test "pb2ndjson: an empty message is {}; empty input misses a required field" {
	run pb2ndjson -d "$PAGEPULL_DESC" -t $P.DocumentWithDocflow < /dev/null
	assert_success
	assert_output '{}'
	run --separate-stderr pb2ndjson -d "$PAGEPULL_DESC" -t "$EV" --records Events < /dev/null
	assert_failure 1
	assert_output ""
	assert_equal "$stderr" "pb2ndjson: <stdin>: offset 0: $EV: missing required field TotalCountType"
}

@test "pb2ndjson: malformed: length past end of message (whole and --records)" {
	bad 1805120a0a01 -t "$EV"
	assert_failure 1
	assert_equal "$stderr" "pb2ndjson: $BATS_TEST_TMPDIR/in.pb: offset 2: field Events (2): length 10 past end of message"
	bad 1805120a0a01 -t "$EV" --records Events
	assert_failure 1
	assert_equal "$stderr" "pb2ndjson: $BATS_TEST_TMPDIR/in.pb: offset 2: field Events (2): length 10 past end of message"
	# inside a record: Timestamp (2) claims 9 bytes of an event of 4
	bad 1805120412091234 -t "$EV" --records Events
	assert_failure 1
	assert_equal "$stderr" "pb2ndjson: $BATS_TEST_TMPDIR/in.pb: offset 4: field Timestamp (2): length 9 past end of message"
}

@test "pb2ndjson: malformed: truncated message, from a pipe too" {
	head -c 200 "$F/events.pb" > "$BATS_TEST_TMPDIR/t.pb"
	run --separate-stderr pb2ndjson -d "$PAGEPULL_DESC" -t "$EV" --records Events "$BATS_TEST_TMPDIR/t.pb"
	assert_failure 1
	assert_output ""
	assert_equal "$stderr" "pb2ndjson: $BATS_TEST_TMPDIR/t.pb: offset 4: field Events (2): length 328 past end of message"
	run --separate-stderr pb2ndjson -d "$PAGEPULL_DESC" -t "$EV" --records Events < "$BATS_TEST_TMPDIR/t.pb"
	assert_failure 1
	assert_equal "$stderr" "pb2ndjson: <stdin>: offset 4: field Events (2): length 328 past end of message"
	bad 08 -t "$EV"
	assert_failure 1
	assert_equal "$stderr" "pb2ndjson: $BATS_TEST_TMPDIR/in.pb: offset 0: field TotalCount (1): truncated message"
	bad 180112024d00 -t "$EV" --records Events
	assert_failure 1
	assert_equal "$stderr" "pb2ndjson: $BATS_TEST_TMPDIR/in.pb: offset 4: field 9: truncated message"
}

@test "pb2ndjson: malformed: over-long varint" {
	bad 08ffffffffffffffffffff01 -t "$EV"
	assert_failure 1
	assert_equal "$stderr" "pb2ndjson: $BATS_TEST_TMPDIR/in.pb: offset 0: field TotalCount (1): over-long varint"
	bad 1801ffffffffffffffffff7f -t "$EV" --records Events
	assert_failure 1
	assert_equal "$stderr" "pb2ndjson: $BATS_TEST_TMPDIR/in.pb: offset 2: over-long varint"
}

@test "pb2ndjson: malformed: wrong wire type for the field" {
	bad 0d00000000 -t "$EV"
	assert_failure 1
	assert_equal "$stderr" "pb2ndjson: $BATS_TEST_TMPDIR/in.pb: offset 0: field TotalCount (1): wire type I32 (5), expected VARINT (0)"
	bad 18011005 -t "$EV" --records Events
	assert_failure 1
	assert_equal "$stderr" "pb2ndjson: $BATS_TEST_TMPDIR/in.pb: offset 2: field Events (2): wire type VARINT (0), expected LEN (2)"
}

@test "pb2ndjson: malformed: groups, invalid wire types, field number 0" {
	bad 13 -t "$EV"
	assert_failure 1
	assert_equal "$stderr" "pb2ndjson: $BATS_TEST_TMPDIR/in.pb: offset 0: field 2: groups (wire type 3) are not supported"
	bad 18017c -t "$EV" --records Events
	assert_failure 1
	assert_equal "$stderr" "pb2ndjson: $BATS_TEST_TMPDIR/in.pb: offset 2: field 15: groups (wire type 4) are not supported"
	bad 0e -t "$EV"
	assert_failure 1
	assert_equal "$stderr" "pb2ndjson: $BATS_TEST_TMPDIR/in.pb: offset 0: field 1: invalid wire type 6"
	bad 1801120100 -t "$EV" --records Events
	assert_failure 1
	assert_equal "$stderr" "pb2ndjson: $BATS_TEST_TMPDIR/in.pb: offset 4: invalid field number 0"
}

@test "pb2ndjson: malformed: invalid UTF-8 in a string field" {
	bad 180112050a03c3a8ff -t "$EV" --records Events
	assert_failure 1
	assert_output ""
	assert_equal "$stderr" "pb2ndjson: $BATS_TEST_TMPDIR/in.pb: offset 4: field EventId (1): invalid UTF-8"
}

@test "pb2ndjson: malformed: a missing required field, nested" {
	# an event whose Timestamp has no Ticks
	bad 180112021200 -t "$EV" --records Events
	assert_failure 1
	assert_equal "$stderr" "pb2ndjson: $BATS_TEST_TMPDIR/in.pb: offset 6: Diadoc.Api.Proto.Timestamp: missing required field Ticks"
}

@test "pb2ndjson: malformed: nesting deeper than the limit" {
	# Inner.kids (field 3) nested 150 deep in AllTypes.f_msg
	"$PY" -c '
import sys
def v(n):
    b = bytearray()
    while n > 127: b.append(n & 127 | 128); n >>= 7
    b.append(n); return bytes(b)
m = b""
for _ in range(150): m = b"\x1a" + v(len(m)) + m
sys.stdout.buffer.write(b"\xc0\x01\x00\x5a" + v(len(m)) + m)' > "$BATS_TEST_TMPDIR/deep.pb"
	run --separate-stderr pb2ndjson -d "$BATS_FILE_TMPDIR/all.desc" -t pagepull.test.AllTypes "$BATS_TEST_TMPDIR/deep.pb"
	assert_failure 1
	assert_equal "$stderr" "pb2ndjson: $BATS_TEST_TMPDIR/deep.pb: offset 292: nesting deeper than 100 levels"
	run --separate-stderr pb2ndjson -d "$PAGEPULL_DESC" -t "$EV" --records Events --max-depth 2 "$F/events.pb"
	assert_failure 1
	assert_equal "$stderr" "pb2ndjson: $F/events.pb: offset 195: nesting deeper than 2 levels"
}

@test "pb2ndjson: --delimited: truncated prefix and message past end of input" {
	bad 8001 -t "$PK" --delimited
	assert_failure 1
	assert_equal "$stderr" "pb2ndjson: $BATS_TEST_TMPDIR/in.pb: offset 0: message length 128 past end of input"
	bad 80 -t "$PK" --delimited
	assert_failure 1
	assert_equal "$stderr" "pb2ndjson: $BATS_TEST_TMPDIR/in.pb: offset 0: truncated message"
	bad 0012 -t "$PK" --delimited --records Documents
	assert_failure 1
	assert_equal "$stderr" "pb2ndjson: $BATS_TEST_TMPDIR/in.pb: offset 1: message length 18 past end of input"
}

@test "pb2ndjson: --max-record-bytes bounds a record before anything is read" {
	run --separate-stderr pb2ndjson -d "$PAGEPULL_DESC" -t "$EV" --records Events \
		--max-record-bytes 300 "$F/events.pb"
	assert_failure 1
	assert_output ""
	assert_equal "$stderr" "pb2ndjson: $F/events.pb: offset 4: field Events (2): length 328 over the limit of 300 bytes"
	run pb2ndjson -d "$PAGEPULL_DESC" -t "$EV" --records Events --max-record-bytes 1k "$F/events.pb"
	assert_success
}

@test "pb2ndjson: a huge declared length from a pipe allocates nothing up front" {
	# Events claims 2^62 bytes, with no --max-record-bytes limit: a file's size tells at once,
	# a pipe is read to its end (memory grows with the bytes that come, not with the claim)
	bad 18051280808080808080804001 -t "$EV" --records Events --max-record-bytes 0
	assert_failure 1
	assert_equal "$stderr" "pb2ndjson: $BATS_TEST_TMPDIR/in.pb: offset 2: field Events (2): length 4611686018427387904 past end of message"
	run --separate-stderr bash -c 'printf "\x18\x05\x12\x80\x80\x80\x80\x80\x80\x80\x80\x40\x01" |
		pb2ndjson -d "$1" -t "$2" --records Events --max-record-bytes 0' _ "$PAGEPULL_DESC" "$EV"
	assert_failure 1
	assert_equal "$stderr" "pb2ndjson: <stdin>: offset 2: field Events (2): length 4611686018427387904 past end of message"
}

@test "pb2ndjson: >/dev/full exits 74" {
	run --separate-stderr bash -c 'pb2ndjson -d "$1" -t "$2" --records Events "$3" > /dev/full' _ \
		"$PAGEPULL_DESC" "$EV" "$F/events.pb"
	assert_failure 74
	assert_equal "$stderr" "pb2ndjson: <stdout>: No space left on device"
	run --separate-stderr bash -c 'pb2ndjson -u -d "$1" -t "$2" --records Events "$3" > /dev/full' _ \
		"$PAGEPULL_DESC" "$EV" "$F/events.pb"
	assert_failure 74
	assert_equal "$stderr" "pb2ndjson: <stdout>: No space left on device"
}

@test "pb2ndjson: -u gives the same lines" {
	run pb2ndjson -u -d "$PAGEPULL_DESC" -t "$EV" --records Events \
		--meta TotalCount=TotalCount --meta TotalCountType=TotalCountType "$F/events.pb"
	assert_success
	assert_output "$(cat "$F/events.ndjson")"
}

big_input() {
	# 100 000 copies of the first event of events.pb after its envelope: ~35 MB
	"$PY" - "$F/events.pb" "$1" <<'EOF'
import sys
d = open(sys.argv[1], "rb").read()
i = 4                          # 08 03 18 02: TotalCount, TotalCountType
assert d[:4] == b"\x08\x03\x18\x02" and d[i] == 0x12
n, s, j = 0, 0, i + 1
while True:
    n |= (d[j] & 127) << s; s += 7; j += 1
    if d[j - 1] < 128: break
open(sys.argv[2], "wb").write(d[:4] + d[i:j + n] * 100000)
EOF
}

@test "pb2ndjson: peak RSS under 8 MiB with --records on a 35 MB response" {
	big_input "$BATS_FILE_TMPDIR/big.pb"
	run peak_rss_kib pb2ndjson -d "$PAGEPULL_DESC" -t "$EV" --records Events "$BATS_FILE_TMPDIR/big.pb"
	assert_success
	[ "$output" -lt 8192 ] || fail "peak RSS $output KiB"
	run bash -c 'pb2ndjson -d "$1" -t "$2" --records Events --meta n=TotalCount "$3" | tail -n 1' _ \
		"$PAGEPULL_DESC" "$EV" "$BATS_FILE_TMPDIR/big.pb"
	assert_output "${RS}{\"n\":3,\"records\":100000}"
}

@test "pb2ndjson: | head -1 ends quietly" {
	[ -s "$BATS_FILE_TMPDIR/big.pb" ] || big_input "$BATS_FILE_TMPDIR/big.pb"
	run --separate-stderr bash -c 'pb2ndjson -d "$1" -t "$2" --records Events "$3" | head -n 1' _ \
		"$PAGEPULL_DESC" "$EV" "$BATS_FILE_TMPDIR/big.pb"
	assert_success
	assert_output "$(head -n 1 "$F/events.ndjson")"
	assert_equal "$stderr" ""
}

@test "pb2ndjson: --help and the man page's SYNOPSIS list the same long options, each described in the page" {
	help_matches_man pb2ndjson
}
