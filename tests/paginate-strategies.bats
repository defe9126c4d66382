#!/usr/bin/env bats
# paginate: the four strategies and their stop rules: offset, cursor (with its loop
# guards), after-key, pages.
# One of the paginate-*.bats suites (split by topic), all with scripted page commands
# (tests/fixtures/paginate/: `serve` prints page files chosen by PAGE_*, `offsets` is an
# offset/limit server), no network.
load helpers
paginate_suite

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
