#!/usr/bin/env bash
# hardening bench: what the checking builds cost — each decoder on the same input built
# normally (bin/), with ASan+UBSan (build/asan/bin, `make asan`) and under valgrind memcheck
# (a tenth of the input), as wall/CPU time and peak RSS, with the slowdown ratios. Tells
# how long the sanitizer pass of `make check` may take, and why its RSS bounds are off.
source "$(dirname "$0")/lib.sh"
ASAN="$BENCH_ROOT/build/asan/bin"
DESC="$BENCH_ROOT/build/diadoc.desc"
[ -x "$ASAN/json2ndjson" ] || make -s -C "$BENCH_ROOT" asan >/dev/null 2>&1

# ~40 MB each, generated once into $BENCH_DATA (never committed)
json=$BENCH_DATA/hardening.json xml=$BENCH_DATA/hardening.xml pb=$BENCH_DATA/hardening.pb
genjson() {	# genjson FILE N
	/usr/bin/python3 - "$1" "$2" <<'PY'
import json, sys
with open(sys.argv[1], 'w') as f:
    f.write('{"handle":"{C57F629E}","eof":true,"data":[')
    for i in range(int(sys.argv[2])):
        f.write((',' if i else '') + json.dumps({"TabNumber": str(i), "LastName": "Иванов \"%d\"" % i,
            "BirthDate": {"year": 1980, "month": i % 12, "day": 1 + i % 28}, "Salary": 12345.67 + i,
            "Note": "line\nbreak \\ back\tslash " * 3, "AcademicStatus": None}, ensure_ascii=False))
    f.write(']}\n')
PY
}
[ -s "$json" ] || genjson "$json" 200000
[ -s "$json.small" ] || genjson "$json.small" 20000
[ -s "$xml" ] || /usr/bin/python3 - "$xml" <<'PY'
import sys
with open(sys.argv[1], 'w') as f:
    f.write('<?xml version="1.0" encoding="UTF-8"?>\n<data handle="{C57F629E}" eof="1">')
    for i in range(200000):
        f.write('<row><TabNumber>%d</TabNumber><LastName>Иванов &amp; &lt;%d&gt;</LastName>'
                '<BirthDate type="date">01.%02d.1980</BirthDate><AcademicStatus/><Note a="x">'
                'text text text text text text text text</Note></row>' % (i, i, 1 + i % 12))
    f.write('</data>\n')
PY
[ -s "$pb" ] || /usr/bin/python3 "$BENCH_ROOT/tests/fixtures/pb/gen-events.py" 110000 >"$pb"

EV=Diadoc.Api.Proto.Docflow.GetDocflowEventsResponse
printf '\ninputs: json %s MB, xml %s MB, protobuf %s MB (valgrind: json %s MB)\n' \
	$(( $(stat -c %s "$json") >> 20 )) $(( $(stat -c %s "$xml") >> 20 )) \
	$(( $(stat -c %s "$pb") >> 20 )) $(( $(stat -c %s "$json.small") >> 20 ))

row() {	# row NAME ARGS… INPUT: normal, ASan, and the ratios
	local name=$1
	shift
	measure "$name (bin/)" "$BENCH_ROOT/bin/$name" "$@"
	local w=$LAST_WALL c=$LAST_CPU
	measure "$name (ASan+UBSan)" env ASAN_OPTIONS=detect_leaks=0 "$ASAN/$name" "$@"
	printf '%-58s %9s %9s\n' "  ASan+UBSan / bin/" "$(ratio "$LAST_WALL" "$w")" "$(ratio "$LAST_CPU" "$c")"
}

bench_header "hardening: the cost of the checking builds"
row json2ndjson --records .data "$json"
row xml2ndjson --records /data/row "$xml"
row pb2ndjson -d "$DESC" -t $EV --records Events "$pb"
measure "json2ndjson (bin/, small input)" "$BENCH_ROOT/bin/json2ndjson" --records .data "$json.small"
w=$LAST_WALL c=$LAST_CPU
measure "json2ndjson (valgrind memcheck, small input)" valgrind -q --error-exitcode=99 \
	--leak-check=full "$BENCH_ROOT/bin/json2ndjson" --records .data "$json.small"
printf '%-58s %9s %9s\n' "  valgrind / bin/" "$(ratio "$LAST_WALL" "$w")" "$(ratio "$LAST_CPU" "$c")"
