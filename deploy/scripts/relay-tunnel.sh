#!/bin/bash
# roost relay: bring the WireGuard tunnel up with wg-quick (the kernel's WireGuard, or
# wireguard-go where the kernel has none) and stay while it lasts. When the tunnel goes away
# (its wireguard-go process was killed, the link deleted) this exits and systemd starts it
# again. A small packet to the far end every few seconds is data, not a keepalive: when the
# far end lost its session (it rebooted), WireGuard then makes a new handshake within seconds.
# usage: relay-tunnel INTERFACE PEER_TUNNEL_ADDRESS
set -u
ifname=${1:?interface}
peer=${2:?peer tunnel address}
wg-quick up "$ifname" || exit 1
while [ -d "/sys/class/net/$ifname" ]; do
  { printf 'roost-relay\n' > "/dev/udp/$peer/9"; } 2>/dev/null || true
  sleep 5
done
echo "the tunnel $ifname went away; systemd starts it again" >&2
exit 1
