#!/bin/sh
# The unit's hardening stays at an exposure of 1.5 or lower and it verifies
# cleanly (with the freshly built binary in place of /usr/sbin/plumbd).
set -eu
unit="$PLUMB_SRCDIR/systemd/plumbd.service"
command -v systemd-analyze >/dev/null || { echo "SKIP: no systemd-analyze"; exit 77; }
out=$(systemd-analyze security --offline=true "$unit" 2>&1)
level=$(printf '%s\n' "$out" | sed -n 's/.*Overall exposure level for plumbd.service: \([0-9.]*\).*/\1/p')
[ -n "$level" ] || { printf '%s\n' "$out"; echo "FAIL: no exposure level"; exit 1; }
echo "exposure: $level"
awk -v l="$level" 'BEGIN { exit !(l <= 1.5) }' || { echo "FAIL: exposure $level > 1.5"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sed "s|/usr/sbin/plumbd|$PLUMB_BUILDDIR/daemon/plumbd|g" "$unit" > "$tmp/plumbd.service"
systemd-analyze verify --man=no "$tmp/plumbd.service"
echo "verify: clean"
