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

# The programs the suites, the demo and the pipelines run that a minimal Debian 12 (its
# "required" packages) lacks. Each must come from a package that `make deps-test` installs:
# one of DEBS or DEBS_TEST, or one of their dependencies. (PostgreSQL is left out:
# load-postgres.bats installs it itself, as it needs a server of its own.)
PROGRAMS='bats col man mandoc groff xmllint xmlstarlet xml2 yq xmlwf busybox parallel rsync
	/usr/sbin/sshd ssh ssh-keygen tinyproxy node npm jq curl python3 bc strace valgrind clang
	openssl ps pgrep /usr/bin/time perl protoc protoc-c pkg-config cc make'

# installed_closure PACKAGE…: the packages and what they depend on, recursively, as installed
# here (dpkg's database: no apt lists needed; a virtual name is what provides it).
installed_closure() {
	dpkg-query -W -f='${db:Status-Abbrev}\t${Package}\t${Depends}, ${Pre-Depends}\t${Provides}\n' |
		python3 -c '
import re, sys
deps, providers = {}, {}
for line in sys.stdin:
    status, pkg, dep, prov = line.rstrip("\n").split("\t")
    if not status.startswith("ii"):
        continue
    deps[pkg] = [[re.split(r"[ :(]", a.strip())[0] for a in d.split("|")] for d in dep.split(",") if d.strip()]
    for v in prov.split(","):
        if v.strip():
            providers.setdefault(re.split(r"[ (]", v.strip())[0], []).append(pkg)
def real(name):
    return [name] if name in deps else providers.get(name, [])
seen, todo = set(), [p for n in sys.argv[1:] for p in real(n)]
while todo:
    p = todo.pop()
    if p in seen:
        continue
    seen.add(p)
    for alts in deps.get(p, []):
        todo += [q for a in alts for q in real(a)]
print("\n".join(sorted(seen)))' "$@"
}

@test "foundation: every program the tests run comes from a package make deps-test installs" {
	local debs closure p path pkg
	debs=$(make -s -n -p -C "$ROOT" 2>/dev/null | sed -n 's/^DEBS\(_TEST\)\{0,1\} = //p')
	[ -n "$debs" ]
	closure=$(installed_closure $debs)
	for p in $PROGRAMS; do
		path=$(PATH=/usr/sbin:/usr/bin:/sbin:/bin command -v "$p") || fail "$p: not installed"
		path=$(readlink -f "$path")
		# (merged /usr: dpkg may know the file by its /bin or /sbin name)
		pkg=$(dpkg -S "$path" "${path#/usr}" 2>/dev/null | grep -v "^diversion " | head -n 1 | cut -d: -f1 | cut -d, -f1)
		[ -n "$pkg" ] || fail "$p: no package owns $(readlink -f "$path")"
		[ "$(dpkg-query -W -f='${Priority}' "$pkg")" = required ] && continue
		grep -qxF "$pkg" <<<"$closure" || fail "$p: its package $pkg is not in DEBS or DEBS_TEST"
	done
}
