#!/usr/bin/env bats
# secrets: credentials never leak. Each pipeline runs against an emulator started with
# credentials unique to this run, with --progress and --state, slowed down so that `ps` can
# be sampled while its page commands run; the samples (every process of the run's session,
# full argv), stderr, the progress lines, the state files and the output are then searched
# for every form of the credentials (the secret, user:secret, its Basic base64, the
# Authorization value). A wrong password must fail without echoing it either.
load helpers
bats_require_minimum_version 1.5.0

setup_file() {
	local tag
	tag=$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
	export MERCURY_USER="mu-$tag" MERCURY_PASSWORD="mp-$tag-Secret"
	export DIADOC_CLIENT_ID="dc-$tag" DIADOC_TOKEN="dt-$tag-Token"
	export DOCSVISION_USER="du-$tag" DOCSVISION_PASSWORD="dp-$tag-Secret"
	unset DIADOC_AUTH DOCSVISION_SESSION
	emu_start --records 0 --mercury-user "$MERCURY_USER" --mercury-password "$MERCURY_PASSWORD" \
		--diadoc-client-id "$DIADOC_CLIENT_ID" --diadoc-token "$DIADOC_TOKEN" \
		--docsvision-user "$DOCSVISION_USER" --docsvision-password "$DOCSVISION_PASSWORD"
	# the emulator's own argv holds them: its process is not part of any sampled session
}

teardown_file() {
	emu_stop
}

# The strings that must appear nowhere.
secrets() {
	local s
	for s in "$MERCURY_PASSWORD" "$DIADOC_TOKEN" "$DOCSVISION_PASSWORD"; do echo "$s"; done
	for s in "$MERCURY_USER:$MERCURY_PASSWORD" "$DOCSVISION_USER:$DOCSVISION_PASSWORD"; do
		echo "$s"
		printf '%s' "$s" | base64 -w0
		echo
	done
	echo "ddauth_token=$DIADOC_TOKEN"
}

box() { emu_ctl info | jq -r .box_id; }
packet() { emu_ctl info | jq -r '.packets[] | select(.name == "hundred") | .id'; }
card() { emu_ctl info | jq -r '.cards[] | select(.name == "medium") | .id'; }

# watch NAME CMD…: runs CMD in the background, sampling `ps` for it and every process under
# it every 20 ms until it ends; stdout, stderr and the samples go to $W/NAME.{out,err,ps}.
# Sets status.
watch() {
	local name=$1
	shift
	W=$BATS_TEST_TMPDIR
	"$@" >"$W/$name.out" 2>"$W/$name.err" &
	local pid=$!
	: >"$W/$name.ps"
	while kill -0 "$pid" 2>/dev/null; do
		ps -ww -eo pid=,ppid=,args= 2>/dev/null | awk -v root="$pid" '
			{ pp[$1] = $2; line[$1] = $0 }
			END { for (p in pp) { q = p; while (q != root && q in pp && q != 1) q = pp[q]
				if (q == root) print line[p] } }' >>"$W/$name.ps" || :
		sleep 0.02
	done
	status=0
	wait "$pid" || status=$?
}

# clean NAME FILES…: no secret in the files; reports where one was found.
clean() {
	local name=$1 s bad=0
	shift
	while read -r s; do
		[ -n "$s" ] || continue
		if grep -rlF -- "$s" "$@" >"$BATS_TEST_TMPDIR/found" 2>/dev/null; then
			echo "# $name: '$s' found in: $(tr '\n' ' ' <"$BATS_TEST_TMPDIR/found")" >&3
			bad=1
		fi
	done < <(secrets)
	return "$bad"
}

# run_pipeline NAME ARGS…: the pipeline with --progress, --state and -o in $W, on a pty
# (script(1)) so that paginate draws its progress line, watched; then the checks: it
# succeeded, ps saw its page commands, a progress line was drawn, and nothing holds a secret.
run_pipeline() {
	local name=$1
	shift
	local st="$BATS_TEST_TMPDIR/$name.state" out="$BATS_TEST_TMPDIR/$name.records"
	watch "$name" script -qfec "$(printf '%q ' "$name" --progress --state "$st" \
		--retry-delay 0.1 -o "$out" "$@")" "$BATS_TEST_TMPDIR/$name.tty"
	local samples
	samples=$(grep -c . "$W/$name.ps")
	echo "# $name: exit $status, $(wc -l <"$out") records, $samples ps lines sampled," \
		"$(grep -c fetch-page "$W/$name.ps") of them fetch-page;" \
		"$(tr '\r' '\n' <"$W/$name.tty" | grep -c 'pages/s') progress lines; state files: $(ls "$st"* | wc -l)" >&3
	[ "$status" -eq 0 ]
	[ -s "$out" ]
	grep -q fetch-page "$W/$name.ps"	# the sampling did see the requests being made
	tr '\r' '\n' <"$W/$name.tty" | grep -q 'pages/s'	# and a progress line
	ls "$st"* >/dev/null			# and a state was written
	clean "$name" "$W/$name.ps" "$W/$name.err" "$W/$name.tty" "$out" "$st"*
}

@test "secrets: mercury-products: not in ps, stderr, progress, state or output" {
	emu_ctl 'reset?mercury_records=200&latency=60' -X POST >/dev/null
	run_pipeline mercury-products --base-url "$EMU" --type 5 --count 5
}

@test "secrets: datamill-cursor (no credentials) still shows none" {
	emu_ctl 'reset?datamill_records=100&datamill_max_objects=10&latency=60' -X POST >/dev/null
	run_pipeline datamill-cursor --base-url "$EMU/datamill"
}

@test "secrets: diadoc-events: DiadocAuth token not in ps, stderr, progress, state or output" {
	emu_ctl 'reset?diadoc_events_records=100&latency=60' -X POST >/dev/null
	run_pipeline diadoc-events --base-url "$EMU" --box "$(box)" --limit 10
}

@test "secrets: diadoc-events: Bearer token alone, the same" {
	emu_ctl 'reset?diadoc_events_records=60&latency=60' -X POST >/dev/null
	DIADOC_CLIENT_ID= run_pipeline diadoc-events --base-url "$EMU" --box "$(box)" --limit 10
}

@test "secrets: diadoc-packet: not in ps, stderr, progress, state or output" {
	emu_ctl 'reset?records=0&latency=60' -X POST >/dev/null
	run_pipeline diadoc-packet --base-url "$EMU" --box "$(box)" --packet "$(packet)" --count 10
}

@test "secrets: docsvision-card: not in ps, stderr, progress, state or output" {
	emu_ctl 'reset?records=0&docsvision_page_kb=4&latency=60' -X POST >/dev/null
	run_pipeline docsvision-card --base-url "$EMU" "$(card)"
}

@test "secrets: docsvision-card over NTLM: not in ps, stderr, progress, state or output; a wrong password neither" {
	emu_ctl 'reset?records=0&docsvision_page_kb=4&latency=60&docsvision_auth=ntlm' -X POST >/dev/null
	run_pipeline docsvision-card --base-url "$EMU" --auth ntlm "$(card)"
	local wrong="wrong-$RANDOM-Secret"
	watch docsvision-card env DOCSVISION_PASSWORD="$wrong" docsvision-card -q --base-url "$EMU" "$(card)"
	[ "$status" -eq 69 ]
	! grep -rF -e "$wrong" -e "$(printf '%s' "$DOCSVISION_USER:$wrong" | base64 -w0)" "$W"/docsvision-card.*
}

@test "secrets: a wrong password or token fails (69) without echoing it" {
	emu_ctl 'reset?records=20' -X POST >/dev/null
	local wrong="wrong-$RANDOM-Secret" name
	watch mercury-products env MERCURY_PASSWORD="$wrong" mercury-products -q --base-url "$EMU" --type 5
	[ "$status" -eq 69 ]
	! grep -rF -e "$wrong" -e "$(printf '%s' "$MERCURY_USER:$wrong" | base64 -w0)" "$W"/mercury-products.*
	watch diadoc-events env DIADOC_TOKEN="$wrong" diadoc-events -q --base-url "$EMU" --box "$(box)"
	[ "$status" -eq 69 ]
	! grep -rF -e "$wrong" "$W"/diadoc-events.*
	watch docsvision-card env DOCSVISION_PASSWORD="$wrong" docsvision-card -q --base-url "$EMU" "$(card)"
	[ "$status" -eq 69 ]
	! grep -rF -e "$wrong" -e "$(printf '%s' "$DOCSVISION_USER:$wrong" | base64 -w0)" "$W"/docsvision-card.*
	for name in mercury-products diadoc-events docsvision-card; do
		echo "# $name with a wrong secret: $(head -n 1 "$W/$name.err")" >&3
	done
}

@test "secrets: the search does catch a secret in argv (canary)" {
	watch canary bash -c 'sleep 0.5; :' leaky "--password=$MERCURY_PASSWORD"
	[ "$status" -eq 0 ]
	grep -qF -- "$MERCURY_PASSWORD" "$W/canary.ps"
	run clean canary "$W/canary.ps"
	[ "$status" -eq 1 ]
}
