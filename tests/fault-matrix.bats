#!/usr/bin/env bats
# fault-matrix: every pipeline x every fault class the emulator injects (tests/emulator/
# README.md "Faults"), once (the 2nd request to the API) or persistent (every request from
# the 2nd on): transient classes persistent, so that retries run out and the failure and the
# resume are exercised; the others once (FAULT_MATRIX_FULL=1: both, for every class). A run must either match the emulator's ground truth exactly (nothing
# lost, nothing duplicated) or fail with an exit status the pipeline documents, leaving a
# --state from which a second run (faults cleared, same --state and -o) completes exactly.
# A zero exit with output other than the truth — a silently short or doubled output — is
# the failure this file exists to catch. The matrix is printed as a table (TAP comments).
load helpers
pipeline_suite

# Small datasets (3-5 pages each), short timeouts: the whole matrix stays within minutes.
COMMON=(-q --retry 1 --retry-delay 0.1 --stall-time 1 --max-time 15 --connect-timeout 3)
PIPES="mercury-products datamill-xml datamill-json diadoc-events diadoc-packet docsvision-card"
# kind → the emulator's parameters for it (the API and the timing are added per cell)
declare -gA KIND=(
	[http-503]='kind=http&status=503'
	[http-429]='kind=http&status=429&retry_after=1'
	[http-500]='kind=http&status=500'
	[refuse]='kind=refuse&seconds=1'
	[close]='kind=close'
	[stall]='kind=stall&seconds=3'
	[drip]='kind=drip&bytes_per_sec=200000'
	[malformed]='kind=malformed'
	[truncated]='kind=truncated'
	[soap_fault]='kind=soap_fault'
	[api_error]='kind=api_error&status=500'
	[expire_handle]='kind=expire_handle'
	[insert]='kind=insert&count=7'
	[wrong_type]='kind=wrong_type'
	[keeper-kill]='kind=drip&bytes_per_sec=4000'
)
KINDS="http-503 http-429 http-500 refuse close stall drip malformed truncated soap_fault api_error expire_handle insert wrong_type keeper-kill"
# the mode each kind runs in by default
declare -gA MODE=([http-503]=persistent [http-429]=persistent [http-500]=persistent
	[refuse]=persistent [close]=persistent [stall]=persistent [soap_fault]=persistent
	[api_error]=persistent)
# the kinds each API can be given (faults.py KINDS)
declare -gA ONLY=([soap_fault]="mercury docsvision" [api_error]="diadoc-events diadoc-packet datamill"
	[expire_handle]=datamill [insert]=mercury)

# keeper-kill is no emulator fault: the run's connection keeper (fetch-keeper) is killed
# with -9 while its 2nd request drips; that page fails (75) and is retried, and later pages
# make their own connections (or use a new keeper).
kill_keeper_in_flight() {
	local i
	for i in $(seq 1 200); do
		[ "$(emu_ctl faults | jq '[.[].fired] | add // 0')" -gt 0 ] && break
		sleep 0.05
	done
	local pids
	pids=$(our_keepers)
	[ -z "$pids" ] || kill -9 $pids 2>/dev/null || true
	echo "$pids" | grep -c . >"$BATS_TEST_TMPDIR/killed"
}

# The control API shares the port that `refuse` closes: its calls wait for it to come back.
emu_ctl() {
	local p=$1
	shift
	curl -fsS --retry 10 --retry-connrefused --retry-delay 1 "$@" "$EMU/_emulator/$p"
}

setup_file() {
	emu_start --records 0
	export MATRIX="$BATS_FILE_TMPDIR/matrix"
	: >"$MATRIX"
}

teardown_file() {
	emu_stop
}

# api PIPE, and the pipeline's dataset, run and truth
api() {
	case $1 in
	mercury-products) echo mercury ;;
	datamill-*) echo datamill ;;
	docsvision-card) echo docsvision ;;
	*) echo "$1" ;;
	esac
}

dataset() {
	case $1 in
	mercury-products) reset 'mercury_records=240' ;;
	datamill-*) reset 'datamill_records=100&datamill_max_objects=30' ;;
	diadoc-events) reset 'diadoc_events_records=100' ;;
	diadoc-packet) reset 'records=0' ;;
	docsvision-card) reset 'records=0' ;;
	esac
}

info() { emu_ctl info | jq -r "$1"; }

pipe() {
	local p=$1
	shift
	case $p in
	mercury-products) timeout 120 mercury-products --base-url "$EMU" --type 5 --count 25 "${COMMON[@]}" "$@" ;;
	datamill-xml) timeout 120 datamill-cursor --base-url "$EMU/datamill" --format xml "${COMMON[@]}" "$@" ;;
	datamill-json) timeout 120 datamill-cursor --base-url "$EMU/datamill" --format json "${COMMON[@]}" "$@" ;;
	diadoc-events) timeout 120 diadoc-events --base-url "$EMU" --box "$BOX" --api-version 5 --limit 30 "${COMMON[@]}" "$@" ;;
	diadoc-packet) timeout 120 diadoc-packet --base-url "$EMU" --box "$BOX" --api-version 5 --count 30 \
		--packet "$(info '.packets[] | select(.name == "hundred") | .id')" "${COMMON[@]}" "$@" ;;
	docsvision-card) timeout 120 docsvision-card --base-url "$EMU" "${COMMON[@]}" "$@" \
		"$(info '.cards[] | select(.name == "medium") | .id')" ;;
	esac
}

truth() {
	case $1 in
	mercury-products) echo 'mercury?productType=5' ;;
	datamill-*) echo datamill ;;
	diadoc-events) echo 'diadoc-events?version=5' ;;
	diadoc-packet) echo "diadoc-packet?version=5&packetId=$(info '.packets[] | select(.name == "hundred") | .id')" ;;
	docsvision-card) echo "docsvision?card=$(info '.cards[] | select(.name == "medium") | .id')" ;;
	esac
}

# The failure statuses a pipeline documents: its man page's EXIT STATUS, else DESIGN.md's.
documented() {
	local man="$ROOT/man/${1%-xml}.1"
	man=${man%-json.1}
	[ -e "$man" ] || man="$ROOT/man/${1%-*}.1"
	if [ -e "$man" ]; then
		sed -n '/^\.Sh EXIT STATUS/,/^\.Sh/p' "$man" | grep -oE '^\.It (Sy |Li |Cm )?[0-9]+' |
			grep -oE '[0-9]+' | grep -vx 0 | tr '\n' ' '
	else
		echo "1 3 69 75"
	fi
}

# exact FILE PIPE: FILE holds the truth, each record once (same_as_truth, quietly).
exact() {
	same_as_truth "$1" "$(truth "$2")" 2>"$BATS_TEST_TMPDIR/diff"
}

# cell PIPE KIND MODE: one run (and a resume if it failed); appends a row to the matrix
# and returns 1 on a violation.
cell() {
	local p=$1 k=$2 mode=$3 a st out rc rc2 verdict ok=0 when t0=$SECONDS
	a=$(api "$p")
	dataset "$p"
	[ "$mode" = once ] && when='on=2' || when="on=$(seq -s, 2 60)"
	fault "api=$a&${KIND[$k]}&$when"
	st="$BATS_TEST_TMPDIR/$p.$k.$mode.state" out="$BATS_TEST_TMPDIR/$p.$k.$mode.out"
	rm -f "$st"* "$out"
	rc=0
	local killer=
	if [ "$k" = keeper-kill ]; then
		export KEEPER_MARK="$BATS_TEST_TMPDIR/$p"
		kill_keeper_in_flight &
		killer=$!
	fi
	pipe "$p" --state "$st" -o "$out" 2>"$BATS_TEST_TMPDIR/err" || rc=$?
	local fired
	fired=$(emu_ctl faults | jq '[.[].fired] | add // 0')
	if [ -n "$killer" ]; then
		wait "$killer"
		fired="$(cat "$BATS_TEST_TMPDIR/killed")k"	# keeper processes killed
	fi
	if [ "$rc" -eq 0 ]; then
		if exact "$out" "$p"; then
			verdict="exact"
		else
			verdict="WRONG: exit 0, $(count "$out") records, not the truth"
			ok=1
		fi
	elif [[ " $(documented "$p") " != *" $rc "* ]]; then
		verdict="WRONG: exit $rc is not documented ($(documented "$p"))"
		ok=1
	elif ! ls "$st"* >/dev/null 2>&1; then
		verdict="WRONG: exit $rc without a --state file"
		ok=1
	else
		emu_ctl faults -X DELETE >/dev/null
		rc2=0
		pipe "$p" --state "$st" -o "$out" 2>>"$BATS_TEST_TMPDIR/err" || rc2=$?
		if [ "$rc2" -eq 0 ] && exact "$out" "$p"; then
			verdict="exit $rc, resumed exact"
		else
			verdict="WRONG: exit $rc, resume exit $rc2, $(count "$out") records"
			ok=1
		fi
	fi
	printf '%s|%s|%s|%s|%s|%s\n' "$p" "$k" "$mode" "$fired" "$verdict" "$((SECONDS - t0))" >>"$MATRIX"
	if [ "$ok" -ne 0 ]; then
		echo "# $p $k $mode: $verdict" >&3
		sed 's/^/#   /' "$BATS_TEST_TMPDIR/err" | tail -n 4 >&3
		sed 's/^/#   /' "$BATS_TEST_TMPDIR/diff" | head -n 4 >&3
	fi
	return "$ok"
}

# row PIPE: every kind that applies to the pipeline's API, in its mode (or both).
row() {
	local p=$1 a k m bad=0
	a=$(api "$p")
	for k in $KINDS; do
		[ -z "${ONLY[$k]:-}" ] || [[ " ${ONLY[$k]} " == *" $a "* ]] || continue
		for m in once persistent; do
			[ "${FAULT_MATRIX_FULL:-0}" = 1 ] || [ "${MODE[$k]:-once}" = "$m" ] || continue
			cell "$p" "$k" "$m" || bad=1
		done
	done
	return "$bad"
}

@test "fault-matrix: mercury-products under every fault" {
	row mercury-products
}

@test "fault-matrix: datamill-cursor --format xml under every fault" {
	row datamill-xml
}

@test "fault-matrix: datamill-cursor --format json under every fault" {
	row datamill-json
}

@test "fault-matrix: diadoc-events under every fault" {
	row diadoc-events
}

@test "fault-matrix: diadoc-packet under every fault" {
	row diadoc-packet
}

@test "fault-matrix: docsvision-card under every fault" {
	row docsvision-card
}

@test "fault-matrix: the table (pipeline x fault; fired = injections; never a silent short output)" {
	{
		printf '# %-16s | %-13s | %-10s | %5s | %4s | %s\n' pipeline fault mode fired secs outcome
		printf '# %s\n' "-----------------+---------------+------------+-------+------+-------------------------------"
		awk -F'|' '{ printf "# %-16s | %-13s | %-10s | %5s | %4s | %s\n", $1, $2, $3, $4, $6, $5 }' "$MATRIX"
		printf '# %d runs: %d exact, %d failed as documented and resumed exactly, %d WRONG\n' \
			"$(wc -l <"$MATRIX")" "$(grep -c '|exact|' "$MATRIX")" "$(grep -c 'resumed exact' "$MATRIX")" \
			"$(grep -c '|WRONG' "$MATRIX")"
	} >&3
	[ -s "$MATRIX" ]
	! grep -q '|WRONG' "$MATRIX"
}
