#!/usr/bin/env bats
# The README's fan-out over several machines, for real: two "hosts" that are Debian's sshd
# (openssh-server) on 127.0.0.1 ports, each with its own config, host key and home, root login
# with a throw-away key only, `AcceptEnv MERCURY_* DIADOC_*`, and pagepull installed into a
# prefix of its own (`make install PREFIX=…`: the PATH of its ssh sessions). The README's
# commands, taken from README.md, run as printed with GNU parallel (PARALLEL_SSH names this
# file's ssh config, which sends MERCURY_* and DIADOC_*; the base URLs come from
# MERCURY_BASE_URL and DIADOC_BASE_URL), their gathered output compared with the emulator's
# ground truth; then a job is killed on its host and the command run again.
load helpers
pipeline_suite

# host NAME: an sshd on a free loopback port, with pagepull installed under $FAN/NAME/prefix.
host() {
	local h=$FAN/$1 port i
	mkdir -p "$h/home"
	port=$(free_port)
	ssh-keygen -q -t ed25519 -N '' -C "$1" -f "$h/host_key"
	cat >"$h/sshd_config" <<-EOF
		Port $port
		ListenAddress 127.0.0.1
		HostKey $h/host_key
		PidFile $h/sshd.pid
		AuthorizedKeysFile $FAN/authorized_keys
		PermitRootLogin prohibit-password
		PasswordAuthentication no
		KbdInteractiveAuthentication no
		UsePAM no
		StrictModes no
		LogLevel VERBOSE
		AcceptEnv MERCURY_* DIADOC_*
		SetEnv PATH=$h/prefix/bin:/usr/bin:/bin HOME=$h/home
	EOF
	make -s -C "$ROOT" install PREFIX="$h/prefix" >"$h/install.log" 2>&1 ||
		{ cat "$h/install.log" >&2; return 1; }
	/usr/sbin/sshd -D -e -f "$h/sshd_config" 2>"$h/sshd.log" &
	echo $! >"$h/daemon.pid"
	for i in $(seq 1 200); do
		grep -q 'Server listening' "$h/sshd.log" && break
		sleep 0.05
	done
	printf 'Host %s\n  HostName 127.0.0.1\n  Port %s\n' "$1" "$port" >>"$FAN/ssh_config"
}

setup_file() {
	local p
	for p in /usr/sbin/sshd parallel rsync ssh-keygen; do
		command -v "$p" >/dev/null ||
			{ echo "fanout: $p is missing: make deps-test installs it" >&2; return 1; }
	done
	# a short path: ssh's control sockets must fit in sun_path
	FAN=$(mktemp -d /tmp/pagepull-fanout.XXXXXX)
	export FAN
	mkdir -p /run/sshd	# sshd's privilege separation directory
	ssh-keygen -q -t ed25519 -N '' -C fanout -f "$FAN/client_key"
	cp "$FAN/client_key.pub" "$FAN/authorized_keys"
	: >"$FAN/ssh_config"
	host h1
	host h2
	cat >>"$FAN/ssh_config" <<-EOF
		Host *
		  User root
		  IdentityFile $FAN/client_key
		  IdentitiesOnly yes
		  StrictHostKeyChecking no
		  UserKnownHostsFile /dev/null
		  BatchMode yes
		  LogLevel ERROR
		  SendEnv MERCURY_* DIADOC_*
		  ControlMaster auto
		  ControlPath $FAN/cm-%C
		  ControlPersist 60
	EOF
	emu_start --records 400
}

teardown_file() {
	emu_stop
	[ -n "${FAN:-}" ] || return 0
	local h
	for h in h1 h2; do
		ssh -F "$FAN/ssh_config" -O exit "$h" >/dev/null 2>&1
		[ -f "$FAN/$h/daemon.pid" ] && kill "$(cat "$FAN/$h/daemon.pid")" 2>/dev/null
	done
	rm -rf "$FAN"
	return 0
}

setup() {
	export PARALLEL_SSH="ssh -F $FAN/ssh_config" HOME=$FAN/home
	export MERCURY_BASE_URL=$EMU DIADOC_BASE_URL=$EMU
	mkdir -p "$HOME"
	cd "$BATS_TEST_TMPDIR"
	printf 'h1\nh2\n' >hosts.txt
}

# A test that failed half way leaves no run of its own behind.
teardown() {
	local pid
	pid=$(cat "$BATS_TEST_TMPDIR/session.pid" 2>/dev/null) || return 0
	kill -0 "$pid" 2>/dev/null && kill -9 -- "-$pid" 2>/dev/null
	return 0
}

# readme_block N: the Nth ```sh block of the README's "Fan-out over several machines".
readme_block() {
	awk -v want="$1" '
		/^### Fan-out over several machines/ { on = 1; next }
		on && /^##/ { exit }
		on && /^```sh$/ { n++; inblock = (n == want); next }
		inblock && /^```$/ { inblock = 0; next }
		inblock { print }' "$ROOT/README.md"
}

# remote_home: where GNU parallel's "--wd ..." directories are made on the hosts: the
# remote user's home from the password database (parallel resolves it so, whatever HOME
# the session has); both hosts are this machine and its root.
remote_home() {
	getent passwd "$(id -u)" | cut -d: -f6
}

# host_of PID: h1 or h2, the host whose sshd is an ancestor of PID.
host_of() {
	local p=$1 h
	while [ -n "$p" ] && [ "$p" -gt 1 ]; do
		for h in h1 h2; do
			[ "$p" = "$(cat "$FAN/$h/daemon.pid")" ] && { echo "$h"; return 0; }
		done
		p=$(awk '/^PPid:/ { print $2 }' "/proc/$p/status" 2>/dev/null)
	done
	echo unknown
}

# run_args PID: the argv of every process of the run: PID (the run's session leader), the two
# hosts' sshd and their descendants. Not the rest of the machine: another suite's
# `curl -u mercury:mercury-secret`, run meanwhile, is not ours.
run_args() {
	ps -eo pid=,ppid=,args= | awk -v roots="$1 $(cat "$FAN/h1/daemon.pid") $(cat "$FAN/h2/daemon.pid")" '
		BEGIN { n = split(roots, r, " "); for (i = 1; i <= n; i++) keep[r[i]] = 1 }
		{ pid[NR] = $1; ppid[NR] = $2; sub(/^ *[0-9]+ +[0-9]+ /, ""); args[NR] = $0 }
		END {
			do {
				grew = 0
				for (i = 1; i <= NR; i++)
					if (!(pid[i] in keep) && (ppid[i] in keep)) { keep[pid[i]] = 1; grew = 1 }
			} while (grew)
			for (i = 1; i <= NR; i++) if (pid[i] in keep) print args[i]
		}'
}

# job_pids DIR: the processes that work in DIR (a job's directory on a host).
job_pids() {
	find /proc/[0-9]*/cwd -maxdepth 0 -lname "$1" 2>/dev/null | cut -d/ -f3
}

# freeze DIR: stops (SIGSTOP) every process that works in DIR, again until no new one
# appears (a stopped paginate starts no page command), and prints their pids. Stopped, none
# of them ends or forks before the test has looked at it and killed it.
freeze() {
	local all=" " new p
	while :; do
		new=""
		for p in $(job_pids "$1"); do
			[[ $all == *" $p "* ]] || new="$new $p"
		done
		[ -n "$new" ] || break
		kill -STOP $new 2>/dev/null || true
		all="$all${new# } "
	done
	echo $all
}

@test "fanout: the README's multi-host mercury-products over all types: every product once, jobs on both hosts" {
	readme_block 1 >fan.sh
	grep -qF 'parallel --slf hosts.txt --wd ... --transferfile type{} --return type{} --cleanup' fan.sh
	emu_ctl 'reset?records=400' -X POST >/dev/null
	# the command as printed; GNU parallel takes a job log from $PARALLEL (its extra options),
	# which says where each job ran
	PARALLEL="--joblog $BATS_TEST_TMPDIR/jobs.log" run bash -e fan.sh
	assert_success
	same_as_truth products.ndjson mercury
	assert_equal "$(count products.ndjson)" 400
	# both hosts ran jobs (ssh sessions alone would not say: parallel asks every host for its
	# number of cores first), each job ended 0, and nothing was left behind
	run awk -F'\t' 'NR > 1 { print $2, $7 }' jobs.log
	assert_equal "${#lines[@]}" 8
	assert_equal "$(printf '%s\n' "${lines[@]}" | sort -u | tr '\n' ' ')" 'h1 0 h2 0 '
	run find "$(remote_home)/.parallel/tmp" -mindepth 2 -maxdepth 2 -name 'type*' -newer hosts.txt
	assert_output ''
	# what parallel runs (-vv --dry-run: the whole ssh command) holds no credential; with
	# parallel --env it would, hex-encoded (the README's warning)
	local hex
	hex=$(printf '%s' "$MERCURY_PASSWORD" | od -An -tx1 | tr -d ' \n')
	run parallel --dry-run -vv --slf hosts.txt --wd ... --transferfile type{} --return type{} --cleanup \
		mercury-products --type {} --state type{}/state -o type{}/products.ndjson ::: 1 2
	assert_success
	assert_output --partial 'ssh -F'
	refute_output --partial "$MERCURY_PASSWORD"
	refute_output --partial "$hex"
	run parallel --dry-run -vv --slf hosts.txt --env MERCURY_PASSWORD mercury-products --type {} ::: 1
	assert_output --partial "$hex"
}

@test "fanout: the README's multi-host diadoc-events over the emulator's boxes, and the one-machine form" {
	emu_ctl 'reset?records=300' -X POST >/dev/null
	# the emulator's box ids, as GUIDs (the form the API takes), in both cases
	emu_ctl info | jq -r '(.box_ids[] | select(test("^[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}$"))),
		(.box_id | ascii_upcase)' | sort -u >boxes.txt
	assert_equal "$(wc -l <boxes.txt)" 2
	readme_block 2 >fan.sh
	run bash -e fan.sh
	assert_success
	local b
	for b in $(cat boxes.txt); do
		same_as_truth "$b/events.ndjson" diadoc-events
		assert_equal "$(count "$b/events.ndjson")" 300
	done
	# the one-machine line of the section before, as printed
	mkdir -p out state
	grep -F 'parallel -j4 diadoc-events --box {}' "$ROOT/README.md" >one.sh
	assert_equal "$(wc -l <one.sh)" 1
	run bash -e one.sh
	assert_success
	for b in $(cat boxes.txt); do
		same_as_truth "out/$b.ndjson" diadoc-events
	done
	# the multi-host command again: each box's state came back, so only what is new is
	# fetched (nothing) and written
	emu_ctl log -X DELETE >/dev/null
	run bash -e fan.sh
	assert_success
	for b in $(cat boxes.txt); do
		assert_equal "$(count "$b/events.ndjson")" 0
	done
	assert_equal "$(emu_ctl 'log?api=diadoc-events' | jq -s 'map(select(.records > 0)) | length')" 0
	assert_equal "$(emu_ctl 'log?api=diadoc-events' | jq -s 'length')" 2
}

@test "fanout: a job killed on its host goes on from its state when the README's command is run again" {
	# 20000 products: type 5 has 6000, six pages of 1000; a slow API keeps it running
	emu_ctl 'reset?records=20000&latency=500' -X POST >/dev/null
	readme_block 1 >fan.sh
	touch start
	setsid bash fan.sh >fan.out 2>fan.err &
	local pid=$! i run="" wd host pids p
	echo "$pid" >"$BATS_TEST_TMPDIR/session.pid"
	for i in $(seq 1 1200); do
		[ $((i % 4)) -ne 0 ] || run_args "$pid" >>ps.log
		# paginate's checkpoint beside the state (mercury-products: one a type, STATE.run.typeN;
		# not the lock or any other file beside it)
		for run in "$(remote_home)"/.parallel/tmp/*/type5/state.run.type5; do
			[ "$run" -nt start ] && jq -e '.pages >= 2' "$run" >/dev/null 2>&1 && break 2
		done
		run=""
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.02
	done
	[ -n "$run" ] || { cat fan.err >&2; false; }
	wd=${run%/type5/state.run.type5}
	pids=$(freeze "$wd")
	[ -n "$pids" ]
	for p in $pids; do
		host=$(host_of "$p")
		[ "$host" = unknown ] || break
	done
	kill -9 $pids 2>/dev/null || true	# (one may have ended before it was stopped)
	[[ $host == h[12] ]]
	echo "killed the type 5 job on $host: pids $(echo $pids)" >&2
	local st=0
	wait "$pid" || st=$?
	assert_equal "$st" 1	# parallel: one job failed
	# the job's directory came back with its checkpoint and the records so far
	local offset
	jq -e '.done == false' type5/state.run.type5
	offset=$(jq .offset type5/state.run.type5)
	[ "$offset" -ge 2000 ] && [ "$offset" -lt 6000 ]
	[ ! -e products.ndjson ]
	emu_ctl log >log.1
	run find "$(remote_home)/.parallel/tmp" -mindepth 1 -maxdepth 1 -newer start
	assert_output ''
	# no process of the run, on either side of ssh, had a credential in its argv
	assert_equal "$(grep -c -F -e "$MERCURY_PASSWORD" -e "$(printf '%s' "$MERCURY_PASSWORD" | od -An -tx1 | tr -d ' \n')" ps.log)" 0
	grep -q 'mercury-products --type 5' ps.log
	# the same data without the latency, and the same command again
	emu_ctl 'reset?records=20000' -X POST >/dev/null
	run bash -e fan.sh
	assert_success
	same_as_truth products.ndjson mercury
	assert_equal "$(count products.ndjson)" 20000
	# type 5 went on from the checkpoint: its first request of this run is at that offset
	assert_equal "$(emu_ctl 'log?api=mercury' | jq -s '[.[] | select(.params.productType == 5) | .params.offset] | min')" "$offset"
	# and the finished types were not fetched again
	assert_equal "$(emu_ctl 'log?api=mercury' | jq -c -s '[.[] | .params.productType] | unique')" '[5]'
}
