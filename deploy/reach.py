"""How roost reaches a service on a host from this computer: by the host's address, asking
for the service's name.

On the first day a domain usually points nowhere yet, so a health check that opened
`http://blog.example.org/` failed although the site ran. A `Site` connects to the `address`
roost reaches the host at (from its facts, or an `address` option) and sends the service's
`name` as the Host header and, over https, as the TLS server name (httpx's `sni_hostname`
extension), so the certificate is still checked against the name. This is what any web site
on the host sees from a browser once the name points there; nginx sites answer only for their
`server_name`, so the name matters even when nothing else is on the host.

Whether the name points at the host is a separate question: `dns_note()` answers it after a
check has passed, as one sentence for the deploy's result (not a failure).
"""

from __future__ import annotations

import concurrent.futures
import ipaddress
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import httpx

from roost.core import validate

DNS_TIMEOUT = 5.0
"""Seconds the DNS note waits for the resolver (a lookup has no timeout of its own)."""


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value.strip("[]"))
    except ValueError:
        return False
    return True


def _addresses(name: str) -> set[str]:
    """The addresses `name` resolves to here (empty when it does not resolve in time)."""
    if _is_ip(name):
        return {str(ipaddress.ip_address(name.strip("[]")))}

    def look() -> set[str]:
        try:
            infos = socket.getaddrinfo(name, None, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError):
            return set()
        return {str(ipaddress.ip_address(str(i[4][0]).split("%")[0])) for i in infos}

    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    try:
        return pool.submit(look).result(timeout=DNS_TIMEOUT)
    except concurrent.futures.TimeoutError:
        return set()
    finally:
        pool.shutdown(wait=False)


@dataclass(frozen=True)
class Site:
    """A service on a host: connect to `address`:`port`, ask for `name` ("" or "_": the
    address itself; "_" is nginx's catch-all name)."""

    address: str
    name: str = ""
    port: int = 80
    https: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "address", validate.hostname(self.address, "address"))
        if self.name and self.name != "_":
            object.__setattr__(self, "name", validate.hostname(self.name, "domain name"))
        object.__setattr__(self, "port", validate.port(self.port))

    @property
    def host_name(self) -> str:
        """The name sent as Host and TLS server name."""
        return self.name if self.name and self.name != "_" else self.address

    @property
    def default_port(self) -> bool:
        return self.port == (443 if self.https else 80)

    def _authority(self, host: str) -> str:
        shown = f"[{host}]" if ":" in host else host
        return shown if self.default_port else f"{shown}:{self.port}"

    @property
    def scheme(self) -> str:
        return "https" if self.https else "http"

    def url(self, path: str = "/") -> str:
        """The address this computer connects to, e.g. http://192.0.2.7:8080/ping."""
        return f"{self.scheme}://{self._authority(self.address)}{path}"

    def shown(self, path: str = "/") -> str:
        """What a person would open, and where roost asks for it: 'http://blog.example.org/
        at 192.0.2.7' (just the address's URL when the name is the address)."""
        if self.host_name == self.address:
            return self.url(path)
        return f"{self.scheme}://{self._authority(self.host_name)}{path} at {self.address}"

    def get(self, path: str = "/", *, headers: Mapping[str, str] | None = None,
            timeout: float = 5.0, verify: bool = True) -> httpx.Response:
        """GET `path` from the address with Host (and TLS SNI) set to the name; redirects are
        not followed. Returns the httpx.Response; raises httpx.HTTPError."""
        import httpx

        sent = {"Host": self._authority(self.host_name), **dict(headers or {})}
        with httpx.Client(timeout=timeout, verify=verify, follow_redirects=False) as client:
            request = client.build_request("GET", self.url(path), headers=sent, extensions=(
                {"sni_hostname": self.host_name} if self.https else None))
            return client.send(request)

    def dns_note(self) -> str | None:
        """None when the name is the address or resolves to it here; else one sentence
        saying the name does not point at this host yet, and what to do."""
        name = self.host_name
        if name == self.address or _is_ip(name):
            return None
        theirs = _addresses(name)
        ours = _addresses(self.address)
        if theirs & ours:
            return None
        shown = ", ".join(sorted(theirs)[:3])
        if not theirs:
            return (f"{name} does not point at this host yet: it has no address in DNS. Add "
                    f"an A (or AAAA) record for {name}; until then it answers only when asked "
                    f"at {self.address}.")
        return (f"{name} does not point at this host yet: DNS gives {shown}, and roost "
                f"reaches the host at {self.address}. If {shown} is your router, forward "
                f"its ports to this host; otherwise change the DNS record.")
