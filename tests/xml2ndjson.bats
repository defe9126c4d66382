#!/usr/bin/env bats
# xml2ndjson: golden pairs for the seed XML (Mercury with re-declared prefixes, the Data
# Mill cursor, DocsVision envelopes), SOAP 1.1 and 1.2 faults, the mapping rules, --array,
# --meta, --text, legacy encodings and UTF-16, hostile and broken input, the limits, and
# the common filter surface (usage, --help, stdin, >/dev/full, | head -1, peak RSS).
load helpers
bats_require_minimum_version 1.5.0

D="$FIX/xml2ndjson"
RS=$'\x1e'
DT=http://api.vetrf.ru/schema/cdm/dictionary/v2

# x2n INPUT ARGS…: xml2ndjson ARGS… with INPUT (printf %s) on stdin.
x2n() {
	local in=$1; shift
	printf '%s' "$in" | xml2ndjson "$@"
}

# rss_under KIB CMD…: CMD's peak RSS is under KIB (not checked on a sanitizer build, whose
# shadow memory is not the filter's).
rss_under() {
	local max=$1 rss; shift
	ldd "$(command -v xml2ndjson)" | grep -q libasan && return 0
	rss=$(peak_rss_kib "$@")
	echo "# peak RSS $rss KiB" >&3
	[ "$rss" -lt "$max" ] || fail "peak RSS $rss KiB, over $max"
}

# gen_mercury N: a Mercury-style productList response with N products (~500 bytes each).
gen_mercury() {
	awk -v n="$1" 'BEGIN {
		print "<soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\"><soapenv:Body>"
		print "<v2:r xmlns:v2=\"urn:v2\" xmlns:bs=\"urn:bs\" xmlns:dt=\"urn:dt\"><dt:productList total=\"" n "\">"
		for (i = 0; i < n; i++)
			printf "<dt:product>\n<bs:uuid>%08x-0000-4000-8000-%012x</bs:uuid>\n<bs:active>true</bs:active>\n" \
				"<bs:createDate>2011-05-23T10:35:08+04:00</bs:createDate>\n" \
				"<dt:name>молоко &amp; молочная продукция &lt;%d&gt; «ГОСТ»</dt:name>\n" \
				"<dt:code>0401-0406,1905,1517</dt:code>\n<dt:productType>%d</dt:productType>\n" \
				"<dt:englishName>milk and dairy products, item number %d</dt:englishName>\n</dt:product>\n", \
				i, i * 7919, i, i % 8 + 1, i
		print "</dt:productList></v2:r></soapenv:Body></soapenv:Envelope>"
	}'
}

# --- golden pairs ---------------------------------------------------------------------------

@test "xml2ndjson: golden: Mercury seed response (re-declared prefixes), records and meta by URI" {
	cd "$D"
	run --separate-stderr xml2ndjson -N "dt=$DT" --records //dt:product \
		--meta total=//dt:productList/@total --meta offset=//productList/@offset \
		--meta count=//productList/@count mercury.xml
	assert_success
	assert_output "$(cat mercury.ndjson)"
	assert_line --index 3 "${RS}{\"total\":\"22\",\"offset\":\"0\",\"count\":\"3\",\"records\":3}"
	assert_equal "$stderr" ""
}

@test "xml2ndjson: golden: Data Mill cursor data, handle and eof as meta" {
	run --separate-stderr xml2ndjson --records /data/row --meta handle=/data/@handle \
		--meta eof=/data/@eof "$D/datamill.xml"
	assert_success
	assert_output "$(cat "$D/datamill.ndjson")"
	assert_line --index 2 '{"LastName":"Абрамов","FirstName":"Александр","BirthDate":{"@type":"date","#text":"05.09.2016"},"AcademicStatus":null}'
}

@test "xml2ndjson: golden: DocsVision envelope as one object without --records" {
	run --separate-stderr xml2ndjson "$D/docsvision-refresh.xml"
	assert_success
	assert_output "$(cat "$D/docsvision-refresh.ndjson")"
	assert_equal "${#lines[@]}" 1
}

@test "xml2ndjson: golden: the mapping rules, one record per case" {
	run --separate-stderr xml2ndjson --records //case "$D/mapping.xml"
	assert_success
	assert_output "$(cat "$D/mapping.ndjson")"
	assert_line --index 4 '{"@id":"repeated","x":["1","2","3"],"y":"a"}'
	assert_line --index 11 '{"@id":"namespaces","n":["from a","from b","default"]}'
}

@test "xml2ndjson: golden: --qualified keeps one local name from two namespaces apart" {
	run --separate-stderr xml2ndjson -N a=urn:example:a -N b=urn:example:b --qualified \
		--records //case "$D/mapping.xml"
	assert_success
	assert_output "$(cat "$D/mapping-qualified.ndjson")"
	assert_line --index 11 '{"@id":"namespaces","a:n":"from a","b:n":"from b","{urn:example:default}n":"default"}'
}

@test "xml2ndjson: escapes in every position of a word; control characters" {
	run x2n '<a>"1234567\89&#1;</a>' --records /a
	assert_failure 1	# &#1; is not an XML 1.0 character
	run x2n '<a b="&#9;&#10;&#13;">"1234567\89"123456"\\</a>' --records /a
	assert_success
	assert_output '{"@b":"\t\n\r","#text":"\"1234567\\89\"123456\"\\\\"}'
}

# --- faults ---------------------------------------------------------------------------------

@test "xml2ndjson: golden: SOAP 1.1 fault with detail: stderr line, control line, exit 3" {
	cd "$D"
	run --separate-stderr xml2ndjson --records //product fault11-mercury.xml
	assert_failure 3
	assert_output "$(cat fault11-mercury.ndjson)"
	assert_equal "$stderr" "$(cat fault11-mercury.err)"
}

@test "xml2ndjson: golden: SOAP 1.1 asmx fault with empty detail: name is the code" {
	cd "$D"
	run --separate-stderr xml2ndjson --records //row fault11-asmx.xml
	assert_failure 3
	assert_output "${RS}"'{"fault":{"code":"soap:Server","string":"Cursor not found","name":"soap:Server","detail":null},"records":0}'
	assert_equal "$stderr" "$(cat fault11-asmx.err)"
}

@test "xml2ndjson: --quiet-faults: no SOAP fault line, the control line as ever; the invalid-UTF-8 warning stays (-q drops both)" {
	cd "$D"
	sed 's/Cursor not found/Cursor \xff not found/' fault11-asmx.xml >"$BATS_TEST_TMPDIR/bad.xml"
	local ctl='{"fault":{"code":"soap:Server","string":"Cursor \ufffd not found","name":"soap:Server","detail":null},"records":0}'
	run --separate-stderr xml2ndjson --quiet-faults --records //row fault11-asmx.xml
	assert_failure 3
	assert_output "${RS}"'{"fault":{"code":"soap:Server","string":"Cursor not found","name":"soap:Server","detail":null},"records":0}'
	assert_equal "$stderr" ""
	run --separate-stderr xml2ndjson --quiet-faults --records //row "$BATS_TEST_TMPDIR/bad.xml"
	assert_failure 3
	assert_output "${RS}$(printf '%s' "$ctl" | jq -c .)"
	assert_equal "$stderr" "xml2ndjson: warning: invalid UTF-8 replaced by U+FFFD"
	run --separate-stderr xml2ndjson -q --records //row "$BATS_TEST_TMPDIR/bad.xml"
	assert_failure 3
	assert_equal "$stderr" ""
	run --separate-stderr xml2ndjson --records //row "$BATS_TEST_TMPDIR/bad.xml"
	assert_equal "${#stderr_lines[@]}" 2
}

@test "xml2ndjson: golden: SOAP 1.2 fault: Code/Value, first Reason/Text, Detail" {
	cd "$D"
	run --separate-stderr xml2ndjson --records //row fault12.xml
	assert_failure 3
	assert_output "$(cat fault12.ndjson)"
	assert_equal "$stderr" "$(cat fault12.err)"
}

@test "xml2ndjson: a fault without --records or --meta; -q keeps stderr quiet" {
	run --separate-stderr xml2ndjson -q "$D/fault11-asmx.xml"
	assert_failure 3
	assert_output "$(cat "$D/fault11-asmx.ndjson")"
	assert_equal "$stderr" ""
}

@test "xml2ndjson: a fault with --meta: metas and fault in one control line" {
	run --separate-stderr xml2ndjson -q --records //row --meta ts=//timestamp \
		--meta code=//faultcode "$D/fault11-asmx.xml"
	assert_failure 3
	assert_output "${RS}"'{"code":"soap:Server","fault":{"code":"soap:Server","string":"Cursor not found","name":"soap:Server","detail":null},"records":0}'
}

# --- --array, --meta, --text ----------------------------------------------------------------

@test "xml2ndjson: --array forces an array for one child, and for none" {
	local one='<l><p><n>1</n></p><q/></l>' none='<l><q/></l>'
	run x2n "$one" --records /l
	assert_output '{"p":{"n":"1"},"q":null}'
	run x2n "$one" --records /l --array p
	assert_output '{"p":[{"n":"1"}],"q":null}'
	run x2n "$one" --records /l --array /l/p --array //p/n
	assert_output '{"p":[{"n":["1"]}],"q":null}'
	run x2n "$none" --records /l --array //l/p
	assert_output '{"q":null,"p":[]}'
	run x2n '<l/>' --array /l/p
	assert_output '{"l":{"p":[]}}'
	run x2n "$none" --records /l --array p	# a bare name has no parent to hang [] on
	assert_output '{"q":null}'
}

@test "xml2ndjson: --array by namespace URI, with repeated and forced siblings together" {
	run x2n '<r xmlns:a="urn:a"><a:p>1</a:p><p>2</p><x/><a:p>3</a:p></r>' -N a=urn:a --array //a:p
	assert_success
	assert_output '{"r":{"p":["1","2","3"],"x":null}}'
}

@test "xml2ndjson: a prefixed step matches by URI, even where local names collide" {
	local doc='<r xmlns:p="urn:p"><e p:k="1" k="2"/><x>plain</x><q:x xmlns:q="urn:q">q</q:x><p:x>p</p:x></r>'
	run x2n "$doc" -N n= -N p=urn:p --records //n:x --meta pk=//e/@p:k --meta nk=//e/@n:k
	assert_success
	assert_output "$(printf '{"#text":"plain"}\n%s{"pk":"1","nk":"2","records":1}' "$RS")"
	run x2n "$doc" -N p=urn:p --records //p:x
	assert_output '{"#text":"p"}'
	run x2n "$doc" --records //x
	assert_output "$(printf '{"#text":"plain"}\n{"#text":"q"}\n{"#text":"p"}')"
}

@test "xml2ndjson: --meta: first match wins, absent is omitted, //@attr, element text" {
	run x2n '<d n="1"><t>a<b>b</b>c</t><t>second</t><e k="v"/></d>' --records //nothing \
		--meta text=//t --meta n=/d/@n --meta k=//@k --meta missing=//@zz --meta e=/d/e
	assert_success
	assert_output "${RS}"'{"text":"abc","n":"1","k":"v","e":"","records":0}'
}

@test "xml2ndjson: --meta inside records is seen too" {
	run x2n '<d><r><id>7</id></r><r><id>8</id></r></d>' --records /d/r --meta first=//id
	assert_success
	assert_output "$(printf '{"id":"7"}\n{"id":"8"}\n%s{"first":"7","records":2}' "$RS")"
}

@test "xml2ndjson: golden: --text writes the raw text of the first match, unescaped, nothing added" {
	run --separate-stderr xml2ndjson --text //FirstPage "$D/docsvision-refresh.xml"
	assert_success
	assert_output "$(cat "$D/firstpage.xml")"
	xml2ndjson --text //FirstPage "$D/docsvision-refresh.xml" | cmp - "$D/firstpage.xml"
	run bash -c "xml2ndjson --text //FirstPage '$D/docsvision-refresh.xml' | xml2ndjson --records /rows/row"
	assert_success
	assert_output "$(cat "$D/firstpage-rows.ndjson")"
	run bash -c "xml2ndjson --text //data '$D/docsvision-readpage.xml' | cmp - '$D/firstpage.xml'"
	assert_success
}

@test "xml2ndjson: --text with --meta-out: the control object goes to the file" {
	local m="$BATS_TEST_TMPDIR/meta"
	run --separate-stderr xml2ndjson --text //FirstPage --meta-out "$m" --meta pages=//PageCount \
		--meta cursor=//cursorInfo/ID --meta ts=//timestamp "$D/docsvision-refresh.xml"
	assert_success
	assert_output "$(cat "$D/firstpage.xml")"
	assert_equal "$(cat "$m")" '{"pages":"3","cursor":"4f1c2a9e-63d0-4b7a-9a51-0c2e8d7f3b64","ts":"377112","records":1}'
	run xml2ndjson --text //FirstPage --meta-out "$m" --meta ts=//timestamp "$D/docsvision-unchanged.xml"
	assert_success
	assert_output ""
	assert_equal "$(cat "$m")" '{"ts":"377104","records":0}'
	run xml2ndjson -q --text //FirstPage --meta-out "$m" "$D/fault11-asmx.xml"
	assert_failure 3
	assert_output ""
	assert_equal "$(cat "$m")" "$(tail -c +2 "$D/fault11-asmx.ndjson")"
}

@test "xml2ndjson: --text streams a big payload in flat memory" {
	local f="$BATS_TEST_TMPDIR/big.xml"
	{ printf '<e><p>'; head -c 30000000 /dev/zero | tr '\0' 'A'; printf '&amp;</p></e>'; } >"$f"
	run bash -c "xml2ndjson --text //p '$f' | wc -c"
	assert_output 30000001
	rss_under 8192 xml2ndjson --text //p "$f"
}

# --- encodings ------------------------------------------------------------------------------

@test "xml2ndjson: golden: windows-1251, KOI8-R and CP866 through iconv" {
	local e
	for e in cp1251 koi8r cp866; do
		run --separate-stderr xml2ndjson --records //row "$D/$e.xml"
		assert_success
		assert_output "$(cat "$D/$e.ndjson")"
	done
	assert_equal "$(head -n 1 "$D/cp1251.ndjson")" '{"name":"Молоко и молочная продукция","code":"0401"}'
}

@test "xml2ndjson: golden: UTF-16 with either byte order" {
	run xml2ndjson --records //row "$D/utf16.xml"
	assert_success
	assert_output "$(cat "$D/utf16.ndjson")"
	run xml2ndjson --records //row "$D/utf16be.xml"
	assert_success
	assert_output "$(cat "$D/utf16be.ndjson")"
	assert_line --index 1 '{"name":"Яйца «куриные» №1","code":"0407"}'
}

@test "xml2ndjson: a multibyte charset expat cannot map is an error" {
	run --separate-stderr x2n '<?xml version="1.0" encoding="Shift_JIS"?><a/>'
	assert_failure 1
	assert_equal "$stderr" "xml2ndjson: <stdin>:1:31: unknown encoding"
}

@test "xml2ndjson: invalid UTF-8 becomes U+FFFD, with one warning" {
	run --separate-stderr x2n $'<r><a>caf\xe9</a><b>\xff\xfe</b></r>'
	assert_success
	assert_output '{"r":{"a":"caf�","b":"��"}}'
	assert_equal "$stderr" "xml2ndjson: warning: invalid UTF-8 replaced by U+FFFD"
	run --separate-stderr x2n $'<r><a>caf\xe9</a></r>' -q
	assert_success
	assert_equal "$stderr" ""
}

# --- broken and hostile input ---------------------------------------------------------------

@test "xml2ndjson: truncated input: records before the error are out, FILE:LINE:COL, exit 1" {
	head -c 1500 "$D/mercury.xml" >"$BATS_TEST_TMPDIR/cut.xml"
	cd "$BATS_TEST_TMPDIR"
	run --separate-stderr xml2ndjson --records //product --meta total=//@total cut.xml
	assert_failure 1
	assert_output "$(head -n 2 "$D/mercury.ndjson")"
	assert_equal "$stderr" "xml2ndjson: cut.xml:33:1: unclosed token"
}

@test "xml2ndjson: malformed XML and an empty input" {
	run --separate-stderr x2n $'<a>\n  <b></c>\n</a>'
	assert_failure 1
	assert_equal "$stderr" "xml2ndjson: <stdin>:2:8: mismatched tag"
	run --separate-stderr x2n ''
	assert_failure 1
	assert_equal "$stderr" "xml2ndjson: <stdin>:1:1: no element found"
}

@test "xml2ndjson: billion laughs is refused, in little memory" {
	local f="$BATS_TEST_TMPDIR/laughs.xml" i
	{
		printf '<?xml version="1.0"?>\n<!DOCTYPE l [\n<!ENTITY l0 "lol">\n'
		for i in 1 2 3 4 5 6 7 8 9; do
			printf '<!ENTITY l%d "%s">\n' "$i" "$(printf "&l$((i - 1));%.0s" 1 2 3 4 5 6 7 8 9 10)"
		done
		printf ']>\n<l><r>&l9;</r></l>\n'
	} >"$f"
	run --separate-stderr xml2ndjson --records //r "$f"
	assert_failure 1
	assert_output ""
	assert_equal "$stderr" "xml2ndjson: $f:14:7: limit on input amplification factor (from DTD and entities) breached"
	rss_under 16384 xml2ndjson --records //r "$f"
}

@test "xml2ndjson: an external entity naming a local file is never read" {
	local secret="$BATS_TEST_TMPDIR/secret"
	echo "TOP-SECRET-LINE" >"$secret"
	run --separate-stderr x2n "<!DOCTYPE r [<!ENTITY x SYSTEM \"file://$secret\">]><r><v>&x;</v></r>"
	assert_failure 1
	assert_output ""
	assert_equal "$stderr" "xml2ndjson: <stdin>:1:$(( ${#secret} + 50 )): error in processing external entity reference"
	run x2n "<!DOCTYPE r SYSTEM \"$secret\"><r><v>1</v></r>"
	assert_success
	assert_output '{"r":{"v":"1"}}'
}

@test "xml2ndjson: 100 000-deep nesting stops at --max-depth, in little memory" {
	local f="$BATS_TEST_TMPDIR/deep.xml"
	yes '<a>' | head -n 100000 | tr -d '\n' >"$f"
	run --separate-stderr xml2ndjson "$f"
	assert_failure 1
	assert_equal "$stderr" "xml2ndjson: $f:1:769: nesting deeper than --max-depth (256)"
	run --separate-stderr xml2ndjson --max-depth 3 --records //b <<<'<a><b><c><d/></c></b></a>'
	assert_failure 1
	assert_equal "$stderr" "xml2ndjson: <stdin>:1:10: nesting deeper than --max-depth (3)"
	rss_under 8192 xml2ndjson --max-depth 10000 "$f"
}

@test "xml2ndjson: --max-record-bytes bounds a record, and a token expat would hold" {
	local big
	big="<r><x>$(head -c 5000 /dev/zero | tr '\0' y)</x></r>"
	run --separate-stderr x2n "$big" --max-record-bytes 4K
	assert_failure 1
	assert_equal "$stderr" "xml2ndjson: <stdin>:1:7: record larger than --max-record-bytes (4096)"
	run x2n "$big" --max-record-bytes 8K
	assert_success
	run --separate-stderr bash -c "{ printf '<r a=\"'; head -c 300000 /dev/zero | tr '\0' z; printf '\"/>'; } | xml2ndjson --max-record-bytes 64K"
	assert_failure 1
	assert_equal "$stderr" "xml2ndjson: <stdin>:1:1: token larger than --max-record-bytes"
}

# --- the filter surface ---------------------------------------------------------------------

@test "xml2ndjson: usage errors exit 2 with the usage on stderr" {
	local bad
	for bad in "--no-such-option" "--records //a --text //b" "-N p" "-N :p=u" \
		"--records //p:a" "--records /a/" "--meta x" "--meta =//a" "--meta records=//a" \
		"--meta a=//x --meta a=//y" "--max-depth 0" "--max-depth 10001" \
		"--max-record-bytes 12x" "--max-record-bytes 10" "--text //a --meta a=//b" \
		"--records //a/@b" "--array //@b"; do
		run --separate-stderr xml2ndjson $bad /dev/null
		echo "# $bad: $status ${stderr%%$'\n'*}" >&3
		assert_failure 2
		assert_output ""
		[[ "$stderr" == *"usage: xml2ndjson [-qu] [-N PREFIX=URI]..."* ]]
	done
	run --separate-stderr xml2ndjson --records //p:a /dev/null
	assert_equal "${stderr%%$'\n'*}" "xml2ndjson: //p:a: unbound namespace prefix (bind it with -N PREFIX=URI)"
}

@test "xml2ndjson: --help on stdout, --version" {
	run --separate-stderr xml2ndjson --help
	assert_success
	assert_line --index 0 "usage: xml2ndjson [-qu] [-N PREFIX=URI]... [--records PATH] [--array NAME|PATH]..."
	assert_equal "$stderr" ""
	run xml2ndjson --version
	assert_success
	assert_output "xml2ndjson 0.1.0"
}

@test "xml2ndjson: stdin, '-', a file and several files give the same records" {
	local want
	want=$(cat "$D/datamill.ndjson")
	run bash -c "xml2ndjson --records /data/row --meta handle=/data/@handle --meta eof=/data/@eof <'$D/datamill.xml'"
	assert_output "$want"
	run bash -c "xml2ndjson --records /data/row --meta handle=/data/@handle --meta eof=/data/@eof - <'$D/datamill.xml'"
	assert_output "$want"
	run xml2ndjson --records //row --meta eof=//@eof "$D/datamill.xml" "$D/cp1251.xml"
	assert_success
	assert_equal "${#lines[@]}" 7
	assert_line --index 3 "${RS}"'{"eof":"1","records":3}'
	assert_line --index 6 "${RS}"'{"records":2}'
}

@test "xml2ndjson: a missing file is an I/O error; the others are still read" {
	run --separate-stderr xml2ndjson --records //row "$D/nope.xml" "$D/cp1251.xml"
	assert_failure 74
	assert_equal "$stderr" "xml2ndjson: $D/nope.xml: No such file or directory"
	assert_output "$(cat "$D/cp1251.ndjson")"
}

@test "xml2ndjson: records do not nest; -u gives the same lines" {
	run x2n '<a><x><x>in</x></x><x>2</x></a>' --records //x
	assert_output "$(printf '{"x":"in"}\n{"#text":"2"}')"
	run x2n '<a><x><x>in</x></x><x>2</x></a>' -u --records //x
	assert_output "$(printf '{"x":"in"}\n{"#text":"2"}')"
}

@test "xml2ndjson: a full disk is exit 74" {
	run --separate-stderr bash -c "xml2ndjson --records //row '$D/datamill.xml' >/dev/full"
	assert_failure 74
	assert_equal "$stderr" "xml2ndjson: <stdout>: No space left on device"
	run --separate-stderr bash -c "xml2ndjson --text //FirstPage '$D/docsvision-refresh.xml' >/dev/full"
	assert_failure 74
}

@test "xml2ndjson: | head -1 ends it quietly" {
	gen_mercury 20000 >"$BATS_TEST_TMPDIR/m.xml"
	run --separate-stderr bash -c "set -o pipefail; xml2ndjson --records //dt:product -N dt=urn:dt '$BATS_TEST_TMPDIR/m.xml' | head -n 1"
	assert_failure 141
	assert_output '{"uuid":"00000000-0000-4000-8000-000000000000","active":"true","createDate":"2011-05-23T10:35:08+04:00","name":"молоко & молочная продукция <0> «ГОСТ»","code":"0401-0406,1905,1517","productType":"1","englishName":"milk and dairy products, item number 0"}'
	assert_equal "$stderr" ""
}

@test "xml2ndjson: peak RSS stays under 8 MiB on a 10 MB response" {
	gen_mercury 20000 >"$BATS_TEST_TMPDIR/m.xml"
	run bash -c "xml2ndjson --records //product --meta total=//@total '$BATS_TEST_TMPDIR/m.xml' | tail -n 1"
	assert_output "${RS}"'{"total":"20000","records":20000}'
	echo "# $(stat -c %s "$BATS_TEST_TMPDIR/m.xml") bytes" >&3
	rss_under 8192 xml2ndjson --records //product "$BATS_TEST_TMPDIR/m.xml"
}

@test "xml2ndjson: the man page lints clean" {
	run groff -mandoc -ww -z "$ROOT/man/xml2ndjson.1"
	assert_success
	assert_output ""
}

@test "xml2ndjson: --no-dtd refuses a document type declaration; documents without one pass" {
	run --separate-stderr xml2ndjson --no-dtd --records //row < <(printf '<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY a "b">]><r><row>&a;</row></r>')
	assert_failure 1
	assert_output ""
	assert_equal "$stderr" "xml2ndjson: <stdin>:2:13: document type declaration, refused by --no-dtd"
	run -1 xml2ndjson --no-dtd < <(printf '<!DOCTYPE r SYSTEM "r.dtd"><r/>')
	run -0 xml2ndjson --no-dtd --records //row <<<'<r><row>1</row></r>'
	assert_output '{"#text":"1"}'
	# without it, a DTD is read (and its entities expanded), as before
	run -0 xml2ndjson --records //row < <(printf '<!DOCTYPE r [<!ENTITY a "b">]><r><row>&a;</row></r>')
	assert_output '{"#text":"b"}'
}

@test "xml2ndjson: --help and the man page's SYNOPSIS list the same long options, each described in the page" {
	help_matches_man xml2ndjson
}

@test "xml2ndjson: --bare-attrs: a record's own attributes without @, as jq's with_entries(.key |= ltrimstr(\"@\")) writes each line" {
	local doc
	doc='<rows><row a="1" b="x&#127;y"><c d="2">t</c><a>3</a><a>4</a></row><row><c>u</c></row><row/><row z="1">m<k>v</k></row></rows>'
	run -0 x2n "$doc" --bare-attrs --records /rows/row
	assert_output - <<'OUT'
{"a":["3","4"],"b":"x\u007fy","c":{"@d":"2","#text":"t"}}
{"c":"u"}
{}
{"z":"1","k":"v","#text":"m"}
OUT
	# the very bytes of the jq stage it replaces (docsvision-card's rows in attribute form)
	x2n "$doc" --records /rows/row | jq -c 'with_entries(.key |= ltrimstr("@"))' >"$BATS_TEST_TMPDIR/jq"
	assert_equal "$output" "$(cat "$BATS_TEST_TMPDIR/jq")"
	# without --records, the one line's key is the root's: nothing to take off
	run -0 x2n '<r a="1"/>' --bare-attrs
	assert_output '{"r":{"@a":"1"}}'
	run -2 x2n '<r/>' --bare-attrs --text /r
	assert_line --index 0 "xml2ndjson: --text and --bare-attrs exclude each other"
}
