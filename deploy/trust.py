"""Which host keys roost trusts: its own known_hosts file, trust on first use, never silently.

The file is `known_hosts` in roost's data folder, in OpenSSH's format (read and written with
`paramiko.HostKeys`), so `ssh-keygen -F` and friends can read it. On first contact with a host
roost raises `TrustNeeded`, carrying the key's SHA256 fingerprint as OpenSSH prints it; the
CLI or TUI shows (and speaks) it and asks. Scripts pass `--trust SHA256:…`, accepted only when
it matches. A key that differs from the one trusted stops everything (`HostKeyChanged`).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from roost.core.atomic import fsync_dir
from roost.core.errors import LockedError, RoostError
from roost.core.lock import FileLock
from roost.core.paths import data_dir

if TYPE_CHECKING:
    import paramiko

KNOWN_HOSTS = "known_hosts"
_THREAD_LOCK = threading.Lock()

_TYPE_NAMES = {
    "ssh-ed25519": "ED25519",
    "ecdsa-sha2-nistp256": "ECDSA",
    "ecdsa-sha2-nistp384": "ECDSA",
    "ecdsa-sha2-nistp521": "ECDSA",
    "ssh-rsa": "RSA",
}
_KEY_FILES = {"ED25519": "ed25519", "ECDSA": "ecdsa", "RSA": "rsa"}


def fingerprint(blob: bytes) -> str:
    """`SHA256:` and the unpadded base64 of the SHA-256 of the key blob (as `ssh-keygen -l`)."""
    digest = hashlib.sha256(blob).digest()
    return "SHA256:" + base64.b64encode(digest).decode("ascii").rstrip("=")


def type_name(key_type: str) -> str:
    """ssh-ed25519 → ED25519, as ssh-keygen -l prints it."""
    return _TYPE_NAMES.get(key_type, key_type.upper())


def host_id(host: str, port: int) -> str:
    """The known_hosts name of a host: `host`, or `[host]:port` when the port is not 22."""
    return host if port == 22 else f"[{host}]:{port}"


def check_command(key_type: str) -> str:
    kind = _KEY_FILES.get(type_name(key_type), "ed25519")
    return f"ssh-keygen -lf /etc/ssh/ssh_host_{kind}_key.pub"


def normalise_fingerprint(value: str) -> str:
    v = value.strip()
    v = "SHA256:" + (v[7:] if v.lower().startswith("sha256:") else v)
    return v.rstrip("=")


class TrustNeeded(RoostError):
    """First contact with a host: the user must confirm its key's fingerprint."""

    def __init__(self, name: str, host: str, port: int, key_type: str, fp: str) -> None:
        self.name = name
        self.host = host
        self.port = port
        self.key_type = key_type
        self.fingerprint = fp
        where = host if port == 22 else f"{host} port {port}"
        super().__init__(
            f"roost has not met {name} ({where}) before; its {type_name(key_type)} host key "
            f"has the fingerprint {fp}",
            hint=f"check it on the host with `{check_command(key_type)}`, then confirm it, "
            f"or pass --trust {fp}",
        )

    def question(self) -> str:
        """The question a CLI or TUI asks, read aloud as it is."""
        where = self.host if self.port == 22 else f"{self.host} port {self.port}"
        return (f"First connection to {self.name} at {where}. Its {type_name(self.key_type)} "
                f"host key fingerprint is {self.fingerprint}. To check it, run "
                f"`{check_command(self.key_type)}` on that host. Trust this key?")


AskTrust = Callable[[TrustNeeded], bool]
"""Asks the person, on first contact, whether to trust the key (True) or not (False, or a
RoostError saying what to do)."""


class HostKeyChanged(RoostError):
    """The host shows a different key from the one roost trusted."""

    def __init__(self, name: str, host: str, port: int, key_type: str, fp: str,
                 known: list[tuple[str, str]]) -> None:
        self.name = name
        self.host = host
        self.port = port
        self.fingerprint = fp
        was = ", ".join(f"{type_name(t)} {f}" for t, f in known)
        super().__init__(
            f"STOP: the host key of {name} ({host_id(host, port)}) has changed. roost trusted "
            f"{was}; it now shows {type_name(key_type)} {fp}. This happens when the host was "
            f"reinstalled, or when someone is in the middle of the connection. Nothing was "
            f"sent to it",
            hint=f"on the host itself run `{check_command(key_type)}`; only if it shows {fp}, "
            f"run `roost host forget {name}` and connect again",
        )


class FingerprintMismatch(RoostError):
    """`--trust` named a different key from the one the host shows."""

    def __init__(self, name: str, given: str, fp: str, key_type: str) -> None:
        self.fingerprint = fp
        super().__init__(
            f"{name} shows the host key {fp}, not {given} as given with --trust; "
            f"roost did not connect",
            hint=f"check the key on the host with `{check_command(key_type)}`",
        )


@dataclass(frozen=True)
class KnownKey:
    host: str
    """The known_hosts name (`host` or `[host]:port`)."""
    key_type: str
    fingerprint: str


class KnownHosts:
    """roost's own known_hosts file (default: in the data folder)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path if path is not None else data_dir() / KNOWN_HOSTS

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
        folder = self.path.parent
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".{self.path.name}.tmp-{os.getpid()}"
        try:
            keys.save(str(tmp))
            os.chmod(tmp, 0o600)
            with open(tmp, "rb") as f:
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
            fsync_dir(folder)
        except OSError as exc:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise RoostError(f"could not save {self.path}: {exc.strerror or exc}",
                             hint="check the folder's permissions and free space") from None

    def known(self, host: str, port: int) -> list[KnownKey]:
        hid = host_id(host, port)
        found = self._load().lookup(hid)
        if not found:
            return []
        return [KnownKey(hid, t, fingerprint(found[t].asbytes())) for t in found]

    def verify(self, name: str, host: str, port: int, key: paramiko.PKey,
               trust: str | None = None) -> None:
        """Return when `key` is trusted for host:port (adding it when `trust` is its
        fingerprint); raise TrustNeeded, FingerprintMismatch or HostKeyChanged otherwise."""
        key_type = key.get_name()
        blob = key.asbytes()
        fp = fingerprint(blob)
        hid = host_id(host, port)
        keys = self._load()
        found = keys.lookup(hid)
        if found:
            known = found.get(key_type)
            if known is not None and known.asbytes() == blob:
                return
            raise HostKeyChanged(name, host, port, key_type, fp,
                                 [(t, fingerprint(found[t].asbytes())) for t in found])
        if trust is None:
            raise TrustNeeded(name, host, port, key_type, fp)
        given = normalise_fingerprint(trust)
        if given != fp:
            raise FingerprintMismatch(name, given, fp, key_type)
        self.add(host, port, key)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Short writes: wait for another thread or roost (up to 5 s) instead of failing."""
        with _THREAD_LOCK:
            lock = FileLock(self.path, "the known hosts file")
            deadline = time.monotonic() + 5
            while True:
                try:
                    lock.acquire()
                    break
                except LockedError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
            try:
                yield
            finally:
                lock.release()

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
