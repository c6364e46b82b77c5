#!/bin/sh
# build-deb.sh [OUTDIR]: build php-pool's Debian package from this source tree.
#
# The top level of the tree is fixed (no debian/ there), so this copies the tree (the files git
# knows and the untracked ones it does not ignore; every file but build directories without
# git) to a temporary directory, copies packaging/debian in as debian/, and runs
# dpkg-buildpackage -b. The .deb files land in OUTDIR (default: the current directory).
# DEB_BUILD_OPTIONS defaults to "nocheck parallel=2": the test suite is not re-run (it is what
# builds the package in tests/packaging), and the machine's cores are shared.
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
out=$(mkdir -p "${1:-.}" && cd "${1:-.}" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/php-pool-deb.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir "$work/php-pool"
if git -C "$src" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	(cd "$src" && git ls-files -z --cached --others --exclude-standard |
		xargs -0 sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh |
		tar --null -T - -cf -) | tar -C "$work/php-pool" -xf -
else
	tar -C "$src" --exclude='./build*' -cf - . | tar -C "$work/php-pool" -xf -
fi
rm -rf "$work/php-pool/debian"
cp -r "$src/packaging/debian" "$work/php-pool/debian"
cd "$work/php-pool"
DEB_BUILD_OPTIONS=${DEB_BUILD_OPTIONS:-nocheck parallel=2} \
	dpkg-buildpackage -b -us -uc --no-sign
cp "$work"/*.deb "$work"/*.buildinfo "$work"/*.changes "$out"/
ls "$out"/*.deb
