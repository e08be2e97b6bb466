#!/bin/bash
# roost relay: bring the WireGuard tunnel up with wg-quick (the kernel's WireGuard, or
# wireguard-go where the kernel has none) and stay while it lasts. When the tunnel goes away
# (its wireguard-go process was killed, the link deleted) this exits and systemd starts it
# again.
# A far end that restarted has forgotten the session; keepalives alone never make WireGuard
# notice (they do not count as data), so it would wait up to two minutes for its next rekey.
# Every 5 s this sends one datagram to the far end's tunnel address (the discard port): data
# that gets no answer within 15 s makes WireGuard handshake again by itself.
# usage: relay-tunnel INTERFACE PEER-TUNNEL-ADDRESS
set -u
ifname=${1:?interface}
peer=${2:?peer tunnel address}
wg-quick up "$ifname" || exit 1
while [ -d "/sys/class/net/$ifname" ]; do
  { printf 'roost' > "/dev/udp/$peer/9"; } 2>/dev/null || true
  sleep 5
done
echo "the tunnel $ifname went away; systemd starts it again" >&2
exit 1
