"""A relay through the person's VPS: a WireGuard tunnel from the home host (a Pi behind
carrier-grade NAT, or a router the person cannot open) to the VPS, which forwards the service's
ports into it. The domain then points at the VPS.

Two recipes, one per end, run by the same engine as a deploy (so a cut-off run continues and a
second run changes nothing):

- the home end (`home_recipe`): wireguard-tools and wireguard-go, the tunnel's config with the
  home host's private key (mode 0600 root, written as a file's content, never an argument),
  and roost's unit `roost-relay.service`, which brings the tunnel up with `wg-quick` (the
  kernel's WireGuard, or `wireguard-go` where the kernel has none) and is started again by
  systemd when the tunnel goes away. PersistentKeepalive keeps the NAT's path open; the
  watcher's datagram through the tunnel every 5 s makes WireGuard handshake again with a VPS
  that restarted (keepalives alone do not);
- the VPS end (`vps_recipe`): the same unit listening on `LISTEN_PORT`/udp, and one nftables
  table per service (`roost_relay_<service>`, in its own file under `RULES_DIR`, loaded each
  time the tunnel comes up): traffic to the VPS's own address on the service's ports is
  DNATed to the home end's tunnel address, and masqueraded into the tunnel so the replies come
  back the same way. Nothing else on the VPS is touched.

Removing (`Recipe.uninstall`): the service's table and file go; with `last=True` (no other
service relayed through this tunnel), the tunnel, its unit and its keys go too, on both ends.
The Debian packages stay.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from roost.core import validate
from roost.core.errors import RoostError
from roost.deploy import steps as st
from roost.deploy.recipe import Port, Recipe

INTERFACE = "roost-relay"
UNIT = "roost-relay.service"
WG_DIR = "/etc/wireguard"
CONF = f"{WG_DIR}/{INTERFACE}.conf"
UNIT_PATH = f"/etc/systemd/system/{UNIT}"
WATCH = "/usr/local/lib/roost/relay-tunnel"
RULES_DIR = "/etc/roost/relay"
LISTEN_PORT = 51820
KEEPALIVE = 25
HOME_TUNNEL = "10.213.47.2"
VPS_TUNNEL = "10.213.47.1"
"""The tunnel's own two addresses: a private /30 unlikely to be a home network's."""
PACKAGES = ("wireguard-tools", "wireguard-go")

HANDSHAKE = (
    'n=$(wg show "$1" latest-handshakes 2>/dev/null | awk \'{print $2; exit}\'); '
    '[ -n "$n" ] && [ "$n" -gt 0 ]'
)
"""Exit 0 once the tunnel $1 has made a handshake with the other end."""
TABLE_EXISTS = 'nft list table ip "$1" >/dev/null 2>&1'
TABLE_DELETE = 'if nft list table ip "$1" >/dev/null 2>&1; then nft delete table ip "$1"; fi'


@dataclass(frozen=True)
class Relay:
    """One service on `home` reached through `vps` at `vps_address`, with the WireGuard
    identities `home_key` and `vps_key` (vault ids) whose public keys are given."""

    service_id: str
    home: str
    vps: str
    vps_address: str
    home_key: str
    home_public: str
    vps_key: str
    vps_public: str
    ports: tuple[Port, ...]

    def __post_init__(self) -> None:
        validate.short_name(self.service_id, "service id")
        object.__setattr__(self, "vps_address", validate.hostname(self.vps_address,
                                                                  "VPS address"))
        object.__setattr__(self, "ports", tuple(self.ports))
        if not self.ports:
            raise RoostError(f"{self.service_id} has no ports to relay",
                             hint="only a service others connect to needs a relay")
        for port in self.ports:
            if port.number == LISTEN_PORT and port.protocol == "udp":
                raise RoostError(f"the relay's tunnel uses UDP port {LISTEN_PORT} on the VPS",
                                 hint="move the service to another port")

    @property
    def table(self) -> str:
        """The service's own nftables table on the VPS."""
        return "roost_relay_" + self.service_id.replace("-", "_")

    @property
    def rules_path(self) -> str:
        return f"{RULES_DIR}/{self.service_id}.nft"

    @property
    def recipe_id(self) -> str:
        return f"relay-{self.service_id}"[:63]

    def endpoint(self) -> str:
        host = f"[{self.vps_address}]" if ":" in self.vps_address else self.vps_address
        return f"{host}:{LISTEN_PORT}"

    def ports_words(self) -> str:
        return ", ".join(p.spoken() for p in self.ports)


def nft_rules(relay: Relay) -> str:
    """The VPS's table for one service: replaced as a whole each time it is loaded."""
    t = relay.table
    lines = [f"# roost relay: {relay.service_id} on {relay.home}, through the tunnel "
             f"{INTERFACE}.", f"table ip {t}", f"delete table ip {t}", f"table ip {t} {{",
             "\tchain prerouting {",
             "\t\ttype nat hook prerouting priority dstnat; policy accept;"]
    by_proto: dict[str, list[str]] = {}
    for p in relay.ports:
        by_proto.setdefault(p.protocol, []).append(str(p.number))
    for proto, numbers in by_proto.items():
        lines.append(f'\t\tiifname != "{INTERFACE}" fib daddr type local {proto} dport '
                     f'{{ {", ".join(numbers)} }} dnat to {HOME_TUNNEL}')
    lines += ["\t}", "\tchain postrouting {",
              "\t\ttype nat hook postrouting priority srcnat; policy accept;"]
    for proto, numbers in by_proto.items():
        lines.append(f'\t\toifname "{INTERFACE}" ip daddr {HOME_TUNNEL} {proto} dport '
                     f'{{ {", ".join(numbers)} }} masquerade')
    lines += ["\t}", "}", ""]
    return "\n".join(lines)


def _tunnel_steps(conf: st.RenderTemplate, peer: str, peer_address: str,
                  packages: Sequence[str] = ()) -> list[st.Step]:
    return [
        st.InstallPackages((*PACKAGES, *packages)),
        conf,
        st.WriteFile(WATCH, st.load_script("relay-tunnel.sh"), mode=0o755, owner="root",
                  group="root"),
        st.RenderTemplate(UNIT_PATH, template="relay-tunnel.service", mode=0o644,
                       values={"interface": INTERFACE, "watch": WATCH, "peer": peer,
                               "peer_address": peer_address}),
    ]


def _start(watch: Sequence[str]) -> list[st.Step]:
    # Enabled for boot; restarted (here: started) whenever the config, watcher or rules
    # changed, which a first run always has.
    return [st.RunCommand(("systemctl", "enable", UNIT), unless=("systemctl", "is-enabled",
                                                              "--quiet", UNIT),
                       description=f"enable {UNIT} at boot"),
            st.Restart(UNIT, watch=tuple(watch))]


def _removal(relay: Relay, last: bool, extra: Sequence[st.Step] = ()) -> tuple[st.Step, ...]:
    steps: list[st.Step] = list(extra)
    if last:
        steps += [st.DisableService(UNIT), st.RemovePath(UNIT_PATH), st.RemovePath(CONF),
                  st.RemovePath(WATCH)]
    return tuple(steps)


def home_recipe(relay: Relay, last: bool = True) -> Recipe:
    """The home host's end: the tunnel to the VPS, kept up by systemd."""
    conf = st.RenderTemplate(CONF, template="relay-home.conf", mode=0o600, owner="root",
                          group="root", values={
                              "private_key": st.Secret(relay.home_key, "private_key"),
                              "peer_key": relay.vps_public, "vps": relay.vps,
                              "endpoint": relay.endpoint(), "home_tunnel": HOME_TUNNEL,
                              "vps_tunnel": VPS_TUNNEL, "keepalive": str(KEEPALIVE)})
    steps = [*_tunnel_steps(conf, relay.vps, VPS_TUNNEL), *_start((CONF, WATCH, UNIT_PATH))]
    return Recipe(
        id=relay.recipe_id, service_id=relay.service_id,
        title=f"the relay tunnel from {relay.home} to {relay.vps}", steps=tuple(steps),
        health=st.WaitHealth(f"the tunnel reaches {relay.vps}",
                          argv=tuple(st.script(HANDSHAKE, INTERFACE)), timeout=60, interval=1),
        uninstall=_removal(relay, last))


def vps_recipe(relay: Relay, last: bool = True) -> Recipe:
    """The VPS's end: the tunnel's listening side and the service's forwarded ports."""
    conf = st.RenderTemplate(CONF, template="relay-vps.conf", mode=0o600, owner="root",
                          group="root", values={
                              "private_key": st.Secret(relay.vps_key, "private_key"),
                              "peer_key": relay.home_public, "home": relay.home,
                              "home_tunnel": HOME_TUNNEL, "vps_tunnel": VPS_TUNNEL,
                              "listen_port": str(LISTEN_PORT), "rules_dir": RULES_DIR})
    rules = st.WriteFile(relay.rules_path, nft_rules(relay), mode=0o644, owner="root",
                      group="root")
    steps = [*_tunnel_steps(conf, relay.home, HOME_TUNNEL, ("nftables",)),
             rules,
             *_start((CONF, WATCH, UNIT_PATH, relay.rules_path)),
             # Loaded by the tunnel's start above; loaded here when it went missing since.
             st.RunCommand(("nft", "-f", relay.rules_path),
                        unless=tuple(st.script(TABLE_EXISTS, relay.table)),
                        description=f"load the forwarding table {relay.table}")]
    forget = [st.RunCommand(tuple(st.script(TABLE_DELETE, relay.table)),
                         unless=("sh", "-c", f"! {TABLE_EXISTS}", "sh", relay.table),
                         description=f"remove the forwarding table {relay.table}"),
              st.RemovePath(relay.rules_path), *([st.RemovePath(RULES_DIR)] if last else [])]
    return Recipe(
        id=relay.recipe_id, service_id=relay.service_id,
        title=f"the relay on {relay.vps} for {relay.service_id}", steps=tuple(steps),
        ports=tuple(Port(p.number, p.protocol, option=None) for p in relay.ports),
        uninstall=_removal(relay, last, forget))
