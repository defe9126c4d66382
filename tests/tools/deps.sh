#!/bin/sh
# Installs the Debian packages named on the command line that are missing.
# As root it runs apt-get; otherwise it prints the exact command and fails.
# A package counts as present when an installed package provides it (NodeSource's nodejs
# provides npm and conflicts with Debian's: asking apt for npm there would fail).
provided=$(dpkg-query -W -f='${Status}\t${Provides}\n' 2>/dev/null |
	sed -n 's/^install ok installed\t//p' | tr ',' '\n' | sed 's/(.*//; s/ //g')
missing=
for p in "$@"; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		printf '%s\n' "$provided" | grep -qxF "$p" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
cmd="apt-get install -y --no-install-recommends$missing"
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing packages; run as root: apt-get update && $cmd" >&2
	exit 1
fi
echo "deps: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null && $cmd >/dev/null || { echo "deps: apt-get failed" >&2; exit 1; }
