"""The key vault: every secret roost creates, in one sealed file in the data directory.

The file (`keys.vault`, mode 0600) is a small versioned TOML document: the key-derivation
header (Argon2id salt and limits), the sealed payload (PyNaCl SecretBox: XSalsa20-Poly1305)
and a SHA-256 checksum of both. The checksum lets roost tell a damaged file (a flipped byte)
from a wrong passphrase: both would otherwise just fail to open.

Public parts (ids, fingerprints, JIDs) are copied to `keys-index.toml`, which holds no secret,
so listing and showing identities never asks for the passphrase.

Every change re-reads the vault under a process lock, applies the change and writes it back
atomically with a fresh nonce, so two roost processes never lose each other's changes.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import getpass
import hashlib
import json
import os
import sys
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nacl.exceptions
import nacl.pwhash
import nacl.secret
import nacl.utils
import tomli_w

from roost.core.atomic import atomic_write_text
from roost.core.errors import NewerFormatError, RoostError
from roost.core.lock import FileLock
from roost.core.versioned import read_versioned, write_versioned
from roost.keys.model import Identity, IdentityInfo, check_label

SCHEMA = 1
VAULT_FILE = "keys.vault"
INDEX_FILE = "keys-index.toml"
KIND_VAULT = "roost-keys"
KIND_BACKUP = "roost-keys-backup"
KIND_INDEX = "roost-keys-index"
KDF = "argon2id"
ENV_PASSPHRASE_FILE = "ROOST_PASSPHRASE_FILE"  # noqa: S105 - a variable name
MIN_PASSPHRASE = 8

LOSS_WARNING = (
    "If you lose this passphrase, nobody can open the vault: not you, not roost, not anyone "
    "else. The keys in it are then lost, and the identities made from them (your SSB feed, "
    "server keys) cannot be recovered. Write it down and keep it somewhere safe."
)

_argon = nacl.pwhash.argon2id


@dataclass(frozen=True)
class KdfLimits:
    """Argon2id cost. The vault header records them, so a vault always opens with its own."""

    opslimit: int
    memlimit: int

    def check(self) -> KdfLimits:
        if not (_argon.OPSLIMIT_MIN <= self.opslimit <= 16
                and _argon.MEMLIMIT_MIN <= self.memlimit <= 2 * 1024**3):
            raise ValueError("key-derivation limits out of range")
        return self


MAX_MEMLIMIT = 128 * 1024**2
"""The most memory a vault's key derivation may take: a Pi Zero 2 W has 512 MB with the system
in it. A vault sealed with more (roost before 2026-12: 256 MiB) opens with its own limits and
is sealed again with DEFAULT_LIMITS on its next write."""

DEFAULT_LIMITS = KdfLimits(8, 96 * 1024**2)
"""Argon2id with 96 MiB and 8 passes: the same work as libsodium's "moderate" (256 MiB x 3
passes) in well under half the memory, so guessing passphrases stays as slow (bench/vault.py
measures the peak and the time)."""

FAST_LIMITS_FOR_TESTS = KdfLimits(_argon.OPSLIMIT_MIN, _argon.MEMLIMIT_MIN)
"""Only for tests, and only ever passed explicitly: there is no setting that selects it."""


def _wrong_passphrase() -> RoostError:
    return RoostError("the passphrase is wrong",
                      hint="nothing was changed; try again (if it is lost, the keys in the "
                           "vault cannot be recovered)")


def _damaged(path: Path, why: str) -> RoostError:
    return RoostError(
        f"the key vault {path} is damaged ({why})",
        hint="it was left exactly as it is; restore a backup with 'roost keys restore FILE'")


@dataclass(frozen=True)
class _Sealed:
    """One parsed vault or backup file, still sealed."""

    kind: str
    salt: bytes
    limits: KdfLimits
    sealed: bytes

    def checksum(self) -> str:
        h = hashlib.sha256()
        for part in (str(SCHEMA), self.kind, KDF, self.salt.hex(), str(self.limits.opslimit),
                     str(self.limits.memlimit), self.sealed.hex()):
            h.update(part.encode("ascii") + b"\n")
        return h.hexdigest()

    def to_text(self) -> str:
        return tomli_w.dumps({
            "schema": SCHEMA, "kind": self.kind, "kdf": KDF,
            "salt": base64.b64encode(self.salt).decode("ascii"),
            "opslimit": self.limits.opslimit, "memlimit": self.limits.memlimit,
            "sealed": base64.b64encode(self.sealed).decode("ascii"),
            "checksum": self.checksum(),
        })

    @classmethod
    def read(cls, path: Path, kinds: tuple[str, ...], what: str = "key vault") -> _Sealed:

        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            raise RoostError(f"there is no {what} at {path}",
                             hint="check the path") from None
        except OSError as exc:
            raise RoostError(f"cannot read the {what} {path}: {exc.strerror}",
                             hint="check the file's permissions") from None
        try:
            data = tomllib.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, tomllib.TOMLDecodeError):
            raise _damaged(path, "it cannot be read as a roost vault") from None
        schema = data.get("schema")
        if isinstance(schema, int) and not isinstance(schema, bool) and schema > SCHEMA:
            raise NewerFormatError(
                f"the {what} {path} was written by a newer roost (format {schema}, this "
                f"roost reads up to {SCHEMA})", hint="update roost; the file was left untouched")
        try:
            if schema != SCHEMA or data.get("kdf") != KDF:
                raise ValueError("unknown format")
            kind = data["kind"]
            if kind not in (KIND_VAULT, KIND_BACKUP):
                raise ValueError("unknown kind")
            found = cls(kind, _canonical_b64(data["salt"]),
                        KdfLimits(int(data["opslimit"]), int(data["memlimit"])).check(),
                        _canonical_b64(data["sealed"]))
            expected = data["checksum"]
        except (KeyError, TypeError, ValueError, OverflowError, binascii.Error):
            raise _damaged(path, "a part of it is missing or unreadable") from None
        if found.checksum() != expected:
            raise _damaged(path, "its checksum does not match")
        if found.kind not in kinds:
            raise RoostError(f"{path} is not a {what}",
                             hint="give the file made by 'roost keys backup'")
        return found


def _canonical_b64(text: object) -> bytes:
    """Decode base64 that is exactly what encoding gives back (no ignored bits or padding)."""
    if not isinstance(text, str):
        raise ValueError("not text")
    raw = base64.b64decode(text, validate=True)
    if base64.b64encode(raw).decode("ascii") != text:
        raise ValueError("not canonical base64")
    return raw


def _derive(passphrase: str, salt: bytes, limits: KdfLimits) -> bytes:
    key: bytes = _argon.kdf(nacl.secret.SecretBox.KEY_SIZE, passphrase.encode("utf-8"), salt,
                            opslimit=limits.opslimit, memlimit=limits.memlimit)
    return key


def _check_new_passphrase(passphrase: str) -> str:
    if not isinstance(passphrase, str) or len(passphrase) < MIN_PASSPHRASE:
        raise RoostError(f"the passphrase is too short: use at least {MIN_PASSPHRASE} characters",
                         hint="a few unrelated words you can remember work well")
    return passphrase


def _seal(key: bytes, identities: Iterable[Identity]) -> bytes:
    payload = json.dumps({"identity": [i.to_dict() for i in identities]},
                         ensure_ascii=False, sort_keys=True).encode("utf-8")
    return bytes(nacl.secret.SecretBox(key).encrypt(payload))


def _unseal(key: bytes, sealed: bytes) -> dict[str, Identity] | None:
    """The identities, or None when the key does not open the box."""
    try:
        payload = nacl.secret.SecretBox(key).decrypt(sealed)
    except nacl.exceptions.CryptoError:
        return None
    data = json.loads(payload.decode("utf-8"))
    out: dict[str, Identity] = {}
    for d in data.get("identity", []):
        ident = Identity.from_dict(d)
        out[ident.id] = ident
    return out


class Vault:
    """An open vault: the identities, and the key that seals them (never the passphrase)."""

    def __init__(self, home: Path, salt: bytes, limits: KdfLimits, key: bytes,
                 identities: dict[str, Identity]) -> None:
        self.home = home
        self._salt = salt
        self._limits = limits
        self._key = key
        self._identities = identities
        self._reseal: tuple[bytes, KdfLimits, bytes] | None = None
        """(salt, limits, key) to seal with on the next write, when `limits` take more memory
        than MAX_MEMLIMIT."""

    def _reseal_with(self, passphrase: str) -> None:
        """Make the lighter seal for the next write, when this vault's takes too much memory."""
        if self._limits.memlimit > MAX_MEMLIMIT:
            salt = nacl.utils.random(_argon.SALTBYTES)
            self._reseal = (salt, DEFAULT_LIMITS, _derive(passphrase, salt, DEFAULT_LIMITS))

    def __repr__(self) -> str:
        return f"Vault({str(self.home)!r}, {len(self._identities)} identities)"

    # --- where -----------------------------------------------------------------------------

    @staticmethod
    def path(home: Path) -> Path:
        """The vault file in the data folder `home` (its caller gives the folder)."""
        return Path(home) / VAULT_FILE

    @staticmethod
    def index_path(home: Path) -> Path:
        return Path(home) / INDEX_FILE

    @staticmethod
    def exists(home: Path) -> bool:
        return Vault.path(home).exists()

    @staticmethod
    def _lock(home: Path) -> FileLock:
        return FileLock(Vault.path(home), "the key vault")

    # --- opening ---------------------------------------------------------------------------

    @classmethod
    def create(cls, home: Path, passphrase: str, *,
               limits: KdfLimits = DEFAULT_LIMITS) -> Vault:
        """A new, empty vault. Refuses when one exists (it would lose its keys)."""
        base = Path(home)
        _check_new_passphrase(passphrase)
        base.mkdir(parents=True, exist_ok=True, mode=0o700)
        with cls._lock(base):
            if cls.exists(base):
                raise RoostError(f"a key vault already exists at {cls.path(base)}",
                                 hint="open it with its passphrase; roost never replaces it")
            salt = nacl.utils.random(_argon.SALTBYTES)
            vault = cls(base, salt, limits.check(), _derive(passphrase, salt, limits), {})
            vault._write()
        return vault

    @classmethod
    def open(cls, home: Path, passphrase: str) -> Vault:
        base = Path(home)
        if not cls.exists(base):
            raise RoostError("there is no key vault yet",
                             hint="create an identity with 'roost keys new KIND' to start one")
        found = _Sealed.read(cls.path(base), (KIND_VAULT,))
        key = _derive(passphrase, found.salt, found.limits)
        identities = _unseal(key, found.sealed)
        if identities is None:
            raise _wrong_passphrase()
        vault = cls(base, found.salt, found.limits, key, identities)
        vault._reseal_with(passphrase)
        if vault._reseal is not None:  # sealed once more, lighter, so a 512 MB Pi opens it
            with contextlib.suppress(OSError):
                vault._mutate(lambda ids: None)
        vault._refresh_index()
        return vault

    @classmethod
    def restore(cls, home: Path, backup: Path, passphrase: str) -> Vault:
        """Make a vault from a backup when there is none (the backup's passphrase stays)."""
        base = Path(home)
        found = _Sealed.read(Path(backup), (KIND_BACKUP, KIND_VAULT), "key backup")
        key = _derive(passphrase, found.salt, found.limits)
        identities = _unseal(key, found.sealed)
        if identities is None:
            raise _wrong_passphrase()
        base.mkdir(parents=True, exist_ok=True, mode=0o700)
        with cls._lock(base):
            if cls.exists(base):
                raise RoostError(f"a key vault already exists at {cls.path(base)}",
                                 hint="open it and import the backup into it instead")
            vault = cls(base, found.salt, found.limits, key, identities)
            vault._reseal_with(passphrase)
            vault._write()
        return vault

    # --- reading ---------------------------------------------------------------------------

    @staticmethod
    def public_index(home: Path) -> tuple[IdentityInfo, ...]:
        """Public parts of every identity, without the passphrase (empty when none)."""
        data = read_versioned(Vault.index_path(home), "key index", SCHEMA)
        if data is None:
            return ()
        try:
            return tuple(IdentityInfo.from_dict(d) for d in data.get("identity", []))
        except (KeyError, TypeError, ValueError):
            raise RoostError(f"the key index {Vault.index_path(home)} cannot be read",
                             hint="open the vault once (roost keys passwd or keys new) "
                                  "to rebuild it") from None

    def list(self) -> tuple[IdentityInfo, ...]:
        return tuple(i.info() for i in self._identities.values())

    def get(self, identity_id: str) -> Identity:
        try:
            return self._identities[identity_id]
        except KeyError:
            raise RoostError(f"there is no identity called {str(identity_id)[:40]!r}",
                             hint="run 'roost keys list' to see them") from None

    def __contains__(self, identity_id: object) -> bool:
        return identity_id in self._identities

    def free_label(self, base: str) -> str:
        """`base`, or `base-2`, `base-3`... whichever is not taken yet."""
        label, n = base, 1
        while label in self._identities:
            n += 1
            label = f"{base}-{n}"
        return label

    # --- changing --------------------------------------------------------------------------

    def add(self, identity: Identity) -> Identity:
        check_label(identity.id)

        def change(ids: dict[str, Identity]) -> None:
            if identity.id in ids:
                raise RoostError(f"there is already an identity called {identity.id!r}",
                                 hint="choose another name with --name")
            ids[identity.id] = identity

        self._mutate(change)
        return identity

    def remove(self, identity_id: str) -> None:
        def change(ids: dict[str, Identity]) -> None:
            if identity_id not in ids:
                raise RoostError(f"there is no identity called {str(identity_id)[:40]!r}",
                                 hint="run 'roost keys list' to see them")
            del ids[identity_id]

        self._mutate(change)

    def change_passphrase(self, new: str) -> None:
        """Seal the vault under a new passphrase (new salt; the same cost limits, or
        DEFAULT_LIMITS when those take more memory than MAX_MEMLIMIT)."""
        _check_new_passphrase(new)
        salt = nacl.utils.random(_argon.SALTBYTES)
        limits = self._limits if self._limits.memlimit <= MAX_MEMLIMIT else DEFAULT_LIMITS
        key = _derive(new, salt, limits)

        def change(ids: dict[str, Identity]) -> None:
            self._salt, self._limits, self._key = salt, limits, key
            self._reseal = None

        self._mutate(change)

    def export_backup(self, path: Path) -> None:
        """Write a sealed copy (same passphrase) to `path`, mode 0600; never overwrites."""
        target = Path(path)
        if target.exists():
            raise RoostError(f"{target} already exists", hint="choose a new file name")
        sealed = _Sealed(KIND_BACKUP, self._salt, self._limits,
                         _seal(self._key, self._identities.values()))
        atomic_write_text(target, sealed.to_text(), 0o600)

    def import_backup(self, path: Path,
                      passphrase: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """Add identities from a backup; returns (added, skipped because the name is taken)."""
        found = _Sealed.read(Path(path), (KIND_BACKUP, KIND_VAULT), "key backup")
        incoming = _unseal(_derive(passphrase, found.salt, found.limits), found.sealed)
        if incoming is None:
            raise _wrong_passphrase()
        added: list[str] = []
        skipped: list[str] = []

        def change(ids: dict[str, Identity]) -> None:
            added.clear()
            skipped.clear()
            for ident in incoming.values():
                if ident.id in ids:
                    skipped.append(ident.id)
                else:
                    ids[ident.id] = ident
                    added.append(ident.id)

        self._mutate(change)
        return tuple(added), tuple(skipped)

    # --- writing ---------------------------------------------------------------------------

    def _mutate(self, change: Callable[[dict[str, Identity]], None]) -> None:
        with self._lock(self.home):
            found = _Sealed.read(self.path(self.home), (KIND_VAULT,))
            current = _unseal(self._key, found.sealed)
            if current is None:
                raise RoostError("the key vault was changed by another roost (its passphrase "
                                 "was changed)", hint="open it again with the new passphrase")
            change(current)
            self._identities = current
            self._write()

    def _write(self) -> None:
        if self._reseal is not None:
            (self._salt, self._limits, self._key), self._reseal = self._reseal, None
        sealed = _Sealed(KIND_VAULT, self._salt, self._limits,
                         _seal(self._key, self._identities.values()))
        atomic_write_text(self.path(self.home), sealed.to_text(), 0o600)
        self._write_index()

    def _write_index(self) -> None:
        data: dict[str, Any] = {"kind": KIND_INDEX,
                                "identity": [i.to_dict() for i in self.list()]}
        write_versioned(self.index_path(self.home), data, SCHEMA, 0o600)

    def _refresh_index(self) -> None:
        try:
            current = self.public_index(self.home)
        except RoostError:
            current = ()
        if current != self.list():
            try:
                with self._lock(self.home):
                    self._write_index()
            except RoostError:
                pass  # another roost is writing; it writes the index too


# --- the passphrase ------------------------------------------------------------------------

def passphrase_from_file(path: str | os.PathLike[str]) -> str:
    try:
        text = Path(path).read_text("utf-8")
    except (OSError, UnicodeDecodeError):
        raise RoostError(f"cannot read the passphrase file named by {ENV_PASSPHRASE_FILE}",
                         hint="check that the file exists and is readable") from None
    if text.endswith("\r\n"):
        text = text[:-2]
    elif text.endswith("\n"):
        text = text[:-1]
    if not text:
        raise RoostError(f"the passphrase file named by {ENV_PASSPHRASE_FILE} is empty",
                         hint="put the passphrase in it")
    return text


def passphrase_from_env_or_prompt(*, new: bool = False, prompt: str = "Vault passphrase: ",
                                  env: bool = True) -> str:
    """`ROOST_PASSPHRASE_FILE`'s contents, else a prompt without echo.

    With `new`, the prompt first says what losing the passphrase means and asks twice.
    """
    file = os.environ.get(ENV_PASSPHRASE_FILE) if env else None
    if file:
        return passphrase_from_file(file)
    if not sys.stdin.isatty():
        raise RoostError("roost needs the vault passphrase but cannot ask for it here",
                         hint=f"run it in a terminal, or set {ENV_PASSPHRASE_FILE} to a file "
                              "holding the passphrase")
    try:
        if new:
            sys.stderr.write(LOSS_WARNING + "\n")
            first = getpass.getpass("New vault passphrase: ")
            _check_new_passphrase(first)
            if getpass.getpass("Type it again: ") != first:
                raise RoostError("the two passphrases differ", hint="nothing was changed; "
                                 "try again")
            return first
        return getpass.getpass(prompt)
    except EOFError:
        raise RoostError("no passphrase was given", hint="nothing was changed") from None
