"""The home router forwards a service's ports: UPnP-IGD, asked from the host itself.

A router only takes port mappings from a machine on its own network, for that machine's own
address, so the requests are made ON the host (the Pi at home) over the transport, with
Debian's `miniupnpc` client (`upnpc`, installed here when missing). Every argument is passed as
data (an argument list: the transport quotes it), never pasted into a shell line.

    gw = discover(t)                 # None: the router offers no UPnP-IGD
    added = open_ports(t, gw, ports, "roost prosody")
    close_ports(t, ports, "roost prosody")
    forwarded(t, gw.url, ports, "roost prosody")   # roost check: asks the router directly

`discover` waits about two seconds for the routers to answer; every later call asks the router
at the address of its description (`Gateway.url`) straight away. That address is noted in the
progress when the ports are opened, so `roost check` asks the router with no discovery at all.

`open_ports` reads the router's mappings first: a port already forwarded to this host under
the same description is kept (a rerun after an interruption adds nothing twice); a port the
router forwards to ANOTHER machine is refused in one sentence, never taken over.
`close_ports` removes only mappings to this host with this description.

When there is no UPnP, `by_hand_lines` says in words what to set on the router's page.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass

from roost.core.errors import RoostError
from roost.deploy.recipe import Port
from roost.deploy.steps.base import StepContext
from roost.deploy.steps.packages import InstallPackages
from roost.deploy.transport import Transport

PACKAGE = "miniupnpc"
UPNPC = "upnpc"
TIMEOUT = 60.0
"""Seconds one upnpc call may take (discovery waits about two seconds for answers)."""

_EXTERNAL = re.compile(r"^ExternalIPAddress\s*=\s*([0-9a-fA-F.:]+)\s*$", re.M)
_LAN = re.compile(r"^Local LAN ip address\s*:\s*([0-9a-fA-F.:]+)\s*$", re.M)
_DESC = re.compile(r"^\s*desc:\s*(https?://[!-~]+)\s*$", re.M)
CHECK_TIMEOUT = 8.0
"""Seconds `roost check` gives the router to list its forwardings (no discovery)."""
_MAPPING = re.compile(
    r"^\s*\d+\s+(TCP|UDP)\s+(\d+)->([0-9a-fA-F.:]+):(\d+)\s+'((?:[^']|'(?!\s))*)'", re.M)


@dataclass(frozen=True)
class Gateway:
    """The router as the host sees it: its address outside (the WAN address people use) and
    the host's own address on the home network (where the ports are forwarded to)."""

    external: str
    lan: str
    url: str = ""
    """Where the router describes itself (its rootDesc.xml): asking it there needs no
    discovery. "" when upnpc did not say."""


@dataclass(frozen=True)
class Mapping:
    """One forwarding the router holds: `external` port -> `address`:`internal`."""

    protocol: str
    external: int
    address: str
    internal: int
    description: str


def parse_status(text: str) -> Gateway | None:
    """`upnpc -s` output -> the gateway, or None when no router answered as an IGD."""
    ext, lan = _EXTERNAL.search(text), _LAN.search(text)
    if ext is None or lan is None:
        return None
    try:
        if ipaddress.ip_address(ext.group(1)).is_unspecified:
            return None  # an IGD with no address outside yet (not connected)
    except ValueError:
        return None
    desc = _DESC.search(text)
    return Gateway(ext.group(1), lan.group(1), desc.group(1) if desc else "")


def parse_list(text: str) -> tuple[Mapping, ...]:
    """`upnpc -l` output -> the mappings the router lists."""
    return tuple(Mapping(m.group(1), int(m.group(2)), m.group(3), int(m.group(4)),
                         m.group(5)) for m in _MAPPING.finditer(text))


def _at(url: str) -> tuple[str, ...]:
    """upnpc's arguments that ask the router at `url` (its description) straight away, with
    no discovery (about two seconds a call); () for no usable address (upnpc discovers)."""
    if url.startswith(("http://", "https://")) and not any(c.isspace() for c in url):
        return ("-u", url)
    return ()


def _upnpc(t: Transport, *args: str, timeout: float = TIMEOUT) -> str:
    res = t.run([UPNPC, *args], timeout=timeout)
    if res.exit_code == 127:
        raise RoostError(f"{UPNPC} is not installed on {t.name}",
                         hint=f"install Debian's {PACKAGE} there and try again")
    return res.stdout + "\n" + res.stderr


def ensure_client(t: Transport) -> bool:
    """Install Debian's miniupnpc on the host unless `upnpc` is there (the deploy's own
    package step: apt's last lines and what to try when it fails); True when installed now."""
    if t.run(["sh", "-c", 'command -v "$1" >/dev/null', "sh", UPNPC]).ok:
        return False
    InstallPackages((PACKAGE,)).apply(t, StepContext(transport=t))
    return True


def discover(t: Transport) -> Gateway | None:
    """Ask the home network for an Internet Gateway Device; None when none answers."""
    return parse_status(_upnpc(t, "-s"))


def mappings(t: Transport, url: str = "") -> tuple[Mapping, ...]:
    """The router's forwardings (asked at `url` when given, see `_at`)."""
    return parse_list(_upnpc(t, *_at(url), "-l"))


def forwarded(t: Transport, url: str, ports: Sequence[Port],
              description: str) -> tuple[bool | None, str]:
    """For `roost check`: whether the router at `url` (a `Gateway.url`) still forwards every
    port to this host as `description`, asked straight away (no discovery). (True, "") when it
    does; (False, what is missing) when the router answered without them; (None, why) when
    it could not be asked (no upnpc, the router did not answer there)."""
    if not _at(url):
        return None, "roost has no address of the router to ask"
    res = t.run([UPNPC, *_at(url), "-l"], timeout=CHECK_TIMEOUT)
    if res.exit_code == 127:
        return None, f"{UPNPC} is not installed on {t.name}"
    text = res.stdout + "\n" + res.stderr
    if "protocol exPort" not in text:  # the listing's header: the router answered
        return None, "the router did not answer where it did before"
    have = {(m.protocol, m.external) for m in parse_list(text) if m.description == description}
    missing = [str(p) for p in ports if (p.protocol.upper(), p.number) not in have]
    if missing:
        return False, f"the router no longer forwards {', '.join(missing)}"
    return True, ""


def open_ports(t: Transport, gw: Gateway, ports: Sequence[Port],
               description: str) -> list[Port]:
    """Forward each port from the router's WAN address to the same port on this host. Returns
    the ports added now (those already forwarded here are kept as they are)."""
    at = _at(gw.url)
    have = {(m.protocol, m.external): m for m in mappings(t, gw.url)}
    added: list[Port] = []
    for p in ports:
        proto = p.protocol.upper()
        m = have.get((proto, p.number))
        if m is not None and m.address == gw.lan and m.internal == p.number:
            continue
        if m is not None:
            raise RoostError(
                f"the router already forwards port {p.number}/{p.protocol} to "
                f"{m.address}:{m.internal} ({m.description or 'no description'})",
                hint="remove that forwarding on the router's page, or use another way in")
        _upnpc(t, *at, "-e", description, "-a", gw.lan, str(p.number), str(p.number), proto)
        added.append(p)
    now = {(m.protocol, m.external): m for m in mappings(t, gw.url)}
    missing = [str(p) for p in ports
               if (m := now.get((p.protocol.upper(), p.number))) is None or m.address != gw.lan]
    if missing:
        raise RoostError(f"the router did not take the forwarding of {', '.join(missing)}",
                         hint=f"forward {', '.join(missing)} to {gw.lan} by hand on the router's "
                              "page, or use another way in")
    return added


def close_ports(t: Transport, ports: Sequence[Port], description: str) -> list[Port]:
    """Remove the router's forwardings of these ports to this host made as `description`;
    returns those removed. Another machine's forwarding of the same port is left alone."""
    wanted = {(p.protocol.upper(), p.number): p for p in ports}
    removed: list[Port] = []
    desc = _DESC.search(_upnpc(t, "-s"))  # one discovery; then the router is asked directly
    url = desc.group(1) if desc else ""
    for m in mappings(t, url):
        p = wanted.get((m.protocol, m.external))
        if p is None or m.description != description:
            continue
        _upnpc(t, *_at(url), "-d", str(m.external), m.protocol)
        removed.append(p)
    return [p for p in ports if p in removed]  # in the recipe's order, not the router's


def by_hand_lines(service: str, lan: str, ports: Sequence[Port], check: str) -> list[str]:
    """What to do on the router's own page when it offers no UPnP, in words."""
    lines = [
        "Your router did not answer as a UPnP gateway, so roost opened nothing. "
        "To open the ports by hand:",
        "1. Open your router's page in a browser (often http://192.168.1.1 or the address "
        "printed on the router) and log in.",
        "2. Find the section called port forwarding (also: virtual servers, NAT, or "
        "applications).",
    ]
    to = lan or f"of the host {service} runs on"
    for i, p in enumerate(ports, start=3):
        lines.append(f"{i}. Add a forwarding: outside port {p.number}, protocol "
                     f"{p.protocol.upper()}, to the address {to} port {p.number}. "
                     f"Name it roost {service}.")
    lines.append(f"{len(ports) + 3}. Save. Then check that it works from outside: {check}")
    return lines
