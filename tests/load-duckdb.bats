#!/usr/bin/env bats
# The README's DuckDB loading, for real: DuckDB from npm (@duckdb/node-api with its native
# library, a pinned version, installed into build/duckdb on first use), the README's SQL block
# taken from README.md and run as printed on the five pipelines' output against the emulator
# (tests/tools/duckdb-sql.js stands in for `duckdb FILE < load.sql`), then every table compared with
# the emulator's ground truth: typed columns as the README says detection types them, nested
# records byte for byte; Cyrillic, quotes, backslashes, characters outside the BMP, 64-bit
# integers written as strings and nulls counted on both sides.
load helpers
pipeline_suite

DUCKDB_VERSION=1.5.6-r.1

# duckdb_install: @duckdb/node-api and the native bindings of this machine into build/duckdb,
# unless that version is there already (a temporary directory renamed into place).
duckdb_install() {
	local dir=$ROOT/build/duckdb arch
	[ "$(jq -r .version "$dir/node_modules/@duckdb/node-api/package.json" 2>/dev/null)" = "$DUCKDB_VERSION" ] &&
		return 0
	command -v node >/dev/null && command -v npm >/dev/null ||
		{ echo "load-duckdb: node and npm are missing: make deps installs them" >&2; return 1; }
	case $(uname -m) in
	x86_64) arch=x64 ;;
	aarch64) arch=arm64 ;;
	*) echo "load-duckdb: no DuckDB bindings for $(uname -m)" >&2; return 1 ;;
	esac
	rm -rf "$dir.tmp.$$"
	mkdir -p "$dir.tmp.$$"
	npm install --prefix "$dir.tmp.$$" --no-audit --no-fund --no-save --no-package-lock \
		"@duckdb/node-api@$DUCKDB_VERSION" "@duckdb/node-bindings-linux-$arch@$DUCKDB_VERSION" \
		>"$dir.tmp.$$/npm.log" 2>&1 || { cat "$dir.tmp.$$/npm.log" >&2; rm -rf "$dir.tmp.$$"; return 1; }
	rm -rf "$dir"
	mv "$dir.tmp.$$" "$dir"
}

# sql: the SQL on stdin against the test database, rows as JSON lines (run in $LOAD, where
# the README's relative file names point).
sql() {
	(cd "$LOAD" && NODE_PATH="$ROOT/build/duckdb/node_modules" node "$ROOT/tests/tools/duckdb-sql.js" pagepull.db)
}

# readme_sql: the README's DuckDB block, as printed.
readme_sql() {
	sed -n '/^### DuckDB/,/^###* [^D]/p' "$ROOT/README.md" | sed -n '/^```sql$/,/^```$/p' | sed '1d;$d'
}

setup_file() {
	duckdb_install
	emu_start --records 400
	LOAD=$BATS_FILE_TMPDIR/load
	mkdir -p "$LOAD"
	export LOAD
	local packet card
	packet=$(emu_ctl info | jq -r '.packets[] | select(.name == "medium") | .id')
	card=$(emu_ctl info | jq -r '.cards[] | select(.name == "big") | .id')
	mercury-products -q --base-url "$EMU" -o "$LOAD/products.ndjson"
	datamill-cursor -q --base-url "$EMU/datamill" -o "$LOAD/workers.ndjson"
	docsvision-card -q --base-url "$EMU" -o "$LOAD/card.ndjson" "$card"
	diadoc-events -q --base-url "$EMU" --box "$BOX" --populate-documents -o "$LOAD/events.ndjson"
	diadoc-packet -q --base-url "$EMU" --box "$BOX" --packet "$packet" -o "$LOAD/documents.ndjson"
	emu_ctl truth/mercury >"$LOAD/truth.products"
	emu_ctl truth/datamill >"$LOAD/truth.workers"
	emu_ctl 'truth/docsvision?card=big' >"$LOAD/truth.card"
	emu_ctl 'truth/diadoc-events?populateDocuments=1' >"$LOAD/truth.events"
	emu_ctl "truth/diadoc-packet?packetId=$packet" >"$LOAD/truth.documents"
	readme_sql >"$LOAD/load.sql"
	sql <"$LOAD/load.sql" >"$LOAD/load.out" 2>"$LOAD/load.err" && echo 0 >"$LOAD/load.status" ||
		echo $? >"$LOAD/load.status"
}

# same_rows QUERY TRUTH [JQ]: the query's rows (JSON objects) are exactly the lines of the
# truth file after the jq program JQ, as sorted canonical lines.
same_rows() {
	sql <<<"$1" | jq -cS . | LC_ALL=C sort >"$BATS_TEST_TMPDIR/db"
	jq -cS "${3:-.}" "$LOAD/truth.$2" | LC_ALL=C sort >"$BATS_TEST_TMPDIR/truth"
	[ -s "$BATS_TEST_TMPDIR/truth" ] || { echo "empty truth $2" >&2; return 1; }
	if ! cmp -s "$BATS_TEST_TMPDIR/db" "$BATS_TEST_TMPDIR/truth"; then
		echo "$2: $(wc -l <"$BATS_TEST_TMPDIR/db") rows, $(wc -l <"$BATS_TEST_TMPDIR/truth") in the truth" >&2
		diff "$BATS_TEST_TMPDIR/truth" "$BATS_TEST_TMPDIR/db" | cut -c1-240 | head -n 6 >&2
		return 1
	fi
}

# same_count TABLE NEEDLE: as many of the table's rows hold NEEDLE (in the JSON text of the
# row, as $BATS_TEST_TMPDIR/db has it) as truth lines do, and at least one.
same_count() {
	local db truth
	db=$(grep -cF -- "$2" "$BATS_TEST_TMPDIR/db" || true)
	truth=$(grep -cF -- "$2" "$BATS_TEST_TMPDIR/truth" || true)
	echo "$1: $2: $db in DuckDB, $truth in the truth" >&2
	[ "$truth" -gt 0 ] && [ "$db" -eq "$truth" ]
}

# column_types TABLE: "name type" lines, in the table's order.
column_types() {
	sql <<<"DESCRIBE $1" | jq -r '"\(.column_name) \(.column_type)"'
}

@test "load-duckdb: the README's SQL runs as printed on the five pipelines' files" {
	grep -qF "read_json('workers.ndjson', format = 'newline_delimited')" "$LOAD/load.sql"
	grep -qF "read_json_objects('events.ndjson', format = 'newline_delimited')" "$LOAD/load.sql"
	run cat "$LOAD/load.err"
	assert_output ''
	assert_equal "$(cat "$LOAD/load.status")" 0
	# its last statement: five events, each an EventId with its Ticks as in the truth
	assert_equal "$(wc -l <"$LOAD/load.out")" 5
	jq -r '[.EventId, .Timestamp.Ticks] | @tsv' "$LOAD/truth.events" | sort >"$BATS_TEST_TMPDIR/pairs"
	run bash -c "jq -r '[.[]] | @tsv' '$LOAD/load.out' | sort | comm -23 - '$BATS_TEST_TMPDIR/pairs'"
	assert_success
	assert_output ''
	for t in workers products card events documents; do
		run sql <<<"SELECT count(*) AS n FROM $t"
		assert_output "{\"n\":\"$(wc -l <"$LOAD/truth.$t" | tr -d ' ')\"}"
	done
}

@test "load-duckdb: Data Mill workers, typed: dates as DATE, every value as in the ground truth" {
	run column_types workers
	assert_line 'BirthDate DATE'
	assert_line 'HireDate DATE'
	assert_line 'LastName VARCHAR'
	assert_line 'Salary VARCHAR'
	assert_equal "$(column_types workers | grep -vc -e ' VARCHAR$' -e ' DATE$')" 0
	same_rows 'SELECT * FROM workers' workers
	same_count workers 'Ёлкин'
	same_count workers '\\'
	same_count workers '\"'
	same_count workers '😀'
	same_count workers 'null'
	# nulls are NULL, not 'null' strings
	run sql <<<"SELECT count(*) AS n FROM workers WHERE Note IS NULL"
	assert_output "{\"n\":\"$(jq -s 'map(select(.Note == null)) | length' "$LOAD/truth.workers")\"}"
}

@test "load-duckdb: Mercury products, typed: UUID and TIMESTAMP (UTC) as the README says, the rest byte for byte" {
	run column_types products
	assert_line 'guid UUID'
	assert_line 'createDate TIMESTAMP'
	assert_line 'name VARCHAR'
	assert_line 'englishName VARCHAR'
	# the truth as the README says DuckDB stores it: ISO date-times with an offset in UTC,
	# keys a record lacks as null
	same_rows 'SELECT * FROM products' products '
		def utc: (.[19:20] | if . == "+" then 1 else -1 end) as $sign |
			((.[0:19] + "Z" | fromdateiso8601) - $sign * ((.[20:22] | tonumber) * 3600 + (.[23:25] | tonumber) * 60)) |
			strftime("%Y-%m-%d %H:%M:%S");
		{previous: null, englishName: null} + . | .createDate |= utc | .updateDate |= utc'
	same_count products 'мёд'
	same_count products '«'
	same_count products 'null'
	run sql <<<"SELECT createDate::VARCHAR AS c FROM products WHERE guid = '$(jq -r 'select(.createDate | endswith("+04:00")) | .guid' "$LOAD/truth.products" | head -n 1)'"
	assert_output --regexp '^\{"c":"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}"\}$'
}

@test "load-duckdb: DocsVision card rows, typed: a Windows path with Cyrillic and backslashes intact" {
	run column_types card
	assert_line 'RowID UUID'
	assert_line 'Created TIMESTAMP'
	assert_line 'Title VARCHAR'
	same_rows 'SELECT * FROM card' card '.RowID |= ascii_downcase | .Created |= sub("T"; " ")'
	same_count card '𝄞'
	same_count card '\\'
	same_count card 'null'
	run sql <<<"SELECT Title FROM card WHERE Title LIKE 'C:%Temp%'"
	assert_line --index 0 '{"Title":"C:\\Temp\\новая папка\\файл.txt"}'
}

@test "load-duckdb: Diadoc events and packet documents: read_json_objects keeps each record, 64-bit integers as strings" {
	# each row's JSON text, canonically, against the truth
	sql <<<'SELECT doc FROM events' | jq -c '.doc | fromjson' | jq -cS . | LC_ALL=C sort >"$BATS_TEST_TMPDIR/db"
	jq -cS . "$LOAD/truth.events" | LC_ALL=C sort >"$BATS_TEST_TMPDIR/truth"
	cmp "$BATS_TEST_TMPDIR/db" "$BATS_TEST_TMPDIR/truth"
	same_count events '\n'
	same_count events '\\'
	# Ticks above 2^53: a double would round them; doc->> gives the string as written
	sql <<<"SELECT doc->>'\$.EventId' AS id, doc->>'\$.Timestamp.Ticks' AS ticks FROM events" |
		jq -r '[.id, .ticks] | @tsv' | sort >"$BATS_TEST_TMPDIR/db.ticks"
	jq -r '[.EventId, .Timestamp.Ticks] | @tsv' "$LOAD/truth.events" | sort >"$BATS_TEST_TMPDIR/truth.ticks"
	cmp "$BATS_TEST_TMPDIR/db.ticks" "$BATS_TEST_TMPDIR/truth.ticks"
	run sql <<<"SELECT count(*) AS n FROM events WHERE (doc->>'\$.Timestamp.Ticks')::HUGEINT > 9007199254740992"
	assert_output '{"n":"400"}'
	sql <<<'SELECT doc FROM documents' | jq -c '.doc | fromjson' | jq -cS . | LC_ALL=C sort >"$BATS_TEST_TMPDIR/db"
	jq -cS . "$LOAD/truth.documents" | LC_ALL=C sort >"$BATS_TEST_TMPDIR/truth"
	cmp "$BATS_TEST_TMPDIR/db" "$BATS_TEST_TMPDIR/truth"
	run sql <<<"SELECT count(*) AS n FROM documents WHERE doc->>'\$.Document.DocumentInfo.PacketInfo.PacketId' IS NOT NULL"
	assert_output '{"n":"250"}'
}
