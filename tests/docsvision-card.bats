#!/usr/bin/env bats
# docsvision-card against the emulator: cards of 0, 1, one page, one page + 1 and 10 000
# rows, the three compressions, the timestamp state, faults, CursorClose after success,
# error and SIGTERM, a kill -9 and a resume; SessionLogin as documented and SessionLogout
# after every run that logged in.
load helpers
pipeline_suite

dv() {
	docsvision-card --base-url "$EMU" --retry-delay 0.1 "$@"
}

# card NAME: its id (a fixed GUID: card ids do not depend on the seed).
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
	run docsvision-card --base-url "$EMU" --locale ru "$(card small)"
	assert_failure 2
	assert_line --index 0 "docsvision-card: --locale ru: not a whole number from 0 to 2147483647"
}

@test "docsvision-card: no rows, one row, exactly one page, one page + 1" {
	local k
	# the smallest card of two pages at 2 KB a page: k - 1 rows fill exactly one page
	for k in $(seq 2 60); do
		reset "docsvision_records=$k&docsvision_page_kb=2"
		[ "$(pages big)" -eq 1 ] || break
	done
	[ "$(pages big)" -eq 2 ]
	dv -q "$(card big)" >"$BATS_TEST_TMPDIR/two"
	same_as_truth "$BATS_TEST_TMPDIR/two" 'docsvision?card=big'
	assert_equal "$(ops | tr '\n' ' ')" "SessionLogin CursorRefreshCardData CursorReadPage CursorClose SessionLogout "
	reset "docsvision_records=$((k - 1))&docsvision_page_kb=2"
	[ "$(pages big)" -eq 1 ]
	dv -q "$(card big)" >"$BATS_TEST_TMPDIR/one"
	same_as_truth "$BATS_TEST_TMPDIR/one" 'docsvision?card=big'
	assert_equal "$(ops | tr '\n' ' ')" "SessionLogin CursorRefreshCardData SessionLogout "
	reset 'docsvision_records=1'
	dv -q "$(card big)" >"$BATS_TEST_TMPDIR/out"
	[ "$(count "$BATS_TEST_TMPDIR/out")" -eq 1 ]
	same_as_truth "$BATS_TEST_TMPDIR/out" 'docsvision?card=big'
	run -0 dv -q "$(card empty)"
	assert_output ""
}

@test "docsvision-card: 10 000 rows, parallel pages, a given session, CursorOpenCardData" {
	reset 'docsvision_records=10000&docsvision_page_kb=128'
	DOCSVISION_SESSION=$(emu_ctl info | jq -r .session_id) dv -q -P 3 --open "$(card big)" -o "$BATS_TEST_TMPDIR/out"
	[ "$(count "$BATS_TEST_TMPDIR/out")" -eq 10000 ]
	same_as_truth "$BATS_TEST_TMPDIR/out" 'docsvision?card=big'
	run ops
	refute_line SessionLogin
	refute_line SessionLogout
	assert_line --index 0 CursorOpenCardData
	assert_line CursorClose
}

@test "docsvision-card: pages compressed with raw deflate, zlib and gzip" {
	local c
	for c in deflate zlib gzip; do
		reset "docsvision_compression=$c"
		dv -q "$(card medium)" >"$BATS_TEST_TMPDIR/out"
		same_as_truth "$BATS_TEST_TMPDIR/out" 'docsvision?card=medium'
	done
}

@test "docsvision-card: --state keeps the timestamp: an unchanged card outputs nothing" {
	reset ''
	local st=$BATS_TEST_TMPDIR/state out=$BATS_TEST_TMPDIR/out
	dv -q --state "$st" -o "$out" "$(card medium)"
	same_as_truth "$out" 'docsvision?card=medium'
	assert_equal "$(jq .timestamp "$st")" "$(emu_ctl info | jq '.cards[] | select(.name == "medium") | .timestamp')"
	# The same -o, still as the last read left it: kept (it holds the card's rows).
	run -0 dv --state "$st" -o "$out" "$(card medium)"
	assert_output "docsvision-card: card unchanged since timestamp $(jq .timestamp "$st"): no new rows; $out keeps the last read's"
	same_as_truth "$out" 'docsvision?card=medium'
	# Another -o: no rows.
	run -0 dv --state "$st" -o "$out.new" "$(card medium)"
	assert_output "docsvision-card: card unchanged since timestamp $(jq .timestamp "$st"): no rows"
	[ -e "$out.new" ]
	[ ! -s "$out.new" ]
	emu_ctl 'docsvision/edit?card=medium' -X POST >/dev/null
	dv -q --state "$st" -o "$out" "$(card medium)"
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
	run -0 dv "$(card big)" -o "$BATS_TEST_TMPDIR/out"
	same_as_truth "$BATS_TEST_TMPDIR/out" 'docsvision?card=big'
	[ "$(emu_ctl faults | jq 'map(.fired) | add')" -eq 6 ]
	[ "$(ops | tail -n 2 | tr '\n' ' ')" = "CursorClose SessionLogout " ]
}

@test "docsvision-card: the cursor is closed after an error and after SIGTERM" {
	reset 'docsvision_records=300&docsvision_page_kb=4'
	fault 'api=docsvision&kind=http&status=403&op=CursorReadPage&on=3'
	run dv "$(card big)"
	assert_failure 69
	[ "$(ops | tail -n 2 | tr '\n' ' ')" = "CursorClose SessionLogout " ]
	[ "$(emu_ctl info | jq '.open_cursors | length')" -eq 0 ]
	# a "Cursor not found" is not worth a retry: exit 3 at once
	reset 'docsvision_records=300&docsvision_page_kb=4'
	fault 'api=docsvision&kind=soap_fault&name=CursorNotFound&message=Cursor%20not%20found&op=CursorReadPage&on=2'
	run dv "$(card big)"
	assert_failure 3
	assert_output --partial "fault CursorNotFound: Cursor not found"
	reset 'docsvision_records=300&docsvision_page_kb=4&latency=50'
	local st=$BATS_TEST_TMPDIR/state
	# the pipeline itself, not a function around it: the signal must reach its trap
	docsvision-card --base-url "$EMU" -q --state "$st" "$(card big)" >"$BATS_TEST_TMPDIR/out" &
	local pid=$!
	for _ in $(seq 1 400); do
		[ -s "$st.run" ] && [ "$(jq .pages "$st.run")" -ge 3 ] && break
		sleep 0.05
	done
	kill -TERM "$pid"
	local rc=0
	wait "$pid" || rc=$?
	assert_equal "$rc" 143
	[ "$(ops | tail -n 2 | tr '\n' ' ')" = "CursorClose SessionLogout " ]
	[ "$(emu_ctl info | jq '.open_cursors | length')" -eq 0 ]
	[ ! -e "$st.run" ] && [ ! -e "$st.cursor" ]
}

@test "docsvision-card: kill -9, then --state resumes the same cursor exactly" {
	reset 'docsvision_records=400&docsvision_page_kb=4&latency=40'
	local st=$BATS_TEST_TMPDIR/state out=$BATS_TEST_TMPDIR/out
	kill_when "$st.run" '.pages >= 4' -- docsvision-card --base-url "$EMU" -q --state "$st" \
		-o "$out" "$(card big)"
	[ "$(emu_ctl info | jq '.open_cursors | length')" -eq 1 ]
	run -0 dv --state "$st" -o "$out" "$(card big)"
	assert_output --partial "resuming the read of cursor"
	same_as_truth "$out" 'docsvision?card=big'
	[ "$(emu_ctl info | jq '.open_cursors | length')" -eq 0 ]
	assert_equal "$(jq -c '{complete, records}' "$st")" '{"complete":true,"records":400}'
}

# The SessionLogin requests of the log, as "baseName|settings".
logins() {
	emu_ctl 'log?api=docsvision' | jq -r 'select(.op == "SessionLogin") | "\(.params.baseName)|\(.params.settings)"'
}

@test "docsvision-card: SessionLogin as documented: baseName, the recommended settings, <sessionId>" {
	reset ''
	local host addr
	host=$(hostname)
	addr=$(hostname -I | cut -d ' ' -f 1)
	dv -q "$(card small)" >"$BATS_TEST_TMPDIR/out"
	same_as_truth "$BATS_TEST_TMPDIR/out" 'docsvision?card=small'
	assert_equal "$(logins)" "|ComputerAddress=${addr:-127.0.0.1};ComputerName=$host;LocaleID=1049"
	reset ''
	dv -q --base-name docsvision --locale 1033 "$(card small)" >"$BATS_TEST_TMPDIR/out"
	same_as_truth "$BATS_TEST_TMPDIR/out" 'docsvision?card=small'
	assert_equal "$(logins)" "docsvision|ComputerAddress=${addr:-127.0.0.1};ComputerName=$host;LocaleID=1033"
	reset ''
	run dv --base-name Archive "$(card small)"
	assert_failure 3
	assert_line --index 0 "docsvision-card: SessionLogin: fault soap:Server: Database Archive not found"
	assert_equal "$(requests docsvision SessionLogin)" 1
}

@test "docsvision-card: a temporary failure of CursorClose or SessionLogout is tried again, so that neither stays open" {
	local op end
	for op in CursorClose SessionLogout; do
		end="CursorClose SessionLogout $op "
		[ "$op" = SessionLogout ] || end="CursorClose CursorClose SessionLogout "
		reset 'docsvision_records=300&docsvision_page_kb=4'
		# an empty-detail soap:Server fault: temporary (75), as an asmx exception
		fault "api=docsvision&kind=soap_fault&code=soap:Server&op=$op&times=1"
		run --separate-stderr dv "$(card big)"
		assert_success
		assert_equal "$(requests docsvision "$op")" 2
		assert_equal "$(ops | tail -n 3 | tr '\n' ' ')" "$end"
		assert_equal "$(emu_ctl info | jq -c '[.open_sessions, .open_cursors]')" '[[],[]]'
		[[ $stderr == *"docsvision-card: $op: retry 1 of 2 in 0.1 s"* ]]
	done
}

@test "docsvision-card: SessionLogout after success, an error, SIGINT and SIGTERM; a given session stays" {
	reset 'docsvision_records=300&docsvision_page_kb=4'
	dv -q "$(card big)" >/dev/null
	[ "$(ops | tail -n 1)" = SessionLogout ]
	assert_equal "$(emu_ctl info | jq -c .open_sessions)" '[]'
	fault 'api=docsvision&kind=http&status=403&op=CursorReadPage&on=2'
	run dv -q "$(card big)"
	assert_failure 69
	assert_equal "$(emu_ctl info | jq -c .open_sessions)" '[]'
	local sig
	for sig in INT TERM; do
		reset 'docsvision_records=300&docsvision_page_kb=4&latency=50'
		# SIGINT as from a terminal: a background job of a script ignores it unless reset
		python3 -c 'import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execvp(sys.argv[1], sys.argv[1:])' \
			docsvision-card --base-url "$EMU" -q "$(card big)" >/dev/null &
		local pid=$! rc=0
		for _ in $(seq 1 400); do
			[ "$(requests docsvision CursorReadPage)" -ge 2 ] && break
			sleep 0.05
		done
		kill -"$sig" "$pid"
		wait "$pid" || rc=$?
		assert_equal "$sig $rc" "$sig $([ "$sig" = INT ] && echo 130 || echo 143)"
		assert_equal "$(ops | tail -n 2 | tr '\n' ' ')" "CursorClose SessionLogout "
		assert_equal "$(emu_ctl info | jq -c '[.open_sessions, .open_cursors]')" '[[],[]]'
	done
	reset ''
	local sid
	sid=$(emu_ctl info | jq -r .session_id)
	DOCSVISION_SESSION=$sid dv -q "$(card small)" >/dev/null
	run ops
	refute_line SessionLogin
	refute_line SessionLogout
	DOCSVISION_SESSION=$sid dv -q "$(card small)" >/dev/null
}

@test "docsvision-card: a card id is a GUID, braces or not, any case; anything else is exit 2 at once" {
	reset ''
	local id
	id=$(card small)
	dv -q "{${id,,}}" >"$BATS_TEST_TMPDIR/out"
	same_as_truth "$BATS_TEST_TMPDIR/out" 'docsvision?card=small'
	reset ''
	local bad
	for bad in small "{$id" "$id}" "${id}0" "${id//-/}" "x$id" ''; do
		run dv "$bad"
		assert_failure 2
	done
	run dv small
	assert_line --index 0 "docsvision-card: small: a card id is a GUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)"
	assert_equal "$(requests docsvision)" 0
}

@test "docsvision-card: a DOCSVISION_SESSION that is not a GUID and a --records path xml2ndjson refuses are exit 2 before any request" {
	reset ''
	local sid
	sid=$(emu_ctl info | jq -r .session_id)
	DOCSVISION_SESSION=my-session run --separate-stderr dv "$(card small)"
	assert_failure 2
	assert_equal "$stderr" "docsvision-card: DOCSVISION_SESSION is not a GUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)"
	DOCSVISION_SESSION="$sid" run dv --records '/RowData//' "$(card small)"
	assert_failure 2
	assert_line --index 0 "docsvision-card: --records /RowData//: empty step"
	DOCSVISION_SESSION="$sid" run dv --records '/*/@Title' "$(card small)"
	assert_failure 2
	assert_equal "$(requests docsvision)" 0
	# the session in braces and upper case, as a GUID may be written
	DOCSVISION_SESSION="{${sid^^}}" dv -q "$(card small)" >"$BATS_TEST_TMPDIR/out"
	same_as_truth "$BATS_TEST_TMPDIR/out" 'docsvision?card=small'
}

# same_as_truth_attrs FILE TRUTH: as same_as_truth, for rows whose fields are attributes (a
# null field is no attribute at all).
same_as_truth_attrs() {
	emu_ctl "truth/$2" | jq -cS 'del(.[] | nulls)' | LC_ALL=C sort >"$BATS_TEST_TMPDIR/truth"
	jq -cS . "$1" | LC_ALL=C sort >"$BATS_TEST_TMPDIR/got"
	cmp "$BATS_TEST_TMPDIR/truth" "$BATS_TEST_TMPDIR/got"
}

@test "docsvision-card: pages of <RowData><row F=\"…\"/> (RowSetData's form) and of <rows><row><F>: the same rows" {
	local c
	for c in none deflate; do
		reset "docsvision_rows=attributes&docsvision_records=300&docsvision_page_kb=4&docsvision_compression=$c"
		[ "$(pages big)" -gt 3 ]
		dv -q "$(card big)" >"$BATS_TEST_TMPDIR/out"
		same_as_truth_attrs "$BATS_TEST_TMPDIR/out" 'docsvision?card=big'
		dv -q --records /RowData/row "$(card big)" >"$BATS_TEST_TMPDIR/out"
		same_as_truth_attrs "$BATS_TEST_TMPDIR/out" 'docsvision?card=big'
		reset "docsvision_rows=elements&docsvision_records=300&docsvision_page_kb=4&docsvision_compression=$c"
		dv -q --records '//row' "$(card big)" >"$BATS_TEST_TMPDIR/out"
		same_as_truth "$BATS_TEST_TMPDIR/out" 'docsvision?card=big'
	done
}

@test "docsvision-card: a payload with data but no records at the path is exit 1, never an empty success" {
	local form
	for form in attributes elements; do
		reset "docsvision_rows=$form&docsvision_records=300&docsvision_page_kb=4"
		run dv -q --records /rows/record "$(card big)"
		assert_failure 1
		assert_line --index 0 "docsvision-card: page 1: the payload has data but no records at /rows/record: name the rows with --records PATH, or see the payload with --raw"
	done
	run dv -q --raw --records /x "$(card big)"
	assert_failure 2
}

@test "docsvision-card: --raw writes each page's decoded payload as {\"page\":N,\"data\":XML}" {
	local form
	for form in attributes elements; do
		reset "docsvision_rows=$form&docsvision_records=300&docsvision_page_kb=4&docsvision_compression=gzip"
		dv -q --raw "$(card big)" >"$BATS_TEST_TMPDIR/out"
		assert_equal "$(jq -c .page "$BATS_TEST_TMPDIR/out" | tr '\n' ' ')" "$(seq 1 "$(pages big)" | tr '\n' ' ')"
		jq -j '.data' "$BATS_TEST_TMPDIR/out" | grep -o '<row[ />]' | wc -l >"$BATS_TEST_TMPDIR/n"
		assert_equal "$(cat "$BATS_TEST_TMPDIR/n")" 300
		head -n 1 "$BATS_TEST_TMPDIR/out" | jq -r .data | head -c 9 >"$BATS_TEST_TMPDIR/root"
		case $form in
		attributes) assert_equal "$(cat "$BATS_TEST_TMPDIR/root")" '<RowData>' ;;
		elements) assert_equal "$(cat "$BATS_TEST_TMPDIR/root")" '<rows><ro' ;;
		esac
	done
}

# page PAYLOAD-FILE [VAR=VALUE…]: the pipeline's page command on page 1 of a saved payload,
# with every variable of its contract (PP_PAGE_ENV); page 1 makes no request.
page1() {
	local first=$1
	shift
	mkdir -p "$BATS_TEST_TMPDIR/counts"
	env PAGE_NUMBER=1 PP_FETCH_ARGS= PP_BASE= PP_SESSION= PP_CURSOR= PP_FIRST="$first" \
		PP_COUNTS="$BATS_TEST_TMPDIR/counts" PP_RECORDS= PP_RAW= PP_FIRST_READ=2 PP_DV_AUTH=any \
		PP_DV_CREDS= "$@" docsvision-card __page
}

@test "docsvision-card: rows are row elements in any case under the root, fields from attributes and children" {
	local p=$BATS_TEST_TMPDIR/payload
	printf '<Data><ROW A="1" B="x"><C>2</C></ROW><ROW A="3"/></Data>' >"$p"
	run -0 page1 "$p"
	assert_output $'{"A":"1","B":"x","C":"2"}\n{"A":"3"}'
	assert_equal "$(cat "$BATS_TEST_TMPDIR/counts/1")" 2
	printf '<d:RowData xmlns:d="urn:x"><d:Row F="v"/></d:RowData>' >"$p"
	run -0 page1 "$p"
	assert_output '{"F":"v"}'
	printf '<RowData/>' >"$p"
	run -0 page1 "$p"
	assert_output ''
	printf '<Data><item F="v"/></Data>' >"$p"
	run -1 page1 "$p"
	assert_output "docsvision-card: page 1: the payload has data but no records at /*/row: name the rows with --records PATH, or see the payload with --raw"
	run -0 page1 "$p" PP_RECORDS=/Data/item
	assert_output '{"F":"v"}'
	run -0 page1 "$p" PP_RAW=1
	assert_output '{"page":1,"data":"<Data><item F=\"v\"/></Data>"}'
}

@test "docsvision-card: no rows from a root with attributes or text is exit 1 too; only an empty root is an empty page" {
	local p=$BATS_TEST_TMPDIR/payload x
	for x in '<Data count="3"/>' '<row Title="t"/>' '<Data>row text</Data>'; do
		printf '%s' "$x" >"$p"
		run -1 page1 "$p"
		assert_output "docsvision-card: page 1: the payload has data but no records at /*/row: name the rows with --records PATH, or see the payload with --raw"
	done
	for x in '<rows/>' '<RowData xmlns="urn:x">  </RowData>' '<rows><!-- none --></rows>'; do
		printf '%s' "$x" >"$p"
		run -0 page1 "$p"
		assert_output ''
		assert_equal "$(cat "$BATS_TEST_TMPDIR/counts/1")" 0
	done
	printf '<row Title="t"/>' >"$p"
	run -0 page1 "$p" PP_RECORDS=/row
	assert_output '{"Title":"t"}'
}

@test "docsvision-card: --first-read-page: RowCount against the rows read, so a wrong page base fails loudly" {
	reset 'docsvision_records=300&docsvision_page_kb=4'
	local p
	p=$(pages big)
	[ "$p" -gt 3 ]
	run -0 dv -q --first-read-page 2 "$(card big)" -o "$BATS_TEST_TMPDIR/out"
	assert_equal "$(emu_ctl 'log?api=docsvision' | jq -r 'select(.op == "CursorReadPage") | .params.pageNum' | sort -n | tr '\n' ' ')" "$(seq 2 "$p" | tr '\n' ' ')"
	# a server that numbers from 0: --first-read-page 1 reads it whole
	reset 'docsvision_records=300&docsvision_page_kb=4&docsvision_page_base=0'
	run -0 dv -q --first-read-page 1 "$(card big)" -o "$BATS_TEST_TMPDIR/out"
	same_as_truth "$BATS_TEST_TMPDIR/out" 'docsvision?card=big'
	# the default against it: the page past the end is a fault, or, where the server
	# answers it with an empty page, RowCount disagrees
	run dv -q "$(card big)" -o "$BATS_TEST_TMPDIR/out"
	assert_failure 3
	assert_output --partial "fault PageOutOfRange: Page $p is out of range 0..$((p - 1))"
	reset 'docsvision_records=300&docsvision_page_kb=4&docsvision_page_base=0&docsvision_past_end=empty'
	run dv -q "$(card big)" -o "$BATS_TEST_TMPDIR/out"
	assert_failure 1
	assert_output --regexp '^docsvision-card: RowCount says 300, read [0-9]+: check --first-read-page$'
	refute_output --partial 'read 300:'
	assert_equal "$(emu_ctl info | jq -c '[.open_sessions, .open_cursors]')" '[[],[]]'
	run dv --first-read-page x "$(card big)"
	assert_failure 2
	# --max-pages stops before the end on purpose: no RowCount to reach
	reset 'docsvision_records=300&docsvision_page_kb=4'
	dv -q --max-pages 2 "$(card big)" -o "$BATS_TEST_TMPDIR/out"
	assert_equal "$(jq -r .Number "$BATS_TEST_TMPDIR/out" | tail -n 1)" "$(count "$BATS_TEST_TMPDIR/out")"
}

@test "docsvision-card: faults told by code and detail, not words: a Russian server's permanent fault is not retried" {
	reset 'docsvision_fault_language=ru&docsvision_records=300&docsvision_page_kb=4'
	fault 'api=docsvision&kind=soap_fault&name=CursorNotFound&op=CursorReadPage&on=2'
	run dv -q "$(card big)"
	assert_failure 3
	assert_output --partial 'fault CursorNotFound: Внедрённая ошибка'
	assert_equal "$(requests docsvision CursorReadPage)" 2
	# an empty detail is an unnamed server error: retried
	reset 'docsvision_fault_language=ru&docsvision_records=300&docsvision_page_kb=4'
	fault 'api=docsvision&kind=soap_fault&op=CursorReadPage&on=2'
	run -0 dv -q "$(card big)" -o "$BATS_TEST_TMPDIR/out"
	same_as_truth "$BATS_TEST_TMPDIR/out" 'docsvision?card=big'
	# the server's own faults: a page out of range, a card it does not have, in Russian
	reset 'docsvision_fault_language=ru&docsvision_records=300&docsvision_page_kb=4'
	run dv -q --first-read-page 3 "$(card big)"
	assert_failure 3
	assert_output --partial "вне диапазона"
	assert_equal "$(requests docsvision CursorReadPage)" "$(($(pages big) - 1))"
	reset 'docsvision_fault_language=ru'
	run dv -q 00000000-0000-0000-0000-0000000000ab
	assert_failure 3
	assert_line --index 0 "docsvision-card: CursorRefreshCardData: fault soap:Server: Карточка 00000000-0000-0000-0000-0000000000ab не найдена"
	assert_equal "$(requests docsvision CursorRefreshCardData)" 1
}

@test "docsvision-card: Windows authentication: NTLM with --auth any (the default) and ntlm; a wrong password is 69" {
	reset 'docsvision_auth=ntlm&docsvision_records=300&docsvision_page_kb=4'
	dv -q "$(card big)" -o "$BATS_TEST_TMPDIR/out"
	same_as_truth "$BATS_TEST_TMPDIR/out" 'docsvision?card=big'
	DOCSVISION_USER='DOMAIN\docsvision' dv -q --auth ntlm -P 3 "$(card big)" -o "$BATS_TEST_TMPDIR/out"
	same_as_truth "$BATS_TEST_TMPDIR/out" 'docsvision?card=big'
	assert_equal "$(emu_ctl info | jq -c '[.open_sessions, .open_cursors]')" '[[],[]]'
	run dv --auth basic "$(card big)"
	assert_failure 69
	DOCSVISION_PASSWORD=wrong-pw-Secret run --separate-stderr dv "$(card big)"
	assert_failure 69
	assert_equal "$stderr" "fetch-page: $EMU/DocsVision/StorageServer/StorageServerService.asmx: HTTP 401 Unauthorized; body: Unauthorized; check DOCSVISION_USER and DOCSVISION_PASSWORD
docsvision-card: SessionLogin: failed (exit 69)"
	reset 'docsvision_auth=basic&docsvision_records=300&docsvision_page_kb=4'
	dv -q "$(card small)" -o "$BATS_TEST_TMPDIR/out"
	same_as_truth "$BATS_TEST_TMPDIR/out" 'docsvision?card=small'
	run dv -q --auth ntlm "$(card small)"
	assert_failure 69
	run dv --auth kerberos "$(card small)"
	assert_failure 2
	assert_line --index 0 "docsvision-card: --auth kerberos: basic, ntlm, negotiate or any"
}

# --- one connection for the whole run (fetch-keeper) ----------------------------------------

# conns: the distinct connections of the DocsVision requests in the emulator's log.
conns() { emu_ctl 'log?api=docsvision' | jq -s '[.[].conn] | unique | length'; }

# logout_last: the run's SessionLogout is its one logout and its last request to arrive
# (by the log's numbers, and by the emulator's count, so that a request still being
# answered is not missed), with CursorClose just before it; no session or cursor left.
logout_last() {
	local log
	log=$(emu_ctl 'log?api=docsvision' | jq -sc 'sort_by(.n)')
	assert_equal "$(jq -r '[.[].op] | .[-2:] | join(" ")' <<<"$log")" "CursorClose SessionLogout"
	assert_equal "$(jq '[.[] | select(.op == "SessionLogout")] | length' <<<"$log")" 1
	assert_equal "$(jq '.[-1].n' <<<"$log")" "$(emu_ctl info | jq .requests)"
	assert_equal "$(emu_ctl info | jq -c '[.open_sessions, .open_cursors]')" '[[],[]]'
}

# in_background SIGNAL CMD…: CMD started with SIGNAL's default action (a background job of
# a script ignores SIGINT otherwise); its pid in BG.
in_background() {
	python3 -c 'import os, signal, sys; signal.signal(getattr(signal, "SIG" + sys.argv[1]), signal.SIG_DFL); os.execvp(sys.argv[2], sys.argv[2:])' "$@" &
	BG=$!
}

@test "docsvision-card: one connection for the whole run, SessionLogin to SessionLogout; one a request with PAGEPULL_NO_KEEPALIVE=1; at most P with -P P" {
	reset 'docsvision_records=300&docsvision_page_kb=4'
	local out=$BATS_TEST_TMPDIR requests
	dv -q "$(card big)" -o "$out/kept"
	same_as_truth "$out/kept" 'docsvision?card=big'
	requests=$(emu_ctl 'log?api=docsvision' | jq -s length)
	[ "$requests" -ge 10 ]
	assert_equal "$(conns)" 1
	logout_last
	reset 'docsvision_records=300&docsvision_page_kb=4'
	PAGEPULL_NO_KEEPALIVE=1 dv -q "$(card big)" -o "$out/alone"
	cmp "$out/kept" "$out/alone"
	assert_equal "$(conns)" "$requests"
	logout_last
	reset 'docsvision_records=300&docsvision_page_kb=4'
	dv -q -P 3 "$(card big)" -o "$out/par"
	cmp "$out/kept" "$out/par"
	[ "$(conns)" -le 3 ]
	logout_last
	# under an outer keeper (left alone: the run has its own, which it can end and wait for)
	reset 'docsvision_records=300&docsvision_page_kb=4'
	fetch-keeper -- docsvision-card --base-url "$EMU" -q "$(card big)" -o "$out/outer"
	cmp "$out/kept" "$out/outer"
	assert_equal "$(conns)" 1
	logout_last
}

@test "docsvision-card: over TLS, one full handshake for the whole run; one a request with PAGEPULL_NO_KEEPALIVE=1" {
	cd "$BATS_TEST_TMPDIR"
	"$ROOT/tests/emulator/run" --records 0 --docsvision-records 300 --docsvision-page-kb 4 \
		--tls --tls-cert cert.pem >tls.out 2>/dev/null &
	local tls_pid=$! base i
	for i in $(seq 1 100); do [ -s tls.out ] && break; sleep 0.05; done
	base=$(head -n 1 tls.out)
	local id
	id=$(curl -fsS --cacert cert.pem "$base/_emulator/info" | jq -r '.cards[] | select(.name == "big") | .id')
	docsvision-card --base-url "$base" --cacert cert.pem -q "$id" -o kept
	curl -fsS --cacert cert.pem "$base/_emulator/log" >kept.log
	curl -fsS --cacert cert.pem -X POST "$base/_emulator/reset" >/dev/null
	PAGEPULL_NO_KEEPALIVE=1 docsvision-card --base-url "$base" --cacert cert.pem -q "$id" -o alone
	curl -fsS --cacert cert.pem "$base/_emulator/log" >alone.log
	kill "$tls_pid"
	cmp kept alone
	[ "$(count kept)" -eq 300 ]
	local handshakes='map(select(.api != null)) | group_by(.conn) | map(.[0].tls) | group_by(.) | map("\(.[0]) \(length)") | join(", ")'
	run -0 jq -rs "$handshakes" kept.log
	assert_output "full 1"
	run -0 jq -rs "$handshakes" alone.log
	assert_output "full $(jq -s 'map(select(.api != null)) | length' alone.log)"
	[ "$(count alone.log)" -ge 10 ]
	assert_equal "$(jq -rs 'map(select(.api != null)) | sort_by(.n) | .[-1].op' kept.log)" SessionLogout
}

@test "docsvision-card: SessionLogout once and last on an error and on SIGTERM and SIGINT while a page's retry waits in the keeper; the keeper gone first" {
	export KEEPER_MARK=$BATS_TEST_TMPDIR
	# an error mid-run: the pages' keeper ended before CursorClose and SessionLogout, which
	# then have a connection each
	reset 'docsvision_records=300&docsvision_page_kb=4'
	fault 'api=docsvision&kind=http&status=403&op=CursorReadPage&on=3'
	run dv -q "$(card big)"
	assert_failure 69
	logout_last
	assert_equal "$(conns)" 3
	[ -z "$(our_keepers)" ]
	local sig rc
	for sig in TERM INT; do
		# page 4's request has its 429: the signal comes while the keeper's worker waits
		# out the Retry-After to send it again, mid-exchange for a page that paginate kills
		reset 'docsvision_records=300&docsvision_page_kb=4'
		fault 'api=docsvision&kind=http&status=429&retry_after=3&op=CursorReadPage&on=3'
		in_background "$sig" docsvision-card --base-url "$EMU" --retry-delay 0.1 -q "$(card big)" -o "$BATS_TEST_TMPDIR/out"
		for _ in $(seq 1 400); do
			[ "$(emu_ctl faults | jq '.[0].fired')" -eq 1 ] && break
			sleep 0.05
		done
		[ "$(emu_ctl faults | jq '.[0].fired')" -eq 1 ]
		kill -"$sig" "$BG"
		rc=0
		wait "$BG" || rc=$?
		assert_equal "$sig $rc" "$sig $([ "$sig" = INT ] && echo 130 || echo 143)"
		# no worker is left to send the retry after the logout
		[ -z "$(our_keepers)" ]
		logout_last
		assert_equal "$(requests docsvision CursorReadPage)" 3
		assert_equal "$(conns)" 3
	done
}

@test "docsvision-card: a kill -9 of the run's keeper mid-page costs no row; CursorClose and SessionLogout then share a new keeper's connection" {
	export KEEPER_MARK=$BATS_TEST_TMPDIR
	reset 'docsvision_records=300&docsvision_page_kb=4&latency=40'
	dv -q "$(card big)" -o "$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" &
	local pid=$! pids=''
	for _ in $(seq 1 400); do
		[ "$(requests docsvision CursorReadPage)" -ge 3 ] && pids=$(our_keepers) && [ -n "$pids" ] && break
		sleep 0.02
	done
	[ -n "$pids" ]
	kill -9 $pids
	wait "$pid" || fail "exit $? ($(tail -n 2 "$BATS_TEST_TMPDIR/err"))"
	same_as_truth "$BATS_TEST_TMPDIR/out" 'docsvision?card=big'
	logout_last
	local log
	log=$(emu_ctl 'log?api=docsvision' | jq -sc 'sort_by(.n)')
	# the requests before the kill on one connection; after it the pages' own
	assert_equal "$(jq '.[0].conn == .[1].conn and .[1].conn == .[2].conn' <<<"$log")" true
	assert_equal "$(jq '.[-1].conn == .[-2].conn and .[-2].conn != .[-3].conn' <<<"$log")" true
	[ -z "$(our_keepers)" ]
}

@test "docsvision-card: a page runs without lib.sh, mktemp, rm, cat, readlink or jq: one fetch-page and two xml2ndjson (b64inflate when compressed), rows in either form" {
	local shims=$BATS_TEST_TMPDIR/shims share=$BATS_TEST_TMPDIR/share p c want real
	mkdir -p "$shims" "$share"
	export LOG=$BATS_TEST_TMPDIR/log
	# every program a page might run logs itself with its page, then runs the real one
	# (PAGEPULL_BIN: first on the PATH that main hands on)
	for p in fetch-page xml2ndjson b64inflate jq mktemp rm cat readlink; do
		real=$(command -v "$p")
		printf '#!/bin/sh\n[ -z "${PAGE_NUMBER:-}" ] || echo "$PAGE_NUMBER %s" >>"$LOG"\nexec %s "$@"\n' \
			"$p" "$real" >"$shims/$p"
		chmod +x "$shims/$p"
	done
	printf '[ -z "${PAGE_NUMBER:-}" ] || echo "$PAGE_NUMBER lib.sh" >>"$LOG"\n. %s/pipelines/lib.sh\n' \
		"$ROOT" >"$share/lib.sh"
	for c in none gzip; do
		# uncompressed pages of elements, compressed ones of attributes (RowSetData's form)
		reset "docsvision_records=60&docsvision_page_kb=2&docsvision_compression=$c&docsvision_rows=$([ "$c" = none ] && echo elements || echo attributes)"
		[ "$(pages big)" -ge 3 ]
		: >"$LOG"
		PAGEPULL_BIN=$shims PAGEPULL_SHARE=$share dv -q "$(card big)" >"$BATS_TEST_TMPDIR/out"
		if [ "$c" = none ]; then
			same_as_truth "$BATS_TEST_TMPDIR/out" 'docsvision?card=big'
		else
			same_as_truth_attrs "$BATS_TEST_TMPDIR/out" 'docsvision?card=big'
		fi
		want=$([ "$c" = none ] || echo 1 b64inflate; echo 1 xml2ndjson)
		for p in $(seq 2 "$(pages big)"); do
			want+=$'\n'"$p fetch-page"$'\n'"$p xml2ndjson"$'\n'
			want+=$([ "$c" = none ] || echo "$p b64inflate"; echo "$p xml2ndjson")
		done
		assert_equal "$(sort -s -n -k 1,1 "$LOG")" "$want"
	done
}

@test "docsvision-card: a page's work files are emptied when it ends, not left holding its payload" {
	local p=$BATS_TEST_TMPDIR/payload
	printf '<rows><row><A>1</A></row><row><A>2</A></row></rows>' | gzip -c | base64 >"$p"
	run -0 page1 "$p"
	assert_output $'{"A":"1"}\n{"A":"2"}'
	assert_equal "$(cat "$BATS_TEST_TMPDIR/counts/1")" 2
	# the inflated page was there (page 1's work files: page1.*, beside PP_COUNTS), now empty
	[ -f "$BATS_TEST_TMPDIR/page1.xml" ]
	[ ! -s "$BATS_TEST_TMPDIR/page1.xml" ]
}
