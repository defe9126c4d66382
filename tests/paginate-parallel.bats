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
	# (pages 1-3 were first launched with the first, at --page-size's offsets 10, 20, 30:
	# wrong guesses, thrown away unjudged; they may or may not have logged before their end)
	run sh -c "awk '!(\$1 > 0 && \$3 == \$1 * 10)' '$SERVE_LOG' | cut -d' ' -f3 | sort -n | tr '\n' ' '"
	assert_output "0 7 14 21 28 35 42 49 56 63 70 77 84 91 "
}

# waits_for_page N: a ./cmd whose page 0 waits (up to 10 s) for page N to start, and fails
# if it does not: only pages launched with page 0 get there; the rest of ./cmd appended.
waits_for_page() {
	cat >cmd <<-EOF
	#!/bin/sh
	[ "\$PAGE_INDEX" = $1 ] && : >started$1
	if [ "\$PAGE_INDEX" = 0 ]; then
		for _ in \$(seq 100); do [ -e started$1 ] && break; sleep 0.1; done
		[ -e started$1 ] || { echo "cmd: page $1 never started" >&2; exit 1; }
	fi
	EOF
}

@test "paginate: --parallel -s offset launches the next pages with the first, before the total is known" {
	waits_for_page 3
	cat >>cmd <<-EOF
	exec "$P/offsets"
	EOF
	chmod +x cmd
	export TOTAL=60
	run --separate-stderr paginate --page-size 10 --total-field total --parallel 4 -- ./cmd
	assert_success
	assert_output "$(ids 0 59)"
	[ "$stderr" = "paginate: stop: offset 60 reached the total 60; 6 pages, 60 records" ]
}

@test "paginate: pages launched before the total and at or past it are never written nor judged" {
	# TOTAL 15: pages 2-7 (offsets 20-70) are past it; one answers the end-of-data fault,
	# one fails for good (69), the others serve records that must not be written
	waits_for_page 7
	cat >>cmd <<-EOF
	[ "\$PAGE_OFFSET" = 30 ] && exit 69
	[ "\$PAGE_OFFSET" = 20 ] && PASTEND=fault0 exec "$P/offsets"
	[ "\$PAGE_OFFSET" -lt 40 ] && exec "$P/offsets"
	TOTAL=80 "$P/offsets" | sed "s/\"total\":\"80\"/\"total\":\"15\"/"
	EOF
	chmod +x cmd
	export TOTAL=15
	run --separate-stderr paginate --page-size 10 --total-field total --end-on-fault offsetOutOfRangeFault \
		--parallel 8 -- ./cmd
	assert_success
	assert_output "$(ids 0 14)"
	[ "$stderr" = "paginate: stop: offset 15 reached the total 15; 2 pages, 15 records" ]
}

# past_total_pages WHAT: a ./cmd (TOTAL 15, --page-size 10, -P 4: pages 0-3 start
# together, 2 and 3 past the total) whose pages 2 and 3 write their pid to pidOFFSET, then
# do WHAT (shell), then serve 10 records that must never be written and mark endedOFFSET.
past_total_pages() {
	cat >cmd <<-EOF
	#!/bin/sh
	[ "\$PAGE_OFFSET" -lt 20 ] && exec "$P/offsets"
	echo \$\$ >pid\$PAGE_OFFSET
	$1
	TOTAL=80 "$P/offsets" | sed 's/"total":"80"/"total":"15"/'
	: >ended\$PAGE_OFFSET
	EOF
	chmod +x cmd
	# a later stage that complains on the pages past the total
	printf '#!/bin/sh\n[ "$PAGE_OFFSET" -lt 20 ] || echo "noisy: page at $PAGE_OFFSET" >&2\nexec cat\n' >noisy
	chmod +x noisy
}

@test "paginate: a page run ahead and discarded while it runs is let end (output thrown away, later stages muted) and waited for" {
	# Killing it mid-exchange would cost the run's connection keeper a connection
	# (fetch-keeper(1)). Pages 2 and 3 go on only once the run has written pages 0 and 1.
	past_total_pages 'until [ "$(wc -l <out 2>/dev/null)" = 15 ]; do sleep 0.05; done'
	export TOTAL=15
	run --separate-stderr paginate --page-size 10 --total-field total --parallel 4 -o out --pipeline -- ./cmd '|' ./noisy
	assert_success
	[ "$stderr" = "paginate: stop: offset 15 reached the total 15; 2 pages, 15 records" ]
	assert_equal "$(cat out)" "$(ids 0 14)"
	[ -e ended20 ] && [ -e ended30 ]
}

@test "paginate: a page run ahead and thrown away unjudged shows no message of its later stages, though it ended first" {
	# pages 2 and 3 (past the total) end before page 0 has declared it; their second
	# stage complains, which must not be shown: the pages are never judged
	cat >cmd <<-EOF
	#!/bin/sh
	if [ "\$PAGE_OFFSET" = 0 ]; then
		for _ in \$(seq 200); do [ -e done20 ] && [ -e done30 ] && break; sleep 0.05; done
		sleep 0.2
	fi
	exec "$P/offsets"
	EOF
	# (page 1's message, held back while it was ahead, is shown: it is judged and written)
	printf '#!/bin/sh\n[ "$PAGE_OFFSET" = 0 ] || echo "noisy: page at $PAGE_OFFSET" >&2\ncat\n[ "$PAGE_OFFSET" -lt 20 ] || : >done$PAGE_OFFSET\n' >noisy
	chmod +x cmd noisy
	export TOTAL=15
	run --separate-stderr paginate --page-size 10 --total-field total --parallel 4 --pipeline -- ./cmd '|' ./noisy
	assert_success
	assert_output "$(ids 0 14)"
	[ -e done20 ] && [ -e done30 ]
	[ "$stderr" = "noisy: page at 10
paginate: stop: offset 15 reached the total 15; 2 pages, 15 records" ]
}

@test "paginate: the wait for a discarded page is bounded: --max-time kills a hung one, and SIGTERM to paginate ends it" {
	past_total_pages 'sleep 300'
	export TOTAL=15
	run --separate-stderr timeout 60 paginate --page-size 10 --total-field total --parallel 4 --max-time 1 -- ./cmd
	assert_success
	[ "$stderr" = "paginate: stop: offset 15 reached the total 15; 2 pages, 15 records" ]
	assert_output "$(ids 0 14)"
	[ ! -e ended20 ] && [ ! -e ended30 ]
	rm -f pid20 pid30
	# no --max-time: paginate waits (up to 10 s); SIGTERM then ends it and its pages
	paginate --page-size 10 --total-field total --parallel 4 -o out -- ./cmd 2>err &
	pid=$!
	for _ in $(seq 200); do [ -e pid20 ] && [ -e pid30 ] && [ "$(wc -l <out)" = 15 ] && break; sleep 0.05; done
	[ "$(wc -l <out)" = 15 ]
	kill -0 "$(cat pid20)" && kill -0 "$(cat pid30)"
	kill -TERM "$pid"
	st=0
	wait "$pid" || st=$?
	[ "$st" -eq 143 ]
	assert_equal "$(cat err)" "paginate: stop: interrupted by SIGTERM; 2 pages, 15 records"
	for _ in $(seq 100); do kill -0 "$(cat pid20)" 2>/dev/null || kill -0 "$(cat pid30)" 2>/dev/null || break; sleep 0.05; done
	! kill -0 "$(cat pid20)" 2>/dev/null && ! kill -0 "$(cat pid30)" 2>/dev/null
	[ ! -e ended20 ] && [ ! -e ended30 ]
}

@test "paginate: a short count removes the state before the wait for discarded pages, so that a kill -9 during that wait leaves no complete state" {
	# total 16 declared, 15 served: pages 20 and 30 (guesses, drained) kill paginate
	# -9 if they see the state say complete; they end once paginate said incomplete
	cat >cmd <<-EOF
	#!/bin/sh
	if [ "\$PAGE_OFFSET" -ge 20 ]; then
		for _ in \$(seq 200); do
			grep -q incomplete err 2>/dev/null && exit 0
			[ "\$(jq .done st 2>/dev/null)" = true ] && kill -9 \$PPID && exit 0
			sleep 0.05
		done
		exit 0
	fi
	TOTAL=15 "$P/offsets" | sed 's/"total":"15"/"total":"16"/'
	EOF
	chmod +x cmd
	st=0
	paginate --page-size 10 --total-field total --parallel 4 --state st -o out -- ./cmd 2>err || st=$?
	[ "$st" -eq 1 ]
	assert_equal "$(cat err)" "paginate: incomplete: 15 records, but the declared total is 16
paginate: st removed: the next run starts from the first page
paginate: stop: error, exit 1; 3 pages, 15 records"
	[ ! -e st ]
	# the same command reads again, and fails the same way (not "already complete")
	run --separate-stderr paginate --page-size 10 --total-field total --parallel 4 --state st -o out -- ./cmd
	assert_failure 1
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
