#!/usr/bin/env bats
# The one commit point of a pipeline run (issue 16.1), checked at every step: a run passes
# named points between its state changes (PAGEPULL_TEST_STEPS lists them), and for each
# point a run is killed there with kill -9 (PAGEPULL_TEST_STOP_AT), then the same command
# is run again and must end with the emulator's ground truth in -o, its state complete.
# Incremental pipelines are also killed at every point of the run after a complete one.
# Also: every state file is checked (16.5, 16.6) and locked (16.7).
load helpers
pipeline_suite

card() { emu_ctl info | jq -r --arg n "$1" '.cards[] | select(.name == $n) | .id'; }

mp() { mercury-products --base-url "$EMU" --retry-delay 0.1 -q "$@"; }
dm() { datamill-cursor --base-url "$EMU/datamill" --retry-delay 0.1 -q "$@"; }
dp() { diadoc-packet --base-url "$EMU" --box "$BOX" --retry-delay 0.1 -q "$@"; }
de() { diadoc-events --base-url "$EMU" --box "$BOX" --retry-delay 0.1 -q "$@"; }
dv() { docsvision-card --base-url "$EMU" --retry-delay 0.1 -q "$@"; }

packet() { emu_ctl info | jq -r --arg n "$1" '.packets[] | select(.name == $n) | .id'; }

# every_step PREPARE "TRUTH…" CMD…: CMD (a run with --state "$ST" -o "$OUT") once whole to list
# its steps, then for each step: PREPARE, CMD killed there (exit 137), CMD again (exit 0):
# $OUT must hold exactly truth/TRUTH and $ST say complete. Prints the steps it tried.
every_step() {
	local prepare=$1 truth=$2 s
	shift 2
	local steps=$BATS_TEST_TMPDIR/steps
	$prepare
	: >"$steps"
	PAGEPULL_TEST_STEPS=$steps "$@" || fail "the run without a kill failed"
	exact "$OUT" $truth || fail "the run without a kill is not exact"
	[ "$(wc -l <"$steps")" -ge 4 ] || fail "only $(wc -l <"$steps") steps"
	for s in $(awk '!seen[$0]++' "$steps"); do
		$prepare
		local rc=0
		PAGEPULL_TEST_STOP_AT=$s "$@" 2>/dev/null || rc=$?
		[ "$rc" -eq 137 ] || fail "step $s: exit $rc, not killed there"
		rc=0
		"$@" 2>"$BATS_TEST_TMPDIR/err" || rc=$?
		[ "$rc" -eq 0 ] || fail "killed at $s, then run again: exit $rc: $(cat "$BATS_TEST_TMPDIR/err")"
		exact "$OUT" $truth || fail "killed at $s, then run again: not exact"
		[ "$(jq -r .complete "$ST")" = true ] || fail "killed at $s: the state is not complete"
		echo "$s"
	done
}

fresh() { rm -f "$ST" "$ST".* "$OUT"; }

# exact FILE TRUTH…: FILE holds exactly the records of the truths named (several: their
# union, e.g. Mercury's product types), each once.
exact() {
	local f=$1 t
	shift
	for t; do emu_ctl "truth/$t"; done | jq -cS . | LC_ALL=C sort >"$BATS_TEST_TMPDIR/truth"
	jq -cS . "$f" | LC_ALL=C sort >"$BATS_TEST_TMPDIR/got"
	cmp -s "$BATS_TEST_TMPDIR/truth" "$BATS_TEST_TMPDIR/got" ||
		{ echo "$(wc -l <"$BATS_TEST_TMPDIR/got") records, truth $(wc -l <"$BATS_TEST_TMPDIR/truth")" >&2; return 1; }
}

setup() {
	ST=$BATS_TEST_TMPDIR/state OUT=$BATS_TEST_TMPDIR/out
}

@test "commit: mercury-products over three types, killed at every step, then exact" {
	reset records=200
	run -0 every_step fresh 'mercury?productType=1 mercury?productType=2 mercury?productType=3' \
		mp --count 15 --type 1 --type 2 --type 3 --state "$ST" -o "$OUT"
	assert_line type1-done
	assert_line commit-written
	assert_line cleaned
}

@test "commit: datamill-cursor killed at every step, then exact" {
	reset 'records=60&datamill_max_objects=20'
	run -0 every_step fresh datamill dm --state "$ST" -o "$OUT"
	assert_line committed
	# a run cut off (here: by --max-pages) starts its query again: killed there too
	cut_off() { fresh; dm --max-pages 1 --state "$ST" -o "$OUT"; }
	run -0 every_step cut_off datamill dm --state "$ST" -o "$OUT"
	assert_line restarted
}

@test "commit: diadoc-packet killed at every step, then exact" {
	reset records=0
	local id
	id=$(packet hundred-one)
	run -0 every_step fresh "diadoc-packet?packetId=$id" dp --count 40 --packet "$id" --state "$ST" -o "$OUT"
	assert_line committed
}

@test "commit: diadoc-events, a first run and the next (incremental) one killed at every step, then exact" {
	reset records=60
	run -0 every_step fresh diadoc-events de --limit 20 --state "$ST" -o "$OUT"
	assert_line commit
	# The run after a complete one, with 25 more events: the same -o is added to.
	first_run() { fresh; reset records=60; de --limit 20 --state "$ST" -o "$OUT"; reset records=85; }
	run -0 every_step first_run diadoc-events de --limit 20 --state "$ST" -o "$OUT"
	assert_line new-run-begun
	assert_line committed
	[ "$(jq .records "$ST")" -eq 85 ]
}

@test "commit: docsvision-card, a first read and an unchanged card killed at every step, then exact" {
	reset ''
	run -0 every_step fresh 'docsvision?card=medium' dv --state "$ST" -o "$OUT" "$(card medium)"
	assert_line cursor-saved
	assert_line committed
	first_read() { fresh; reset ''; dv --state "$ST" -o "$OUT" "$(card small)"; }
	run -0 every_step first_read 'docsvision?card=small' dv --state "$ST" -o "$OUT" "$(card small)"
	assert_line new-run-begun
	assert_line cleaned
	# A changed card after a complete read: the same steps as a first read's, after new-run's.
	first_read
	emu_ctl 'docsvision/edit?card=small' -X POST >/dev/null
	PAGEPULL_TEST_STOP_AT=cursor-saved run -137 dv --state "$ST" -o "$OUT" "$(card small)"
	run -0 dv --state "$ST" -o "$OUT" "$(card small)"
	same_as_truth "$OUT" 'docsvision?card=small'
}

@test "commit: the same command again after a complete run keeps what -o holds" {
	# What a kill just after the commit looks like to the next run: an incremental run
	# must not rewrite the -o that holds the last run's records.
	reset records=60
	fresh
	de --limit 20 --state "$ST" -o "$OUT"
	run -0 de --limit 20 --state "$ST" -o "$OUT"
	same_as_truth "$OUT" diadoc-events
	reset ''
	fresh
	dv --state "$ST" -o "$OUT" "$(card small)"
	run -0 dv --state "$ST" -o "$OUT" "$(card small)"
	same_as_truth "$OUT" 'docsvision?card=small'
}

@test "commit: the old design's windows: a kill right after the commit never empties -o" {
	# diadoc-events killed after the state said complete, before it exited: the next run
	# adds nothing to the same -o instead of rewriting it with 0 events.
	reset records=60
	fresh
	PAGEPULL_TEST_STOP_AT=committed run -137 de --limit 20 --state "$ST" -o "$OUT"
	run -0 de --limit 20 --state "$ST" -o "$OUT"
	same_as_truth "$OUT" diadoc-events
	# docsvision-card: the card unchanged, -o kept (it was emptied before).
	reset ''
	fresh
	PAGEPULL_TEST_STOP_AT=committed run -137 dv --state "$ST" -o "$OUT" "$(card medium)"
	run -0 dv --state "$ST" -o "$OUT" "$(card medium)"
	same_as_truth "$OUT" 'docsvision?card=medium'
	# mercury-products over several types: no part files to join (a kill after the join
	# used to fail every later run with "cat: ….part: No such file").
	reset records=200
	fresh
	PAGEPULL_TEST_STOP_AT=commit run -137 mp --count 100 --type 1 --type 2 --state "$ST" -o "$OUT"
	run -0 mp --count 100 --type 1 --type 2 --state "$ST" -o "$OUT"
	exact "$OUT" 'mercury?productType=1' 'mercury?productType=2'
	[ -z "$(ls "$BATS_TEST_TMPDIR" | grep -e '\.part$' -e '\.tmp')" ]
}
