#!/usr/bin/env bash
# Network latency: the pipelines across a 20 ms round trip (two network namespaces joined
# by TUN devices and netdelay, 10 ms each way; needs root, else skipped), over HTTP and
# TLS 1.3 (and a TLS 1.2 server for a few rows), against the anchors a user would compare with: one kept-alive Python
# http.client connection, and curl -K with every page in one process; also one curl
# process a page. Rows run alternately (LAT_RUNS rounds; the median is shown); the
# connections and full TLS handshakes of each run are counted from the emulator's log.
# Then the client's CPU a page on loopback (no latency), with and without the keeper.
# LAT_PAGES pages of Mercury (10 products) and of Diadoc events (100) a run.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/netns.sh"
set -uo pipefail
LAT_PAGES=${LAT_PAGES:-60}
LAT_RUNS=${LAT_RUNS:-3}
W=$BENCH_DATA/latency
mkdir -p "$W"
export MERCURY_USER=mercury MERCURY_PASSWORD=mercury-secret
export DIADOC_CLIENT_ID=pagepull-demo DIADOC_TOKEN=diadoc-secret-token
export DOCSVISION_USER=docsvision DOCSVISION_PASSWORD=dv-secret
BOX=b7c5d2a0-6f1e-4c3b-9a8d-2e5f7a9c1b3d
NS_WS=http://api.vetrf.ru/schema/cdm/registry/ws-definitions/v2
NS_BS=http://api.vetrf.ru/schema/cdm/base
NS_DT=http://api.vetrf.ru/schema/cdm/dictionary/v2
MSG=Diadoc.Api.Proto.Docflow
CLI=()	# the client's namespace, when there is one

emu_up() {	# emu_up [OPTIONS…]: the emulator (in pp-srv when there is a netns), EMU set
	"${SRV[@]}" "$BENCH_ROOT/tests/emulator/run" "$@" >"$W/emu.out" 2>"$W/emu.err" &
	EMU_PID=$!
	local i
	for i in $(seq 1 300); do [ -s "$W/emu.out" ] && break; sleep 0.1; done
	EMU=$(head -n 1 "$W/emu.out")
	[ -n "$EMU" ] || { echo "emulator did not start: $(tail -n 3 "$W/emu.err")"; return 1; }
}
emu_down() { kill "$EMU_PID" 2>/dev/null; wait "$EMU_PID" 2>/dev/null; }
ctl() { "${CLI[@]}" curl -fsS ${CA:+--cacert "$CA"} "$@"; }
reset() {
	ctl -X POST "$EMU/_emulator/reset?records=0&mercury_records=$((LAT_PAGES * 10 * 8 / 3))&diadoc_events_records=$((LAT_PAGES * 100 - 50))&diadoc_packet_records=$((LAT_PAGES * 100 - 50))&datamill_records=$((LAT_PAGES * 100 - 50))&docsvision_records=$((LAT_PAGES * 20))" >/dev/null
}
# The other three pipelines' ids (packet and card ids do not depend on the dataset).
ids() {
	PACKET=$(ctl "$EMU/_emulator/info" | jq -r '.packets[] | select(.name == "big") | .id')
	CARD=$(ctl "$EMU/_emulator/info" | jq -r '.cards[] | select(.name == "big") | .id')
}

# The request bodies and curl configs for the anchors: Mercury type 5, pages of 10.
prepare() {
	local i
	MTOTAL=$(ctl "$EMU/_emulator/truth/mercury?productType=5" | wc -l)
	MPAGES=$(((MTOTAL + 9) / 10))
	printf '%s' "<soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" xmlns:ws=\"$NS_WS\" xmlns:bs=\"$NS_BS\" xmlns:dt=\"$NS_DT\"><soapenv:Header/><soapenv:Body><ws:getProductByTypeListRequest><bs:listOptions><bs:count>10</bs:count><bs:offset>0</bs:offset></bs:listOptions><dt:productType>5</dt:productType></ws:getProductByTypeListRequest></soapenv:Body></soapenv:Envelope>" >"$W/mercury.xml"
	MURL="$EMU/platform/services/2.0/ProductService"
	MH=('Content-Type: text/xml; charset=utf-8' 'SOAPAction: GetProductByTypeList'
		"Authorization: Basic $(printf mercury:mercury-secret | base64)")
	: >"$W/curl.cfg"
	for i in $(seq 1 "$MPAGES"); do
		{
			[ "$i" -eq 1 ] || echo next
			echo "url = \"$MURL\""
			echo "data-binary = \"@$W/mercury.xml\""
			for h in "${MH[@]}"; do echo "header = \"$h\""; done
			echo 'output = "/dev/null"'
			[ -z "$CA" ] || echo "cacert = \"$CA\""
		} >>"$W/curl.cfg"
	done
	DPAGES=$(((LAT_PAGES * 100 - 50 + 99) / 100))
	echo '{"Filter":{"SortDirection":"Ascending"},"Limit":100}' |
		ndjson2pb -d "$BENCH_ROOT/build/diadoc.desc" -t "$MSG.GetDocflowEventsRequest" >"$W/diadoc.pb"
	DURL="$EMU/V5/GetDocflowEvents?boxId=$BOX"
	DH=('Content-Type: application/x-protobuf'
		'Authorization: DiadocAuth ddauth_api_client_id=pagepull-demo,ddauth_token=diadoc-secret-token')
}

# dv_anchor: the DocsVision anchor, the request a kept-alive client repeats: SessionLogin and
# CursorRefreshCardData by curl, then CursorReadPage of page 2 (a fixed pageNum: the body
# is the same every time) once for each page after the first, on one Python connection.
DV_NS=http://schemas.docsvision.com/Platform/2009-02-03/StorageServer/
dv_call() {	# dv_call METHOD CHILDREN: the answer on stdout
	curl -fsS ${CA:+--cacert "$CA"} -u docsvision:dv-secret -H 'Content-Type: text/xml; charset=utf-8' \
		-H "SOAPAction: \"$DV_NS$1\"" --data-binary @- "$EMU/DocsVision/StorageServer/StorageServerService.asmx" \
		<<<"<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body><$1 xmlns=\"$DV_NS\">$2</$1></soap:Body></soap:Envelope>"
}
dv_anchor() {
	local s c open pages
	s=$(dv_call SessionLogin '<baseName>DocsVision</baseName>' | xml2ndjson -q --text //sessionId) || return 1
	open=$(dv_call CursorRefreshCardData "<sessionId>$s</sessionId><instanceId>$CARD</instanceId><timestamp>0</timestamp>") || return 1
	c=$(xml2ndjson -q --text //cursorInfo/ID <<<"$open")
	pages=$(xml2ndjson -q --text //cursorInfo/PageCount <<<"$open")
	printf '%s' "<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body><CursorReadPage xmlns=\"$DV_NS\"><sessionId>$s</sessionId><cursorId>$c</cursorId><pageNum>2</pageNum></CursorReadPage></soap:Body></soap:Envelope>" >"$W/dv-read.xml"
	KEEPALIVE_CA="$CA" "$BENCH_ROOT/tests/bench/keepalive.py" "$EMU/DocsVision/StorageServer/StorageServerService.asmx" \
		"$((pages - 1))" "$W/dv-read.xml" 'Content-Type: text/xml; charset=utf-8' "SOAPAction: \"${DV_NS}CursorReadPage\"" \
		"Authorization: Basic $(printf docsvision:dv-secret | base64)"
}

curl_per_page() {
	local i
	for i in $(seq 1 "$MPAGES"); do
		curl -fsS ${CA:+--cacert "$CA"} -o /dev/null --data-binary "@$W/mercury.xml" \
			-H "${MH[0]}" -H "${MH[1]}" -H "${MH[2]}" "$MURL" || return 1
	done
}

row() {	# row NAME: one run of it, in the client's namespace
	local b=${CA:+--cacert $CA}
	case $1 in
	python-mercury) "${CLI[@]}" env KEEPALIVE_CA="$CA" "$BENCH_ROOT/tests/bench/keepalive.py" "$MURL" "$MPAGES" "$W/mercury.xml" "${MH[@]}" ;;
	python-diadoc) "${CLI[@]}" env KEEPALIVE_CA="$CA" "$BENCH_ROOT/tests/bench/keepalive.py" "$DURL" "$DPAGES" "$W/diadoc.pb" "${DH[@]}" ;;
	curl-K) "${CLI[@]}" curl -fsS -K "$W/curl.cfg" ;;
	curl-per-page) "${CLI[@]}" bash -c "$(declare -f curl_per_page); $(declare -p MPAGES CA W MH MURL); curl_per_page" ;;
	curl-parallel-8) "${CLI[@]}" curl -fsS --no-progress-meter --parallel --parallel-max 8 -K "$W/curl.cfg" ;;
	mercury-types*) "${CLI[@]}" env ${NOKEEP:+PAGEPULL_NO_KEEPALIVE=1} mercury-products --base-url "$EMU" $b --count 10 -q ;;
	mercury*) "${CLI[@]}" env ${NOKEEP:+PAGEPULL_NO_KEEPALIVE=1} mercury-products --base-url "$EMU" $b --type 5 --count 10 -q ${P8:+-P 8} ;;
	paginate-pipeline) "${CLI[@]}" env ${NOKEEP:+PAGEPULL_NO_KEEPALIVE=1} paginate -q -s offset --page-size 10 --total-field total \
		--end-on-fault offsetOutOfRangeFault --pipeline -- fetch-page $b --user-env MC --soap \
		--soap-action GetProductByTypeList --variable %PAGE_SIZE --variable %PAGE_OFFSET \
		--expand-data "$(sed 's/<bs:count>10</<bs:count>{{PAGE_SIZE}}</; s/<bs:offset>0</<bs:offset>{{PAGE_OFFSET}}</' "$W/mercury.xml")" "$MURL" \
		'|' xml2ndjson -N "dt=$NS_DT" --records //dt:productList/dt:product --meta total=//dt:productList/@total ;;
	diadoc-events*) "${CLI[@]}" env ${NOKEEP:+PAGEPULL_NO_KEEPALIVE=1} diadoc-events --base-url "$EMU" $b --box "$BOX" --limit 100 -q ;;
	diadoc-packet*) "${CLI[@]}" env ${NOKEEP:+PAGEPULL_NO_KEEPALIVE=1} diadoc-packet --base-url "$EMU" $b --box "$BOX" --packet "$PACKET" -q ;;
	datamill-cursor*) "${CLI[@]}" env ${NOKEEP:+PAGEPULL_NO_KEEPALIVE=1} datamill-cursor --base-url "$EMU/datamill" $b --class TWorker \
		--select LastName --select FirstName -q ;;
	python-docsvision) "${CLI[@]}" bash -c "$(declare -f dv_call dv_anchor); $(declare -p CA EMU CARD W BENCH_ROOT DV_NS PATH); dv_anchor" ;;
	docsvision-card*) "${CLI[@]}" env ${NOKEEP:+PAGEPULL_NO_KEEPALIVE=1} docsvision-card --base-url "$EMU" $b --auth basic -q "$CARD" ;;
	esac >/dev/null
}

# rows KEY…: every row LAT_RUNS times, alternately; per row the median ms a page and
# the connections / full handshakes of its last run.
declare -A T CONN HS PAGES
rows() {
	local r k t0 t1
	for k in "$@"; do T[$k]=; done
	for r in $(seq 1 "$LAT_RUNS"); do
		for k in "$@"; do
			reset
			NOKEEP= P8=
			[[ $k == *-nokeep* ]] && NOKEEP=1
			[[ $k == *-P8* ]] && P8=1
			t0=$(date +%s.%N)
			row "$k" || echo "  ($k: exit $?)"
			t1=$(date +%s.%N)
			T[$k]+="$(echo "$t1 - $t0" | bc) "
			CONN[$k]=$(ctl "$EMU/_emulator/log" | jq -s '[.[] | select(.api != null) | .conn] | unique | length')
			HS[$k]=$(ctl "$EMU/_emulator/log" | jq -s '[.[] | select(.tls == "full") | .conn] | unique | length')
			PAGES[$k]=$(ctl "$EMU/_emulator/log" | jq -s '[.[] | select(.api != null)] | length')
		done
	done
	for k in "$@"; do
		local med
		med=$(tr ' ' '\n' <<<"${T[$k]}" | grep . | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
		MS[$k]=$(echo "scale=1; $med * 1000 / ${PAGES[$k]}" | bc)
		printf '%-34s %6s pages %8s ms/page %5s conns %5s handshakes  (runs: %s)\n' "$k" "${PAGES[$k]}" \
			"${MS[$k]}" "${CONN[$k]}" "$([ -n "$CA" ] && echo "${HS[$k]}" || echo -)" "${T[$k]}"
	done
}
declare -A MS

latency() {
	local scheme=$1
	MS=()
	CA=
	if [ "$scheme" != http ]; then
		CA=$W/cert.pem
		emu_up --bind "$ADDR" --records 0 --tls --tls-cert "$CA" --tls-max "$([ "$scheme" = tls12 ] && echo 1.2 || echo 1.3)"
	else
		emu_up --bind "$ADDR" --records 0
	fi
	reset
	prepare
	ids
	export MC=mercury:mercury-secret
	printf '\n-- %s, %s pages of Mercury (10 products), %s of Diadoc events (100) --\n' \
		"$scheme" "$MPAGES" "$DPAGES"
	# shellcheck disable=SC2086 # LAT_ROWS: a list of row names, to measure only those
	local all="python-mercury curl-K mercury mercury-nokeep mercury-types mercury-types-nokeep paginate-pipeline \
		curl-per-page python-diadoc diadoc-events diadoc-events-nokeep mercury-P8 curl-parallel-8 mercury-P8-nokeep \
		diadoc-packet diadoc-packet-nokeep datamill-cursor datamill-cursor-nokeep python-docsvision docsvision-card docsvision-card-nokeep"
	# TLS 1.2 (a server that offers no 1.3: one more round trip a full handshake): the anchors,
	# Mercury and Diadoc events, sequential and -P 8.
	[ "$scheme" != tls12 ] || all="python-mercury curl-K mercury mercury-nokeep python-diadoc diadoc-events
		diadoc-events-nokeep mercury-P8 curl-parallel-8 mercury-P8-nokeep"
	rows ${LAT_ROWS:-$all}
	printf 'ratios: mercury/python %s (before: %s); diadoc-events/python %s (before: %s); -P 8 mercury/curl --parallel %s (before: %s); docsvision-card/python %s (no keeper: %s)\n' \
		"$(ratio "${MS[mercury]:-}" "${MS[python-mercury]:-}")" "$(ratio "${MS[mercury-nokeep]:-}" "${MS[python-mercury]:-}")" \
		"$(ratio "${MS[diadoc-events]:-}" "${MS[python-diadoc]:-}")" "$(ratio "${MS[diadoc-events-nokeep]:-}" "${MS[python-diadoc]:-}")" \
		"$(ratio "${MS[mercury-P8]:-}" "${MS[curl-parallel-8]:-}")" "$(ratio "${MS[mercury-P8-nokeep]:-}" "${MS[curl-parallel-8]:-}")" \
		"$(ratio "${MS[docsvision-card]:-}" "${MS[python-docsvision]:-}")" "$(ratio "${MS[docsvision-card-nokeep]:-}" "${MS[python-docsvision]:-}")"
	emu_down
}

# The client's CPU a page on loopback: the pipeline's process tree (the keeper included:
# paginate waits for it), not the emulator's.
cpu_per_page() {
	SRV=() CLI=() ADDR=127.0.0.1 CA=
	emu_up --records 0 || return 1
	reset
	prepare
	ids
	printf '\n-- client CPU a page on loopback (HTTP, sequential) --\n'
	local k
	for k in mercury mercury-nokeep diadoc-events diadoc-events-nokeep diadoc-packet diadoc-packet-nokeep \
		datamill-cursor datamill-cursor-nokeep docsvision-card docsvision-card-nokeep; do
		NOKEEP= P8=
		[[ $k == *-nokeep* ]] && NOKEEP=1
		reset
		/usr/bin/time -f '%U %S' -o "$W/cpu" bash -c "$(declare -f row); $(declare -p CLI EMU CA BOX PACKET CARD NOKEEP P8 W NS_DT MURL); row $k"
		local pages
		pages=$(ctl "$EMU/_emulator/log" | jq -s '[.[] | select(.api != null)] | length')
		printf '%-34s %6s pages %8s ms CPU/page\n' "$k" "$pages" \
			"$(echo "scale=2; ($(tail -n 1 "$W/cpu" | tr ' ' '+')) * 1000 / $pages" | bc)"
	done
	emu_down
}

bench_header "network latency: ${NETNS_DELAY_MS} ms each way (user-space TUN forwarder), HTTP, TLS 1.3 and a TLS 1.2 server"
if [ -n "${LAT_CPU_ONLY:-}" ]; then
	echo "LAT_CPU_ONLY: the latency rows skipped"
elif netns_up; then
	trap netns_down EXIT
	SRV=(ip netns exec "$NETNS_SRV") CLI=(ip netns exec "$NETNS_CLI") ADDR=$NETNS_SRV_ADDR
	latency http
	latency tls
	latency tls12
	netns_down
	trap - EXIT
fi
cpu_per_page
