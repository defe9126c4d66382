#!/usr/bin/env bats
# make demo: the five pipelines against the emulator, their counts and records shown, the
# files left behind, the emulator stopped afterwards.
load helpers

bats_require_minimum_version 1.5.0

@test "demo: make demo runs the five pipelines and stops the emulator" {
	local out=$BATS_TEST_TMPDIR/demo name
	run -0 env DEMO_RECORDS=300 DEMO_OUT="$out" make -s -C "$ROOT" demo
	for name in mercury-products datamill-cursor datamill-cursor-xml diadoc-events diadoc-packet docsvision-card; do
		assert_line --regexp "^== $name: 300 records in [0-9.]+ s$"
		[ "$(wc -l <"$out/$name.ndjson")" -eq 300 ]
	done
	assert_line "   (the same rows fetched as XML: identical, byte for byte)"
	assert_line "The NDJSON files are in $out:"
	# two records of each, pretty-printed: an indented member line
	assert_line --regexp '^  "TabNumber": "100000",$'
	# the emulator is gone
	run curl -s --max-time 5 "$(cat "$out/emulator.url")/_emulator/info"
	assert_failure 7
}
