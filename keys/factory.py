"""Make an identity of any kind from the options a person gives: `create(kind, label, ...)`."""

from __future__ import annotations

from roost.core.errors import RoostError
from roost.keys import fediverse, login, matrix, ssb, ssh, tor, wireguard, xmpp
from roost.keys.model import Identity, a_short, check_kind, check_label

OPTIONS: dict[str, dict[str, tuple[str, bool]]] = {
    # kind -> option name -> (what it is, required)
    "ssb": {"profile_name": ("the name others see on your posts", False)},
    "xmpp": {"jid": ("the address, like alice@example.org", True)},
    "fediverse": {"handle": ("the user name", True), "domain": ("the server's domain", True),
                  "email": ("the admin e-mail address", True),
                  "software": ("mastodon, gotosocial or akkoma", False)},
    "matrix": {"server_name": ("the server name, like example.org", True)},
    "ssh": {"comment": ("a comment at the end of the public key", False)},
    "wireguard": {},
    "tor": {},
    "login": {"user": ("the user name to log in with", False),
              "email": ("the e-mail address", False)},
}
OWN_PASSWORD = ("login",)
"""Kinds whose password the person may type instead of letting roost make one."""

LOGIN_NAMES = ("Name it wordpress for the WordPress admin, or mail for the first mailbox of "
               "Mail-in-a-Box: their deploys look for these names. The user name is the "
               "e-mail, else admin. Leave the password empty and roost makes a strong one of "
               "lower-case letters.")
"""What a login identity's name and password are for, said where one is made."""


def create(kind: str, label: str | None = None, *, password: str | None = None,
           **options: str | None) -> Identity:
    """A new identity of `kind` labelled `label` (default: the kind's name).

    Unknown or missing options raise a RoostError naming them; nothing is stored here:
    give the result to `Vault.add`. `password` is the person's own password, for the kinds
    in OWN_PASSWORD (typed without echo or read from standard input, never from argv).
    """
    check_kind(kind)
    if password is not None and kind not in OWN_PASSWORD:
        raise RoostError(f"roost makes the password of {a_short(kind)} itself",
                         hint="only a login identity takes a password you type")
    name = check_label(label if label is not None else kind)
    given = {k: v for k, v in options.items() if v is not None}
    allowed = OPTIONS[kind]
    extra = sorted(set(given) - set(allowed))
    if extra:
        opt = extra[0].replace("_", "-")
        raise RoostError(f"--{opt} does not apply to {a_short(kind)}",
                         hint=_usage(kind))
    missing = [k for k, (_, required) in allowed.items() if required and k not in given]
    if missing:
        opt = missing[0].replace("_", "-")
        raise RoostError(f"{a_short(kind)} needs --{opt} ({allowed[missing[0]][0]})",
                         hint=_usage(kind))
    g = {k: str(v) for k, v in given.items()}
    if kind == "ssb":
        return ssb.create(name, profile=g.get("profile_name"))
    if kind == "xmpp":
        return xmpp.create(name, address=g["jid"])
    if kind == "fediverse":
        return fediverse.create(name, user=g["handle"], domain=g["domain"],
                                admin_email=g["email"], server=g.get("software", "mastodon"))
    if kind == "matrix":
        return matrix.create(name, server_name=g["server_name"])
    if kind == "ssh":
        return ssh.create(name, comment=g.get("comment"))
    if kind == "wireguard":
        return wireguard.create(name)
    if kind == "login":
        return login.create(name, user=g.get("user"), email=g.get("email"), password=password)
    return tor.create(name)


def _usage(kind: str) -> str:
    opts = OPTIONS[kind]
    if not opts:
        return f"{a_short(kind)} takes no options besides --name"
    parts = [f"--{k.replace('_', '-')}" + ("" if req else " (optional)")
             for k, (_, req) in opts.items()]
    return f"{a_short(kind)} takes {', '.join(parts)}"
