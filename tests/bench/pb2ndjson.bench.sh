#!/usr/bin/env bash
# pb2ndjson on a ~70 MB Diadoc GetDocflowEventsResponse (200 000 events, generated once with
# python3-protobuf by tests/fixtures/pb/gen-events.py and kept in $BENCH_DATA), in one run
# against protoc --decode (text format) and a python3-protobuf json_format script
# (ParseFromString + MessageToJson). Targets (issue 6): ≥ 4× faster than protoc --decode,
# peak RSS < 8 MiB with --records.
source "$(dirname "$0")/lib.sh"

DESC="$BENCH_ROOT/build/diadoc.desc"
T=Diadoc.Api.Proto.Docflow.GetDocflowEventsResponse
IN="$BENCH_DATA/pb2ndjson-events.pb"
if [ ! -s "$IN" ]; then
	/usr/bin/python3 "$BENCH_ROOT/tests/fixtures/pb/gen-events.py" 200000 > "$IN.tmp" && mv "$IN.tmp" "$IN"
fi
JF="$BENCH_DATA/pb2ndjson-json_format.py"
cat > "$JF" <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
from google.protobuf import json_format
import DiadocDocflow_pb2 as D
m = D.GetDocflowEventsResponse()
m.ParseFromString(open(sys.argv[2], 'rb').read())
sys.stdout.write(json_format.MessageToJson(m, preserving_proto_field_name=True))
PY
sync "$IN"
cat "$IN" >/dev/null	# every command reads from the page cache
mib() { echo "scale=1; $(stat -c %s "$1") / 1048576" | bc; }

bench_header "pb2ndjson: GetDocflowEventsResponse, 200 000 events, $(mib "$IN") MiB"
measure "pb2ndjson --records Events --meta TotalCount=TotalCount" \
	pb2ndjson -d "$DESC" -t "$T" --records Events --meta TotalCount=TotalCount "$IN"
P_WALL=$LAST_WALL P_CPU=$LAST_CPU
P_RSS=$(/usr/bin/time -f %M pb2ndjson -d "$DESC" -t "$T" --records Events "$IN" 2>&1 >/dev/null)
measure "pb2ndjson (whole message, one line)" pb2ndjson -d "$DESC" -t "$T" "$IN"
measure "protoc --decode (text format)" \
	sh -c 'protoc -I"$1" --decode="$2" DiadocDocflow.proto < "$3"' _ "$BENCH_ROOT/pipelines/proto" "$T" "$IN"
C_WALL=$LAST_WALL C_CPU=$LAST_CPU
measure "python3 json_format.MessageToJson (cpp backend)" \
	/usr/bin/python3 "$JF" "$BENCH_ROOT/build/py" "$IN"
Y_WALL=$LAST_WALL

echo
echo "speed-up vs protoc --decode:   $(ratio "$C_WALL" "$P_WALL")× wall, $(ratio "$C_CPU" "$P_CPU")× CPU (target ≥ 4×)"
echo "speed-up vs json_format:       $(ratio "$Y_WALL" "$P_WALL")× wall"
echo "pb2ndjson --records peak RSS:  $(echo "scale=1; $P_RSS / 1024" | bc) MiB (target < 8 MiB)"
