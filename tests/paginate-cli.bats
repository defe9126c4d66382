#!/usr/bin/env bats
# paginate: the command line and the output: --help, usage errors, control lines, the page
# command's environment, a full disk and a closed pipe, the spool, progress, --rate.
# One of the paginate-*.bats suites (split by topic), all with scripted page commands
# (tests/fixtures/paginate/: `serve` prints page files chosen by PAGE_*, `offsets` is an
# offset/limit server), no network.
load helpers
paginate_suite

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

@test "paginate: numbers are digits only and fit their option, one grammar with fetch-page (lib/args.c)" {
	# wider than an int: --parallel 4294967297 ran as -P 1
	run --separate-stderr paginate -P 4294967297 -- true
	assert_failure 2
	[[ "$stderr" == "paginate: --parallel: not a valid number"* ]]
	# strtoll and strtod took a sign, leading blanks and exponents
	for n in +1 ' 1'; do
		run --separate-stderr paginate --max-pages "$n" -- true
		assert_failure 2
		[[ "$stderr" == "paginate: --max-pages: not a valid number"* ]]
	done
	run --separate-stderr paginate --rate 1e3 -- true
	assert_failure 2
	[[ "$stderr" == "paginate: --rate: not a valid number"* ]]
	run -0 paginate -q --rate 0.5 --retry-delay 0 --max-pages 1 -- true
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

@test "paginate: --help and the man page's SYNOPSIS list the same long options, each described in the page" {
	help_matches_man paginate
}
