#!/usr/bin/env bats
# paginate: the checkpoint (--state) and resume, kill -9 at seeded instants included.
# One of the paginate-*.bats suites (split by topic), all with scripted page commands
# (tests/fixtures/paginate/: `serve` prints page files chosen by PAGE_*, `offsets` is an
# offset/limit server), no network.
load helpers
paginate_suite

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
