"""Matrix (Synapse): the server signing key file and the server's random secrets.

The signing key file is one line, `ed25519 a_XXXX <unpadded base64 of the 32-byte seed>`,
which Synapse (through PyPI `signedjson`) reads; the tests check with signedjson itself.
"""

from __future__ import annotations

import nacl.signing

from roost.core.validate import hostname
from roost.keys.model import (
    Identity,
    b64_unpadded,
    check_label,
    now_text,
    password,
    random_alnum,
    unb64,
)

KIND = "matrix"


def create(label: str, *, server_name: str) -> Identity:
    check_label(label)
    name = hostname(server_name, "Matrix server name")
    sk = nacl.signing.SigningKey.generate()
    version = "a_" + random_alnum(4)
    verify = b64_unpadded(bytes(sk.verify_key))
    public = {"server_name": name, "key_version": version,
              "verify_key_id": f"ed25519:{version}", "verify_key": verify}
    secret = {"signing_key_seed": b64_unpadded(bytes(sk)),
              "registration_shared_secret": password(48),
              "macaroon_secret_key": password(48),
              "form_secret": password(48),
              # the first account's (the admin's), registered with the shared secret
              "admin_password": password(32),
              "db_password": password(32)}
    return Identity(label, KIND, public, secret, now_text())


def signing_key_file_text(identity: Identity) -> str:
    """The file Synapse's `signing_key_path` points at (mode 0600)."""
    return f"ed25519 {identity.public['key_version']} {identity.secret['signing_key_seed']}\n"


def signing_key(identity: Identity) -> nacl.signing.SigningKey:
    return nacl.signing.SigningKey(unb64(identity.secret["signing_key_seed"]))


def synapse_secrets_yaml(identity: Identity) -> str:
    """The secret lines of homeserver.yaml (values are letters and digits: no quoting needed)."""
    s = identity.secret
    return (f"registration_shared_secret: \"{s['registration_shared_secret']}\"\n"
            f"macaroon_secret_key: \"{s['macaroon_secret_key']}\"\n"
            f"form_secret: \"{s['form_secret']}\"\n")
