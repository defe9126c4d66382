#!/usr/bin/env bash
# json2ndjson against jq on a Data Mill cursor response ({"handle","data":[…],"eof"}):
# 60 MB for json2ndjson, jq -c '.data[]' and (on a 6 MB cut, scaled) jq --stream; 600 MB for
# json2ndjson alone. Targets (issue 4): ≥ 10× faster than jq -c '.data[]', peak RSS < 8 MiB.
source "$(dirname "$0")/lib.sh"

# gen MB FILE: a cursor response of at least MB MiB (varied records: Cyrillic, escapes,
# big integers, nulls, nested dates), written once and kept in $BENCH_DATA.
gen() {
	[ -s "$2" ] && return
	/usr/bin/python3 - "$1" > "$2.tmp" <<'EOF' && mv "$2.tmp" "$2"
import json, random, sys
mb = float(sys.argv[1]); rnd = random.Random(1)
last = ["Абишин", "Агринская", "Абрамов", "Smith", "O'Neil", "Müller", "Иванов-Петров"]
first = ["Вячеслав", "Ольга", "Александр", "John", "Zoë", "Анна"]
status = ["к.э.н.", "PhD", None, "д.т.н.", "Prof. \"emeritus\""]
recs = []
for i in range(2000):
    recs.append(json.dumps({"Id": 10**18 + rnd.randrange(10**18), "LastName": rnd.choice(last),
        "FirstName": rnd.choice(first),
        "BirthDate": {"year": rnd.randrange(1950, 2020), "month": rnd.randrange(12),
                      "day": rnd.randrange(1, 29)},
        "AcademicStatus": rnd.choice(status), "Salary": round(rnd.uniform(1e4, 1e6), 2),
        "Active": rnd.random() < 0.5, "Note": "line1\nline2\t/ \u00e9" if i % 7 == 0 else ""},
        ensure_ascii=(i % 5 == 0)))
block = ",\n".join(recs)
n = int(mb * 1024 * 1024 // (len(block.encode()) + 2)) + 1
w = sys.stdout.write
w('{"handle": "{C57F629E-583C-4477-ACBF-E436F6D01628}", "data": [\n')
for k in range(n):
    w(block + (",\n" if k < n - 1 else "\n"))
w('], "eof": true}\n')
EOF
}

mib() { echo "scale=1; $(stat -c %s "$1") / 1048576" | bc; }

D60="$BENCH_DATA/json2ndjson-60.json"
D600="$BENCH_DATA/json2ndjson-600.json"
D6="$BENCH_DATA/json2ndjson-6.json"
DHALF="$BENCH_DATA/json2ndjson-0.5.json"
gen 60 "$D60"; gen 600 "$D600"; gen 6 "$D6"; gen 0.5 "$DHALF"
sync "$D60" "$D600" "$D6" "$DHALF"	# no writeback of fresh inputs during the timings
cat "$D60" "$D6" "$DHALF" >/dev/null	# every command reads from the page cache
STREAM2='fromstream(2|truncate_stream(inputs|select(.[0][0]=="data")))'
STREAM1='fromstream(1|truncate_stream(inputs|select(.[0][0]=="data")))'

bench_header "json2ndjson: Data Mill cursor response, $(mib "$D60") MiB"
measure "json2ndjson --records .data --meta handle=… --meta eof=…" \
	json2ndjson --records .data --meta handle=.handle --meta eof=.eof "$D60"
J_WALL=$LAST_WALL J_CPU=$LAST_CPU J_RSS=$(/usr/bin/time -f %M json2ndjson --records .data "$D60" 2>&1 >/dev/null)
measure "jq -c '.data[]'" jq -c '.data[]' "$D60"
JQ_WALL=$LAST_WALL JQ_CPU=$LAST_CPU
measure "jq -cn --stream '2|truncate_stream' ($(mib "$D6") MiB cut)" jq -cn --stream "$STREAM2" "$D6"
SCALE=$(echo "scale=4; $(stat -c %s "$D60") / $(stat -c %s "$D6")" | bc)
ST_WALL=$(echo "scale=2; $LAST_WALL * $SCALE / 1" | bc)
printf '%-58s %9s\n' "  … scaled ×$SCALE to $(mib "$D60") MiB (estimate)" "$ST_WALL"
measure "jq -cn --stream '1|truncate_stream' as issued ($(mib "$DHALF") MiB)" jq -cn --stream "$STREAM1" "$DHALF"
printf '%-58s\n' "  (that form rebuilds .data as ONE value, quadratic: not scaled)"

bench_header "json2ndjson: $(mib "$D600") MiB"
cat "$D600" >/dev/null
measure "json2ndjson --records .data --meta eof=.eof" json2ndjson --records .data --meta eof=.eof "$D600"
J6_RSS=$(/usr/bin/time -f %M json2ndjson --records .data "$D600" 2>&1 >/dev/null)

echo
echo "speed-up vs jq -c '.data[]':        $(ratio "$JQ_WALL" "$J_WALL")× wall, $(ratio "$JQ_CPU" "$J_CPU")× CPU (target ≥ 10×)"
echo "speed-up vs jq --stream (scaled):   $(ratio "$ST_WALL" "$J_WALL")×"
echo "json2ndjson peak RSS: $(echo "scale=1; $J_RSS / 1024" | bc) MiB at 60 MB, $(echo "scale=1; $J6_RSS / 1024" | bc) MiB at 600 MB (target < 8 MiB)"
