# Shared by the benchmarks: measure LABEL CMD… runs CMD once (stdout to /dev/null)
# and prints one table row: wall seconds, CPU seconds, peak RSS in MiB.
BENCH_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export PATH="$BENCH_ROOT/bin:$BENCH_ROOT/pipelines:$PATH"
BENCH_DATA="${BENCH_DATA:-$BENCH_ROOT/build/bench}"
mkdir -p "$BENCH_DATA"

bench_header() {
	printf '\n== %s ==\n' "$1"
	printf '%-58s %9s %9s %10s\n' command wall_s cpu_s peak_MiB
}

# measure LABEL CMD…; sets LAST_WALL for ratios.
measure() {
	local label=$1; shift
	local t; t=$(mktemp)
	/usr/bin/time -f '%e %U %S %M' -o "$t" "$@" >/dev/null 2>"$t.err"
	local rc=$?
	read -r LAST_WALL user sys rss < <(tail -n 1 "$t")
	LAST_CPU=$(echo "$user + $sys" | bc)
	printf '%-58s %9s %9s %10.1f%s\n' "$label" "$LAST_WALL" "$LAST_CPU" "$(echo "$rss / 1024" | bc -l)" \
		"$([ $rc -ne 0 ] && echo "  (exit $rc: $(head -c 200 "$t.err" | tr '\n' ' '))")"
	rm -f "$t" "$t.err"
}

ratio() { if [ -n "${1:-}" ] && [ -n "${2:-}" ]; then echo "scale=2; $1 / $2" | bc; else echo -; fi; }
