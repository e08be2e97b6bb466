"""Fediverse: the account a person chooses (handle, domain, e-mail, password) and the secrets
a self-hosted server needs (Mastodon, GoToSocial, Akkoma).

The actor's RSA key pair is made by the server itself; roost does not make it.
"""

from __future__ import annotations

import base64
import csv
import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from roost.core import validate
from roost.core.errors import RoostError
from roost.core.validate import hostname
from roost.keys.model import Identity, check_label, now_text, password, random_alnum, random_hex

KIND = "fediverse"
SOFTWARE = ("mastodon", "gotosocial", "akkoma")
FOLLOWS_HEADER = ("Account address", "Show boosts", "Notify on new posts", "Languages")
_HANDLE = re.compile(r"^[a-z0-9_]{1,30}$")


def handle(value: str) -> str:
    v = str(value).strip().lstrip("@").lower()
    if not _HANDLE.match(v):
        raise RoostError(f"{str(value)[:40]!r} is not a usable fediverse user name",
                         hint="use 1 to 30 lower-case letters, digits and underscores")
    return v


def email(value: str) -> str:
    return validate.email(value)


def software(value: str) -> str:
    v = str(value).strip().lower()
    if v not in SOFTWARE:
        raise RoostError(f"{v[:30]!r} is not a fediverse server roost makes secrets for",
                         hint=f"use one of {', '.join(SOFTWARE)}")
    return v


def vapid_keys() -> tuple[str, str]:
    """An ECDSA P-256 pair as web push wants it: (private, public), URL-safe base64.

    Private: the 32-byte scalar; public: the 65-byte uncompressed point (what Mastodon's
    `mastodon:webpush:generate_vapid_key` prints).
    """
    key = ec.generate_private_key(ec.SECP256R1())
    scalar = key.private_numbers().private_value.to_bytes(32, "big")
    point = key.public_key().public_bytes(serialization.Encoding.X962,
                                          serialization.PublicFormat.UncompressedPoint)
    return (base64.urlsafe_b64encode(scalar).decode("ascii"),
            base64.urlsafe_b64encode(point).decode("ascii"))


def create(label: str, *, user: str, domain: str, admin_email: str,
           server: str = "mastodon") -> Identity:
    check_label(label)
    h, d, e, sw = handle(user), hostname(domain, "domain"), email(admin_email), software(server)
    vapid_private, vapid_public = vapid_keys()
    public = {
        "handle": h, "domain": d, "email": e, "software": sw,
        "address": f"@{h}@{d}", "webfinger": f"acct:{h}@{d}",
        "vapid_public_key": vapid_public,
    }
    secret = {
        "password": password(32),
        # Mastodon (.env.production)
        "secret_key_base": random_hex(64),
        "otp_secret": random_hex(64),
        "vapid_private_key": vapid_private,
        "active_record_encryption_primary_key": random_alnum(32),
        "active_record_encryption_deterministic_key": random_alnum(32),
        "active_record_encryption_key_derivation_salt": random_alnum(32),
        # Akkoma (config/prod.secret.exs)
        "akkoma_secret_key_base": random_alnum(64),
        "akkoma_signing_salt": random_alnum(8),
        "akkoma_live_view_signing_salt": random_alnum(8),
        "akkoma_joken_signer": random_alnum(64),
        # Databases behind any of them
        "db_password": password(32),
    }
    return Identity(label, KIND, public, secret, now_text())


def mastodon_env(identity: Identity) -> str:
    """The secret lines of Mastodon's `.env.production` (written with mode 0600)."""
    s, p = identity.secret, identity.public
    lines = [
        f"LOCAL_DOMAIN={p['domain']}",
        f"SECRET_KEY_BASE={s['secret_key_base']}",
        f"OTP_SECRET={s['otp_secret']}",
        f"VAPID_PRIVATE_KEY={s['vapid_private_key']}",
        f"VAPID_PUBLIC_KEY={p['vapid_public_key']}",
        f"ACTIVE_RECORD_ENCRYPTION_PRIMARY_KEY={s['active_record_encryption_primary_key']}",
        "ACTIVE_RECORD_ENCRYPTION_DETERMINISTIC_KEY="
        f"{s['active_record_encryption_deterministic_key']}",
        "ACTIVE_RECORD_ENCRYPTION_KEY_DERIVATION_SALT="
        f"{s['active_record_encryption_key_derivation_salt']}",
        f"DB_PASS={s['db_password']}",
    ]
    return "\n".join(lines) + "\n"


AKKOMA_SECRETS = ("akkoma_secret_key_base", "akkoma_signing_salt",
                  "akkoma_live_view_signing_salt", "akkoma_joken_signer", "vapid_private_key")
"""The identity's secret fields Akkoma's (and Pleroma's) secrets.exs is made from."""
AKKOMA_PUBLIC = ("address", "vapid_public_key")
"""The public fields it names."""


def elixir_string(value: str) -> str:
    """`value` as an Elixir double-quoted string literal: backslash, quote and `#` (which
    would start an interpolation `#{...}`) escaped, control characters as `\\u{...}`."""
    out = ['"']
    for ch in value:
        if ch in '\\"#':
            out.append("\\" + ch)
        elif ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F or ch in "\u2028\u2029":
            out.append(f"\\u{{{ord(ch):X}}}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def akkoma_secrets_exs(values: Mapping[str, str]) -> str:
    """Akkoma's secrets.exs (Elixir) from the fields AKKOMA_SECRETS and AKKOMA_PUBLIC: what
    `roost keys export ID --to FOLDER` writes and what the akkoma and pleroma recipes upload
    to the host, byte for byte. The web push pair is url-safe base64 without padding, as
    `pleroma_ctl instance gen` writes it."""
    v = {k: values[k] for k in (*AKKOMA_SECRETS, *AKKOMA_PUBLIC)}
    address = v["address"].replace("\n", " ").replace("\r", " ")
    return (
        f"# Akkoma secrets for {address}, made by roost in its key vault "
        "(`roost keys export ID --to FOLDER` writes the same file). Keep this file private.\n"
        "import Config\n\n"
        "config :pleroma, Pleroma.Web.Endpoint,\n"
        f"  secret_key_base: {elixir_string(v['akkoma_secret_key_base'])},\n"
        f"  signing_salt: {elixir_string(v['akkoma_signing_salt'])},\n"
        f"  live_view: [signing_salt: {elixir_string(v['akkoma_live_view_signing_salt'])}]\n\n"
        f"config :joken, default_signer: {elixir_string(v['akkoma_joken_signer'])}\n\n"
        "config :web_push_encryption, :vapid_details,\n"
        f"  public_key: {elixir_string(v['vapid_public_key'].rstrip('='))},\n"
        f"  private_key: {elixir_string(v['vapid_private_key'].rstrip('='))}\n"
    )


def akkoma_secrets(identity: Identity) -> str:
    """The identity's Akkoma secrets.exs (`roost keys export ID --to FOLDER` writes it, mode
    0600)."""
    return akkoma_secrets_exs({**identity.public, **identity.secret})


def webfinger_url(identity: Identity) -> str:
    p = identity.public
    return f"https://{p['domain']}/.well-known/webfinger?resource={p['webfinger']}"


def move_steps(identity: Identity, old_address: str) -> list[str]:
    """How to move followers from an old account to this one, in order, in words."""
    old = old_address.strip()
    if old.count("@") not in (1, 2) or not old.lstrip("@").partition("@")[2]:
        raise RoostError(f"{old[:60]!r} is not a fediverse address",
                         hint="write it as @name@instance.social")
    old = "@" + old.lstrip("@")
    new = identity.public["address"]
    dom = identity.public["domain"]
    alias_where = (f"https://{dom}/settings/aliases" if identity.public["software"] == "mastodon"
                   else f"the account settings on {dom} (Migration, Alias)")
    return [
        f"Export your follows from {old}: on the old instance, Preferences, Import and export, "
        "Data export, Follows (a CSV file).",
        f"On the new account {new}, add {old} as an alias: {alias_where}.",
        f"Import the follows CSV on {new}: Preferences, Import and export, Import.",
        f"On the old account {old}, start the move to {new}: Preferences, Account, "
        "Move to a different account (settings/migration on Mastodon).",
        "Your followers move to the new account by themselves. Your posts do not move; "
        "download your archive from the old instance to keep them.",
    ]


@dataclass(frozen=True)
class Follow:
    address: str
    show_boosts: bool = True
    notify: bool = False
    languages: tuple[str, ...] = ()


def follows_csv(follows: Iterable[Follow]) -> str:
    """Follows in the CSV format Mastodon exports and imports."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(FOLLOWS_HEADER)
    for f in follows:
        w.writerow([f.address.lstrip("@"), "true" if f.show_boosts else "false",
                    "true" if f.notify else "false", ",".join(f.languages)])
    return out.getvalue()


def read_follows_csv(text: str) -> list[Follow]:
    """Follows from a CSV in Mastodon's export format (what the old instance gives you)."""
    rows = list(csv.reader(io.StringIO(text)))
    if not rows or tuple(c.strip() for c in rows[0][:1]) != FOLLOWS_HEADER[:1]:
        raise RoostError("this file is not a follows export",
                         hint="download it on the old instance: Preferences, Import and "
                              "export, Data export, Follows")
    out: list[Follow] = []
    for row in rows[1:]:
        if not row or not row[0].strip():
            continue
        cells = [*row, "", "", ""][:4]
        out.append(Follow(cells[0].strip().lstrip("@"),
                          cells[1].strip().lower() != "false",
                          cells[2].strip().lower() == "true",
                          tuple(x for x in cells[3].split(",") if x)))
    return out
