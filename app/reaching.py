"""Can the people a service is for reach it? The one use case behind `roost reach`, its plain
and full-screen pages, the lines after a deploy, and `roost check`.

    r = Reaching("prosody", host, home, from_host=vps, resolver="192.0.2.53")
    report = r.run()          # a Report: typed checks, exit_code 0 / 1 / 2, lines(), to_json()

For the service (its catalog entry and deploy/recipes/reach.toml): the DNS records it needs
against what DNS answers; each inbound port with a TCP connection from `from_host` over SSH
(or from this computer, which proves only the local network, and the report says so); the
TLS certificate for the domain by roost's clock; Matrix delegation and WebFinger where the
service needs them. `on_check` receives each check as it is done, so a front end can show
progress. Nothing here prints or prompts; bad input (an unknown service, a service that needs
no one outside, no domain) is a RoostError with its hint.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from roost.app.connecting import connect
from roost.core.clock import Clock
from roost.core.errors import RoostError
from roost.deploy.hosts import Host
from roost.deploy.reachability import dns, ports, tls, web
from roost.deploy.reachability.model import Check, Report
from roost.deploy.reachability.needs import Needs, needs
from roost.deploy.trust import AskTrust


@dataclass(frozen=True)
class Target:
    """What a service needs from outside: its inbound ports and the records of reach.toml."""

    service_id: str
    name: str
    recipe_id: str
    ports: tuple[str, ...]
    needs: Needs


def target(service_id: str) -> Target:
    """The service's inbound ports and needs, or a one-line RoostError when roost does not
    know it or nobody outside needs to reach it."""
    from roost.catalog import load

    svc = load().get(service_id)
    if svc is None:
        raise RoostError(f"roost does not know a service called {service_id!r}",
                         hint="see the list with: roost catalog")
    req = svc.requirements
    if req.lan_only or not req.inbound_ports:
        raise RoostError(f"{svc.name} is not reached from outside your home",
                         hint="nothing outside needs to reach it, so there is nothing to check")
    recipe_id = svc.recipe or svc.id
    return Target(svc.id, svc.name, recipe_id, tuple(req.inbound_ports), needs(recipe_id))


def reached_from_outside(service_id: str) -> bool:
    """Whether others must reach the service (so a deploy ends with the reach checks)."""
    try:
        target(service_id)
    except RoostError:
        return False
    return True


def host_address(host: Host) -> str:
    return "127.0.0.1" if host.is_local else host.address


@dataclass
class Reaching:
    service_id: str
    host: Host
    home: Path
    """The data folder: hosts, known hosts, the public identities (for the domain)."""
    domain: str = ""
    """The name people use; "" takes the one the deploy would use (from `options`)."""
    options: Mapping[str, str] | Sequence[str] = field(default_factory=dict)
    from_host: Host | None = None
    """Another host roost knows, to check the ports from (over SSH); None: this computer."""
    resolver: str = ""
    """"ADDRESS[:PORT]" of the DNS resolver to ask; "" for ROOST_DNS_RESOLVER or the system's."""
    clock: Clock | None = None
    cafile: str | None = None
    """Authorities to trust for the certificate, besides none: None is the system's."""
    trust: str | None = None
    ask_trust: AskTrust | None = None
    on_check: Callable[[Check], None] = lambda c: None

    def __post_init__(self) -> None:
        self.target = target(self.service_id)
        self.dns = dns.Dns(self.resolver)  # a bad resolver is refused before any check
        if self.from_host is not None and self.from_host.name == self.host.name:
            raise RoostError(f"checking {self.host.name} from itself proves nothing about "
                             "outside", hint="give another host with --from")

    def name(self) -> str:
        """The domain to check ("" for a service reached at the host's address)."""
        if self.domain:
            from roost.core import validate

            return validate.hostname(self.domain, "domain name")
        if not self.target.needs.domain:
            return ""
        from roost.deploy import session
        from roost.deploy.recipe import parse_options

        values = (self.options if isinstance(self.options, Mapping)
                  else parse_options(list(self.options)))
        recipe = session.build_recipe(self.target.recipe_id, self.host, values, None,
                                      self.home)
        return recipe.domain

    def _add(self, out: list[Check], checks: Sequence[Check]) -> None:
        for c in checks:
            out.append(c)
            self.on_check(c)

    def run(self) -> Report:
        domain = self.name()
        need = self.target.needs
        checks: list[Check] = []
        notes: list[str] = []
        self._add(checks, dns.check_records(self.dns, domain, need) if domain else [])
        if need.domain and not domain:
            notes.append(f"roost does not know the domain people use for "
                         f"{self.target.name}, so no DNS record or certificate was checked: "
                         "give it with --domain NAME.")
        address = host_address(self.host)
        if domain:
            found = self.dns.addresses(domain)
            if isinstance(found, list) and found:
                v4 = [a for a in found if ":" not in a]
                address = sorted(v4 or found)[0]
            else:
                notes.append(f"{domain} has no address in DNS, so the ports and the "
                             f"certificate were checked at the host's address {address}.")
        if self.from_host is not None:
            with connect(self.from_host, self.home, trust=self.trust,
                         ask_trust=self.ask_trust) as t:
                self._add(checks, ports.from_host(t, address, self.target.ports))
            where = self.from_host.name
        else:
            self._add(checks, ports.from_here(address, self.target.ports))
            notes.append(ports.LOCAL_NOTE)
            where = ""
        if need.tls is not None and domain:
            self._add(checks, tls.check(address, domain, need.tls, self.clock, self.cafile))
        if need.matrix and domain:
            self._add(checks, [web.check_matrix(self.dns, address, domain)])
        if need.webfinger and domain:
            self._add(checks, [web.check_webfinger(address, domain)])
        return Report(self.target.service_id, self.host.name, domain, address, where,
                      tuple(checks), tuple(notes))


def after_deploy(service_id: str, host: Host, home: Path, domain: str = "",
                 on_check: Callable[[Check], None] = lambda c: None,
                 options: Mapping[str, str] | None = None) -> list[str]:
    """After a deploy: for a service others must reach, the checks from this computer, as
    lines (the checks themselves go to `on_check` as they are done), ending with how to
    check from outside; [] for a service nobody outside reaches. A check that cannot start
    costs one line, never the deploy."""
    if not reached_from_outside(service_id):
        return []
    from roost.app.hosts import host_store

    try:
        report = Reaching(service_id, host, home, domain=domain, options=options or {},
                          on_check=on_check).run()
    except RoostError as exc:
        return [f"roost could not check who can reach {service_id}: {exc.line()}"]
    others = [h.name for h in host_store(home).all() if h.name not in (host.name, "local")]
    how = (f"roost reach {service_id} --host {host.name} --from {others[0]}" if others
           else f"roost host add vps USER@ADDRESS, then roost reach {service_id} --host "
                f"{host.name} --from vps")
    notes = [n for n in report.notes if n != ports.LOCAL_NOTE]
    return [*notes, report.summary(), f"To check from outside your network: {how}"]
