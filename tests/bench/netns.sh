# tests/bench/netns.sh — sourced by latency.bench.sh: a 20 ms round trip between two
# network namespaces, pp-cli (10.77.0.1) and pp-srv (10.77.0.2), joined by two TUN
# devices and netdelay (a user-space forwarder holding each packet NETNS_DELAY_MS each
# way; this kernel has no netem). Needs root. netns_up / netns_down; netns_up returns 1
# (and says why) when it cannot be done here.
NETNS_CLI=pp-cli NETNS_SRV=pp-srv
NETNS_CLI_ADDR=10.77.0.1 NETNS_SRV_ADDR=10.77.0.2
NETNS_DELAY_MS=${NETNS_DELAY_MS:-10}
NETNS_DELAY_PID=

netns_up() {
	[ "$(id -u)" -eq 0 ] || { echo "needs root (network namespaces, TUN devices): skipped"; return 1; }
	[ -c /dev/net/tun ] || { echo "no /dev/net/tun: skipped"; return 1; }
	netns_down 2>/dev/null
	cc -O2 -D_GNU_SOURCE -o "$BENCH_DATA/netdelay" "$BENCH_ROOT/tests/bench/netdelay.c" || return 1
	ip netns add "$NETNS_CLI" && ip netns add "$NETNS_SRV" || return 1
	local fifo="$BENCH_DATA/netdelay.out"
	rm -f "$fifo"
	"$BENCH_DATA/netdelay" ppt-cli ppt-srv "$NETNS_DELAY_MS" >"$fifo" &
	NETNS_DELAY_PID=$!
	local i
	for i in $(seq 1 100); do [ -s "$fifo" ] && break; sleep 0.02; done
	ip link set ppt-cli netns "$NETNS_CLI" && ip link set ppt-srv netns "$NETNS_SRV" || return 1
	ip -n "$NETNS_CLI" addr add "$NETNS_CLI_ADDR/24" dev ppt-cli
	ip -n "$NETNS_SRV" addr add "$NETNS_SRV_ADDR/24" dev ppt-srv
	for ns in "$NETNS_CLI:ppt-cli" "$NETNS_SRV:ppt-srv"; do
		ip -n "${ns%%:*}" link set lo up
		ip -n "${ns%%:*}" link set "${ns#*:}" up
	done
	return 0
}

netns_down() {
	[ -z "$NETNS_DELAY_PID" ] || kill "$NETNS_DELAY_PID" 2>/dev/null
	[ -z "$NETNS_DELAY_PID" ] || wait "$NETNS_DELAY_PID" 2>/dev/null
	NETNS_DELAY_PID=
	ip netns del "$NETNS_CLI" 2>/dev/null
	ip netns del "$NETNS_SRV" 2>/dev/null
	return 0
}
