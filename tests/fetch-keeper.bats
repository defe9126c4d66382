#!/usr/bin/env bats
# fetch-keeper, the run's connection keeper: paginate starts one, fetch-page hands it the
# exchange over a private Unix socket, and the pages of a run share connections (counted
# in the emulator's log). Nothing else may change: outputs, exit statuses and messages
# are fetch-page's own; no keeper (or a dead one) means direct exchanges; a keeper killed
# with -9 mid-run costs no record; the socket directory is private and goes with the run.
load helpers
pipeline_suite
bats_require_minimum_version 1.5.0

setup_file() {
	emu_start --records 0 --mercury-records 200
}

teardown_file() {
	emu_stop
}

setup() {
	export MERCURY_USER=mercury MERCURY_PASSWORD=mercury-secret MC=mercury:mercury-secret
	export MERCURY="$EMU/platform/services/2.0/ProductService"
	unset PAGEPULL_KEEPER PAGEPULL_NO_KEEPALIVE
	emu_ctl reset -X POST >/dev/null
	cd "$BATS_TEST_TMPDIR"
	# the keepers of this test's runs are found by this mark in their environment
	export KEEPER_MARK=$BATS_TEST_TMPDIR
	mkdir -p t && export TMPDIR=$BATS_TEST_TMPDIR/t
}

# The distinct connections the emulator's log shows since the last reset.
connections() { emu_ctl log | jq -s '[.[].conn] | unique | length'; }
# The connections the emulator has accepted so far, this call's own included: those of
# requests that were never answered (and so never logged) too.
accepted() { emu_ctl info | jq .connections; }

mercury() { mercury-products --base-url "$EMU" --type 5 --count 10 -q "$@"; }

@test "fetch-keeper: --help prints the synopsis on stdout; no command is a usage error (2)" {
	run -0 fetch-keeper --help
	assert_line --index 0 "usage: fetch-keeper [-P n] [--cacert file] --serve"
	run -2 fetch-keeper
	assert_line --index 0 "fetch-keeper: a command or --serve is needed"
	run -2 fetch-keeper -P 0 true
	assert_line --index 0 "fetch-keeper: -P 0: not a number from 1 to 64"
	run -2 fetch-keeper --serve true
	assert_line --index 0 "fetch-keeper: --serve: not with a command"
}

@test "fetch-keeper: fetch-page links no libcurl; a keeper's exchange needs none in the client" {
	run -0 ldd "$(command -v fetch-page)"
	refute_output --partial libcurl
	refute_output --partial libssl
	run -0 ldd "$(command -v fetch-keeper)"
	assert_output --partial libcurl
	assert_output --partial libssl
}

@test "fetch-keeper: a paginate run makes one connection for all its pages; --no-keepalive one a page" {
	mercury -o kept
	[ "$(count kept)" -eq 60 ]
	same_as_truth kept 'mercury?productType=5'
	requests=$(emu_ctl log | jq -s length)
	[ "$requests" -ge 6 ]
	[ "$(connections)" -eq 1 ]
	emu_ctl reset -X POST >/dev/null
	PAGEPULL_NO_KEEPALIVE=1 mercury -o alone
	cmp kept alone
	[ "$(connections)" -eq "$requests" ]
	emu_ctl reset -X POST >/dev/null
	paginate --no-keepalive -s offset --page-size 1 --max-pages 2 -q -- \
		sh -c 'fetch-page -s "$MERCURY" -d x; echo "{\"i\":$PAGE_INDEX}"' >/dev/null
	[ "$(connections)" -eq 2 ]
}

@test "fetch-keeper: mercury-products with several types makes one connection for the whole run, its keeper gone after it" {
	mercury-products --base-url "$EMU" --type 5 --type 6 --type 7 --count 10 -q -o kept
	requests=$(emu_ctl log | jq -s length)
	[ "$requests" -ge 9 ]
	[ "$(connections)" -eq 1 ]
	[ -z "$(our_keepers)" ]
	[ -z "$(ls -A "$TMPDIR")" ]
	emu_ctl reset -X POST >/dev/null
	PAGEPULL_NO_KEEPALIVE=1 mercury-products --base-url "$EMU" --type 5 --type 6 --type 7 --count 10 -q -o alone
	cmp kept alone
	[ "$(connections)" -eq "$requests" ]
	# -P 3: the run's keeper has 3 workers, so at most 3 connections for all the types, also
	# counted as the emulator accepted them (a page past a type's total that were killed
	# mid-answer would show only there)
	emu_ctl reset -X POST >/dev/null
	before=$(accepted)
	mercury-products --base-url "$EMU" --type 5 --type 6 --type 7 --count 10 -q -P 3 -o par
	[ $(($(accepted) - before - 1)) -le 3 ]
	cmp kept par
	[ "$(connections)" -le 3 ]
}

@test "fetch-keeper: -P 3 pages past a type's total still in flight at its end cost no connection; the output is exact" {
	# Type 6 has 20 products: its pages 0, 10 and 20 start together, before the total is
	# known, and the one at 20 (the end of the data) answers slowly, so that it still runs
	# when the type is done. It must be let end its exchange, not killed mid-answer, which
	# closes its worker's connection (a request that is never logged): type 5's pages,
	# three at a time (each answer takes 300 ms), would then open a fourth. So the count is
	# of the connections the emulator accepted, not of those in its log.
	emu_ctl 'reset?latency=300' -X POST >/dev/null
	fault 'api=mercury&kind=drip&bytes_per_sec=200&match=productType:6,offset:20'
	before=$(accepted)
	mercury-products --base-url "$EMU" --type 6 --type 5 --count 10 -q -P 3 -o out 2>err
	run_connections=$(($(accepted) - before - 1))	# (the second info call's own one)
	[ "$(emu_ctl faults | jq '.[0].fired')" -eq 1 ]
	{ emu_ctl 'truth/mercury?productType=6'; emu_ctl 'truth/mercury?productType=5'; } >truth
	[ "$(count out)" -eq "$(count truth)" ]
	cmp <(jq -cS . out | LC_ALL=C sort) <(jq -cS . truth | LC_ALL=C sort)
	[ "$run_connections" -ge 1 ] && [ "$run_connections" -le 3 ]
	[ ! -s err ] || fail "stderr: $(cat err)"
	[ "$(connections)" -le 3 ]
}

@test "fetch-keeper: mercury-products' run keeper ends with it on SIGTERM and after a kill -9 of the keeper" {
	emu_ctl "reset?mercury_records=300" -X POST >/dev/null
	fault 'api=mercury&kind=drip&bytes_per_sec=40000'
	mercury-products --base-url "$EMU" --type 5 --type 6 --count 25 -q -o out --retry-delay 0.1 2>err &
	pid=$!
	for i in $(seq 1 100); do pids=$(our_keepers); [ -n "$pids" ] && break; sleep 0.02; done
	[ -n "$pids" ]
	kill -9 $pids
	wait "$pid" || fail "exit $? ($(tail -n 2 err))"
	{ emu_ctl 'truth/mercury?productType=5'; emu_ctl 'truth/mercury?productType=6'; } >truth56
	[ "$(count out)" -eq "$(count truth56)" ]
	cmp <(jq -cS . out | LC_ALL=C sort) <(jq -cS . truth56 | LC_ALL=C sort)
	[ -z "$(our_keepers)" ]
	[ -z "$(ls -A "$TMPDIR")" ]
	mercury-products --base-url "$EMU" --type 5 --type 6 --count 25 -q -o out2 2>err &
	pid=$!
	for i in $(seq 1 100); do pids=$(our_keepers); [ -n "$pids" ] && break; sleep 0.02; done
	[ -n "$pids" ]
	kill -TERM "$pid"
	st=0
	wait "$pid" || st=$?
	[ "$st" -eq 143 ]
	for i in $(seq 1 100); do [ -z "$(our_keepers)$(ls -A "$TMPDIR")" ] && break; sleep 0.05; done
	[ -z "$(our_keepers)" ]
	[ -z "$(ls -A "$TMPDIR")" ]
	assert_equal "$(cat err)" "mercury-products: interrupted"
}

@test "fetch-keeper: -P 4 pages share at most 4 connections, in page order" {
	PAGEPULL_NO_KEEPALIVE=1 mercury -o seq
	emu_ctl reset -X POST >/dev/null
	mercury -P 4 -o par
	cmp par seq
	run connections
	[ "$output" -ge 1 ] && [ "$output" -le 4 ]
}

@test "fetch-keeper: -v says a connection was reused" {
	fetch-keeper -- sh -c 'for i in 1 2; do fetch-page -v -s --user-env MC -d x "$MERCURY" >/dev/null; done; :' 2>err
	run grep -c '^\* Re-using existing connection' err
	assert_output 1
	[ "$(connections)" -eq 1 ]
}

# same ARGS…: fetch-page ARGS served by a keeper and alone: the same status, stdout, stderr.
same() {
	local a=0 k=0
	PAGEPULL_NO_KEEPALIVE=1 fetch-page "$@" >alone.out 2>alone.err </dev/null || a=$?
	fetch-keeper -- fetch-page "$@" >kept.out 2>kept.err </dev/null || k=$?
	[ "$a" -eq "$k" ] || fail "exit $a alone, $k with a keeper: fetch-page $*"
	cmp alone.out kept.out || fail "stdout differs: fetch-page $*"
	diff alone.err kept.err || fail "stderr differs: fetch-page $*"
	echo "$k"
}

@test "fetch-keeper: statuses, stdout, stderr and -o through a keeper are fetch-page's own" {
	printf '<x/>' >body
	run -0 same --user-env MC --soap-action GetProductByTypeList -d @body "$MERCURY"
	assert_output 0
	run -0 same --user-env MC -d @- "$MERCURY"
	assert_output 0
	run -0 same "$EMU/no/such/page"
	assert_output 69
	run -0 same -d x "$MERCURY"
	assert_output 69
	run -0 same --bogus "$MERCURY"
	assert_output 2
	run -0 same --user-env NO_SUCH_VARIABLE "$MERCURY"
	assert_output 2
	run -0 same -o "sub/dir/out" "$EMU/no/such/page"
	assert_output 74
	run -0 same -o got --user-env MC -d @body "$MERCURY"
	assert_output 0
	[ -s got ] && [ "$(ls -A | grep -c '^\.got')" -eq 0 ]
	fault 'api=mercury&kind=http&status=503&on=1,2'
	run -0 same -s --retry 0 --user-env MC -d @body "$MERCURY"
	assert_output 75
	emu_ctl faults -X DELETE >/dev/null
	fault 'api=mercury&kind=http&status=503&on=1,3'
	run -0 same --retry 1 --retry-delay 0 --user-env MC -d @body "$MERCURY"
	assert_output 0
}

@test "fetch-keeper: | head ends a served fetch-page quietly, as SIGPIPE would end it alone" {
	emu_ctl "reset?mercury_records=3000" -X POST >/dev/null
	[ "$(fetch-page "$EMU/_emulator/truth/mercury" | wc -c)" -gt 200000 ]
	run -0 fetch-keeper -- bash -c 'fetch-page --max-time 5 "$EMU/_emulator/truth/mercury" | head -c 10 >/dev/null; echo "${PIPESTATUS[0]}"'
	assert_output 141
	run -0 bash -c 'PAGEPULL_NO_KEEPALIVE=1 fetch-page --max-time 5 "$EMU/_emulator/truth/mercury" | head -c 10 >/dev/null; echo "${PIPESTATUS[0]}"'
	assert_output 141
}

@test "fetch-keeper: the socket directory is private (0700), its only entry the socket, gone after the run" {
	run -0 paginate -q -s offset --max-pages 1 -- sh -c \
		'd=${PAGEPULL_KEEPER%/S}; printf "{\"mode\":\"%s\",\"entries\":\"%s\",\"dir\":\"%s\"}\n" "$(stat -c %a "$d")" "$(ls -A "$d")" "$d"'
	assert_output --partial '{"mode":"700","entries":"S","dir":"'"$TMPDIR/pagepull-keeper."
	dir=$(jq -r .dir <<<"$output")
	[ ! -e "$dir" ]
	[ -z "$(ls -A "$TMPDIR")" ]
	[ -z "$(our_keepers)" ]
}

@test "fetch-keeper: no keeper where PAGEPULL_KEEPER points: fetch-page makes the exchange itself" {
	PAGEPULL_KEEPER=$BATS_TEST_TMPDIR/none/S run -0 fetch-page --user-env MC -d x "$MERCURY"
	PAGEPULL_KEEPER=$BATS_TEST_TMPDIR/none/S run -69 fetch-page "$EMU/no/such/page"
	assert_output "fetch-page: $EMU/no/such/page: HTTP 404 Not Found; body: Not Found: /no/such/page"
}

@test "fetch-keeper: a page command without fetch-page is not affected; nor is a nested paginate" {
	run -0 paginate -q -s offset --max-pages 1 -- sh -c 'echo "{\"k\":\"${PAGEPULL_KEEPER:+set}\"}"'
	assert_output '{"k":"set"}'
	run -0 paginate -q --no-keepalive -s offset --max-pages 1 -- sh -c 'echo "{\"k\":\"${PAGEPULL_KEEPER:+set}\"}"'
	assert_output '{"k":""}'
	# a paginate inside a run that has a keeper uses that one
	run -0 fetch-keeper -- sh -c 'outer=$PAGEPULL_KEEPER; paginate -q -s offset --max-pages 1 -- \
		sh -c "[ \"\$PAGEPULL_KEEPER\" = \"$outer\" ] && echo \"{}\""'
	assert_output '{}'
}

@test "fetch-keeper: its command line and directory hold no secret" {
	export MERCURY_PASSWORD=kp-$$-secret-canary
	paginate -q -s offset --max-pages 1 -- sh -c 'sleep 1; echo "{}"' >/dev/null &
	local pid=$! pids
	for i in $(seq 1 100); do pids=$(our_keepers); [ -n "$pids" ] && break; sleep 0.02; done
	[ -n "$pids" ]
	ps -o args= -p "$(echo $pids | tr ' ' ,)" | sort -u >seen
	ls -A "$TMPDIR"/pagepull-keeper.* >>seen
	wait "$pid"
	run cat seen
	assert_output 'fetch-keeper -P 1 --serve
S'
	! grep -r "$MERCURY_PASSWORD" seen
}

@test "fetch-keeper: kill -9 of the keeper at seeded instants mid-run: every record exactly once" {
	emu_ctl "reset?mercury_records=300" -X POST >/dev/null
	fault 'api=mercury&kind=drip&bytes_per_sec=40000'
	RANDOM=17
	for trial in 1 2 3 4; do
		rm -f out
		mercury --count 25 -o out --retry-delay 0.1 2>err &
		pid=$!
		sleep "0.$((RANDOM % 6 + 2))"
		killed=$(our_keepers)
		[ -z "$killed" ] || kill -9 $killed
		wait "$pid" || fail "trial $trial: exit $? ($(tail -n 2 err))"
		same_as_truth out 'mercury?productType=5'
	done
	# the pipeline's keeper ends when the pipeline does (SIGTERM on its parent's end)
	for i in $(seq 1 100); do [ -z "$(our_keepers)$(ls -A "$TMPDIR")" ] && break; sleep 0.05; done
	[ -z "$(our_keepers)" ]
	[ -z "$(ls -A "$TMPDIR")" ]
}

@test "fetch-keeper: --help and the man page's SYNOPSIS list the same long options, each described in the page" {
	help_matches_man fetch-keeper
}

@test "fetch-keeper: over TLS the CA bundle is read once a run, not once a page, and one handshake serves every page" {
	[ -z "${PAGEPULL_SANITIZED:-}" ] || skip "LeakSanitizer does not run under strace"
	"$ROOT/tests/emulator/run" --records 0 --mercury-records 200 --tls --tls-cert cert.pem >tls.out 2>/dev/null &
	local tls_pid=$!
	for i in $(seq 1 100); do [ -s tls.out ] && break; sleep 0.05; done
	local base
	base=$(head -n 1 tls.out)
	strace -f -qq -e trace=openat -o kept.trace mercury-products --base-url "$base" --cacert cert.pem --type 5 --count 10 -q -o kept
	PAGEPULL_NO_KEEPALIVE=1 strace -f -qq -e trace=openat -o alone.trace mercury-products --base-url "$base" --cacert cert.pem --type 5 --count 10 -q -o alone
	local log
	log=$(curl -fsS --cacert cert.pem "$base/_emulator/log")
	kill "$tls_pid"
	cmp kept alone
	[ "$(count kept)" -eq 60 ]
	run grep -c 'cert.pem", O_RDONLY' kept.trace
	assert_output 1
	run grep -c 'cert.pem", O_RDONLY' alone.trace
	[ "$output" -ge 6 ]
	# the first run: one connection, one full handshake; the second: one a page
	run jq -s 'map(select(.api != null)) | group_by(.conn) | map(.[0].tls) | group_by(.) | map("\(.[0]) \(length)") | join(", ")' <<<"$log"
	assert_output "\"full $((1 + $(grep -c 'cert.pem", O_RDONLY' alone.trace)))\""
}

# tls_start ARGS…: an https emulator of this test's own at $TLS, its certificate in cert.pem
# (ended by teardown).
tls_start() {
	"$ROOT/tests/emulator/run" --records 0 --mercury-records 200 --tls-cert cert.pem "$@" >tls.out 2>/dev/null &
	TLS_PID=$!
	for i in $(seq 1 100); do [ -s tls.out ] && break; sleep 0.05; done
	TLS=$(head -n 1 tls.out)
	[ -n "$TLS" ]
	TLS_MERCURY="$TLS/platform/services/2.0/ProductService"
}

teardown() {
	[ -z "${TLS_PID:-}" ] || kill "$TLS_PID" 2>/dev/null || :
}

# reads NAME TRACE: how often the processes that strace followed opened a file NAME.
reads() { grep -c "/$1\", O_RDONLY\|\"$1\", O_RDONLY" "$2" || :; }

# A self-signed certificate that is not the emulator's.
wrong_ca() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout /dev/null \
		-subj /CN=wrong -days 1 -out wrong.pem 2>/dev/null
}

@test "fetch-keeper: -P 4 over TLS: the CA file (fetch-keeper --cacert, mercury-products --cacert) is read once for all the workers' connections, every page right" {
	[ -z "${PAGEPULL_SANITIZED:-}" ] || skip "LeakSanitizer does not run under strace"
	tls_start --latency 200
	printf '<x/>' >body
	PAGEPULL_NO_KEEPALIVE=1 fetch-page -s --cacert cert.pem --user-env MC --soap-action GetProductByTypeList \
		-d @body "$TLS_MERCURY" >alone
	curl -fsS --cacert cert.pem -X POST "$TLS/_emulator/reset" >/dev/null
	# four pages at once: four workers, each with its own connection and handshake
	strace -f -qq -e trace=openat -o four.trace fetch-keeper -P 4 --cacert cert.pem -- bash -c '
		for i in 1 2 3 4; do
			fetch-page -s --cacert cert.pem --user-env MC --soap-action GetProductByTypeList \
				-d @body "$0" >out$i & pids+=($!)
		done
		for p in "${pids[@]}"; do wait $p || exit; done' "$TLS_MERCURY"
	for i in 1 2 3 4; do cmp alone out$i; done
	run reads cert.pem four.trace
	assert_output 1
	run jq -s '[.[].conn] | unique | length' < <(curl -fsS --cacert cert.pem "$TLS/_emulator/log")
	[ "$output" -ge 2 ]
	# a pipeline at -P 4: its run's keeper loads the pipeline's --cacert
	strace -f -qq -e trace=openat -o run.trace \
		mercury-products --base-url "$TLS" --cacert cert.pem --type 5 --count 10 -q -P 4 -o kept
	curl -fsS --cacert cert.pem "$TLS/_emulator/truth/mercury?productType=5" >truth
	[ "$(count kept)" -eq 60 ]
	cmp <(jq -cS . kept | LC_ALL=C sort) <(jq -cS . truth | LC_ALL=C sort)
	run reads cert.pem run.trace
	assert_output 1
}

@test "fetch-keeper: a wrong CA still fails (69, fetch-page's message) when the keeper loaded it once for all pages: the default bundle, another --cacert" {
	[ -z "${PAGEPULL_SANITIZED:-}" ] || skip "LeakSanitizer does not run under strace"
	wrong_ca
	tls_start
	four='for i in 1 2 3 4; do fetch-page -s --user-env MC -d x "$@" "$0" 2>err$i & pids+=($!); done
		st=; for p in "${pids[@]}"; do wait $p; st="$st $?"; done; echo $st'
	PAGEPULL_NO_KEEPALIVE=1 run -69 fetch-page -s --user-env MC -d x "$TLS_MERCURY"
	assert_output "fetch-page: $TLS_MERCURY: SSL certificate problem: self-signed certificate"
	run -0 strace -f -qq -e trace=openat -o default.trace fetch-keeper -P 4 -- bash -c "$four" "$TLS_MERCURY"
	assert_output "69 69 69 69"
	for i in 1 2 3 4; do
		assert_equal "$(cat err$i)" "fetch-page: $TLS_MERCURY: SSL certificate problem: self-signed certificate"
	done
	run reads ca-certificates.crt default.trace
	assert_output 1
	PAGEPULL_NO_KEEPALIVE=1 run -69 fetch-page -s --cacert wrong.pem --user-env MC -d x "$TLS_MERCURY"
	local alone=$output
	run -0 strace -f -qq -e trace=openat -o wrong.trace fetch-keeper -P 4 --cacert wrong.pem -- \
		bash -c "$four" "$TLS_MERCURY" --cacert wrong.pem
	assert_output "69 69 69 69"
	for i in 1 2 3 4; do assert_equal "$(cat err$i)" "$alone"; done
	run reads wrong.pem wrong.trace
	assert_output 1
}

# same_tls KEEPER_ARGS -- ARGS…: fetch-page ARGS against the https emulator, alone and served
# by fetch-keeper KEEPER_ARGS: the same status, stdout, stderr.
same_tls() {
	local a=0 k=0 kargs=()
	while [ "$1" != -- ]; do kargs+=("$1"); shift; done
	shift
	PAGEPULL_NO_KEEPALIVE=1 fetch-page "$@" "$TLS_MERCURY" >alone.out 2>alone.err </dev/null || a=$?
	fetch-keeper "${kargs[@]}" -- fetch-page "$@" "$TLS_MERCURY" >kept.out 2>kept.err </dev/null || k=$?
	[ "$a" -eq "$k" ] || fail "exit $a alone, $k with a keeper: fetch-page $*"
	cmp alone.out kept.out || fail "stdout differs: fetch-page $*"
	diff alone.err kept.err || fail "stderr differs: fetch-page $*"
	echo "$k"
}

@test "fetch-keeper: -k, another --cacert or none, a missing one: as alone, whatever CA the keeper loaded; no connection verified by one CA serves another" {
	wrong_ca
	tls_start
	printf '<x/>' >body
	local ok=(--user-env MC --soap-action GetProductByTypeList -d @body)
	for keeper in "--cacert wrong.pem" "--cacert cert.pem" ""; do
		run -0 same_tls $keeper -- -s -k "${ok[@]}"
		assert_output 0
		run -0 same_tls $keeper -- -s --cacert cert.pem "${ok[@]}"
		assert_output 0
		run -0 same_tls $keeper -- -s --cacert wrong.pem "${ok[@]}"
		assert_output 69
		run -0 same_tls $keeper -- -s "${ok[@]}"
		assert_output 69
		run -0 same_tls $keeper -- -s --cacert no-such.pem "${ok[@]}"
		assert_output 69
	done
	# -v: libcurl loads the CA itself, and its trace says so, as alone
	fetch-keeper --cacert cert.pem -- fetch-page -v -s --cacert cert.pem "${ok[@]}" "$TLS_MERCURY" >/dev/null 2>err
	run grep -c '^\*  CAfile: cert.pem$' err
	assert_output 1
	# one worker, one connection at a time: each page verified by its own CA, whichever
	# verified the connection before it
	local seq='for ca in cert.pem wrong.pem cert.pem "" cert.pem; do
		fetch-page -s ${ca:+--cacert "$ca"} "$@" "$0" >/dev/null 2>&1; printf "%s " $?; done'
	for keeper in "--cacert wrong.pem" "--cacert cert.pem" ""; do
		run -0 fetch-keeper $keeper -- bash -c "$seq" "$TLS_MERCURY" "${ok[@]}"
		assert_output "0 69 0 69 0 "
	done
}

@test "fetch-keeper: PAGEPULL_CACERT names the run's CA for a keeper started without --cacert (paginate's): a pipeline's --cacert read once, no other CA file" {
	[ -z "${PAGEPULL_SANITIZED:-}" ] || skip "LeakSanitizer does not run under strace"
	tls_start --datamill-records 300 --latency 100
	PAGEPULL_NO_KEEPALIVE=1 datamill-cursor --base-url "$TLS/datamill" --cacert cert.pem -q -o alone
	[ "$(count alone)" -eq 300 ]
	strace -f -qq -e trace=openat -o dm.trace \
		datamill-cursor --base-url "$TLS/datamill" --cacert cert.pem -q -o kept
	cmp alone kept
	run reads cert.pem dm.trace
	assert_output 1
	run reads ca-certificates.crt dm.trace
	assert_output 0
	# the variable for a keeper of one's own: four pages at once, four workers
	printf '<x/>' >body
	run -0 strace -f -qq -e trace=openat -o env.trace env PAGEPULL_CACERT=cert.pem fetch-keeper -P 4 -- bash -c '
		for i in 1 2 3 4; do
			fetch-page -s --cacert cert.pem --user-env MC --soap-action GetProductByTypeList \
				-d @body "$0" >/dev/null & pids+=($!)
		done
		st=; for p in "${pids[@]}"; do wait $p; st="$st $?"; done; echo $st' "$TLS_MERCURY"
	assert_output "0 0 0 0"
	run reads cert.pem env.trace
	assert_output 1
	run reads ca-certificates.crt env.trace
	assert_output 0
}

# killed_in_retry_wait [ARG…]: under a keeper of one worker, a Mercury fetch-page (with ARGs)
# killed -9 once its first request is in the emulator's log (a fault makes it wait out a
# Retry-After), then a second fetch-page, served once the first one's exchange has ended;
# the output is "second: STATUS".
killed_in_retry_wait() {
	printf '<x/>' >body
	run -0 --separate-stderr fetch-keeper -- bash -c '
		url=$1 emu=$2
		shift 2
		fetch-page -s --retry 1 --max-retry-after 60 --user-env MC --soap-action GetProductByTypeList \
			"$@" -d @body "$url" >/dev/null 2>&1 & pid=$!
		for _ in $(seq 200); do [ "$(curl -fsS "$emu/_emulator/log" | wc -l)" -ge 1 ] && break; sleep 0.05; done
		kill -9 $pid
		wait $pid 2>/dev/null
		timeout 20 fetch-page -s --user-env MC --soap-action GetProductByTypeList -d @body "$url" >/dev/null
		echo "second: $?"' _ "$MERCURY" "$EMU" "$@"
}

@test "fetch-keeper: a page killed while its exchange waits out a Retry-After takes the retry with it: no request for it after its end, its worker free at once" {
	# Alone, the killed process would have made no retry. The worker (one: -P 1) must not
	# sleep 30 s for nobody, then make the request (after a pipeline's logout, say).
	fault 'api=mercury&kind=http&status=503&retry_after=30&on=1'
	killed_in_retry_wait
	assert_output "second: 0"
	[ "$(emu_ctl log | jq -s length)" -eq 2 ]
	[ "$(emu_ctl faults | jq '.[0].fired')" -eq 1 ]
}

@test "fetch-keeper: a page killed mid-exchange leaves no --meta-out and no -o behind, as alone" {
	fault 'api=mercury&kind=http&status=503&retry_after=2&on=1'
	killed_in_retry_wait --meta-out "$PWD/meta" -o "$PWD/out"
	assert_output "second: 0"
	[ ! -e meta ]
	[ ! -e out ]
	assert_equal "$(ls -A | grep -E '^\.?(out|meta)' || true)" ""	# nor their temporary files
}

