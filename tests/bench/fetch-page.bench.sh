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
measure "curl -s $url" curl -s "$url"
curl_wall=$LAST_WALL
measure "fetch-page $url" fetch-page "$url"
fp_wall=$LAST_WALL
measure "curl -s (again)" curl -s "$url"
curl_wall=$(echo "if ($LAST_WALL < $curl_wall) $LAST_WALL else $curl_wall" | bc)
measure "fetch-page (again)" fetch-page "$url"
fp_wall=$(echo "if ($LAST_WALL < $fp_wall) $LAST_WALL else $fp_wall" | bc)
echo "wall ratio fetch-page/curl (best of 2 each): $(ratio "$fp_wall" "$curl_wall") (target <= 1.10)"
