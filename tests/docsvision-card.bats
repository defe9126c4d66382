#!/usr/bin/env bats
# docsvision-card against the emulator: cards of 0, 1, one page, one page + 1 and 10 000
# rows, the three compressions, the timestamp state, faults, CursorClose after success,
# error and SIGTERM, a kill -9 and a resume.
load helpers
load fixtures/pipelines/common

dv() {
	docsvision-card --base-url "$EMU" --retry-delay 0.1 "$@"
}

# card NAME: its id.
card() {
	emu_ctl info | jq -r --arg n "$1" '.cards[] | select(.name == $n) | .id'
}

# pages NAME: its page count in the current dataset.
pages() {
	emu_ctl info | jq -r --arg n "$1" '.cards[] | select(.name == $n) | .pages'
}

# The log's SOAP operations in order, one word a line.
ops() {
	emu_ctl 'log?api=docsvision' | jq -r .op
}

@test "docsvision-card: --help, --version, usage errors" {
	run docsvision-card --help
	assert_success
	assert_line --index 0 --partial "usage: docsvision-card"
	help_matches_man docsvision-card
	run docsvision-card --version
	assert_output "docsvision-card 0.1.0"
	run docsvision-card --base-url "$EMU"
	assert_failure 2
	assert_line --index 0 "docsvision-card: the card id is missing"
	run docsvision-card --base-url "$EMU" a b
	assert_failure 2
	DOCSVISION_BASE_URL= run docsvision-card x
	assert_failure 2
	run docsvision-card --base-url "$EMU" --timestamp soon x
	assert_failure 2
}

@test "docsvision-card: no rows, one row, exactly one page, one page + 1" {
	local k
	# the smallest card of two pages at 2 KB a page: k - 1 rows fill exactly one page
	for k in $(seq 2 60); do
		reset "docsvision_records=$k&docsvision_page_kb=2"
		[ "$(pages big)" -eq 1 ] || break
	done
	[ "$(pages big)" -eq 2 ]
	dv -q big >"$BATS_TEST_TMPDIR/two"
	same_as_truth "$BATS_TEST_TMPDIR/two" 'docsvision?card=big'
	assert_equal "$(ops | tr '\n' ' ')" "SessionLogin CursorRefreshCardData CursorReadPage CursorClose "
	reset "docsvision_records=$((k - 1))&docsvision_page_kb=2"
	[ "$(pages big)" -eq 1 ]
	dv -q big >"$BATS_TEST_TMPDIR/one"
	same_as_truth "$BATS_TEST_TMPDIR/one" 'docsvision?card=big'
	assert_equal "$(ops | tr '\n' ' ')" "SessionLogin CursorRefreshCardData "
	reset 'docsvision_records=1'
	dv -q "$(card big)" >"$BATS_TEST_TMPDIR/out"
	[ "$(count "$BATS_TEST_TMPDIR/out")" -eq 1 ]
	same_as_truth "$BATS_TEST_TMPDIR/out" 'docsvision?card=big'
	run -0 dv -q "$(card empty)"
	assert_output ""
}

@test "docsvision-card: 10 000 rows, parallel pages, a given session, CursorOpenCardData" {
	reset 'docsvision_records=10000&docsvision_page_kb=128'
	DOCSVISION_SESSION=$(emu_ctl info | jq -r .session_id) dv -q -P 3 --open big -o "$BATS_TEST_TMPDIR/out"
	[ "$(count "$BATS_TEST_TMPDIR/out")" -eq 10000 ]
	same_as_truth "$BATS_TEST_TMPDIR/out" 'docsvision?card=big'
	run ops
	refute_line SessionLogin
	assert_line --index 0 CursorOpenCardData
	assert_line CursorClose
}

@test "docsvision-card: pages compressed with raw deflate, zlib and gzip" {
	local c
	for c in deflate zlib gzip; do
		reset "docsvision_compression=$c"
		dv -q medium >"$BATS_TEST_TMPDIR/out"
		same_as_truth "$BATS_TEST_TMPDIR/out" 'docsvision?card=medium'
	done
}

@test "docsvision-card: --state keeps the timestamp: an unchanged card outputs nothing" {
	reset ''
	local st=$BATS_TEST_TMPDIR/state out=$BATS_TEST_TMPDIR/out
	dv -q --state "$st" -o "$out" medium
	same_as_truth "$out" 'docsvision?card=medium'
	assert_equal "$(jq .timestamp "$st")" "$(emu_ctl info | jq '.cards[] | select(.name == "medium") | .timestamp')"
	run -0 dv --state "$st" -o "$out" medium
	assert_output "docsvision-card: card unchanged since timestamp $(jq .timestamp "$st"): no rows"
	[ ! -s "$out" ]
	emu_ctl 'docsvision/edit?card=medium' -X POST >/dev/null
	dv -q --state "$st" -o "$out" medium
	same_as_truth "$out" 'docsvision?card=medium'
	[ "$(count "$out")" -eq 121 ]
}

@test "docsvision-card: 500, 429 with Retry-After, a close mid-body, SOAP faults" {
	reset 'docsvision_records=300&docsvision_page_kb=8'
	fault 'api=docsvision&kind=soap_fault&on=1'
	fault 'api=docsvision&kind=http&status=500&on=3'
	fault 'api=docsvision&kind=http&status=429&retry_after=1&on=5'
	fault 'api=docsvision&kind=close&on=7,8'
	fault 'api=docsvision&kind=soap_fault&op=CursorReadPage&on=5'
	run -0 dv big -o "$BATS_TEST_TMPDIR/out"
	same_as_truth "$BATS_TEST_TMPDIR/out" 'docsvision?card=big'
	[ "$(emu_ctl faults | jq 'map(.fired) | add')" -eq 6 ]
	[ "$(ops | tail -n 1)" = CursorClose ]
}

@test "docsvision-card: the cursor is closed after an error and after SIGTERM" {
	reset 'docsvision_records=300&docsvision_page_kb=4'
	fault 'api=docsvision&kind=http&status=403&op=CursorReadPage&on=3'
	run dv big
	assert_failure 69
	[ "$(ops | tail -n 1)" = CursorClose ]
	[ "$(emu_ctl info | jq '.open_cursors | length')" -eq 0 ]
	# a "Cursor not found" is not worth a retry: exit 3 at once
	reset 'docsvision_records=300&docsvision_page_kb=4'
	fault 'api=docsvision&kind=soap_fault&name=Cursor%20not%20found&op=CursorReadPage&on=2'
	run dv big
	assert_failure 3
	assert_output --partial "fault soap:Server: Cursor not found"
	reset 'docsvision_records=300&docsvision_page_kb=4&latency=50'
	local st=$BATS_TEST_TMPDIR/state
	# the pipeline itself, not a function around it: the signal must reach its trap
	docsvision-card --base-url "$EMU" -q --state "$st" big >"$BATS_TEST_TMPDIR/out" &
	local pid=$!
	for _ in $(seq 1 400); do
		[ -s "$st.run" ] && [ "$(jq .pages "$st.run")" -ge 3 ] && break
		sleep 0.05
	done
	kill -TERM "$pid"
	local rc=0
	wait "$pid" || rc=$?
	assert_equal "$rc" 143
	[ "$(ops | tail -n 1)" = CursorClose ]
	[ "$(emu_ctl info | jq '.open_cursors | length')" -eq 0 ]
	[ ! -e "$st.run" ] && [ ! -e "$st.cursor" ]
}

@test "docsvision-card: kill -9, then --state resumes the same cursor exactly" {
	reset 'docsvision_records=400&docsvision_page_kb=4&latency=40'
	local st=$BATS_TEST_TMPDIR/state out=$BATS_TEST_TMPDIR/out
	kill_when "$st.run" '.pages >= 4' -- docsvision-card --base-url "$EMU" -q --state "$st" \
		-o "$out" big
	[ "$(emu_ctl info | jq '.open_cursors | length')" -eq 1 ]
	run -0 dv --state "$st" -o "$out" big
	assert_output --partial "resuming the read of cursor"
	same_as_truth "$out" 'docsvision?card=big'
	[ "$(emu_ctl info | jq '.open_cursors | length')" -eq 0 ]
	assert_equal "$(jq -c '{complete, records}' "$st")" '{"complete":true,"records":400}'
}
