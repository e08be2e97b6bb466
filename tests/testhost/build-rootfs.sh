#!/bin/bash
# Build the generic root filesystem of a test host as a tar: minimal Debian with systemd as PID 1,
# sshd, sudo and python3, booted later with systemd-nspawn. Per-host settings (name, address,
# authorized key) are written after each extraction by tests/testhost.py, so one tar serves
# every host. The mirror and resolver come from this machine's apt sources; the host trusts the
# extra CA certificates this machine trusts (pip and npm over HTTPS need them).
# usage: build-rootfs.sh OUT.tar [SUITE]
set -euo pipefail
OUT=${1:?output tar}; SUITE=${2:-bookworm}
MIRROR=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
[ -n "$MIRROR" ] || MIRROR=$(awk '/^deb /{print $2; exit}' /etc/apt/sources.list)
TMP="$OUT.partial.$$"
trap 'rm -f "$TMP"' EXIT
# The hooks are run by mmdebstrap, which gives them the root folder as $1: single quotes on purpose.
# shellcheck disable=SC2016
mmdebstrap --variant=minbase --mode=root --format=tar --skip=cleanup/apt/lists \
  --include=systemd,systemd-sysv,dbus,openssh-server,iproute2,ca-certificates,sudo,python3,systemd-resolved,procps,less \
  --customize-hook='mkdir -p "$1/root/.ssh" && chmod 700 "$1/root/.ssh"' \
  --customize-hook='chroot "$1" systemctl enable systemd-networkd ssh' \
  --customize-hook='printf "UseDNS no\nPasswordAuthentication no\n" > "$1/etc/ssh/sshd_config.d/10-roost-test.conf"' \
  --customize-hook='for c in /usr/local/share/ca-certificates/*.crt; do [ -e "$c" ] && cp "$c" "$1/usr/local/share/ca-certificates/"; done; chroot "$1" update-ca-certificates >/dev/null 2>&1 || true' \
  --customize-hook='rm -f "$1/etc/machine-id" && touch "$1/etc/machine-id"' \
  "$SUITE" "$TMP" "$MIRROR"
mv "$TMP" "$OUT"
trap - EXIT
