#!/bin/sh
# roost relay: bring the WireGuard tunnel up with wg-quick (the kernel's WireGuard, or
# wireguard-go where the kernel has none) and stay while it lasts. When the tunnel goes away
# (its wireguard-go process was killed, the link deleted) this exits and systemd starts it
# again. A far end that rebooted is WireGuard's own business: the home end's keepalive and
# handshakes find it again (measured: about 5 s after the VPS is back).
# usage: relay-tunnel INTERFACE
set -u
ifname=${1:?interface}
wg-quick up "$ifname" || exit 1
while [ -d "/sys/class/net/$ifname" ]; do
  sleep 5
done
echo "the tunnel $ifname went away; systemd starts it again" >&2
exit 1
