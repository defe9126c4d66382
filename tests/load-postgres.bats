#!/usr/bin/env bats
# The README's PostgreSQL loading, against a real server: Debian's postgresql (installed if
# missing), a private instance on 127.0.0.1 in a temporary directory, each pipeline's output
# loaded with the README's exact COPY command, counts and values checked (quotes,
# backslashes, Cyrillic, characters outside the BMP), and the GNU parallel fan-out.
load helpers
pipeline_suite

# The README's command, which the first test finds there word for word.
COPY_WITH="WITH (FORMAT csv, QUOTE e'\\x01', DELIMITER e'\\x02')"

# apt_need PROGRAM PACKAGE: installs PACKAGE when PROGRAM is missing (as root), else fails.
apt_need() {
	[ -n "$(compgen -G "$1")" ] && return 0
	[ "$(id -u)" -eq 0 ] || { echo "load-postgres: $2 is missing; run as root: apt-get install $2" >&2; return 1; }
	apt-get update -qq >/dev/null &&
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$2" >/dev/null ||
		{ echo "load-postgres: apt-get install $2 failed" >&2; return 1; }
}

setup_file() {
	apt_need '/usr/lib/postgresql/*/bin/initdb' postgresql
	PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
	PGDIR=$(mktemp -d /tmp/pagepull-pg.XXXXXX)
	chown postgres: "$PGDIR"
	PGPORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	# initdb refuses to run as root: the instance belongs to the postgres user.
	runuser -u postgres -- "$PGBIN/initdb" -D "$PGDIR/data" -E UTF8 --locale=C.UTF-8 -A trust \
		-U postgres >"$PGDIR/initdb.log" 2>&1 || { cat "$PGDIR/initdb.log" >&2; return 1; }
	runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/server.log" -w -t 60 \
		-o "-c listen_addresses=127.0.0.1 -p $PGPORT -k $PGDIR" start >/dev/null ||
		{ cat "$PGDIR/server.log" >&2; return 1; }
	export PGBIN PGDIR PGPORT PGHOST=127.0.0.1 PGUSER=postgres PGDATABASE=postgres
	export PGCLIENTENCODING=UTF8 PGCONNECT_TIMEOUT=10
	emu_start --records 400
	local d=$BATS_FILE_TMPDIR
	mercury-products -q --base-url "$EMU" -o "$d/products.ndjson"
	datamill-cursor -q --base-url "$EMU/datamill" -o "$d/workers.ndjson"
	diadoc-events -q --base-url "$EMU" --box "$BOX" --populate-documents -o "$d/events.ndjson"
	diadoc-packet -q --base-url "$EMU" --box "$BOX" -o "$d/documents.ndjson" \
		--packet "$(emu_ctl info | jq -r '.packets[] | select(.name == "medium") | .id')"
	docsvision-card -q --base-url "$EMU" -o "$d/rows.ndjson" \
		"$(emu_ctl info | jq -r '.cards[] | select(.name == "big") | .id')"
}

teardown_file() {
	emu_stop
	if [ -n "${PGDIR:-}" ]; then
		runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDIR/data" -m fast -w stop >/dev/null 2>&1 || true
		rm -rf "$PGDIR"
	fi
}

# load TABLE FILE: the README's two commands.
load_file() {
	psql -q -v ON_ERROR_STOP=1 -c "CREATE TABLE IF NOT EXISTS $1 (doc jsonb NOT NULL)"
	psql -q -v ON_ERROR_STOP=1 -c "COPY $1 (doc) FROM STDIN $COPY_WITH" <"$2"
}

# same_rows TABLE FILE: the table holds exactly the file's records (canonical JSON, sorted).
same_rows() {
	psql -At -c "SELECT doc::text FROM $1" | jq -cS . | LC_ALL=C sort >"$BATS_TEST_TMPDIR/db"
	jq -cS . "$2" | LC_ALL=C sort >"$BATS_TEST_TMPDIR/file"
	cmp "$BATS_TEST_TMPDIR/db" "$BATS_TEST_TMPDIR/file"
}

# same_counts TABLE FILE NEEDLE: as many records hold NEEDLE in the table as in the file,
# and at least one (the emulator's data is hard on purpose).
same_counts() {
	local db file
	db=$(psql -At -v "n=%$3%" <<<"SELECT count(*) FROM $1 WHERE doc::text LIKE :'n' ESCAPE ''")
	file=$(grep -cF -- "$3" "$2")
	echo "$1: $3: $db in the table, $file in the file" >&2
	[ "$file" -gt 0 ] && [ "$db" -eq "$file" ]
}

@test "load-postgres: the README has the COPY command tested here" {
	grep -qF "psql -c \"COPY products (doc) FROM STDIN $COPY_WITH\" < products.ndjson" "$ROOT/README.md"
	run psql -At -c 'SHOW server_encoding'
	assert_output UTF8
}

@test "load-postgres: Mercury products, every one and every byte" {
	load_file products "$BATS_FILE_TMPDIR/products.ndjson"
	run psql -At -c 'SELECT count(*) FROM products'
	assert_output 400
	same_rows products "$BATS_FILE_TMPDIR/products.ndjson"
	same_counts products "$BATS_FILE_TMPDIR/products.ndjson" 'мёд'
	run psql -At -c "SELECT count(DISTINCT doc->>'productType') FROM products"
	assert_output 8
}

@test "load-postgres: Data Mill workers: backslashes, quotes, Cyrillic, non-BMP intact" {
	load_file workers "$BATS_FILE_TMPDIR/workers.ndjson"
	same_rows workers "$BATS_FILE_TMPDIR/workers.ndjson"
	# in NDJSON a backslash is \\ and a quote \": the same text in the jsonb
	same_counts workers "$BATS_FILE_TMPDIR/workers.ndjson" '\\'
	same_counts workers "$BATS_FILE_TMPDIR/workers.ndjson" '\"'
	same_counts workers "$BATS_FILE_TMPDIR/workers.ndjson" 'Ёлкин'
	same_counts workers "$BATS_FILE_TMPDIR/workers.ndjson" '😀'
	run psql -At -c "SELECT count(*) FROM workers WHERE doc->>'BirthDate' ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$'"
	assert_output 400
}

@test "load-postgres: DocsVision rows: one hard value, character for character" {
	load_file dvrows "$BATS_FILE_TMPDIR/rows.ndjson"
	same_rows dvrows "$BATS_FILE_TMPDIR/rows.ndjson"
	same_counts dvrows "$BATS_FILE_TMPDIR/rows.ndjson" '𝄞'
	local want got key
	key=$(jq -r 'select(.Title | test("Temp")) | .RowID' "$BATS_FILE_TMPDIR/rows.ndjson" | head -n 1)
	[ -n "$key" ]
	want=$(jq -r --arg k "$key" 'select(.RowID == $k) | .Title' "$BATS_FILE_TMPDIR/rows.ndjson")
	got=$(psql -At -v "k=$key" <<<"SELECT doc->>'Title' FROM dvrows WHERE doc->>'RowID' = :'k'")
	assert_equal "$got" "$want"
	assert_equal "$got" 'C:\Temp\новая папка\файл.txt'
}

@test "load-postgres: Diadoc events and packet documents, nested records" {
	load_file events "$BATS_FILE_TMPDIR/events.ndjson"
	same_rows events "$BATS_FILE_TMPDIR/events.ndjson"
	load_file documents "$BATS_FILE_TMPDIR/documents.ndjson"
	same_rows documents "$BATS_FILE_TMPDIR/documents.ndjson"
	run psql -At -c "SELECT count(*) FROM documents WHERE doc #>> '{Document,DocumentInfo,PacketInfo,PacketId}' IS NOT NULL"
	assert_output 250
	same_counts events "$BATS_FILE_TMPDIR/events.ndjson" '\n'
}

@test "load-postgres: the README's fan-out over product types with GNU parallel" {
	apt_need /usr/bin/parallel parallel
	cd "$BATS_TEST_TMPDIR"
	# the README's command, with the emulator's --base-url
	mkdir -p out state
	psql -q -c 'CREATE TABLE fanout (doc jsonb NOT NULL)'
	parallel -j4 --halt now,fail=1 \
		mercury-products -q --base-url "$EMU" --type {} --state state/type{}.state -o out/type{}.ndjson ::: 1 2 3 4 5 6 7 8 &&
		cat out/type*.ndjson |
		psql -c "COPY fanout (doc) FROM STDIN $COPY_WITH"
	psql -At -c 'SELECT doc::text FROM fanout' >"$BATS_TEST_TMPDIR/db.ndjson"
	same_as_truth "$BATS_TEST_TMPDIR/db.ndjson" mercury
}

@test "load-postgres: COPY's default text format would mangle the same file" {
	psql -q -c 'CREATE TABLE naive (doc jsonb)'
	run psql -c 'COPY naive (doc) FROM STDIN' <"$BATS_FILE_TMPDIR/workers.ndjson"
	if [ "$status" -eq 0 ]; then
		run same_rows naive "$BATS_FILE_TMPDIR/workers.ndjson"
		assert_failure
	else
		assert_output --partial 'invalid input syntax for type json'
	fi
}

# readme_block HEADING N LANG: the Nth ```LANG block of the README's section HEADING.
readme_block() {
	awk -v head="$1" -v want="$2" -v lang="$3" '
		index($0, head) == 1 { on = 1; next }
		on && /^##/ { exit }
		on && $0 == "```" lang { n++; inblock = (n == want); next }
		inblock && /^```$/ { inblock = 0; next }
		inblock { print }' "$ROOT/README.md"
}

@test "load-postgres: the README's PostgreSQL and one-machine fan-out commands, as printed, in a database of their own" {
	cd "$BATS_TEST_TMPDIR"
	psql -q -c 'CREATE DATABASE readme'
	export PGDATABASE=readme MERCURY_BASE_URL=$EMU DIADOC_BASE_URL=$EMU
	readme_block '### PostgreSQL' 1 sh >load.sh
	grep -qF 'mercury-products -o products.ndjson &&' load.sh
	run bash -e load.sh
	assert_success
	# the last command's table: one row a product type, the counts of the ground truth
	emu_ctl truth/mercury | jq -r .productType | sort | uniq -c |
		awk '{ printf " %-4s | %5d\n", $2, $1 }' >want
	assert_output --partial "$(cat want)"
	run psql -At -c 'SELECT doc::text FROM products'
	printf '%s\n' "$output" >db.ndjson
	same_as_truth db.ndjson mercury
	readme_block '### PostgreSQL' 1 sql >query.sql
	run psql -At -v ON_ERROR_STOP=1 -f query.sql
	assert_success
	assert_output "CREATE INDEX
$(emu_ctl truth/mercury | jq -r 'select(.guid == "088cb997-86c4-a4d9-553b-4981b36b9b3c") | .name')"
	# the fan-out: every type in parallel, then one COPY; the boxes each into a file
	psql -q -c 'TRUNCATE products'
	emu_ctl info | jq -r .box_id >boxes.txt
	readme_block '### Fan-out with GNU parallel' 1 sh >fan.sh
	run bash -e fan.sh
	assert_success
	run psql -At -c 'SELECT doc::text FROM products'
	printf '%s\n' "$output" >db.ndjson
	same_as_truth db.ndjson mercury
	same_as_truth "out/$(cat boxes.txt).ndjson" diadoc-events
}
