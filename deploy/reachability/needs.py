"""What a service needs so that people outside reach it, read from deploy/recipes/reach.toml
(the DNS records, the TLS endpoint) and the catalog's inbound ports (given by the caller)."""

from __future__ import annotations

import importlib.resources
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache

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


def parse(data: Mapping[str, object], recipe_id: str) -> Needs:
    """One recipe's table, checked; a mistake names the file and the recipe."""
    where = f"{FILE} [{recipe_id}]"
    try:
        srv = tuple(Srv(str(s["name"]), _port(s["port"]), str(s.get("what", "")))
                    for s in map(_table, _list(data.get("srv", []))))
        for one in srv:
            if not one.name.startswith("_") or "._" not in one.name:
                raise RoostError(f"{where}: {one.name!r} is not an SRV name like "
                                 "_xmpp-client._tcp")
        tls_data = data.get("tls")
        tls = None
        if tls_data is not None:
            t = _table(tls_data)
            tls = Tls(_port(t["port"]), str(t.get("starttls", "")))
            if tls.starttls not in ("", "xmpp"):
                raise RoostError(f"{where}: starttls {tls.starttls!r} is not known")
        return Needs(addresses=bool(data.get("addresses", False)), srv=srv,
                     matrix=bool(data.get("matrix", False)),
                     webfinger=bool(data.get("webfinger", False)), tls=tls)
    except (KeyError, TypeError) as exc:
        raise RoostError(f"{where} is not readable ({exc})",
                         hint="fix the file as its first lines describe") from None


def _table(value: object) -> Mapping[str, object]:
    if not isinstance(value, dict):
        raise TypeError(f"{value!r} is not a table")
    return value


def _list(value: object) -> list[object]:
    if not isinstance(value, list):
        raise TypeError(f"{value!r} is not a list")
    return value


def _port(value: object) -> int:
    if not isinstance(value, int | str):
        raise TypeError(f"{value!r} is not a port number")
    return validate.port(value)


@cache
def _all() -> dict[str, object]:
    text = (importlib.resources.files("roost.deploy.recipes") / FILE).read_text("utf-8")
    return tomllib.loads(text)


def needs(recipe_id: str) -> Needs:
    """What `recipe_id` needs from DNS and TLS (nothing, for a service reached by address)."""
    data = _all().get(recipe_id)
    return parse(data, recipe_id) if isinstance(data, dict) else Needs()
