"""XMPP: a JID and a strong password, plus what a server stores instead of the password.

Prosody (internal_hashed) and ejabberd keep SCRAM-SHA-1 credentials: salt, iteration count,
StoredKey and ServerKey (RFC 5802). `scram_sha1` computes them so the deploy step can register
an account without the password ever reaching a command line, and `prosody_account_file`
renders Prosody's `accounts/<user>.dat` for the same purpose.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass

from roost.core.errors import RoostError
from roost.core.validate import hostname
from roost.keys.model import Identity, b64, check_label, now_text, password, random_alnum

KIND = "xmpp"
SCRAM_ITERATIONS = 10000
_FORBIDDEN = set('@/"&\':<>')


def localpart(value: str) -> str:
    """RFC 7622 localpart, simplified: no @ / " & ' : < >, no spaces or controls, lower-cased."""
    v = str(value).strip()
    bad = sorted({c for c in v if c in _FORBIDDEN or c.isspace() or ord(c) < 32
                  or 0x7F <= ord(c) < 0xA0})
    if not v or bad or len(v.encode("utf-8")) > 1023:
        shown = " ".join(repr(c) for c in bad[:5])
        raise RoostError(
            f"{v[:40]!r} is not a valid XMPP user name" + (f" (it has {shown})" if bad else ""),
            hint="use letters, digits, dots, hyphens and underscores, like alice")
    return v.lower()


def jid(value: str) -> str:
    """`user@domain`, validated and lower-cased."""
    text = str(value).strip()
    if text.count("@") != 1 or "/" in text:
        raise RoostError(f"{text[:60]!r} is not an XMPP address",
                         hint="write it as name@domain, like alice@example.org")
    local, _, dom = text.partition("@")
    return f"{localpart(local)}@{hostname(dom, 'XMPP domain')}"


def split(address: str) -> tuple[str, str]:
    local, _, dom = address.partition("@")
    return local, dom


def create(label: str, *, address: str) -> Identity:
    check_label(label)
    full = jid(address)
    local, dom = split(full)
    pw = password(32)
    creds = scram_sha1(pw)
    public = {"jid": full, "localpart": local, "domain": dom,
              "scram_iterations": str(creds.iterations)}
    secret = {"password": pw, "scram_salt": b64(creds.salt),
              "scram_stored_key": creds.stored_key.hex(),
              "scram_server_key": creds.server_key.hex()}
    return Identity(label, KIND, public, secret, now_text())


@dataclass(frozen=True)
class ScramCredentials:
    salt: bytes
    iterations: int
    stored_key: bytes
    server_key: bytes

    def __repr__(self) -> str:
        return f"ScramCredentials(iterations={self.iterations})"


def scram_sha1(pw: str, salt: bytes | None = None,
               iterations: int = SCRAM_ITERATIONS) -> ScramCredentials:
    """RFC 5802 SaltedPassword -> ClientKey -> StoredKey, and ServerKey."""
    # A printable salt, as Prosody makes (it stores the salt as a string).
    salt = salt if salt is not None else random_alnum(24).encode("ascii")
    salted = hashlib.pbkdf2_hmac("sha1", pw.encode("utf-8"), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha1).digest()
    stored_key = hashlib.sha1(client_key).digest()  # noqa: S324 - SCRAM-SHA-1 itself
    server_key = hmac.new(salted, b"Server Key", hashlib.sha1).digest()
    return ScramCredentials(salt, iterations, stored_key, server_key)


def credentials(identity: Identity) -> ScramCredentials:
    import base64

    s = identity.secret
    return ScramCredentials(base64.b64decode(s["scram_salt"]),
                            int(identity.public["scram_iterations"]),
                            bytes.fromhex(s["scram_stored_key"]),
                            bytes.fromhex(s["scram_server_key"]))


def _lua_string(value: str) -> str:
    out = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{out}"'


def prosody_account_file(identity: Identity) -> str:
    """Prosody's `data/<domain>/accounts/<user>.dat` (internal_hashed): no password in it.

    The deploy step writes it over SFTP with mode 0600 to the prosody user; domain and user
    folder names are encoded by Prosody (`.` -> `%2e`, `-` -> `%2d`) - see `prosody_encode`.
    """
    c = credentials(identity)
    return ("return {\n"
            f'\t["iteration_count"] = {c.iterations};\n'
            f'\t["salt"] = {_lua_string(c.salt.decode("ascii"))};\n'
            f'\t["server_key"] = {_lua_string(c.server_key.hex())};\n'
            f'\t["stored_key"] = {_lua_string(c.stored_key.hex())};\n'
            "};\n")


def prosody_encode(name: str) -> str:
    """Prosody's datamanager path encoding: every character but [a-zA-Z0-9] as %xx."""
    return re.sub(r"[^a-zA-Z0-9]", lambda m: "".join(f"%{b:02x}" for b in
                                                     m.group(0).encode("utf-8")), name)


def registration_steps(identity: Identity) -> list[str]:
    """What the deploy step does to register the account, in words."""
    local, dom = split(identity.public["jid"])
    return [
        f"Make sure {dom} is a VirtualHost in Prosody's configuration.",
        f"Register {local} on {dom}: run 'prosodyctl adduser {identity.public['jid']}' and type "
        "the password on its standard input (never as an argument), or write the account file "
        "roost renders (SCRAM keys, no password) with mode 0600 for the prosody user.",
        "Log in with any XMPP app using the address and the password from the vault.",
    ]
