#!/usr/bin/env bats
# mercury-products against the emulator: datasets of every awkward size, injected faults,
# a kill -9 and a resume, all compared with the emulator's ground truth.
load helpers
pipeline_suite

mp() {
	mercury-products --base-url "$EMU" --retry-delay 0.1 "$@"
}

# The total of one product type in the current dataset.
total() {
	emu_ctl info | jq -r --arg t "$1" '.mercury.totals[$t]'
}

@test "mercury-products: --help, --version, usage errors" {
	run mercury-products --help
	assert_success
	assert_line --index 0 --partial "usage: mercury-products"
	help_matches_man mercury-products
	run mercury-products --version
	assert_output "mercury-products 0.1.0"
	run mercury-products --type 9
	assert_failure 2
	assert_line --index 0 "mercury-products: --type 9: not a whole number from 1 to 8"
	run mercury-products --count 1001
	assert_failure 2
	run mercury-products --no-such-option
	assert_failure 2
	MERCURY_USER= run mercury-products --base-url "$EMU"
	assert_failure 2
	assert_output "mercury-products: MERCURY_USER and MERCURY_PASSWORD must be set (HTTP Basic credentials)"
}

@test "mercury-products: no records at all" {
	reset records=0
	run -0 mp -q -o "$BATS_TEST_TMPDIR/out"
	assert_output ""
	[ "$(count "$BATS_TEST_TMPDIR/out")" -eq 0 ]
}

@test "mercury-products: one record (in type 5, the others empty)" {
	reset records=1
	mp -q >"$BATS_TEST_TMPDIR/out"
	[ "$(count "$BATS_TEST_TMPDIR/out")" -eq 1 ]
	same_as_truth "$BATS_TEST_TMPDIR/out" mercury
}

@test "mercury-products: exactly one page, and one page + 1" {
	reset records=200
	local n
	n=$(total 5)
	mp -q --type 5 --count "$n" >"$BATS_TEST_TMPDIR/one"
	same_as_truth "$BATS_TEST_TMPDIR/one" 'mercury?productType=5'
	[ "$(requests mercury)" -eq 1 ]
	mp -q --type 5 --count "$((n - 1))" >"$BATS_TEST_TMPDIR/two"
	same_as_truth "$BATS_TEST_TMPDIR/two" 'mercury?productType=5'
	[ "$(requests mercury)" -eq 3 ]
}

@test "mercury-products: 10 000 records over all eight types, in parallel pages" {
	reset records=10000
	mp -q -P 3 -o "$BATS_TEST_TMPDIR/out"
	[ "$(count "$BATS_TEST_TMPDIR/out")" -eq 10000 ]
	same_as_truth "$BATS_TEST_TMPDIR/out" mercury
}

@test "mercury-products: 500, 429 with Retry-After, a close mid-body, internalServiceFault" {
	reset records=400
	fault 'api=mercury&kind=http&status=500&on=2'
	fault 'api=mercury&kind=http&status=429&retry_after=1&on=4'
	fault 'api=mercury&kind=close&on=6,7'
	fault 'api=mercury&kind=soap_fault&name=internalServiceFault&on=9,10'
	run -0 mp --count 25 -o "$BATS_TEST_TMPDIR/out"
	assert_output --partial "fault internalServiceFault; retry 2 of 5"
	same_as_truth "$BATS_TEST_TMPDIR/out" mercury
	[ "$(emu_ctl faults | jq 'map(.fired) | add')" -eq 6 ]
}

@test "mercury-products: an incorrectRequestFault stops with exit 3" {
	reset records=50
	fault 'api=mercury&kind=soap_fault&name=incorrectRequestFault&on=1'
	run mp --type 5
	assert_failure 3
	assert_output --partial "fault incorrectRequestFault: Incorrect request"
}

@test "mercury-products: kill -9, then --state resumes: every record once" {
	reset 'records=400&latency=60'
	local st=$BATS_TEST_TMPDIR/state out=$BATS_TEST_TMPDIR/out
	kill_when "$st.run.type3" '.pages >= 2' -- mercury-products --base-url "$EMU" -q --count 10 \
		--state "$st" -o "$out"
	[ ! -e "$st.run.type8" ]
	run -0 mp -q --count 10 --state "$st" -o "$out"
	same_as_truth "$out" mercury
	assert_equal "$(jq -c '{complete, records}' "$st")" '{"complete":true,"records":400}'
	ls "$BATS_TEST_TMPDIR" >"$BATS_TEST_TMPDIR/ls"
	run grep -c 'part\|run' "$BATS_TEST_TMPDIR/ls"
	assert_output 0
	# A finished snapshot is not taken again.
	run -0 mp --count 10 --state "$st" -o "$out"
	assert_output --partial "already complete (400 records)"
	same_as_truth "$out" mercury
}

@test "mercury-products: offsetOutOfRangeFault below the declared total (600, on the 3rd request) is retried, never the end" {
	reset mercury_records=2000
	[ "$(total 5)" -eq 600 ]
	local st=$BATS_TEST_TMPDIR/state out=$BATS_TEST_TMPDIR/out
	# once: the retry gets the page, and every product arrives
	fault 'api=mercury&kind=soap_fault&name=offsetOutOfRangeFault&on=3'
	run -0 mp --type 5 --count 200 -o "$out"
	assert_output --partial "fault offsetOutOfRangeFault at offset 400, below the declared total 600; retry 1 of 5"
	same_as_truth "$out" 'mercury?productType=5'
	[ "$(requests mercury)" -eq 4 ]
	# every time: exit 75 after the retries with the pages before it, a state to resume from
	reset mercury_records=2000
	fault 'api=mercury&kind=soap_fault&name=offsetOutOfRangeFault&on=3,4,5'
	run mp --type 5 --count 200 --retry 2 --state "$st" -o "$out"
	assert_failure 75
	assert_output --partial "fault offsetOutOfRangeFault at offset 400, below the declared total 600 (3 attempts)"
	[ "$(count "$out")" -eq 400 ]
	[ "$(jq .complete "$st")" != true ]
	run -0 mp -q --type 5 --count 200 --state "$st" -o "$out"
	same_as_truth "$out" 'mercury?productType=5'
	assert_equal "$(jq -c '{complete, records}' "$st")" '{"complete":true,"records":600}'
}

@test "mercury-products: offsetOutOfRangeFault on the 1st request is not an empty list" {
	reset mercury_records=2000
	local st=$BATS_TEST_TMPDIR/state out=$BATS_TEST_TMPDIR/out
	fault 'api=mercury&kind=soap_fault&name=offsetOutOfRangeFault&on=1'
	run -0 mp --type 5 --count 200 -o "$out"
	assert_output --partial "fault offsetOutOfRangeFault at offset 0, before any total was declared; retry 1 of 5"
	same_as_truth "$out" 'mercury?productType=5'
	reset mercury_records=2000
	fault 'api=mercury&kind=soap_fault&name=offsetOutOfRangeFault&on=1,2,3'
	run mp --type 5 --count 200 --retry 2 --strict --state "$st" -o "$out"
	assert_failure 75
	assert_output --partial "fault offsetOutOfRangeFault at offset 0, before any total was declared (3 attempts)"
	[ "$(count "$out")" -eq 0 ]
	[ "$(jq .complete "$st")" != true ]
	# an empty type is still an empty list: the API says total="0"
	reset records=0
	run -0 mp --type 5 -o "$out"
	[ "$(count "$out")" -eq 0 ]
}

# soap ACTION BODY-INNER: POSTs a request to the emulator's ProductService (SOAPAction
# ACTION, "-" for none) whose soapenv:Body holds BODY-INNER; prints the status, then the
# fault's detail element or faultcode.
soap() {
	local env='<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:ws="http://api.vetrf.ru/schema/cdm/registry/ws-definitions/v2" xmlns:bs="http://api.vetrf.ru/schema/cdm/base" xmlns:dt="http://api.vetrf.ru/schema/cdm/dictionary/v2"><soapenv:Header/><soapenv:Body>'
	local h=(-H 'Content-Type: text/xml;charset=UTF-8')
	[ "$1" = - ] || h+=(-H "SOAPAction: $1")
	curl -s -u mercury:mercury-secret "${h[@]}" -o "$BATS_TEST_TMPDIR/resp" -w '%{http_code}' \
		--data-binary "$env$2</soapenv:Body></soapenv:Envelope>" "$EMU/platform/services/2.0/ProductService"
	{ grep -o 'incorrectRequestFault' "$BATS_TEST_TMPDIR/resp" || grep -o '<faultcode>[^<]*' "$BATS_TEST_TMPDIR/resp"; } |
		head -n 1 | sed 's/^/ /'
}

@test "mercury-products: the emulator takes only the WSDL's SOAP action, element order and namespaces" {
	reset records=100
	local ok='<ws:getProductByTypeListRequest><bs:listOptions><bs:count>3</bs:count><bs:offset>0</bs:offset></bs:listOptions><dt:productType>5</dt:productType></ws:getProductByTypeListRequest>'
	# the seed's request, bare and quoted action; optional parts left out; other prefixes
	[ "$(soap GetProductByTypeList "$ok")" = 200 ]
	[ "$(soap '"GetProductByTypeList"' "$ok")" = 200 ]
	[ "$(soap GetProductByTypeList '<ws:getProductByTypeListRequest><dt:productType>5</dt:productType></ws:getProductByTypeListRequest>')" = 200 ]
	[ "$(soap GetProductByTypeList '<ws:getProductByTypeListRequest><bs:listOptions><bs:offset>2</bs:offset></bs:listOptions><dt:productType>5</dt:productType></ws:getProductByTypeListRequest>')" = 200 ]
	[ "$(soap GetProductByTypeList '<r:getProductByTypeListRequest xmlns:r="http://api.vetrf.ru/schema/cdm/registry/ws-definitions/v2"><o:listOptions xmlns:o="http://api.vetrf.ru/schema/cdm/base"><o:count>3</o:count></o:listOptions><productType xmlns="http://api.vetrf.ru/schema/cdm/dictionary/v2">5</productType></r:getProductByTypeListRequest>')" = 200 ]
	# the SOAP action: missing, another operation's, the 2.0 URL form
	[ "$(soap - "$ok")" = "500 <faultcode>soapenv:Client" ]
	[ "$(soap GetProductByGuid "$ok")" = "500 <faultcode>soapenv:Client" ]
	[ "$(soap http://api.vetrf.ru/GetProductByTypeList "$ok")" = "500 <faultcode>soapenv:Client" ]
	# order, namespaces, required and unknown elements, values
	local bad
	for bad in \
		'<ws:getProductByTypeListRequest><dt:productType>5</dt:productType><bs:listOptions><bs:count>3</bs:count></bs:listOptions></ws:getProductByTypeListRequest>' \
		'<ws:getProductByTypeListRequest><bs:listOptions><bs:offset>0</bs:offset><bs:count>3</bs:count></bs:listOptions><dt:productType>5</dt:productType></ws:getProductByTypeListRequest>' \
		'<ws:getProductByTypeListRequest><ws:listOptions><bs:count>3</bs:count></ws:listOptions><dt:productType>5</dt:productType></ws:getProductByTypeListRequest>' \
		'<ws:getProductByTypeListRequest><bs:listOptions><dt:count>3</dt:count></bs:listOptions><dt:productType>5</dt:productType></ws:getProductByTypeListRequest>' \
		'<ws:getProductByTypeListRequest><bs:productType>5</bs:productType></ws:getProductByTypeListRequest>' \
		'<dt:getProductByTypeListRequest><dt:productType>5</dt:productType></dt:getProductByTypeListRequest>' \
		'<ws:getProductByTypeListRequest><bs:listOptions><bs:count>3</bs:count></bs:listOptions></ws:getProductByTypeListRequest>' \
		'<ws:getProductByTypeListRequest><dt:productType>5</dt:productType><dt:productType>5</dt:productType></ws:getProductByTypeListRequest>' \
		'<ws:getProductByTypeListRequest><bs:listOptions><bs:count>3</bs:count><bs:count>4</bs:count></bs:listOptions><dt:productType>5</dt:productType></ws:getProductByTypeListRequest>' \
		'<ws:getProductByTypeListRequest><bs:listOptions><bs:count>-1</bs:count></bs:listOptions><dt:productType>5</dt:productType></ws:getProductByTypeListRequest>' \
		'<ws:getProductByTypeListRequest><bs:listOptions><bs:count>ten</bs:count></bs:listOptions><dt:productType>5</dt:productType></ws:getProductByTypeListRequest>' \
		'<ws:getProductByTypeListRequest><dt:productType>9</dt:productType></ws:getProductByTypeListRequest>' \
		'<ws:getProductByTypeListRequest><dt:productType>5</dt:productType></ws:getProductByTypeListRequest><ws:getProductByTypeListRequest><dt:productType>5</dt:productType></ws:getProductByTypeListRequest>'; do
		[ "$(soap GetProductByTypeList "$bad")" = "500 incorrectRequestFault" ] || fail "accepted: $bad"
	done
	# what the pipeline sends passes: every request of a run answered 200
	reset records=100
	run -0 mp -q --type 5 --count 7
	[ "$(emu_ctl 'log?api=mercury' | jq -cs 'map(.status) | unique')" = '[200]' ]
	[ "$(requests mercury)" -eq 5 ]
}
