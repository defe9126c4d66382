#!/usr/bin/env bats
# The build and the shared conventions every filter keeps: --help on stdout with exit 0,
# --version, a usage error with exit 2, and a man page that lints clean.
load helpers

@test "foundation: every filter answers --help on stdout and exits 0" {
	for f in "$BIN"/*; do
		run "$f" --help
		assert_success
		assert_output --partial "sage"
	done
}

@test "foundation: every filter prints its name and version" {
	for f in "$BIN"/*; do
		run "$f" --version
		assert_success
		assert_output "$(basename "$f") 0.1.0"
	done
}

@test "foundation: every filter rejects an unknown option with exit 2" {
	for f in "$BIN"/*; do
		run "$f" --no-such-option
		assert_failure 2
	done
}

@test "foundation: every man page lints clean with groff -ww" {
	for m in "$ROOT"/man/*.[17]; do
		run groff -mandoc -ww -z "$m"
		assert_success
		assert_output ""
	done
}

@test "foundation: every filter and pipeline has a man page" {
	for f in "$BIN"/*; do
		[ -f "$ROOT/man/$(basename "$f").1" ] || fail "no man page for $(basename "$f")"
	done
}

@test "foundation: the Diadoc descriptor set is built" {
	[ -s "$ROOT/build/diadoc.desc" ]
	run protoc --decode=google.protobuf.FileDescriptorSet -I/usr/include google/protobuf/descriptor.proto < "$ROOT/build/diadoc.desc"
	assert_success
	assert_output --partial 'name: "GetDocflowEventsResponse"'
}
