#!/usr/bin/env bats
# hostile: inputs built to hurt — entity expansion (billion laughs, quadratic blowup), external
# entities naming a local file, 1 000 000-deep nesting, a 1 GB text node, invalid UTF-8
# everywhere, protobuf length bombs, oversized control lines. Each must end in a clear
# one-line error with its documented exit status (or in correct output), with peak RSS
# under an asserted bound. Big inputs are generated on the fly into a pipe, never stored.
load helpers
bats_require_minimum_version 1.5.0

DESC="$PAGEPULL_DESC"
EV=Diadoc.Api.Proto.Docflow.GetDocflowEventsResponse
REQ=Diadoc.Api.Proto.Docflow.GetDocflowEventsRequest

# hurt 'GENERATOR' CMD ARGS…: runs CMD with the generator's output (bash) on stdin; sets
# status, rss (peak KiB of CMD alone), out (stdout file), err (stderr text).
hurt() {
	local gen=$1; shift
	out="$BATS_TEST_TMPDIR/out"
	local st
	{
		bash -c "$gen" | /usr/bin/time -f '%M' -o "$BATS_TEST_TMPDIR/rss" "$@" \
			>"$out" 2>"$BATS_TEST_TMPDIR/err"
		st=${PIPESTATUS[1]}
	} || :
	status=$st
	rss=$(tail -n 1 "$BATS_TEST_TMPDIR/rss")
	err=$(cat "$BATS_TEST_TMPDIR/err")
	printf '# %s: exit %s, peak RSS %s KiB\n#   %s\n' "$1" "$status" "$rss" "${err//$'\n'/ | }" >&3
}

# the generators
LAUGHS='printf "<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n<!ENTITY l0 \"lol\">\n"
	for i in $(seq 1 9); do printf "<!ENTITY l$i \""; for j in $(seq 10); do printf "&l$((i-1));"; done; printf "\">\n"; done
	printf "]>\n<lolz><row>&l9;</row></lolz>\n"'
QUADRATIC='printf "<!DOCTYPE r [<!ENTITY a \""; head -c 50000 /dev/zero | tr "\0" x; printf "\">]><r><row>"
	yes "&a;" | head -n 50000 | tr -d "\n"; printf "</row></r>"'
DEEP_XML='yes "<a>" | head -n 1000000 | tr -d "\n"'
DEEP_JSON='head -c 1000000 /dev/zero | tr "\0" "["'
GB_XML='printf "<r><row><t>"; head -c 1G /dev/zero | tr "\0" a; printf "</t></row></r>"'
GB_JSON='printf "{\"data\":[{\"t\":\""; head -c 1G /dev/zero | tr "\0" a; printf "\"}]}"'
LONG_NAME='printf "<r><row><"; head -c 200M /dev/zero | tr "\0" n; printf "/></row></r>"'

@test "hostile: xml2ndjson: billion laughs is refused by the amplification limit" {
	hurt "$LAUGHS" xml2ndjson --records //row
	[ "$status" -eq 1 ]
	[ "$err" = "xml2ndjson: <stdin>:14:12: limit on input amplification factor (from DTD and entities) breached" ]
	[ ! -s "$out" ]
	[ "$rss" -lt 16384 ]
}

@test "hostile: xml2ndjson: quadratic blowup (50 KB entity x 50 000) is refused" {
	hurt "$QUADRATIC" xml2ndjson --records //row
	[ "$status" -eq 1 ]
	[[ "$err" =~ ^"xml2ndjson: <stdin>:1:"[0-9]+": limit on input amplification factor (from DTD and entities) breached"$ ]]
	[ ! -s "$out" ]
	[ "$rss" -lt 32768 ]
}

@test "hostile: xml2ndjson: external entities and DTDs naming a local file are never opened" {
	local secret="$BATS_TEST_TMPDIR/secret.txt" doc
	echo "HOSTILE-SECRET-$$" >"$secret"
	for doc in "<!DOCTYPE r [<!ENTITY x SYSTEM \"file://$secret\">]><r><row>&x;</row></r>" \
		"<!DOCTYPE r [<!ENTITY x SYSTEM \"$secret\">]><r><row>&x;</row></r>" \
		"<!DOCTYPE r SYSTEM \"file://$secret\"><r><row>1</row></r>" \
		"<!DOCTYPE r [<!ENTITY % p SYSTEM \"file://$secret\"> %p;]><r><row>1</row></r>"; do
		printf '%s' "$doc" >"$BATS_TEST_TMPDIR/doc.xml"
		run --separate-stderr strace -f -qq -e trace=open,openat,openat2 -o "$BATS_TEST_TMPDIR/trace" \
			xml2ndjson --records //row "$BATS_TEST_TMPDIR/doc.xml"
		echo "# $doc → exit $status: $output | $stderr" >&3
		! grep -q secret.txt "$BATS_TEST_TMPDIR/trace"	# the file was never opened
		grep -q doc.xml "$BATS_TEST_TMPDIR/trace"	# (and the trace did see the opens)
		[[ "$output" != *HOSTILE-SECRET* && "$stderr" != *HOSTILE-SECRET* ]]
		# an entity that cannot be resolved is an error; an unread DTD is not
		case $doc in
		*"&x;"*) [ "$status" -eq 1 ] ;;
		*) [ "$status" -eq 0 ] && [ "$output" = '{"#text":"1"}' ] ;;
		esac
	done
}

@test "hostile: xml2ndjson: 1 000 000-deep nesting stops at --max-depth" {
	hurt "$DEEP_XML" xml2ndjson
	[ "$status" -eq 1 ]
	[ "$err" = "xml2ndjson: <stdin>:1:769: nesting deeper than --max-depth (256)" ]
	[ "$rss" -lt 16384 ]
}

@test "hostile: xml2ndjson: a 1 GB text node from a pipe hits the record limit, not the RAM" {
	hurt "$GB_XML" xml2ndjson --records //row
	[ "$status" -eq 1 ]
	[[ "$err" =~ ^"xml2ndjson: <stdin>:1:"[0-9]+": record larger than --max-record-bytes (67108864)"$ ]]
	[ "$rss" -lt 102400 ]
	hurt "$GB_XML" xml2ndjson --records //row --max-record-bytes 1M
	[ "$status" -eq 1 ]
	[[ "$err" =~ ^"xml2ndjson: <stdin>:1:"[0-9]+": record larger than --max-record-bytes (1048576)"$ ]]
	[ "$rss" -lt 16384 ]
}

@test "hostile: xml2ndjson: a 200 MB element name is refused at the record limit" {
	hurt "$LONG_NAME" xml2ndjson --records //row
	[ "$status" -eq 1 ]
	[[ "$err" =~ ^"xml2ndjson: <stdin>:1:"[0-9]+": token larger than --max-record-bytes"$ ]]
	[ "$rss" -lt 204800 ]
}

@test "hostile: xml2ndjson: invalid UTF-8 in text and attributes becomes U+FFFD, output stays UTF-8" {
	hurt "printf '<?xml version=\"1.0\" encoding=\"UTF-8\"?><r a=\"\\xff\"><row b=\"\\xfe\">t\\xc3\\x28<x>1\\xf8</x><y>\\xed\\xa0\\x80</y></row></r>'" \
		xml2ndjson --records //row
	[ "$status" -eq 0 ]
	[ "$(cat "$out")" = '{"@b":"�","x":"1�","y":"���","#text":"t�("}' ]
	[ "$err" = "xml2ndjson: warning: invalid UTF-8 replaced by U+FFFD" ]
	iconv -f UTF-8 -t UTF-8 "$out" >/dev/null
}

@test "hostile: xml2ndjson: invalid UTF-8 in an element name is a clear error" {
	hurt "printf '<r><row><x\\xff>1</x\\xff></row></r>'" xml2ndjson --records //row
	[ "$status" -eq 1 ]
	[ "$err" = $'xml2ndjson: warning: invalid UTF-8 replaced by U+FFFD\nxml2ndjson: <stdin>:1:11: not well-formed (invalid token)' ]
	[ ! -s "$out" ]
}

@test "hostile: json2ndjson: 1 000 000-deep nesting stops at --max-depth" {
	hurt "$DEEP_JSON" json2ndjson
	[ "$status" -eq 1 ]
	[ "$err" = "json2ndjson: <stdin>:1:1001: nesting deeper than 1000 levels (--max-depth)" ]
	[ "$rss" -lt 16384 ]
	# even when the limit is raised to the maximum, memory is one small struct a level
	hurt "$DEEP_JSON" json2ndjson --max-depth 1000000
	[ "$status" -eq 1 ]
	[ "$err" = "json2ndjson: <stdin>:1:1000001: unexpected end of input, expected a value" ]
	[ "$rss" -lt 65536 ]
}

@test "hostile: json2ndjson: a 1 GB string from a pipe hits the record limit, not the RAM" {
	hurt "$GB_JSON" json2ndjson --records .data
	[ "$status" -eq 1 ]
	[[ "$err" =~ ^"json2ndjson: <stdin>:1:"[0-9]+": value longer than 67108864 bytes (--max-record-bytes)"$ ]]
	[ "$rss" -lt 102400 ]
	# skipped (not a record), the same string costs nothing
	hurt "$GB_JSON" json2ndjson --records .nothing
	[ "$status" -eq 0 ]
	[ ! -s "$out" ]
	[ "$rss" -lt 16384 ]
}

@test "hostile: json2ndjson: invalid UTF-8 in keys and values becomes U+FFFD; outside strings it is an error" {
	hurt "printf '{\"data\":[{\"k\\xff\":\"v\\xc0\\x80\",\"n\":\"\\xed\\xa0\\x80\"}],\"x\\xfe\":1}'" json2ndjson --records .data
	[ "$status" -eq 0 ]
	[ "$(cat "$out")" = '{"k�":"v��","n":"���"}' ]
	[ "$err" = "json2ndjson: <stdin>:1:13: warning: invalid UTF-8 replaced by U+FFFD (reported once)" ]
	iconv -f UTF-8 -t UTF-8 "$out" >/dev/null
	hurt "printf '{\"data\":[1]}\\xff'" json2ndjson --records .data
	[ "$status" -eq 1 ]
	[ "$(cat "$out")" = 1 ]
	[ "$err" = "json2ndjson: <stdin>:1:13: unexpected byte 0xff, expected a value" ]
}

@test "hostile: pb2ndjson: length bombs are refused before any allocation, in every mode" {
	local bomb="printf '\\x18\\x01\\x12\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\x3f'"
	hurt "$bomb" pb2ndjson -d "$DESC" -t $EV --records Events
	[ "$status" -eq 1 ]
	[ "$err" = "pb2ndjson: <stdin>: offset 2: field Events (2): length 4611686018427387903 over the limit of 67108864 bytes" ]
	[ "$rss" -lt 16384 ]
	hurt "$bomb" pb2ndjson -d "$DESC" -t $EV
	[ "$status" -eq 1 ]
	[ "$err" = "pb2ndjson: <stdin>: offset 2: field Events (2): length 4611686018427387903 past end of message" ]
	[ "$rss" -lt 16384 ]
	# nested: a well-formed event whose Document claims 1 GB
	hurt "printf '\\x18\\x01\\x12\\x08\\x2a\\x80\\x80\\x80\\x80\\x04\\x00\\x00'" pb2ndjson -d "$DESC" -t $EV --records Events
	[ "$status" -eq 1 ]
	[ "$err" = "pb2ndjson: <stdin>: offset 4: field Document (5): length 1073741824 past end of message" ]
	[ "$rss" -lt 16384 ]
	# --delimited: a message length of 2^40
	hurt "printf '\\x80\\x80\\x80\\x80\\x80\\x20\\x18\\x01'" pb2ndjson -d "$DESC" -t $EV --delimited
	[ "$status" -eq 1 ]
	[ "$err" = "pb2ndjson: <stdin>: offset 0: message length 1099511627776 over the limit of 67108864 bytes" ]
	[ "$rss" -lt 16384 ]
	# an over-long varint
	hurt "printf '\\x18\\x01\\x12\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\x01'" pb2ndjson -d "$DESC" -t $EV --records Events
	[ "$status" -eq 1 ]
	[ "$err" = "pb2ndjson: <stdin>: offset 2: field Events (2): over-long varint" ]
}

@test "hostile: pb2ndjson: a 1 GB element streamed from a pipe hits the record limit, not the RAM" {
	hurt "printf '\\x18\\x01\\x12\\x80\\x80\\x80\\x80\\x04'; head -c 1G /dev/zero" \
		pb2ndjson -d "$DESC" -t $EV --records Events
	[ "$status" -eq 1 ]
	[ "$err" = "pb2ndjson: <stdin>: offset 2: field Events (2): length 1073741824 over the limit of 67108864 bytes" ]
	[ "$rss" -lt 16384 ]
}

@test "hostile: pb2ndjson: invalid UTF-8 in a string field is a clear error, as in Google's parsers" {
	# DocflowEvent.EventId (1) = "a\xffb\xc0"
	hurt "printf '\\x18\\x01\\x12\\x06\\x0a\\x04a\\xffb\\xc0'" pb2ndjson -d "$DESC" -t $EV --records Events
	[ "$status" -eq 1 ]
	[ ! -s "$out" ]
	[ "$err" = "pb2ndjson: <stdin>: offset 4: field EventId (1): invalid UTF-8" ]
}

@test "hostile: ndjson2pb: deep nesting, a 10 MB line and invalid UTF-8 are clear errors" {
	hurt "printf '{\"Filter\":'; head -c 1000000 /dev/zero | tr '\\0' '['; echo" ndjson2pb -d "$DESC" -t $REQ
	[ "$status" -eq 1 ]
	[ "$err" = "ndjson2pb: <stdin>:1:1010: invalid JSON" ]
	[ "$rss" -lt 65536 ]
	hurt "printf '{\"DepartmentId\":\"'; head -c 10M /dev/zero | tr '\\0' a; printf '\",\"Filter\":{},\"Limit\":\"x\"}\\n'" \
		ndjson2pb -d "$DESC" -t $REQ
	[ "$status" -eq 1 ]
	[ "$err" = 'ndjson2pb: <stdin>:1: field Limit: "x" is not an integer' ]
	[ "$rss" -lt 65536 ]	# the line, its parse tree and its encoding: a few times 10 MB
	hurt "printf '{\"Filter\":{},\"DepartmentId\":\"a\\xffb\"}\\n'" ndjson2pb -d "$DESC" -t $REQ
	[ "$status" -eq 1 ]
	[ "$err" = "ndjson2pb: <stdin>:1: invalid UTF-8" ]
}

@test "hostile: paginate: a 1 GB record is spooled to disk, passed whole, in bounded memory" {
	local cmd='printf "{\"t\":\""; head -c 1G /dev/zero | tr "\0" a; printf "\"}\n"'
	run --separate-stderr bash -c "/usr/bin/time -f %M -o '$BATS_TEST_TMPDIR/rss' \
		paginate -s pages --page-count 1 -- bash -c '$cmd' | wc -c"
	echo "# exit $status, $output bytes, peak RSS $(tail -n 1 "$BATS_TEST_TMPDIR/rss") KiB: $stderr" >&3
	assert_success
	assert_output $((1024 * 1024 * 1024 + 9))
	[ "$(tail -n 1 "$BATS_TEST_TMPDIR/rss")" -lt 65536 ]
}

@test "hostile: paginate: an oversized or million-deep control line fails the page, never passes" {
	hurt "true" paginate -s cursor --token-field next -- bash -c \
		'echo "{\"id\":1}"; printf "\x1e{\"next\":\""; head -c 20M /dev/zero | tr "\0" a; printf "\"}\n"'
	[ "$status" -eq 1 ]
	[ ! -s "$out" ]
	[[ "$err" == *"control line too long"* ]]
	[ "$rss" -lt 65536 ]
	hurt "true" paginate -s cursor --token-field next -- bash -c \
		'echo "{\"id\":1}"; printf "\x1e{\"next\":"; head -c 1000000 /dev/zero | tr "\0" "["; echo "}"'
	[ "$status" -eq 1 ]
	[ ! -s "$out" ]
	[[ "$err" == *"control line is not a JSON object"* ]]
	[ "$rss" -lt 65536 ]
}

@test "hostile: b64inflate: 300 MB of padding is refused at the third '=', in flat memory" {
	hurt 'head -c 300M /dev/zero | tr "\0" "="' b64inflate
	[ "$status" -eq 1 ]
	[ "$err" = "b64inflate: <stdin>: base64: more than two padding characters" ]
	[ ! -s "$out" ]
	[ "$rss" -lt 8192 ]
}

@test "hostile: datamill-norm: a 200 MB line stops at --max-record-bytes; a 20 MB one costs its size once" {
	local line='printf "{\"ok\":1}\n{\"a\":\""; head -c 200M /dev/zero | tr "\0" a; printf "\"}\n"'
	hurt "$line" datamill-norm
	[ "$status" -eq 1 ]
	[ "$err" = "datamill-norm: <stdin>:2: line longer than --max-record-bytes (67108864)" ]
	[ "$(cat "$out")" = '{"ok":"1"}' ]
	[ "$rss" -lt 73728 ]	# 64 MiB and a few
	hurt "$line" datamill-norm --max-record-bytes 1M
	[ "$status" -eq 1 ]
	[ "$err" = "datamill-norm: <stdin>:2: line longer than --max-record-bytes (1048576)" ]
	[ "$rss" -lt 8192 ]
	# under the limit, the output streams: the line is held once, not twice
	hurt 'printf "{\"a\":\""; head -c 20M /dev/zero | tr "\0" a; printf "\"}\n"' datamill-norm
	[ "$status" -eq 0 ]
	[ "$(wc -c <"$out")" -eq $((20 * 1024 * 1024 + 9)) ]
	[ "$rss" -lt 28672 ]
}

# A DTD of N unused declarations: awk prints them faster than bash.
dtd() { printf 'awk '\''BEGIN { print "<!DOCTYPE r ["; for (i = 0; i < %d; i++) printf "%s\\n", i; print "]><r><row>1</row></r>" }'\''' "$1" "$2"; }

@test "hostile: xml2ndjson: 2 000 000 unused ENTITY declarations stop at the bound; --no-dtd at the first byte" {
	local gen
	gen=$(dtd 2000000 '<!ENTITY e%d \"x\">')
	hurt "$gen" xml2ndjson --records //row
	[ "$status" -eq 1 ]
	[[ "$err" =~ ^"xml2ndjson: <stdin>:"[0-9]+:[0-9]+": DTD larger than --max-record-bytes (67108864)"$ ]]
	[ ! -s "$out" ]
	[ "$rss" -lt 73728 ]	# 64 MiB and a few (was 217 MiB, and exit 0)
	hurt "$gen" xml2ndjson --records //row --no-dtd
	[ "$status" -eq 1 ]
	[ "$err" = "xml2ndjson: <stdin>:1:13: document type declaration, refused by --no-dtd" ]
	[ "$rss" -lt 8192 ]
}

@test "hostile: xml2ndjson: 1 000 000 ATTLIST declarations stop at a 1M bound" {
	hurt "$(dtd 1000000 '<!ATTLIST e%d a CDATA \"x\">')" xml2ndjson --records //row --max-record-bytes 1M
	[ "$status" -eq 1 ]
	[[ "$err" =~ ^"xml2ndjson: <stdin>:"[0-9]+:[0-9]+": DTD larger than --max-record-bytes (1048576)"$ ]]
	[ "$rss" -lt 8192 ]	# was 347 MiB and more
}

@test "hostile: xml2ndjson: a record of a million distinct child names is bounded by the record limit" {
	hurt 'awk '\''BEGIN { printf "<r><row>"; for (i = 0; i < 1000000; i++) printf "<n%d/>", i; print "</row></r>" }'\''' \
		xml2ndjson --records //row --max-record-bytes 4M
	[ "$status" -eq 1 ]
	[[ "$err" =~ ^"xml2ndjson: <stdin>:1:"[0-9]+": record larger than --max-record-bytes (4194304)"$ ]]
	[ "$rss" -lt 12288 ]	# the record's 4 MiB and expat's 5: was 13 times the limit
}

@test "hostile: xml2ndjson: a 200 MB comment between records stops within the bound, not twice it" {
	hurt 'printf "<r><row>1</row><!--"; head -c 200M /dev/zero | tr "\0" a; printf -- "--><row>2</row></r>"' \
		xml2ndjson --records //row
	[ "$status" -eq 1 ]
	[ "$err" = "xml2ndjson: <stdin>:1:16: token larger than --max-record-bytes" ]
	[ "$(cat "$out")" = '{"#text":"1"}' ]
	[ "$rss" -lt 73728 ]	# was 129 MiB
}

# An event (GetDocflowEventsResponse.Events) whose body is perl's $e: N empty Document (5)
# fields, a singular message that the protobuf rules merge, or an EventId of N 0x01 bytes.
EVENT_PL='sub v { my $x = shift; my $s = ""; while ($x >= 128) { $s .= chr(($x & 127) | 128); $x >>= 7 } $s . chr($x) }
	print "\x18\x01\x12", v(length $e), $e'
MERGES() { printf 'perl -e '\''$e = "\\x2a\\x00" x %d; %s'\''' "$1" "$EVENT_PL"; }
CONTROLS() { printf 'perl -e '\''$s = "\\x01" x %d; $e = "\\x0a" . v(length $s) . $s; %s'\''' "$1" "$EVENT_PL"; }

@test "hostile: pb2ndjson: a singular message repeated a million times (2 MB) stays within a 4M bound" {
	hurt "$(MERGES 1000000)" pb2ndjson -d "$DESC" -t $EV --records Events --max-record-bytes 4M
	[ "$status" -eq 1 ]
	[[ "$err" =~ ^"pb2ndjson: <stdin>: offset "[0-9]+": field Document (5): record over --max-record-bytes (4194304) once decoded"$ ]]
	[ ! -s "$out" ]
	[ "$rss" -lt 10240 ]	# 4 MiB, the decoder's 1 MiB and a few (was 57 MiB)
}

@test "hostile: pb2ndjson: a 32 MB element of merged messages stops at the record limit" {
	hurt "$(MERGES 16777216)" pb2ndjson -d "$DESC" -t $EV --records Events
	[ "$status" -eq 1 ]
	[[ "$err" =~ ^"pb2ndjson: <stdin>: offset "[0-9]+": field Document (5): record over --max-record-bytes (67108864) once decoded"$ ]]
	[ "$rss" -lt 75776 ]	# 64 MiB and a few (was 887 MiB)
}

@test "hostile: pb2ndjson: a 20 MB string of 0x01 (120 MB as JSON) is refused before it is written" {
	hurt "$(CONTROLS 20971520)" pb2ndjson -d "$DESC" -t $EV --records Events --max-record-bytes 32M
	[ "$status" -eq 1 ]
	[ "$err" = "pb2ndjson: <stdin>: offset 7: field EventId (1): record over --max-record-bytes (33554432) once decoded" ]
	[ ! -s "$out" ]
	[ "$rss" -lt 40960 ]	# the 20 MB element and a few (was 140 MiB)
}
