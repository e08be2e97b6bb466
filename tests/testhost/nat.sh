#!/bin/bash
# Let a test subnet reach only this machine's resolver (DNS) and HTTP/HTTPS out (the package
# mirror, PyPI, npm), so apt, pip and npm work inside a test host and nothing else leaves.
# usage: nat.sh up SUBNET TAG | nat.sh down TAG
set -euo pipefail
case "${1:?up|down}" in
  down) nft delete table ip "roost_${2:?tag}" 2>/dev/null || true; exit 0 ;;
  up) NET=${2:?subnet}; TAG=${3:?tag} ;;
  *) echo "usage: nat.sh up SUBNET TAG | nat.sh down TAG" >&2; exit 2 ;;
esac
DNS=$(awk '/^nameserver/{print $2; exit}' /etc/resolv.conf)
OUT=$(ip route show default | awk '{print $5; exit}')
echo 1 > /proc/sys/net/ipv4/ip_forward
nft delete table ip "roost_$TAG" 2>/dev/null || true
nft -f - <<EON
table ip roost_$TAG {
  chain testfwd { type filter hook forward priority 0; policy accept;
    ip saddr $NET ip daddr $DNS udp dport 53 accept
    ip saddr $NET ip daddr $DNS tcp dport 53 accept
    ip saddr $NET oifname "$OUT" tcp dport { 80, 443 } accept
    ip saddr $NET oifname "$OUT" drop
  }
  chain testnat { type nat hook postrouting priority 100; ip saddr $NET oifname "$OUT" masquerade; }
}
EON
