#!/usr/bin/env bats
# -o PATH for every pipeline and filter that takes it (issue 15.1): a regular file or a new
# name is written as before; a symbolic link is followed to its target; a character device
# or a FIFO is written in place, never renamed over; a directory is a usage error. The
# devices are made in the test's own directory (mknod), never the system's.
load helpers
pipeline_suite

card() { emu_ctl info | jq -r --arg n "$1" '.cards[] | select(.name == $n) | .id'; }

mp() { mercury-products --base-url "$EMU" --retry-delay 0.1 -q "$@"; }

packet() { emu_ctl info | jq -r --arg n "$1" '.packets[] | select(.name == $n) | .id'; }

# run_pipeline NAME ARGS…: the pipeline NAME on a small dataset, with ARGS added.
run_pipeline() {
	local p=$1
	shift
	case $p in
	mercury-products) mp --count 50 --type 1 --type 2 "$@" ;;
	datamill-cursor) datamill-cursor --base-url "$EMU/datamill" -q "$@" ;;
	diadoc-events) diadoc-events --base-url "$EMU" --box "$BOX" -q "$@" ;;
	diadoc-packet) diadoc-packet --base-url "$EMU" --box "$BOX" -q --packet "$(packet hundred)" "$@" ;;
	docsvision-card) docsvision-card --base-url "$EMU" -q "$@" "$(card medium)" ;;
	esac
}
PIPELINES="mercury-products datamill-cursor diadoc-events diadoc-packet docsvision-card"

setup() {
	cd "$BATS_TEST_TMPDIR"
}

@test "output-path: every pipeline into a full character device fails 74 and leaves the device" {
	reset records=200
	mknod full c 1 7
	local p
	for p in $PIPELINES; do
		run run_pipeline "$p" -o full
		[ "$status" -eq 74 ] || fail "$p: exit $status: $output"
		[ -c full ] || fail "$p: the device was replaced"
		run run_pipeline "$p" --state "$p.state" -o full
		[ "$status" -eq 74 ] || fail "$p --state: exit $status: $output"
		[ -c full ] || fail "$p --state: the device was replaced"
	done
	[ -z "$(ls | grep -e '\.part$' -e '\.tmp')" ]
}

@test "output-path: every pipeline into a null device and a FIFO, written in place" {
	reset records=200
	mknod null c 1 3
	mkfifo fifo
	local p
	for p in $PIPELINES; do
		run -0 run_pipeline "$p" -o null
		[ -c null ] || fail "$p: the device was replaced"
		timeout 60 cat fifo >got &
		local reader=$!
		run_pipeline "$p" -o fifo || fail "$p -o fifo: exit $?"
		wait "$reader" || fail "$p: the FIFO's reader never saw the end"
		[ -p fifo ] || fail "$p: the FIFO was replaced"
		run_pipeline "$p" >want
		cmp got want || fail "$p: the FIFO's reader got other records"
	done
}

@test "output-path: mercury-products over several types through a symbolic link writes its target" {
	reset records=200
	mkdir real
	ln -s real/products.ndjson link
	run -0 mp --count 50 -o link
	[ -L link ] || fail "the link was replaced"
	same_as_truth real/products.ndjson mercury
	# and with --state, resumed after a kill -9 between two types
	rm real/products.ndjson
	PAGEPULL_TEST_STOP_AT=type4-done run -137 mp --count 50 --state st -o link
	run -0 mp --count 50 --state st -o link
	[ -L link ]
	same_as_truth real/products.ndjson mercury
}

@test "output-path: a directory as -o is a usage error (exit 2) everywhere" {
	reset records=20
	mkdir d
	local p
	for p in $PIPELINES; do
		run run_pipeline "$p" -o d
		[ "$status" -eq 2 ] || fail "$p: exit $status"
		assert_line --index 0 "$p: -o d: a directory, not a file"
	done
	run -2 paginate -o d -- true
	assert_output "paginate: -o d: a directory, not a file"
	run -2 fetch-page -o d "$EMU/datamill/cursor.json"
	assert_output "fetch-page: d: a directory, not a file"
	[ -d d ]
	[ -z "$(ls d)" ]
}

@test "output-path: fetch-page -o through a symbolic link replaces the target atomically; a device is written in place" {
	reset records=20
	mkdir real
	echo old >real/page.xml
	ln -s real/page.xml link
	ln -s real/new.xml dangling
	run -0 fetch-page -s -o link "$EMU/datamill/cursor.xml?query=%3Cquery%20class%3D%22TWorker%22%2F%3E"
	[ -L link ]
	grep -q '<data' real/page.xml
	run -0 fetch-page -s -o dangling "$EMU/datamill/cursor.xml?query=%3Cquery%20class%3D%22TWorker%22%2F%3E"
	[ -L dangling ]
	grep -q '<data' real/new.xml
	mknod full c 1 7
	run -74 fetch-page -s -o full "$EMU/datamill/cursor.xml?query=%3Cquery%20class%3D%22TWorker%22%2F%3E"
	[ -c full ]
	[ "$(ls -A | grep -c '^\.')" -eq 0 ] || fail "a temporary file was left: $(ls -A)"
}

@test "output-path: paginate -o follows a symbolic link and writes a FIFO in place" {
	mkdir real
	ln -s real/out link
	run -0 paginate -q -s cursor --token-field next -o link -- echo '{"a":1}'
	[ -L link ]
	assert_equal "$(cat real/out)" '{"a":1}'
	mkfifo fifo
	timeout 20 cat fifo >got &
	run -0 timeout 20 paginate -q -s cursor --token-field next -o fifo -- echo '{"a":2}'
	wait $!
	[ -p fifo ]
	assert_equal "$(cat got)" '{"a":2}'
}

@test "output-path: -o /dev/stdout, /dev/fd/N and a process substitution write the pipe they name, as curl does" {
	# /dev/stdout → /proc/self/fd/1 → "pipe:[N]": a link the kernel follows, readlink cannot
	run -0 bash -c 'fetch-page -s -o /dev/stdout "$0/_emulator/info" | jq -r .base_url' "$EMU"
	assert_output "$EMU"
	run -0 bash -c 'paginate -q -s cursor --token-field next -o /dev/stdout -- echo "{\"a\":1}" | cat'
	assert_output '{"a":1}'
	run -0 bash -c 'fetch-page -s -o >(jq -r .base_url >got) "$0/_emulator/info"; wait $!; cat got' "$EMU"
	assert_output "$EMU"
	run -0 bash -c 'paginate -q -s cursor --token-field next -o /dev/fd/3 -- echo "{\"b\":2}" 3>&1 | cat'
	assert_output '{"b":2}'
	# and through a redirection to a regular file: the file the shell opened gets the bytes
	fetch-page -s -o /dev/stdout "$EMU/_emulator/info" >info.json
	assert_equal "$(jq -r .base_url info.json)" "$EMU"
	[ "$(ls -A | grep -c '^\.')" -eq 0 ] || fail "a temporary file was left: $(ls -A)"
}

@test "output-path: no part or temporary file is left after a failure or SIGINT without --state" {
	reset records=200
	fault 'api=mercury&kind=http&status=403&on=3'
	run -69 mp --count 20 -o out
	[ -z "$(ls -A | grep -v '^out$')" ] || fail "left: $(ls -A)"
	reset 'records=200&latency=100'
	rm -f out
	# SIGINT at its default (a background job of a script ignores it)
	python3 -c 'import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execvp(sys.argv[1], sys.argv[1:])' \
		mercury-products --base-url "$EMU" -q --count 10 -o out &
	local pid=$! i
	for i in $(seq 1 200); do [ -s out ] && break; sleep 0.05; done
	kill -INT "$pid"
	local rc=0
	wait "$pid" || rc=$?
	[ "$rc" -eq 130 ]
	[ -z "$(ls -A | grep -v '^out$')" ] || fail "left: $(ls -A)"
}
