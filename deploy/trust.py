"""Which host keys roost trusts: its own known_hosts file, trust on first use, never silently.

The file is `known_hosts` in roost's data folder, in OpenSSH's format (read and written with
`paramiko.HostKeys`), so `ssh-keygen -F` and friends can read it. On first contact with a host
roost raises `TrustNeeded`, carrying the key's SHA256 fingerprint as OpenSSH prints it; the
CLI or TUI shows (and speaks) it and asks. Scripts pass `--trust SHA256:…`, accepted only when
it matches. A key that differs from the one trusted stops everything (`HostKeyChanged`).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from roost.core.atomic import atomic_write_with
from roost.core.errors import RoostError
from roost.core.lock import FileLock

if TYPE_CHECKING:
    import paramiko

KNOWN_HOSTS = "known_hosts"
_THREAD_LOCK = threading.Lock()

_HOST_KEY_FILES = ("ed25519", "ecdsa", "rsa")
"""The kinds of /etc/ssh/ssh_host_<kind>_key.pub an OpenSSH server has."""


def fingerprint(blob: bytes) -> str:
    """The fingerprint of a key blob as `ssh-keygen -l` prints it (`SHA256:` and unpadded
    base64), by paramiko's `PKey.fingerprint`."""
    import paramiko

    key_type = paramiko.Message(blob).get_text()
    return paramiko.PKey.from_type_string(key_type, blob).fingerprint


def host_id(host: str, port: int) -> str:
    """The known_hosts name of a host: `host`, or `[host]:port` when the port is not 22."""
    return host if port == 22 else f"[{host}]:{port}"


def check_command(algorithm: str) -> str:
    """The command that shows, on the host, the key of `algorithm` (paramiko's
    `PKey.algorithm_name`: ED25519, ECDSA, RSA)."""
    kind = algorithm.lower() if algorithm.lower() in _HOST_KEY_FILES else "ed25519"
    return f"ssh-keygen -lf /etc/ssh/ssh_host_{kind}_key.pub"


def normalise_fingerprint(value: str) -> str:
    v = value.strip()
    v = "SHA256:" + (v[7:] if v.lower().startswith("sha256:") else v)
    return v.rstrip("=")


class TrustNeeded(RoostError):
    """First contact with a host: the user must confirm its key's fingerprint."""

    def __init__(self, name: str, host: str, port: int, key: paramiko.PKey) -> None:
        self.name = name
        self.host = host
        self.port = port
        self.key_type = key.get_name()
        self.algorithm = key.algorithm_name
        self.fingerprint = fp = key.fingerprint
        where = host if port == 22 else f"{host} port {port}"
        super().__init__(
            f"roost has not met {name} ({where}) before; its {self.algorithm} host key "
            f"has the fingerprint {fp}",
            hint=f"check it on the host with `{check_command(self.algorithm)}`, then confirm "
            f"it, or pass --trust {fp}",
        )

    def question(self) -> str:
        """The question a CLI or TUI asks, read aloud as it is."""
        where = self.host if self.port == 22 else f"{self.host} port {self.port}"
        return (f"First connection to {self.name} at {where}. Its {self.algorithm} "
                f"host key fingerprint is {self.fingerprint}. To check it, run "
                f"`{check_command(self.algorithm)}` on that host. Trust this key?")


AskTrust = Callable[[TrustNeeded], bool]
"""Asks the person, on first contact, whether to trust the key (True) or not (False, or a
RoostError saying what to do)."""


class HostKeyChanged(RoostError):
    """The host shows a different key from the one roost trusted."""

    def __init__(self, name: str, host: str, port: int, key: paramiko.PKey,
                 known: list[paramiko.PKey]) -> None:
        self.name = name
        self.host = host
        self.port = port
        self.fingerprint = fp = key.fingerprint
        was = ", ".join(f"{k.algorithm_name} {k.fingerprint}" for k in known)
        super().__init__(
            f"STOP: the host key of {name} ({host_id(host, port)}) has changed. roost trusted "
            f"{was}; it now shows {key.algorithm_name} {fp}. This happens when the host was "
            f"reinstalled, or when someone is in the middle of the connection. Nothing was "
            f"sent to it",
            hint=f"on the host itself run `{check_command(key.algorithm_name)}`; only if it "
            f"shows {fp}, run `roost host forget {name}` and connect again",
        )


class FingerprintMismatch(RoostError):
    """`--trust` named a different key from the one the host shows."""

    def __init__(self, name: str, given: str, key: paramiko.PKey) -> None:
        self.fingerprint = fp = key.fingerprint
        super().__init__(
            f"{name} shows the host key {fp}, not {given} as given with --trust; "
            f"roost did not connect",
            hint=f"check the key on the host with `{check_command(key.algorithm_name)}`",
        )


@dataclass(frozen=True)
class KnownKey:
    host: str
    """The known_hosts name (`host` or `[host]:port`)."""
    key_type: str
    fingerprint: str


class KnownHosts:
    """roost's own known_hosts file (its caller gives the path: `home / KNOWN_HOSTS`)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _load(self) -> paramiko.HostKeys:
        import paramiko

        keys = paramiko.HostKeys()
        if self.path.exists():
            try:
                keys.load(str(self.path))
            except (OSError, paramiko.hostkeys.InvalidHostKey, ValueError) as exc:
                raise RoostError(
                    f"roost's known hosts file {self.path} could not be read ({exc})",
                    hint="fix or remove the damaged line; roost never trusts a key silently",
                ) from None
        return keys

    def _save(self, keys: paramiko.HostKeys) -> None:
        atomic_write_with(self.path, lambda tmp: keys.save(str(tmp)), 0o600)

    def known(self, host: str, port: int) -> list[KnownKey]:
        hid = host_id(host, port)
        found = self._load().lookup(hid)
        if not found:
            return []
        return [KnownKey(hid, t, found[t].fingerprint) for t in found]

    def verify(self, name: str, host: str, port: int, key: paramiko.PKey,
               trust: str | None = None) -> None:
        """Return when `key` is trusted for host:port (adding it when `trust` is its
        fingerprint); raise TrustNeeded, FingerprintMismatch or HostKeyChanged otherwise."""
        hid = host_id(host, port)
        keys = self._load()
        found = keys.lookup(hid)
        if found:
            known = found.get(key.get_name())
            if known is not None and known.asbytes() == key.asbytes():
                return
            raise HostKeyChanged(name, host, port, key, [found[t] for t in found])
        if trust is None:
            raise TrustNeeded(name, host, port, key)
        given = normalise_fingerprint(trust)
        if given != key.fingerprint:
            raise FingerprintMismatch(name, given, key)
        self.add(host, port, key)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Short writes: wait for another thread or roost (up to 5 s) instead of failing."""
        with _THREAD_LOCK, FileLock(self.path, "the known hosts file", wait_s=5, poll_s=0.05):
            yield

    def add(self, host: str, port: int, key: paramiko.PKey) -> None:
        with self._locked():
            keys = self._load()
            keys.add(host_id(host, port), key.get_name(), key)
            self._save(keys)

    def forget(self, host: str, port: int) -> int:
        """Drop every key kept for host:port; the number dropped."""
        hid = host_id(host, port)
        with self._locked():
            keys = self._load()
            found = keys.lookup(hid)
            if not found:
                return 0
            n = len(found)
            while keys.lookup(hid):
                del keys[hid]
            self._save(keys)
            return n
