#!/bin/sh
# Installs the Debian packages named on the command line that are missing.
# As root it runs apt-get; otherwise it prints the exact command and fails.
# One dpkg-query for all the names (make check runs this every time: it must cost nothing
# when everything is there). A package counts as present when an installed package
# provides it (NodeSource's nodejs provides npm and conflicts with Debian's: asking apt for
# npm there would fail); that list is read only for a name not installed itself.
installed=$(dpkg-query -W -f='${db:Status-Abbrev}${Package}\n' "$@" 2>/dev/null | sed -n 's/^ii *//p')
provided=
missing=
for p in "$@"; do
	printf '%s\n' "$installed" | grep -qxF "$p" && continue
	if [ -z "$provided" ]; then
		provided=$(dpkg-query -W -f='${db:Status-Abbrev}\t${Provides}\n' 2>/dev/null |
			sed -n 's/^ii *\t//p' | tr ',' '\n' | sed 's/(.*//; s/ //g')
		provided=${provided:-none}
	fi
	printf '%s\n' "$provided" | grep -qxF "$p" || missing="$missing $p"
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
