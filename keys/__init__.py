"""roost.keys: the identities a person needs for each service, kept in an encrypted vault.

Use `create(kind, label, **options)` to make an identity, `Vault` to keep it, and the
kind modules (`ssb`, `xmpp`, `fediverse`, `matrix`, `ssh`, `wireguard`, `tor`, `login`) for
the files each service reads. `Vault.public_index(home)` lists public parts without the passphrase.
"""

from roost.keys.factory import OPTIONS, create
from roost.keys.model import KIND_NAMES, KINDS, Identity, IdentityInfo
from roost.keys.vault import (
    LOSS_WARNING,
    KdfLimits,
    Vault,
    passphrase_from_env_or_prompt,
)

__all__ = [
    "KINDS",
    "KIND_NAMES",
    "LOSS_WARNING",
    "OPTIONS",
    "Identity",
    "IdentityInfo",
    "KdfLimits",
    "Vault",
    "create",
    "passphrase_from_env_or_prompt",
]
