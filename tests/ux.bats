#!/usr/bin/env bats
# ux: the first hour of a new user (issue 15, points 4-10): one message a failure, mistyped
# base URLs, progress and stop lines, man pages before install, what `make demo` installs,
# and the small things of the command line.
load helpers

# --- 9. make demo installs what the demo runs, not the test toolchain ---------------------

# The package list `make TARGET` hands to tests/deps.sh, one a line.
deps_of() {
	make -C "$ROOT" -n "$1" | sed -n 's|^sh tests/deps.sh ||p' | tr ' ' '\n' | sed '/^$/d' | sort -u
}

@test "ux: make demo installs no test toolchain; make check installs both lists" {
	run deps_of demo
	assert_success
	assert_line jq
	assert_line libcurl4-openssl-dev
	assert_line python3-protobuf
	for p in clang libclang-rt-14-dev valgrind strace bats xmlstarlet; do
		refute_line "$p"
	done
	run deps_of check
	for p in clang valgrind strace bats jq libcurl4-openssl-dev; do
		assert_line "$p"
	done
}

# --- 8. man pages before install ---------------------------------------------------------

@test "ux: make builds build/man for MANPATH: man 7 pagepull and man PIPELINE from the source tree" {
	[ -e "$ROOT/build/man/man7/pagepull.7" ] || make -C "$ROOT" -s all
	run env MANPATH="$ROOT/build/man" man -w 7 pagepull
	assert_success
	assert_output "$ROOT/build/man/man7/pagepull.7"
	run env MANPATH="$ROOT/build/man" man -w mercury-products
	assert_output "$ROOT/build/man/man1/mercury-products.1"
	grep -q '^MANPATH=build/man man 7 pagepull ' "$ROOT/README.md"
}
