"""Write an identity's secret files where a person asks, in the format its software reads.

`to` is a new file name (a new folder for Tor), or an existing folder: then the files get the
name their software usually gives them inside it (USUAL_NAME: `secret` for SSB, `id_ed25519`
for SSH, `SERVER.signing.key` for Synapse, ...). Files are created with the right mode from
the start (0400 for the SSB secret, 0600 for the other secrets, 0644 for an SSH public key),
never replace an existing file, and appear atomically (written to a temporary name, then
linked into place, which fails if the name was taken meanwhile).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from roost.core.atomic import atomic_write_bytes, fsync_dir
from roost.core.errors import RoostError
from roost.keys import fediverse, login, matrix, ssb, ssh, tor, wireguard
from roost.keys.model import Identity, IdentityInfo

WHAT = {
    "ssb": "the ~/.ssb/secret file Oasis and ssb-server read",
    "xmpp": "the address and password, as a small text file",
    "fediverse": "the server secrets (Mastodon .env lines, or Akkoma and Pleroma secrets.exs)",
    "matrix": "the Synapse signing key file",
    "ssh": "the OpenSSH private key, and the public key next to it (.pub)",
    "wireguard": "the WireGuard private key",
    "tor": "a HiddenServiceDir folder with Tor's key files and hostname",
    "login": "the user name and password, as a small text file",
}


USUAL_NAME = {
    "ssb": "secret",
    "xmpp": "{id}.txt",
    "fediverse": ".env.production",
    "matrix": "{server_name}.signing.key",
    "ssh": "id_ed25519",
    "wireguard": "privatekey",
    "tor": "hidden_service",
    "login": "{id}.txt",
}
"""The name `keys export ID --to FOLDER` gives the file (Tor: the folder) inside FOLDER: the one
its software uses by default; `{id}` is the identity's name, other fields are public ones."""
AKKOMA_NAME = "prod.secret.exs"


def usual_name(info: IdentityInfo) -> str:
    """The file name an identity's files usually have (see USUAL_NAME)."""
    if info.kind == "fediverse" and info.public.get("software") == "akkoma":
        return AKKOMA_NAME
    name = USUAL_NAME.get(info.kind, "{id}").format_map({**info.public, "id": info.id})
    if not name or "/" in name or name in (".", ".."):
        raise RoostError(f"roost cannot name the file of {info.id}",
                         hint="give a file name with --to")
    return name


def export_target(info: IdentityInfo, to: Path) -> Path:
    """Where `keys export --to TO` writes: TO itself, or its usual name inside TO when TO is
    an existing folder."""
    target = Path(to).expanduser()
    return target / usual_name(info) if target.is_dir() else target


def _files(identity: Identity, target: Path) -> list[tuple[Path, bytes, int]]:
    kind = identity.kind
    if kind == "ssb":
        return [(target, ssb.ssb_secret_file_text(identity).encode(), 0o400)]
    if kind == "ssh":
        return [(target, ssh.private_key_file_text(identity).encode(), 0o600),
                (target.with_name(target.name + ".pub"),
                 ssh.public_key_file_text(identity).encode(), 0o644)]
    if kind == "wireguard":
        return [(target, wireguard.private_key_file_text(identity).encode(), 0o600)]
    if kind == "matrix":
        return [(target, matrix.signing_key_file_text(identity).encode(), 0o600)]
    if kind == "tor":
        return [(target / "hs_ed25519_secret_key", tor.secret_key_file(identity), 0o600),
                (target / "hs_ed25519_public_key", tor.public_key_file(identity), 0o600),
                (target / "hostname", tor.hostname_file_text(identity).encode(), 0o600)]
    if kind == "login":
        return [(target, login.file_text(identity).encode(), 0o600)]
    if kind == "xmpp":
        text = (f"# XMPP account made by roost. Keep this file private.\n"
                f"jid = {identity.public['jid']}\npassword = {identity.secret['password']}\n")
        return [(target, text.encode(), 0o600)]
    if kind == "fediverse":
        sw = identity.public.get("software", "mastodon")
        if sw == "akkoma":  # the very file the akkoma and pleroma recipes put on the host
            return [(target, fediverse.akkoma_secrets(identity).encode(), 0o600)]
        head = (f"# {sw} secrets for {identity.public['address']}, made by roost. "
                "Keep this file private.\n")
        body = fediverse.mastodon_env(identity)
        body += f"# admin password for {identity.public['email']}\n" \
                f"ADMIN_PASSWORD={identity.secret['password']}\n"
        return [(target, (head + body).encode(), 0o600)]
    raise RoostError(f"roost cannot export a {kind} identity")


def _link_new(path: Path, data: bytes, mode: int) -> None:
    tmp = path.with_name(f".{path.name}.new-{os.getpid()}")
    atomic_write_bytes(tmp, data, mode)
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise RoostError(f"{path} already exists",
                         hint="roost never overwrites a key file; choose a new name") from None
    except OSError as exc:
        raise RoostError(f"could not write {path}: {exc.strerror}",
                         hint="check the folder's permissions") from None
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()
    fsync_dir(path.parent)


def export_identity(identity: Identity, to: Path) -> list[Path]:
    """Write the identity's files at `to` (or under their usual name in `to`, an existing
    folder); returns the files written. Never overwrites."""
    target = export_target(identity.info(), to)
    files = _files(identity, target)
    for path, _, _ in files:
        if path.exists() or path.is_symlink():
            raise RoostError(f"{path} already exists",
                             hint="roost never overwrites a key file; choose a new name")
    if identity.kind == "tor":
        taken = RoostError(f"{target} already exists",
                           hint="give a new folder name; Tor wants a folder of its own")
        if target.exists() or target.is_symlink():
            raise taken
        try:
            target.mkdir(mode=0o700, parents=False)
        except FileExistsError:
            raise taken from None
        except FileNotFoundError:
            raise RoostError(f"the folder {target.parent} does not exist",
                             hint="create it first") from None
    elif not target.parent.is_dir():
        raise RoostError(f"the folder {target.parent} does not exist", hint="create it first")
    written: list[Path] = []
    for path, data, mode in files:
        _link_new(path, data, mode)
        written.append(path)
    return written
