#!/usr/bin/env bats
# fetch-page against the API emulator: every status and fault class, retries and
# Retry-After, SOAP faults as answers, TLS, secrets kept out of ps and stderr, -o
# atomicity, --meta-out, and the output rules (/dev/full, | head). A tiny fixture server
# (tests/fixtures/fetch-page/server.py) gives what the emulator does not: gzip,
# Set-Cookie, a Fault in a non-XML 500, and a large body.
load helpers
bats_require_minimum_version 1.5.0

FX="$FIX/fetch-page"
BOX=b7c5d2a0-6f1e-4c3b-9a8d-2e5f7a9c1b3d

setup_file() {
	emu_start
	"$ROOT/tests/fixtures/fetch-page/server.py" >"$BATS_FILE_TMPDIR/fx.out" 2>/dev/null </dev/null 3>&- &
	echo $! >"$BATS_FILE_TMPDIR/fx.pid"
	for i in $(seq 1 100); do
		[ -s "$BATS_FILE_TMPDIR/fx.out" ] && break
		sleep 0.05
	done
}

teardown_file() {
	emu_stop
	kill "$(cat "$BATS_FILE_TMPDIR/fx.pid")" 2>/dev/null || true
}

setup() {
	export FXU; FXU=$(head -n 1 "$BATS_FILE_TMPDIR/fx.out")
	export MERCURY="$EMU/platform/services/2.0/ProductService"
	export DV="$EMU/DocsVision/StorageServer/StorageServerService.asmx"
	export EVENTS="$EMU/V2/GetDocflowEvents?boxId=$BOX"
	export MC=mercury:mercury-secret
	export DA='DiadocAuth ddauth_api_client_id=pagepull-demo,ddauth_token=diadoc-secret-token'
	emu_ctl reset -X POST >/dev/null
	cd "$BATS_TEST_TMPDIR"
}

fault() { emu_ctl "faults?$1" -X POST >/dev/null; }

# A Mercury page of 3 products (SOAP over Basic auth from the environment).
merc() { fetch-page --user-env MC --soap-action GetProductByTypeList -d @"$FX/mercury.xml" "$@" "$MERCURY"; }
export -f merc
export FX

events_req() { printf 'Filter { }\nLimit: 2\n' |
	protoc --encode=Diadoc.Api.Proto.Docflow.GetDocflowEventsRequest -I"$ROOT/pipelines/proto" DiadocDocflow.proto; }

# The number of products on a Mercury page (prefixes vary: match local names).
products() { xmllint --xpath 'count(//*[local-name()="product"])' - 2>/dev/null || echo none; }

# The Mercury page, as curl gets it; close and stall faults send half of it.
page() { curl -fsS -u "$MC" -H 'SOAPAction: GetProductByTypeList' --data-binary @"$FX/mercury.xml" "$MERCURY"; }

teardown() {
	[ -z "${BG_PIDS:-}" ] || kill $BG_PIDS 2>/dev/null || true
}

@test "fetch-page: --help prints the synopsis on stdout" {
	run --separate-stderr fetch-page --help
	assert_success
	assert_line --index 0 'usage: fetch-page [-kLnsv] [-A agent] [-d data] [-H header] [-m seconds] [-o file]'
	assert_equal "$stderr" ""
}

@test "fetch-page: --version" {
	run fetch-page --version
	assert_success
	assert_output "fetch-page 0.1.0"
}

@test "fetch-page: usage errors exit 2" {
	run fetch-page
	assert_failure 2
	run fetch-page --no-such-option "$MERCURY"
	assert_failure 2
	run --separate-stderr fetch-page ftp://example.com/
	assert_failure 2
	assert_equal "${stderr_lines[0]}" "fetch-page: ftp://example.com/: not an http or https URL"
	run --separate-stderr fetch-page --header-env Authorization=NO_SUCH_VAR_FP "$MERCURY"
	assert_failure 2
	assert_equal "$stderr" "fetch-page: --header-env: environment variable NO_SUCH_VAR_FP is not set"
	run fetch-page -d x --form a=b "$MERCURY"
	assert_failure 2
	run fetch-page --soap-action X "$MERCURY"
	assert_failure 2
	run fetch-page --retry many "$MERCURY"
	assert_failure 2
	run fetch-page -H 'no colon' "$MERCURY"
	assert_failure 2
}

@test "fetch-page: numbers are digits only, one grammar with paginate and the pipelines (lib/args.c)" {
	# strtol and strtod took a sign, leading blanks and exponents: each was a request
	for n in +2 ' 2'; do
		run --separate-stderr fetch-page --retry "$n" "http://127.0.0.1:1/"
		assert_failure 2
		assert_equal "${stderr_lines[0]}" "fetch-page: --retry: not a valid count"
	done
	for s in 1e1 ' 1' +1 .5 0x10; do
		run --separate-stderr fetch-page --retry-delay "$s" "http://127.0.0.1:1/"
		assert_failure 2
		assert_equal "${stderr_lines[0]}" "fetch-page: --retry-delay: not a number of seconds"
	done
	run --separate-stderr fetch-page --retry 1001 "http://127.0.0.1:1/"
	assert_equal "${stderr_lines[0]}" "fetch-page: --retry: not a valid count"
}

@test "fetch-page: 200 streams the body to stdout, byte for byte as curl gets it" {
	curl -fsS -u "$MC" -H 'SOAPAction: GetProductByTypeList' -H 'Content-Type: text/xml; charset=utf-8' \
		--data-binary @"$FX/mercury.xml" "$MERCURY" >want.xml
	run --separate-stderr merc
	assert_success
	assert_equal "$stderr" ""
	assert_output "$(cat want.xml)"
	assert_equal "$(products <want.xml)" 3
}

@test "fetch-page: 401 is permanent (69) with the status and the body on one line" {
	run --separate-stderr fetch-page --soap-action GetProductByTypeList -d @"$FX/mercury.xml" "$MERCURY"
	assert_failure 69
	assert_output ""
	assert_equal "$stderr" "fetch-page: $MERCURY: HTTP 401 Unauthorized; body: Unauthorized"
}

@test "fetch-page: a 4xx shows the API's error headers; a binary body goes from stdin" {
	events_req >req.bin
	run --separate-stderr fetch-page -H 'Authorization: Bearer wrong' -d @- "$EVENTS" <req.bin
	assert_failure 69
	assert_equal "$stderr" "fetch-page: $EVENTS: HTTP 401 Unauthorized; X-Diadoc-ErrorCode: Http.Unauthorized; body: Authorization header is missing or invalid"
	fetch-page --header-env Authorization=DA -d @- "$EVENTS" <req.bin >resp.bin
	run bash -c "protoc --decode=Diadoc.Api.Proto.Docflow.GetDocflowEventsResponse -I'$ROOT/pipelines/proto' DiadocDocflow.proto <resp.bin | grep -c '^Events {'"
	assert_output 2
}

@test "fetch-page: 404, 418 and a 3xx without -L are permanent (69)" {
	run --separate-stderr fetch-page "$EMU/no/such/path"
	assert_failure 69
	assert_equal "$stderr" "fetch-page: $EMU/no/such/path: HTTP 404 Not Found; body: Not Found: /no/such/path"
	fault 'api=mercury&kind=http&status=418&on=1'
	run merc --retry 3 --retry-delay 0
	assert_failure 69
	fault 'api=mercury&kind=http&status=301&on=1'
	run --separate-stderr merc
	assert_failure 69
	assert_equal "$stderr" "fetch-page: $MERCURY: HTTP 301 Moved Permanently; body: 301 Moved Permanently (injected) (-L follows redirects)"
}

@test "fetch-page: 408, 429, 500, 502, 503 are temporary (75) without --retry" {
	for s in 408 429 500 502 503; do
		emu_ctl faults -X DELETE >/dev/null
		fault "api=mercury&kind=http&status=$s&on=1"
		run --separate-stderr merc
		assert_failure 75
		assert_output ""
	done
	assert_equal "$stderr" "fetch-page: $MERCURY: HTTP 503 Service Unavailable; body: 503 Service Unavailable (injected)"
}

@test "fetch-page: each temporary status is retried and then succeeds" {
	for s in 408 429 500 502 503; do
		emu_ctl faults -X DELETE >/dev/null
		fault "api=mercury&kind=http&status=$s&on=1"
		run --separate-stderr merc --retry 1 --retry-delay 0
		assert_success
		assert_equal "$(products <<<"$output")" 3
	done
	assert_equal "$stderr" "fetch-page: $MERCURY: HTTP 503 Service Unavailable; body: 503 Service Unavailable (injected); retry 1 of 1 in 0.0 s"
}

@test "fetch-page: retries stop after --retry N with exit 75; -s keeps the notices quiet" {
	fault 'api=mercury&kind=http&status=503&on=1,2,3'
	run --separate-stderr merc -s --retry 2 --retry-delay 0
	assert_failure 75
	assert_equal "$stderr" "fetch-page: $MERCURY: HTTP 503 Service Unavailable; body: 503 Service Unavailable (injected); gave up after 3 attempts"
	run bash -c "curl -fsS '$EMU/_emulator/log' | jq -s '[.[] | select(.api == \"mercury\")] | length'"
	assert_output 3
}

@test "fetch-page: Retry-After in seconds is honoured" {
	fault 'api=mercury&kind=http&status=429&retry_after=1&on=1'
	run merc --retry 1 --retry-delay 0 --meta-out meta.json
	assert_success
	run jq -c '[.status, .attempts, .retry_wait, .exit]' meta.json
	assert_output '[200,2,1,0]'
}

@test "fetch-page: Retry-After as an HTTP-date is honoured and capped by --max-retry-after" {
	fault 'api=mercury&kind=http&status=503&retry_after=date:2&on=1'
	run merc --retry 1 --retry-delay 0 --meta-out meta.json
	assert_success
	run jq -c '[.attempts, .retry_wait >= 1 and .retry_wait <= 2]' meta.json
	assert_output '[2,true]'
	emu_ctl faults -X DELETE >/dev/null
	fault 'api=mercury&kind=http&status=503&retry_after=date:3600&on=1'
	run --separate-stderr merc --retry 1 --retry-delay 0 --max-retry-after 1 --meta-out meta.json
	assert_success
	run jq -c '[.attempts, .retry_wait]' meta.json
	assert_output '[2,1]'
}

@test "fetch-page: --retry-max-time stops a retry that would start too late" {
	fault 'api=mercury&kind=http&status=503&retry_after=30&on=1'
	run --separate-stderr merc --retry 3 --retry-max-time 5
	assert_failure 75
	assert_equal "$stderr" "fetch-page: $MERCURY: HTTP 503 Service Unavailable; body: 503 Service Unavailable (injected)"
}

@test "fetch-page: a refused connection is temporary (75), and retried until the port is back" {
	run --separate-stderr fetch-page --connect-timeout 5 http://127.0.0.1:1/
	assert_failure 75
	assert_output ""
	fault 'api=mercury&kind=refuse&seconds=1&on=1'
	run merc --retry 8 --retry-delay 0.3 --max-retry-after 0.5 -s
	assert_success
	assert_equal "$(products <<<"$output")" 3
}

@test "fetch-page: a connection closed mid-body after bytes went out exits 75, not retried" {
	len=$(page | wc -c) half=$((len / 2))
	fault 'api=mercury&kind=close&on=1'
	run --separate-stderr bash -c 'merc --retry 3 --retry-delay 0 >out'
	assert_failure 75
	assert_equal "$stderr" "fetch-page: $MERCURY: transfer closed with $((len - half)) bytes remaining to read; $half body bytes already written, not retried"
	assert_equal "$(wc -c <out)" "$half"
}

@test "fetch-page: with -o a broken transfer is retried from the start" {
	fault 'api=mercury&kind=close&on=1'
	run merc --retry 1 --retry-delay 0 -o page.xml -s
	assert_success
	assert_output ""
	assert_equal "$(products <page.xml)" 3
	run bash -c 'ls -A | grep -c page.xml'
	assert_output 1
}

@test "fetch-page: a stall past --stall-time is temporary (75)" {
	half=$(( $(page | wc -c) / 2 ))
	fault 'api=mercury&kind=stall&seconds=4&on=1'
	run --separate-stderr bash -c 'merc --stall-time 1 >out'
	assert_failure 75
	assert_equal "$stderr" "fetch-page: $MERCURY: stalled: no data for 1 s; $half body bytes already written, not retried"
	assert_equal "$(wc -c <out)" "$half"
	fault 'api=mercury&kind=stall&seconds=4&on=1'
	run --separate-stderr merc -m 1
	assert_failure 75
}

@test "fetch-page: a SOAP Fault in a text/xml 500 is an answer: body on stdout, exit 0" {
	fault 'api=mercury&kind=soap_fault&name=offsetOutOfRangeFault&on=1'
	run --separate-stderr merc --retry 3
	assert_success
	assert_equal "$stderr" ""
	assert_line --index 2 '<soapenv:Fault>'
	assert_output --partial '<ws:offsetOutOfRangeFault '
}

@test "fetch-page: DocsVision gets its quoted SOAPAction and text/xml, and its Fault is an answer" {
	export DVC=docsvision:dv-secret
	action='"http://schemas.docsvision.com/Platform/2009-02-03/StorageServer/CursorClose"'
	run --separate-stderr fetch-page -v --user-env DVC --soap-action "$action" -d @"$FX/dv-close.xml" "$DV"
	assert_success
	assert_output --partial '<faultstring>'
	assert_equal "$(grep -c '^> SOAPAction: "http://schemas.docsvision.com/Platform/2009-02-03/StorageServer/CursorClose"$' <<<"$stderr")" 1
	assert_equal "$(grep -c '^> Content-Type: text/xml; charset=utf-8$' <<<"$stderr")" 1
	run --separate-stderr fetch-page -v --user-env DVC -H 'Content-Type: application/soap+xml' \
		--soap-action "$action" -d @"$FX/dv-close.xml" "$DV"
	assert_equal "$(grep -ci '^> Content-Type:' <<<"$stderr")" 1
}

@test "fetch-page: --ntlm, --anyauth, --basic: NTLMv2 on one kept-alive connection; the password nowhere" {
	emu_ctl 'reset?docsvision_auth=ntlm' -X POST >/dev/null
	local action='"http://schemas.docsvision.com/Platform/2009-02-03/StorageServer/CursorClose"' a
	export DVC='EMULATOR\docsvision:dv-secret'
	for a in --ntlm --anyauth '--basic --ntlm'; do
		# shellcheck disable=SC2086
		run --separate-stderr fetch-page -v $a --user-env DVC --soap-action "$action" -d @"$FX/dv-close.xml" "$DV"
		assert_success
		assert_output --partial '<faultstring>Cursor not found</faultstring>'
		# negotiate, challenge, authenticate: the last two on the one connection
		# (several methods: first a request without credentials, to learn the server's)
		assert_equal "$(grep -c '^< HTTP/1.1 401' <<<"$stderr")" "$([ "$a" = --ntlm ] && echo 1 || echo 2)"
		assert_equal "$(grep -c '^\* Connected to' <<<"$stderr")" 1
		refute_output --partial 'dv-secret'
		[[ $stderr != *dv-secret* && $stderr != *TlRMTVNTUAAD* ]]
	done
	for a in --basic --negotiate; do
		run --separate-stderr fetch-page "$a" --user-env DVC --soap-action "$action" -d @"$FX/dv-close.xml" "$DV"
		assert_failure 69
	done
	export DVC='docsvision:wrong-Secret'
	run --separate-stderr fetch-page -v --ntlm --user-env DVC --soap-action "$action" -d @"$FX/dv-close.xml" "$DV"
	assert_failure 69
	assert_equal "$(tail -n 1 <<<"$stderr")" "fetch-page: $DV: HTTP 401 Unauthorized; body: Unauthorized; check the credentials in DVC"
	[[ $stderr != *wrong-Secret* ]]
	# the three that authenticated reached the service; 401s are not requests of the API
	assert_equal "$(emu_ctl 'log?api=docsvision' | jq -s length)" 3
}

@test "fetch-page: --soap takes a Fault from a 500 whatever its Content-Type" {
	run --separate-stderr fetch-page "$FXU/fault-html"
	assert_failure 75
	run --separate-stderr fetch-page --soap "$FXU/fault-html"
	assert_success
	assert_output --partial '<soap:Fault><faultcode>soap:Server</faultcode>'
}

@test "fetch-page: --compressed decodes gzip" {
	run fetch-page --compressed --meta-out meta.json --meta-header Content-Encoding "$FXU/gzip"
	assert_success
	assert_equal "$output" "$(yes 'compressed hello' | head -n 200)"
	run jq -c '[.headers, .bytes]' meta.json
	assert_output '[{"content-encoding":"gzip"},3400]'
}

@test "fetch-page: -L follows a redirect; without it a 302 is permanent (69)" {
	run --separate-stderr fetch-page "$FXU/redirect"
	assert_failure 69
	assert_equal "$stderr" "fetch-page: $FXU/redirect: HTTP 302 Found; body: moved (-L follows redirects)"
	run fetch-page -L --meta-out meta.json "$FXU/redirect"
	assert_success
	assert_equal "$output" "$(yes 'compressed hello' | head -n 200)"
	run jq -r .url meta.json
	assert_output "$FXU/gzip"
}

@test "fetch-page: --progress shows bytes and rate on a terminal, nothing elsewhere" {
	run script -qec "fetch-page --progress -o /dev/null '$FXU/big?mib=8'" /dev/null
	assert_success
	assert_output --partial "fetch-page: 8.0 MiB of 8.0 MiB"
	run --separate-stderr fetch-page --progress -o /dev/null "$FXU/big?mib=8"
	assert_success
	assert_equal "$stderr" ""
}

@test "fetch-page: TLS verified with --cacert, refused (69) without it, -k explicit" {
	"$ROOT/tests/emulator/run" --tls --tls-cert cert.pem >tls.out 2>tls.err </dev/null 3>&- &
	BG_PIDS=$!
	for i in $(seq 1 100); do [ -s tls.out ] && break; sleep 0.05; done
	url="$(head -n 1 tls.out)/platform/services/2.0/ProductService"
	run fetch-page --cacert cert.pem --user-env MC --soap-action GetProductByTypeList -d @"$FX/mercury.xml" "$url"
	assert_success
	assert_equal "$(products <<<"$output")" 3
	run --separate-stderr fetch-page --retry 2 --user-env MC -d @"$FX/mercury.xml" "$url"
	assert_failure 69
	assert_output ""
	assert_equal "$stderr" "fetch-page: $url: SSL certificate problem: self-signed certificate"
	run fetch-page -k --user-env MC --soap-action GetProductByTypeList -d @"$FX/mercury.xml" "$url"
	assert_success
}

@test "fetch-page: secrets from the environment and -H never show in ps" {
	export DV_SECRET=dv-secret-in-env
	fault 'api=mercury&kind=stall&seconds=3&on=1,2'
	fetch-page --header-env Authorization=DA -d @"$FX/mercury.xml" -m 10 "$MERCURY" >/dev/null 2>&1 3>&- &
	p1=$!
	fetch-page -H 'Authorization: Basic bWVyY3VyeTptZXJjdXJ5LXNlY3JldA==' -d @"$FX/mercury.xml" -m 10 "$MERCURY" >/dev/null 2>&1 3>&- &
	p2=$!
	BG_PIDS="$p1 $p2"
	sleep 1
	run ps -o args= -p "$p1,$p2"
	assert_equal "${#lines[@]}" 2
	refute_output --partial diadoc-secret-token
	refute_output --partial bWVyY3VyeTptZXJjdXJ5LXNlY3JldA
	assert_output --partial 'Authorization=DA'
}

@test "fetch-page: -v redacts Authorization, Cookie, Set-Cookie, env headers, userinfo, token parameters" {
	export API_KEY=key-secret
	run --separate-stderr fetch-page -v --header-env Authorization=DA -H 'Cookie: sid=cookie-secret' \
		--header-env X-Api-Key=API_KEY \
		-H 'Proxy-Authorization: Basic proxy-secret' --query access_token=query-secret \
		"http://user:url-secret@${FXU#http://}/cookie"
	assert_success
	assert_output "ok"
	for s in diadoc-secret-token cookie-secret proxy-secret query-secret url-secret key-secret; do
		refute_output --partial "$s"
		[[ "$stderr" != *"$s"* ]] || fail "$s on stderr"
	done
	assert_equal "$(grep -c '^> Authorization: \[redacted\]$' <<<"$stderr")" 1
	assert_equal "$(grep -c '^> X-Api-Key: \[redacted\]$' <<<"$stderr")" 1
	assert_equal "$(grep -c '^< Set-Cookie: \[redacted\]$' <<<"$stderr")" 1
	assert_equal "$(grep -c '^> GET /cookie?access_token=REDACTED HTTP/1.1$' <<<"$stderr")" 1
}

@test "fetch-page: error lines keep the URL's credentials out" {
	run --separate-stderr fetch-page "http://u:url-secret@127.0.0.1:1/x?token=t0k&boxId=1#frag"
	assert_failure 75
	assert_equal "${stderr%%: Failed*}" "fetch-page: http://127.0.0.1:1/x?token=REDACTED&boxId=1"
}

@test "fetch-page: -H @FILE, --netrc-file and --query/--form reach the server" {
	printf 'Authorization: %s\r\n\r\n' "$DA" >hdrs
	events_req | fetch-page -H @hdrs -d @- "$EVENTS" >/dev/null
	printf 'machine 127.0.0.1\nlogin mercury\npassword mercury-secret\n' >netrc
	run fetch-page --netrc-file netrc --soap-action GetProductByTypeList -d @"$FX/mercury.xml" "$MERCURY"
	assert_success
	assert_equal "$(products <<<"$output")" 3
	q='<query class="TWorker"><item part="0" name="LastName"/></query>'
	fetch-page --query "query=$q" --query 'x=a b&c' "$EMU/datamill/cursor.json" >/dev/null
	fetch-page --form "query=$q" "$EMU/datamill/cursor.xml" >/dev/null
	run bash -c "curl -fsS '$EMU/_emulator/log' | jq -r 'select(.api == \"datamill\") | .method + \" \" + .params.query'"
	assert_output - <<-EOF
	GET $q
	POST $q
	EOF
}

@test "fetch-page: -o replaces the file only on success, leaving no temporary behind" {
	echo old >page.xml
	chmod 600 page.xml
	run merc -o page.xml
	assert_success
	assert_equal "$(products <page.xml)" 3
	assert_equal "$(stat -c %a page.xml)" "$(printf '%o' $((0666 & ~$(umask))))"
	echo old >page.xml
	fault 'api=mercury&kind=close&on=1'
	run merc -o page.xml
	assert_failure 75
	assert_equal "$(cat page.xml)" old
	fault 'api=mercury&kind=http&status=404&on=1'
	run merc -o page.xml
	assert_failure 69
	assert_equal "$(cat page.xml)" old
	run ls -A
	assert_output "page.xml"
}

@test "fetch-page: --meta-out records status, chosen headers, bytes and the error" {
	run fetch-page -H 'Authorization: Bearer wrong' -d x --meta-out meta.json \
		--meta-header X-Diadoc-ErrorCode --meta-header Content-Type --meta-header X-Absent "$EVENTS"
	assert_failure 69
	run jq -c '[.url, .status, .http_version, .headers, .bytes, .attempts, .exit, .error]' meta.json
	assert_output "[\"$EVENTS\",401,\"1.1\",{\"x-diadoc-errorcode\":\"Http.Unauthorized\",\"content-type\":\"text/plain; charset=utf-8\"},0,1,69,\"HTTP 401 Unauthorized; X-Diadoc-ErrorCode: Http.Unauthorized; body: Authorization header is missing or invalid\"]"
	merc --meta-out meta.json >out
	run jq -c --argjson n "$(wc -c <out)" '[.status, .content_type, .bytes == $n, (.time.total > 0), .exit]' meta.json
	assert_output '[200,"text/xml; charset=utf-8",true,true,0]'
}

@test "fetch-page: >/dev/full exits 74" {
	run --separate-stderr bash -c 'merc >/dev/full'
	assert_failure 74
	assert_equal "$stderr" "fetch-page: <stdout>: No space left on device"
}

@test "fetch-page: | head -c 10 ends it quietly" {
	run --separate-stderr bash -c 'set -o pipefail; fetch-page "$0/big?mib=64" | head -c 10' "$FXU"
	assert_equal "$status" 141
	assert_output "xxxxxxxxxx"
	assert_equal "$stderr" ""
}

@test "fetch-page: memory stays flat for a 256 MiB body" {
	! grep -q __asan_init "$(command -v fetch-page)" || skip "a sanitizer build: its shadow memory is not ours"
	run peak_rss_kib fetch-page "$FXU/big?mib=256"
	[ "$output" -lt 16384 ] || fail "peak RSS $output KiB"
}

# ---- variables (curl's --variable and --expand-*) ---------------------------------------------

@test "fetch-page: --variable and --expand-data/-url/-query/-header build the request from the environment" {
	export PAGE_OFFSET=40 TOK=' a b&"ü '
	run --separate-stderr fetch-page --variable %PAGE_OFFSET --variable %TOK --variable 'n=5' \
		--expand-data '<offset>{{PAGE_OFFSET}}</offset><count>{{n}}</count>' \
		--expand-query 'q={{TOK:trim}}' --expand-header 'X-Token: {{TOK:trim:b64}}' \
		--expand-url "$FXU/echo?from={{PAGE_OFFSET}}"
	assert_success
	[ -z "$stderr" ]
	run jq -r '.method, .path, .body, .headers["x-token"]' <<<"$output"
	assert_output 'POST
/echo?from=40&q=a%20b%26%22%c3%bc
<offset>40</offset><count>5</count>
YSBiJiLDvA=='
}

@test "fetch-page: expansion functions trim, json, url, b64, 64dec; unknown names are empty; \\{{ is literal" {
	export V=$' tab\t"q" ü/&= '
	run --separate-stderr fetch-page --variable %V --variable 'e=aGk=' --variable '%UNSET_HERE=dflt' \
		--expand-data '[{{V:trim}}] [{{V:json}}] [{{V:trim:url}}] [{{V:b64}}] [{{e:64dec}}] [{{UNSET_HERE}}] [{{nope}}] \{{V}} {{V' \
		"$FXU/echo"
	assert_success
	run jq -r .body <<<"$output"
	assert_output "[tab	\"q\" ü/&=] [ tab\\t\\\"q\\\" ü/&= ] [tab%09%22q%22%20%C3%BC%2F%26%3D] [IHRhYgkicSIgw7wvJj0g] [hi] [dflt] [] {{V}} {{V"
}

@test "fetch-page: --variable NAME@FILE and @- read the content; an expanded -d @FILE reads the file" {
	printf 'from a file\n' >var.txt
	printf '<body/>' >body.xml
	run --separate-stderr bash -c 'printf stdin-content | fetch-page --variable f@var.txt --variable s@- \
		--expand-header "X-F: {{f:trim}}" --expand-header "X-S: {{s}}" --variable b=body.xml --expand-data @{{b}} "$0/echo"' "$FXU"
	assert_success
	run jq -r '.headers["x-f"], .headers["x-s"], .body' <<<"$output"
	assert_output $'from a file\nstdin-content\n<body/>'
}

@test "fetch-page: variable errors are usage errors naming the variable, never its value" {
	unset NOT_SET_ANYWHERE
	run --separate-stderr fetch-page --variable %NOT_SET_ANYWHERE "$FXU/echo"
	assert_failure 2
	[ "${stderr%%$'\n'*}" = "fetch-page: --variable: NOT_SET_ANYWHERE: the environment variable is not set" ]
	[ -z "$output" ]
	run --separate-stderr fetch-page --variable 'bad-name=s3cret' "$FXU/echo"
	assert_failure 2
	[[ "$stderr" == "fetch-page: --variable: bad-name: expected NAME=text"* ]]
	[[ "$stderr" != *s3cret* ]]
	run --separate-stderr fetch-page --variable 'x=1' --expand-data '{{x:upper}}' "$FXU/echo"
	assert_failure 2
	[[ "$stderr" == "fetch-page: --expand-data: unknown function (trim, json, jsonval, url, b64, 64dec)"* ]]
	printf 'a\0b' >nul.bin
	run --separate-stderr fetch-page --variable 'z@nul.bin' --expand-data '{{z}}' "$FXU/echo"
	assert_failure 2
	[[ "$stderr" == "fetch-page: --expand-data: the content holds a NUL byte: encode it (:b64, :url or :json)"* ]]
	run --separate-stderr fetch-page --variable 'z@nul.bin' --expand-data '{{z:b64}}' "$FXU/echo"
	assert_success
	run --separate-stderr fetch-page --expand-url "$FXU/echo" "$FXU/echo"
	assert_failure 2
}

@test "fetch-page: a header that took a variable is redacted in -v" {
	export TOKEN=var-secret-token
	run --separate-stderr fetch-page -v --variable %TOKEN --expand-header 'X-Api-Key: {{TOKEN}}' "$FXU/echo"
	assert_success
	[[ "$stderr" != *var-secret-token* ]]
	[[ "$stderr" == *"X-Api-Key:"* ]]
	run jq -r '.headers["x-api-key"]' <<<"$output"
	assert_output var-secret-token
}

@test "fetch-page: --expect-type: the media type alone, any case, several; another type is 69 with its first bytes" {
	merc --expect-type TEXT/XML >a.xml
	merc --expect-type 'application/json,text/*' >b.xml
	merc --expect-type '*/*' --expect-type '!application/json' >c.xml
	[ "$(products <a.xml)$(products <b.xml)$(products <c.xml)" = 333 ]
	run --separate-stderr merc --expect-type application/json --expect-type '!text/plain' -o page.xml
	assert_failure 69
	assert_output ""
	[ ! -e page.xml ]
	assert_equal "$stderr" "fetch-page: $MERCURY: HTTP 200 with Content-Type text/xml; charset=utf-8, expected application/json, not text/plain; first bytes: \"<soapenv:Envelope xmlns:soapenv=\\\"http://schemas.\"..."
	run --separate-stderr merc --expect-type '!text/*'
	assert_failure 69
	run -2 fetch-page --expect-type text "$MERCURY"
	assert_line --index 0 "fetch-page: --expect-type: not a media type (type/subtype, type/*, !type/subtype)"
	run -2 fetch-page --expect-type 'text/xml,' "$MERCURY"
}

@test "fetch-page: --expect-type: a Diadoc 200 text/plain answer (x and a newline) is refused, never retried" {
	fault 'api=diadoc-events&kind=wrong_type&on=1'
	events_req >req.bin
	run --separate-stderr fetch-page --retry 3 --retry-delay 0 -H "Authorization: $DA" \
		--expect-type '!text/*' -d @- -o page.bin "$EVENTS" <req.bin
	assert_failure 69
	assert_equal "$stderr" "fetch-page: $EVENTS: HTTP 200 with Content-Type text/plain; charset=utf-8, expected not text/*; first bytes: \"x\\n\""
	[ ! -e page.bin ]
	[ "$(emu_ctl 'log?api=diadoc-events' | wc -l)" -eq 1 ]
	# the next answer is the service's own protobuf: accepted
	run -0 fetch-page -H "Authorization: $DA" --expect-type application/x-protobuf -d @- -o page.bin "$EVENTS" <req.bin
	[ -s page.bin ]
}

@test "fetch-page: proxy options: a proxy that cannot be reached is temporary (75); credentials only from the environment" {
	local port
	port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	run --separate-stderr fetch-page --proxy "127.0.0.1:$port" "$EMU/_emulator/info"
	assert_failure 75
	[[ $stderr =~ ^"fetch-page: $EMU/_emulator/info: Failed to connect to 127.0.0.1 port $port after "[0-9]+" ms: Couldn't connect to server"$ ]]
	run --separate-stderr fetch-page --proxy "http://u:hunter2@127.0.0.1:$port" "$EMU/_emulator/info"
	assert_failure 2
	assert_equal "${stderr_lines[0]}" "fetch-page: --proxy: credentials in the URL would show in ps: use --proxy-user-env"
	[[ $stderr != *hunter2* ]]
	run --separate-stderr fetch-page --proxy "127.0.0.1:$port" --proxy-user-env NO_SUCH_VAR_FP "$EMU/_emulator/info"
	assert_failure 2
	assert_equal "$stderr" "fetch-page: --proxy-user-env: environment variable NO_SUCH_VAR_FP is not set"
	PXU=no-colon run --separate-stderr fetch-page --proxy "127.0.0.1:$port" --proxy-user-env PXU "$EMU/_emulator/info"
	assert_failure 2
	assert_equal "${stderr_lines[0]}" "fetch-page: --proxy-user-env: the variable must hold user:password"
	# --noproxy '*' reaches the server directly despite the dead proxy
	run fetch-page --proxy "127.0.0.1:$port" --noproxy '*' "$EMU/_emulator/info"
	assert_success
}

@test "fetch-page: every short transfer is 75, to stdout, with -o and with --compressed" {
	"$FX/short.py" >short.url 2>/dev/null </dev/null 3>&- &
	local pid=$! i path opts
	BG_PIDS="$pid"
	for i in $(seq 1 100); do [ -s short.url ] && break; sleep 0.05; done
	local u; u=$(cat short.url)
	for path in length chunked badchunk gzip-length gzip-chunked; do
		for opts in "" "-o out" "--compressed" "--compressed -o out"; do
			run --separate-stderr fetch-page --retry 0 $opts "$u/$path"
			echo "# $path $opts: $status $stderr" >&3
			assert_failure 75
			[ ! -e out ]
		done
	done
	# a gzip stream cut in half, its Content-Length that of the half: whole for HTTP, short
	# for gzip; without --compressed the bytes are just what was sent
	run --separate-stderr fetch-page --retry 0 --compressed -o out "$u/gzip-cut"
	assert_failure 75
	assert_equal "$stderr" "fetch-page: $u/gzip-cut: the gzip stream stops before its end (a short transfer)"
	[ ! -e out ]
	run --separate-stderr fetch-page --retry 0 --compressed "$u/gzip-cut"
	assert_failure 75
	run -0 fetch-page --retry 0 -o out "$u/gzip-cut"
	[ "$(wc -c <out)" -eq "$(curl -s "$u/gzip-cut" | wc -c)" ]
	# the controls: whole answers, plain and compressed
	run -0 fetch-page --retry 0 "$u/whole"
	[ "${#output}" -eq 4099 ]
	run -0 fetch-page --retry 0 --compressed "$u/deflate"
	assert_equal "$output" "$(curl -s "$u/whole")"
	run -0 fetch-page --retry 0 --compressed "$u/deflate-raw"
	assert_equal "$output" "$(curl -s "$u/whole")"
	run -0 fetch-page --retry 0 --compressed "$FXU/gzip"
	assert_equal "$output" "$(yes 'compressed hello' | head -n 200)"
}

@test "fetch-page: --help and the man page's SYNOPSIS list the same long options, each described in the page" {
	help_matches_man fetch-page
}
