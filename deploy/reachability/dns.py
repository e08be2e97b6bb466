"""The DNS records a service needs, against what DNS answers.

dnspython (not the system's getaddrinfo) because roost must ask for SRV records, tell "no such
name" from "no record of this type" from "no answer", and ask a resolver the person names
(`--resolver ADDRESS[:PORT]` or ROOST_DNS_RESOLVER): the tests point it at their own
authoritative server. Without one, the system's resolvers (/etc/resolv.conf) are asked.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from roost.core.errors import RoostError
from roost.deploy.reachability.model import Check
from roost.deploy.reachability.needs import Needs, Srv

if TYPE_CHECKING:
    import dns.resolver

RESOLVER_ENV = "ROOST_DNS_RESOLVER"
TIMEOUT = 5.0


def parse_resolver(text: str) -> tuple[str, int]:
    """"192.0.2.53", "192.0.2.53:5353", "[2001:db8::53]:53" or "2001:db8::53" -> (ip, port);
    anything else is a one-line error."""
    value = text.strip()
    host, port = value, "53"
    if value.startswith("["):
        host, closed, rest = value[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ("53" if closed and not rest else "x")
    elif value.count(":") == 1:
        host, _, port = value.partition(":")
    try:
        ip = str(ipaddress.ip_address(host))
        number = int(port)
        if not 0 < number < 65536:
            raise ValueError(port)
    except ValueError:
        raise RoostError(f"{text[:60]!r} is not a resolver address",
                         hint="give an IP address, optionally with a port: 192.0.2.53:53"
                         ) from None
    return ip, number


@dataclass
class Dns:
    """Asks one resolver (or the system's) and remembers the answers of one run."""

    resolver: str = ""
    """"ADDRESS[:PORT]"; "" reads ROOST_DNS_RESOLVER, then /etc/resolv.conf."""
    timeout: float = TIMEOUT
    _cache: dict[tuple[str, str], list[str] | str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.resolver = self.resolver or os.environ.get(RESOLVER_ENV, "")
        if self.resolver:
            parse_resolver(self.resolver)  # a bad value is refused before any check

    def _make(self) -> dns.resolver.Resolver:
        import dns.resolver

        if self.resolver:
            ip, port = parse_resolver(self.resolver)
            r = dns.resolver.Resolver(configure=False)
            r.nameservers = [ip]
            r.port = port
        else:
            try:
                r = dns.resolver.Resolver()
            except dns.resolver.NoResolverConfiguration:
                raise RoostError("this computer has no DNS resolver configured",
                                 hint="give one with --resolver ADDRESS") from None
        r.lifetime = self.timeout
        r.timeout = self.timeout
        return r

    @property
    def where(self) -> str:
        return f"the resolver at {self.resolver}" if self.resolver else "your resolver"

    def ask(self, name: str, rdtype: str) -> list[str] | str:
        """The answers as text (addresses; "PRIORITY WEIGHT PORT TARGET" for SRV), [] when the
        name or the record does not exist, or a str saying why DNS gave no answer."""
        key = (name, rdtype)
        if key in self._cache:
            return self._cache[key]
        import dns.exception
        import dns.resolver

        try:
            answer = self._make().resolve(name, rdtype, raise_on_no_answer=False)
            found: list[str] | str = [r.to_text() for r in answer]
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            found = []
        except dns.resolver.LifetimeTimeout:
            found = f"{self.where} did not answer within {self.timeout:g} s"
        except dns.resolver.NoNameservers as exc:
            found = f"{self.where} could not answer ({str(exc).split(':')[0]})"
        except dns.exception.DNSException as exc:
            found = f"DNS gave no answer ({type(exc).__name__})"
        self._cache[key] = found
        return found

    def addresses(self, name: str) -> list[str] | str:
        """The A and AAAA addresses of `name`, or why DNS gave no answer."""
        v4 = self.ask(name, "A")
        if isinstance(v4, str):
            return v4
        v6 = self.ask(name, "AAAA")
        return v4 + (v6 if isinstance(v6, list) else [])


def srv_records(answers: list[str]) -> list[tuple[int, str]]:
    """(port, target without the final dot) of each SRV answer."""
    out = []
    for a in answers:
        parts = a.split()
        if len(parts) == 4 and parts[2].isdigit():
            out.append((int(parts[2]), parts[3].rstrip(".").lower()))
    return out


def check_addresses(d: Dns, domain: str) -> Check:
    subject = f"A/AAAA {domain}"
    found = d.addresses(domain)
    if isinstance(found, str):
        return Check("dns", subject, "unknown", found + ".",
                     "Check your network, or name a resolver with --resolver ADDRESS.")
    if not found:
        return Check("dns", subject, "missing", f"{domain} has no address in DNS.",
                     f"Add an A record (or AAAA) for {domain} pointing at the address people "
                     "reach your host at.")
    return Check("dns", subject, "ok", f"{domain} points at {', '.join(sorted(found))}.")


def check_srv(d: Dns, domain: str, srv: Srv) -> Check:
    name = f"{srv.name}.{domain}"
    subject = f"SRV {name}"
    add = f"an SRV record {name} pointing at {domain} port {srv.port}"
    why = f" (so {srv.what})" if srv.what else ""
    found = d.ask(name, "SRV")
    if isinstance(found, str):
        return Check("dns", subject, "unknown", found + ".",
                     "Check your network, or name a resolver with --resolver ADDRESS.")
    records = srv_records(found)
    if not records:
        return Check("dns", subject, "missing", f"there is no SRV record {name}.",
                     f"Add {add}{why}.")
    ours = d.addresses(domain)
    ours_set = set(ours) if isinstance(ours, list) else set()
    for port, target in records:
        if port != srv.port:
            continue
        if target == domain:
            return Check("dns", subject, "ok", f"points at {target} port {port}.")
        theirs = d.addresses(target)
        if isinstance(theirs, list) and ours_set & set(theirs):
            return Check("dns", subject, "ok",
                         f"points at {target} port {port}, the same address as {domain}.")
    shown = "; ".join(f"{t} port {p}" for p, t in records)
    return Check("dns", subject, "wrong", f"points at {shown}.",
                 f"Change it to {add}{why}.")


def check_records(d: Dns, domain: str, needs: Needs) -> list[Check]:
    """One check per record the service needs (the Matrix and WebFinger ones are in web.py)."""
    out = [check_addresses(d, domain)] if needs.addresses else []
    out += [check_srv(d, domain, s) for s in needs.srv]
    return out
