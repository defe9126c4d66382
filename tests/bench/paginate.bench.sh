#!/usr/bin/env bash
# paginate: 2 000 pages from the emulator, 20 ms of latency on every request.
#  - Data Mill's JSON cursor, 5 records a packet: paginate (fetch-page + json2ndjson as the
#    page command) against the loop a user writes by hand (bash + curl + jq);
#  - Mercury's offset pages, 5 products a page: paginate one page at a time against
#    paginate --parallel 8 (fetch-page + xml2ndjson), with the page command a bash script
#    and as paginate --pipeline (the same two programs, no shell).
# Every command writes its records to a file, counted after the table.
source "$(dirname "$0")/lib.sh"
FIXE="$BENCH_ROOT/tests/fixtures/paginate/emu"
D="$BENCH_DATA/paginate"
mkdir -p "$D"

"$BENCH_ROOT/tests/emulator/run" --latency 20 --datamill-records 10000 --datamill-max-objects 5 \
	--mercury-records 34000 >"$D/emu.out" 2>"$D/emu.err" &
EMU_PID=$!
trap 'kill $EMU_PID 2>/dev/null' EXIT
for _ in $(seq 200); do [ -s "$D/emu.out" ] && break; sleep 0.05; done
EMU=$(head -n 1 "$D/emu.out")
[ -n "$EMU" ] || { echo "paginate bench: the emulator did not start" >&2; cat "$D/emu.err" >&2; exit 1; }
export EMU MERCURY_CREDS=mercury:mercury-secret PRODUCT_TYPE=5
export DM_QUERY='<query class="TWorker"><item part="0" name="TabNumber"/><item part="0" name="LastName"/><item part="0" name="FirstName"/><item part="0" name="Department"/><item part="0" name="Salary"/></query>'

cat >"$D/hand-loop.sh" <<'EOF'
#!/bin/bash
# What a user writes by hand for Data Mill's cursor: curl, then jq for the rows and the
# handle and eof, until eof.
handle=
while :; do
	resp=$(curl -sS -m 20 --data-urlencode "query=${handle:-$DM_QUERY}" "$EMU/datamill/cursor.json") || exit 75
	jq -c '.data[]' <<<"$resp"
	read -r handle eof < <(jq -r '"\(.handle) \(.eof)"' <<<"$resp")
	[ "$eof" = true ] && break
done
EOF

bench_header "paginate: 2000 pages, emulator --latency 20 (ms)"
measure "Data Mill JSON: paginate -s cursor (fetch-page|json2ndjson)" \
	sh -c 'paginate -q -s cursor --token-field handle --token-repeats --done-field eof \
		-- "$1/datamill" >"$2/dm-paginate.out"' sh "$FIXE" "$D"
W1=$LAST_WALL C1=$LAST_CPU
measure "Data Mill JSON: hand loop (bash + curl + jq)" \
	sh -c 'bash "$1/hand-loop.sh" >"$1/dm-hand.out"' sh "$D"
W2=$LAST_WALL C2=$LAST_CPU
measure "Mercury: paginate --page-size 5, sequential" \
	sh -c 'paginate -q --page-size 5 --total-field total --max-pages 2000 \
		-- "$1/mercury" >"$2/m-seq.out"' sh "$FIXE" "$D"
W3=$LAST_WALL C3=$LAST_CPU
measure "Mercury: paginate --page-size 5 --parallel 8" \
	sh -c 'paginate -q --page-size 5 --total-field total --max-pages 2000 -P 8 \
		-- "$1/mercury" >"$2/m-par.out"' sh "$FIXE" "$D"
W4=$LAST_WALL C4=$LAST_CPU

# The same pages with no shell: paginate joins fetch-page and xml2ndjson itself, and
# fetch-page builds the body from PAGE_SIZE and PAGE_OFFSET (--variable, --expand-data).
WS=http://api.vetrf.ru/schema/cdm/registry/ws-definitions/v2
BS=http://api.vetrf.ru/schema/cdm/base
DT=http://api.vetrf.ru/schema/cdm/dictionary/v2
NATIVE=(--pipeline -- fetch-page -s -m 20 --user-env MERCURY_CREDS --soap --soap-action GetProductByTypeList
	--variable %PAGE_SIZE --variable %PAGE_OFFSET --expand-data "\
<soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" \
xmlns:ws=\"$WS\" xmlns:bs=\"$BS\" xmlns:dt=\"$DT\"><soapenv:Body><ws:getProductByTypeListRequest>\
<bs:listOptions><bs:count>{{PAGE_SIZE}}</bs:count><bs:offset>{{PAGE_OFFSET}}</bs:offset></bs:listOptions>\
<dt:productType>$PRODUCT_TYPE</dt:productType></ws:getProductByTypeListRequest></soapenv:Body>\
</soapenv:Envelope>" "$EMU/platform/services/2.0/ProductService"
	'|' xml2ndjson -N "dt=$DT" --records //dt:productList/dt:product
	--meta total=//dt:productList/@total --meta hasMore=//dt:productList/@hasMore)
measure "Mercury: paginate --pipeline, sequential" \
	sh -c 'out=$1; shift; exec paginate -q --page-size 5 --total-field total --max-pages 2000 "$@" >"$out"' \
	sh "$D/n-seq.out" "${NATIVE[@]}"
W5=$LAST_WALL C5=$LAST_CPU
measure "Mercury: paginate --pipeline --parallel 8" \
	sh -c 'out=$1; shift; exec paginate -q --page-size 5 --total-field total --max-pages 2000 -P 8 "$@" >"$out"' \
	sh "$D/n-par.out" "${NATIVE[@]}"
W6=$LAST_WALL C6=$LAST_CPU

same() { cmp -s "$D/m-seq.out" "$1" && echo yes || echo NO; }
printf '\nrecords: Data Mill paginate %s, hand loop %s; Mercury sequential %s, parallel %s, --pipeline %s and %s (same: %s %s %s)\n' \
	"$(wc -l <"$D/dm-paginate.out")" "$(wc -l <"$D/dm-hand.out")" \
	"$(wc -l <"$D/m-seq.out")" "$(wc -l <"$D/m-par.out")" \
	"$(wc -l <"$D/n-seq.out")" "$(wc -l <"$D/n-par.out")" \
	"$(same "$D/m-par.out")" "$(same "$D/n-seq.out")" "$(same "$D/n-par.out")"
printf 'hand loop / paginate sequential: wall %sx, CPU %sx (target: wall >= 1, CPU > 1)\n' \
	"$(ratio "$W2" "$W1")" "$(ratio "$C2" "$C1")"
printf 'Mercury --pipeline sequential / --pipeline --parallel 8: wall %sx (target >= 6)\n' "$(ratio "$W5" "$W6")"
printf 'Mercury bash page command, sequential / --parallel 8: wall %sx\n' "$(ratio "$W3" "$W4")"
printf 'CPU a page: bash page command %s ms, --pipeline %s ms (sequential rows, emulator excluded)\n' \
	"$(echo "scale=2; $C3 * 1000 / 2000" | bc)" "$(echo "scale=2; $C5 * 1000 / 2000" | bc)"
