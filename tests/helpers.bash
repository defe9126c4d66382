# The one helpers file, loaded by every bats file (`load helpers`): PATH to the built filters
# and pipelines, bats-assert, the emulator's start/stop for suites that need a real HTTP
# server, and helpers shared by several suites. A suite opts into a kind with one line after
# `load helpers`: `pipeline_suite` (a pipeline against the emulator) or `paginate_suite`
# (paginate with scripted page commands).
ROOT="$(cd "$BATS_TEST_DIRNAME/.." && pwd)"
# PAGEPULL_BIN lets the same suites run against another build (e.g. the sanitizer build).
BIN="${PAGEPULL_BIN:-$ROOT/bin}"
export PATH="$BIN:$ROOT/pipelines:$PATH"
export PAGEPULL_DESC="$ROOT/build/diadoc.desc"
FIX="$ROOT/tests/fixtures"
load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

# emu_start [OPTIONS…]: start tests/emulator/run with OPTIONS in the background (call it
# from setup_file); exports EMU (the base URL) and EMU_PID. emu_stop ends it.
emu_start() {
	local out="$BATS_FILE_TMPDIR/emu.$$.out"
	"$ROOT/tests/emulator/run" "$@" >"$out" 2>"$BATS_FILE_TMPDIR/emu.err" &
	EMU_PID=$!
	local i
	for i in $(seq 1 200); do
		[ -s "$out" ] && break
		kill -0 "$EMU_PID" 2>/dev/null || { cat "$BATS_FILE_TMPDIR/emu.err" >&2; return 1; }
		sleep 0.05
	done
	EMU=$(head -n 1 "$out")
	export EMU EMU_PID
}

emu_stop() {
	[ -n "${EMU_PID:-}" ] && kill "$EMU_PID" 2>/dev/null && wait "$EMU_PID" 2>/dev/null
	return 0
}

# emu_ctl PATH [curl args…]: a call to the emulator's control API (/_emulator/...).
emu_ctl() {
	local p=$1; shift
	curl -fsS "$@" "$EMU/_emulator/$p"
}

# peak_rss_kib CMD…: runs CMD (stdout to /dev/null), prints its peak RSS in KiB.
# In the sanitizer pass (tests/tools/run.sh sets PAGEPULL_SANITIZED) RSS is mostly ASan's shadow
# memory: CMD still runs, under the sanitizers, but 0 is printed; the bounds are checked
# by the normal pass.
peak_rss_kib() {
	/usr/bin/time -f '%M' -o "$BATS_TEST_TMPDIR/rss" "$@" >/dev/null 2>&1
	[ -z "${PAGEPULL_SANITIZED:-}" ] || { echo 0; return 0; }
	cat "$BATS_TEST_TMPDIR/rss" | tail -n 1
}

# free_port: a port nobody listens on now.
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# --- pipeline suites ----------------------------------------------------------------------

# pipeline_suite: the emulator's default credentials for the pipelines, exported, and one
# emulator a file, empty until a test resets it to the dataset it needs; a suite that wants
# other start options defines its own setup_file after calling this.
pipeline_suite() {
	bats_require_minimum_version 1.5.0
	export MERCURY_USER=mercury MERCURY_PASSWORD=mercury-secret
	export DIADOC_CLIENT_ID=pagepull-demo DIADOC_TOKEN=diadoc-secret-token
	export DOCSVISION_USER=docsvision DOCSVISION_PASSWORD=dv-secret
	unset DIADOC_AUTH DOCSVISION_SESSION DIADOC_BOX_ID
	BOX=b7c5d2a0-6f1e-4c3b-9a8d-2e5f7a9c1b3d
	setup_file() { emu_start --records 0; }
	teardown_file() { emu_stop; }
}

# The checks every pipeline suite makes against the emulator's ground truth.

# reset QUERY: a new dataset in the running emulator (faults, log and counters cleared).
reset() {
	emu_ctl "reset?$1" -X POST >/dev/null
}

# fault SPEC: one more fault rule.
fault() {
	emu_ctl "faults?$1" -X POST >/dev/null
}

# same_as_truth FILE TRUTH: FILE holds exactly the records of truth/TRUTH, each once
# (sorted canonical lines compared; a diff of the first differences on failure).
same_as_truth() {
	emu_ctl "truth/$2" | jq -cS . | LC_ALL=C sort >"$BATS_TEST_TMPDIR/truth"
	jq -cS . "$1" | LC_ALL=C sort >"$BATS_TEST_TMPDIR/got"
	if ! cmp -s "$BATS_TEST_TMPDIR/truth" "$BATS_TEST_TMPDIR/got"; then
		echo "records differ from truth/$2: $(wc -l <"$BATS_TEST_TMPDIR/got") got, $(wc -l <"$BATS_TEST_TMPDIR/truth") expected" >&2
		diff "$BATS_TEST_TMPDIR/truth" "$BATS_TEST_TMPDIR/got" | cut -c1-200 | head -n 6 >&2
		return 1
	fi
}

# count FILE: its number of lines.
count() { wc -l <"$1" | tr -d ' '; }

# requests API [OP]: how many requests the emulator's log holds for API (and SOAP op).
requests() {
	emu_ctl "log?api=$1" | jq -s --arg op "${2:-}" 'map(select($op == "" or .op == $op)) | length'
}

# kill_when FILE JQ-COND -- CMD…: runs CMD in a session of its own and kill -9s the whole
# session as soon as the JSON file FILE (a paginate checkpoint) satisfies JQ-COND; fails
# if CMD ended first. Polls; never waits more than 60 s.
kill_when() {
	local file=$1 cond=$2 i
	shift 3
	setsid "$@" &
	local pid=$!
	for i in $(seq 1 1200); do
		if [ -s "$file" ] && jq -e "$cond" "$file" >/dev/null 2>&1; then
			kill -9 -- "-$pid"
			wait "$pid" 2>/dev/null || true
			return 0
		fi
		kill -0 "$pid" 2>/dev/null || { echo "kill_when: the command ended first" >&2; return 1; }
		sleep 0.05
	done
	kill -9 -- "-$pid"
	echo "kill_when: $file never satisfied $cond" >&2
	return 1
}

# help_matches_man NAME: the long options of --help and of the man page's SYNOPSIS are the
# same, and each is described in the man page.
help_matches_man() {
	local man="$ROOT/man/$1.1" opt
	[ -f "$man" ] || { echo "no man page $man" >&2; return 1; }
	mandoc -T ascii "$man" | col -b >"$BATS_TEST_TMPDIR/man"
	sed -n '/^SYNOPSIS/,/^DESCRIPTION/p' "$BATS_TEST_TMPDIR/man" |
		grep -o -- '--[a-z][a-z0-9-]*' | sort -u >"$BATS_TEST_TMPDIR/syn"
	"$1" --help | grep -o -- '--[a-z][a-z0-9-]*' | sort -u >"$BATS_TEST_TMPDIR/help"
	diff "$BATS_TEST_TMPDIR/help" "$BATS_TEST_TMPDIR/syn" >&2 || return 1
	for opt in $(cat "$BATS_TEST_TMPDIR/help"); do
		[ "$(grep -c -- "$opt\b" "$BATS_TEST_TMPDIR/man")" -ge 2 ] ||
			{ echo "$1: $opt is not described" >&2; return 1; }
	done
}

# our_keepers: the pids of the fetch-keeper processes (a keeper and its workers) whose
# environment holds KEEPER_MARK=$KEEPER_MARK: those of this test's runs, never another's.
our_keepers() {
	local p
	for p in $(pgrep -x fetch-keeper); do
		[ "$(head -zn 1 "/proc/$p/cmdline" 2>/dev/null | tr -d '\0')" = fetch-keeper ] || continue
		tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qxF "KEEPER_MARK=$KEEPER_MARK" && echo "$p"
	done
	return 0
}

# --- paginate suites ----------------------------------------------------------------------

# paginate_suite: paginate with the scripted page commands of tests/fixtures/paginate (P):
# each test runs in its own temporary directory, the page commands' variables cleared;
# ids FROM TO prints the records {"id":FROM} … {"id":TO}, one a line; page DIR NAME LINE…
# writes a page file for `serve` ('@' starts a control line).
paginate_suite() {
	bats_require_minimum_version 1.5.0
	P="$FIX/paginate"
	setup() {
		cd "$BATS_TEST_TMPDIR" || return 1
		export SERVE_STATE="$BATS_TEST_TMPDIR/attempts"
		unset TOTAL CLAMP NOTOTAL HASMORE PASTEND STUCK NPAGES WAITFOR SERVE_LOG
	}
	ids() { seq -f '{"id":%.0f}' "$1" "$2"; }
	page() {
		mkdir -p "$1"
		local f="$1/$2"
		shift 2
		if [ $# -eq 0 ]; then : >"$f"; else printf '%s\n' "$@" >"$f"; fi
	}
}
