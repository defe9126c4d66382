#!/usr/bin/env bash
# The API emulator's throughput: N small-page requests to each API on one keep-alive connection
# (one curl process, `curl URL --next URL …` reuses the connection), dataset of 100 000 records
# so that pages are generated, not only served from cache. Target (issue 3): ≥ 1000 requests/s.
source "$(dirname "$0")/lib.sh"

n=${EMULATOR_BENCH_REQUESTS:-2000}
d="$BENCH_DATA/emulator"
mkdir -p "$d"
rm -f "$d/url"        # a stale URL from an earlier run must not be read
"$BENCH_ROOT/tests/emulator/run" --records 100000 >"$d/url" 2>"$d/err" &
emu=$!
trap 'kill $emu 2>/dev/null' EXIT
for i in $(seq 1 200); do [ -s "$d/url" ] && break; sleep 0.05; done
E=$(head -n 1 "$d/url")
curl -fsS -X POST "$E/_emulator/reset?records=100000&datamill_max_objects=10&docsvision_page_kb=2" >/dev/null
BOX=b7c5d2a0-6f1e-4c3b-9a8d-2e5f7a9c1b3d
proto="$BENCH_ROOT/pipelines/proto"

# Config files for curl -K: one block a request, separated by `next`.
mercury() {
	local o
	for o in $(seq 0 10 $(((n - 1) * 10))); do
		printf 'url = "%s/platform/services/2.0/ProductService"\nuser = "mercury:mercury-secret"\n' "$E"
		printf 'header = "SOAPAction: GetProductByTypeList"\noutput = "/dev/null"\n'
		printf 'data = "<soapenv:Envelope xmlns:soapenv=\\"http://schemas.xmlsoap.org/soap/envelope/\\" xmlns:ws=\\"http://api.vetrf.ru/schema/cdm/registry/ws-definitions/v2\\" xmlns:bs=\\"http://api.vetrf.ru/schema/cdm/base\\" xmlns:dt=\\"http://api.vetrf.ru/schema/cdm/dictionary/v2\\"><soapenv:Body><ws:getProductByTypeListRequest><bs:listOptions><bs:count>10</bs:count><bs:offset>%d</bs:offset></bs:listOptions><dt:productType>5</dt:productType></ws:getProductByTypeListRequest></soapenv:Body></soapenv:Envelope>"\nnext\n' "$o"
	done
}
mercury >"$d/mercury.cfg"

# Two cursors over the same rows: the first pass generates them, the second reads the caches.
for pass in cold warm; do
	h=$(curl -fsS --data-urlencode 'query=<query class="TWorker"/>' "$E/datamill/cursor.json" | jq -r '.handle | @uri')
	for i in $(seq "$n"); do
		printf 'url = "%s/datamill/cursor.json?query=%s"\noutput = "/dev/null"\nnext\n' "$E" "$h"
	done >"$d/datamill-$pass.cfg"
done

printf 'Filter { SortDirection: Ascending }\nLimit: 10\nPopulateDocuments: true\n' |
	protoc -I"$proto" --encode=Diadoc.Api.Proto.Docflow.GetDocflowEventsRequest DiadocDocflow.proto >"$d/events.bin"
for i in $(seq "$n"); do
	printf 'url = "%s/V2/GetDocflowEvents?boxId=%s"\nheader = "Authorization: Bearer diadoc-secret-token"\ndata-binary = "@%s"\noutput = "/dev/null"\nnext\n' "$E" "$BOX" "$d/events.bin"
done >"$d/events.cfg"

card=$(curl -fsS "$E/_emulator/info" | jq -r '.cards[] | select(.name == "big") | .id')
dvbody() {
	printf '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><%s xmlns="http://schemas.docsvision.com/Platform/2009-02-03/StorageServer/"><sessionId>6565c75b-298d-e511-9417-90e6ba57b9f8</sessionId>%s</%s></soap:Body></soap:Envelope>' "$1" "$2" "$1"
}
cid=$(curl -fsS -u docsvision:dv-secret -H 'SOAPAction: "http://schemas.docsvision.com/Platform/2009-02-03/StorageServer/CursorOpenCardData"' \
	--data-binary "$(dvbody CursorOpenCardData "<instanceID>$card</instanceID><timestamp>0</timestamp>")" \
	"$E/DocsVision/StorageServer/StorageServerService.asmx" | xmlstarlet sel -N d=http://schemas.docsvision.com/Platform/2009-02-03/StorageServer/ -t -v //d:ID)
body=$(dvbody CursorReadPage "<cursorId>$cid</cursorId><pageNum>PAGE</pageNum>" | sed 's/"/\\"/g')
for i in $(seq "$n"); do
	printf 'url = "%s/DocsVision/StorageServer/StorageServerService.asmx"\nuser = "docsvision:dv-secret"\noutput = "/dev/null"\n' "$E"
	printf 'header = "SOAPAction: \\"http://schemas.docsvision.com/Platform/2009-02-03/StorageServer/CursorReadPage\\""\n'
	printf 'data = "%s"\nnext\n' "${body/PAGE/$((i % 500 + 1))}"
done >"$d/docsvision.cfg"

# A trailing `next` would leave curl an empty last request.
for f in "$d"/*.cfg; do sed -i '$d' "$f"; done

# The emulator's own CPU (user + system clock ticks of the process, from /proc): what a request
# costs it, steadier than requests/s on a shared machine.
hz=$(getconf CLK_TCK)
emu_ticks() { awk '{print $14 + $15}' "/proc/$emu/stat"; }

bench_header "emulator: $n small-page requests on one keep-alive connection (100 000 records)"
for api in mercury datamill events docsvision; do
	# cold: records generated on demand; warm: the same pages again, from the record caches
	for pass in cold warm; do
		cfg="$d/$api.cfg"
		[ "$api" = datamill ] && cfg="$d/datamill-$pass.cfg"
		t0=$(emu_ticks)
		measure "$api $pass ($n requests, one curl -K)" curl -fsS -K "$cfg"
		t1=$(emu_ticks)
		echo "  $api $pass: $(echo "$n / $LAST_WALL" | bc) requests/s (target >= 1000)," \
			"emulator CPU $(echo "scale=3; ($t1 - $t0) * 1000 / $hz / $n" | bc) ms a request"

	done
done
echo "connections used: $(curl -fsS "$E/_emulator/info" | jq .connections) (one per curl run + control calls)"
echo "emulator peak RSS: $(grep VmHWM /proc/$emu/status 2>/dev/null | awk '{print $2 / 1024 " MiB"}')"
