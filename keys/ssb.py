"""Secure Scuttlebutt: an Ed25519 feed identity, its `~/.ssb/secret` file and signed messages.

Formats follow npm `ssb-keys` and `ssb-validate` (the tests check against both):
the id is `@<base64 public key>.ed25519`; a message is signed over
`JSON.stringify(msg, null, 2)` (UTF-8) and its id is the SHA-256 of the same JSON with the
signature, taken as JavaScript's "binary" (latin1) string encoding.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import nacl.signing

from roost.core import clock
from roost.core.atomic import atomic_write_text
from roost.core.errors import RoostError
from roost.core.versioned import unused_name
from roost.keys.model import Identity, b64, check_label, now_text, unb64

KIND = "ssb"
MAX_NAME = 100


def _id_from_public(pub: bytes) -> str:
    return f"@{b64(pub)}.ed25519"


def profile_name(name: str) -> str:
    text = " ".join(str(name).split())
    if not text or len(text) > MAX_NAME:
        raise RoostError(f"{str(name)[:40]!r} is not a usable profile name",
                         hint=f"use 1 to {MAX_NAME} characters")
    if any(0xD800 <= ord(c) <= 0xDFFF for c in text):
        raise RoostError("the profile name has characters that cannot be sent",
                         hint="use ordinary letters, digits and punctuation")
    return text


def create(label: str, *, profile: str | None = None, timestamp: int | None = None) -> Identity:
    """A new feed identity, with a signed `about` message naming it `profile` (or `label`)."""
    check_label(label)
    name = profile_name(profile if profile is not None else label)
    sk = nacl.signing.SigningKey.generate()
    pub = bytes(sk.verify_key)
    ssb_id = _id_from_public(pub)
    secret = {"private": f"{b64(bytes(sk) + pub)}.ed25519"}
    public = {"ssb_id": ssb_id, "public": f"{b64(pub)}.ed25519", "profile_name": name}
    ident = Identity(label, KIND, public, secret, now_text())
    msg = about_message(ident, name, timestamp=timestamp)
    public["about_message"] = json.dumps(msg, ensure_ascii=False)
    public["about_message_id"] = message_id(msg)
    return ident


def _signing_key(identity: Identity) -> nacl.signing.SigningKey:
    if identity.kind != KIND:
        raise RoostError(f"{identity.id} is not a Secure Scuttlebutt identity")
    private = identity.secret["private"].removesuffix(".ed25519")
    return nacl.signing.SigningKey(unb64(private)[:32])


def keys_json(identity: Identity) -> dict[str, str]:
    """The key object ssb-keys uses (curve, public, private, id)."""
    return {"curve": "ed25519", "public": identity.public["public"],
            "private": identity.secret["private"], "id": identity.public["ssb_id"]}


def ssb_secret_file_text(identity: Identity) -> str:
    """The `~/.ssb/secret` file Oasis and ssb-server read: comments, then the keys JSON."""
    body = json.dumps(keys_json(identity), indent=2)
    return (
        "# This is your SECRET Secure Scuttlebutt key, made by roost.\n"
        "# Never show it to anyone: whoever has it can post as you.\n"
        "# Never use it on two devices at once: your feed would fork.\n"
        "#\n"
        f"{body}\n"
        "#\n"
        "# The only part of this file that is safe to share is your public id:\n"
        "#\n"
        f"#   {identity.public['ssb_id']}\n"
    )


def write_ssb_secret(path: Path, identity: Identity, overwrite: bool = False) -> Path | None:
    """Write the secret file (mode 0400). Returns the backup made of an older file, if any.

    An existing identity is never replaced unless `overwrite`; then it is first copied to
    `secret.backup-<time>` (mode 0400) next to it.
    """
    path = Path(path)
    backup: Path | None = None
    if path.exists():
        if not overwrite:
            raise RoostError(f"{path} already holds an SSB identity",
                             hint="replacing it would lose that identity; move it away first "
                                  "or ask to overwrite (it is backed up first)")
        backup = unused_name(path, "backup")
        atomic_write_text(backup, path.read_text("utf-8"), 0o400)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    atomic_write_text(path, ssb_secret_file_text(identity), 0o400)
    return backup


def _stringify(msg: Mapping[str, Any]) -> str:
    """JavaScript's JSON.stringify(msg, null, 2) for the JSON values messages hold."""
    return json.dumps(msg, indent=2, ensure_ascii=False, separators=(",", ": "))


def _latin1_of_js_string(text: str) -> bytes:
    """Node's Buffer.from(s, 'binary'): the low byte of each UTF-16 code unit."""
    units = text.encode("utf-16-le")
    return bytes(units[0::2])


def message_id(msg: Mapping[str, Any]) -> str:
    digest = hashlib.sha256(_latin1_of_js_string(_stringify(msg))).digest()
    return f"%{b64(digest)}.sha256"


def sign_message(identity: Identity, previous: str | None, sequence: int,
                 content: Mapping[str, Any], timestamp: int | float) -> dict[str, Any]:
    """A signed feed message, keys in the order ssb-validate produces and checks."""
    if sequence < 1 or (sequence == 1) != (previous is None):
        raise RoostError("a feed message needs sequence 1 with no previous message, or a "
                         "later sequence with the previous message's id")
    msg: dict[str, Any] = {
        "previous": previous,
        "sequence": sequence,
        "author": identity.public["ssb_id"],
        "timestamp": timestamp,
        "hash": "sha256",
        "content": dict(content),
    }
    sig = _signing_key(identity).sign(_stringify(msg).encode("utf-8")).signature
    msg["signature"] = f"{b64(sig)}.sig.ed25519"
    return msg


def verify_message(msg: Mapping[str, Any]) -> bool:
    """Check a message's signature against its author (for our own use; tests use node)."""
    body = {k: v for k, v in msg.items() if k != "signature"}
    try:
        pub = unb64(str(msg["author"]).removeprefix("@").removesuffix(".ed25519"))
        sig = unb64(str(msg["signature"]).removesuffix(".sig.ed25519"))
        nacl.signing.VerifyKey(pub).verify(_stringify(body).encode("utf-8"), sig)
    except Exception:  # any malformed message is simply not valid
        return False
    return True


def about_message(identity: Identity, name: str, *, previous: str | None = None,
                  sequence: int = 1, timestamp: int | None = None) -> dict[str, Any]:
    """The `about` message that sets the profile name others see instead of the long id."""
    content = {"type": "about", "about": identity.public["ssb_id"], "name": profile_name(name)}
    if timestamp is None:
        timestamp = int(clock.from_environment()().timestamp() * 1000)
    when = timestamp
    return sign_message(identity, previous, sequence, content, when)
