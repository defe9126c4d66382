#!/usr/bin/env bash
# make bench: every benchmark in tests/bench/*.bench.sh, one after the other, in one run.
cd "$(dirname "$0")" || exit 2
for b in *.bench.sh; do
	[ -e "$b" ] || continue
	bash "$b" || echo "bench $b: exit $?"
done
