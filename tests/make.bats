#!/usr/bin/env bats
# make: the Makefile's own promises (issue 19): `all` builds what a user runs and nothing only
# the tests need; one set of rules built into two trees (normal and asan); install and
# uninstall under DESTDIR that fail loudly; the deps step costs nothing when nothing is
# missing. Dry runs (make -n -B) where the question is what would be built.
load helpers
bats_require_minimum_version 1.5.0

setup() {
	cd "$BATS_TEST_TMPDIR" || return 1
}

# installed DIR: the files under DIR, relative, sorted.
installed() { (cd "$1" && find . -type f | sed 's|^\./||' | LC_ALL=C sort); }

# expected PREFIX: what `make install` must put under PREFIX (the programs, the pipelines,
# the pipelines' library, the Diadoc schema, the man pages).
expected() {
	{
		for f in "$ROOT"/filters/*.c; do f=${f##*/}; echo "$1/bin/${f%.c}"; done
		for f in "$ROOT"/pipelines/*; do
			[ -f "$f" ] && [ -x "$f" ] && echo "$1/bin/${f##*/}"
		done
		for f in "$ROOT"/pipelines/*.sh; do echo "$1/share/pagepull/${f##*/}"; done
		echo "$1/share/pagepull/diadoc.desc"
		for f in "$ROOT"/man/*.1; do echo "$1/share/man/man1/${f##*/}"; done
		for f in "$ROOT"/man/*.7; do echo "$1/share/man/man7/${f##*/}"; done
	} | LC_ALL=C sort
}

@test "make: all builds the programs, the schema and the man pages, not the emulator's Python modules; check and testprep do" {
	run make -C "$ROOT" -n -B all
	assert_success
	assert_output --partial 'protoc -Ipipelines/proto --include_imports --descriptor_set_out=build/diadoc.desc'
	refute_output --partial '--python_out'
	run make -C "$ROOT" -n -B testprep
	assert_output --partial 'protoc -Ipipelines/proto --python_out=build/py'
	run make -C "$ROOT" -n -B check
	assert_output --partial 'protoc -Ipipelines/proto --python_out=build/py'
}

@test "make: asan builds the same rules into build/asan: every lib object, every filter, the unit tests" {
	run make -C "$ROOT" -n -B asan
	assert_success
	local f n
	for f in "$ROOT"/lib/*.c; do
		n=${f##*/}
		assert_output --regexp "-fsanitize=address,undefined[^
]* -c -o build/asan/lib/${n%.c}\.o lib/$n"
	done
	for f in "$ROOT"/filters/*.c; do
		n=${f##*/}
		assert_output --partial "-o build/asan/bin/${n%.c} "
	done
	for f in "$ROOT"/tests/unit/*.c; do
		n=${f##*/}
		assert_output --partial "-o build/asan/unit/${n%.c} tests/unit/$n"
	done
	[ ! -e "$ROOT/tests/sanitize.mk" ] && [ ! -e "$ROOT/tests/tools/sanitize.mk" ]
}

@test "make: install puts every program, pipeline, library, schema and man page under DESTDIR; uninstall removes them all" {
	run make -s -C "$ROOT" install DESTDIR="$PWD/dest" PREFIX=/opt/pp
	assert_success
	expected opt/pp >want
	installed dest >got
	diff want got
	[ -x dest/opt/pp/bin/paginate ] && [ -x dest/opt/pp/bin/mercury-products ]
	run make -s -C "$ROOT" uninstall DESTDIR="$PWD/dest" PREFIX=/opt/pp
	assert_success
	run installed dest
	assert_output ''
	[ ! -e dest/opt/pp/share/pagepull ]
}

@test "make: install fails loudly when a file cannot be installed" {
	mkdir -p dest/usr/share/pagepull/lib.sh
	run make -s -C "$ROOT" install DESTDIR="$PWD/dest" PREFIX=/usr
	assert_failure 2
	assert_line --partial "install: cannot overwrite directory '$PWD/dest/usr/share/pagepull/lib.sh'"
}

@test "make: uninstall removes only what install put; a file of another's in the data directory fails it, kept" {
	make -s -C "$ROOT" install DESTDIR="$PWD/dest" PREFIX=/usr >/dev/null
	echo mine >dest/usr/share/pagepull/mine
	echo mine >dest/usr/bin/mine
	run make -s -C "$ROOT" uninstall DESTDIR="$PWD/dest" PREFIX=/usr
	assert_failure 2
	assert_line --partial "rmdir: failed to remove '$PWD/dest/usr/share/pagepull'"
	run installed dest
	assert_output $'usr/bin/mine\nusr/share/pagepull/mine'
}

@test "make: the deps step with every package present is one dpkg-query (two at most) and no apt-get" {
	local pkgs
	pkgs=$(make -C "$ROOT" -n check | sed -n 's|^sh tests/tools/deps.sh ||p')
	[ "$(echo "$pkgs" | wc -w)" -gt 30 ]
	mkdir shim
	for c in dpkg-query apt-get; do
		printf '#!/bin/sh\necho %s >>"%s/calls"\nexec /usr/bin/%s "$@"\n' "$c" "$PWD" "$c" >"shim/$c"
		chmod +x "shim/$c"
	done
	: >calls
	PATH="$PWD/shim:$PATH" run sh "$ROOT/tests/tools/deps.sh" $pkgs
	assert_success
	assert_output ''
	run grep -c dpkg-query calls
	[ "$output" -le 2 ]
	refute grep -q apt-get calls
}
