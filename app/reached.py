"""How people outside reach a deployed service, for `roost check` (its `reach` field): from
the ways in roost recorded in the progress (`Progress.ways_in`: the router, UPnP, a relay, Tor)
and one cheap look on the host over the connection the check already has, where one exists:

- UPnP: the router still lists roost's forwardings of the service's ports, asked at the address
  it described itself at when they were made (no discovery, so no two-second wait);
- a relay: its tunnel's unit (roost-relay.service) is active on the host;
- Tor: Tor runs, and the onion service's `hostname` is the address roost noted;
- the router forwarding by hand: nothing to look at from the host; said as noted.

A service nobody outside must reach, or one with no way in recorded, gets None (nothing is
said). A look that cannot be made (sudo wants a password, the router does not answer where it
did) keeps what roost noted and says it was not confirmed; only a look that finds the way gone
makes the service "not reachable from outside".

    reach = reach_of(workspace)      # (service id, host, transport) -> Reach | None
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from roost.app.checking import Reach
from roost.core.errors import RoostError
from roost.deploy import onion, relay, upnp
from roost.deploy.recipe import Port
from roost.deploy.transport import Transport
from roost.plan.progress import Event
from roost.plan.workspace import Workspace

TOR_LOOK = ('systemctl is-active --quiet "$1" || exit 3; test -r "$3" || exit 4; '
            'grep -qxF -- "$2" "$3"')
"""Tor's unit runs ($1), and the onion service's hostname file ($3) holds the address ($2)."""
Look = tuple[bool | None, str]
"""(True: the way is there, False: it is gone, None: could not look; words)."""


def reach_of(ws: Workspace) -> Callable[[str, str, Transport], Reach | None]:
    """The `reach` callable `roost check` gives each service, from this progress."""
    progress = ws.progress
    ports = {(e.service_id, str(e.detail.get("host", ""))): e.ports()
             for e in progress.running()}

    def reach(service_id: str, host: str, t: Transport) -> Reach | None:
        svc = ws.catalog.get(service_id)
        if svc is None or not (svc.requirements.reached_by_others or (
                not svc.requirements.lan_only and svc.requirements.inbound_ports)):
            return None
        ways = progress.ways_in(service_id, host)
        if not ways:
            return None
        return reached(service_id, ways, ports.get((service_id, host), ()), t)

    return reach


def reached(service_id: str, ways: tuple[Event, ...], ports: tuple[str, ...],
            t: Transport) -> Reach:
    """The ways in recorded, each looked at on the host: reachable when one is there."""
    found: list[str] = []
    gone: list[str] = []
    for w in ways:
        how = _how(w.detail, ports)
        ok, why = look(service_id, w.detail, ports, t)
        if ok is False:
            gone.append(why)
        else:
            found.append(how if ok or not why else
                         f"{how} (as roost noted; not confirmed: {why})")
    if found:
        return Reach(True, " and ".join(found))
    return Reach(False, problem="; ".join(gone))


def _how(detail: Mapping[str, Any], ports: tuple[str, ...]) -> str:
    way = str(detail.get("way", ""))
    if way == "tor":
        return "over Tor"
    if way == "relay":
        return f"through the relay on {detail.get('via', '') or 'your VPS'}"
    what = ", ".join(ports) or "its ports"
    if way == "upnp":
        return f"through the router, which forwards {what} (UPnP)"
    return f"through the router, which forwards {what} (set by hand)"


def look(service_id: str, detail: Mapping[str, Any], ports: tuple[str, ...],
         t: Transport) -> Look:
    """One cheap look on the host at a way in (one command); (None, "") when there is
    nothing to look at."""
    way = str(detail.get("way", ""))
    try:
        if way == "tor":
            return _tor(service_id, str(detail.get("address", "")), t)
        if way == "relay":
            res = t.run(["systemctl", "is-active", "--quiet", relay.UNIT], timeout=10)
            return (True, "") if res.ok else (
                False, f"the relay's tunnel ({relay.UNIT}) is not running on {t.name}")
        if way == "upnp":
            return upnp.forwarded(t, str(detail.get("router", "")), _ports(ports),
                                  f"roost {service_id}")
    except RoostError as exc:
        return None, exc.message
    return None, ""  # forwarded by hand: nothing on the host to look at


def _tor(service_id: str, address: str, t: Transport) -> Look:
    if not address:
        return None, "roost noted no onion address"
    res = t.run(["sh", "-c", TOR_LOOK, "sh", onion.UNIT, address,
                 f"{onion.service_dir(service_id)}/hostname"], sudo=True, timeout=10)
    if res.ok:
        return True, ""
    return False, {3: f"Tor is not running on {t.name}",
                   4: f"the onion service is not on {t.name}"}.get(
        res.exit_code, f"the onion service on {t.name} has another address")


def _ports(ports: tuple[str, ...]) -> tuple[Port, ...]:
    out: list[Port] = []
    for p in ports:
        number, _, protocol = p.partition("/")
        out.append(Port(int(number), protocol, option=None))
    return tuple(out)
