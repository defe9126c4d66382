#!/usr/bin/env bats
# datamill-cursor against the emulator: XML and JSON give the same bytes, every dataset size,
# faults, eof styles (missing eof = not finished), a kill -9 and a resume.
load helpers
pipeline_suite

dm() {
	datamill-cursor --base-url "$EMU/datamill" --retry-delay 0.1 "$@"
}

@test "datamill-cursor: --help, --version, usage errors" {
	run datamill-cursor --help
	assert_success
	assert_line --index 0 --partial "usage: datamill-cursor"
	help_matches_man datamill-cursor
	run datamill-cursor --version
	assert_output "datamill-cursor 0.1.0"
	run datamill-cursor --format csv
	assert_failure 2
	assert_line --index 0 "datamill-cursor: --format csv: not xml or json"
	run datamill-cursor --where Salary
	assert_failure 2
	run datamill-cursor --query /dev/null --select LastName
	assert_failure 2
}

@test "datamill-cursor: XML and JSON give the same records, byte for byte, and the truth" {
	reset 'records=700&datamill_max_objects=60'
	dm -q --format xml -o "$BATS_TEST_TMPDIR/x"
	dm -q --format json -o "$BATS_TEST_TMPDIR/j"
	cmp "$BATS_TEST_TMPDIR/x" "$BATS_TEST_TMPDIR/j"
	same_as_truth "$BATS_TEST_TMPDIR/x" datamill
	# dates ISO, nulls for empty elements, strings for the rest
	run jq -r 'select(.TabNumber == "100000") | [.BirthDate, (.Salary | type)] | @tsv' "$BATS_TEST_TMPDIR/j"
	assert_output --regexp '^[0-9]{4}-[0-9]{2}-[0-9]{2}	string$'
}

@test "datamill-cursor: no records, one, exactly one packet, one packet + 1" {
	local n f
	for f in xml json; do
		for n in 0 1 50 51; do
			reset "records=$n&datamill_max_objects=50&datamill_max_bytes=10000000"
			dm -q --format "$f" >"$BATS_TEST_TMPDIR/out"
			[ "$(count "$BATS_TEST_TMPDIR/out")" -eq "$n" ]
			same_as_truth "$BATS_TEST_TMPDIR/out" datamill
			[ "$(requests datamill)" -eq $((n > 50 ? 2 : 1)) ]
		done
	done
}

@test "datamill-cursor: 10 000 records, eof as 1/0 and left out until the end" {
	reset 'records=10000&datamill_max_objects=500&datamill_max_bytes=1000000&datamill_eof_style=number&datamill_omit_eof=1'
	dm -q --format json -o "$BATS_TEST_TMPDIR/out"
	same_as_truth "$BATS_TEST_TMPDIR/out" datamill
	reset 'records=250&datamill_eof_style=string&datamill_omit_eof=1'
	dm -q --format xml -o "$BATS_TEST_TMPDIR/out"
	same_as_truth "$BATS_TEST_TMPDIR/out" datamill
}

@test "datamill-cursor: a query from options and from a file, --fetchall, GET" {
	reset 'records=300'
	local q='<query class="TWorker"><item part="0" name="LastName"/><item part="0" name="BirthDate"/><item part="1" name="BirthDate" value="&gt;01.01.1985"/></query>'
	dm -q --select LastName --select BirthDate --where 'BirthDate>01.01.1985' >"$BATS_TEST_TMPDIR/opts"
	same_as_truth "$BATS_TEST_TMPDIR/opts" "datamill?query=$(jq -rn --arg q "$q" '$q | @uri')"
	printf '%s\n' "$q" >"$BATS_TEST_TMPDIR/q.xml"
	dm -q --format json --get --query "$BATS_TEST_TMPDIR/q.xml" >"$BATS_TEST_TMPDIR/file"
	cmp "$BATS_TEST_TMPDIR/opts" "$BATS_TEST_TMPDIR/file"
	dm -q --fetchall --format json >"$BATS_TEST_TMPDIR/all"
	same_as_truth "$BATS_TEST_TMPDIR/all" datamill
	[ "$(emu_ctl 'log?api=datamill' | jq -s 'map(select(.method == "GET")) | length')" -ge 1 ]
	[ "$(emu_ctl 'log?api=datamill' | jq -s 'last | .records')" -eq 300 ]
}

@test "datamill-cursor: 500, 429 with Retry-After, a close mid-body, an API error" {
	reset 'records=600&datamill_max_objects=50'
	fault 'api=datamill&kind=http&status=500&on=2'
	fault 'api=datamill&kind=http&status=429&retry_after=1&on=4'
	fault 'api=datamill&kind=close&on=6,7'
	fault 'api=datamill&kind=api_error&status=503&on=9'
	run -0 dm --format xml -o "$BATS_TEST_TMPDIR/out"
	same_as_truth "$BATS_TEST_TMPDIR/out" datamill
}

@test "datamill-cursor: kill -9 while no packet is in flight, then --state resumes exactly" {
	# A stall keeps the 6th packet from being sent while the run is killed; the resume
	# starts the query again and rewrites the output.
	reset 'records=300&datamill_max_objects=20'
	fault 'api=datamill&kind=stall&seconds=4&on=6'
	local st=$BATS_TEST_TMPDIR/state out=$BATS_TEST_TMPDIR/out
	kill_when "$st.run" '.pages >= 5' -- datamill-cursor --base-url "$EMU/datamill" -q \
		--state "$st" -o "$out"
	[ "$(jq .pages "$st.run")" -eq 5 ]
	run -0 dm -q --state "$st" -o "$out"
	same_as_truth "$out" datamill
	assert_equal "$(jq -c '{complete, records}' "$st")" '{"complete":true,"records":300}'
	[ ! -e "$st.run" ]
}

@test "datamill-cursor: kill -9 at seeded random instants, then --state -o restarts exactly" {
	reset 'records=400&datamill_max_objects=20'
	local st=$BATS_TEST_TMPDIR/state out=$BATS_TEST_TMPDIR/out trial
	RANDOM=7
	for trial in 1 2 3; do
		rm -f "$st" "$st.run" "$out"
		# slow packets for the killed run: with pages that start no shell, a whole run was
		# quicker than kill_when's look at the checkpoint, which then saw it done
		fault 'api=datamill&kind=drip&bytes_per_sec=20000&times=10'
		# Killed after 2..9 packets were written, most likely with one in flight.
		kill_when "$st.run" ".pages >= $((2 + RANDOM % 8))" -- datamill-cursor \
			--base-url "$EMU/datamill" -q --state "$st" -o "$out"
		run -0 dm --state "$st" -o "$out"
		assert_output --partial "the query starts again from its first packet"
		same_as_truth "$out" datamill
		[ "$(jq -r .complete "$st")" = true ]
	done
}

@test "datamill-cursor: a cut-off run is not resumed onto standard output (exit 2)" {
	reset 'records=100&datamill_max_objects=20'
	fault 'api=datamill&kind=drip&bytes_per_sec=20000&times=4'
	local st=$BATS_TEST_TMPDIR/state
	kill_when "$st.run" '.pages >= 2' -- datamill-cursor --base-url "$EMU/datamill" -q \
		--state "$st" -o "$BATS_TEST_TMPDIR/out"
	run -2 dm -q --state "$st"
	assert_output --partial "can only be restarted into a file (-o)"
}

@test "datamill-cursor: an expired handle exits 69; the resume with -o is exact" {
	reset 'records=200&datamill_max_objects=20'
	fault 'api=datamill&kind=expire_handle&on=4'
	local st=$BATS_TEST_TMPDIR/state out=$BATS_TEST_TMPDIR/out
	run -69 dm -q --state "$st" -o "$out"
	run -0 dm -q --state "$st" -o "$out"
	same_as_truth "$out" datamill
}

# dm_status QUERY: the HTTP status the emulator answers a POSTed query with.
dm_status() {
	curl -s -o /dev/null -w '%{http_code}' --data-urlencode "query=$1" "$EMU/datamill/cursor.xml"
}

@test "datamill-cursor: the query from options is techmill's syntax: what/where/order, = as the value alone, * as a mask" {
	reset 'records=400'
	local q='<query class="TWorker"><item part="what" name="LastName"/><item part="what" name="Department"/><item part="where" name="LastName" value="А*"/><item part="where" name="BirthDate" value="&gt;01.01.1970"/><item part="where" name="TabNumber" value="&lt;100300"/><item part="order" name="LastName"/></query>'
	dm -q --select LastName --select Department --where 'LastName=А*' --where 'BirthDate>01.01.1970' \
		--where 'TabNumber<100300' --order LastName >"$BATS_TEST_TMPDIR/out"
	[ "$(count "$BATS_TEST_TMPDIR/out")" -gt 0 ]
	same_as_truth "$BATS_TEST_TMPDIR/out" "datamill?query=$(jq -rn --arg q "$q" '$q | @uri')"
	# every name starts with А, in order
	[ -z "$(jq -r '.LastName' "$BATS_TEST_TMPDIR/out" | grep -v '^А')" ]
	jq -r .LastName "$BATS_TEST_TMPDIR/out" | LC_ALL=C sort -C
	# the request carried exactly that query (the log keeps its first 300 characters)
	local sent
	sent=$(emu_ctl 'log?api=datamill' | jq -rs 'first | .params.query')
	[ "${sent%…}" = "$(jq -rn --arg q "$q" '$q | .[:300]')" ]
	run -2 dm --where 'LastName=>x'
	assert_output --partial "a value after = cannot begin with < or >"
}

@test "datamill-cursor: the emulator answers 400 to a query techmill's docs would not accept" {
	reset 'records=10'
	local bad good
	for bad in '<query><item part="what" name="LastName"/></query>' \
		'<query class="TWorker" fetchall="yes"/>' \
		'<query class="TWorker"><item part="2" name="LastName"/></query>' \
		'<query class="TWorker"><item part="select" name="LastName"/></query>' \
		'<query class="TWorker"><item name="LastName"/></query>' \
		'<query class="TWorker"><item part="what" name="NoSuchField"/></query>' \
		'<query class="TWorker"><item part="where" name="LastName"/></query>' \
		'<query class="TWorker"><item part="what" name="LastName" value="x"/></query>' \
		'<query class="TWorker"><item part="where" name="BirthDate" value="=01.01.1970"/></query>' \
		'<query class="TWorker"><item part="where" name="Salary" value="lots"/></query>' \
		'<query class="TWorker"><field part="what" name="LastName"/></query>' \
		'<query class="TWorker"><item part="group" name="Department"/></query>'; do
		[ "$(dm_status "$bad")" = 400 ] || fail "accepted: $bad"
	done
	for good in '<query class="TWorker"/>' '<query class="TWorker" fetchall="1"/>' \
		'<query class="TWorker" fetchall="0"><item part="0" name="LastName"/><item part="1" name="BirthDate" value=">12.05.2000"/></query>' \
		'<query class="TWorker"><item part="what" name="LastName"/><item part="where" name="LastName" value="А*"/><item part="order" name="LastName"/></query>' \
		'<query class="TWorker"><item part="where" name="TabNumber" value="&lt;100003"/></query>'; do
		[ "$(dm_status "$good")" = 200 ] || fail "refused: $good"
	done
	# the pipeline reports the 400 and its text, exit 69
	printf '%s' '<query class="TWorker"><item part="2" name="LastName"/></query>' >"$BATS_TEST_TMPDIR/q.xml"
	run -69 dm --query "$BATS_TEST_TMPDIR/q.xml"
	assert_output --partial "400"
}
