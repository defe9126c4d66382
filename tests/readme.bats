#!/usr/bin/env bats
# readme: the README's worked examples, taken from README.md as they are printed, run against
# `make emulator` (tests/emulator/run --banner) with its printed export lines in place of
# the examples' own: the one substitution the README documents.
load helpers

setup_file() {
	local out="$BATS_FILE_TMPDIR/banner" i
	"$ROOT/tests/emulator/run" --banner >"$out" 2>"$BATS_FILE_TMPDIR/emu.err" &
	echo $! >"$BATS_FILE_TMPDIR/emu.pid"
	for i in $(seq 1 200); do
		grep -q '^# Ctrl-C stops the emulator' "$out" && return 0
		sleep 0.05
	done
	cat "$BATS_FILE_TMPDIR/emu.err" >&2
	return 1
}

teardown_file() {
	local pid
	pid=$(cat "$BATS_FILE_TMPDIR/emu.pid")
	kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	return 0
}

# The ```sh blocks of "## One worked example per API", up to its first ### heading, each
# into $BATS_FILE_TMPDIR/example.N.sh; prints N.
extract() {
	awk -v dir="$BATS_FILE_TMPDIR" '
		/^## One worked example per API/ { on = 1; next }
		on && /^##/ { exit }
		on && /^```sh$/ { n++; f = dir "/example." n ".sh"; inblock = 1; printf "" >f; next }
		inblock && /^```$/ { inblock = 0; close(f); next }
		inblock { print >>f }
		END { print n }' "$ROOT/README.md"
}

@test "readme: make emulator prints the base URL first, then the credentials and export lines" {
	local b="$BATS_FILE_TMPDIR/banner"
	run head -n 1 "$b"
	assert_output --regexp '^http://127\.0\.0\.1:[0-9]+$'
	local url=$output
	run cat "$b"
	assert_line --index 1 '# credentials: Mercury mercury / mercury-secret (HTTP Basic), DocsVision docsvision / dv-secret (HTTP Basic),'
	assert_line "export MERCURY_BASE_URL='$url' MERCURY_USER='mercury' MERCURY_PASSWORD='mercury-secret'"
	assert_line "export DATAMILL_BASE_URL='$url/datamill'"
	assert_line "export DIADOC_BASE_URL='$url' DIADOC_CLIENT_ID='pagepull-demo' DIADOC_TOKEN='diadoc-secret-token'"
	assert_line "export DOCSVISION_BASE_URL='$url' DOCSVISION_USER='docsvision' DOCSVISION_PASSWORD='dv-secret'"
}

@test "readme: the worked examples run against the emulator as printed, less their export lines" {
	run extract
	assert_output 5
	cd "$BATS_TEST_TMPDIR"
	local i
	for i in 1 2 3 4 5; do
		# Two shells' worth: the lines make emulator printed, then the example less its exports.
		{
			grep '^export ' "$BATS_FILE_TMPDIR/banner"
			grep -v '^export ' "$BATS_FILE_TMPDIR/example.$i.sh"
		} >"run.$i.sh"
		run bash -c "bash -eo pipefail run.$i.sh 2>err.$i"
		echo "example $i: $(cat "$BATS_FILE_TMPDIR/example.$i.sh"; cat "err.$i")" >&2
		assert_success
		# each prints a table of what it fetched (stdout alone): at least two rows
		[ "$(printf '%s\n' "$output" | grep -c .)" -ge 2 ]
	done
	# the files the examples wrote hold what the emulator has
	[ "$(wc -l <products-5.ndjson)" -eq 750 ]
	[ "$(wc -l <card.ndjson)" -eq 120 ]
	[ -s january.ndjson ] && [ -s young.ndjson ]
}
