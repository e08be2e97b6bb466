"""The hosts roost deploys to: `hosts.toml` in the data folder, plus the built-in `local`.

Each host has a short name the user chose ("pi", "vps"), an address, a login user, a port and
optionally a key file. Facts read from the host are cached here with the time they were read.
Secrets are never kept in this file (no passwords); trust lives in roost's known_hosts.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from roost.core import validate
from roost.core.errors import CorruptFileError, RoostError
from roost.core.lock import FileLock
from roost.core.versioned import read_versioned, write_versioned
from roost.deploy.sudo import SudoPassword
from roost.deploy.transport import Transport
from roost.deploy.trust import AskTrust, KnownHosts

HOSTS_FILE = "hosts.toml"
SCHEMA = 1
LOCAL = "local"


@dataclass(frozen=True)
class Host:
    name: str
    address: str = ""
    """DNS name or IP address; empty for the built-in `local`."""
    user: str | None = None
    """Login user; None means ~/.ssh/config's User, else the local user name."""
    port: int | None = None
    """None means ~/.ssh/config's Port, else 22."""
    key_path: str | None = None
    facts: dict[str, Any] | None = field(default=None, compare=False)
    facts_read_at: str | None = field(default=None, compare=False)
    """ISO 8601 UTC time the facts were read."""

    @property
    def is_local(self) -> bool:
        return self.name == LOCAL

    def target(self) -> str:
        """user@address[:port], as the user typed it."""
        if self.is_local:
            return "this computer"
        addr = f"[{self.address}]" if ":" in self.address else self.address
        user = f"{self.user}@" if self.user else ""
        port = f":{self.port}" if self.port and self.port != 22 else ""
        return f"{user}{addr}{port}"

    def describe(self) -> str:
        """One line, read aloud well (control characters from a hand-edited file dropped)."""
        if self.is_local:
            text = f"{self.name}: this computer, no SSH needed"
        else:
            key = f", key {self.key_path}" if self.key_path else ""
            text = f"{self.name}: {self.target()}{key}"
        if self.facts_read_at:
            text += f"; facts read {self.facts_read_at}"
        return "".join(c for c in text if c.isprintable()) + "."


def parse_target(text: str) -> tuple[str | None, str, int | None]:
    """`user@host[:port]` (host may be `[v6addr]`) → (user, host, port), each validated."""
    raw = text.strip()
    user: str | None = None
    if "@" in raw:
        user_part, _, raw = raw.rpartition("@")
        user = validate.unix_user(user_part)
    port: int | None = None
    if raw.startswith("["):
        host_part, sep, rest = raw[1:].partition("]")
        if not sep:
            raise RoostError(f"{text[:60]!r} has a [ without a ]",
                             hint="write an IPv6 address as user@[2001:db8::1]:22")
        if rest:
            if not rest.startswith(":"):
                raise RoostError(f"{text[:60]!r} is not user@host[:port]")
            port = validate.port(rest[1:])
        try:
            host = str(ipaddress.IPv6Address(host_part))
        except ValueError:
            raise RoostError(f"{host_part[:60]!r} is not an IPv6 address") from None
        return user, host, port
    if raw.count(":") == 1:
        raw, _, port_text = raw.partition(":")
        port = validate.port(port_text)
    elif raw.count(":") > 1:
        try:
            return user, str(ipaddress.IPv6Address(raw)), None
        except ValueError:
            raise RoostError(f"{text[:60]!r} is not user@host[:port]",
                             hint="write an IPv6 address in brackets: user@[2001:db8::1]:22") \
                from None
    return user, validate.hostname(raw), port


class HostStore:
    """hosts.toml in the data folder (its caller gives the path: `home / HOSTS_FILE`). Every
    change is a locked read-modify-write."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _read(self) -> dict[str, dict[str, Any]]:
        data = read_versioned(self.path, "hosts", SCHEMA) or {}
        hosts = data.get("hosts", {})
        if not isinstance(hosts, dict):
            raise CorruptFileError(
                f"the hosts file {self.path} is damaged: 'hosts' is not a table",
                hint="fix it by hand or move it away; roost left it untouched",
            )
        return {k: v for k, v in hosts.items() if isinstance(v, dict)}

    def _write(self, hosts: dict[str, dict[str, Any]]) -> None:
        write_versioned(self.path, {"hosts": hosts}, SCHEMA)

    def all(self) -> list[Host]:
        """`local` first, then the others by name."""
        raw = self._read()
        out = [_from_toml(LOCAL, raw.get(LOCAL, {}))]
        out += [_from_toml(n, raw[n]) for n in sorted(raw) if n != LOCAL]
        return out

    def get(self, name: str) -> Host:
        for host in self.all():
            if host.name == name:
                return host
        names = ", ".join(h.name for h in self.all())
        raise RoostError(f"there is no host called {name!r}",
                         hint=f"the hosts are: {names}; add one with "
                              "`roost host add NAME user@host`")

    def add(self, host: Host) -> Host:
        validate.short_name(host.name, "host name")
        if host.is_local:
            raise RoostError("`local` is built in: it is the computer roost runs on",
                             hint="pick another name, like pi or vps")
        with FileLock(self.path, "the hosts list"):
            raw = self._read()
            if host.name in raw:
                raise RoostError(f"there is already a host called {host.name!r}",
                                 hint=f"remove it first with `roost host remove {host.name}`")
            raw[host.name] = _to_toml(host)
            self._write(raw)
        return host

    def remove(self, name: str) -> Host:
        if name == LOCAL:
            raise RoostError("`local` is built in and cannot be removed")
        with FileLock(self.path, "the hosts list"):
            raw = self._read()
            if name not in raw:
                self.get(name)  # raises the helpful error
            host = _from_toml(name, raw.pop(name))
            self._write(raw)
        return host

    def save_facts(self, name: str, facts: dict[str, Any], read_at: str) -> Host:
        with FileLock(self.path, "the hosts list"):
            raw = self._read()
            if name not in raw and name != LOCAL:
                self.get(name)
            host = replace(_from_toml(name, raw.get(name, {})), facts=facts,
                           facts_read_at=read_at)
            raw[name] = _to_toml(host)
            self._write(raw)
        return host


def _to_toml(host: Host) -> dict[str, Any]:
    d: dict[str, Any] = {}
    if host.address:
        d["address"] = host.address
    if host.user:
        d["user"] = host.user
    if host.port:
        d["port"] = host.port
    if host.key_path:
        d["key"] = host.key_path
    if host.facts is not None:
        d["facts"] = host.facts
    if host.facts_read_at:
        d["facts_read_at"] = host.facts_read_at
    return d


def _from_toml(name: str, d: dict[str, Any]) -> Host:
    def s(key: str) -> str | None:
        v = d.get(key)
        return v if isinstance(v, str) and v else None

    port = d.get("port")
    facts = d.get("facts")
    return Host(
        name=name,
        address=s("address") or "",
        user=s("user"),
        port=port if isinstance(port, int) and not isinstance(port, bool) else None,
        key_path=s("key"),
        facts=facts if isinstance(facts, dict) else None,
        facts_read_at=s("facts_read_at"),
    )


def open_transport(
    host: Host, *, known_hosts: KnownHosts, trust: str | None = None,
    sudo_password: SudoPassword = None, ssh_config: Path | None = None,
    ask_trust: AskTrust | None = None,
) -> Transport:
    """A transport for `host`: LocalTransport for `local`, else SSHTransport (connects on
    first use; paramiko is imported only then), checking host keys against `known_hosts`
    (in the data folder the caller passes). `ask_trust` is asked on first contact, within
    the one handshake."""
    if host.is_local:
        from roost.deploy.local import LocalTransport

        return LocalTransport(host.name, sudo_password=sudo_password)
    from roost.deploy.ssh import SSHTransport

    return SSHTransport(host.name, host.address, user=host.user, port=host.port,
                        key_path=host.key_path, sudo_password=sudo_password,
                        known_hosts=known_hosts, trust=trust, ssh_config=ssh_config,
                        ask_trust=ask_trust)
