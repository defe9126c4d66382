# Loaded by every bats file: PATH to the built filters and pipelines, bats-assert,
# and the emulator's start/stop for suites that need a real HTTP server.
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
# In the sanitizer pass (tests/run.sh sets PAGEPULL_SANITIZED) RSS is mostly ASan's shadow
# memory: CMD still runs, under the sanitizers, but 0 is printed; the bounds are checked
# by the normal pass.
peak_rss_kib() {
	/usr/bin/time -f '%M' -o "$BATS_TEST_TMPDIR/rss" "$@" >/dev/null 2>&1
	[ -z "${PAGEPULL_SANITIZED:-}" ] || { echo 0; return 0; }
	cat "$BATS_TEST_TMPDIR/rss" | tail -n 1
}
