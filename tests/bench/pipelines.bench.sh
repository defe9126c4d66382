#!/usr/bin/env bash
# The pipelines' own parts and the five pipelines end to end:
# - datamill-norm against the same normalisation in jq, on 200 000 XML-born rows;
# - b64inflate against base64 -d | gzip -dc (gzip) and against Python's zlib (raw deflate);
# - each pipeline against the emulator, 10 000 records (the emulator, one Python process,
#   is most of that time: the figures are the toolkit's overhead plus the server's).
source "$(dirname "$0")/lib.sh"
set -euo pipefail
ROWS=$BENCH_DATA/datamill-rows.ndjson
PAGE=$BENCH_DATA/page.xml

if [ ! -s "$ROWS" ]; then
	/usr/bin/python3 - "$ROWS" <<'EOF'
import json, random, sys
r = random.Random(1)
names = ['Абишин', 'Иванова', "О'Коннор", 'Müller', 'C:\\Temp\\x', 'эмодзи 😀']
with open(sys.argv[1], 'w', encoding='utf-8') as f:
    for i in range(200000):
        d = lambda: {'@type': 'date', '#text': '%02d.%02d.%04d' % (r.randint(1, 28), r.randint(1, 12), r.randint(1950, 2020))}
        rec = {'TabNumber': str(100000 + i), 'LastName': r.choice(names), 'FirstName': 'Иван',
               'MiddleName': None if r.random() < .2 else 'Петрович', 'BirthDate': d(),
               'HireDate': d() if r.random() < .9 else {'@type': 'date'},
               'AcademicStatus': None, 'Department': 'R&D <лаборатория>',
               'Salary': '%d.%02d' % (r.randrange(20000, 300000), r.randrange(100)),
               'Note': ' '.join(r.choice(['договор', 'поставка', 'счёт']) for _ in range(r.randint(2, 40)))}
        f.write(json.dumps(rec, ensure_ascii=False, separators=(',', ':')) + '\n')
EOF
fi
if [ ! -s "$PAGE" ]; then
	for i in $(seq 1 120000); do
		printf '<row><RowID>%08d-0135-E6E2-ACF3-BC4912F4D42B</RowID><Title>оплата накладная заявка %d</Title><Amount>%d.50</Amount></row>' "$i" "$i" "$i"
	done >"$PAGE"
	gzip -c "$PAGE" | base64 >"$PAGE.gz.b64"
	/usr/bin/python3 -c 'import sys, zlib; z = zlib.compressobj(6, zlib.DEFLATED, -15); d = open(sys.argv[1], "rb").read(); sys.stdout.buffer.write(z.compress(d) + z.flush())' "$PAGE" |
		base64 >"$PAGE.deflate.b64"
fi

JQ_NORM='def pad: tostring | if length < 2 then "0" + . else . end;
def norm: if type == "object" then
    (if ."@type" == "date" then (."#text" // "" | if . == "" then null else (split(".") | "\(.[2])-\(.[1])-\(.[0])") end)
     elif (keys == ["day", "month", "year"]) then "\(.year)-\(.month + 1 | pad)-\(.day | pad)"
     else . end)
  elif type == "string" then (if . == "" then null else . end)
  elif type == "null" then null else tostring end;
with_entries(.value |= norm)'

bench_header "datamill-norm: 200 000 rows ($(du -m "$ROWS" | cut -f1) MB), dates, nulls, strings"
datamill-norm "$ROWS" | cmp -s - <(jq -c "$JQ_NORM" "$ROWS") || echo "(datamill-norm and jq disagree!)"
measure "datamill-norm" datamill-norm "$ROWS"
c=$LAST_WALL
measure "jq -c (the same normalisation)" jq -c "$JQ_NORM" "$ROWS"
echo "jq / datamill-norm: $(ratio "$LAST_WALL" "$c")x"

bench_header "b64inflate: $(du -m "$PAGE" | cut -f1) MB of rows, base64 of gzip and of raw deflate"
measure "b64inflate (gzip)" b64inflate "$PAGE.gz.b64"
c=$LAST_WALL
measure "base64 -d | gzip -dc" bash -c 'base64 -d "$1" | gzip -dc' _ "$PAGE.gz.b64"
echo "base64|gzip / b64inflate: $(ratio "$LAST_WALL" "$c")x"
measure "b64inflate (raw deflate)" b64inflate "$PAGE.deflate.b64"
c=$LAST_WALL
measure "base64 -d | python3 zlib (raw deflate)" bash -c 'base64 -d "$1" | /usr/bin/python3 -c "import sys, zlib; sys.stdout.buffer.write(zlib.decompress(sys.stdin.buffer.read(), -15))"' _ "$PAGE.deflate.b64"
echo "base64|python / b64inflate: $(ratio "$LAST_WALL" "$c")x"

bench_header "the five pipelines against the emulator, 10 000 records each"
out=$BENCH_DATA/emu.out
"$BENCH_ROOT/tests/emulator/run" --records 10000 --docsvision-page-kb 64 >"$out" 2>"$out.err" &
emu=$!
trap 'kill $emu 2>/dev/null; wait $emu 2>/dev/null' EXIT
for _ in $(seq 1 200); do [ -s "$out" ] && break; sleep 0.05; done
EMU=$(head -n 1 "$out")
export MERCURY_USER=mercury MERCURY_PASSWORD=mercury-secret DIADOC_TOKEN=diadoc-secret-token
export DOCSVISION_USER=docsvision DOCSVISION_PASSWORD=dv-secret
BOX=$(curl -fsS "$EMU/_emulator/info" | jq -r .box_id)
PACKET=$(curl -fsS "$EMU/_emulator/info" | jq -r '.packets[] | select(.name == "big") | .id')
CARD=$(curl -fsS "$EMU/_emulator/info" | jq -r '.cards[] | select(.name == "big") | .id')
measure "mercury-products (pages of 1000)" mercury-products -q --base-url "$EMU"
measure "mercury-products -P 4" mercury-products -q -P 4 --base-url "$EMU"
measure "datamill-cursor --format xml" datamill-cursor -q --base-url "$EMU/datamill"
measure "datamill-cursor --format json" datamill-cursor -q --format json --base-url "$EMU/datamill"
measure "diadoc-events (pages of 100)" diadoc-events -q --base-url "$EMU" --box "$BOX"
measure "diadoc-packet (pages of 100)" diadoc-packet -q --base-url "$EMU" --box "$BOX" --packet "$PACKET"
measure "docsvision-card (64 KB pages)" docsvision-card -q --base-url "$EMU" "$CARD"
measure "docsvision-card -P 4" docsvision-card -q -P 4 --base-url "$EMU" "$CARD"
