#!/usr/bin/env bats
# ux: the first hour of a new user (issue 15, points 4-10): one message a failure, mistyped
# base URLs, progress and stop lines, man pages before install, what `make demo` installs,
# and the small things of the command line.
load helpers
bats_require_minimum_version 1.5.0

teardown() { emu_stop; }

# --- 9. make demo installs what the demo runs, not the test toolchain ---------------------

# The package list `make TARGET` hands to tests/tools/deps.sh, one a line.
deps_of() {
	make -C "$ROOT" -n "$1" | sed -n 's|^sh tests/tools/deps.sh ||p' | tr ' ' '\n' | sed '/^$/d' | sort -u
}

@test "ux: make demo installs no test toolchain; make check installs both lists" {
	run deps_of demo
	assert_success
	assert_line jq
	assert_line libcurl4-openssl-dev
	assert_line python3-protobuf
	for p in clang libclang-rt-14-dev valgrind strace bats xmlstarlet; do
		refute_line "$p"
	done
	run deps_of check
	for p in clang valgrind strace bats jq libcurl4-openssl-dev; do
		assert_line "$p"
	done
}

# --- 8. man pages before install ---------------------------------------------------------

@test "ux: make builds build/man for MANPATH: man 7 pagepull and man PIPELINE from the source tree" {
	[ -e "$ROOT/build/man/man7/pagepull.7" ] || make -C "$ROOT" -s all
	run env MANPATH="$ROOT/build/man" man -w 7 pagepull
	assert_success
	assert_output "$ROOT/build/man/man7/pagepull.7"
	run env MANPATH="$ROOT/build/man" man -w mercury-products
	assert_output "$ROOT/build/man/man1/mercury-products.1"
	grep -q '^MANPATH=build/man man 7 pagepull ' "$ROOT/README.md"
}

# --- 4. one failure, one message ------------------------------------------------------------

@test "ux: a 401 is one message naming the credential variables; the decoders' complaints about the empty body are not shown" {
	emu_start --records 50
	export MERCURY_USER=mercury MERCURY_PASSWORD=wrong-pw-4f1 DIADOC_CLIENT_ID=pagepull-demo DIADOC_TOKEN=wrong-tok-4f1
	# --pipeline stages (mercury-products): fetch-page | xml2ndjson
	run mercury-products --base-url "$EMU" --type 1
	assert_failure 69
	assert_line --index 0 "fetch-page: $EMU/platform/services/2.0/ProductService: HTTP 401 Unauthorized; body: Unauthorized; check MERCURY_USER and MERCURY_PASSWORD"
	refute_output --partial xml2ndjson
	refute_output --partial wrong-pw-4f1
	# then paginate's page and stop lines, and nothing more (as from every pipeline)
	assert_equal "${#lines[@]}" 3
	assert_line --index 1 "paginate: page 1: command exited with status 69"
	assert_line --index 2 "paginate: stop: error, exit 69; 0 pages, 0 records"
	# a bash page command (diadoc-events): printf | ndjson2pb | fetch-page | pb2ndjson
	run diadoc-events --base-url "$EMU" --box "$(emu_ctl info | jq -r .box_id)"
	assert_failure 69
	assert_line --index 0 --partial "HTTP 401 Unauthorized"
	assert_line --index 0 --partial "; check DIADOC_CLIENT_ID and DIADOC_TOKEN, and that these credentials may read the box"
	refute_output --partial pb2ndjson
	refute_output --partial wrong-tok-4f1
	# Data Mill (fetch-page | json2ndjson | datamill-norm): a 404
	run datamill-cursor --base-url "$EMU/nothere" --format json
	assert_failure 69
	assert_line --index 0 --partial "HTTP 404 Not Found"
	refute_output --partial json2ndjson
	emu_stop
}

@test "ux: a decoder's own failure is still shown, in --pipeline stages and in page commands" {
	emu_start --records 50 --fault 'api=mercury&kind=malformed' --fault 'api=datamill&kind=malformed'
	export MERCURY_USER=mercury MERCURY_PASSWORD=mercury-secret
	run mercury-products --base-url "$EMU" --type 1 --retry 0
	assert_failure 1
	assert_line --index 0 --regexp '^xml2ndjson: <stdin>:[0-9]+:[0-9]+: '
	run datamill-cursor --base-url "$EMU/datamill" --format xml --retry 0
	assert_failure 1
	assert_line --index 0 --regexp '^xml2ndjson: <stdin>:[0-9]+:[0-9]+: '
	emu_stop
}

@test "ux: fetch-page's 401 names the variables of --user-env and --header-env, or --auth-hint" {
	emu_start --records 1
	export CREDS=mercury:nope-4f2 AUTHZ='Bearer nope-4f2'
	run fetch-page -s --user-env CREDS -d x "$EMU/platform/services/2.0/ProductService"
	assert_failure 69
	assert_output "fetch-page: $EMU/platform/services/2.0/ProductService: HTTP 401 Unauthorized; body: Unauthorized; check the credentials in CREDS"
	run fetch-page -s --header-env Authorization=AUTHZ --auth-hint 'check MY_TOKEN' -d x "$EMU/V2/GetDocflowEvents?boxId=b"
	assert_failure 69
	assert_output --partial "; check MY_TOKEN"
	refute_output --partial nope-4f2
	emu_stop
}

# --- 6. a mistyped base URL ------------------------------------------------------------------

@test "ux: a base URL without a scheme is one line from the pipeline, not fetch-page's usage" {
	export MERCURY_USER=u MERCURY_PASSWORD=p DIADOC_TOKEN=t
	run mercury-products --base-url 127.0.0.1:8080 --type 1
	assert_failure 2
	assert_output "mercury-products: --base-url 127.0.0.1:8080: the scheme is missing: write http://127.0.0.1:8080 or https://127.0.0.1:8080"
	run env DATAMILL_BASE_URL=localhost:1/datamill datamill-cursor
	assert_failure 2
	assert_output "datamill-cursor: DATAMILL_BASE_URL=localhost:1/datamill: the scheme is missing: write http://localhost:1/datamill or https://localhost:1/datamill"
	run diadoc-packet --box b7c5d2a0-6f1e-4c3b-9a8d-2e5f7a9c1b3d --packet p --base-url 'ftp://diadoc'
	assert_failure 2
	assert_output "diadoc-packet: --base-url ftp://diadoc: not an http:// or https:// URL with a host"
	run diadoc-events --box b7c5d2a0-6f1e-4c3b-9a8d-2e5f7a9c1b3d --base-url 'diadoc.example'
	assert_failure 2
	assert_output --partial "the scheme is missing"
	run docsvision-card --base-url dv.example 108FB91F-79D6-5EDB-821D-8C5513A6A321
	assert_failure 2
	assert_output "docsvision-card: --base-url dv.example: the scheme is missing: write http://dv.example or https://dv.example"
	run env -u DOCSVISION_BASE_URL docsvision-card 108FB91F-79D6-5EDB-821D-8C5513A6A321
	assert_failure 2
	assert_line --index 0 "docsvision-card: --base-url (or DOCSVISION_BASE_URL) is required: DocsVision runs on your own server"
}

@test "ux: a base URL from the environment may end in a slash, as --base-url may: no // in the paths" {
	emu_start --records 5
	export MERCURY_BASE_URL=$EMU/ DATAMILL_BASE_URL=$EMU/datamill/ DIADOC_BASE_URL=$EMU/ DOCSVISION_BASE_URL=$EMU/
	export MERCURY_USER=mercury MERCURY_PASSWORD=mercury-secret DIADOC_TOKEN=diadoc-secret-token
	export DOCSVISION_USER=docsvision DOCSVISION_PASSWORD=dv-secret
	local box packet card
	box=$(emu_ctl info | jq -r .box_id)
	packet=$(emu_ctl info | jq -r '.packets[] | select(.name == "one") | .id')
	card=$(emu_ctl info | jq -r '.cards[] | select(.name == "small") | .id')
	run -0 mercury-products -q --type 1
	run -0 datamill-cursor -q
	run -0 diadoc-events -q --box "$box"
	run -0 diadoc-packet -q --box "$box" --packet "$packet"
	run -0 docsvision-card -q "$card"
	run emu_ctl log
	refute_output --partial '"path":"//'
	refute_output --partial '"status":404'
}

# --- 10. the small things of the command line -------------------------------------------------

@test "ux: every filter takes -h as --help: the usage on stdout, exit 0" {
	for f in b64inflate datamill-norm fetch-page json2ndjson ndjson2pb paginate pb2ndjson xml2ndjson; do
		run --separate-stderr "$f" -h
		assert_success
		[[ $output == "usage: $f "* ]] || fail "$f -h: $output"
		[ -z "$stderr" ] || fail "$f -h: $stderr"
		[ "$output" = "$("$f" --help)" ] || fail "$f: -h and --help differ"
	done
}

@test "ux: a stray argument is an unexpected argument, not an unknown option; fetch-page says the URL is missing" {
	export MERCURY_USER=u MERCURY_PASSWORD=p DIADOC_TOKEN=t
	run mercury-products --type 1 5
	assert_failure 2
	assert_line --index 0 "mercury-products: 5: unexpected argument"
	run datamill-cursor --format json extra
	assert_line --index 0 "datamill-cursor: extra: unexpected argument"
	run diadoc-events --box b7c5d2a0-6f1e-4c3b-9a8d-2e5f7a9c1b3d extra
	assert_line --index 0 "diadoc-events: extra: unexpected argument"
	run diadoc-packet --box b7c5d2a0-6f1e-4c3b-9a8d-2e5f7a9c1b3d --packet p extra
	assert_line --index 0 "diadoc-packet: extra: unexpected argument"
	run docsvision-card --base-url http://dv card1 card2
	assert_line --index 0 "docsvision-card: card2: unexpected argument (one card at a time)"
	run b64inflate a b
	assert_failure 2
	assert_line --index 0 "b64inflate: b: unexpected argument (one input file at most)"
	run pb2ndjson -d x -t y a b
	assert_failure 2
	assert_line --index 0 "pb2ndjson: b: unexpected argument (one input file at most)"
	run ndjson2pb -t y
	assert_failure 2
	assert_line --index 0 "ndjson2pb: -d DESCRIPTOR_SET and -t MESSAGE_TYPE are both required"
	run fetch-page -s
	assert_failure 2
	assert_line --index 0 "fetch-page: the URL is missing (an operand, or --expand-url URL)"
	run fetch-page http://a http://b
	assert_failure 2
	assert_line --index 0 "fetch-page: http://b: unexpected argument (one URL at a time)"
}

@test "ux: --state in a missing directory, a {} state, --query of a missing file: one clear line each" {
	cd "$BATS_TEST_TMPDIR"
	run datamill-cursor --state nodir/x.state --base-url http://127.0.0.1:9
	assert_failure 74
	assert_output "datamill-cursor: --state nodir/x.state: the directory nodir does not exist"
	echo '{}' >empty.state
	run datamill-cursor --state empty.state --base-url http://127.0.0.1:9
	assert_failure 1
	assert_output 'datamill-cursor: empty.state: not a state file of datamill-cursor (cut short or damaged); remove it to start over'
	run datamill-cursor --query missing.xml --base-url http://127.0.0.1:9
	assert_failure 2
	assert_output "datamill-cursor: --query missing.xml: cannot read it (no such file, or not readable)"
}

@test "ux: --from yesterday is refused (dates as written only), and the man page says why" {
	export DIADOC_TOKEN=t
	run diadoc-events --box b7c5d2a0-6f1e-4c3b-9a8d-2e5f7a9c1b3d --from yesterday
	assert_failure 2
	assert_line --index 0 "diadoc-events: --from yesterday: not a date (YYYY-MM-DD[THH:MM:SS[Z]])"
	run diadoc-events --box b7c5d2a0-6f1e-4c3b-9a8d-2e5f7a9c1b3d --to '2 days ago'
	assert_failure 2
	run man -l "$ROOT/man/diadoc-events.1"
	assert_output --partial "Relative dates such as ‘yesterday’ are refused"
}

@test "ux: exit 141 is in the exit-status tables; the man pages' typos are gone" {
	grep -q '^| 141 | killed by SIGPIPE' "$ROOT/README.md"
	run man -l "$ROOT/man/pagepull.7"
	assert_line --regexp '^ +141 +killed by SIGPIPE'
	run man -l "$ROOT/man/paginate.1"
	refute_output --partial -- '-usually -the -first'
	assert_output --partial 'usually the first)'
	run man -l "$ROOT/man/diadoc-events.1"
	assert_output --partial '(‘2024-01-31’, midnight UTC) or a date and time'
}

@test "ux: a pipeline whose reader goes away (| head) exits 141 without a word, as the tables say" {
	emu_start --records 2500	# each run's output is well over a pipe's 64 KiB
	export MERCURY_USER=mercury MERCURY_PASSWORD=mercury-secret
	export DIADOC_CLIENT_ID=pagepull-demo DIADOC_TOKEN=diadoc-secret-token
	export DOCSVISION_USER=docsvision DOCSVISION_PASSWORD=dv-secret
	local box packet card p
	box=$(emu_ctl info | jq -r .box_id)
	packet=$(emu_ctl info | jq -r '.packets[] | select(.name == "big") | .id')
	card=$(emu_ctl info | jq -r '.cards[] | select(.name == "big") | .id')
	for p in "mercury-products --base-url $EMU --type 5" "mercury-products --base-url $EMU --type 5 --type 1" \
		"datamill-cursor --base-url $EMU/datamill" "diadoc-events --base-url $EMU --box $box" \
		"diadoc-packet --base-url $EMU --box $box --packet $packet" "docsvision-card --base-url $EMU $card"; do
		run bash -c "$p 2>'$BATS_TEST_TMPDIR/err' | head -c 10 >/dev/null; echo \${PIPESTATUS[0]}"
		assert_output 141
		run cat "$BATS_TEST_TMPDIR/err"
		assert_output ''
	done
}

# --- 7. progress and stop lines -----------------------------------------------------------------

@test "ux: a run over several product types says which type each stop line is about; singulars" {
	emu_start --records 0 --mercury-records 20	# types 4 and 7: one product each
	export MERCURY_USER=mercury MERCURY_PASSWORD=mercury-secret
	run --separate-stderr mercury-products --base-url "$EMU" --type 4 --type 7
	assert_success
	[ "$stderr" = "paginate: product type 4: stop: offset 1 reached the total 1; 1 page, 1 record
paginate: product type 7: stop: offset 1 reached the total 1; 1 page, 1 record" ] || fail "$stderr"
	# one type: no label
	run --separate-stderr mercury-products --base-url "$EMU" --type 4
	[ "$stderr" = "paginate: stop: offset 1 reached the total 1; 1 page, 1 record" ] || fail "$stderr"
	# and (1 attempt) when a page fails without retries
	emu_ctl faults -X POST -d '' --get --data-urlencode 'api=mercury' --data-urlencode 'kind=http' --data-urlencode 'status=503' >/dev/null
	run --separate-stderr mercury-products --base-url "$EMU" --type 4 --type 7 --retry 0 -q
	assert_failure 75
	[[ ${stderr} == *"paginate: product type 4: page 1: "* ]] || fail "$stderr"
	[[ ${stderr} == *"(1 attempt)"* ]] || fail "$stderr"
}

@test "ux: paginate --label names the run in its lines; Ctrl-C ends with a stop line, not silently" {
	run --separate-stderr paginate --label 'part 2' -s cursor --token-field t -- sh -c 'echo "{\"a\":1}"'
	assert_success
	[ "$stderr" = "paginate: part 2: stop: no t; 1 page, 1 record" ] || fail "$stderr"
	# the signal once the page command runs (paginate's handlers are set by then): sent
	# earlier, it would find bash's SIG_IGN of a background job, or no handler yet
	paginate -s cursor --token-field t -- sh -c ': >"$0"; sleep 30' "$BATS_TEST_TMPDIR/page" \
		2>"$BATS_TEST_TMPDIR/err" &
	local pid=$! i
	for i in $(seq 1 600); do
		[ -e "$BATS_TEST_TMPDIR/page" ] && break
		sleep 0.05
	done
	kill -INT "$pid"
	local st=0
	wait "$pid" || st=$?
	[ "$st" -eq 130 ]
	run cat "$BATS_TEST_TMPDIR/err"
	assert_output "paginate: stop: interrupted by SIGINT; 0 pages, 0 records"
}

@test "ux: a page program run without main's settings names the one missing, in one line (exit 2)" {
	run --separate-stderr docsvision-card __page
	assert_failure 2
	[ "$stderr" = "docsvision-card: __page: PP_FETCH_ARGS is not set: a page is run by docsvision-card through paginate, not alone" ]
	PP_FETCH_ARGS=-k PP_BASE=http://127.0.0.1:9 PP_SESSION=s PP_CURSOR=c PP_FIRST=f PP_COUNTS=d \
		PP_RECORDS= PP_RAW= PP_FIRST_READ=2 PP_DV_AUTH=any run --separate-stderr docsvision-card __page
	assert_failure 2
	[ "$stderr" = "docsvision-card: __page: PP_DV_CREDS is not set: a page is run by docsvision-card through paginate, not alone" ]
}

@test "ux: a common option is one row of lib.sh's PP_OPTIONS: with a row added, every pipeline shows it, takes it and hands it to fetch-page" {
	local share=$BATS_TEST_TMPDIR/share bin=$BATS_TEST_TMPDIR/bin real p
	local box=b7c5d2a0-6f1e-4c3b-9a8d-2e5f7a9c1b3d card=0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0
	mkdir -p "$share" "$bin"
	# the one edit: a row for fetch-page's -A
	sed 's/^cacert .*/&\nuser-agent . PP_AGENT . agent . -A ./' "$ROOT/pipelines/lib.sh" >"$share/lib.sh"
	real=$(dirname "$(command -v paginate)")
	for p in "$real"/*; do ln -s "$p" "$bin/"; done
	rm "$bin/fetch-page"
	printf '#!/bin/sh\nprintf "%%s\\n" "$*" >>"$LOG"\nexit 69\n' >"$bin/fetch-page"
	chmod +x "$bin/fetch-page"
	export PAGEPULL_SHARE=$share PAGEPULL_BIN=$bin LOG=$BATS_TEST_TMPDIR/argv
	export MERCURY_USER=u MERCURY_PASSWORD=p DIADOC_TOKEN=t
	for p in "mercury-products --type 1" datamill-cursor "diadoc-events --box $box" \
		"diadoc-packet --box $box --packet p" "docsvision-card $card"; do
		run ${p%% *} --help
		assert_output --partial "[--user-agent agent]"
		rm -f "$LOG"
		run $p -q --user-agent 'my agent' --retry 0 --base-url http://127.0.0.1:9
		assert_failure 69
		grep -q -- "-A my agent" "$LOG" || fail "${p%% *}: fetch-page got no -A: $(cat "$LOG")"
	done
}

@test "ux: every pipeline's --help and man page name every common option of PP_OPTIONS" {
	local rows long short var def arg rest p n=0
	rows=$(PP_NAME=x PP_SELF=$ROOT/pipelines/x bash -c '. "$1"; printf %s "$PP_OPTIONS"' _ "$ROOT/pipelines/lib.sh")
	for p in datamill-cursor diadoc-events diadoc-packet docsvision-card mercury-products; do
		run "$p" --help
		mandoc -T ascii "$ROOT/man/$p.1" | col -b >"$BATS_TEST_TMPDIR/man"
		while read -r long short var def arg rest; do
			[ -n "$long" ] || continue
			n=$((n + 1))
			if [ "$short" = . ]; then
				[[ $output == *"[--$long"[\ \]]* ]] || fail "$p --help: no --$long"
			elif [ "$arg" = . ]; then
				[[ ${output%%]*} == "usage: $p [-"*"$short"* ]] || fail "$p --help: no -$short"
			else
				[[ $output == *"[-$short $arg]"* ]] || fail "$p --help: no -$short $arg"
			fi
			grep -q -- "--$long" "$BATS_TEST_TMPDIR/man" || fail "$p.1: no --$long"
		done <<<"$rows"
	done
	[ "$n" -ge 90 ]
}
