"""Open a service to people outside through the home router (UPnP-IGD): the one use case the
CLI (`roost reach --upnp`), plain mode and the TUI run, and undeploy calls to close again.

    o = Opening("prosody", host, home, options, on_line=print, consent=ask_yes_no)
    result = o.open()     # result.opened, result.address (the router's WAN address), lines
    o.close()             # lines: the forwardings removed

`consent`, when given, is asked `consent_question(...)` ("roost will ask your router to forward
ports 5222/tcp, 5269/tcp to pi; yes or no") once the router has answered and before anything
changes on it; no: nothing is changed. The command line's `--upnp` is the person's consent
already, so it gives none; plain mode and the app ask.

The ports are the recipe's declared ports (`Recipe.ports`, built from the options the deploy
recorded, deploy-options.toml, under those given here); the requests are made on the host over
SSH (roost.deploy.upnp), each mapping described "roost SERVICE". An open way in is noted in the
progress (`record_reach(..., "upnp", address=WAN, router=URL)`, URL where `roost check` asks
the router), a closed one as removed. When the router offers no UPnP nothing is opened: the
result holds the steps to do it by hand and `opened` is False.

Nothing here prints or prompts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from roost.app.connecting import connect
from roost.app.deploy_options import deployed_options
from roost.app.on_host import note
from roost.core.errors import RoostError
from roost.deploy import session, upnp
from roost.deploy.hosts import Host
from roost.deploy.recipe import Port, Recipe, parse_options
from roost.deploy.recipes import builder
from roost.deploy.sudo import SudoPassword
from roost.deploy.transport import Transport
from roost.deploy.trust import AskTrust
from roost.plan.progress import ProgressStore
from roost.plan.workspace import PROGRESS_FILE

WAY = "upnp"


def description(service_id: str) -> str:
    """How the router lists roost's forwardings of a service."""
    return f"roost {service_id}"


def consent_question(ports: Sequence[Port], host: str, lan: str) -> str:
    """What the person agrees to before roost asks the router for anything."""
    to = f"{host} ({lan})" if lan else host
    return (f"roost will ask your router to forward ports {', '.join(str(p) for p in ports)} "
            f"to {to}, so people outside reach it; yes or no?")


def check_words(service_id: str, host: str) -> str:
    """The command that checks later, from outside, whether people reach the service."""
    return (f"`roost reach {service_id} --host {host} --from VPS` (VPS: another of your hosts "
            "outside your home), or ask a friend to connect.")


@dataclass(frozen=True)
class OpenResult:
    opened: bool
    """True when the router forwards every port now."""
    address: str
    """The router's address outside (what people use), "" when unknown."""
    lines: tuple[str, ...]
    """What to tell the person."""

    @property
    def exit_code(self) -> int:
        """0: the router forwards the ports; 1: nothing was opened (the by-hand steps)."""
        return 0 if self.opened else 1


@dataclass
class Opening:
    service_id: str
    host: Host
    home: Path
    options: Mapping[str, str] | Sequence[str] = field(default_factory=dict)
    on_line: Callable[[str], None] = lambda line: None
    trust: str | None = None
    ask_trust: AskTrust | None = None
    sudo_password: SudoPassword = None
    consent: Callable[[str], bool] | None = None
    """Asked before the router is changed (None: the caller has the person's yes already)."""

    def __post_init__(self) -> None:
        builder(self.service_id)  # an unknown service is refused before connecting
        given = (self.options if isinstance(self.options, Mapping)
                 else parse_options(list(self.options)))
        self.values: Mapping[str, str] = {
            **deployed_options(self.home, self.service_id, self.host.name), **given}

    def _connect(self) -> Transport:
        return connect(self.host, self.home, trust=self.trust, ask_trust=self.ask_trust,
                       sudo_password=self.sudo_password)

    def _ports(self, t: Transport) -> tuple[Recipe, tuple[Port, ...]]:
        recipe = session.build_recipe(self.service_id, self.host, self.values, t, self.home)
        if not recipe.ports:
            raise RoostError(f"{self.service_id} binds no port others connect to",
                             hint="there is nothing to forward on the router for it")
        return recipe, recipe.ports

    def _say(self, lines: list[str], line: str) -> None:
        lines.append(line)
        self.on_line(line)

    def open(self) -> OpenResult:
        """Ask the router to forward the service's ports to the host; note it in the
        progress. A rerun keeps what is there and adds only what is missing."""
        lines: list[str] = []
        with self._connect() as t:
            _, ports = self._ports(t)
            if upnp.ensure_client(t):
                self._say(lines, f"Installed {upnp.PACKAGE} on {self.host.name} to talk to "
                                 "the router.")
            self._say(lines, "Asking the home router for UPnP (a few seconds)...")
            gw = upnp.discover(t)
            if gw is None:
                lan = _lan_address(t)
                for line in upnp.by_hand_lines(self.service_id, lan, ports,
                                               check_words(self.service_id, self.host.name)):
                    self._say(lines, line)
                return OpenResult(False, "", tuple(lines))
            if self.consent is not None and not self.consent(
                    consent_question(ports, self.host.name, gw.lan)):
                self._say(lines, "Nothing was changed on the router.")
                return OpenResult(False, "", tuple(lines))
            added = upnp.open_ports(t, gw, ports, description(self.service_id))
        kept = [p for p in ports if p not in added]
        words = ", ".join(str(p) for p in ports)
        self._say(lines, f"The router forwards {words} from {gw.external} to {gw.lan} "
                         f"({self.service_id} on {self.host.name})"
                         + (f"; {len(kept)} already did." if kept else "."))
        self._say(lines, f"People outside reach it at {gw.external}: point your domain's "
                         f"A record there. Check from outside with "
                         f"{check_words(self.service_id, self.host.name)}")
        if not _noted(self.home, self.service_id, self.host.name, gw):
            for line in note(lambda ws: ws.record_reach(self.service_id, self.host.name, WAY,
                                                        address=gw.external, router=gw.url),
                             self.home, "it"):
                self._say(lines, line)
        return OpenResult(True, gw.external, tuple(lines))

    def close(self) -> list[str]:
        """Remove the router's forwardings roost made for the service; lines to tell."""
        with self._connect() as t:
            recipe, _ = self._ports(t)
            lines = close_on(t, recipe, self.host.name, self.home)
        return lines or [f"The router forwards nothing roost made for {self.service_id}."]


def close_on(t: Transport, recipe: Recipe, host: str, home: Path) -> list[str]:
    """On a connected host (the undeploy's connection): remove the forwardings made as
    "roost SERVICE" for its ports, and note it. Nothing to do (and no router asked) when the
    host has no upnpc, so a host roost never opened costs nothing."""
    if not recipe.ports or not t.run(["sh", "-c", 'command -v "$1" >/dev/null', "sh",
                                      upnp.UPNPC]).ok:
        return []
    removed = upnp.close_ports(t, recipe.ports, description(recipe.service_id))
    if not removed:
        return []
    lines = [f"The router no longer forwards {', '.join(str(p) for p in removed)} to "
             f"{recipe.service_id} on {host}."]
    return lines + note(lambda ws: ws.record_reach_removed(recipe.service_id, host, WAY), home,
                        "it")


def _lan_address(t: Transport) -> str:
    """The host's address on the home network (the source of its default route), "" when
    it cannot tell."""
    res = t.run(["ip", "-4", "route", "get", "1.1.1.1"])
    words = res.stdout.split()
    if res.ok and "src" in words and words.index("src") + 1 < len(words):
        return words[words.index("src") + 1]
    return ""


def _noted(home: Path, service_id: str, host: str, gw: upnp.Gateway) -> bool:
    """Whether the progress already has this way in, through this router at this address (a
    rerun notes nothing twice)."""
    path = home / PROGRESS_FILE
    if not path.exists():
        return False
    try:
        ways = ProgressStore(path).load().ways_in(service_id, host)
    except RoostError:
        return False
    return any(w.detail.get("way") == WAY and w.detail.get("address") == gw.external
               and w.detail.get("router", "") == gw.url for w in ways)
