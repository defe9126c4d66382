# pipelines/lib.sh — sourced by the five pipelines, never run: where the filters and the
# Diadoc descriptor are (source tree or installed), the options every pipeline shares, the
# page-command status rule, Diadoc credentials, XML escaping, and the --state files.
#
# A pipeline sets PP_NAME and PP_SELF (its own resolved path) before sourcing this file.
# Page commands are the pipeline itself run again by paginate(1) as `PIPELINE __page`,
# with its settings in exported PP_* variables: nothing secret ever goes into argv.

PP_VERSION=0.1.0
PP_DIR=${PP_SELF%/*}

# --- where things are -----------------------------------------------------------------
# The filters: $PAGEPULL_BIN if set (tests point it at another build), else bin/ of the
# source tree next to pipelines/, else the directory the pipeline was installed in.
# The descriptor: $PAGEPULL_DESC, build/diadoc.desc, or $PREFIX/share/pagepull/diadoc.desc.
pp_locate() {
	local bin
	if [ -n "${PAGEPULL_BIN:-}" ]; then
		bin=$PAGEPULL_BIN
	elif [ -x "$PP_DIR/../bin/fetch-page" ]; then
		bin=$PP_DIR/../bin
	else
		bin=$PP_DIR
	fi
	case ":$PATH:" in *":$bin:"*) ;; *) PATH=$bin:$PATH ;; esac
	export PATH
	if [ -z "${PAGEPULL_DESC:-}" ]; then
		if [ -r "$PP_DIR/../build/diadoc.desc" ]; then
			PAGEPULL_DESC=$PP_DIR/../build/diadoc.desc
		else
			PAGEPULL_DESC=${PP_SHARE:-$PP_DIR/../share/pagepull}/diadoc.desc
		fi
	fi
	export PAGEPULL_DESC
}

# --- messages and usage -----------------------------------------------------------------
pp_note() { [ -n "${PP_QUIET:-}" ] || printf '%s: %s\n' "$PP_NAME" "$*" >&2; }
# pp_count N NOUN: "1 record", "2 records".
pp_count() { if [ "$1" = 1 ]; then echo "1 $2"; else echo "$1 ${2}s"; fi; }
pp_die() {
	local st=$1
	shift
	printf '%s: %s\n' "$PP_NAME" "$*" >&2
	exit "$st"
}
# The pipeline defines usage(); a bad command line shows it on stderr, exit 2.
pp_usage_error() {
	printf '%s: %s\n' "$PP_NAME" "$*" >&2
	usage >&2
	exit 2
}
pp_need() { [ "$1" -ge 2 ] || pp_usage_error "$2: needs an argument"; }
# pp_int OPTION VALUE MIN [MAX]: a whole number in range, else a usage error.
pp_int() {
	[[ $2 =~ ^[0-9]+$ ]] && [ "${#2}" -le 12 ] && [ "$2" -ge "$3" ] &&
		{ [ -z "${4:-}" ] || [ "$2" -le "$4" ]; } && return 0
	if [ -n "${4:-}" ]; then
		pp_usage_error "$1 $2: not a whole number from $3 to $4"
	fi
	pp_usage_error "$1 $2: not a whole number of at least $3"
}
# pp_guid OPTION VALUE: a GUID as 8-4-4-4-12 hex digits (Diadoc's boxId, "идентификатор ящика
# организации в формате GUID" on Kontur's method pages), else a usage error before any request.
pp_guid() {
	[[ $2 =~ ^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$ ]] ||
		pp_usage_error "$1 $2: not a GUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)"
}
# pp_api_version N: Diadoc's method version, 5 (current) or 2 (removed after 3 April 2027):
# PP_API for the path, PP_RESP the response message's suffix.
pp_api_version() {
	case $1 in
	2) PP_API=2 PP_RESP= ;;
	5) PP_API=5 PP_RESP=V5 ;;
	*) pp_usage_error "--api-version $1: not 2 or 5" ;;
	esac
}
pp_secs() { [[ $2 =~ ^[0-9]+([.][0-9]+)?$ ]] || pp_usage_error "$1 $2: not a number of seconds"; }

# pp_split_args ARGS…: sets PP_ARGS to ARGS with "--name=value" split in two and bundled
# short flags ("-qu") split, so that the pipelines' case statements see one form only.
pp_split_args() {
	PP_ARGS=()
	local a i
	while [ $# -gt 0 ]; do
		a=$1
		shift
		case $a in
		--) PP_ARGS+=(-- "$@"); return ;;
		--*=*) PP_ARGS+=("${a%%=*}" "${a#*=}") ;;
		-[a-zA-Z][a-zA-Z]*)
			# Only flags bundle; "-P4" / "-ofile" are an option and its value.
			if [[ ${a:1:1} == [Pom] ]]; then
				PP_ARGS+=("${a:0:2}" "${a:2}")
			else
				for ((i = 1; i < ${#a}; i++)); do PP_ARGS+=("-${a:i:1}"); done
			fi ;;
		*) PP_ARGS+=("$a") ;;
		esac
	done
}

# pp_common_opt ARGS…: one of the options every pipeline has. Sets PP_SHIFT to the
# number of words it took (0: not a common option). The settings are exported for the
# page commands.
# pp_defaults: the settings before the options (main only: a page command takes them
# from its environment).
pp_defaults() {
	PP_RETRY=5 PP_RETRY_DELAY=1 PP_MAX_TIME=300 PP_CONNECT_TIMEOUT=30 PP_STALL_TIME=60
	PP_OUT='' PP_STATE='' PP_BASE='' PP_CACERT='' PP_INSECURE='' PP_QUIET='' PP_PROGRESS='' PP_UNBUF=''
	PP_STRICT='' PP_RATE='' PP_MAX_PAGES='' PP_PARALLEL=1 PP_BASE_OPT=''
	PP_PROXY='' PP_NOPROXY='' PP_PROXY_USER_ENV=''
}

# pp_check_base VAR: PP_BASE (from --base-url or the variable VAR) must be an http:// or
# https:// URL with a host: one line here rather than fetch-page's usage from a page.
pp_check_base() {
	# A base URL exported with a trailing slash works as --base-url's does: no "//" paths.
	PP_BASE=${PP_BASE%/}
	[[ $PP_BASE =~ ^https?://[^/?#[:space:]]+([/?#][^[:space:]]*)?$ ]] && return 0
	local from="--base-url $PP_BASE"
	[ -n "$PP_BASE_OPT" ] || from="$1=$PP_BASE"
	[[ $PP_BASE == *://* ]] ||
		pp_die 2 "$from: the scheme is missing: write http://$PP_BASE or https://$PP_BASE"
	pp_die 2 "$from: not an http:// or https:// URL with a host"
}
pp_common_opt() {
	PP_SHIFT=2
	case $1 in
	-o | --output) pp_need $# "$1"; PP_OUT=$2 ;;
	--state) pp_need $# "$1"; PP_STATE=$2 ;;
	--base-url) pp_need $# "$1"; PP_BASE=${2%/} PP_BASE_OPT=1 ;;
	--retry) pp_need $# "$1"; pp_int "$1" "$2" 0 100; PP_RETRY=$2 ;;
	--retry-delay) pp_need $# "$1"; pp_secs "$1" "$2"; PP_RETRY_DELAY=$2 ;;
	-m | --max-time) pp_need $# "$1"; pp_secs "$1" "$2"; PP_MAX_TIME=$2 ;;
	--connect-timeout) pp_need $# "$1"; pp_secs "$1" "$2"; PP_CONNECT_TIMEOUT=$2 ;;
	--stall-time) pp_need $# "$1"; pp_int "$1" "$2" 1; PP_STALL_TIME=$2 ;;
	--cacert) pp_need $# "$1"; PP_CACERT=$2 ;;
	--rate) pp_need $# "$1"; pp_secs "$1" "$2"; PP_RATE=$2 ;;
	--max-pages) pp_need $# "$1"; pp_int "$1" "$2" 1; PP_MAX_PAGES=$2 ;;
	--proxy) pp_need $# "$1"; pp_proxy "$2" ;;
	--noproxy) pp_need $# "$1"; PP_NOPROXY=$2 ;;
	--proxy-user-env) pp_need $# "$1"; pp_proxy_user_env "$2" ;;
	-k | --insecure) PP_SHIFT=1 PP_INSECURE=1 ;;
	-q | --quiet) PP_SHIFT=1 PP_QUIET=1 ;;
	-u | --unbuffered) PP_SHIFT=1 PP_UNBUF=1 ;;
	--progress) PP_SHIFT=1 PP_PROGRESS=1 ;;
	-h | --help) usage; exit 0 ;;
	--version) echo "$PP_NAME $PP_VERSION"; exit 0 ;;
	*) PP_SHIFT=0 ;;
	esac
}

# --proxy URL: never with credentials (they would show in ps; fetch-page refuses them too).
pp_proxy() {
	[[ $1 =~ ^([A-Za-z0-9+.-]+://)?[^/@]*@ ]] &&
		pp_usage_error "--proxy: credentials in the URL would show in ps: use --proxy-user-env"
	PP_PROXY=$1
}

# --proxy-user-env VAR: the name goes to fetch-page, the value stays in the environment
# (exported, for the page commands).
pp_proxy_user_env() {
	[[ $1 =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || pp_usage_error "--proxy-user-env $1: not a variable name"
	[ -n "${!1:-}" ] || pp_usage_error "--proxy-user-env: environment variable $1 is not set"
	export "${1?}"
	PP_PROXY_USER_ENV=$1
}

pp_export() {
	export PP_PROXY PP_NOPROXY PP_PROXY_USER_ENV
	export PP_RETRY PP_RETRY_DELAY PP_MAX_TIME PP_CONNECT_TIMEOUT PP_STALL_TIME PP_CACERT \
		PP_INSECURE PP_QUIET PP_BASE PP_STATE
}

# --- fetch-page and paginate ----------------------------------------------------------
# PP_FETCH: fetch-page's options for one request. A refused connection, a 429 or a 5xx
# before the body is retried twice by fetch-page itself (honouring Retry-After); anything
# that breaks later ends the page with 75, and paginate retries the whole page.
pp_fetch_opts() {
	PP_FETCH=(-m "$PP_MAX_TIME" --connect-timeout "$PP_CONNECT_TIMEOUT"
		--stall-time "$PP_STALL_TIME" --retry 2 --retry-delay "$PP_RETRY_DELAY")
	[ -z "$PP_CACERT" ] || PP_FETCH+=(--cacert "$PP_CACERT")
	[ -z "$PP_INSECURE" ] || PP_FETCH+=(-k)
	[ -z "$PP_QUIET" ] || PP_FETCH+=(-s)
	[ -z "${PP_PROXY:-}" ] || PP_FETCH+=(--proxy "$PP_PROXY")
	[ -z "${PP_NOPROXY:-}" ] || PP_FETCH+=(--noproxy "$PP_NOPROXY")
	[ -z "${PP_PROXY_USER_ENV:-}" ] || PP_FETCH+=(--proxy-user-env "$PP_PROXY_USER_ENV")
	pp_auth_hint
	[ -z "$PP_AUTH_HINT" ] || PP_FETCH+=(--auth-hint "$PP_AUTH_HINT")
}

# PP_AUTH_HINT: what fetch-page's message of a 401 or 403 tells the user to check: the
# variables this pipeline took its credentials from, by name.
pp_auth_hint() {
	PP_AUTH_HINT=
	case $PP_NAME in
	mercury-products) PP_AUTH_HINT="check MERCURY_USER and MERCURY_PASSWORD" ;;
	diadoc-*)
		if [ -n "${DIADOC_AUTH:-}" ]; then
			PP_AUTH_HINT="check DIADOC_AUTH"
		elif [ -n "${DIADOC_CLIENT_ID:-}" ]; then
			PP_AUTH_HINT="check DIADOC_CLIENT_ID and DIADOC_TOKEN"
		else
			PP_AUTH_HINT="check DIADOC_TOKEN (sent as Bearer; DIADOC_CLIENT_ID is not set)"
		fi
		PP_AUTH_HINT+=", and that these credentials may read the box" ;;
	docsvision-card)
		if [ -n "${DOCSVISION_USER:-}" ]; then
			PP_AUTH_HINT="check DOCSVISION_USER and DOCSVISION_PASSWORD"
		else
			PP_AUTH_HINT="set DOCSVISION_USER and DOCSVISION_PASSWORD: none were sent"
		fi ;;
	esac
}

# PP_PAGINATE: paginate's options from the common ones (strategy options come after).
pp_paginate_opts() {
	PP_PAGINATE=(--retry "$PP_RETRY" --retry-delay "$PP_RETRY_DELAY")
	[ -z "$PP_QUIET" ] || PP_PAGINATE+=(-q)
	[ -z "$PP_UNBUF" ] || PP_PAGINATE+=(-u)
	[ -z "$PP_PROGRESS" ] || PP_PAGINATE+=(--progress)
	[ -z "$PP_STRICT" ] || PP_PAGINATE+=(--strict)
	[ -z "$PP_RATE" ] || PP_PAGINATE+=(--rate "$PP_RATE")
	[ -z "$PP_MAX_PAGES" ] || PP_PAGINATE+=(--max-pages "$PP_MAX_PAGES")
}

# pp_errs N: the stages of a page pipeline after the first N (a printf counts) write their
# stderr to the file descriptor PP_ERRFD (2>&"$PP_ERRFD"), an unlinked temporary file;
# pp_status shows what they wrote only when none of the first N failed. One failure, one
# message: after a 401 the decoder's "no element found" about its empty input is noise.
pp_errs() {
	local f
	PP_ERRS_AT=$1
	f=$(mktemp "${TMPDIR:-/tmp}/pagepull.XXXXXX") || exit 74
	exec {PP_ERRFD}<>"$f"
	rm -f "$f"
}

# pp_status S…: a page pipeline's exit status from its PIPESTATUS: that of the first
# stage that failed for a reason of its own. fetch-page's 75 (a transfer broken half way)
# wins over the decoder's 1 (the half document it saw); 141 (SIGPIPE) only means that a
# later stage stopped reading, so that later stage speaks. After pp_errs, the later
# stages' messages are shown here, unless an earlier stage failed.
pp_status() {
	local s st=0 at=0
	for s; do
		case $s in 0 | 141) ;; *) st=$s; break ;; esac
		at=$((at + 1))
	done
	if [ -n "${PP_ERRFD:-}" ]; then
		[ "$st" -ne 0 ] && [ "$at" -lt "$PP_ERRS_AT" ] || cat "/dev/fd/$PP_ERRFD" >&2
		exec {PP_ERRFD}>&-
		PP_ERRFD=
	fi
	return "$st"
}

# --- credentials ---------------------------------------------------------------------------
# Diadoc's Authorization header, from the environment only: DIADOC_AUTH as is, or
# DiadocAuth with DIADOC_CLIENT_ID and DIADOC_TOKEN, or Bearer DIADOC_TOKEN. It reaches
# fetch-page through the variable PP_DIADOC_AUTHZ (--header-env), never through argv.
pp_diadoc_auth() {
	if [ -n "${DIADOC_AUTH:-}" ]; then
		PP_DIADOC_AUTHZ=$DIADOC_AUTH
	elif [ -n "${DIADOC_TOKEN:-}" ] && [ -n "${DIADOC_CLIENT_ID:-}" ]; then
		PP_DIADOC_AUTHZ="DiadocAuth ddauth_api_client_id=$DIADOC_CLIENT_ID,ddauth_token=$DIADOC_TOKEN"
	elif [ -n "${DIADOC_TOKEN:-}" ]; then
		PP_DIADOC_AUTHZ="Bearer $DIADOC_TOKEN"
	else
		pp_die 2 "DIADOC_TOKEN (with DIADOC_CLIENT_ID) or DIADOC_AUTH must be set"
	fi
	export PP_DIADOC_AUTHZ
}

# --- XML ------------------------------------------------------------------------------
# bash 5.2 reads '&' in a ${s//x/y} replacement as the match: not here.
shopt -u patsub_replacement 2>/dev/null || true
pp_xml() {
	local s=${1//&/&amp;}
	s=${s//</&lt;}
	s=${s//>/&gt;}
	s=${s//\"/&quot;}
	printf '%s' "${s//\'/&apos;}"
}

# --- the --state files ------------------------------------------------------------------
# PP_STATE itself is the pipeline's own small JSON object: which parameters it was made for,
# whether the last run is complete, what an incremental run continues from. The files of a
# run in progress sit beside it: $PP_STATE.run (paginate's checkpoint; .run.typeN for
# Mercury's types) and DocsVision's .cursor and .first. Every one of them is one JSON line
# whose last member is "sum", the cksum(1) CRC of the line before it with the object closed
# there; a file that fails the check is refused (one line, exit 1), never resumed from.
#
# A run has ONE commit point, pp_state_commit: the state that says "complete" replaces the
# old one in a single rename (a temporary beside it, fsync, rename, fsync of the directory,
# as Maildir delivers). Before that rename the same command resumes the run from the work
# files; after it the run is complete and its work files are litter, removed right away or,
# after a kill, by the next run before it starts anything (pp_state_clean). Whatever
# instant a kill comes at, the next run reads the files the right way.
#
# $PP_STATE.lock is flock(1)ed for the whole run and holds the runner's pid: a second run
# on the same state exits 75 at once.

# pp_step NAME: a named point between two state changes. For the tests of the commit:
# PAGEPULL_TEST_STEPS=FILE lists the points a run passes (one a line), and
# PAGEPULL_TEST_STOP_AT=NAME makes the pipeline kill -9 itself at that point.
pp_step() {
	[ -z "${PAGEPULL_TEST_STEPS:-}" ] || echo "$1" >>"$PAGEPULL_TEST_STEPS"
	[ "${PAGEPULL_TEST_STOP_AT:-}" != "$1" ] || kill -9 "$$"
}

# pp_json_write FILE JSON [STEP]: FILE replaced by the object JSON with its checksum, in
# one rename (STEP-written: the temporary is on disk, the rename still to come).
pp_json_write() {
	local file=$1 sum tmp dir=.
	[[ $file != */* ]] || dir=${file%/*}
	sum=$(printf '%s' "$2" | cksum)
	tmp=$(mktemp "$file.tmp.XXXXXX" 2>/dev/null) ||
		pp_die 74 "$file: cannot create a file in ${dir:-/} (missing or not writable)"
	if printf '%s,"sum":"%s"}\n' "${2%\}}" "${sum%% *}" >"$tmp" && sync -- "$tmp"; then
		[ -z "${3:-}" ] || pp_step "$3-written"
		mv -f -- "$tmp" "$file" && { sync -- "${dir:-/}" 2>/dev/null; return 0; }
	fi
	rm -f -- "$tmp"
	pp_die 74 "$file: cannot write"
}

# pp_json_read FILE: FILE's object (less its "sum") into PP_JSON, or one line naming FILE
# and what to do about it, exit 1: a state cut short, edited or damaged is never used.
pp_json_read() {
	local f=$1 line sum size LC_ALL=C
	[ -r "$f" ] || pp_die 74 "$f: cannot read"
	{ line=$(cat -- "$f"); } 2>/dev/null
	size=$(wc -c <"$f")
	if [[ $line =~ ^(\{.*),\"sum\":\"([0-9]+)\"\}$ ]] && [ "$size" -eq $((${#line} + 1)) ]; then
		# The sum proves the line is what a pagepull writer wrote (jq -c: valid JSON).
		PP_JSON="${BASH_REMATCH[1]}}"
		sum=$(printf '%s' "$PP_JSON" | cksum)
		[ "${sum%% *}" = "${BASH_REMATCH[2]}" ] && return 0
		pp_die 1 "$f: damaged (its checksum does not match); remove it to start over"
	fi
	pp_die 1 "$f: not a state file of $PP_NAME (cut short or damaged); remove it to start over"
}

# pp_lock: the exclusive lock on $PP_STATE.lock, held until the pipeline ends (page
# commands do not inherit it: pp_run closes it for them).
pp_lock() {
	local f=$PP_STATE.lock pid
	{ exec {PP_LOCK_FD}<>"$f"; } 2>/dev/null ||
		pp_die 74 "$f: cannot create the lock beside --state (is its directory writable?)"
	if ! flock -n "$PP_LOCK_FD"; then
		pid=$(head -n 1 -- "$f" 2>/dev/null)
		pp_die 75 "$PP_STATE: in use by another run (pid ${pid:-unknown}); wait for it to end"
	fi
	printf '%s\n' "$$" >"$f"
}

# pp_state_open PARAMS: takes the state for this run: locked, checked (damaged: exit 1;
# another pipeline's or other parameters': exit 2), created if missing, in PP_STATE_JSON.
pp_state_open() {
	PP_STATE_JSON=
	[ -n "$PP_STATE" ] || return 0
	local dir=.
	[[ $PP_STATE != */* ]] || dir=${PP_STATE%/*}
	[ -d "${dir:-/}" ] || pp_die 74 "--state $PP_STATE: the directory $dir does not exist"
	[ ! -d "$PP_STATE" ] || pp_usage_error "--state $PP_STATE: a directory, not a file"
	pp_lock
	if [ -e "$PP_STATE" ]; then
		pp_json_read "$PP_STATE"
		PP_STATE_JSON=$PP_JSON
		local owner same
		{ IFS= read -r owner; IFS= read -r same; } < <(jq -r --arg q "$1" '.pipeline, (.params == $q)' <<<"$PP_STATE_JSON")
		[ "$owner" != null ] || pp_die 1 "$PP_STATE: not a state file (no \"pipeline\" in it); remove it to start over"
		[ "$owner" = "$PP_NAME" ] || pp_die 2 "$PP_STATE: the state of another pipeline"
		[ "$same" = true ] ||
			pp_die 2 "$PP_STATE: written for other parameters ($(pp_state_get .params)); use another state file"
		return 0
	fi
	PP_STATE_JSON=$(jq -cn --arg p "$PP_NAME" --arg q "$1" '{pipeline: $p, params: $q, complete: false}')
	pp_json_write "$PP_STATE" "$PP_STATE_JSON" created
	pp_step created
}

# pp_state_get JQ-FILTER: a value of the state (jq -r).
pp_state_get() { jq -r "$1" <<<"$PP_STATE_JSON"; }

# pp_state_complete: 0 when the last run committed (a snapshot then has nothing to do).
pp_state_complete() { [ -n "$PP_STATE" ] && [ "$(pp_state_get .complete)" = true ]; }

# pp_state_put STEP JQ-FILTER [jq args…]: the state updated and written (STEP-written: the
# temporary on disk, the rename still to come).
pp_state_put() {
	local step=$1
	shift
	PP_STATE_JSON=$(jq -c "$@" <<<"$PP_STATE_JSON") || pp_die 1 "$PP_STATE: cannot update"
	pp_json_write "$PP_STATE" "$PP_STATE_JSON" "$step"
}

# pp_state_clean: the work files of a committed run (also temporaries a kill left).
pp_state_clean() {
	local s=$PP_STATE dir=.
	[[ $s != */* ]] || dir=${s%/*}
	rm -f -- "$s.run" "$s.run.lock" "$s".run.type[1-8] "$s".run.type[1-8].lock "$s.cursor" \
		"$s.first" "$s.first.tmp" "$s".tmp.?????? "$s".*.tmp.?????? "${dir:-}/.${s##*/}".run*.??????
}

# pp_state_new_run [JQ-FILTER [jq args…]]: after a committed run, the next one (incremental
# pipelines): the last run's work files go, then the state says "not complete" (with FILTER
# applied): from then on a kill leaves a run that the same command resumes.
pp_state_new_run() {
	pp_step new-run
	pp_state_clean
	pp_step new-run-cleaned
	pp_state_put new-run "(${1:-.}) | .complete = false" "${@:2}"
	pp_step new-run-begun
}

# pp_state_commit [JQ-FILTER [jq args…]]: THE commit point of a run: the state with FILTER
# applied and "complete": true replaces the old one in one rename; the work files go next.
pp_state_commit() {
	[ -n "$PP_STATE" ] || return 0
	pp_step commit
	PP_STATE_JSON=$(jq -c "(${1:-.}) | .complete = true" "${@:2}" <<<"$PP_STATE_JSON") ||
		pp_die 1 "$PP_STATE: cannot update"
	pp_json_write "$PP_STATE" "$PP_STATE_JSON" commit
	pp_step committed
	pp_state_clean
	pp_step cleaned
}

# pp_runs_done CHECKPOINT…: 0 when every paginate checkpoint says done (a --max-pages stop
# does not), with the records they counted in PP_RUN_RECORDS and the last one in PP_JSON.
pp_runs_done() {
	local f n=0
	for f; do
		[ -e "$f" ] || return 1
		pp_json_read "$f"
		[[ $PP_JSON =~ \"done\":true,.*\"records\":([0-9]+), ]] || return 1
		n=$((n + BASH_REMATCH[1]))
	done
	PP_RUN_RECORDS=$n
}

# --- the output ------------------------------------------------------------------------
# pp_output: -o as every pipeline takes it. A directory is a usage error. Anything but a
# regular file — a FIFO, a character device such as /dev/null or /dev/full — becomes the
# standard output of the whole run: written in place, never cut back, never renamed over.
# A regular file or a new name stays for paginate -o (a symbolic link is followed by
# open(2); nothing here renames over -o).
pp_output() {
	[ -n "$PP_OUT" ] || return 0
	[ ! -d "$PP_OUT" ] || pp_usage_error "-o $PP_OUT: a directory, not a file"
	if [ -e "$PP_OUT" ] && [ ! -f "$PP_OUT" ]; then
		{ exec >"$PP_OUT"; } 2>/dev/null || pp_die 74 "$PP_OUT: cannot open for writing"
		PP_OUT=
	fi
}

# pp_file_id FILE: what identifies FILE as the output a run committed (device, inode, size,
# modification time), or nothing for a FILE that is not a regular file.
pp_file_id() {
	[ -n "$1" ] && [ -f "$1" ] || return 0
	stat -L -c '%d:%i:%s:%.9Y' -- "$1"
}

# --- signals ---------------------------------------------------------------------------
# A pipeline is one process to whoever started it: SIGINT, SIGTERM or SIGHUP sent to its pid
# alone (Popen.terminate, systemd's KillMode=process) reaches what it runs through pp_run
# (paginate, which ends its page commands with itself); the pipeline waits for it, says one
# line and exits 128+N, its --state as the last checkpoint left it: resumable.
pp_traps() {
	trap 'pp_on_signal INT 2' INT
	trap 'pp_on_signal TERM 15' TERM
	trap 'pp_on_signal HUP 1' HUP
}
pp_on_signal() {
	trap '' INT TERM HUP
	if [ -n "${PP_CHILD:-}" ]; then
		kill -s "$1" "$PP_CHILD" 2>/dev/null || true
		wait "$PP_CHILD" 2>/dev/null || true
		PP_CHILD=
	fi
	if [ -n "$PP_STATE" ]; then
		printf '%s: interrupted; run the same command again to resume\n' "$PP_NAME" >&2
	else
		printf '%s: interrupted\n' "$PP_NAME" >&2
	fi
	exit $((128 + $2))
}
# pp_run CMD…: CMD in the background, waited for (so that a signal's trap runs at once),
# without the state's lock; returns its status.
pp_run() {
	local st=0
	(
		[ -z "${PP_LOCK_FD:-}" ] || exec {PP_LOCK_FD}>&-
		exec "$@"
	) &
	PP_CHILD=$!
	wait "$PP_CHILD" || st=$?
	PP_CHILD=
	return "$st"
}
