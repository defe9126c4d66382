#!/bin/sh
# make check: every bats suite under tests/, TAP output (.ci/run counts the ok/not ok lines).
cd "$(dirname "$0")/.." || exit 2
exec bats --tap tests/*.bats
