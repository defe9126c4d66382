#!/usr/bin/env bats
# Through a real HTTP proxy: Debian's tinyproxy, started on 127.0.0.1 by this file with
# BasicAuth and a password unique to the run, its log at the Connect level (one line a
# request: "Request …: GET http://…" for a proxied http URL, "CONNECT host:port" for a
# tunnel). Two emulators: plain http, and https with its own certificate (--tls), so that
# TLS through CONNECT is verified end to end. fetch-page alone and the pipelines.
load helpers
pipeline_suite

# wait_line FILE PID: until FILE has a line (or PID died).
wait_line() {
	local i
	for i in $(seq 1 200); do
		[ -s "$1" ] && return 0
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

setup_file() {
	command -v tinyproxy >/dev/null ||
		{ echo "proxy: tinyproxy is missing: make deps-test installs it" >&2; return 1; }
	local d=$BATS_FILE_TMPDIR
	PX_PASS="px-$$-$RANDOM-secret"
	PX_PORT=$(free_port)
	# tinyproxy, started as root, runs as the invoking user when the config names none;
	# its log then goes where that user can write.
	cat >"$d/tinyproxy.conf" <<-EOF
		Port $PX_PORT
		Listen 127.0.0.1
		Timeout 30
		MaxClients 50
		Allow 127.0.0.1
		LogFile "$d/tinyproxy.log"
		LogLevel Connect
		BasicAuth pxuser $PX_PASS
	EOF
	tinyproxy -d -c "$d/tinyproxy.conf" >"$d/tinyproxy.out" 2>&1 &
	echo $! >"$d/tinyproxy.pid"
	local i
	for i in $(seq 1 200); do
		(exec 3<>"/dev/tcp/127.0.0.1/$PX_PORT") 2>/dev/null && break
		sleep 0.05
	done
	PX="http://127.0.0.1:$PX_PORT"
	export PX PX_PASS PX_PORT
	export PROXY_CREDS="pxuser:$PX_PASS" PROXY_WRONG="pxuser:not-$PX_PASS"
	emu_start --records 300
	"$ROOT/tests/emulator/run" --records 300 --tls-cert "$d/cert.pem" >"$d/tls.out" 2>"$d/tls.err" &
	echo $! >"$d/tls.pid"
	wait_line "$d/tls.out" "$(cat "$d/tls.pid")" || { cat "$d/tls.err" >&2; return 1; }
	TLS=$(head -n 1 "$d/tls.out")
	CERT=$d/cert.pem
	export TLS CERT
	# the filters behind shims that log their argv, for the pipelines (PAGEPULL_BIN)
	mkdir -p "$d/shim"
	local f
	for f in "$BIN"/*; do
		printf '#!/bin/sh\nprintf "%%s " "$0" "$@" >>"%s/argv.log"; echo >>"%s/argv.log"\nexec "%s" "$@"\n' \
			"$d" "$d" "$f" >"$d/shim/${f##*/}"
		chmod +x "$d/shim/${f##*/}"
	done
}

teardown_file() {
	emu_stop
	local p
	for p in tinyproxy tls; do
		[ -f "$BATS_FILE_TMPDIR/$p.pid" ] && kill "$(cat "$BATS_FILE_TMPDIR/$p.pid")" 2>/dev/null
	done
	return 0
}

setup() {
	unset http_proxy https_proxy HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY
	cd "$BATS_TEST_TMPDIR"
}

# proxy_lines: the proxy's log lines about requests and tunnels, so far.
proxy_lines() {
	grep -E 'Request \(file descriptor [0-9]+\): ' "$BATS_FILE_TMPDIR/tinyproxy.log" |
		sed 's/.*Request (file descriptor [0-9]*): //'
}

# no_secret FILE…: the proxy's password, user:password and its base64 are in none of them.
no_secret() {
	local b64
	b64=$(printf 'pxuser:%s' "$PX_PASS" | base64 -w0)
	! grep -l -F -e "$PX_PASS" -e "$b64" "$@"
}

info_path=/_emulator/info

@test "proxy: an http URL goes through the proxy with --proxy and --proxy-user-env, the same bytes as direct" {
	local path=/_emulator/truth/mercury?productType=8 before
	fetch-page "$EMU$path" >direct
	before=$(proxy_lines | wc -l)
	run fetch-page -o via --proxy "$PX" --proxy-user-env PROXY_CREDS "$EMU$path"
	assert_success
	cmp direct via
	assert_equal "$(proxy_lines | tail -n +$((before + 1)))" "GET $EMU$path HTTP/1.1"
}

@test "proxy: an https URL goes through CONNECT, the emulator's certificate verified end to end" {
	local before
	before=$(proxy_lines | wc -l)
	run --separate-stderr fetch-page --cacert "$CERT" --proxy "$PX" --proxy-user-env PROXY_CREDS "$TLS$info_path"
	assert_success
	assert_equal "$(jq -r .base_url <<<"$output")" "$TLS"
	assert_equal "$(proxy_lines | tail -n +$((before + 1)))" "CONNECT ${TLS#https://} HTTP/1.1"
	# TLS is with the emulator, not the proxy: its certificate is not trusted without --cacert
	run --separate-stderr fetch-page --proxy "$PX" --proxy-user-env PROXY_CREDS "$TLS$info_path"
	assert_failure 69
	assert_equal "$stderr" "fetch-page: $TLS$info_path: SSL certificate problem: self-signed certificate"
}

@test "proxy: http_proxy and https_proxy from the environment, credentials in their URL, as curl takes them" {
	local before
	before=$(proxy_lines | wc -l)
	export http_proxy="http://pxuser:$PX_PASS@127.0.0.1:$PX_PORT" https_proxy="http://pxuser:$PX_PASS@127.0.0.1:$PX_PORT"
	run fetch-page -o plain "$EMU$info_path"
	assert_success
	run fetch-page -o tls --cacert "$CERT" "$TLS$info_path"
	assert_success
	assert_equal "$(jq -r .base_url plain) $(jq -r .base_url tls)" "$EMU $TLS"
	assert_equal "$(proxy_lines | tail -n +$((before + 1)))" "GET $EMU$info_path HTTP/1.1
CONNECT ${TLS#https://} HTTP/1.1"
	# the upper-case HTTP_PROXY is not curl's (CGI): an http URL then goes direct
	unset http_proxy
	before=$(proxy_lines | wc -l)
	HTTP_PROXY="$PX" run fetch-page -o direct "$EMU$info_path"
	assert_success
	assert_equal "$(proxy_lines | wc -l)" "$before"
}

@test "proxy: no credentials: exit 69 naming 407; a wrong password: 69 naming the proxy's answer; the password shown nowhere" {
	run --separate-stderr fetch-page --proxy "$PX" "$EMU$info_path"
	assert_failure 69
	[[ $stderr == "fetch-page: $EMU$info_path: HTTP 407 Proxy Authentication Required; body: "* ]]
	run --separate-stderr fetch-page --cacert "$CERT" --proxy "$PX" "$TLS$info_path"
	assert_failure 69
	assert_equal "$stderr" "fetch-page: $TLS$info_path: proxy: CONNECT answered HTTP 407 Proxy Authentication Required"
	# tinyproxy 1.11 answers a wrong password with 401, whatever the URL's scheme
	run --separate-stderr fetch-page -v --cacert "$CERT" --proxy "$PX" --proxy-user-env PROXY_WRONG "$TLS$info_path"
	assert_failure 69
	assert_equal "${stderr_lines[${#stderr_lines[@]} - 1]}" "fetch-page: $TLS$info_path: proxy: CONNECT answered HTTP 401 Unauthorized"
	printf '%s\n' "$stderr" >stderr.tls
	grep -qF '> Proxy-Authorization: [redacted]' stderr.tls
	run --separate-stderr fetch-page -v --proxy "$PX" --proxy-user-env PROXY_WRONG "$EMU$info_path"
	assert_failure 69
	printf '%s\n' "$stderr" >stderr.plain
	grep -qF "fetch-page: $EMU$info_path: HTTP 401 Unauthorized" stderr.plain
	grep -qF '> Proxy-Authorization: [redacted]' stderr.plain
	# the right password under -v, and a proxy URL with credentials in the environment
	https_proxy="http://pxuser:$PX_PASS@127.0.0.1:$PX_PORT" fetch-page -v -o /dev/null --cacert "$CERT" \
		"$TLS$info_path" 2>stderr.env
	grep -qF "* Uses proxy env variable https_proxy == 'http://127.0.0.1:$PX_PORT'" stderr.env
	fetch-page -v -o /dev/null --proxy "$PX" --proxy-user-env PROXY_CREDS "$EMU$info_path" 2>stderr.right
	no_secret stderr.tls stderr.plain stderr.env stderr.right
}

@test "proxy: no_proxy and --noproxy go around the proxy (its log unchanged, the emulator's has the request)" {
	# the proxy without credentials: a request that reached it would be a 407
	local before n proxied=(env https_proxy="$PX" http_proxy="$PX")
	before=$(proxy_lines | wc -l)
	emu_ctl log -X DELETE >/dev/null
	run "${proxied[@]}" no_proxy=127.0.0.1 fetch-page -o a "$EMU$info_path"
	assert_success
	run "${proxied[@]}" NO_PROXY=localhost,127.0.0.0/8 fetch-page -o b --cacert "$CERT" "$TLS$info_path"
	assert_success
	run "${proxied[@]}" fetch-page -o c --noproxy '*' "$EMU/platform/services/2.0/ProductService"
	assert_failure 69	# the emulator's own 401 for a request without Basic auth
	run fetch-page -o d --proxy "$PX" --noproxy 127.0.0.1 "$EMU$info_path"
	assert_success
	assert_equal "$(proxy_lines | wc -l)" "$before"
	n=$(emu_ctl log | jq -s 'map(select(.api == "mercury")) | length')
	assert_equal "$n" 1
	# and the same request without no_proxy does go to the proxy
	run "${proxied[@]}" fetch-page -o e "$EMU$info_path"
	assert_failure 69
	assert_equal "$(proxy_lines | wc -l)" "$((before + 1))"
}

@test "proxy: mercury-products over http and diadoc-events over https through the proxy: exact, every request proxied, the password in no argv, message or state" {
	export PAGEPULL_BIN=$BATS_FILE_TMPDIR/shim
	: >"$BATS_FILE_TMPDIR/argv.log"
	emu_ctl 'reset?records=300' -X POST >/dev/null
	curl -fsS --cacert "$CERT" -X POST "$TLS/_emulator/reset?records=300" >/dev/null
	local before
	before=$(proxy_lines | wc -l)
	run mercury-products --base-url "$EMU" --count 50 --state m.state -o m.ndjson \
		--proxy "$PX" --proxy-user-env PROXY_CREDS
	assert_success
	printf '%s\n' "$output" >m.stderr
	same_as_truth m.ndjson mercury
	# every Mercury request went through the proxy
	assert_equal "$(proxy_lines | tail -n +$((before + 1)) | grep -c "^POST $EMU/platform/services/2.0/ProductService ")" \
		"$(emu_ctl 'log?api=mercury' | wc -l)"
	before=$(proxy_lines | wc -l)
	run diadoc-events --base-url "$TLS" --cacert "$CERT" --box "$BOX" --state e.state -o e.ndjson \
		--proxy "$PX" --proxy-user-env PROXY_CREDS
	assert_success
	printf '%s\n' "$output" >e.stderr
	curl -fsS --cacert "$CERT" "$TLS/_emulator/truth/diadoc-events" | jq -cS . | LC_ALL=C sort >truth
	jq -cS . e.ndjson | LC_ALL=C sort >got
	cmp truth got
	# every connection the requests came on was a tunnel of the proxy: as many CONNECTs as
	# connections (one a run when fetch-keeper keeps it, one a page without it)
	assert_equal "$(proxy_lines | tail -n +$((before + 1)) | grep -c "^CONNECT ${TLS#https://} ")" \
		"$(curl -fsS --cacert "$CERT" "$TLS/_emulator/log?api=diadoc-events" | jq -s 'map(.conn) | unique | length')"
	[ "$(curl -fsS --cacert "$CERT" "$TLS/_emulator/log?api=diadoc-events" | wc -l)" -ge 2 ]
	grep -q -- '--proxy-user-env PROXY_CREDS' "$BATS_FILE_TMPDIR/argv.log"
	no_secret "$BATS_FILE_TMPDIR/argv.log" m.stderr e.stderr m.state e.state m.ndjson e.ndjson
}

@test "proxy: the pipelines take the proxy from the environment too; a wrong password exits 69 naming the status, shown nowhere" {
	export PAGEPULL_BIN=$BATS_FILE_TMPDIR/shim
	: >"$BATS_FILE_TMPDIR/argv.log"
	emu_ctl 'reset?records=300' -X POST >/dev/null
	http_proxy="http://pxuser:$PX_PASS@127.0.0.1:$PX_PORT" run datamill-cursor -q --base-url "$EMU/datamill" -o w.ndjson
	assert_success
	same_as_truth w.ndjson datamill
	run --separate-stderr docsvision-card --base-url "$EMU" --retry 0 --state c.state -o c.ndjson \
		--proxy "$PX" --proxy-user-env PROXY_WRONG "$(emu_ctl info | jq -r '.cards[] | select(.name == "small") | .id')"
	assert_failure 69
	printf '%s\n' "$stderr" >c.stderr
	grep -qF 'HTTP 401 Unauthorized' c.stderr
	[ ! -e c.ndjson ]
	run --separate-stderr diadoc-packet --base-url "$TLS" --cacert "$CERT" --box "$BOX" --packet one \
		--retry 0 --proxy "$PX" -o p.ndjson
	assert_failure 69
	printf '%s\n' "$stderr" >p.stderr
	grep -qF 'proxy: CONNECT answered HTTP 407 Proxy Authentication Required' p.stderr
	no_secret "$BATS_FILE_TMPDIR/argv.log" c.stderr p.stderr $(ls c.state* 2>/dev/null)
}

@test "proxy: --proxy with credentials in the URL is a usage error that does not repeat them" {
	run --separate-stderr fetch-page --proxy "http://pxuser:$PX_PASS@127.0.0.1:$PX_PORT" "$EMU$info_path"
	assert_failure 2
	assert_equal "${stderr_lines[0]}" "fetch-page: --proxy: credentials in the URL would show in ps: use --proxy-user-env"
	printf '%s\n' "$stderr" >fp.stderr
	run --separate-stderr mercury-products --base-url "$EMU" --proxy "pxuser:$PX_PASS@127.0.0.1:$PX_PORT"
	assert_failure 2
	assert_equal "${stderr_lines[0]}" "mercury-products: --proxy: credentials in the URL would show in ps: use --proxy-user-env"
	printf '%s\n' "$stderr" >mp.stderr
	run --separate-stderr diadoc-events --box "$BOX" --proxy-user-env NO_SUCH_PROXY_VAR
	assert_failure 2
	assert_equal "${stderr_lines[0]}" "diadoc-events: --proxy-user-env: environment variable NO_SUCH_PROXY_VAR is not set"
	no_secret fp.stderr mp.stderr
}
