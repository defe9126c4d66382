#!/usr/bin/env bash
# make demo: the main job. Starts the bundled API emulator on loopback, runs the five
# pipelines against it, and shows for each the record count, the time and two records
# pretty-printed with jq; the NDJSON files stay in build/demo/. No credentials needed:
# the emulator's defaults are handed to the pipelines through their environment variables.
# DEMO_RECORDS (default 2500) sets the size of every dataset, DEMO_OUT the directory.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
export PATH="${PAGEPULL_BIN:-$ROOT/bin}:$ROOT/pipelines:$PATH"
OUT=${DEMO_OUT:-$ROOT/build/demo}
RECORDS=${DEMO_RECORDS:-2500}
mkdir -p "$OUT"
rm -f "$OUT"/*.ndjson "$OUT"/*.log

EMU_PID=
stop() {
	if [ -n "$EMU_PID" ]; then
		kill "$EMU_PID" 2>/dev/null || true
		wait "$EMU_PID" 2>/dev/null || true
		EMU_PID=
	fi
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

tests/emulator/run --records "$RECORDS" >"$OUT/emulator.url" 2>"$OUT/emulator.log" &
EMU_PID=$!
for _ in $(seq 1 200); do
	[ -s "$OUT/emulator.url" ] && break
	kill -0 "$EMU_PID" 2>/dev/null || { cat "$OUT/emulator.log" >&2; exit 1; }
	sleep 0.05
done
EMU=$(head -n 1 "$OUT/emulator.url")
[ -n "$EMU" ] || { echo "demo: the emulator did not start" >&2; exit 1; }
info=$(curl -fsS --max-time 10 "$EMU/_emulator/info")
field() { jq -r "$1" <<<"$info"; }

export MERCURY_USER MERCURY_PASSWORD DIADOC_CLIENT_ID DIADOC_TOKEN DOCSVISION_USER DOCSVISION_PASSWORD
MERCURY_USER=$(field .credentials.mercury.user)
MERCURY_PASSWORD=$(field .credentials.mercury.password)
DIADOC_CLIENT_ID=$(field .credentials.diadoc.client_id)
DIADOC_TOKEN=$(field .credentials.diadoc.token)
DOCSVISION_USER=$(field .credentials.docsvision.user)
DOCSVISION_PASSWORD=$(field .credentials.docsvision.password)
BOX=$(field .box_id)
PACKET=$(field '.packets[] | select(.name == "big") | .id')
CARD=$(field '.cards[] | select(.name == "big") | .id')

printf 'pagepull demo: the emulator is at %s (%s records an API)\n' "$EMU" "$RECORDS"

# show NAME: the count, the time and the first two records of $OUT/NAME.ndjson, long
# strings shortened for the screen (the file keeps them whole).
show() {
	local name=$1 secs=$2
	printf '\n== %s: %s records in %s s\n' "$name" "$(wc -l <"$OUT/$name.ndjson" | tr -d ' ')" "$secs"
	head -n 2 "$OUT/$name.ndjson" |
		jq 'walk(if type == "string" and length > 72 then .[:69] + "..." else . end)'
}

# run NAME PIPELINE ARGS…: runs it into $OUT/NAME.ndjson, its messages into NAME.log.
run() {
	local name=$1 t0 t1 st=0
	shift
	t0=$(date +%s.%N)
	"$@" -o "$OUT/$name.ndjson" 2>"$OUT/$name.log" || st=$?
	t1=$(date +%s.%N)
	if [ "$st" -ne 0 ]; then
		printf '\n== %s: failed with exit %d\n' "$name" "$st" >&2
		cat "$OUT/$name.log" >&2
		exit "$st"
	fi
	show "$name" "$(echo "$t1 - $t0" | bc | sed 's/^\./0./' | cut -c1-5)"
}

run mercury-products mercury-products --base-url "$EMU" -P 2
run datamill-cursor datamill-cursor --base-url "$EMU/datamill" --format json
run datamill-cursor-xml datamill-cursor --base-url "$EMU/datamill" --format xml
if cmp -s "$OUT/datamill-cursor.ndjson" "$OUT/datamill-cursor-xml.ndjson"; then
	echo "   (the same rows fetched as XML: identical, byte for byte)"
else
	echo "demo: datamill-cursor: XML and JSON differ" >&2
	exit 1
fi
run diadoc-events diadoc-events --base-url "$EMU" --box "$BOX"
run diadoc-packet diadoc-packet --base-url "$EMU" --box "$BOX" --packet "$PACKET"
run docsvision-card docsvision-card --base-url "$EMU" -P 2 "$CARD"

printf '\nThe NDJSON files are in %s:\n' "$OUT"
(cd "$OUT" && ls -l -- *.ndjson | awk '{ printf "  %-32s %10d bytes\n", $NF, $5 }')
printf 'Try: jq -r .name %s/mercury-products.ndjson | head\n' "$OUT"
