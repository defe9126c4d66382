#!/usr/bin/env bats
# The API emulator checked with independent tools: xmllint/xmlstarlet for XML answers, protoc
# for protobuf, curl for statuses and headers, jq for JSON; every fault kind; ground truth
# compared with what a full walk over the pages returns.
load helpers

PROTO="$ROOT/pipelines/proto"
DVNS='http://schemas.docsvision.com/Platform/2009-02-03/StorageServer/'
BOX=b7c5d2a0-6f1e-4c3b-9a8d-2e5f7a9c1b3d
MNS='-N bs=http://api.vetrf.ru/schema/cdm/base -N dt=http://api.vetrf.ru/schema/cdm/dictionary/v2'

setup_file() {
	emu_start --records 300
}

teardown_file() {
	emu_stop
}

setup() {
	emu_ctl 'reset?records=300' -X POST >/dev/null
	T=$BATS_TEST_TMPDIR
}

# merc COUNT OFFSET TYPE [curl args…]: a GetProductByTypeList call, body to stdout.
merc() {
	local c=$1 o=$2 t=$3; shift 3
	curl -sS -m 10 -u mercury:mercury-secret -H 'Content-Type: text/xml' -H 'SOAPAction: GetProductByTypeList' "$@" \
		--data-binary "<soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" xmlns:ws=\"http://api.vetrf.ru/schema/cdm/registry/ws-definitions/v2\" xmlns:bs=\"http://api.vetrf.ru/schema/cdm/base\" xmlns:dt=\"http://api.vetrf.ru/schema/cdm/dictionary/v2\"><soapenv:Body><ws:getProductByTypeListRequest><bs:listOptions><bs:count>$c</bs:count><bs:offset>$o</bs:offset></bs:listOptions><dt:productType>$t</dt:productType></ws:getProductByTypeListRequest></soapenv:Body></soapenv:Envelope>" \
		"$EMU/platform/services/2.0/ProductService"
}

# dv METHOD INNER-XML [curl args…]: a DocsVision StorageServer call.
dv() {
	local m=$1 inner=$2; shift 2
	curl -sS -m 10 -u docsvision:dv-secret -H 'Content-Type: text/xml; charset=utf-8' \
		-H "SOAPAction: \"$DVNS$m\"" "$@" \
		--data-binary "<?xml version=\"1.0\" encoding=\"utf-8\"?><soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body><$m xmlns=\"$DVNS\"><sessionId>6565c75b-298d-e511-9417-90e6ba57b9f8</sessionId>$inner</$m></soap:Body></soap:Envelope>" \
		"$EMU/DocsVision/StorageServer/StorageServerService.asmx"
}

# dvget FILE XPATH: a value from a DocsVision answer.
dvget() { xmlstarlet sel -T -N "d=$DVNS" -t -v "$2" "$1"; }

# dd PATH MESSAGE TEXT [curl args…]: a Diadoc call; TEXT is the request in protobuf text format.
dd() {
	local path=$1 msg=$2 txt=$3; shift 3
	printf '%s\n' "$txt" | protoc -I"$PROTO" --encode="Diadoc.Api.Proto.Docflow.$msg" DiadocDocflow.proto >"$T/req.bin"
	curl -sS -m 10 -H 'Authorization: DiadocAuth ddauth_api_client_id=pagepull-demo,ddauth_token=diadoc-secret-token' \
		--data-binary @"$T/req.bin" "$@" "$EMU$path"
}

decode() { protoc -I"$PROTO" --decode="Diadoc.Api.Proto.Docflow.$1" DiadocDocflow.proto DiadocDocflowV5.proto; }

card() { emu_ctl info | jq -r ".cards[] | select(.name == \"$1\") | .$2"; }
packet() { emu_ctl info | jq -r ".packets[] | select(.name == \"$1\") | .$2"; }

@test "emulator: prints its base URL first, answers, and exits 0 on SIGTERM" {
	"$ROOT/tests/emulator/run" --records 10 >"$T/out" 2>"$T/err" &
	local pid=$! i
	for i in $(seq 100); do [ -s "$T/out" ] && break; sleep 0.05; done
	run head -n 1 "$T/out"
	assert_output --regexp '^http://127\.0\.0\.1:[0-9]+$'
	run curl -sS -m 5 "$(head -n 1 "$T/out")/_emulator/info"
	assert_success
	kill -TERM "$pid"
	local rc=0
	wait "$pid" || rc=$?
	assert_equal "$rc" 0
	run cat "$T/err"
	assert_output ""
}

@test "emulator: a bad option or fault spec is a usage error (exit 2)" {
	run "$ROOT/tests/emulator/run" --no-such-option
	assert_failure 2
	run "$ROOT/tests/emulator/run" --fault 'api=mercury&kind=nosuch'
	assert_failure 2
	run "$ROOT/tests/emulator/run" --fault 'api=diadoc-events&kind=soap_fault'
	assert_failure 2
	run "$ROOT/tests/emulator/run" --records -1
	assert_failure 2
}

@test "emulator: info lists credentials, box, packets of 0/1/100/101/hundreds and cards" {
	run bash -c "curl -fsS '$EMU/_emulator/info' | jq -c '[.credentials.mercury.password, .credentials.docsvision.password, .credentials.diadoc.token, .box_id, ([.packets[].documents] | sort), ([.cards[].rows] | sort), .session_id]'"
	assert_output '["mercury-secret","dv-secret","diadoc-secret-token","'$BOX'",[0,1,100,101,250,300],[0,3,120,300],"6565c75b-298d-e511-9417-90e6ba57b9f8"]'
}

@test "emulator: unknown paths and control calls answer 404" {
	run curl -sS -o /dev/null -w '%{http_code}' "$EMU/no/such/path"
	assert_output 404
	run curl -sS -o /dev/null -w '%{http_code}' "$EMU/_emulator/nosuch"
	assert_output 404
	run curl -sS -o /dev/null -w '%{http_code}' "$EMU/_emulator/truth/nosuch"
	assert_output 404
	run curl -sS -o /dev/null -w '%{http_code}' -X POST "$EMU/_emulator/reset?nosuch=1"
	assert_output 400
}

# --- Mercury

@test "emulator: mercury pages are well-formed and walk to the truth, every record once" {
	local total off=0 n
	total=$(emu_ctl info | jq -r '.mercury.totals["5"]')
	: >"$T/got"
	while [ "$off" -lt "$total" ]; do
		merc 40 "$off" 5 >"$T/page.xml"
		xmllint --noout "$T/page.xml"
		xmlstarlet sel $MNS -t -v '//dt:product/bs:uuid' -n "$T/page.xml" >>"$T/got"
		n=$(xmlstarlet sel $MNS -t -v '//dt:productList/@count' "$T/page.xml")
		off=$((off + n))
	done
	emu_ctl 'truth/mercury?productType=5' | jq -r .uuid >"$T/want"
	run diff "$T/want" "$T/got"
	assert_success
	run wc -l <"$T/want"
	assert_output "$total"
	run bash -c "emu_ctl() { curl -fsS \"$EMU/_emulator/\$1\"; }; emu_ctl truth/mercury | wc -l"
	assert_output 300
}

@test "emulator: mercury re-declares prefixes on inner elements; truth keys are local names" {
	merc 30 0 5 >"$T/p.xml"
	run grep -c 'xmlns:base="http://api.vetrf.ru/schema/cdm/base"' "$T/p.xml"
	refute_output 0
	run grep -c '<product xmlns="http://api.vetrf.ru/schema/cdm/dictionary/v2">' "$T/p.xml"
	refute_output 0
	run bash -c "curl -fsS '$EMU/_emulator/truth/mercury?productType=5' 2>/dev/null | head -n 1 | jq -c 'keys - [\"englishName\",\"previous\"]'"
	assert_output '["active","code","createDate","guid","last","name","productType","status","updateDate","uuid"]'
	# byte-exact values: the first product's name read back by xmlstarlet equals the truth
	run bash -c "xmlstarlet sel -T $MNS -t -v '(//dt:product)[1]/dt:name' '$T/p.xml'"
	assert_output "$(emu_ctl 'truth/mercury?productType=5' | head -n 1 | jq -j .name)"
}

@test "emulator: mercury faults: 401, count > 1000, offset > total, offset == total" {
	run curl -sS -o /dev/null -w '%{http_code}' -X POST "$EMU/platform/services/2.0/ProductService"
	assert_output 401
	merc 1001 0 5 -w '%{http_code}' >"$T/f.xml" || true
	run tail -c 3 "$T/f.xml"
	assert_output 500
	run bash -c "head -c -3 '$T/f.xml' | xmlstarlet sel -N w=http://api.vetrf.ru/schema/cdm/base/ws-definitions -N bs=http://api.vetrf.ru/schema/cdm/base -t -v '//faultcode' -o ' ' -v 'name(//detail/*)' -o ' ' -v '//bs:error/@code'"
	assert_output 'soapenv:Client ws:incorrectRequestFault APLM0001'
	local total; total=$(emu_ctl info | jq -r '.mercury.totals["1"]')
	run bash -c "$(declare -f merc); EMU=$EMU; merc 10 $((total + 1)) 1 | xmlstarlet sel -N w=http://api.vetrf.ru/schema/cdm/base/ws-definitions -t -v 'local-name(//w:*)' -o ' ' -v '//faultcode'"
	assert_output 'offsetOutOfRangeFault soapenv:Client'
	run bash -c "$(declare -f merc); EMU=$EMU; merc 10 $total 1 | xmlstarlet sel $MNS -t -v '//dt:productList/@count' -o / -v '//dt:productList/@total'"
	assert_output "0/$total"
}

@test "emulator: mercury insert (control and fault) shifts offsets and grows the truth" {
	local before; before=$(emu_ctl info | jq -r '.mercury.totals["5"]')
	merc 5 0 5 | xmlstarlet sel $MNS -t -v '(//dt:product)[1]/bs:uuid' >"$T/first0"
	run emu_ctl 'mercury/insert?count=3&productType=5' -X POST
	assert_output "{\"productType\":5,\"total\":$((before + 3))}"
	# the old first record is now the fourth
	run bash -c "$(declare -f merc); EMU=$EMU; merc 5 0 5 | xmlstarlet sel $MNS -t -v '(//dt:product)[4]/bs:uuid'"
	assert_output "$(cat "$T/first0")"
	emu_ctl 'faults?api=mercury&kind=insert&count=7&on=1' -X POST >/dev/null
	run bash -c "$(declare -f merc); EMU=$EMU; merc 5 0 5 | xmlstarlet sel $MNS -t -v '//dt:productList/@total'"
	assert_output "$((before + 10))"
	run bash -c "curl -fsS '$EMU/_emulator/truth/mercury?productType=5' | jq -r .uuid | sort -u | wc -l"
	assert_output "$((before + 10))"
	run bash -c "curl -fsS '$EMU/_emulator/log' | jq -r '.fault' | tail -n 1"
	assert_output insert
}

@test "emulator: mercury soap_fault names, faultcodes and the ws-definitions detail" {
	local n
	for n in internalServiceFault:Server incorrectRequestFault:Client offsetOutOfRangeFault:Client; do
		emu_ctl faults -X DELETE >/dev/null
		emu_ctl "faults?api=mercury&kind=soap_fault&name=${n%%:*}" -X POST >/dev/null
		run bash -c "$(declare -f merc); EMU=$EMU; merc 5 0 5 -w '\n%{http_code}\n' >'$T/f'; tail -n 1 '$T/f'; head -n -1 '$T/f' | xmlstarlet sel -N w=http://api.vetrf.ru/schema/cdm/base/ws-definitions -N bs=http://api.vetrf.ru/schema/cdm/base -t -v '//faultcode' -o ' ' -v 'local-name(//detail/w:*)' -o ' ' -v 'count(//w:*/bs:message)' -o ' ' -v 'count(//bs:error[@code])'"
		assert_output "500
soapenv:${n#*:} ${n%%:*} 1 1"
	done
}

# --- Data Mill

@test "emulator: datamill XML walk by handle: eof 0 then 1, same handle, rows match the truth" {
	local q='<query class="TWorker"><item part="0" name="TabNumber"/><item part="0" name="BirthDate"/><item part="1" name="BirthDate" value=">12.05.1970"/></query>'
	curl -fsS -m 10 --data-urlencode "query=$q" "$EMU/datamill/cursor.xml" >"$T/p.xml"
	local h eof pages=1
	h=$(xmlstarlet sel -t -v /data/@handle "$T/p.xml")
	eof=$(xmlstarlet sel -t -v /data/@eof "$T/p.xml")
	xmlstarlet sel -t -m //row -v TabNumber -o ' ' -v BirthDate -n "$T/p.xml" >"$T/got"
	while [ "$eof" != 1 ]; do
		assert_equal "$eof" 0
		curl -fsS -m 10 -G --data-urlencode "query=$h" "$EMU/datamill/cursor.xml" >"$T/p.xml"
		xmllint --noout "$T/p.xml"
		assert_equal "$(xmlstarlet sel -t -v /data/@handle "$T/p.xml")" "$h"
		eof=$(xmlstarlet sel -t -v /data/@eof "$T/p.xml")
		xmlstarlet sel -t -m //row -v TabNumber -o ' ' -v BirthDate -n "$T/p.xml" >>"$T/got"
		pages=$((pages + 1))
	done
	[ "$pages" -gt 1 ]
	curl -fsS -G --data-urlencode "query=$q" "$EMU/_emulator/truth/datamill" |
		jq -r '"\(.TabNumber) \(.BirthDate | split("-") | reverse | join("."))"' >"$T/want"
	run diff "$T/want" "$T/got"
	assert_success
	[ "$(wc -l <"$T/want")" -gt 50 ]
}

@test "emulator: datamill JSON carries the same data: strings, 0-based months, null" {
	local q='<query class="TWorker" fetchall="1"><item part="what" name="TabNumber"/><item part="what" name="BirthDate"/><item part="what" name="AcademicStatus"/></query>'
	curl -fsS -m 10 --data-urlencode "query=$q" "$EMU/datamill/cursor.json" >"$T/p.json"
	run jq -c '[.eof, (.data | length), (.data[0] | keys_unsorted), ([.data[].AcademicStatus | select(. == null)] | length > 0)]' "$T/p.json"
	assert_output '[true,300,["TabNumber","BirthDate","AcademicStatus"],true]'
	run bash -c "jq -c '.data[] | {TabNumber, BirthDate: (.BirthDate | \"\(.year)-\(.month + 1 | tostring | if length < 2 then \"0\" + . else . end)-\(.day | tostring | if length < 2 then \"0\" + . else . end)\"), AcademicStatus}' '$T/p.json' | diff - <(curl -fsS -G --data-urlencode 'query=$q' '$EMU/_emulator/truth/datamill' | jq -c .)"
	assert_success
	# the .js spelling answers the same JSON
	run bash -c "curl -fsS -G --data-urlencode 'query=$q' '$EMU/datamill/cursor.js' | jq '.data | length'"
	assert_output 300
}

@test "emulator: datamill: 400 malformed query, 404 unknown handle, expire_handle fault" {
	run curl -sS -o /dev/null -w '%{http_code}' --data-urlencode 'query=<query' "$EMU/datamill/cursor.xml"
	assert_output 400
	run curl -sS -o /dev/null -w '%{http_code}' -G --data-urlencode 'query={00000000-0000-0000-0000-000000000000}' "$EMU/datamill/cursor.xml"
	assert_output 404
	local h
	h=$(curl -fsS --data-urlencode 'query=<query class="TWorker"/>' "$EMU/datamill/cursor.json" | jq -r .handle)
	emu_ctl 'faults?api=datamill&kind=expire_handle&on=1' -X POST >/dev/null
	run curl -sS -o /dev/null -w '%{http_code}' -G --data-urlencode "query=$h" "$EMU/datamill/cursor.json"
	assert_output 404
	run curl -sS -o /dev/null -w '%{http_code}' -G --data-urlencode "query=$h" "$EMU/datamill/cursor.json"
	assert_output 404
	run bash -c "curl -fsS '$EMU/_emulator/log?api=datamill' | jq -c '[.params.handle == \"$h\", .status, .fault]' | tail -n 2"
	assert_output '[true,404,"expire_handle"]
[true,404,null]'
}

@test "emulator: datamill options: no eof on partial packets, eof as strings, object cap" {
	emu_ctl 'reset?records=300&datamill_omit_eof=1&datamill_eof_style=string&datamill_max_objects=7' -X POST >/dev/null
	run bash -c "curl -fsS --data-urlencode 'query=<query class=\"TWorker\"/>' '$EMU/datamill/cursor.json' | jq -c '[has(\"eof\"), (.data | length)]'"
	assert_output '[false,7]'
	run bash -c "curl -fsS --data-urlencode 'query=<query class=\"TWorker\"><item part=\"1\" name=\"TabNumber\" value=\"&lt;100003\"/></query>' '$EMU/datamill/cursor.json' | jq -c '[.eof, (.data | length)]'"
	assert_output '["1",3]'
	run bash -c "curl -fsS --data-urlencode 'query=<query class=\"TWorker\"/>' '$EMU/datamill/cursor.xml' | xmlstarlet sel -t -v 'count(/data/@eof)' -o ' ' -v 'count(//row)'"
	assert_output '0 7'
}

# --- Diadoc

@test "emulator: diadoc events: protoc decodes every page; the after-key walk matches the truth" {
	local req='Filter { SortDirection: Ascending } Limit: 100 PopulateDocuments: true' after='' n pages=0
	: >"$T/got"
	while :; do
		dd "/V2/GetDocflowEvents?boxId=$BOX" GetDocflowEventsRequest "$req $after" | decode GetDocflowEventsResponse >"$T/page.txt"
		grep -q '^TotalCountType: Equal$' "$T/page.txt"
		grep -q '^TotalCount: 300$' "$T/page.txt"
		n=$(grep -c '^  EventId:' "$T/page.txt" || true)
		[ "$n" -eq 0 ] && break
		grep '^  EventId:' "$T/page.txt" | sed 's/.*"\(.*\)"/\1/' >>"$T/got"
		after="AfterIndexKey: $(grep '^  IndexKey:' "$T/page.txt" | tail -n 1 | sed 's/^  IndexKey: //')"
		pages=$((pages + 1))
	done
	assert_equal "$pages" 3
	curl -fsS "$EMU/_emulator/truth/diadoc-events?populateDocuments=1" | jq -r .EventId >"$T/want"
	run diff "$T/want" "$T/got"
	assert_success
	run bash -c "curl -fsS '$EMU/_emulator/log?api=diadoc-events' | jq -r '.params.after | length' | sort -u"
	assert_output '0
32'
}

@test "emulator: diadoc events: time filter, descending sort and the truth agree" {
	local from to
	from=$(curl -fsS "$EMU/_emulator/truth/diadoc-events" | jq -r '.Timestamp.Ticks' | sed -n 21p)
	to=$(curl -fsS "$EMU/_emulator/truth/diadoc-events" | jq -r '.Timestamp.Ticks' | sed -n 61p)
	dd "/V2/GetDocflowEvents?boxId=$BOX" GetDocflowEventsRequest "Filter { FromTimestamp { Ticks: $from } ToTimestamp { Ticks: $to } SortDirection: Descending }" |
		decode GetDocflowEventsResponse >"$T/page.txt"
	grep '^  EventId:' "$T/page.txt" | sed 's/.*"\(.*\)"/\1/' >"$T/got"
	curl -fsS "$EMU/_emulator/truth/diadoc-events?from=$from&to=$to&sort=Descending" | jq -r .EventId >"$T/want"
	run diff "$T/want" "$T/got"
	assert_success
	run grep -c . "$T/want"
	assert_output 41
	run grep '^TotalCount:' "$T/page.txt"
	assert_output 'TotalCount: 41'
}

@test "emulator: diadoc truth is MessageToDict: int64 as strings, bytes base64, enums by name" {
	run bash -c "curl -fsS '$EMU/_emulator/truth/diadoc-events?populateDocuments=1&populatePrevious=1' | jq -c 'select(.PreviousDocumentState) | [(.Timestamp.Ticks | type), (.IndexKey | length), (.Document.DocumentInfo.DocumentDirection | type), (.PreviousEventId | type)]' | sort -u"
	assert_output '["string",24,"string","string"]'
}

@test "emulator: diadoc errors: 401, 403, 405, bad key size, api_error with X-Diadoc-ErrorCode" {
	run curl -sS -o /dev/null -w '%{http_code} %header{x-diadoc-errorcode}' -X POST "$EMU/V2/GetDocflowEvents?boxId=$BOX"
	assert_output '401 Http.Unauthorized'
	run bash -c "$(declare -f dd); PROTO=$PROTO T=$T EMU=$EMU; dd '/V2/GetDocflowEvents?boxId=00000000-0000-0000-0000-000000000001' GetDocflowEventsRequest 'Filter {}' -o /dev/null -w '%{http_code} %header{x-diadoc-errorcode}'"
	assert_output '403 Http.Forbidden'
	run curl -sS -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer diadoc-secret-token' "$EMU/V2/GetDocflowEvents?boxId=$BOX"
	assert_output 405
	run bash -c "$(declare -f dd); PROTO=$PROTO T=$T EMU=$EMU; dd '/V2/GetDocflowEvents?boxId=$BOX' GetDocflowEventsRequest 'Filter {} AfterIndexKey: \"abc\"' -w ' %{http_code} %header{x-diadoc-errorcode} %{content_type}'"
	assert_output 'afterIndexKey query param has incorrect size 400 Http.BadRequest text/plain; charset=utf-8'
	emu_ctl 'faults?api=diadoc-packet&kind=api_error&status=402&message=Subscription%20ended' -X POST >/dev/null
	run bash -c "$(declare -f dd); PROTO=$PROTO T=$T EMU=$EMU; dd '/V5/GetDocflowsByPacketId?boxId=$BOX' GetDocflowsByPacketIdRequest 'PacketId: \"x\"' -w ' %{http_code} %header{x-diadoc-errorcode}'"
	assert_output 'Subscription ended 402 Http.PaymentRequired'
}

@test "emulator: diadoc is strict: boxId a GUID (400), a method path without its version (404), filter values" {
	local b v
	for b in nosuch "${BOX//-/}" "${BOX//-/}@diadoc.ru" "{$BOX}"; do
		run bash -c "$(declare -f dd); PROTO=$PROTO T=$T EMU=$EMU; dd '/V5/GetDocflowEvents?boxId=$b' GetDocflowEventsRequest 'Filter {}' -g -w ' %{http_code} %header{x-diadoc-errorcode} %{content_type}'"
		assert_output "boxId query param is not a GUID: $b 400 Http.BadRequest text/plain; charset=utf-8"
	done
	for v in '' V1 V3 V4; do
		run bash -c "$(declare -f dd); PROTO=$PROTO T=$T EMU=$EMU; dd '${v:+/$v}/GetDocflowEvents?boxId=$BOX' GetDocflowEventsRequest 'Filter {}' -o /dev/null -w '%{http_code}'"
		assert_output 404
	done
	run bash -c "$(declare -f dd); PROTO=$PROTO T=$T EMU=$EMU; dd '/V5/GetDocflowEvents?boxId=$BOX' GetDocflowEventsRequest 'Filter {} MessageTypes: \"Letters\"' -w ' %{http_code}'"
	assert_output "MessageTypes: unknown message type 'letters' 400"
	run bash -c "$(declare -f dd); PROTO=$PROTO T=$T EMU=$EMU; dd '/V5/GetDocflowEvents?boxId=$BOX' GetDocflowEventsRequest 'Filter {} CounteragentBoxId: \"abc@diadoc.ru\"' -w ' %{http_code}'"
	assert_output "CounteragentBoxId is not a GUID: abc@diadoc.ru 400"
}

@test "emulator: diadoc V2 and V5 serve the same dataset: ids, ticks, IndexKeys; truth per version" {
	emu_ctl 'reset?records=120' -X POST >/dev/null
	local v
	for v in 2 5; do
		emu_ctl "truth/diadoc-events?version=$v&populateDocuments=1" >"$T/t$v"
		jq -c '[.EventId, .Timestamp.Ticks, .IndexKey, .DocumentId.EntityId]' "$T/t$v" >"$T/k$v"
	done
	run cmp "$T/k2" "$T/k5"
	assert_success
	[ "$(wc -l <"$T/k5")" -eq 120 ]
	run jq -r '[.Document.LastEventId, .Document.LastEvent.EventId] | map(type) | join(" ")' "$T/t2"
	assert_line --index 0 'string null'
	run jq -r '.Document.DocumentInfo.FullVersion.TypeNamedId | type' "$T/t5"
	assert_line --index 0 'string'
	run curl -sS "$EMU/_emulator/truth/diadoc-events?version=4"
	assert_output --partial 'version: 2 or 5'
	dd "/V5/GetDocflowEvents?boxId=$BOX" GetDocflowEventsRequest 'Filter {} Limit: 3 PopulateDocuments: true' |
		decode GetDocflowEventsResponseV5 >"$T/page.txt"
	run grep -ac '^ *FullVersion {' "$T/page.txt"
	assert_output 3
}

@test "emulator: diadoc packets: every packet walks to its size; empty and short pages continue" {
	emu_ctl 'reset?records=300&diadoc_empty_pages=2&diadoc_short_pages=3' -X POST >/dev/null
	local id size got after pages empty
	for name in empty one hundred hundred-one big; do
		id=$(packet "$name" id); size=$(packet "$name" documents)
		got=0 after='' pages=0 empty=0
		while :; do
			dd "/V2/GetDocflowsByPacketId?boxId=$BOX" GetDocflowsByPacketIdRequest "PacketId: \"$id\" $after" |
				decode GetDocflowsByPacketIdResponse >"$T/page.txt"
			n=$(grep -c '^Documents {' "$T/page.txt" || true)
			got=$((got + n)) pages=$((pages + 1))
			grep -q '^NextPageIndexKey:' "$T/page.txt" || break
			[ "$n" -eq 0 ] && empty=$((empty + 1))
			after="AfterIndexKey: $(sed -n 's/^NextPageIndexKey: //p' "$T/page.txt")"
		done
		assert_equal "$name $got" "$name $size"
		[ "$name" != big ] || [ "$empty" -gt 0 ]
	done
	run bash -c "curl -fsS '$EMU/_emulator/truth/diadoc-packet?packetId=$(packet hundred-one id)' | jq -r '.Document.Docflow.PacketId' | sort | uniq -c | awk '{print \$1}'"
	assert_output 101
}

# --- DocsVision

@test "emulator: docsvision: open, read every page, close; rows match the truth" {
	local id pages cid k
	id=$(card big id)
	dv CursorOpenCardData "<instanceID>$id</instanceID><timestamp>0</timestamp>" >"$T/open.xml"
	xmllint --noout "$T/open.xml"
	pages=$(dvget "$T/open.xml" //d:PageCount)
	cid=$(dvget "$T/open.xml" //d:ID)
	[ "$pages" -gt 2 ]
	dvget "$T/open.xml" //d:FirstPage >"$T/p1.xml"
	xmllint --noout "$T/p1.xml"
	xmlstarlet sel -t -v '//row/RowID' -n "$T/p1.xml" >"$T/got"
	run dv CursorGetPageCount "<cursorId>$cid</cursorId>"
	assert_output --partial "<count>$pages</count>"
	for k in $(seq 2 "$pages"); do
		dv CursorReadPage "<cursorId>$cid</cursorId><pageNum>$k</pageNum>" >"$T/r.xml"
		xmllint --noout "$T/r.xml"
		dvget "$T/r.xml" //d:data >"$T/pk.xml"
		xmllint --noout "$T/pk.xml"
		xmlstarlet sel -t -v '//row/RowID' -n "$T/pk.xml" >>"$T/got"
	done
	run bash -c "$(declare -f dv); DVNS='$DVNS' EMU=$EMU; dv CursorReadPage '<cursorId>$cid</cursorId><pageNum>$((pages + 1))</pageNum>' -w '%{http_code}' | tail -c 3"
	assert_output 500
	run dv CursorClose "<cursorId>$cid</cursorId>"
	assert_output --partial '<CursorCloseResponse xmlns="http://schemas.docsvision.com/Platform/2009-02-03/StorageServer/" />'
	run bash -c "$(declare -f dv); DVNS='$DVNS' EMU=$EMU; dv CursorReadPage '<cursorId>$cid</cursorId><pageNum>2</pageNum>' | xmlstarlet sel -t -v //faultstring"
	assert_output 'Cursor not found'
	curl -fsS "$EMU/_emulator/truth/docsvision?card=$id" | jq -r .RowID >"$T/want"
	run diff "$T/want" "$T/got"
	assert_success
	run bash -c "curl -fsS '$EMU/_emulator/log?api=docsvision' | jq -r 'select(.params.op == \"CursorClose\") | .params.cursorId'"
	assert_output "$cid"
	run bash -c "curl -fsS '$EMU/_emulator/info' | jq -c .open_cursors"
	assert_output '[]'
}

@test "emulator: docsvision: unchanged timestamp gives no cursorInfo; an edit changes it" {
	local id ts
	id=$(card small id); ts=$(card small timestamp)
	dv CursorRefreshCardData "<instanceId>$id</instanceId><timestamp>$ts</timestamp>" >"$T/r.xml"
	run dvget "$T/r.xml" 'count(//d:cursorInfo)'
	assert_output 0
	run emu_ctl "docsvision/edit?card=$id" -X POST
	assert_output "{\"card\":\"$id\",\"timestamp\":$((ts + 101)),\"rows\":4}"
	dv CursorRefreshCardData "<instanceId>$id</instanceId><timestamp>$ts</timestamp>" >"$T/r.xml"
	run dvget "$T/r.xml" '//d:timestamp'
	assert_output "$((ts + 101))"
	run dvget "$T/r.xml" '//d:RowCount'
	assert_output 4
	run dvget "$T/r.xml" '//d:ID'
	assert_output 00000000-0000-0000-0000-000000000000
	# the empty card: no pages, an empty rows document
	dv CursorOpenCardData "<instanceID>$(card empty id)</instanceID><timestamp>0</timestamp>" >"$T/e.xml"
	run dvget "$T/e.xml" 'concat(//d:PageCount, " ", //d:RowCount, " ", //d:FirstPage)'
	assert_output '0 0 <rows/>'
}

@test "emulator: docsvision: compressed pages in raw deflate, zlib and gzip" {
	local c id inflate
	id=$(card medium id)
	for c in deflate zlib gzip; do
		emu_ctl "reset?records=300&docsvision_compression=$c" -X POST >/dev/null
		dv CursorOpenCardData "<instanceID>$id</instanceID><timestamp>0</timestamp>" >"$T/o.xml"
		run dvget "$T/o.xml" //d:UsingCompression
		assert_output true
		case $c in
		deflate) inflate='import sys,zlib; sys.stdout.buffer.write(zlib.decompress(sys.stdin.buffer.read(), -15))' ;;
		zlib) inflate='import sys,zlib; sys.stdout.buffer.write(zlib.decompress(sys.stdin.buffer.read()))' ;;
		gzip) inflate='import sys,gzip; sys.stdout.buffer.write(gzip.decompress(sys.stdin.buffer.read()))' ;;
		esac
		dvget "$T/o.xml" //d:FirstPage | base64 -d | /usr/bin/python3 -c "$inflate" >"$T/p.xml"
		xmllint --noout "$T/p.xml"
		run bash -c "xmlstarlet sel -t -v '(//row/RowID)[1]' '$T/p.xml'"
		assert_output "$(curl -fsS "$EMU/_emulator/truth/docsvision?card=$id" | head -n 1 | jq -r .RowID)"
	done
	# only gzip has a magic number that file(1)-style sniffing finds
	run bash -c "$(declare -f dv dvget); DVNS='$DVNS' EMU=$EMU; dv CursorOpenCardData '<instanceID>$id</instanceID><timestamp>0</timestamp>' >'$T/o.xml'; dvget '$T/o.xml' //d:FirstPage | base64 -d | head -c 2 | od -An -tx1"
	assert_output ' 1f 8b'
}

@test "emulator: docsvision: auth, SOAPAction and session are checked" {
	run curl -sS -o /dev/null -w '%{http_code}' -X POST "$EMU/DocsVision/StorageServer/StorageServerService.asmx"
	assert_output 401
	run bash -c "curl -sS -u docsvision:dv-secret -H 'SOAPAction: \"nope\"' --data-binary '<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body><CursorClose xmlns=\"$DVNS\"/></soap:Body></soap:Envelope>' '$EMU/DocsVision/StorageServer/StorageServerService.asmx' | xmlstarlet sel -t -v //faultcode -o ' ' -v //faultstring"
	assert_output 'soap:Client Server did not recognize the value of HTTP Header SOAPAction: nope.'
	run bash -c "curl -sS -u docsvision:dv-secret -H 'SOAPAction: \"${DVNS}CursorClose\"' --data-binary '<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body><CursorClose xmlns=\"$DVNS\"><sessionId>bad</sessionId></CursorClose></soap:Body></soap:Envelope>' '$EMU/DocsVision/StorageServer/StorageServerService.asmx' | xmlstarlet sel -t -v //faultcode"
	assert_output 'soap:Client'
	run bash -c "curl -sS -u docsvision:dv-secret -H 'SOAPAction: \"${DVNS}CursorClose\"' --data-binary '<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body><CursorClose xmlns=\"$DVNS\"><sessionId>{00000000-0000-0000-0000-00000000000A}</sessionId></CursorClose></soap:Body></soap:Envelope>' '$EMU/DocsVision/StorageServer/StorageServerService.asmx' | xmlstarlet sel -t -v //faultstring"
	assert_output 'Invalid session'
	run bash -c "$(declare -f dv); DVNS='$DVNS' EMU=$EMU; dv SessionLogin '<baseName/>' | xmlstarlet sel -N d='$DVNS' -t -v //d:sessionId"
	assert_output --regexp '^[0-9a-f-]{36}$'
	emu_ctl 'faults?api=docsvision&kind=soap_fault&message=Boom&op=CursorGetPageCount' -X POST >/dev/null
	run bash -c "$(declare -f dv); DVNS='$DVNS' EMU=$EMU; dv CursorGetPageCount '<cursorId>00000000-0000-0000-0000-000000000001</cursorId>' | xmlstarlet sel -t -v //faultcode -o ' ' -v //faultstring"
	assert_output 'soap:Server Boom'
}

@test "emulator: docsvision: NTLM as IIS does it, checked with curl's own NTLMv2; sessions counted" {
	emu_ctl 'reset?docsvision_auth=ntlm' -X POST >/dev/null
	local url="$EMU/DocsVision/StorageServer/StorageServerService.asmx" body
	body="<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body><SessionLogin xmlns=\"$DVNS\"><baseName/></SessionLogin></soap:Body></soap:Envelope>"
	run curl -sS -o /dev/null -w '%{http_code}' -u docsvision:dv-secret -H "SOAPAction: \"${DVNS}SessionLogin\"" --data-binary "$body" "$url"
	assert_output 401
	run curl -sS -o /dev/null -D - -u docsvision:dv-secret -H "SOAPAction: \"${DVNS}SessionLogin\"" --data-binary "$body" "$url"
	assert_line --partial 'WWW-Authenticate: NTLM'
	run curl -sS -o /dev/null -w '%{http_code}' --ntlm -u 'EMU\docsvision:dv-secret' -H "SOAPAction: \"${DVNS}SessionLogin\"" --data-binary "$body" "$url"
	assert_output 200
	run curl -sS -o /dev/null -w '%{http_code}' --ntlm -u docsvision:dv-Secret -H "SOAPAction: \"${DVNS}SessionLogin\"" --data-binary "$body" "$url"
	assert_output 401
	assert_equal "$(emu_ctl info | jq '.open_sessions | length')" 1
}

# --- generic faults

@test "emulator: http fault: 503 and 429 with Retry-After in seconds and as an HTTP-date" {
	emu_ctl 'faults?api=datamill&kind=http&status=503&retry_after=7&on=1' -X POST >/dev/null
	emu_ctl 'faults?api=datamill&kind=http&status=429&retry_after=date:60&on=2' -X POST >/dev/null
	local q='query=<query class="TWorker"/>'
	run curl -sS -o /dev/null -w '%{http_code} %header{retry-after}' -G --data-urlencode "$q" "$EMU/datamill/cursor.xml"
	assert_output '503 7'
	run curl -sS -o /dev/null -w '%{http_code} %header{retry-after}' -G --data-urlencode "$q" "$EMU/datamill/cursor.xml"
	assert_output --regexp '^429 [A-Z][a-z]{2}, [0-9]{2} [A-Z][a-z]{2} [0-9]{4} [0-9:]{8} GMT$'
	run curl -sS -o /dev/null -w '%{http_code}' -G --data-urlencode "$q" "$EMU/datamill/cursor.xml"
	assert_output 200
}

@test "emulator: fault timing: on=, every=, times=, and seeded prob= repeat exactly" {
	local q='query=<query class="TWorker"/>' i
	emu_ctl 'faults?api=datamill&kind=http&status=502&on=2,4' -X POST >/dev/null
	for i in 1 2 3 4 5; do curl -sS -o /dev/null -w '%{http_code} ' -G --data-urlencode "$q" "$EMU/datamill/cursor.xml"; done >"$T/a"
	run cat "$T/a"
	assert_output '200 502 200 502 200 '
	emu_ctl faults -X DELETE >/dev/null
	emu_ctl 'faults?api=datamill&kind=http&status=500&every=2&times=2' -X POST >/dev/null
	for i in 1 2 3 4 5 6 7 8; do curl -sS -o /dev/null -w '%{http_code} ' -G --data-urlencode "$q" "$EMU/datamill/cursor.xml"; done >"$T/b"
	run cat "$T/b"
	assert_output '200 500 200 500 200 200 200 200 '
	for k in 1 2; do
		emu_ctl faults -X DELETE >/dev/null
		emu_ctl 'faults?api=datamill&kind=http&status=503&prob=0.5&seed=42' -X POST >/dev/null
		for i in $(seq 12); do curl -sS -o /dev/null -w '%{http_code} ' -G --data-urlencode "$q" "$EMU/datamill/cursor.xml"; done >"$T/p$k"
	done
	run diff "$T/p1" "$T/p2"
	assert_success
	grep -q 503 "$T/p1"
	grep -q 200 "$T/p1"
}

@test "emulator: close fault: full Content-Length, half the body, then the connection closes" {
	emu_ctl 'faults?api=mercury&kind=close&on=1' -X POST >/dev/null
	run merc 10 0 5 -o "$T/x"
	assert_failure 18
	run merc 10 0 5 -o "$T/x"
	assert_success
}

@test "emulator: stall fault outlasts a client timeout" {
	emu_ctl 'faults?api=diadoc-events&kind=stall&seconds=5&on=1' -X POST >/dev/null
	run dd "/V2/GetDocflowEvents?boxId=$BOX" GetDocflowEventsRequest 'Filter {}' -m 1 -o "$T/x"
	assert_failure 28
}

@test "emulator: drip fault still delivers the whole body" {
	emu_ctl 'faults?api=mercury&kind=drip&bytes_per_sec=200000&on=1' -X POST >/dev/null
	merc 20 0 5 >"$T/drip.xml"
	merc 20 0 5 >"$T/fast.xml"
	run cmp "$T/drip.xml" "$T/fast.xml"
	assert_success
	run bash -c "curl -fsS '$EMU/_emulator/log' | jq -r .fault | head -n 1"
	assert_output drip
}

@test "emulator: malformed and truncated bodies fail the parsers, not HTTP" {
	emu_ctl 'faults?api=mercury&kind=malformed&on=1' -X POST >/dev/null
	emu_ctl 'faults?api=mercury&kind=truncated&on=2' -X POST >/dev/null
	merc 10 0 5 -f -o "$T/m.xml"
	run xmllint --noout "$T/m.xml"
	assert_failure
	merc 10 0 5 -f -o "$T/t.xml"
	run xmllint --noout "$T/t.xml"
	assert_failure
	emu_ctl 'faults?api=diadoc-events&kind=malformed&on=1' -X POST >/dev/null
	run bash -c "$(declare -f dd decode); PROTO=$PROTO T=$T EMU=$EMU; dd '/V2/GetDocflowEvents?boxId=$BOX' GetDocflowEventsRequest 'Filter {}' -f | decode GetDocflowEventsResponse"
	assert_failure
	emu_ctl 'faults?api=datamill&kind=malformed&on=1' -X POST >/dev/null
	run bash -c "curl -fsS --data-urlencode 'query=<query class=\"TWorker\"/>' '$EMU/datamill/cursor.json' | jq -e . >/dev/null"
	assert_failure
}

@test "emulator: a spoiled packet does not advance the Data Mill cursor" {
	local h
	h=$(curl -fsS --data-urlencode 'query=<query class="TWorker"/>' "$EMU/datamill/cursor.json" | jq -r .handle)
	emu_ctl 'faults?api=datamill&kind=truncated&on=1' -X POST >/dev/null
	curl -fsS -G --data-urlencode "query=$h" "$EMU/datamill/cursor.json" -o /dev/null
	run bash -c "curl -fsS -G --data-urlencode 'query=$h' '$EMU/datamill/cursor.json' | jq -r '.data[0].TabNumber'"
	assert_output "$(curl -fsS "$EMU/_emulator/truth/datamill" | jq -s -r ".[$(curl -fsS "$EMU/_emulator/log?api=datamill" | jq -s '.[0].records')].TabNumber")"
}

@test "emulator: refuse fault closes the port for a while, then the same port answers" {
	emu_ctl 'faults?api=datamill&kind=refuse&seconds=1&on=1' -X POST >/dev/null
	run curl -sS -m 5 -o /dev/null --data-urlencode 'query=<query/>' "$EMU/datamill/cursor.xml"
	assert_failure 52
	run curl -sS -m 5 -o /dev/null "$EMU/_emulator/info"
	assert_failure 7
	local i
	for i in $(seq 50); do curl -fsS -m 5 -o /dev/null "$EMU/_emulator/info" 2>/dev/null && break; sleep 0.1; done
	run curl -sS -m 5 -o /dev/null -w '%{http_code}' "$EMU/_emulator/info"
	assert_output 200
}

# --- log, reset, connections, TLS, size

@test "emulator: the log records method, path, key parameters, status, fault" {
	merc 7 14 3 >/dev/null
	run bash -c "curl -fsS '$EMU/_emulator/log' | jq -c '[.n, .api, .method, .path, .params, .status, .fault, .records]'"
	assert_output '[1,"mercury","POST","/platform/services/2.0/ProductService",{"count":7,"offset":14,"productType":3},200,null,7]'
}

@test "emulator: keep-alive: many requests on one connection; info counts connections" {
	local c0 urls=() i
	c0=$(emu_ctl info | jq .connections)
	for i in $(seq 50); do urls+=("$EMU/_emulator/faults"); done
	curl -fsS "${urls[@]}" >/dev/null
	run bash -c "curl -fsS '$EMU/_emulator/info' | jq .connections"
	assert_output "$((c0 + 2))"
}

@test "emulator: reset to zero records: every truth is empty and pages are empty" {
	emu_ctl 'reset?records=0' -X POST >/dev/null
	local api
	for api in mercury datamill diadoc-events; do
		run bash -c "curl -fsS '$EMU/_emulator/truth/$api' | wc -l"
		assert_output 0
	done
	run bash -c "$(declare -f merc); EMU=$EMU; merc 10 0 5 | xmlstarlet sel $MNS -t -v '//dt:productList/@total'"
	assert_output 0
	run bash -c "curl -fsS --data-urlencode 'query=<query class=\"TWorker\"/>' '$EMU/datamill/cursor.json' | jq -c '[.eof, .data]'"
	assert_output '[true,[]]'
	run bash -c "curl -fsS '$EMU/_emulator/truth/docsvision?card=big' | wc -l"
	assert_output 0
}

@test "emulator: the same seed gives the same data; another seed another" {
	curl -fsS "$EMU/_emulator/truth/datamill" >"$T/a"
	emu_ctl 'reset?records=300&seed=2' -X POST >/dev/null
	curl -fsS "$EMU/_emulator/truth/datamill" >"$T/b"
	emu_ctl 'reset?records=300&seed=1' -X POST >/dev/null
	curl -fsS "$EMU/_emulator/truth/datamill" >"$T/c"
	run cmp -s "$T/a" "$T/b"
	assert_failure
	run cmp "$T/a" "$T/c"
	assert_success
}

@test "emulator: the data is hard: Cyrillic, metacharacters, non-BMP, 10 KB strings, nulls" {
	emu_ctl 'reset?records=2000' -X POST >/dev/null
	curl -fsS "$EMU/_emulator/truth/datamill" >"$T/dm"
	run jq -s -c '[any(.[]; .Note == null), any(.[]; (.Note // "") | test("[&<>\"\u0027]")), any(.[]; (.Note // "") | test("😀|𝄞")), any(.[]; (.Note // "") | utf8bytelength >= 10240), any(.[]; (.Note // "") | test("\\\\")), any(.[]; .LastName | test("^[А-Яа-яЁё]+$"))]' "$T/dm"
	assert_output '[true,true,true,true,true,true]'
}

@test "emulator: TLS with a self-signed certificate written at start" {
	"$ROOT/tests/emulator/run" --records 5 --tls-cert "$T/cert.pem" >"$T/out" 2>"$T/err" &
	local pid=$! i
	for i in $(seq 100); do [ -s "$T/out" ] && break; sleep 0.05; done
	local url; url=$(head -n 1 "$T/out")
	[[ $url == https://127.0.0.1:* ]]
	run curl -sS -m 5 -o /dev/null -w '%{http_code}' --cacert "$T/cert.pem" "$url/_emulator/info"
	assert_output 200
	run curl -sS -m 5 -o /dev/null -w '%{http_code}' --cacert "$T/cert.pem" "https://localhost:${url##*:}/_emulator/info"
	assert_output 200
	run curl -sS -m 5 -o /dev/null "$url/_emulator/info"
	assert_failure 60
	kill "$pid"; wait "$pid" || true
}

@test "emulator: --tls-max 1.2 serves TLS 1.2 only; TLS 1.3 by default" {
	"$ROOT/tests/emulator/run" --records 5 --tls-cert "$T/cert.pem" --tls-max 1.2 >"$T/out" 2>"$T/err" &
	local pid=$! i
	for i in $(seq 100); do [ -s "$T/out" ] && break; sleep 0.05; done
	local url; url=$(head -n 1 "$T/out")
	run bash -c "curl -sS -m 5 -v -o /dev/null --cacert '$T/cert.pem' '$url/_emulator/info' 2>&1 | grep -o 'SSL connection using TLSv1\.[0-9]'"
	assert_output 'SSL connection using TLSv1.2'
	run curl -sS -m 5 -o /dev/null --tlsv1.3 --cacert "$T/cert.pem" "$url/_emulator/info"
	assert_failure 35
	kill "$pid"; wait "$pid" || true
	"$ROOT/tests/emulator/run" --records 5 --tls-cert "$T/cert.pem" >"$T/out" 2>"$T/err" &
	pid=$!
	for i in $(seq 100); do [ -s "$T/out" ] && break; sleep 0.05; done
	url=$(head -n 1 "$T/out")
	run bash -c "curl -sS -m 5 -v -o /dev/null --cacert '$T/cert.pem' '$url/_emulator/info' 2>&1 | grep -o 'SSL connection using TLSv1\.[0-9]'"
	assert_output 'SSL connection using TLSv1.3'
	kill "$pid"; wait "$pid" || true
}

@test "emulator: a million records start at once and pages from the far end are served" {
	"$ROOT/tests/emulator/run" --records 1000000 >"$T/out" 2>"$T/err" &
	local pid=$! i
	for i in $(seq 100); do [ -s "$T/out" ] && break; sleep 0.05; done
	local url; url=$(head -n 1 "$T/out")
	run bash -c "curl -fsS -m 10 '$url/_emulator/info' | jq -c '[.records.datamill, .mercury.totals[\"5\"], (.packets[] | select(.name == \"big\") | .documents)]'"
	assert_output '[1000000,300000,1000000]'
	run bash -c "EMU=$url; $(declare -f merc); merc 10 299995 5 | xmlstarlet sel $MNS -t -v '//dt:productList/@count'"
	assert_output 5
	run bash -c "curl -fsS -m 10 --data-urlencode 'query=<query class=\"TWorker\"/>' '$url/datamill/cursor.json' | jq -c '[.eof, .data[0].TabNumber]'"
	assert_output '[false,"100000"]'
	run bash -c "curl -fsS -m 10 '$url/_emulator/truth/diadoc-packet?packetId=$(curl -fsS "$url/_emulator/info" | jq -r '.packets[] | select(.name == "one") | .id')' | wc -l"
	assert_output 1
	[ "$(ps -o rss= -p "$pid")" -lt 150000 ]
	kill "$pid"; wait "$pid" || true
}

@test "emulator: CONFORMANCE.md has every option that shapes an API's answers in that API's section, and in no other" {
	# Dataset sizes, credentials and aliases shape no behaviour of the service: left out.
	python3 - "$ROOT/tests/emulator/README.md" "$ROOT/tests/emulator/CONFORMANCE.md" <<'PY'
import re, sys
readme, conf = (open(f, encoding='utf-8').read() for f in sys.argv[1:])
rows = [l.split('|')[1] for l in readme.split('\n') if l.startswith('| `--')]
opts = sorted({o for cell in rows for o in re.findall(r'--(?:docsvision|diadoc|datamill|mercury)-[a-z-]+', cell)
               if not re.search(r'-(records|user|password|client-id|token|no-auth)$', o)})
api = {'docsvision': 'DocsVision', 'diadoc': 'Diadoc', 'datamill': 'Data Mill', 'mercury': 'Mercury'}
sections = re.split(r'^## ', conf, flags=re.M)[1:]
bad = []
for o in opts:
    name = api[o.split('-')[2]]
    for s in sections:
        mine = s.startswith(name)
        if mine != (o in s) and (not mine or not any(o in t for t in sections if t.startswith(name))):
            bad.append('%s: %s section %s' % (o, s.split('\n')[0], 'lacks it' if mine else 'names it'))
print('\n'.join(bad))
sys.exit(1 if bad or not opts else 0)
PY
}

@test "emulator: CONFORMANCE.md: every row has a behaviour, a source and, where the source says decided, how a wrong guess shows" {
	python3 - "$ROOT/tests/emulator/CONFORMANCE.md" <<'PY'
import re, sys
bad, n = [], 0
for l in open(sys.argv[1], encoding='utf-8'):
    if not l.startswith('| ') or l.startswith('| behaviour'):
        continue
    n += 1
    cells = [c.strip() for c in re.split(r'\s\|\s', l.strip().strip('|'))]
    if len(cells) != 3 or not cells[0] or not cells[1]:
        bad.append('not three cells: ' + l[:80])
    elif re.search(r'decided', cells[1], re.I) and cells[2] in ('—', '-', ''):
        bad.append('decided, but no word on a wrong guess: ' + cells[0][:80])
print('\n'.join(bad))
sys.exit(1 if bad or n < 100 else 0)
PY
}
