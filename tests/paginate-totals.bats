#!/usr/bin/env bats
# paginate: completeness and limits: declared totals, --allow-short, --total-if, --max-pages.
# One of the paginate-*.bats suites (split by topic), all with scripted page commands
# (tests/fixtures/paginate/: `serve` prints page files chosen by PAGE_*, `offsets` is an
# offset/limit server), no network.
load helpers
paginate_suite

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

@test "paginate: a short count never saves a complete state: killed as it removes the state, the same command fails again (not \"already complete\")" {
	[ -z "${PAGEPULL_SANITIZED:-}" ] || skip "LeakSanitizer does not run under strace"
	page p first '{"id":1}' '@{"next":"b","total":"3"}'
	page p b '{"id":2}' '@{"total":"3"}'
	# SIGKILL at the instant paginate removes the state
	run -137 strace -f -qq -o /dev/null -P st -e trace=unlink,unlinkat -e inject=unlink,unlinkat:signal=KILL \
		paginate -s cursor --token-field next --total-field total --state st -o out -q -- "$P/serve" p
	[ "$(jq .done st)" = false ]
	run --separate-stderr paginate -s cursor --token-field next --total-field total --state st -o out -- "$P/serve" p
	assert_failure 1
	[ "$(cat out)" = $'{"id":1}\n{"id":2}' ]
	[ "$stderr" = "paginate: incomplete: 2 records, but the declared total is 3
paginate: st removed: the next run starts from the first page
paginate: stop: error, exit 1; 2 pages, 2 records" ]
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
