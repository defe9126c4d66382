#!/usr/bin/env bats
# paginate: --parallel: page order, real concurrency, learnt page sizes, failures, the limit.
# One of the paginate-*.bats suites (split by topic), all with scripted page commands
# (tests/fixtures/paginate/: `serve` prints page files chosen by PAGE_*, `offsets` is an
# offset/limit server), no network.
load helpers
paginate_suite

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
