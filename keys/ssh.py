"""SSH: an Ed25519 key pair in OpenSSH's own file formats, with its SHA256 fingerprint."""

from __future__ import annotations

import base64
import hashlib

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from roost.core.errors import RoostError
from roost.keys.model import Identity, b64_unpadded, check_label, now_text

KIND = "ssh"


def _comment(value: str) -> str:
    text = str(value).strip()
    if len(text) > 100 or any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise RoostError(f"{text[:40]!r} is not a usable key comment",
                         hint="use up to 100 printable characters on one line")
    return text


def fingerprint(public_line: str) -> str:
    """`SHA256:` + unpadded base64 of the SHA-256 of the key blob (what ssh-keygen -l shows)."""
    blob = base64.b64decode(public_line.split()[1])
    return "SHA256:" + b64_unpadded(hashlib.sha256(blob).digest())


def create(label: str, *, comment: str | None = None) -> Identity:
    check_label(label)
    note = _comment(comment if comment is not None else f"roost-{label}")
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                serialization.NoEncryption()).decode("ascii")
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                           serialization.PublicFormat.OpenSSH).decode("ascii")
    line = f"{public} {note}" if note else public
    return Identity(label, KIND, {"public_key": line, "fingerprint": fingerprint(line)},
                    {"private_key": private}, now_text())


def private_key_file_text(identity: Identity) -> str:
    return identity.secret["private_key"]


def public_key_file_text(identity: Identity) -> str:
    return identity.public["public_key"] + "\n"
