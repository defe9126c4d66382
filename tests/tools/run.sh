#!/bin/sh
# make check: the C unit tests (build/unit/*, from tests/unit/) and every bats suite under
# tests/, TAP output (.ci/run counts the ok/not ok lines), then the sanitizer pass: the unit
# tests and the suites of ASAN_SUITES again, against the ASan+UBSan build (build/asan from
# `make asan`), their test names prefixed "asan: ". Sanitizer reports go
# to build/asan/log (exit status 99, never a documented one); a last TAP line fails if any
# report was written, even by a command whose status a test does not check.
cd "$(dirname "$0")/../.." || exit 2
st=0
for u in build/unit/*; do
	[ -x "$u" ] && { "$u" || st=1; }
done
bats --tap tests/*.bats || st=1

ASAN_SUITES=${ASAN_SUITES:-"foundation xml2ndjson json2ndjson pb2ndjson ndjson2pb b64inflate datamill-norm paginate-cli paginate-strategies paginate-run paginate-totals paginate-parallel paginate-state fetch-page fetch-keeper"}
suites=
for s in $ASAN_SUITES; do
	[ -e "tests/$s.bats" ] && suites="$suites tests/$s.bats"
done
[ -n "$suites" ] || exit $st
rm -rf build/asan/log
mkdir -p build/asan/log
san="exitcode=99:log_path=$PWD/build/asan/log/report:print_stacktrace=1"
{
	u_st=0
	for u in build/asan/unit/*; do
		[ -x "$u" ] || continue
		ASAN_OPTIONS="$san:detect_leaks=1" UBSAN_OPTIONS="$san:halt_on_error=1" "$u" || u_st=1
	done
	PAGEPULL_BIN=$PWD/build/asan/bin PAGEPULL_SANITIZED=1 ASAN_OPTIONS="$san:detect_leaks=1" \
	UBSAN_OPTIONS="$san:halt_on_error=1" LSAN_OPTIONS="exitcode=99" \
		bats --tap $suites
	st_bats=$?
	[ "$u_st" = 0 ] && echo $st_bats >build/asan/status || echo 1 >build/asan/status
} | sed -e 's/^ok \([0-9]*\) /ok \1 asan: /' -e 's/^not ok \([0-9]*\) /not ok \1 asan: /'
[ "$(cat build/asan/status)" = 0 ] || st=1
reports=$(ls build/asan/log 2>/dev/null | wc -l)
if [ "$reports" -eq 0 ]; then
	echo "ok 1 asan: no sanitizer report from any run of the sanitizer pass"
else
	echo "not ok 1 asan: no sanitizer report from any run of the sanitizer pass"
	for f in build/asan/log/*; do
		echo "# $f:"
		grep -E 'ERROR|SUMMARY|runtime error|#[0-3] ' "$f" | head -8 | sed 's/^/#   /'
	done
	st=1
fi
exit $st
