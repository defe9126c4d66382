#!/usr/bin/env bats
# diadoc-events against the emulator: every dataset size, time windows and populate options,
# TotalCount, faults, a kill -9 and a resume, and an incremental second run.
load helpers
pipeline_suite

EPOCH=621355968000000000

de() {
	diadoc-events --base-url "$EMU" --box "$BOX" --retry-delay 0.1 "$@"
}

@test "diadoc-events: --help, --version, usage errors" {
	run diadoc-events --help
	assert_success
	assert_line --index 0 --partial "usage: diadoc-events"
	help_matches_man diadoc-events
	run diadoc-events --version
	assert_output "diadoc-events 0.1.0"
	run diadoc-events --from 2020-01-01
	assert_failure 2
	assert_line --index 0 "diadoc-events: --box: the box id is required"
	run diadoc-events --box "$BOX" --from yesterday-ish
	assert_failure 2
	run diadoc-events --box "$BOX" --limit 101
	assert_failure 2
	DIADOC_TOKEN= run diadoc-events --box "$BOX"
	assert_failure 2
	assert_output "diadoc-events: DIADOC_TOKEN (with DIADOC_CLIENT_ID) or DIADOC_AUTH must be set"
	run diadoc-events --box "$BOX" --api-version 3
	assert_failure 2
	assert_line --index 0 "diadoc-events: --api-version 3: not 2 or 5"
}

@test "diadoc-events: a box, counteragent or department id that is not a GUID is a usage error before any request" {
	reset records=10
	local b
	for b in "${BOX//-/}" "${BOX//-/}@diadoc.ru" "{$BOX}" my-box-id; do
		run de --box "$b"
		assert_failure 2
		assert_line --index 0 "diadoc-events: --box $b: not a GUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)"
	done
	run de --counteragent abc@diadoc.ru
	assert_failure 2
	assert_line --index 0 "diadoc-events: --counteragent abc@diadoc.ru: not a GUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)"
	run de --department Бухгалтерия
	assert_failure 2
	assert_line --index 0 "diadoc-events: --department Бухгалтерия: not a GUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)"
	DIADOC_BOX_ID=my-box-id run diadoc-events --base-url "$EMU"
	assert_failure 2
	assert_output "diadoc-events: DIADOC_BOX_ID=my-box-id: not a GUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)"
	[ "$(requests diadoc-events)" -eq 0 ]
	run de -q --box "${BOX^^}" -o "$BATS_TEST_TMPDIR/out"
	assert_success
	same_as_truth "$BATS_TEST_TMPDIR/out" diadoc-events
}

@test "diadoc-events: V5 by default, V2 with --api-version 2: each against its truth, same events" {
	reset records=250
	de -q --populate-documents --populate-previous -o "$BATS_TEST_TMPDIR/v5"
	same_as_truth "$BATS_TEST_TMPDIR/v5" 'diadoc-events?version=5&populateDocuments=1&populatePrevious=1'
	de -q --api-version 2 --populate-documents --populate-previous -o "$BATS_TEST_TMPDIR/v2"
	same_as_truth "$BATS_TEST_TMPDIR/v2" 'diadoc-events?version=2&populateDocuments=1&populatePrevious=1'
	run emu_ctl 'log?api=diadoc-events'
	[ "$(jq -r .path <<<"$output" | sort | uniq -c | tr -s ' ')" = " 4 /V2/GetDocflowEvents
 4 /V5/GetDocflowEvents" ]
	# the same events, in each version's shape
	jq -r .Document.LastEvent.EventId "$BATS_TEST_TMPDIR/v5" >"$BATS_TEST_TMPDIR/k5"
	jq -r .Document.LastEventId "$BATS_TEST_TMPDIR/v2" >"$BATS_TEST_TMPDIR/k2"
	cmp "$BATS_TEST_TMPDIR/k5" "$BATS_TEST_TMPDIR/k2"
	[ "$(jq -r .Document.DocumentInfo.FullVersion.TypeNamedId "$BATS_TEST_TMPDIR/v5" | sort -u | wc -l)" -gt 10 ]
}

@test "diadoc-events: a field the schema does not name reaches the output as \"#N\" (V5 and V2)" {
	reset 'records=120&diadoc_unknown_fields=1'
	local v
	for v in 5 2; do
		de -q --api-version $v --populate-documents -o "$BATS_TEST_TMPDIR/out"
		same_as_truth "$BATS_TEST_TMPDIR/out" "diadoc-events?version=$v&populateDocuments=1"
		run jq -c '[.["#1001"], (.Document.DocumentInfo["#1000"][0] | @base64d)]' "$BATS_TEST_TMPDIR/out"
		assert_line --index 0 '[[7],"поле из будущей версии API"]'
		[ "$(grep -c '"#1000"' "$BATS_TEST_TMPDIR/out")" -eq 120 ]
	done
}

@test "diadoc-events: the filters select what the emulator's truth selects with the same filters" {
	reset records=600
	local dept cagent q
	dept=$(emu_ctl info | jq -r '.diadoc_departments[1]')
	cagent=$(emu_ctl info | jq -r '.diadoc_counteragents[0]')
	de -q --message-type Letter --message-type template -o "$BATS_TEST_TMPDIR/mt"
	same_as_truth "$BATS_TEST_TMPDIR/mt" 'diadoc-events?messageTypes=Letter,template'
	de -q --direction Inbound --type-named-id UniversalTransferDocument --type-named-id Invoice \
		--type-named-id Nonformalized --populate-documents -o "$BATS_TEST_TMPDIR/dt"
	same_as_truth "$BATS_TEST_TMPDIR/dt" \
		'diadoc-events?documentDirections=Inbound&typeNamedIds=UniversalTransferDocument,Invoice,Nonformalized&populateDocuments=1'
	run jq -r '[.Document.DocumentInfo | .DocumentDirection, .FullVersion.TypeNamedId] | @tsv' "$BATS_TEST_TMPDIR/dt"
	refute_line --regexp '^(Outbound|Internal)'
	refute_line --regexp '	(XmlTorg12|Torg12|Contract)$'
	de -q --department "$dept" --counteragent "$cagent" --sort desc --limit 7 \
		--from 2020-01-01T01:00:00Z --to 2020-01-01T08:00:00Z -o "$BATS_TEST_TMPDIR/dc"
	q="departmentId=$dept&counteragentBoxId=$cagent&sort=Descending"
	q+="&from=$((EPOCH + 1577840400 * 10000000))&to=$((EPOCH + 1577865600 * 10000000))"
	same_as_truth "$BATS_TEST_TMPDIR/dc" "diadoc-events?$q"
	# each filter selected a part: none is a no-op, none selected nothing
	local f
	for f in mt dt dc; do
		[ "$(count "$BATS_TEST_TMPDIR/$f")" -gt 0 ] && [ "$(count "$BATS_TEST_TMPDIR/$f")" -lt 600 ]
	done
	# descending really is: the ticks never grow
	jq -r .Timestamp.Ticks "$BATS_TEST_TMPDIR/dc" | sort -c -r -n
}

@test "diadoc-events: no events, one, exactly one page, one page + 1" {
	local n
	for n in 0 1 100 101; do
		reset "records=$n"
		de -q >"$BATS_TEST_TMPDIR/out"
		[ "$(count "$BATS_TEST_TMPDIR/out")" -eq "$n" ]
		same_as_truth "$BATS_TEST_TMPDIR/out" diadoc-events
		# pages of 100, then the empty page that ends the run
		[ "$(requests diadoc-events)" -eq $((n / 100 + 1 + (n % 100 > 0))) ]
	done
}

@test "diadoc-events: 10 000 events, Bearer authorization" {
	reset records=10000
	DIADOC_CLIENT_ID= de -q -o "$BATS_TEST_TMPDIR/out"
	[ "$(count "$BATS_TEST_TMPDIR/out")" -eq 10000 ]
	same_as_truth "$BATS_TEST_TMPDIR/out" diadoc-events
}

@test "diadoc-events: a time window as ISO dates, populated documents and previous states" {
	reset records=500
	local from=$((EPOCH + $(date -ud 2020-01-01T01:00:00Z +%s) * 10000000))
	local to=$((EPOCH + $(date -ud 2020-01-01T05:30:00Z +%s) * 10000000))
	de -q --from 2020-01-01T01:00:00Z --to '2020-01-01 05:30' --limit 40 \
		--populate-documents --populate-previous >"$BATS_TEST_TMPDIR/out"
	same_as_truth "$BATS_TEST_TMPDIR/out" \
		"diadoc-events?from=$from&to=$to&populateDocuments=1&populatePrevious=1"
	[ "$(jq -s 'map(select(.PreviousDocumentState)) | length' "$BATS_TEST_TMPDIR/out")" -gt 0 ]
	de -q --sort desc --to 2020-01-01T02:00:00Z >"$BATS_TEST_TMPDIR/desc"
	same_as_truth "$BATS_TEST_TMPDIR/desc" "diadoc-events?to=$((EPOCH + 1577844000 * 10000000))&sort=Descending"
}

@test "diadoc-events: TotalCount is checked when Equal, not when GreaterThanOrEqual" {
	reset records=150
	run -0 de --strict -o "$BATS_TEST_TMPDIR/out"
	refute_output --partial "declared total"
	reset 'records=150&diadoc_total_cap=120'
	run -0 de --strict -o "$BATS_TEST_TMPDIR/out"
	refute_output --partial "declared total"
	same_as_truth "$BATS_TEST_TMPDIR/out" diadoc-events
}

@test "diadoc-events: 500, 429 with Retry-After, a close mid-body, an API error" {
	reset records=700
	fault 'api=diadoc-events&kind=http&status=500&on=2'
	fault 'api=diadoc-events&kind=http&status=429&retry_after=1&on=4'
	fault 'api=diadoc-events&kind=close&on=6,7'
	fault 'api=diadoc-events&kind=api_error&status=503&on=9'
	run -0 de -o "$BATS_TEST_TMPDIR/out"
	same_as_truth "$BATS_TEST_TMPDIR/out" diadoc-events
}

@test "diadoc-events: a 403 from Diadoc stops at once with exit 69" {
	reset records=10
	run diadoc-events --base-url "$EMU" --box 00000000-0000-0000-0000-000000000001
	assert_failure 69
	assert_output --partial "X-Diadoc-ErrorCode: Http.Forbidden"
	[ "$(requests diadoc-events)" -eq 1 ]
}

@test "diadoc-events: kill -9, then --state resumes; a later run continues after the last event" {
	reset 'records=300&latency=40'
	local st=$BATS_TEST_TMPDIR/state
	kill_when "$st.run" '.pages >= 4' -- diadoc-events --base-url "$EMU" --box "$BOX" -q \
		--limit 20 --state "$st" -o "$BATS_TEST_TMPDIR/out"
	run -0 de -q --limit 20 --state "$st" -o "$BATS_TEST_TMPDIR/out"
	same_as_truth "$BATS_TEST_TMPDIR/out" diadoc-events
	[ "$(jq .records "$st")" -eq 300 ]
	# More events arrive (same seed: the first 300 stay as they were).
	reset 'records=345'
	run -0 de --limit 20 --state "$st" -o "$BATS_TEST_TMPDIR/new"
	assert_output --partial "continuing after the last event of the previous run"
	[ "$(count "$BATS_TEST_TMPDIR/new")" -eq 45 ]
	cat "$BATS_TEST_TMPDIR/out" "$BATS_TEST_TMPDIR/new" >"$BATS_TEST_TMPDIR/all"
	same_as_truth "$BATS_TEST_TMPDIR/all" diadoc-events
	[ "$(jq .records "$st")" -eq 345 ]
}

@test "diadoc-events: runs from an installation (make install), descriptor and filters found there" {
	reset records=150
	local dest=$BATS_TEST_TMPDIR/dest
	make -s -C "$ROOT" install DESTDIR="$dest" PREFIX=/usr >/dev/null
	[ -x "$dest/usr/bin/diadoc-events" ] && [ -r "$dest/usr/share/pagepull/diadoc.desc" ]
	[ -r "$dest/usr/share/pagepull/lib.sh" ]
	env -u PAGEPULL_BIN -u PAGEPULL_DESC PATH=/usr/bin:/bin \
		"$dest/usr/bin/diadoc-events" -q --base-url "$EMU" --box "$BOX" -o "$BATS_TEST_TMPDIR/out"
	same_as_truth "$BATS_TEST_TMPDIR/out" diadoc-events
}
