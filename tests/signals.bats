#!/usr/bin/env bats
# A pipeline is one well-behaved process (issue 15.2): SIGINT, SIGTERM or SIGHUP sent to
# its pid alone (not its group) stops everything it started, leaves its --state resumable,
# says one line and exits 128+N; the process table then holds nothing of the run, and the
# same command again ends exact. Page commands also die with paginate itself (16.8).
load helpers
pipeline_suite

card() { emu_ctl info | jq -r --arg n "$1" '.cards[] | select(.name == $n) | .id'; }

packet() { emu_ctl info | jq -r --arg n "$1" '.packets[] | select(.name == $n) | .id'; }

# The pipeline NAME's command on a small dataset, with ARGS added.
pipeline_cmd() {
	local p=$1
	shift
	case $p in
	mercury-products) CMD=(mercury-products --base-url "$EMU" --count 10 --type 1 --type 2 "$@") ;;
	datamill-cursor) CMD=(datamill-cursor --base-url "$EMU/datamill" "$@") ;;
	diadoc-events) CMD=(diadoc-events --base-url "$EMU" --box "$BOX" --limit 10 "$@") ;;
	diadoc-packet) CMD=(diadoc-packet --base-url "$EMU" --box "$BOX" --count 10 --packet "$(packet hundred)" "$@") ;;
	docsvision-card) CMD=(docsvision-card --base-url "$EMU" "$@" "$(card medium)") ;;
	esac
}

# start CMD…: CMD in the background as a scheduler starts it: SIGINT at its default (a
# script's background job would ignore it), in a session of its own so that the process
# table tells what is left of the run (pgrep -s). Sets PID (= the session id).
start() {
	setsid python3 -c 'import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.execvp(sys.argv[1], sys.argv[1:])' "$@" 2>"$BATS_TEST_TMPDIR/err" &
	PID=$!
}

# session_gone SID: nothing of session SID is running any more (polled: processes that
# were signalled may take a moment to go).
session_gone() {
	local i
	for i in $(seq 1 100); do
		pgrep -s "$1" >/dev/null || return 0
		sleep 0.05
	done
	echo "still running: $(ps -o pid,pgid,args -s "$1")" >&2
	return 1
}

# exact FILE TRUTH…: FILE holds exactly the records of the truths named, each once.
exact() {
	local f=$1 t
	shift
	for t; do emu_ctl "truth/$t"; done | jq -cS . | LC_ALL=C sort >"$BATS_TEST_TMPDIR/truth"
	jq -cS . "$f" | LC_ALL=C sort | cmp -s - "$BATS_TEST_TMPDIR/truth"
}

# interrupt NAME SIGNAL STATUS TRUTH…: NAME's run, signalled once its checkpoint holds two pages,
# ends with STATUS and one line, leaves nothing running; the same command again is exact.
interrupt() {
	local p=$1 sig=$2 want=$3
	shift 3
	local st=$BATS_TEST_TMPDIR/$p.$sig.state out=$BATS_TEST_TMPDIR/$p.$sig.out run=$BATS_TEST_TMPDIR/$p.$sig.state.run
	[ "$p" != mercury-products ] || run=$run.type1
	pipeline_cmd "$p" -q --retry-delay 0.1 --state "$st" -o "$out"
	start "${CMD[@]}"
	local i
	for i in $(seq 1 400); do
		[ -s "$run" ] && [ "$(jq .pages "$run" 2>/dev/null)" -ge 2 ] && break
		sleep 0.05
	done
	kill -s "$sig" "$PID"
	local rc=0
	wait "$PID" || rc=$?
	[ "$rc" -eq "$want" ] || fail "$p $sig: exit $rc, not $want: $(cat "$BATS_TEST_TMPDIR/err")"
	grep -qx "$p: interrupted; run the same command again to resume" "$BATS_TEST_TMPDIR/err" ||
		fail "$p $sig: $(cat "$BATS_TEST_TMPDIR/err")"
	session_gone "$PID" || fail "$p $sig: processes of the run survived"
	"${CMD[@]}" 2>/dev/null || fail "$p $sig: the second run failed"
	exact "$out" "$@" || fail "$p $sig: the output after the second run is not exact"
	[ "$(jq -r .complete "$st")" = true ]
}

@test "signals: SIGTERM, SIGINT and SIGHUP to mercury-products' pid stop its run, resumable" {
	reset 'records=200&latency=60'
	interrupt mercury-products TERM 143 'mercury?productType=1' 'mercury?productType=2'
	interrupt mercury-products INT 130 'mercury?productType=1' 'mercury?productType=2'
	interrupt mercury-products HUP 129 'mercury?productType=1' 'mercury?productType=2'
}

@test "signals: datamill-cursor, diadoc-events, diadoc-packet and docsvision-card stop on a signal to their pid, resumable" {
	reset 'records=200&latency=60&datamill_max_objects=10'
	interrupt datamill-cursor INT 130 datamill
	interrupt diadoc-events HUP 129 diadoc-events
	interrupt diadoc-packet TERM 143 "diadoc-packet?packetId=$(packet hundred)"
	reset 'latency=60&docsvision_records=300&docsvision_page_kb=4'
	interrupt docsvision-card INT 130 'docsvision?card=medium'
}

@test "signals: page commands die with paginate, killed with -9 or ended by an error" {
	mknod "$BATS_TEST_TMPDIR/full" c 1 7
	# kill -9 of paginate alone: its page command (a stage in a group of its own) goes too
	setsid paginate -q -s cursor --token-field next --pipeline -- sleep 300 '|' cat &
	local pid=$! i
	for i in $(seq 1 100); do pgrep -s "$pid" -x sleep >/dev/null && break; sleep 0.05; done
	pgrep -s "$pid" -x sleep >/dev/null
	kill -9 "$pid"
	wait "$pid" || true
	session_gone "$pid"
	# an error that ends paginate (its -o cannot be written) with pages running ahead
	setsid paginate -q -s pages --page-count 9 -P 4 -o "$BATS_TEST_TMPDIR/full" -- \
		sh -c 'if [ "$PAGE_NUMBER" = 1 ]; then echo "{\"i\":1}"; else exec sleep 300; fi' &
	pid=$!
	local rc=0
	wait "$pid" || rc=$?
	[ "$rc" -eq 74 ]
	session_gone "$pid"
}
