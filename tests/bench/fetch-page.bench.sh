#!/usr/bin/env bash
# fetch-page against curl: a 1 GiB body from busybox httpd (sendfile, so the server is
# not the bottleneck) on loopback, each client once in the same run, body to /dev/null.
# Targets: wall time within 1.1x of curl's, peak RSS under 16 MiB.
source "$(dirname "$0")/lib.sh"

size_mib=${FETCH_PAGE_BENCH_MIB:-1024}
www="$BENCH_DATA/fetch-page"
mkdir -p "$www"
if [ "$(stat -c %s "$www/big.bin" 2>/dev/null)" != $((size_mib << 20)) ]; then
	rm -f "$www/big.bin"
	head -c $((size_mib << 20)) /dev/urandom > "$www/big.bin"
fi

port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
busybox httpd -f -p "127.0.0.1:$port" -h "$www" &
srv=$!
trap 'kill $srv 2>/dev/null' EXIT
url="http://127.0.0.1:$port/big.bin"
for i in $(seq 1 100); do
	curl -fsS -o /dev/null -r 0-0 "$url" 2>/dev/null && break
	sleep 0.05
done
cat "$www/big.bin" > /dev/null	# into the page cache before either client runs

bench_header "fetch-page: $size_mib MiB over loopback HTTP/1.1 (busybox httpd)"
min() { [ -z "$1" ] && echo "$2" || echo "if ($1 < $2) $1 else $2" | bc; }
best_curl= best_fp= cpu_curl= cpu_fp=
for round in 1 2 3 4 5; do	# alternating, best of 5 each: the machine is shared
	measure "curl -s URL > /dev/null (round $round)" curl -s "$url"
	best_curl=$(min "$best_curl" "$LAST_WALL") cpu_curl=$(min "$cpu_curl" "$LAST_CPU")
	measure "fetch-page URL > /dev/null (round $round)" fetch-page "$url"
	best_fp=$(min "$best_fp" "$LAST_WALL") cpu_fp=$(min "$cpu_fp" "$LAST_CPU")
done
echo "best wall: curl $best_curl s, fetch-page $best_fp s; ratio fetch-page/curl $(ratio "$best_fp" "$best_curl") (target <= 1.10)"
echo "best cpu:  curl $cpu_curl s, fetch-page $cpu_fp s; ratio $(ratio "$cpu_fp" "$cpu_curl"); peak RSS target < 16 MiB; load: $(cut -d' ' -f1-3 /proc/loadavg)"
