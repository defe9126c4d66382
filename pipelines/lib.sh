# pipelines/lib.sh — sourced by the five pipelines, never run: where the filters and the
# Diadoc descriptor are (source tree or installed), the options every pipeline shares (one
# table, PP_OPTIONS), the page program's contract, Diadoc credentials, XML escaping, and the
# --state files.
#
# A pipeline sets PP_NAME and PP_SELF (its own resolved path) before sourcing this file.
# Its page command is either `paginate --pipeline` stages (fetch-page with --variable and
# --expand-*, ndjson2pb --expand-json, the decoders: no shell runs a page; mercury-products,
# diadoc-events, diadoc-packet, datamill-cursor), and the pipeline ends with `main "$@"`;
# or, where a page needs a shell (docsvision-card), the pipeline is two programs: `main`,
# and `page`, which paginate runs as `"$BASH" "$PP_SELF" __page` (docsvision-card's page
# runs before this file is sourced, when its settings are all there), and it ends with
# `pp_dispatch "$@"`.
# All a page program gets from main is the list PP_PAGE_ENV, declared at the pipeline's top,
# exported by pp_page_export and checked by pp_dispatch as the page starts (a missing one is
# one line, exit 2); nothing secret ever goes into argv.

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

# --- the command line --------------------------------------------------------------------
# PP_OPTIONS: the options every pipeline takes, one a row; the parser, the usage, the
# defaults, the page commands' fetch-page options and paginate's options all come from it.
# Adding a common option is one row here (and its entry in each pipeline's man page). The
# columns, "." for none:
#   long      the option's name without "--"
#   short     its letter, or "."
#   var       the variable it sets (a flag sets 1)
#   default   the variable's value when the option is not given
#   arg       its value's name in the usage; "." for a flag
#   check     CHECK[:A[:B]]: called as CHECK OPTION VALUE A B before the value is taken
#             (a usage error when it is wrong)
#   fetch     fetch-page's option that gets the value, or the flag a flag gives it
#   paginate  paginate's option, likewise
# A pipeline adds rows of its own (-P, --strict) to PP_OPTIONS before pp_parse.
PP_OPTIONS='
output          o PP_OUT             .   file    .                 .                 .
base-url        . PP_BASE            .   url     pp_base_opt       .                 .
state           . PP_STATE           .   file    .                 .                 .
retry           . PP_RETRY           5   n       pp_int:0:100      .                 --retry
retry-delay     . PP_RETRY_DELAY     1   seconds pp_secs           --retry-delay     --retry-delay
max-time        m PP_MAX_TIME        300 seconds pp_secs           -m                .
connect-timeout . PP_CONNECT_TIMEOUT 30  seconds pp_secs           --connect-timeout .
stall-time      . PP_STALL_TIME      60  seconds pp_int:1          --stall-time      .
cacert          . PP_CACERT          .   file    .                 --cacert          .
rate            . PP_RATE            .   n       pp_secs           .                 --rate
max-pages       . PP_MAX_PAGES       .   n       pp_int:1          .                 --max-pages
proxy           . PP_PROXY           .   url     pp_proxy          --proxy           .
noproxy         . PP_NOPROXY         .   list    .                 --noproxy         .
proxy-user-env  . PP_PROXY_USER_ENV  .   var     pp_proxy_user_env --proxy-user-env  .
insecure        k PP_INSECURE        .   .       .                 -k                .
quiet           q PP_QUIET           .   .       .                 -s                -q
unbuffered      u PP_UNBUF           .   .       .                 .                 -u
progress        . PP_PROGRESS        .   .       .                 .                 --progress
'

# pp_defaults: every option's variable at its default (main only: a page command takes its
# settings from the environment).
pp_defaults() {
	local long short var def rest
	while read -r long short var def rest; do
		[ -n "$long" ] || continue
		[ "$def" = . ] && def=''
		printf -v "$var" %s "$def"
	done <<<"$PP_OPTIONS"
	PP_BASE_OPT=''
}

# pp_split_args ARGS…: sets PP_ARGS to ARGS with "--name=value" split in two and bundled
# short flags ("-qu") split, so that the parsers see one form only. The short options that
# take a value ("-P4", "-ofile") are those of PP_OPTIONS with an arg.
pp_split_args() {
	PP_ARGS=()
	local a i valued='' long short var def arg rest
	while read -r long short var def arg rest; do
		[ -n "$long" ] || continue
		[ "$short" = . ] || [ "$arg" = . ] || valued+=$short
	done <<<"$PP_OPTIONS"
	while [ $# -gt 0 ]; do
		a=$1
		shift
		case $a in
		--) PP_ARGS+=(-- "$@"); return ;;
		--*=*) PP_ARGS+=("${a%%=*}" "${a#*=}") ;;
		-[a-zA-Z][a-zA-Z]*)
			if [[ $valued == *"${a:1:1}"* ]]; then
				PP_ARGS+=("${a:0:2}" "${a:2}")
			else
				for ((i = 1; i < ${#a}; i++)); do PP_ARGS+=("-${a:i:1}"); done
			fi ;;
		*) PP_ARGS+=("$a") ;;
		esac
	done
}

# pp_common_opt ARGS…: one of PP_OPTIONS (or -h, --version). Sets PP_SHIFT to the number
# of words it took (0: not one of them).
pp_common_opt() {
	PP_SHIFT=0
	case $1 in
	-h | --help) usage; exit 0 ;;
	--version) echo "$PP_NAME $PP_VERSION"; exit 0 ;;
	--?* | -?) ;;
	*) return 0 ;;
	esac
	local long short var def arg check fetch pag fn args
	while read -r long short var def arg check fetch pag; do
		[ -n "$long" ] || continue
		[ "$1" = "--$long" ] || { [ "$short" != . ] && [ "$1" = "-$short" ]; } || continue
		if [ "$arg" = . ]; then
			printf -v "$var" 1
			PP_SHIFT=1
			return 0
		fi
		pp_need $# "$1"
		if [ "$check" != . ]; then
			IFS=: read -r fn args <<<"$check"
			IFS=: read -ra args <<<"$args"
			"$fn" "$1" "$2" "${args[@]}"
		fi
		printf -v "$var" %s "$2"
		PP_SHIFT=2
		return 0
	done <<<"$PP_OPTIONS"
}

# pp_parse ARGS…: the command line. The options of PP_OPTIONS are taken here; any other
# goes to the pipeline's own `option ARGS…`, which sets PP_SHIFT like pp_common_opt (0: not
# its option). An operand goes to the pipeline's `operand WORD` if it has one (after "--"
# too), else it is an unexpected argument.
pp_parse() {
	pp_defaults
	pp_split_args "$@"
	set -- "${PP_ARGS[@]}"
	while [ $# -gt 0 ]; do
		case $1 in
		--) shift; break ;;
		-?*)
			pp_common_opt "$@"
			[ "$PP_SHIFT" -gt 0 ] || option "$@"
			[ "$PP_SHIFT" -gt 0 ] || pp_usage_error "$1: unknown option"
			shift "$PP_SHIFT" ;;
		*)
			declare -F operand >/dev/null || break
			operand "$1"; shift ;;
		esac
	done
	if declare -F operand >/dev/null; then
		while [ $# -gt 0 ]; do operand "$1"; shift; done
	fi
	[ $# -eq 0 ] || pp_usage_error "$1: unexpected argument"
}

# pp_usage WORDS… [-- OPERANDS…]: the usage, in lines of at most 100 columns, each word
# whole on a line: PP_OPTIONS's short flags ("[-kqu]") and short options ("[-o file]"),
# the pipeline's own WORDS, PP_OPTIONS's long options, then the OPERANDS.
pp_usage() {
	local flags='' shorts=() longs=() words=() w long short var def arg rest
	while read -r long short var def arg rest; do
		[ -n "$long" ] || continue
		if [ "$short" != . ] && [ "$arg" = . ]; then
			flags+=$short
		elif [ "$short" != . ]; then
			shorts+=("[-$short $arg]")
		elif [ "$arg" = . ]; then
			longs+=("[--$long]")
		else
			longs+=("[--$long $arg]")
		fi
	done <<<"$PP_OPTIONS"
	words=("[-$flags]" "${shorts[@]}")
	while [ $# -gt 0 ] && [ "$1" != -- ]; do words+=("$1"); shift; done
	words+=("${longs[@]}")
	[ $# -eq 0 ] || words+=("${@:2}")
	local line="usage: $PP_NAME" indent
	printf -v indent '%*s' $((${#PP_NAME} + 8)) ''
	for w in "${words[@]}"; do
		if [ $((${#line} + 1 + ${#w})) -gt 100 ]; then
			printf '%s\n' "$line"
			line="$indent$w"
		else
			line+=" $w"
		fi
	done
	printf '%s\n' "$line"
}

# pp_need N OPTION: N words left, OPTION's value among them.
pp_need() { [ "$1" -ge 2 ] || pp_usage_error "$2: needs an argument"; }

# The checks of PP_OPTIONS's check column: CHECK OPTION VALUE [A [B]].
# pp_int OPTION VALUE MIN [MAX]: a whole number in range, else a usage error.
pp_int() {
	[[ $2 =~ ^[0-9]+$ ]] && [ "${#2}" -le 12 ] && [ "$2" -ge "$3" ] &&
		{ [ -z "${4:-}" ] || [ "$2" -le "$4" ]; } && return 0
	if [ -n "${4:-}" ]; then
		pp_usage_error "$1 $2: not a whole number from $3 to $4"
	fi
	pp_usage_error "$1 $2: not a whole number of at least $3"
}
pp_secs() { [[ $2 =~ ^[0-9]+([.][0-9]+)?$ ]] || pp_usage_error "$1 $2: not a number of seconds"; }
# --base-url: given on the command line (pp_check_base names it so).
pp_base_opt() { PP_BASE_OPT=1; }
# --proxy URL: never with credentials (they would show in ps; fetch-page refuses them too).
pp_proxy() {
	[[ $2 =~ ^([A-Za-z0-9+.-]+://)?[^/@]*@ ]] &&
		pp_usage_error "$1: credentials in the URL would show in ps: use --proxy-user-env"
	return 0
}
# --proxy-user-env VAR: the name goes to fetch-page, the value stays in the environment
# (exported, for the page commands).
pp_proxy_user_env() {
	[[ $2 =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || pp_usage_error "$1 $2: not a variable name"
	[ -n "${!2:-}" ] || pp_usage_error "$1: environment variable $2 is not set"
	export "${2?}"
}

# pp_check_base VAR: PP_BASE (from --base-url or the variable VAR) must be an http:// or
# https:// URL with a host: one line here rather than fetch-page's usage from a page.
pp_check_base() {
	# A base URL with a trailing slash works as one without: no "//" paths.
	PP_BASE=${PP_BASE%/}
	[[ $PP_BASE =~ ^https?://[^/?#[:space:]]+([/?#][^[:space:]]*)?$ ]] && return 0
	local from="--base-url $PP_BASE"
	[ -n "$PP_BASE_OPT" ] || from="$1=$PP_BASE"
	[[ $PP_BASE == *://* ]] ||
		pp_die 2 "$from: the scheme is missing: write http://$PP_BASE or https://$PP_BASE"
	pp_die 2 "$from: not an http:// or https:// URL with a host"
}

# pp_table_opts COLUMN: the options of COLUMN (fetch or paginate) for the settings in
# PP_OPTIONS, into PP_OPTS.
pp_table_opts() {
	PP_OPTS=()
	local long short var def arg check fetch pag to
	while read -r long short var def arg check fetch pag; do
		[ -n "$long" ] || continue
		if [ "$1" = fetch ]; then to=$fetch; else to=$pag; fi
		[ "$to" != . ] && [ -n "${!var:-}" ] || continue
		if [ "$arg" = . ]; then PP_OPTS+=("$to"); else PP_OPTS+=("$to" "${!var}"); fi
	done <<<"$PP_OPTIONS"
}

# --- fetch-page and paginate ----------------------------------------------------------
# PP_FETCH: fetch-page's options for one request, from PP_OPTIONS's fetch column. A refused
# connection, a 429 or a 5xx before the body is retried twice by fetch-page itself
# (honouring Retry-After); anything that breaks later ends the page with 75, and paginate
# retries the whole page.
pp_fetch_opts() {
	pp_table_opts fetch
	PP_FETCH=(--retry 2 "${PP_OPTS[@]}")
	pp_auth_hint
	[ -z "$PP_AUTH_HINT" ] || PP_FETCH+=(--auth-hint "$PP_AUTH_HINT")
}

# --- the page program ----------------------------------------------------------------
# pp_page_export: main's settings for the page program: the variables named in PP_PAGE_ENV,
# and PP_FETCH_ARGS (fetch-page's options, PP_FETCH joined by the unit separator 0x1F).
pp_page_export() {
	pp_fetch_opts
	local IFS=$'\x1f'
	export PP_FETCH_ARGS="${PP_FETCH[*]}"
	export "${PP_PAGE_ENV[@]}"
}

# pp_dispatch ARGS…: the pipeline's last line. `__page` (from paginate) runs the page program:
# every variable of PP_FETCH_ARGS and PP_PAGE_ENV must be set, else one line, exit 2; PP_FETCH
# is ready. Anything else runs main.
pp_dispatch() {
	if [ "${1:-}" != __page ]; then
		main "$@"
		return
	fi
	local v
	for v in PP_FETCH_ARGS "${PP_PAGE_ENV[@]}"; do
		[ -n "${!v+set}" ] ||
			pp_die 2 "__page: $v is not set: a page is run by $PP_NAME through paginate, not alone"
	done
	IFS=$'\x1f' read -r -d '' -a PP_FETCH < <(printf %s "$PP_FETCH_ARGS") || :
	page
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

# PP_PAGINATE: paginate's options from PP_OPTIONS's paginate column (a pipeline's strategy
# options come after).
pp_paginate_opts() {
	pp_table_opts paginate
	PP_PAGINATE=("${PP_OPTS[@]}")
	# the keeper paginate starts loads the run's CA once: --cacert's file (fetch-keeper(1))
	[ -z "$PP_CACERT" ] || export PAGEPULL_CACERT=$PP_CACERT
}

# pp_status S…: a page pipeline's exit status from its PIPESTATUS, by the page-status rule
# of paginate(1) ("Pipelines without a shell", as lib/spawn.c's for --pipeline): that of
# the first stage that failed for a reason of its own; 141 (SIGPIPE) is one only in the
# last stage.
pp_status() {
	local s st=0 at=0
	for s; do
		if [ "$s" -ne 0 ] && { [ "$s" -ne 141 ] || [ $((at + 1)) -eq $# ]; }; then
			st=$s
			break
		fi
		at=$((at + 1))
	done
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

# pp_state_done WHAT: for a pipeline whose every run is the whole data: 0 when the last run
# committed, its work files gone and a note said so (nothing to fetch: remove the state for
# a new WHAT); 1 when a run is to be made or resumed.
pp_state_done() {
	pp_state_complete || return 1
	pp_state_clean
	pp_note "$PP_STATE: already complete ($(pp_count "$(pp_state_get .records)" record)); remove it for a new $1"
}

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

# pp_checkpoint FILE FIELD: FIELD of paginate's checkpoint FILE (done, records, token,
# output, …: paginate(1), the checkpoint), the file checked by its sum; empty when absent.
# The pipelines read paginate's checkpoints only through this and pp_runs_done.
pp_checkpoint() {
	pp_json_read "$1"
	jq -r --arg f "$2" '.[$f] // empty' <<<"$PP_JSON"
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

# --- the run's connection keeper -----------------------------------------------------------
# One connection keeper (fetch-keeper(1)) for a whole run, named in PAGEPULL_KEEPER, which
# paginate and every fetch-page of the run then use instead of their own: one TCP connection
# and one TLS handshake for all the run's requests (mercury-products' types, DocsVision's
# login, cursor, pages and logout). Its parent is this shell, so that it ends with it however
# it ends (SIGTERM on its parent's death). pp_keeper_stop ends it and waits for it, and a
# fetch-keeper ends only once it has reaped its workers: after pp_keeper_stop no exchange that
# was handed to it (a killed page's, say) is still going on, so a request made then (a
# logout) is the run's last. It loads the run's CA once for every request: --cacert's file
# (PP_CACERT), else libcurl's default.
# pp_keeper_start [own]: none where PAGEPULL_NO_KEEPALIVE is set. A keeper named already (an
# outer one) is used as it is, unless `own`: then the run has its own anyway (an outer one
# cannot be ended and waited for), and if it cannot start, no keeper at all (direct
# exchanges, not paginate's, which a signal would leave behind); without `own` a keeper
# that cannot start leaves paginate's own.
PP_KEEPER_PID='' PP_KEEPER_SOCK='' PP_KEEPER_OWN=''
pp_keeper_start() {
	PP_KEEPER_OWN=${1:-}
	case ${PAGEPULL_NO_KEEPALIVE:-0} in 0 | '') ;; *) return 0 ;; esac
	if [ -n "${PAGEPULL_KEEPER:-}" ]; then
		[ -n "$PP_KEEPER_OWN" ] || return 0
		unset PAGEPULL_KEEPER
	fi
	local fd sock=''
	exec {fd}< <(
		[ -z "${PP_LOCK_FD:-}" ] || exec {PP_LOCK_FD}>&-
		exec fetch-keeper -P "${PP_PARALLEL:-1}" ${PP_CACERT:+--cacert "$PP_CACERT"} --serve
	)
	PP_KEEPER_PID=$!
	read -r -u "$fd" sock || true
	exec {fd}<&-
	if [ -z "$sock" ]; then
		pp_keeper_stop
		[ -z "$PP_KEEPER_OWN" ] || export PAGEPULL_NO_KEEPALIVE=1
		return 0
	fi
	PP_KEEPER_SOCK=$sock
	export PAGEPULL_KEEPER=$sock
}

# pp_keeper_stop: the run's keeper ended and waited for (its workers with it); its socket
# and directory removed (the keeper removes them itself, unless it was killed with -9).
pp_keeper_stop() {
	[ -n "$PP_KEEPER_PID" ] || return 0
	kill -s TERM "$PP_KEEPER_PID" 2>/dev/null || true
	wait "$PP_KEEPER_PID" 2>/dev/null || true
	PP_KEEPER_PID=''
	if [ -n "$PP_KEEPER_SOCK" ]; then
		rm -f -- "$PP_KEEPER_SOCK"
		rmdir -- "${PP_KEEPER_SOCK%/S}" 2>/dev/null || true
		PP_KEEPER_SOCK=''
		unset PAGEPULL_KEEPER
	fi
}

# pp_keeper_alive: the run's keeper replaced if it died (a kill -9), so that the requests
# after it share one connection again rather than make one each.
pp_keeper_alive() {
	[ -n "$PP_KEEPER_PID" ] || return 0
	kill -0 "$PP_KEEPER_PID" 2>/dev/null && return 0
	pp_keeper_stop
	pp_keeper_start "$PP_KEEPER_OWN"
}

pp_locate
