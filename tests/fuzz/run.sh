#!/usr/bin/env bash
# tests/fuzz/run.sh [-r] [-j JOBS] [-t SECONDS] [HARNESS...] — `make fuzz`: builds the libFuzzer
# harnesses (tests/fuzz/fuzz.mk → build/fuzz/fuzz-NAME), seeds each corpus from
# tests/fuzz/seeds/NAME and the test fixtures, and runs each harness for SECONDS
# (FUZZ_SECONDS, default 600), JOBS at a time (FUZZ_JOBS, default 1). A crash, a sanitizer
# report, a timeout (FUZZ_TIMEOUT s an input, default 10) or an OOM (FUZZ_RSS_MB, default
# 1024) is a finding: its input is kept in build/fuzz/findings/NAME/ and the run fails.
# Prints one line a harness: NAME, seconds, executions, corpus size, coverage, findings.
# The working corpora (build/fuzz/corpus/NAME) grow across runs; FUZZ_FRESH=1 starts anew.
# FUZZ_OUT (default build/fuzz) holds corpora, findings and logs, so that a long run and a
# short one (make check) can go on at once.
# -r: no fuzzing, each harness runs once over its seeds and tests/fuzz/regress/NAME (inputs
# that once were findings, kept as regression tests).
set -u
cd "$(dirname "$0")/../.." || exit 2
ROOT=$PWD
ALL="xml2ndjson json2ndjson pb2ndjson ndjson2pb paginate-ctl paginate-state"
secs=${FUZZ_SECONDS:-600} jobs=${FUZZ_JOBS:-1} replay=0
while getopts j:rt: opt; do
	case $opt in
	r) replay=1 ;;
	j) jobs=$OPTARG ;;
	t) secs=$OPTARG ;;
	*) echo "usage: tests/fuzz/run.sh [-r] [-j JOBS] [-t SECONDS] [HARNESS...]" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
names=${*:-$ALL}
fail=0
out=${FUZZ_OUT:-build/fuzz}
mkdir -p "$out"

[ -e build/google/protobuf/descriptor.pb-c.c ] && [ -e build/diadoc.desc ] ||
	make -s all >&2 || exit 1
make -s -k -f tests/fuzz/fuzz.mk -j2 objs >&2
built=
for n in $names; do
	if make -s -f tests/fuzz/fuzz.mk build/fuzz/fuzz-$n >&2; then
		built="$built $n"
	else
		echo "fuzz: $n: the harness does not build" >&2
		fail=1
	fi
done

# seed NAME: the committed seeds plus the fixtures of the harness's input type.
seed() {
	local n=$1 c=$out/corpus/$1 f
	[ "${FUZZ_FRESH:-0}" = 1 ] && rm -rf "$c"
	mkdir -p "$c" $out/findings/"$n"
	cp -f tests/fuzz/seeds/"$n"/* "$c"/ 2>/dev/null
	case $n in
	xml2ndjson) for f in $(find tests/fixtures -name '*.xml' -size -64k); do
			cp -f "$f" "$c/fix-$(echo "$f" | tr / _)"; done ;;
	json2ndjson) for f in $(find tests/fixtures -name '*.json' -size -64k); do
			cp -f "$f" "$c/fix-$(echo "$f" | tr / _)"; done ;;
	ndjson2pb) cp -f tests/fixtures/pb/*request*.json "$c"/ 2>/dev/null ;;
	pb2ndjson) # mode byte (see pb2ndjson.c) + message; delimited ones get a length varint
		/usr/bin/python3 - "$c" tests/fixtures/pb/*.pb <<'PY'
import os, sys
out = sys.argv[1]
def varint(n):
    b = bytearray()
    while True:
        b.append((n & 0x7f) | (0x80 if n > 0x7f else 0))
        n >>= 7
        if not n:
            return bytes(b)
for path in sys.argv[2:]:
    data = open(path, 'rb').read()
    base = os.path.basename(path)
    for mode in (0, 1, 4):
        open(os.path.join(out, 'fix-%d-%s' % (mode, base)), 'wb').write(bytes([mode]) + data)
    for mode in (2, 3):
        open(os.path.join(out, 'fix-%d-%s' % (mode, base)), 'wb').write(
            bytes([mode]) + (varint(len(data)) + data) * 2)
PY
		;;
	paginate-ctl) for f in $(find tests/fixtures/paginate -type f -size -16k ! -name serve); do
			{ printf '\x10'; sed 's/^@/\x1e/' "$f"; } >"$c/fix-$(echo "$f" | tr / _)"; done ;;
	esac
	return 0
}

# replay NAME: each seed and regression input once; status 1 if any fails.
replay() {
	local n=$1 empty=$out/replay-$1
	# (git keeps no empty folder: a harness without committed seeds gets one here)
	rm -rf "$empty" && mkdir -p "$empty" tests/fuzz/seeds/"$n" tests/fuzz/regress/"$n"
	FUZZ_ROOT=$ROOT ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		build/fuzz/fuzz-$n -runs=0 -close_fd_mask=2 "$empty" tests/fuzz/seeds/"$n" \
		tests/fuzz/regress/"$n" >$out/$n.replay.log 2>&1
	local rc=$? count
	count=$(cat tests/fuzz/seeds/"$n"/* tests/fuzz/regress/"$n"/* 2>/dev/null | wc -c)
	printf '%-15s replayed %3d inputs (%d bytes): %s\n' "$n" \
		"$(ls tests/fuzz/seeds/"$n" tests/fuzz/regress/"$n" | grep -vc -e : -e '^$')" "$count" \
		"$([ $rc -eq 0 ] && echo ok || echo "FAILED, see $out/$n.replay.log")"
	return $rc
}

# one NAME: runs the harness, then prints its summary line; status 1 on a finding.
one() {
	local n=$1 log=$out/$1.log dict=
	[ -e tests/fuzz/$n.dict ] && dict=-dict=tests/fuzz/$n.dict
	seed "$n"
	FUZZ_ROOT=$ROOT TMPDIR=${TMPDIR:-/tmp} ASAN_OPTIONS=detect_leaks=0:abort_on_error=0 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		build/fuzz/fuzz-$n -max_total_time="$secs" -timeout="${FUZZ_TIMEOUT:-10}" \
		-rss_limit_mb="${FUZZ_RSS_MB:-1024}" -max_len=65536 -close_fd_mask=2 \
		-print_final_stats=1 -artifact_prefix=$out/findings/$n/ $dict \
		$out/corpus/$n >"$log" 2>&1
	local rc=$? execs cov units
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | cut -d' ' -f2)
	units=$(find $out/corpus/"$n" -type f | wc -l)
	local found
	found=$(find $out/findings/"$n" -type f -newer "$log.start" | wc -l)
	printf '%-15s %6ss %12s execs %6s corpus %6s cov %3s findings\n' \
		"$n" "$secs" "${execs:-?}" "$units" "${cov:-?}" "$found"
	if [ "$rc" -ne 0 ] || [ "$found" -ne 0 ]; then
		echo "fuzz: $n: exit $rc; log $log:" >&2
		grep -E 'ERROR|SUMMARY|runtime error|Test unit written|==[0-9]+==' "$log" | head -20 >&2
		return 1
	fi
}

if [ "$replay" = 1 ]; then
	for n in $built; do
		replay "$n" || fail=1
	done
	exit $fail
fi
running=0
for n in $built; do
	touch $out/$n.log.start
	one "$n" &
	running=$((running + 1))
	if [ "$running" -ge "$jobs" ]; then
		wait -n || fail=1
		running=$((running - 1))
	fi
done
while [ "$running" -gt 0 ]; do
	wait -n || fail=1
	running=$((running - 1))
done
exit $fail
