#!/usr/bin/env bats
# readme: the README's worked examples, taken from README.md as they are printed, run against
# `make emulator` (tests/emulator/run --banner) with its printed export lines in place of
# the examples' own: the one substitution the README documents.
# Also the recipe for another paginated API, against a stand-in for api.example
# (tests/fixtures/items-api.py), its URL the one substitution.
# And the jq recipes, on the pipelines' files from that emulator.
load helpers
bats_require_minimum_version 1.5.0

setup_file() {
	local out="$BATS_FILE_TMPDIR/banner" i
	"$ROOT/tests/emulator/run" --banner >"$out" 2>"$BATS_FILE_TMPDIR/emu.err" &
	echo $! >"$BATS_FILE_TMPDIR/emu.pid"
	for i in $(seq 1 200); do
		grep -q '^# Ctrl-C stops the emulator' "$out" && return 0
		sleep 0.05
	done
	cat "$BATS_FILE_TMPDIR/emu.err" >&2
	return 1
}

teardown_file() {
	local pid
	pid=$(cat "$BATS_FILE_TMPDIR/emu.pid")
	kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	return 0
}

# The ```sh blocks of "## One worked example per API", up to its first ### heading, each
# into $BATS_FILE_TMPDIR/example.N.sh; prints N.
extract() {
	awk -v dir="$BATS_FILE_TMPDIR" '
		/^## One worked example per API/ { on = 1; next }
		on && /^##/ { exit }
		on && /^```sh$/ { n++; f = dir "/example." n ".sh"; inblock = 1; printf "" >f; next }
		inblock && /^```$/ { inblock = 0; close(f); next }
		inblock { print >>f }
		END { print n }' "$ROOT/README.md"
}

@test "readme: make emulator prints the base URL first, then the credentials and export lines" {
	local b="$BATS_FILE_TMPDIR/banner"
	run head -n 1 "$b"
	assert_output --regexp '^http://127\.0\.0\.1:[0-9]+$'
	local url=$output
	run cat "$b"
	assert_line --index 1 '# credentials: Mercury mercury / mercury-secret (HTTP Basic), DocsVision docsvision / dv-secret (HTTP Basic),'
	assert_line "export MERCURY_BASE_URL='$url' MERCURY_USER='mercury' MERCURY_PASSWORD='mercury-secret'"
	assert_line "export DATAMILL_BASE_URL='$url/datamill'"
	assert_line "export DIADOC_BASE_URL='$url' DIADOC_CLIENT_ID='pagepull-demo' DIADOC_TOKEN='diadoc-secret-token'"
	assert_line "export DOCSVISION_BASE_URL='$url' DOCSVISION_USER='docsvision' DOCSVISION_PASSWORD='dv-secret'"
}

@test "readme: the worked examples run against the emulator as printed, less their export lines" {
	run extract
	assert_output 5
	cd "$BATS_TEST_TMPDIR"
	local i
	for i in 1 2 3 4 5; do
		# Two shells' worth: the lines make emulator printed, then the example less its exports.
		{
			grep '^export ' "$BATS_FILE_TMPDIR/banner"
			grep -v '^export ' "$BATS_FILE_TMPDIR/example.$i.sh"
		} >"run.$i.sh"
		run bash -c "bash -eo pipefail run.$i.sh 2>err.$i"
		echo "example $i: $(cat "$BATS_FILE_TMPDIR/example.$i.sh"; cat "err.$i")" >&2
		assert_success
		# each prints a table of what it fetched (stdout alone): at least two rows
		[ "$(printf '%s\n' "$output" | grep -c .)" -ge 2 ]
	done
	# the files the examples wrote hold what the emulator has
	[ "$(wc -l <products-5.ndjson)" -eq 750 ]
	[ "$(wc -l <card.ndjson)" -eq 120 ]
	[ -s january.ndjson ] && [ -s young.ndjson ]
}

# recipe: the ```sh block of the README's "Another paginated API, from the filters alone".
recipe() {
	awk '/^### Another paginated API/ { on = 1; next }
		on && /^##/ { exit }
		on && /^```sh$/ { inblock = 1; next }
		inblock && /^```$/ { exit }
		inblock { print }' "$ROOT/README.md"
}

teardown() {
	[ -f "$BATS_TEST_TMPDIR/api.pid" ] && kill "$(cat "$BATS_TEST_TMPDIR/api.pid")" 2>/dev/null
	return 0
}

@test "readme: the recipe for another paginated API runs as printed against a stand-in; a misspelt --records or --total-field is exit 1" {
	cd "$BATS_TEST_TMPDIR"
	python3 "$ROOT/tests/fixtures/items-api.py" 1234 items-token >api.url 2>api.err &
	echo $! >api.pid
	local i url
	for i in $(seq 1 200); do
		[ -s api.url ] && break
		sleep 0.05
	done
	url=$(head -n 1 api.url)
	[ -n "$url" ] || { cat api.err >&2; false; }
	# the one substitution: the stand-in's URL for api.example's
	recipe >recipe.sh
	grep -qF -- "--expand-url 'https://api.example/v1/items?offset={{PAGE_OFFSET}}&limit={{PAGE_SIZE}}'" recipe.sh
	sed "s|https://api\.example/|$url/|" recipe.sh >run.sh
	export MY_TOKEN=items-token
	run --separate-stderr bash -eo pipefail run.sh
	assert_success
	assert_equal "${#lines[@]}" 1234
	assert_equal "$stderr" "paginate: stop: offset 1234 reached the total 1234; 7 pages, 1234 records"
	curl -fsS "$url/v1/truth" >truth.ndjson
	cmp items.ndjson truth.ndjson
	# the mistakes the README names: no records against a total of 1234, and a total field
	# that no page carries; each is exit 1, never 0
	sed 's/--records \.items /--records .itemz /' run.sh >typo.sh
	! cmp -s run.sh typo.sh
	rm -f items.ndjson items.state*
	run --separate-stderr bash -eo pipefail typo.sh
	assert_failure 1
	[[ $stderr == *"paginate: incomplete: 0 records, but the declared total is 1234"* ]] || fail "$stderr"
	sed 's/--total-field total /--total-field totl /' run.sh >typo.sh
	! cmp -s run.sh typo.sh
	rm -f items.ndjson items.state*
	run --separate-stderr bash -eo pipefail typo.sh
	assert_failure 1
	[[ $stderr == *"paginate: incomplete: no page declared --total-field totl"* ]] || fail "$stderr"
	# --allow-short, for an API whose totals are estimates: a warning, exit 0
	sed 's/--records \.items /--records .itemz /; s/^paginate /paginate --allow-short /' run.sh >typo.sh
	rm -f items.ndjson items.state*
	run --separate-stderr bash -eo pipefail typo.sh
	assert_success
	[[ $stderr == *"paginate: warning: 0 records, but the declared total is 1234 (--allow-short)"* ]] || fail "$stderr"
}

# jq_recipes: the README's "jq recipes" block, one recipe (comment and command) a file
# $BATS_TEST_TMPDIR/recipe.N; prints how many.
jq_recipes() {
	awk -v dir="$BATS_TEST_TMPDIR" '
		/^## jq recipes/ { on = 1; next }
		on && /^## / { exit }
		on && /^```sh$/ { inblock = 1; n = 1; next }
		inblock && /^```$/ { exit }
		inblock && /^$/ { n++; next }
		inblock { print >>(dir "/recipe." n) }
		END { print n }' "$ROOT/README.md"
}

@test "readme: the jq recipes run as printed on the pipelines' files, each with the answer the data gives" {
	cd "$BATS_TEST_TMPDIR"
	eval "$(grep '^export ' "$BATS_FILE_TMPDIR/banner")"
	local card
	card=$(curl -fsS "$MERCURY_BASE_URL/_emulator/info" | jq -r '.cards[] | select(.name == "medium") | .id')
	mercury-products -q -o products.ndjson
	datamill-cursor -q -o workers.ndjson
	diadoc-events -q --box "$BOX" -o events.ndjson
	docsvision-card -q -o card.ndjson "$card"
	# two snapshots: three records gone from the old one, one changed in the new one
	tail -n +4 products.ndjson >old.ndjson
	jq -c 'if input_line_number == 10 then .name = "renamed" else . end' products.ndjson >new.ndjson
	run jq_recipes
	assert_output 7
	local i
	for i in 1 2 3 4 5 6 7; do
		run bash -eo pipefail "recipe.$i"
		echo "recipe $i: $(cat "recipe.$i")" >&2
		assert_success
		case $i in
		1) assert_equal "$output" "$(jq -r .productType products.ndjson | sort | uniq -c)"
		   assert_equal "${#lines[@]}" 8 ;;
		2) assert_equal "$(jq '[.[]] | add' <<<"$output")" "$(wc -l <workers.ndjson | tr -d ' ')"
		   [ "$(jq length <<<"$output")" -gt 1 ] ;;
		3) # a name may hold a newline: CSV quotes it, so rows are counted by a CSV reader
		   assert_equal "$(python3 -c 'import csv; print(sum(1 for _ in csv.reader(open("products.csv", newline=""))))')" \
			"$(wc -l <products.ndjson | tr -d ' ')"
		   grep -q '^"[0-9a-f-]\{36\}","' products.csv ;;
		4) assert_equal "${#lines[@]}" "$(wc -l <events.ndjson)"
		   assert_line --index 0 --regexp '^20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$' ;;
		5) assert_equal "$(jq length <<<"$output")" \
			"$(jq -r .DocumentId.EntityId events.ndjson | sort -u | wc -l)" ;;
		6) assert_equal "${#lines[@]}" 4
		   assert_output --partial '"name":"renamed"' ;;
		7) assert_output --partial '"Number"' ;;
		esac
	done
}
