#!/usr/bin/env bats
# paginate against the emulator: the pagination pattern of each API, with fetch-page and the
# decoders as page commands (tests/fixtures/paginate/emu/), compared with the emulator's
# ground truth (every record exactly once); faults on the wire; and the crash test:
# kill -9 at seeded random instants, resume with --state and -o, nothing lost or doubled.
load helpers
bats_require_minimum_version 1.5.0

E="$FIX/paginate/emu"
DM_QUERY='<query class="TWorker"><item part="0" name="TabNumber"/><item part="0" name="LastName"/><item part="0" name="Salary"/></query>'

setup_file() {
	emu_start --records 400
	local info
	info=$(emu_ctl info)
	BOX=$(jq -r .box_id <<<"$info")
	DIADOC_AUTH=$(jq -r .credentials.diadoc.authorization <<<"$info")
	PACKET=$(jq -r '.packets[] | select(.name == "big") | .id' <<<"$info")
	DV_SESSION=$(jq -r .session_id <<<"$info")
	export BOX DIADOC_AUTH PACKET DM_QUERY MERCURY_CREDS=mercury:mercury-secret PRODUCT_TYPE=5
	export DV_CREDS=docsvision:dv-secret DV_SESSION
}

teardown_file() {
	emu_stop
}

setup() {
	cd "$BATS_TEST_TMPDIR" || return 1
	emu_ctl reset -X POST >/dev/null
}

# same_as_truth FILE API [QUERY]: FILE holds exactly the records of the truth, each once.
same_as_truth() {
	emu_ctl "truth/$2" -G ${3:+--data-urlencode "$3"} | jq -cS . | sort >truth.sorted
	jq -cS . "$1" | sort >out.sorted
	[ -s truth.sorted ] || fail "empty truth"
	diff -q out.sorted truth.sorted >/dev/null ||
		fail "$(wc -l <out.sorted) records, $(sort -u out.sorted | wc -l) distinct; truth $(wc -l <truth.sorted)"
}

@test "paginate-emulator: Data Mill JSON: the same handle until eof, in every eof style" {
	for settings in "" "datamill_eof_style=string" "datamill_eof_style=number" "datamill_omit_eof=1&datamill_max_objects=37"; do
		emu_ctl "reset?$settings" -X POST >/dev/null
		run --separate-stderr paginate -s cursor --token-field handle --token-repeats --done-field eof \
			-o out -- "$E/datamill"
		assert_success
		[[ "$stderr" == "paginate: stop: eof is true; "*" pages, 400 records" ]]
		same_as_truth out datamill "query=$DM_QUERY"
	done
}

@test "paginate-emulator: Data Mill: a 503 and a connection closed mid-body are retried, nothing doubled" {
	emu_ctl 'faults?api=datamill&kind=http&status=503&on=2' -X POST >/dev/null
	emu_ctl 'faults?api=datamill&kind=close&on=4' -X POST >/dev/null
	run --separate-stderr paginate -s cursor --token-field handle --token-repeats --done-field eof \
		--retry-delay 0 -o out -- "$E/datamill"
	assert_success
	[ "$(grep -c 'retry 1 of 5' <<<"$stderr")" = 2 ]
	same_as_truth out datamill "query=$DM_QUERY"
}

@test "paginate-emulator: Diadoc events: after the last IndexKey until an empty page, exact total" {
	run --separate-stderr paginate -s after-key --key-field IndexKey --page-size 30 --total-field total \
		--total-if type=Equal --strict -o out -- "$E/diadoc-events"
	assert_success
	[ "$stderr" = "paginate: stop: empty page; 15 pages, 400 records" ]
	same_as_truth out diadoc-events
}

@test "paginate-emulator: Diadoc events: a capped TotalCount (GreaterThanOrEqual) is not checked" {
	emu_ctl 'reset?diadoc_total_cap=100&diadoc_short_pages=3' -X POST >/dev/null
	run --separate-stderr paginate -s after-key --key-field IndexKey --total-field total \
		--total-if type=Equal --strict -o out -- "$E/diadoc-events"
	assert_success
	[[ "$stderr" == "paginate: stop: empty page; "*" pages, 400 records" ]]
	same_as_truth out diadoc-events
}

@test "paginate-emulator: Diadoc events: an API error 503 is retried, a 403 stops with exit 69" {
	emu_ctl 'faults?api=diadoc-events&kind=api_error&status=503&on=3' -X POST >/dev/null
	run --separate-stderr paginate -s after-key --key-field IndexKey -o out --retry-delay 0 -- "$E/diadoc-events"
	assert_success
	same_as_truth out diadoc-events
	emu_ctl 'faults?api=diadoc-events&kind=api_error&status=403&on=2' -X POST >/dev/null
	run --separate-stderr paginate -s after-key --key-field IndexKey -o out -- "$E/diadoc-events"
	echo "$stderr"	# shown if the test fails
	assert_failure 69
	[ "$(wc -l <out)" = 100 ]
}

@test "paginate-emulator: Diadoc packet: NextPageIndexKey through empty and short pages" {
	emu_ctl 'reset?diadoc_empty_pages=3&diadoc_short_pages=4&diadoc_trailing_empty=1&records=1000' -X POST >/dev/null
	run --separate-stderr paginate -s cursor --token-field next -o out -- "$E/diadoc-packet"
	assert_success
	[[ "$stderr" == "paginate: stop: no next; "*" pages, 1000 records" ]]
	same_as_truth out diadoc-packet "packetId=$PACKET"
}

@test "paginate-emulator: Diadoc packet: an empty packet, and one of exactly one page" {
	for name in empty hundred; do
		PACKET=$(emu_ctl info | jq -r ".packets[] | select(.name == \"$name\") | .id")
		run --separate-stderr env PACKET="$PACKET" paginate -s cursor --token-field next -o out -- "$E/diadoc-packet"
		assert_success
		[ "$stderr" = "paginate: stop: no next; 1 page, $([ $name = empty ] && echo 0 || echo 100) records" ]
	done
}

need_xml2ndjson() {
	command -v xml2ndjson >/dev/null || skip "xml2ndjson is not built yet"
}

@test "paginate-emulator: Mercury: offsets up to the declared total, 4 pages at once" {
	need_xml2ndjson
	run --separate-stderr paginate --page-size 7 --total-field total -P 4 --strict -o out -- "$E/mercury"
	assert_success
	[ "$stderr" = "paginate: stop: offset 120 reached the total 120; 18 pages, 120 records" ]
	same_as_truth out mercury productType=5
}

@test "paginate-emulator: Mercury: hasMore false ends it; offsetOutOfRangeFault can end it" {
	need_xml2ndjson
	emu_ctl 'reset?mercury_has_more=1' -X POST >/dev/null
	run --separate-stderr paginate --page-size 50 --has-more-field hasMore -o out -- "$E/mercury"
	assert_success
	[ "$stderr" = "paginate: stop: hasMore is false; 3 pages, 120 records" ]
	same_as_truth out mercury productType=5
	run --separate-stderr paginate --start-offset 500 --end-on-fault offsetOutOfRangeFault -- "$E/mercury"
	assert_success
	assert_output ""
	[ "${stderr##*$'\n'}" = "paginate: stop: fault offsetOutOfRangeFault ends the data; 0 pages, 0 records" ]
	run --separate-stderr paginate --start-offset 500 -- "$E/mercury"
	assert_failure 3
	[[ "$stderr" == *"paginate: page 1: fault offsetOutOfRangeFault: Offset out of range"* ]]
}

@test "paginate-emulator: Mercury: internalServiceFault, a 503, a closed connection are retried, in parallel" {
	need_xml2ndjson
	emu_ctl 'faults?api=mercury&kind=soap_fault&name=internalServiceFault&on=3' -X POST >/dev/null
	emu_ctl 'faults?api=mercury&kind=http&status=503&on=6' -X POST >/dev/null
	emu_ctl 'faults?api=mercury&kind=close&on=9' -X POST >/dev/null
	run --separate-stderr paginate --page-size 10 --total-field total -P 3 --retry-delay 0 \
		--retry-on-fault internalServiceFault -o out -- "$E/mercury"
	assert_success
	# three faulty requests, three retries (one may hit a retry of a page that failed already)
	[ "$(grep -c 'retry [123] of 5' <<<"$stderr")" = 3 ]
	same_as_truth out mercury productType=5
}

@test "paginate-emulator: Mercury: products inserted during the run: exit 75, and the next run is exact" {
	need_xml2ndjson
	emu_ctl 'faults?api=mercury&kind=insert&count=3&on=3' -X POST >/dev/null
	run --separate-stderr paginate --page-size 20 --total-field total --state st -o out -- "$E/mercury"
	assert_failure 75
	[[ "$stderr" == *"paginate: page 3: the declared total changed from 120 to 123: records moved under the offsets; the run must start again"* ]]
	[[ "$stderr" == *"paginate: st removed: the next run starts from the first page"* ]]
	[ ! -e st ]
	run -0 paginate --page-size 20 --total-field total --state st -o out -q -- "$E/mercury"
	[ "$(wc -l <out)" -eq 123 ]
	same_as_truth out mercury productType=5
}

@test "paginate-emulator: Mercury: kill -9 during parallel runs, resume: exactly once" {
	need_xml2ndjson
	truth=$(emu_ctl truth/mercury -G -d productType=5 | jq -cS . | sort | sha1sum)
	RANDOM=75
	for trial in $(seq 1 6); do
		rm -f st out
		for attempt in 1 2 3; do
			paginate --page-size 7 --total-field total -P 4 --state st -o out -q -- "$E/mercury" &
			pid=$!
			sleep "0.$((RANDOM % 3))$((RANDOM % 10))"
			kill -9 "$pid" 2>/dev/null || true
			wait "$pid" 2>/dev/null && break
		done
		paginate --page-size 7 --total-field total -P 4 --state st -o out -q -- "$E/mercury"
		[ "$(jq -cS . out | sort | sha1sum)" = "$truth" ] || fail "trial $trial: records lost or doubled"
	done
}

@test "paginate-emulator: DocsVision: page 1 opens the cursor, declares the count and the id; 3 at once" {
	need_xml2ndjson
	for card in $(emu_ctl info | jq -r '.cards[] | "\(.id):\(.rows):\(.pages)"'); do
		IFS=: read -r CARD rows pages <<<"$card"
		export CARD
		run --separate-stderr paginate -s pages --page-count-field pages --token-field cursor -P 3 \
			-o out -- "$E/docsvision"
		echo "$stderr"	# shown if the test fails
		assert_success
		local n=$((pages ? pages : 1))
		[ "$stderr" = "paginate: stop: page count $pages reached; $n page$([ "$n" = 1 ] || echo s), $rows records" ]
		[ "$rows" = 0 ] || same_as_truth out docsvision "card=$CARD"
	done
}

@test "paginate-emulator: kill -9 at 20 seeded instants, resume with --state and -o: exactly once" {
	truth=$(emu_ctl truth/diadoc-events | jq -cS . | sort | sha1sum)
	RANDOM=20261122
	kills=0
	for trial in $(seq 1 20); do
		rm -f st out
		for attempt in 1 2 3; do
			paginate -s after-key --key-field IndexKey --page-size 40 --state st -o out -q \
				-- "$E/diadoc-events" &
			pid=$!
			sleep "0.$((RANDOM % 2))$((RANDOM % 10))$((RANDOM % 10))"
			kill -9 "$pid" 2>/dev/null && kills=$((kills + 1))
			wait "$pid" 2>/dev/null && break
		done
		paginate -s after-key --key-field IndexKey --page-size 40 --state st -o out -q -- "$E/diadoc-events"
		[ "$(jq -cS . out | sort | sha1sum)" = "$truth" ] || fail "trial $trial: records lost or doubled"
		! grep -q -e diadoc-secret-token -e DiadocAuth st || fail "a secret in the state file"
	done
	echo "$kills kills"
	[ "$kills" -ge 20 ]
}

# ---- page commands without a shell (--pipeline) ------------------------------------------------

@test "paginate-emulator: Mercury with --pipeline: fetch-page '|' xml2ndjson, sequential and -P 8, faults retried" {
	need_xml2ndjson
	local dt=http://api.vetrf.ru/schema/cdm/dictionary/v2
	local cmd=(fetch-page -s -m 20 --user-env MERCURY_CREDS --soap-action GetProductByTypeList
		--variable %PAGE_SIZE --variable %PAGE_OFFSET --expand-data "<soapenv:Envelope \
xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" xmlns:ws=\"http://api.vetrf.ru/schema/cdm/registry/ws-definitions/v2\" \
xmlns:bs=\"http://api.vetrf.ru/schema/cdm/base\" xmlns:dt=\"$dt\"><soapenv:Body><ws:getProductByTypeListRequest>\
<bs:listOptions><bs:count>{{PAGE_SIZE}}</bs:count><bs:offset>{{PAGE_OFFSET}}</bs:offset></bs:listOptions>\
<dt:productType>5</dt:productType></ws:getProductByTypeListRequest></soapenv:Body></soapenv:Envelope>"
		"$EMU/platform/services/2.0/ProductService"
		'|' xml2ndjson -N "dt=$dt" --records //dt:productList/dt:product --meta total=//dt:productList/@total)
	for p in 1 8; do
		emu_ctl reset -X POST >/dev/null
		emu_ctl 'faults?api=mercury&kind=http&status=503&on=3' -X POST >/dev/null
		emu_ctl 'faults?api=mercury&kind=close&on=5' -X POST >/dev/null
		run --separate-stderr paginate --page-size 7 --total-field total -P "$p" --retry-delay 0 \
			-o out --pipeline -- "${cmd[@]}"
		assert_success
		[ "$(grep -c 'retry [12] of 5' <<<"$stderr")" = 2 ]
		same_as_truth out mercury productType=5
	done
}

@test "paginate-emulator: Data Mill with --pipeline: the query as the start token, then the handle" {
	run --separate-stderr paginate -s cursor --start-token "$DM_QUERY" --token-field handle \
		--token-repeats --done-field eof -o out --pipeline -- \
		fetch-page -s --variable %PAGE_TOKEN --expand-data 'query={{PAGE_TOKEN:url}}' "$EMU/datamill/cursor.json" \
		'|' json2ndjson --records .data --meta handle=.handle --meta eof=.eof
	assert_success
	[[ "$stderr" == "paginate: stop: eof is true; "*" pages, 400 records" ]]
	same_as_truth out datamill "query=$DM_QUERY"
}
