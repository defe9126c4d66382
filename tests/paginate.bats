#!/usr/bin/env bats
# paginate with scripted page commands (tests/fixtures/paginate/: `serve` prints page files
# chosen by PAGE_*, `offsets` is an offset/limit server), no network: every strategy, stop
# rule, guard, fault policy, exit status, retries, parallel order, checkpoint and resume.
load helpers
bats_require_minimum_version 1.5.0

P="$FIX/paginate"

setup() {
	cd "$BATS_TEST_TMPDIR" || return 1
	export SERVE_STATE="$BATS_TEST_TMPDIR/attempts"
	unset TOTAL CLAMP NOTOTAL HASMORE PASTEND STUCK NPAGES WAITFOR SERVE_LOG
}

ids() { seq -f '{"id":%.0f}' "$1" "$2"; }

# page DIR NAME LINE…: writes a page file for `serve` ('@' starts a control line).
page() {
	mkdir -p "$1"
	local f="$1/$2"
	shift 2
	if [ $# -eq 0 ]; then : >"$f"; else printf '%s\n' "$@" >"$f"; fi
}

# ---- the command line -------------------------------------------------------------------

@test "paginate: --help prints the usage on stdout and exits 0" {
	run --separate-stderr paginate --help
	assert_success
	assert_line --index 0 --partial "usage: paginate [-qu] [-m seconds] [-o file] [-P n]"
	assert_output --partial "[--] command [argument ...]"
	[ -z "$stderr" ]
}

@test "paginate: --version" {
	run paginate --version
	assert_success
	assert_output "paginate 0.1.0"
}

@test "paginate: usage errors exit 2 with the usage on stderr" {
	run --separate-stderr paginate --no-such-option -- true
	assert_failure 2
	[[ "$stderr" == *"usage: paginate"* ]]
	[ -z "$output" ]
	run --separate-stderr paginate -s offset
	assert_failure 2
	[[ "$stderr" == "paginate: no page command"* ]]
	run --separate-stderr paginate -s sideways -- true
	assert_failure 2
	[[ "$stderr" == "paginate: -s sideways: not offset, cursor, after-key or pages"* ]]
	run --separate-stderr paginate --page-size 0 -- true
	assert_failure 2
	[[ "$stderr" == "paginate: --page-size: not a valid number"* ]]
}

@test "paginate: options that do not fit the strategy are usage errors" {
	run --separate-stderr paginate -s cursor -- true
	assert_failure 2
	[[ "$stderr" == "paginate: -s cursor needs --token-field"* ]]
	run --separate-stderr paginate -s after-key -- true
	assert_failure 2
	[[ "$stderr" == "paginate: -s after-key needs --key-field"* ]]
	run --separate-stderr paginate --token-field next -- true
	assert_failure 2
	[[ "$stderr" == "paginate: --token-field: not with -s offset"* ]]
	run --separate-stderr paginate -s cursor --token-field next --parallel 4 -- true
	assert_failure 2
	[[ "$stderr" == "paginate: --parallel: not with -s cursor (the next page depends on this one)"* ]]
	run --separate-stderr paginate --total-if TotalCountType=Equal -- true
	assert_failure 2
	[[ "$stderr" == "paginate: --total-if needs --total-field"* ]]
	run --separate-stderr paginate -s pages --max-empty 3 -- true
	assert_failure 2
}

# ---- offset ----------------------------------------------------------------------------

@test "paginate: offset passes the coordinates and stops when the offset reaches the total" {
	export TOTAL=25 SERVE_LOG="$BATS_TEST_TMPDIR/log"
	run --separate-stderr paginate --page-size 10 --total-field total -- "$P/offsets"
	assert_success
	assert_output "$(ids 0 24)"
	[ "$stderr" = "paginate: stop: offset 25 reached the total 25; 3 pages, 25 records" ]
	run cat "$SERVE_LOG"
	assert_output $'0 1 0 10\n1 2 10 10\n2 3 20 10'
}

@test "paginate: offset advances by the records received when the server clamps the page size" {
	export TOTAL=23 CLAMP=5
	run --separate-stderr paginate --page-size 10 --total-field total -- "$P/offsets"
	assert_success
	assert_output "$(ids 0 22)"
	[ "$stderr" = "paginate: stop: offset 23 reached the total 23; 5 pages, 23 records" ]
}

@test "paginate: offset without a total stops on the empty page, not on a short one" {
	export TOTAL=20 NOTOTAL=1 CLAMP=7
	run --separate-stderr paginate --page-size 10 -- "$P/offsets"
	assert_success
	assert_output "$(ids 0 19)"
	[ "$stderr" = "paginate: stop: empty page; 4 pages, 20 records" ]
}

@test "paginate: offset stops when the has-more flag is false" {
	export TOTAL=15 NOTOTAL=1 HASMORE=1
	run --separate-stderr paginate --page-size 10 --has-more-field hasMore -- "$P/offsets"
	assert_success
	assert_output "$(ids 0 14)"
	[ "$stderr" = "paginate: stop: hasMore is false; 2 pages, 15 records" ]
}

@test "paginate: --start-offset starts there and counts toward the total" {
	export TOTAL=25
	run --separate-stderr paginate --page-size 10 --start-offset 12 --total-field total -- "$P/offsets"
	assert_success
	assert_output "$(ids 12 24)"
	[ "$stderr" = "paginate: stop: offset 25 reached the total 25; 2 pages, 13 records" ]
}

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

# ---- cursor ----------------------------------------------------------------------------

@test "paginate: cursor follows the token field, goes on past empty pages, stops when it is absent" {
	export SERVE_LOG="$BATS_TEST_TMPDIR/log"
	run --separate-stderr paginate -s cursor --token-field next -- "$P/serve" "$P/cursor"
	assert_success
	assert_output $'{"id":1}\n{"id":2}\n{"id":3}\n{"id":4}\n{"id":5}'
	[ "$stderr" = "paginate: stop: no next; 5 pages, 5 records" ]
	run cut -d' ' -f1-3,5 "$SERVE_LOG"
	assert_output $'0 1 0 -\n1 2 2 c2\n2 3 2 c3\n3 4 3 c4\n4 5 3 c5'
}

@test "paginate: cursor with a repeating handle and a done flag (Data Mill)" {
	export SERVE_LOG="$BATS_TEST_TMPDIR/log"
	run --separate-stderr paginate -s cursor --token-field handle --token-repeats --done-field eof \
		-- "$P/serve" "$P/datamill" PAGE_NUMBER
	assert_success
	assert_output $'{"LastName":"Иванов"}\n{"LastName":"Петров"}\n{"LastName":"Сидоров"}\n{"LastName":"Кузнецов"}'
	[ "$stderr" = "paginate: stop: eof is true; 3 pages, 4 records" ]
	run cut -d' ' -f2,5 "$SERVE_LOG"
	assert_output $'1 -\n2 {6F9619FF-8B86-D011-B42D-00CF4FC964FF}\n3 {6F9619FF-8B86-D011-B42D-00CF4FC964FF}'
}

@test "paginate: the done flag is true for 1, \"1\", true and \"true\" only" {
	for v in '1' '"1"' 'true' '"true"'; do
		page p first '{"id":1}' "@{\"next\":\"b\",\"eof\":$v}"
		page p b '{"id":2}'
		run --separate-stderr paginate -s cursor --token-field next --done-field eof -- "$P/serve" p
		assert_success
		assert_output '{"id":1}'
	done
	for v in '0' '"0"' 'false' '"false"' '""' 'null' '"yes"'; do
		page p first '{"id":1}' "@{\"next\":\"b\",\"eof\":$v}"
		run --separate-stderr paginate -s cursor --token-field next --done-field eof -- "$P/serve" p
		assert_success
		assert_output $'{"id":1}\n{"id":2}'
	done
}

@test "paginate: cursor stops on an empty token, and a numeric token becomes its digits" {
	page p first '{"id":1}' '@{"next":20}'
	page p 20 '{"id":2}' '@{"next":""}'
	run --separate-stderr paginate -s cursor --token-field next -- "$P/serve" p
	assert_success
	assert_output $'{"id":1}\n{"id":2}'
	[ "$stderr" = "paginate: stop: no next; 2 pages, 2 records" ]
}

@test "paginate: a token seen before is a pagination loop (exit 1)" {
	run --separate-stderr paginate -s cursor --token-field next -- "$P/serve" "$P/loop"
	assert_failure 1
	assert_output $'{"id":1}\n{"id":2}'
	[ "$stderr" = 'paginate: page 3: pagination loop: token "a" seen before
paginate: stop: error, exit 1; 2 pages, 2 records' ]
}

@test "paginate: --start-token is the first PAGE_TOKEN and counts as seen" {
	page p a '{"id":1}' '@{"next":"b"}'
	page p b '{"id":2}' '@{"next":"a"}'
	run --separate-stderr paginate -s cursor --token-field next --start-token a -- "$P/serve" p
	assert_failure 1
	assert_output '{"id":1}'
	[[ "$stderr" == 'paginate: page 2: pagination loop: token "a" seen before'* ]]
}

@test "paginate: with --token-repeats, a page that repeats an earlier one is a loop" {
	page p 1 '{"id":1}' '@{"handle":"h"}'
	page p 2 '{"id":2}' '@{"handle":"h"}'
	page p 3 '{"id":1}' '@{"handle":"h"}'
	run --separate-stderr paginate -s cursor --token-field handle --token-repeats -- "$P/serve" p PAGE_NUMBER
	assert_failure 1
	assert_output $'{"id":1}\n{"id":2}'
	[ "$stderr" = "paginate: page 3: pagination loop: the same records as an earlier page
paginate: stop: error, exit 1; 2 pages, 2 records" ]
}

@test "paginate: a repeated page is caught however its bytes were cut into reads" {
	ids 1 40 >recs
	cat >cmd <<-'EOF'
	#!/bin/bash
	if [ "$PAGE_NUMBER" = 2 ]; then echo '{"other":1}'
	elif [ "$PAGE_NUMBER" = 1 ]; then cat recs
	else while read -r l; do printf %s "${l:0:3}"; sleep 0.002; printf '%s\n' "${l:3}"; done <recs
	fi
	printf '\036{"handle":"h"}\n'
	EOF
	chmod +x cmd
	run --separate-stderr paginate -s cursor --token-field handle --token-repeats -- ./cmd
	assert_failure 1
	assert_output "$(ids 1 40; echo '{"other":1}')"
	[[ "$stderr" == "paginate: page 3: pagination loop: the same records as an earlier page"* ]]
}

@test "paginate: a run of empty pages longer than --max-empty is an error" {
	page p first '{"id":1}' '@{"next":"e1"}'
	for i in 1 2 3; do page p "e$i" "@{\"next\":\"e$((i + 1))\"}"; done
	page p e4 '{"id":2}' '@{}'
	run --separate-stderr paginate -s cursor --token-field next --max-empty 3 -- "$P/serve" p
	assert_success
	assert_output $'{"id":1}\n{"id":2}'
	run --separate-stderr paginate -s cursor --token-field next --max-empty 2 -- "$P/serve" p
	assert_failure 1
	assert_output '{"id":1}'
	[ "$stderr" = "paginate: page 4: 3 empty pages in a row (--max-empty 2)
paginate: stop: error, exit 1; 3 pages, 1 record" ]
}

@test "paginate: the offset server that ignores the offset is caught as a loop" {
	export TOTAL=50 NOTOTAL=1 STUCK=1
	run --separate-stderr paginate --page-size 10 -- "$P/offsets"
	assert_failure 1
	assert_output "$(ids 0 9)"
	[ "$stderr" = "paginate: page 2: pagination loop: the same records as an earlier page
paginate: stop: error, exit 1; 1 page, 10 records" ]
}

# ---- after-key --------------------------------------------------------------------------

@test "paginate: after-key takes the last record's key and stops on an empty page (Diadoc events)" {
	export SERVE_LOG="$BATS_TEST_TMPDIR/log"
	run --separate-stderr paginate -s after-key --key-field IndexKey --total-field TotalCount \
		--total-if TotalCountType=Equal --strict -- "$P/serve" "$P/afterkey"
	assert_success
	assert_output "$(grep -hv '^@' "$P/afterkey/first" "$P/afterkey/EBESExQVFhcYGRobHB0eHw==")"
	[ "$stderr" = "paginate: stop: empty page; 3 pages, 4 records" ]
	run cut -d' ' -f2,5 "$SERVE_LOG"
	assert_output $'1 -\n2 EBESExQVFhcYGRobHB0eHw==\n3 MDEyMzQ1Njc4OTo7PD0+Pw=='
}

@test "paginate: after-key with a nested numeric key; a last record without the key is an error" {
	page p first '{"id":1,"k":{"n":5}}' '{"id":2,"k":{"n":17}}'
	page p 17 '{"id":3}'
	run --separate-stderr paginate -s after-key --key-field k.n -- "$P/serve" p
	assert_failure 1
	assert_output $'{"id":1,"k":{"n":5}}\n{"id":2,"k":{"n":17}}'
	[ "$stderr" = "paginate: page 2: the last record has no k.n
paginate: stop: error, exit 1; 1 page, 2 records" ]
}

# ---- pages ------------------------------------------------------------------------------

@test "paginate: pages up to the declared page count, the token kept from page 1 (DocsVision)" {
	export SERVE_LOG="$BATS_TEST_TMPDIR/log"
	run --separate-stderr paginate -s pages --page-count-field pages --token-field cursor \
		-- "$P/serve" "$P/pages" PAGE_NUMBER
	assert_success
	assert_output "$(cat "$P"/pages/[123] | grep -v '^@')"
	[ "$stderr" = "paginate: stop: page count 3 reached; 3 pages, 5 records" ]
	run cut -d' ' -f2,5 "$SERVE_LOG"
	assert_output $'1 -\n2 {C0FFEE00-0000-0000-0000-000000000001}\n3 {C0FFEE00-0000-0000-0000-000000000001}'
}

@test "paginate: pages with the first page fetched outside: --start-page, --page-count, --start-token" {
	export SERVE_LOG="$BATS_TEST_TMPDIR/log"
	run --separate-stderr paginate -s pages --start-page 2 --page-count 3 --start-token C9 \
		-- "$P/serve" "$P/pages" PAGE_NUMBER
	assert_success
	assert_output "$(cat "$P"/pages/[23] | grep -v '^@')"
	run cut -d' ' -f1,2,5 "$SERVE_LOG"
	assert_output $'0 2 C9\n1 3 C9'
	run --separate-stderr paginate -s pages --start-page 2 --page-count 1 -- "$P/serve" "$P/pages" PAGE_NUMBER
	assert_success
	assert_output ""
	[ "$stderr" = "paginate: stop: page count 1 reached; 0 pages, 0 records" ]
}

@test "paginate: pages without a page count stop on an empty page" {
	page p 1 '{"id":1}'
	page p 2 '{"id":2}'
	page p 3
	run --separate-stderr paginate -s pages -- "$P/serve" p PAGE_NUMBER
	assert_success
	assert_output $'{"id":1}\n{"id":2}'
	[ "$stderr" = "paginate: stop: empty page; 3 pages, 2 records" ]
}

# ---- completeness, limits ------------------------------------------------------------------

@test "paginate: a count that differs from the declared total is an error; --allow-short (--no-strict) makes it a warning" {
	page p first '{"id":1}' '@{"next":"b","total":"3"}'
	page p b '{"id":2}' '@{"total":"3"}'
	run --separate-stderr paginate -s cursor --token-field next --total-field total -- "$P/serve" p
	assert_failure 1
	assert_output $'{"id":1}\n{"id":2}'
	[ "$stderr" = "paginate: incomplete: 2 records, but the declared total is 3
paginate: stop: error, exit 1; 2 pages, 2 records" ]
	# --strict, the default now, is still accepted
	run --separate-stderr paginate -s cursor --token-field next --total-field total --strict -- "$P/serve" p
	assert_failure 1
	for opt in --allow-short --no-strict; do
		run --separate-stderr paginate -s cursor --token-field next --total-field total $opt -- "$P/serve" p
		assert_success
		assert_output $'{"id":1}\n{"id":2}'
		[ "$stderr" = "paginate: warning: 2 records, but the declared total is 3 (--allow-short)
paginate: stop: no next; 2 pages, 2 records" ]
	done
	# the last of --strict and --allow-short wins
	run paginate -s cursor --token-field next --total-field total --allow-short --strict -- "$P/serve" p
	assert_failure 1
	run --separate-stderr paginate --allow-short -- true
	assert_failure 2
	[[ "$stderr" == "paginate: --allow-short needs --total-field"* ]]
}

@test "paginate: a short count is an error with -o and --state too, and the state is not complete" {
	page p first '{"id":1}' '@{"next":"b","total":"3"}'
	page p b '{"id":2}' '@{"total":"3"}'
	run --separate-stderr paginate -s cursor --token-field next --total-field total --state st -o out -- "$P/serve" p
	assert_failure 1
	[ "$stderr" = "paginate: incomplete: 2 records, but the declared total is 3
paginate: st removed: the next run starts from the first page
paginate: stop: error, exit 1; 2 pages, 2 records" ]
	[ ! -e st ]
	# so the same command fails the same way instead of finding a complete state
	page p b '{"id":2}' '{"id":3}' '@{"total":"3"}'
	run --separate-stderr paginate -s cursor --token-field next --total-field total --state st -o out -- "$P/serve" p
	assert_success
	[ "$(cat out)" = $'{"id":1}\n{"id":2}\n{"id":3}' ]
	[ "$(jq .done st)" = true ]
	# the README's recipe with a typo in the records path: a total, and not one record
	export TOTAL=1234
	run --separate-stderr paginate --page-size 200 --total-field total --pipeline -- "$P/offsets" '|' grep -v id
	assert_failure 1
	assert_output ""
	[ "$stderr" = "paginate: incomplete: 0 records, but the declared total is 1234
paginate: stop: error, exit 1; 1 page, 0 records" ]
}

@test "paginate: a --total-field that no page declares is an error" {
	export TOTAL=25 NOTOTAL=1
	run --separate-stderr paginate --page-size 10 --total-field total -- "$P/offsets"
	assert_failure 1
	assert_output "$(ids 0 24)"
	[ "$stderr" = "paginate: incomplete: no page declared --total-field total (leave the option out for an API without a total)
paginate: stop: error, exit 1; 4 pages, 25 records" ]
	# a misspelt field name likewise, even with --allow-short
	unset NOTOTAL
	run --separate-stderr paginate --page-size 10 --total-field totl --allow-short -- "$P/offsets"
	assert_failure 1
	[[ "$stderr" == "paginate: incomplete: no page declared --total-field totl"* ]]
	# a total that is there but not exact (--total-if's field says so) is no error
	page p first '{"k":"a"}' '@{"TotalCountType":"GreaterThanOrEqual"}'
	page p a
	run --separate-stderr paginate -s after-key --key-field k --total-field TotalCount \
		--total-if TotalCountType=Equal -- "$P/serve" p
	assert_success
	[ "$stderr" = "paginate: stop: empty page; 2 pages, 1 record" ]
}

@test "paginate: --total-if checks the total only when the condition holds (Diadoc's TotalCountType)" {
	page p first '{"k":"a"}' '@{"TotalCount":100,"TotalCountType":"GreaterThanOrEqual"}'
	page p a
	run --separate-stderr paginate -s after-key --key-field k --total-field TotalCount \
		--total-if TotalCountType=Equal --strict -- "$P/serve" p
	assert_success
	[ "$stderr" = "paginate: stop: empty page; 2 pages, 1 record" ]
	page p first '{"k":"a"}' '@{"TotalCount":100,"TotalCountType":"Equal"}'
	run --separate-stderr paginate -s after-key --key-field k --total-field TotalCount \
		--total-if TotalCountType=Equal --strict -- "$P/serve" p
	assert_failure 1
}

@test "paginate: a total that is not a count is an error" {
	page p first '{"id":1}' '@{"total":"many"}'
	run --separate-stderr paginate --total-field total -- "$P/serve" p
	assert_failure 1
	assert_output ""
	[[ "$stderr" == "paginate: page 1: total: not a count"* ]]
}

@test "paginate: --max-pages stops with exit 0 and the state resumes in batches" {
	export TOTAL=45
	run --separate-stderr paginate --page-size 10 --max-pages 2 -- "$P/offsets"
	assert_success
	assert_output "$(ids 0 19)"
	[ "$stderr" = "paginate: stop: --max-pages 2 reached; 2 pages, 20 records" ]
	for i in 1 2 3; do
		paginate --page-size 10 --total-field total --max-pages 2 --state st -o out -q -- "$P/offsets"
	done
	run cat out
	assert_output "$(ids 0 44)"
	run --separate-stderr paginate --page-size 10 --total-field total --state st -o out -- "$P/offsets"
	assert_success
	[ "$stderr" = "paginate: stop: already complete (st); 5 pages, 45 records" ]
	run cat out
	assert_output "$(ids 0 44)"
}

# ---- the output ---------------------------------------------------------------------------

@test "paginate: control lines never pass; blank lines are dropped; a last line gets its newline" {
	printf '{"a":1}\n\n\x1e{"x":1}\n{"b":2}\n\x1e{"y":2}\n{"c":3}' >raw
	cat >cmd <<-'EOF'
	#!/bin/sh
	cat raw
	EOF
	chmod +x cmd
	run --separate-stderr paginate --max-pages 1 -q -- ./cmd
	assert_success
	[ "$output" = $'{"a":1}\n{"b":2}\n{"c":3}' ]
	run sh -c 'paginate --max-pages 1 -q -- ./cmd | od -c | tail -2 | head -1'
	assert_output --partial '3   }  \n'
}

@test "paginate: a control line that is not a JSON object is malformed data" {
	page p first '{"id":1}' '@{"next":'
	run --separate-stderr paginate -s cursor --token-field next -- "$P/serve" p
	assert_failure 1
	assert_output ""
	[ "$stderr" = "paginate: page 1: control line is not a JSON object
paginate: stop: error, exit 1; 0 pages, 0 records" ]
}

@test "paginate: the command gets PAGE_SIZE, stdin from /dev/null, and its own PAGE_* values" {
	cat >cmd <<-'EOF'
	#!/bin/sh
	read -r x && exit 9
	printf '{"size":"%s","token":"%s","index":"%s"}\n' "$PAGE_SIZE" "$PAGE_TOKEN" "$PAGE_INDEX"
	EOF
	chmod +x cmd
	PAGE_TOKEN=leaked PAGE_INDEX=7 run --separate-stderr paginate --page-size 37 --max-pages 1 -q -- ./cmd </dev/zero
	assert_success
	assert_output '{"size":"37","token":"","index":"0"}'
}

@test "paginate: a full disk is exit 74; a closed pipe ends quietly" {
	export TOTAL=25
	run --separate-stderr sh -c "paginate --page-size 10 -q -- '$P/offsets' >/dev/full"
	assert_failure 74
	[ "$stderr" = "paginate: <stdout>: No space left on device" ]
	export TOTAL=100000
	run --separate-stderr sh -c "paginate --page-size 1000 -- '$P/offsets' | head -1"
	assert_success
	assert_output '{"id":0}'
	[ -z "$stderr" ]
}

@test "paginate: a page beyond --spool-mem spills to a temporary file; memory stays bounded" {
	export TOTAL=600000	# one page of 9 MB
	run --separate-stderr sh -c "paginate --page-size 600000 --total-field total --spool-mem 1M -- '$P/offsets' | sha1sum"
	assert_success
	assert_output "$(ids 0 599999 | sha1sum)"
	# peak RSS of paginate and its page command, against a run of one small page
	base=$(TOTAL=10 peak_rss_kib paginate --total-field total -- "$P/offsets")
	rss=$(peak_rss_kib paginate --page-size 600000 --total-field total --spool-mem 1M -- "$P/offsets")
	echo "peak RSS $rss KiB, one small page $base KiB"
	[ "$rss" -lt $((base + 6000)) ]
}

@test "paginate: -q silences the stop line; --progress=0 prints a line a page" {
	export TOTAL=25
	run --separate-stderr paginate --page-size 10 -q -- "$P/offsets"
	assert_success
	[ -z "$stderr" ]
	run --separate-stderr paginate --page-size 10 --total-field total --progress=0 -q -- "$P/offsets"
	assert_success
	[ "$(grep -c '^paginate: [123] pages, [0-9]* records, [0-9.]* pages/s' <<<"$stderr")" -ge 3 ]
	[[ "$stderr" == *"paginate: 3 pages, 25 records, "* ]]
	[[ "$stderr" == *", ETA 0:00"* ]]
}

@test "paginate: --rate keeps the output intact" {
	export TOTAL=25
	run --separate-stderr paginate --page-size 5 --total-field total --rate 200 -P 2 -- "$P/offsets"
	assert_success
	assert_output "$(ids 0 24)"
}

# ---- parallel ---------------------------------------------------------------------------

@test "paginate: --parallel writes the pages in page order though later ones finish first" {
	export TOTAL=120 NPAGES=12
	run --separate-stderr paginate --page-size 10 --total-field total --parallel 6 -- "$P/offsets"
	assert_success
	assert_output "$(ids 0 119)"
	[ "$stderr" = "paginate: stop: offset 120 reached the total 120; 12 pages, 120 records" ]
}

@test "paginate: --parallel really runs pages at once (page 2 waits for page 4 to start)" {
	export TOTAL=60 WAITFOR="$BATS_TEST_TMPDIR/page4"
	run --separate-stderr paginate --page-size 10 --total-field total --parallel 4 -- "$P/offsets"
	assert_success
	assert_output "$(ids 0 59)"
}

@test "paginate: --parallel learns a clamped page size and checks every guess" {
	export TOTAL=95 CLAMP=7 SERVE_LOG="$BATS_TEST_TMPDIR/log"
	run --separate-stderr paginate --page-size 10 --total-field total --parallel 4 -- "$P/offsets"
	assert_success
	assert_output "$(ids 0 94)"
	run sh -c "cut -d' ' -f3 '$SERVE_LOG' | sort -n | tr '\n' ' '"
	assert_output "0 7 14 21 28 35 42 49 56 63 70 77 84 91 "
}

@test "paginate: --parallel pages once the page count is known" {
	for i in $(seq 1 9); do page p "$i" "{\"page\":$i}" '@{"count":"9"}'; done
	run --separate-stderr paginate -s pages --page-count-field count --parallel 3 -- "$P/serve" p PAGE_NUMBER
	assert_success
	assert_output "$(seq -f '{"page":%.0f}' 1 9)"
	[ "$stderr" = "paginate: stop: page count 9 reached; 9 pages, 9 records" ]
}

@test "paginate: a failing page in a parallel run stops after the pages before it, in order" {
	export TOTAL=100 PASTEND=fault CLAMP=10
	cat >cmd <<-EOF
	#!/bin/sh
	[ "\$PAGE_NUMBER" = 5 ] && exit 69
	exec "$P/offsets"
	EOF
	chmod +x cmd
	run --separate-stderr paginate --page-size 10 --total-field total --parallel 4 -- ./cmd
	assert_failure 69
	assert_output "$(ids 0 39)"
	[ "$stderr" = "paginate: page 5: command exited with status 69
paginate: stop: error, exit 69; 4 pages, 40 records" ]
}

@test "paginate: --parallel keeps N commands running while a slow page holds the head" {
	# Page 2 waits for page 4 to start. With two commands at a time, page 4 can start only
	# if page 3, done, waits in the window instead of holding the second command's place.
	export TOTAL=60 WAITFOR="$BATS_TEST_TMPDIR/page4"
	run --separate-stderr paginate --page-size 10 --total-field total --parallel 2 -- "$P/offsets"
	assert_success
	assert_output "$(ids 0 59)"
}

@test "paginate: --parallel N never runs more than N page commands at once" {
	mkdir running
	cat >cmd <<-EOF
	#!/bin/bash
	mkdir running/\$PAGE_INDEX
	n=\$(ls running | wc -l)
	[ "\$n" -gt 3 ] && echo "\$n at once" >>over
	[ \$((PAGE_INDEX % 5)) = 1 ] && sleep 0.3 || sleep 0.02
	rmdir running/\$PAGE_INDEX
	exec "$P/offsets"
	EOF
	chmod +x cmd
	export TOTAL=300
	run --separate-stderr paginate --page-size 10 --total-field total --parallel 3 -- ./cmd
	assert_success
	assert_output "$(ids 0 299)"
	[ ! -e over ] || fail "$(cat over)"
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

# ---- checkpoint and resume -------------------------------------------------------------------

@test "paginate: --state holds coordinates and counts only, and resumes after a failure" {
	page p first '{"id":1}' '@{"next":"b"}'
	page p b '{"id":2}' '@{"next":"c"}'
	page p c '{"id":3}' '@{}'
	echo 69 >p/c.exit
	export PAGE_SECRET=hunter2
	run --separate-stderr paginate -s cursor --token-field next --state st -o out -- "$P/serve" p
	assert_failure 69
	run cat st
	assert_output '{"paginate":1,"strategy":"cursor","done":false,"index":2,"number":3,"offset":2,"pages":2,"records":2,"empty_run":0,"token":"c","output":18,"sum":"962173677"}'
	rm p/c.exit
	run --separate-stderr paginate -s cursor --token-field next --state st -o out -- "$P/serve" p
	assert_success
	[ "$stderr" = "paginate: stop: no next; 3 pages, 3 records" ]
	run cat out
	assert_output $'{"id":1}\n{"id":2}\n{"id":3}'
	run cat st
	assert_output '{"paginate":1,"strategy":"cursor","done":true,"index":3,"number":4,"offset":3,"pages":3,"records":3,"empty_run":0,"output":27,"sum":"1591465478"}'
}

@test "paginate: on resume the output is cut back to the checkpoint (a page written, no state yet)" {
	export TOTAL=30
	paginate --page-size 10 --total-field total --max-pages 1 --state st -o out -q -- "$P/offsets"
	ids 10 14 >>out	# half of page 2 written when the crash came
	run --separate-stderr paginate --page-size 10 --total-field total --state st -o out -- "$P/offsets"
	assert_success
	run cat out
	assert_output "$(ids 0 29)"
}

@test "paginate: a state of another strategy, or a mismatch of -o, is refused" {
	export TOTAL=30
	paginate --page-size 10 --max-pages 1 --state st -o out -q -- "$P/offsets"
	run --separate-stderr paginate -s pages --state st -o out -- "$P/offsets"
	assert_failure 2
	[ "$stderr" = "paginate: st: a state of -s offset, not -s pages" ]
	run --separate-stderr paginate --state st -- "$P/offsets"
	assert_failure 2
	[ "$stderr" = "paginate: st: written with -o; resume it the same way" ]
	echo '{"paginate":1}' >bad
	run --separate-stderr paginate --state bad -- "$P/offsets"
	assert_failure 1
	[ "$stderr" = "paginate: bad: not a paginate state file (no checksum); remove it to start over" ]
}

@test "paginate: kill -9 at seeded instants, then resume: every record exactly once" {
	export TOTAL=400
	RANDOM=7
	for trial in $(seq 1 8); do
		rm -f st out
		for attempt in $(seq 1 50); do
			paginate --page-size 7 --total-field total --state st -o out -q -- "$P/offsets" &
			pid=$!
			sleep "0.0$((RANDOM % 10))$((RANDOM % 10))"
			kill -9 "$pid" 2>/dev/null || true
			wait "$pid" 2>/dev/null && break
		done
		paginate --page-size 7 --total-field total --state st -o out -q -- "$P/offsets"
		cmp out <(ids 0 399) || fail "trial $trial: output differs"
	done
}
