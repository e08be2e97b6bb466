"""WireGuard: an X25519 key pair in the base64 form `wg genkey` / `wg pubkey` use."""

from __future__ import annotations

import nacl.public

from roost.keys.model import Identity, b64, check_label, now_text

KIND = "wireguard"


def clamp(raw: bytes) -> bytes:
    """Curve25519 clamping, as `wg genkey` applies to the keys it prints."""
    b = bytearray(raw)
    b[0] &= 248
    b[31] = (b[31] & 127) | 64
    return bytes(b)


def create(label: str) -> Identity:
    check_label(label)
    raw = clamp(bytes(nacl.public.PrivateKey.generate()))
    pub = bytes(nacl.public.PrivateKey(raw).public_key)
    return Identity(label, KIND, {"public_key": b64(pub)}, {"private_key": b64(raw)},
                    now_text())


def private_key_file_text(identity: Identity) -> str:
    return identity.secret["private_key"] + "\n"
