"""Tor v3 onion service: the key files Tor keeps in a HiddenServiceDir, and the address.

`hs_ed25519_secret_key` holds a 32-byte header then the 64-byte *expanded* Ed25519 secret
(clamped SHA-512 of the seed), `hs_ed25519_public_key` a header then the 32-byte public key;
the address is base32(public key || checksum[:2] || version 3) + `.onion`, with
checksum = SHA3-256(".onion checksum" || public key || version).
"""

from __future__ import annotations

import base64
import hashlib

import nacl.signing

from roost.keys.model import Identity, b64, check_label, now_text, unb64

KIND = "tor"
SECRET_HEADER = b"== ed25519v1-secret: type0 ==\x00\x00\x00"
PUBLIC_HEADER = b"== ed25519v1-public: type0 ==\x00\x00\x00"
VERSION = b"\x03"


def onion_address(public_key: bytes) -> str:
    checksum = hashlib.sha3_256(b".onion checksum" + public_key + VERSION).digest()[:2]
    return base64.b32encode(public_key + checksum + VERSION).decode("ascii").lower() + ".onion"


def expand(seed: bytes) -> bytes:
    h = bytearray(hashlib.sha512(seed).digest())
    h[0] &= 248
    h[31] &= 127
    h[31] |= 64
    return bytes(h)


def create(label: str) -> Identity:
    check_label(label)
    sk = nacl.signing.SigningKey.generate()
    pub = bytes(sk.verify_key)
    public = {"hostname": onion_address(pub), "public_key": b64(pub)}
    secret = {"expanded_secret_key": b64(expand(bytes(sk)))}
    return Identity(label, KIND, public, secret, now_text())


def secret_key_file(identity: Identity) -> bytes:
    return SECRET_HEADER + unb64(identity.secret["expanded_secret_key"])


def public_key_file(identity: Identity) -> bytes:
    return PUBLIC_HEADER + unb64(identity.public["public_key"])


def hostname_file_text(identity: Identity) -> str:
    return identity.public["hostname"] + "\n"


SECRET_FILE_FIELD = "hs_ed25519_secret_key"  # noqa: S105 (a field name)
"""The secret a deploy asks the vault for (`Secret(id, SECRET_FILE_FIELD, binary=True)`):
Tor's secret key file, base64 (it is bytes, not text)."""


def derived_secret(identity: Identity, field: str) -> str | None:
    """A secret field made from the identity's secret rather than stored: Tor's secret key
    file (base64) for SECRET_FILE_FIELD; None for any other field."""
    if identity.kind == KIND and field == SECRET_FILE_FIELD:
        return b64(secret_key_file(identity))
    return None
