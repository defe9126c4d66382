#!/usr/bin/env bats
# paginate: running a page command and judging it: faults, retries, exit statuses, --max-time,
# --pipeline's stages without a shell.
# One of the paginate-*.bats suites (split by topic), all with scripted page commands
# (tests/fixtures/paginate/: `serve` prints page files chosen by PAGE_*, `offsets` is an
# offset/limit server), no network.
load helpers
paginate_suite

# ---- faults ----------------------------------------------------------------------------

@test "paginate: a fault named by --end-on-fault ends the data (Mercury's offsetOutOfRangeFault)" {
	export TOTAL=20 NOTOTAL=1 PASTEND=fault0
	run --separate-stderr paginate --page-size 10 --end-on-fault offsetOutOfRangeFault -- "$P/offsets"
	assert_success
	assert_output "$(ids 0 19)"
	[ "$stderr" = "paginate: stop: fault offsetOutOfRangeFault ends the data; 2 pages, 20 records" ]
}

# offsets_fault N: a page command that answers offsetOutOfRangeFault at offsets from N on,
# below the total (a server that lost its place), on every attempt or, with ONCE set, on
# the first attempt at each page only.
offsets_fault() {
	cat >cmd <<-EOF
	#!/bin/sh
	if [ "\$PAGE_OFFSET" -ge $1 ] && { [ -z "\$ONCE" ] || [ "\$PAGE_ATTEMPT" = 1 ]; }; then
		printf '\036{"fault":{"code":"soapenv:Client","name":"offsetOutOfRangeFault"}}\n'
		exit 3
	fi
	exec "$P/offsets"
	EOF
	chmod +x cmd
}

@test "paginate: an end-of-data fault below the declared total is retried, then exit 75" {
	export TOTAL=30
	offsets_fault 10
	run --separate-stderr paginate --page-size 10 --total-field total --end-on-fault offsetOutOfRangeFault \
		--retry 2 --retry-delay 0 --state st -o out -- ./cmd
	assert_failure 75
	[ "$(cat out)" = "$(ids 0 9)" ]
	[ "$stderr" = "paginate: page 2: fault offsetOutOfRangeFault at offset 10, below the declared total 30; retry 1 of 2 in 0.0 s
paginate: page 2: fault offsetOutOfRangeFault at offset 10, below the declared total 30; retry 2 of 2 in 0.0 s
paginate: page 2: fault offsetOutOfRangeFault at offset 10, below the declared total 30 (3 attempts)
paginate: stop: error, exit 75; 1 page, 10 records" ]
	[ "$(jq .done st)" = false ]
	# the same command resumes once the server answers again: exact
	run --separate-stderr paginate --page-size 10 --total-field total --end-on-fault offsetOutOfRangeFault \
		--retry 0 --state st -o out -- "$P/offsets"
	assert_success
	[ "$(cat out)" = "$(ids 0 29)" ]
	# a fault that goes away when retried: every record, exit 0, in parallel too
	export ONCE=1
	for par in 1 3; do
		run --separate-stderr paginate --page-size 10 --total-field total -P $par \
			--end-on-fault offsetOutOfRangeFault --retry-delay 0 -- ./cmd
		assert_success
		assert_output "$(ids 0 29)"
	done
}

@test "paginate: an end-of-data fault on the first page is an end only after the API declared 0" {
	export TOTAL=30
	offsets_fault 0
	run --separate-stderr paginate --total-field total --end-on-fault offsetOutOfRangeFault --retry 0 -- ./cmd
	assert_failure 75
	assert_output ""
	[ "$stderr" = "paginate: page 1: fault offsetOutOfRangeFault at offset 0, before any total was declared (1 attempt)
paginate: stop: error, exit 75; 0 pages, 0 records" ]
	# without --total-field: not on the first page of the data either
	run --separate-stderr paginate --end-on-fault offsetOutOfRangeFault --retry 0 -- ./cmd
	assert_failure 75
	[ "$stderr" = "paginate: page 1: fault offsetOutOfRangeFault on the first page of the data (1 attempt)
paginate: stop: error, exit 75; 0 pages, 0 records" ]
	# an empty list declared first, then the fault past it: the end
	page p first '@{"next":"b","total":"0"}'
	page p b '@{"fault":{"name":"offsetOutOfRangeFault"}}'
	echo 3 >p/b.exit
	run --separate-stderr paginate -s cursor --token-field next --total-field total \
		--end-on-fault offsetOutOfRangeFault -- "$P/serve" p
	assert_success
	[ "$stderr" = "paginate: stop: fault offsetOutOfRangeFault ends the data; 1 page, 0 records" ]
}

@test "paginate: any other fault stops with exit 3 and the fault's name and text" {
	export TOTAL=20 NOTOTAL=1 PASTEND=fault0
	run --separate-stderr paginate --page-size 10 -- "$P/offsets"
	assert_failure 3
	assert_output "$(ids 0 19)"
	[ "$stderr" = "paginate: page 3: fault offsetOutOfRangeFault: offset 20 is out of range
paginate: stop: error, exit 3; 2 pages, 20 records" ]
}

@test "paginate: --end-on-fault also matches the fault code" {
	page p first '{"id":1}' '@{"next":"b"}'
	page p b '@{"fault":{"code":"soap:Server","string":"Cursor not found"}}'
	echo 3 >p/b.exit
	run --separate-stderr paginate -s cursor --token-field next --end-on-fault soap:Server -- "$P/serve" p
	assert_success
	assert_output '{"id":1}'
	[ "$stderr" = "paginate: stop: fault soap:Server ends the data; 1 page, 1 record" ]
}

@test "paginate: --retry-on-fault retries the page; nothing of the failed attempt is written" {
	page p first '{"id":1}' '@{"next":"b"}'
	page p b '{"id":2}' '{"id":3}' '@{"next":"c"}'
	page p b.bad '{"id":"partial"}' '@{"fault":{"name":"internalServiceFault","string":"busy"}}'
	page p c '{"id":4}' '@{}'
	# the first attempt at b prints a record and then a fault
	cat >cmd <<-EOF
	#!/bin/bash
	if [ "\$PAGE_TOKEN" = b ] && [ "\$PAGE_ATTEMPT" = 1 ]; then sed 's/^@/\x1e/' p/b.bad; exit 3; fi
	exec "$P/serve" p
	EOF
	chmod +x cmd
	run --separate-stderr paginate -s cursor --token-field next --retry-on-fault internalServiceFault \
		--retry-delay 0 -- ./cmd
	assert_success
	assert_output $'{"id":1}\n{"id":2}\n{"id":3}\n{"id":4}'
	[ "$stderr" = "paginate: page 2: fault internalServiceFault; retry 1 of 5 in 0.0 s
paginate: stop: no next; 3 pages, 4 records" ]
}

@test "paginate: exit 3 without a fault control line stops with exit 3" {
	page p first '{"id":1}'
	echo 3 >p/first.exit
	run --separate-stderr paginate -s cursor --token-field next -- "$P/serve" p
	assert_failure 3
	assert_output ""
	[ "$stderr" = "paginate: page 1: exit 3 without a fault control line
paginate: stop: error, exit 3; 0 pages, 0 records" ]
}

@test "paginate: a fault line with exit 0 is still a fault" {
	page p first '@{"fault":{"code":"Http.BadRequest","string":"afterIndexKey query param has incorrect size"}}'
	run --separate-stderr paginate -s cursor --token-field next -- "$P/serve" p
	assert_failure 3
	[ "$stderr" = "paginate: page 1: fault Http.BadRequest: afterIndexKey query param has incorrect size
paginate: stop: error, exit 3; 0 pages, 0 records" ]
}

# ---- retries and exit statuses ------------------------------------------------------------

@test "paginate: exit 75 retries the page and the failed attempt's records never appear" {
	page p first '{"id":1}' '@{"next":"b"}'
	page p b '{"id":2}' '{"id":3}' '@{"next":"c"}'
	echo 1 >p/b.fail
	page p c '{"id":4}' '@{}'
	export SERVE_LOG="$BATS_TEST_TMPDIR/log"
	run --separate-stderr paginate -s cursor --token-field next --retry-delay 0 -- "$P/serve" p
	assert_success
	assert_output $'{"id":1}\n{"id":2}\n{"id":3}\n{"id":4}'
	[ "$stderr" = "paginate: page 2: exit 75; retry 1 of 5 in 0.0 s
paginate: stop: no next; 3 pages, 4 records" ]
	run cut -d' ' -f2,5,6 "$SERVE_LOG"
	assert_output $'1 - 1\n2 b 1\n2 b 2\n3 c 1'
}

@test "paginate: exit 75 past --retry ends with exit 75; earlier pages are kept" {
	page p first '{"id":1}' '@{"next":"b"}'
	page p b '{"id":2}' '@{"next":"c"}'
	echo "9 75" >p/b.fail
	run --separate-stderr paginate -s cursor --token-field next --retry 2 --retry-delay 0 -q -- "$P/serve" p
	assert_failure 75
	assert_output '{"id":1}'
	[ "$stderr" = "paginate: page 2: exit 75 (3 attempts)" ]
	run cat "$SERVE_STATE/b"
	assert_output 3
}

@test "paginate: --max-time kills a hung attempt with its children and retries the page" {
	page p first '{"id":1}' '@{"next":"b"}'
	page p b '{"id":2}' '@{}'
	cat >cmd <<-EOF
	#!/bin/bash
	if [ "\$PAGE_TOKEN" = b ] && [ "\$PAGE_ATTEMPT" = 1 ]; then echo '{"id":"partial"}'; sleep 31.7; echo late; fi
	exec "$P/serve" p
	EOF
	chmod +x cmd
	run --separate-stderr paginate -s cursor --token-field next -m 0.5 --retry-delay 0 -- ./cmd
	assert_success
	assert_output $'{"id":1}\n{"id":2}'
	[ "$stderr" = "paginate: page 2: no answer after 0.5 s (--max-time); retry 1 of 5 in 0.0 s
paginate: stop: no next; 2 pages, 2 records" ]
	! pgrep -f "sleep 31.7" >/dev/null	# the command's child too
}

@test "paginate: the page command's statuses 1, 2, 69 and 74 stop paginate with the same status" {
	page p first '{"id":1}' '@{"next":"b"}'
	page p b '{"id":2}' '@{"next":"c"}'
	for st in 1 2 69 74; do
		echo "$st" >p/b.exit
		run --separate-stderr paginate -s cursor --token-field next -- "$P/serve" p
		assert_failure "$st"
		assert_output '{"id":1}'
		[ "$stderr" = "paginate: page 2: command exited with status $st
paginate: stop: error, exit $st; 1 page, 1 record" ]
	done
}

@test "paginate: a command that cannot run is a usage error" {
	run --separate-stderr paginate -- ./no-such-command
	assert_failure 2
	[ "$stderr" = "paginate: page 1: ./no-such-command: No such file or directory
paginate: stop: error, exit 2; 0 pages, 0 records" ]
}

# ---- pipelines without a shell ---------------------------------------------------------------

@test "paginate: --pipeline runs the stages joined by pipes, with the page's environment in each" {
	export TOTAL=25
	run --separate-stderr paginate --pipeline --page-size 10 --total-field total -- \
		"$P/offsets" '|' cat '|' sh -c 'sed "s/}\$/,\"at\":$PAGE_OFFSET}/"'
	assert_success
	assert_output "$(for o in 0 10 20; do seq -f "{\"id\":%.0f,\"at\":$o}" $o $((o < 20 ? o + 9 : 24)); done)"
	[ "$stderr" = "paginate: stop: offset 25 reached the total 25; 3 pages, 25 records" ]
}

@test "paginate: --pipeline's status is the first stage that failed other than by SIGPIPE" {
	export TOTAL=25
	run --separate-stderr paginate --pipeline --total-field total -- "$P/offsets" '|' sh -c 'exit 1'
	assert_failure 1
	[ "$stderr" = "paginate: page 1: command exited with status 1
paginate: stop: error, exit 1; 0 pages, 0 records" ]
	# the decoder that rejects its input is what counts, not the fetcher's broken pipe
	run --separate-stderr paginate --pipeline --total-field total -- yes '{}' '|' sh -c 'head -n 1; exit 1'
	assert_failure 1
	[ -z "$output" ]
	run --separate-stderr paginate --pipeline --retry 1 --retry-delay 0 -- sh -c 'exit 75' '|' cat
	assert_failure 75
	[ "$stderr" = "paginate: page 1: exit 75; retry 1 of 1 in 0.0 s
paginate: page 1: exit 75 (2 attempts)
paginate: stop: error, exit 75; 0 pages, 0 records" ]
	# SIGPIPE only says that a later stage stopped reading: that stage's 0 is the page's
	run --separate-stderr paginate --pipeline --max-pages 1 -- yes '{}' '|' head -n 2
	assert_success
	assert_output $'{}\n{}'
}

# stages S…: a --pipeline page command of one stage per S: a number N is a stage that reads
# its input and exits N (0 writes a record first), PIPE one killed by SIGPIPE.
stages() {
	local s cmd=()
	for s; do
		[ ${#cmd[@]} -eq 0 ] || cmd+=('|')
		case $s in
		PIPE) cmd+=(perl -e '$SIG{PIPE} = "DEFAULT"; kill PIPE => $$') ;;
		0) cmd+=(sh -c 'cat >/dev/null; echo "{\"id\":1}"') ;;
		*) cmd+=(sh -c "cat >/dev/null; exit $s") ;;
		esac
	done
	STAGES=("${cmd[@]}")
}

@test "paginate: the page-status rule of paginate(1), each case, the same in --pipeline and the pipelines' pp_status (a last stage's SIGPIPE is 141)" {
	local c want got
	# STATUSES=PAGE: a page's stages and the status the rule gives the page
	for c in '0 0=0' '0 1=1' '75 1=75' '69 0=69' 'PIPE 1=1' 'PIPE 0=0' '0 PIPE=141' \
		'69 PIPE=69' 'PIPE PIPE=141' 'PIPE=141' '1=1'; do
		want=${c#*=}
		stages ${c%=*}
		run paginate -q -s pages --page-count 1 --retry 0 --pipeline -- "${STAGES[@]}"
		[ "$status" -eq "$want" ] || fail "--pipeline ${c%=*}: paginate exit $status, not $want"
		got=$(
			PP_NAME=test PP_SELF=$ROOT/pipelines/test
			. "$ROOT/pipelines/lib.sh"
			set -- ${c%=*}
			pp_status "${@/PIPE/141}"
		) && got=0 || got=$?
		[ "$got" -eq "$want" ] || fail "pp_status ${c%=*}: $got, not $want"
	done
}

@test "paginate: --pipeline: a stage that cannot run is a usage error naming it; nothing is left running" {
	run --separate-stderr paginate --pipeline -- sleep 30.3 '|' ./no-such-stage
	assert_failure 2
	[ "$stderr" = "paginate: page 1: ./no-such-stage: No such file or directory
paginate: stop: error, exit 2; 0 pages, 0 records" ]
	! pgrep -f "sleep 30.3" >/dev/null
}

@test "paginate: --pipeline: --max-time ends every stage" {
	run --separate-stderr paginate --pipeline -m 0.3 --retry 0 -- sleep 31.3 '|' sleep 32.3
	assert_failure 75
	! pgrep -f "sleep 3[12].3" >/dev/null
}

@test "paginate: --pipeline: an empty stage is a usage error; without --pipeline '|' is an argument" {
	for cmd in "'|' cat" "cat '|'" "cat '|' '|' cat"; do
		eval "run --separate-stderr paginate --pipeline -- $cmd"
		assert_failure 2
		[[ "$stderr" == "paginate: --pipeline: an empty stage (a '|' first, last or twice)"* ]]
	done
	run --separate-stderr paginate --max-pages 1 -- echo '{"bar":"|"}' '|'
	assert_success
	assert_output '{"bar":"|"} |'
}
