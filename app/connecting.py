"""Connect to a host: the one way the CLI and the TUI reach one, for a deploy or its facts.

`local` is this machine; any other host is reached over SSH in ONE handshake: on first
contact `ask_trust` (when given) is asked during it, and the host key is kept in the data
folder's known_hosts. The sudo password is never asked here: `sudo_password` may be a
function, called only when a command needs root and sudo asks for a password, so only once
the host key is trusted and the connection works.
"""

from __future__ import annotations

from pathlib import Path

from roost.deploy.hosts import Host, open_transport
from roost.deploy.sudo import SudoPassword
from roost.deploy.transport import Transport
from roost.deploy.trust import KNOWN_HOSTS, AskTrust, KnownHosts


def known_hosts(home: Path) -> KnownHosts:
    """The host keys roost trusts, in the data folder `home`."""
    return KnownHosts(home / KNOWN_HOSTS)


def connect(host: Host, home: Path, *, trust: str | None = None,
            ask_trust: AskTrust | None = None,
            sudo_password: SudoPassword = None) -> Transport:
    """A connected transport to `host` (close it, or use it as a context manager).

    On first contact: `trust` is the fingerprint the person gave (--trust); else `ask_trust`
    is asked; with neither, TrustNeeded is raised (its question is what to ask)."""
    t = open_transport(host, trust=trust, ask_trust=ask_trust, sudo_password=sudo_password,
                       known_hosts=known_hosts(home))
    opening = getattr(t, "connect", None)
    if opening is not None:
        try:
            opening()
        except BaseException:
            t.close()
            raise
    return t
