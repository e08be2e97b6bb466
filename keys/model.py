"""The identity record every kind shares, and small helpers for generating secrets.

An `Identity` holds the public parts (safe to show, kept in the unencrypted index) and the
secret parts (only ever inside the sealed vault, or in a file the person asked to export).
Its `repr` never shows the secret parts, so an identity that ends up in a log or a traceback
leaks nothing.
"""

from __future__ import annotations

import base64
import secrets
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from roost.core import clock
from roost.core.errors import RoostError
from roost.core.text import a
from roost.core.validate import short_name

KINDS = ("ssb", "xmpp", "fediverse", "matrix", "ssh", "wireguard", "tor", "login")
"""Every kind of identity roost can create, in the order menus list them."""

KIND_NAMES = {
    "ssb": "Secure Scuttlebutt identity",
    "xmpp": "XMPP chat account",
    "fediverse": "fediverse account and server secrets",
    "matrix": "Matrix server signing key and secrets",
    "ssh": "SSH key",
    "wireguard": "WireGuard key",
    "tor": "Tor onion service key",
    "login": "login with a password",
}

KIND_ARTICLE = {"ssb": "an", "xmpp": "an", "fediverse": "a", "matrix": "a", "ssh": "an",
                "wireguard": "a", "tor": "a", "login": "a"}
"""How the kind's short name (`ssb`, read letter by letter) takes its article: "an ssb
identity". The long names take theirs from `core.text.a`."""


def a_kind(kind: str) -> str:
    """`an SSH key`, `a Secure Scuttlebutt identity`: the kind's name with its article."""
    return a(KIND_NAMES.get(kind, kind))


def a_short(kind: str) -> str:
    """`an xmpp identity`, `a matrix identity`."""
    return f"{KIND_ARTICLE.get(kind, 'a')} {kind} identity"


MAIN_PUBLIC = {
    "ssb": "ssb_id",
    "xmpp": "jid",
    "fediverse": "webfinger",
    "matrix": "verify_key_id",
    "ssh": "fingerprint",
    "wireguard": "public_key",
    "tor": "hostname",
    "login": "user",
}
"""For each kind, the public field that names the identity to the outside world."""


PASSWORD_FIELD = {"xmpp": "password", "fediverse": "password", "matrix": "admin_password",
                  "login": "password"}
"""For the kinds whose secrets hold a password a person logs in with: its secret field (what
`keys show --secret --to-pipe` prints, and the TUI's `p`)."""

WITH_PASSWORD = tuple(PASSWORD_FIELD)
"""Kinds whose secrets hold a password a person logs in with (shown on request)."""

SECRET_LABELS: dict[str, tuple[tuple[str, str], ...]] = {
    "ssb": (("private", "Private key (whoever has it can post as you)"),),
    "xmpp": (("password", "Password"),
             ("scram_salt", "SCRAM salt (the server keeps it and the two keys below "
                            "instead of the password)"),
             ("scram_stored_key", "SCRAM stored key"),
             ("scram_server_key", "SCRAM server key")),
    "fediverse": (("password", "Password of the account"),
                  ("db_password", "Database password"),
                  ("secret_key_base", "Mastodon SECRET_KEY_BASE"),
                  ("otp_secret", "Mastodon OTP_SECRET"),
                  ("vapid_private_key", "Web push private key (VAPID_PRIVATE_KEY)"),
                  ("active_record_encryption_primary_key",
                   "Mastodon ACTIVE_RECORD_ENCRYPTION_PRIMARY_KEY"),
                  ("active_record_encryption_deterministic_key",
                   "Mastodon ACTIVE_RECORD_ENCRYPTION_DETERMINISTIC_KEY"),
                  ("active_record_encryption_key_derivation_salt",
                   "Mastodon ACTIVE_RECORD_ENCRYPTION_KEY_DERIVATION_SALT"),
                  ("akkoma_secret_key_base", "Akkoma secret_key_base"),
                  ("akkoma_signing_salt", "Akkoma signing salt"),
                  ("akkoma_live_view_signing_salt", "Akkoma LiveView signing salt"),
                  ("akkoma_joken_signer", "Akkoma Joken signer")),
    "matrix": (("admin_password", "Admin password (the first account, made by the deploy)"),
               ("registration_shared_secret",
                "Registration shared secret (register_new_matrix_user reads it from "
                "homeserver.yaml)"),
               ("macaroon_secret_key", "Macaroon secret key"),
               ("form_secret", "Form secret"),
               ("db_password", "Database password (for PostgreSQL, if you move Synapse to it)"),
               ("signing_key_seed", "Signing key seed (roost keys export writes the key file)")),
    "ssh": (("private_key", "Private key (OpenSSH format)"),),
    "wireguard": (("private_key", "Private key (as wg genkey prints it)"),),
    "tor": (("expanded_secret_key",
             "Onion service secret key, expanded, base64 (roost keys export writes Tor's "
             "files)"),),
    "login": (("password", "Password"),),
}
"""Every secret field each kind stores, with what it is in words, in the order `roost keys
show ID --secret` reads them out (passwords first). tests/test_keys_cli.py makes each kind
and checks every field its `create` stores is here and shown, so a new one is not forgotten."""


def secret_lines(identity: Identity) -> list[tuple[str, str]]:
    """(label, value) for every secret of `identity`, in the declared order; a field not
    declared (from a newer roost) is still shown, under its own name."""
    labels = dict(SECRET_LABELS.get(identity.kind, ()))
    order = [f for f, _ in SECRET_LABELS.get(identity.kind, ())]
    order += sorted(f for f in identity.secret if f not in labels)
    return [(labels.get(f, f.replace("_", " ").capitalize()), identity.secret[f])
            for f in order if identity.secret.get(f)]


def password_of(identity: Identity) -> str | None:
    """The password a person logs in with, for the kinds that have one, else None."""
    field_name = PASSWORD_FIELD.get(identity.kind)
    return identity.secret.get(field_name) or None if field_name else None


def check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise RoostError(f"{str(kind)[:40]!r} is not a kind of identity roost knows",
                         hint=f"use one of {', '.join(KINDS)}")
    return kind


def check_label(label: str) -> str:
    return short_name(label, "identity name")


def now_text() -> str:
    return clock.from_environment()().isoformat()


@dataclass(frozen=True)
class IdentityInfo:
    """The public parts of an identity: what `keys list` and `keys show` read from the index."""

    id: str
    kind: str
    public: Mapping[str, str]
    created: str

    @property
    def public_id(self) -> str:
        """The one public value that names this identity (SSB id, JID, onion address...)."""
        return self.public.get(MAIN_PUBLIC.get(self.kind, ""), "")

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "created": self.created,
                "public": dict(self.public)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> IdentityInfo:
        public = d.get("public", {})
        if not isinstance(public, Mapping):
            raise ValueError("public is not a table")
        return cls(str(d["id"]), str(d["kind"]), {str(k): str(v) for k, v in public.items()},
                   str(d.get("created", "")))


@dataclass(frozen=True)
class Identity:
    """One identity with its secrets. Only the vault and the exporters read `secret`."""

    id: str
    """Short local label, like `ssb` or `home-ssh`."""
    kind: str
    public: Mapping[str, str]
    secret: Mapping[str, str] = field(repr=False)
    created: str = field(default_factory=now_text)

    def info(self) -> IdentityInfo:
        return IdentityInfo(self.id, self.kind, dict(self.public), self.created)

    @property
    def public_id(self) -> str:
        return self.info().public_id

    def secret_values(self) -> tuple[str, ...]:
        """Every secret value, for tests that check none leaks."""
        return tuple(self.secret.values())

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "created": self.created,
                "public": dict(self.public), "secret": dict(self.secret)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Identity:
        public = d.get("public", {})
        secret = d.get("secret", {})
        if not isinstance(public, Mapping) or not isinstance(secret, Mapping):
            raise ValueError("public or secret is not a table")
        return cls(str(d["id"]), str(d["kind"]),
                   {str(k): str(v) for k, v in public.items()},
                   {str(k): str(v) for k, v in secret.items()},
                   str(d.get("created", "")))

    def relabel(self, label: str) -> Identity:
        return Identity(check_label(label), self.kind, self.public, self.secret, self.created)


# --- generating secrets ----------------------------------------------------------------------

_ALNUM = string.ascii_letters + string.digits


def password(length: int = 32) -> str:
    """A strong password of letters and digits (about 190 bits at 32): safe in any config."""
    return "".join(secrets.choice(_ALNUM) for _ in range(length))


def random_hex(nbytes: int) -> str:
    return secrets.token_hex(nbytes)


def random_alnum(length: int) -> str:
    return "".join(secrets.choice(_ALNUM) for _ in range(length))


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def b64_unpadded(data: bytes) -> str:
    return b64(data).rstrip("=")


def unb64(text: str) -> bytes:
    pad = "=" * (-len(text) % 4)
    return base64.b64decode(text + pad, validate=True)


def group(text: str, size: int = 4) -> str:
    """`abcdefgh` -> `abcd efgh`: long values read aloud (and compared by eye) in chunks."""
    return " ".join(text[i:i + size] for i in range(0, len(text), size))
