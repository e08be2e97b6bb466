"""The hosts roost deploys to, in the data folder: the list, and the facts read from one."""

from __future__ import annotations

from pathlib import Path

from roost.app.connecting import connect
from roost.core.validate import short_name
from roost.deploy import facts
from roost.deploy.hosts import HOSTS_FILE, Host, HostStore
from roost.deploy.trust import AskTrust


def host_store(home: Path) -> HostStore:
    """The hosts kept in the data folder `home` (and the built-in `local`)."""
    return HostStore(home / HOSTS_FILE)


def find(home: Path, name: str) -> Host:
    """The host called `name` (a short name, checked), or a RoostError naming the hosts."""
    return host_store(home).get(short_name(name, "host name"))


def read_facts(host: Host, home: Path, *, trust: str | None = None,
               ask_trust: AskTrust | None = None, add: bool = False) -> facts.Facts:
    """Connect (trusting the host key as `connect` does), read the host's facts with one
    command and keep them; with `add`, the host is added to the list first."""
    t = connect(host, home, trust=trust, ask_trust=ask_trust)
    try:
        found = facts.gather(t)
    finally:
        t.close()
    store = host_store(home)
    if add:
        store.add(host)
    store.save_facts(host.name, found.to_dict(), found.read_at)
    return found


def cached_facts(host: Host) -> facts.Facts | None:
    """The facts read earlier, or None when they never were."""
    if host.facts is None:
        return None
    return facts.Facts.from_dict({**host.facts, "read_at": host.facts_read_at or ""})
