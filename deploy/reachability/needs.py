"""What a service needs so that people outside reach it, read from deploy/recipes/reach.toml
(the DNS records, the TLS endpoint) and the catalog's inbound ports (given by the caller)."""

from __future__ import annotations

import importlib.resources
import tomllib
from dataclasses import dataclass
from functools import cache
from typing import Any

from roost.core import validate
from roost.core.errors import RoostError

FILE = "reach.toml"


@dataclass(frozen=True)
class Srv:
    name: str
    """"_xmpp-client._tcp": the record is NAME.DOMAIN."""
    port: int
    what: str = ""


@dataclass(frozen=True)
class Tls:
    port: int
    starttls: str = ""
    """"" (TLS from the first byte) or "xmpp"."""


@dataclass(frozen=True)
class Needs:
    addresses: bool = False
    srv: tuple[Srv, ...] = ()
    matrix: bool = False
    webfinger: bool = False
    tls: Tls | None = None

    @property
    def domain(self) -> bool:
        """Whether the service is reached by a domain name (else by the host's address)."""
        return self.addresses or bool(self.srv) or self.matrix or self.webfinger


def parse(data: dict[str, Any], recipe_id: str) -> Needs:
    """One recipe's table, checked; a mistake names the file and the recipe."""
    where = f"{FILE} [{recipe_id}]"
    try:
        srv = tuple(Srv(str(s["name"]), validate.port(s["port"]), str(s.get("what", "")))
                    for s in data.get("srv", ()))
        for s in srv:
            if not s.name.startswith("_") or "._" not in s.name:
                raise RoostError(f"{where}: {s.name!r} is not an SRV name like _xmpp-client._tcp")
        tls_data = data.get("tls")
        tls = None
        if tls_data is not None:
            tls = Tls(validate.port(tls_data["port"]), str(tls_data.get("starttls", "")))
            if tls.starttls not in ("", "xmpp"):
                raise RoostError(f"{where}: starttls {tls.starttls!r} is not known")
        return Needs(addresses=bool(data.get("addresses", False)), srv=srv,
                     matrix=bool(data.get("matrix", False)),
                     webfinger=bool(data.get("webfinger", False)), tls=tls)
    except (KeyError, TypeError, AttributeError) as exc:
        raise RoostError(f"{where} is not readable ({exc})",
                         hint="fix the file as its first lines describe") from None


@cache
def _all() -> dict[str, Any]:
    text = (importlib.resources.files("roost.deploy.recipes") / FILE).read_text("utf-8")
    return tomllib.loads(text)


def needs(recipe_id: str) -> Needs:
    """What `recipe_id` needs from DNS and TLS (nothing, for a service reached by address)."""
    data = _all().get(recipe_id)
    return parse(data, recipe_id) if isinstance(data, dict) else Needs()
