#!/usr/bin/env bats
# diadoc-packet against the emulator: the packets of 0, 1, 100, 101 and 10 000 documents,
# short and empty pages that are not the last, faults, a kill -9 and a resume.
load helpers
pipeline_suite

setup_file() {
	emu_start --records 0 --diadoc-packet-records 10000
}

dp() {
	diadoc-packet --base-url "$EMU" --box "$BOX" --retry-delay 0.1 "$@"
}

# packet NAME: its id.
packet() {
	emu_ctl info | jq -r --arg n "$1" '.packets[] | select(.name == $n) | .id'
}

@test "diadoc-packet: --help, --version, usage errors" {
	run diadoc-packet --help
	assert_success
	assert_line --index 0 --partial "usage: diadoc-packet"
	help_matches_man diadoc-packet
	run diadoc-packet --version
	assert_output "diadoc-packet 0.1.0"
	run diadoc-packet --box "$BOX"
	assert_failure 2
	assert_line --index 0 "diadoc-packet: --packet: the packet id is required"
	run diadoc-packet --box "$BOX" --packet x --count 0
	assert_failure 2
	run diadoc-packet --box "$BOX" --packet x --api-version 4
	assert_failure 2
	assert_line --index 0 "diadoc-packet: --api-version 4: not 2 or 5"
}

@test "diadoc-packet: a box id that is not a GUID is a usage error before any request" {
	reset records=0
	local b
	for b in "${BOX//-/}" "${BOX//-/}@diadoc.ru" my-box-id; do
		run dp --box "$b" --packet "$(packet one)"
		assert_failure 2
		assert_line --index 0 "diadoc-packet: --box $b: not a GUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)"
	done
	# a box from the environment is named as such
	DIADOC_BOX_ID=my-box-id run diadoc-packet --base-url "$EMU" --packet "$(packet one)"
	assert_failure 2
	assert_output "diadoc-packet: DIADOC_BOX_ID=my-box-id: not a GUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)"
	[ "$(requests diadoc-packet)" -eq 0 ]
}

@test "diadoc-packet: V5 by default, V2 with --api-version 2, unknown fields kept as \"#N\"" {
	reset 'records=0&diadoc_unknown_fields=1&diadoc_empty_pages=2'
	local id v
	id=$(packet hundred-one)
	for v in 5 2; do
		dp -q --api-version $v --count 30 --packet "$id" -o "$BATS_TEST_TMPDIR/out.$v"
		same_as_truth "$BATS_TEST_TMPDIR/out.$v" "diadoc-packet?packetId=$id&version=$v"
		[ "$(jq -c '.["#1001"]' "$BATS_TEST_TMPDIR/out.$v" | sort -u)" = '[7]' ]
		[ "$(jq -r '.Document.DocumentInfo["#1000"][0] | @base64d' "$BATS_TEST_TMPDIR/out.$v" | sort -u)" = 'поле из будущей версии API' ]
	done
	[ "$(jq -r '.Document.DocumentInfo.PacketInfo.PacketId' "$BATS_TEST_TMPDIR/out.5" | sort -u)" = "$id" ]
	[ "$(jq -r '.Document.Docflow.PacketId' "$BATS_TEST_TMPDIR/out.2" | sort -u)" = "$id" ]
	cmp <(jq -r .IndexKey "$BATS_TEST_TMPDIR/out.5") <(jq -r .IndexKey "$BATS_TEST_TMPDIR/out.2")
	run emu_ctl 'log?api=diadoc-packet'
	[ "$(jq -r .path <<<"$output" | sort -u | paste -sd' ')" = '/V2/GetDocflowsByPacketId /V5/GetDocflowsByPacketId' ]
}

@test "diadoc-packet: packets of 0, 1, exactly one page, one page + 1" {
	local name n
	reset 'diadoc_packet_records=10'
	for name in empty one hundred hundred-one; do
		dp -q --packet "$(packet "$name")" >"$BATS_TEST_TMPDIR/out"
		same_as_truth "$BATS_TEST_TMPDIR/out" "diadoc-packet?packetId=$(packet "$name")"
	done
	[ "$(count "$BATS_TEST_TMPDIR/out")" -eq 101 ]
	# one request each for 0, 1 and 100, two for 101
	[ "$(requests diadoc-packet)" -eq 5 ]
}

@test "diadoc-packet: 10 000 documents" {
	reset 'diadoc_packet_records=10000'
	dp -q --packet "$(packet big)" -o "$BATS_TEST_TMPDIR/out"
	[ "$(count "$BATS_TEST_TMPDIR/out")" -eq 10000 ]
	same_as_truth "$BATS_TEST_TMPDIR/out" "diadoc-packet?packetId=$(packet big)"
}

@test "diadoc-packet: short and empty pages are not the end; a trailing empty page is" {
	reset 'diadoc_packet_records=10&diadoc_empty_pages=2&diadoc_short_pages=3&diadoc_trailing_empty=1'
	dp -q --count 30 --packet "$(packet medium)" >"$BATS_TEST_TMPDIR/out"
	same_as_truth "$BATS_TEST_TMPDIR/out" "diadoc-packet?packetId=$(packet medium)"
	[ "$(emu_ctl 'log?api=diadoc-packet' | jq -s 'map(select(.records == 0)) | length')" -ge 3 ]
	# more empty pages in a row than --max-empty allows is an error, not a silent loop
	reset 'diadoc_packet_records=10&diadoc_empty_pages=1'
	run dp --max-empty 0 --packet "$(packet medium)"
	assert_failure 1
	assert_output --partial "empty pages in a row"
}

@test "diadoc-packet: 500, 429 with Retry-After, a close mid-body, an API error" {
	reset 'diadoc_packet_records=10'
	fault 'api=diadoc-packet&kind=http&status=500&on=1'
	fault 'api=diadoc-packet&kind=http&status=429&retry_after=1&on=3'
	fault 'api=diadoc-packet&kind=close&on=5,6'
	fault 'api=diadoc-packet&kind=api_error&status=503&on=8'
	run -0 dp --count 20 --packet "$(packet medium)" -o "$BATS_TEST_TMPDIR/out"
	same_as_truth "$BATS_TEST_TMPDIR/out" "diadoc-packet?packetId=$(packet medium)"
}

@test "diadoc-packet: an unknown packet is a 404: exit 69; the emulator's packet names are no ids" {
	run dp --packet 00000000-0000-0000-0000-00000000beef
	assert_failure 69
	assert_output --partial "HTTP 404"
	# the service knows packets by id only: the emulator's names (info, truth) are not ids
	run dp --packet hundred
	assert_failure 69
	assert_output --partial "HTTP 404 Not Found; X-Diadoc-ErrorCode: Http.NotFound; body: Packet hundred not found"
	run dp -q --packet " $(packet one)"
	assert_failure 69
	local id
	id=$(packet one)
	dp -q --packet "${id^^}" -o "$BATS_TEST_TMPDIR/out"
	same_as_truth "$BATS_TEST_TMPDIR/out" "diadoc-packet?packetId=$id"
}

@test "diadoc-packet: kill -9, then --state resumes exactly" {
	reset 'diadoc_packet_records=10&latency=40'
	local st=$BATS_TEST_TMPDIR/state id
	id=$(packet medium)
	kill_when "$st.run" '.pages >= 5' -- diadoc-packet --base-url "$EMU" --box "$BOX" -q \
		--count 10 --packet "$id" --state "$st" -o "$BATS_TEST_TMPDIR/out"
	run -0 dp -q --count 10 --packet "$id" --state "$st" -o "$BATS_TEST_TMPDIR/out"
	same_as_truth "$BATS_TEST_TMPDIR/out" "diadoc-packet?packetId=$id"
	assert_equal "$(jq -c '{complete, records}' "$st")" '{"complete":true,"records":250}'
}

@test "diadoc-packet: a page answered 200 text/plain (x and a newline) is exit 69, never 100 of 500 records and 0" {
	reset 'diadoc_packet_records=500'
	fault 'api=diadoc-packet&kind=wrong_type&on=2'
	run dp --packet "$(packet big)" -o "$BATS_TEST_TMPDIR/out"
	assert_failure 69
	assert_line --partial 'HTTP 200 with Content-Type text/plain; charset=utf-8, expected not text/*, not application/json, not application/xml; first bytes: "x\n"'
}
