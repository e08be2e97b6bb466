"""Reach a service at home through the person's VPS: the one use case `roost reach ID --host
PI --relay VPS` (and `--close`), plain mode and the TUI run.

    r = Relaying("prosody", home_host, vps_host, data_dir, on_event=show, passphrase=ask)
    lines = r.open()     # both ends built (or continued), the way in noted in the progress
    lines = r.close()    # both ends removed, noted

Each end is a recipe of roost.deploy.relay run by the deploy engine over the one connection
`connect` makes, so an interrupted run continues where it stopped and a second run changes
nothing. The tunnel's two WireGuard identities live in the vault (`relay-HOST`, one per end,
made on first use); only their public keys are read here, the private keys are resolved by the
engine when it writes each end's config, on that end only.

The service's ports are those the progress recorded when it was deployed (its options may
have moved them), else the recipe's defaults. Nothing here prints or prompts.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from roost.app.connecting import connect
from roost.app.deploying import Cancelled, Said, check_ports
from roost.app.on_host import no_passphrase, note, remove_recipe, run_recipe
from roost.core.errors import RoostError
from roost.deploy import session
from roost.deploy.hosts import Host
from roost.deploy.journal import Journal
from roost.deploy.recipe import Port, Recipe
from roost.deploy.relay import Relay, home_recipe, vps_recipe
from roost.deploy.sudo import SudoPassword
from roost.deploy.transport import Transport
from roost.deploy.trust import AskTrust
from roost.plan.progress import ProgressStore
from roost.plan.workspace import PROGRESS_FILE, Workspace

WAY = "relay"


def identity_label(host: str) -> str:
    """The vault label of a host's end of the relay."""
    return f"relay-{host}"[:60]


_NO_PASSPHRASE = no_passphrase("the relay needs the WireGuard keys")


def close_relays(service_id: str, host: Host, home: Path, **callbacks: Any) -> list[str]:
    """Remove every relay the progress records for `service_id` on `host` (an undeploy takes
    its ways in with it); the lines to tell. `callbacks` are Relaying's (on_event...)."""
    from roost.app.hosts import find

    path = home / PROGRESS_FILE
    if not path.exists():
        return []
    lines: list[str] = []
    for way in ProgressStore(path).load().ways_in(service_id, host.name):
        via = str(way.detail.get("via", ""))
        if way.detail.get("way") == WAY and via:
            lines += Relaying(service_id, host, find(home, via), home, **callbacks).close()
    return lines


@dataclass
class Relaying:
    service_id: str
    home_host: Host
    vps_host: Host
    home: Path
    """The data folder: hosts, known hosts, journals, the vault and the progress."""
    on_event: Callable[[Any], None] = lambda e: None
    passphrase: Callable[[], str] = _NO_PASSPHRASE
    trust: Callable[[Host], str | None] = lambda h: None
    ask_trust: Callable[[Host], AskTrust | None] = lambda h: None
    sudo_password: Callable[[Host], SudoPassword] = lambda h: None
    cancel: threading.Event | None = None
    _passphrase: list[str] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        if self.home_host.name == self.vps_host.name:
            raise RoostError(f"{self.home_host.name} cannot relay to itself",
                             hint="name your VPS after --relay, and the home host after --host")
        if self.vps_host.is_local or not self.vps_host.address:
            raise RoostError(f"{self.vps_host.name} has no address people outside can reach",
                             hint="add your VPS with `roost host add NAME ADDRESS`")

    # -- the parts -------------------------------------------------------------------------

    def _ask(self) -> str:
        """The vault passphrase, asked once for the identities and the secrets both."""
        if not self._passphrase:
            self._passphrase.append(self.passphrase())
        return self._passphrase[0]

    def ports(self) -> tuple[Port, ...]:
        """The service's ports on the home host: as deployed, else its recipe's defaults."""
        path = self.home / PROGRESS_FILE
        if path.exists():
            found = [p for p, sid in ProgressStore(path).load().ports_on(
                self.home_host.name).items() if sid == self.service_id]
            if found:
                out = []
                for text in sorted(found):
                    number, _, proto = text.partition("/")
                    out.append(Port(int(number), proto or "tcp", option=None))
                return tuple(out)
        return session.build_recipe(self.service_id, self.home_host, {}, None, self.home).ports

    def identities(self, create: bool, dry: bool = False) -> tuple[str, str]:
        """The public keys of both ends (made in the vault when missing and `create`; for a
        dry run, `dry`, a missing one is named as made on first use)."""
        from roost.app.identities import add_and_record
        from roost.keys import wireguard
        from roost.keys.vault import Vault

        labels = (identity_label(self.home_host.name), identity_label(self.vps_host.name))
        index = {i.id: i for i in Vault.public_index(self.home)} if Vault.exists(
            self.home) else {}
        missing = [label for label in labels if label not in index]
        if missing and create:
            vault = Vault.open(self.home, self._ask())
            for label in missing:
                warning = add_and_record(vault, wireguard.create(label))
                if warning:
                    self.on_event(Said(warning))
            index = {i.id: i for i in Vault.public_index(self.home)}
        keys = []
        for label in labels:
            info = index.get(label)
            if info is None and dry:
                keys.append(f"<the public key of {label}, made on first use>")
                continue
            if info is None or info.kind != wireguard.KIND:
                raise RoostError(f"the key vault has no WireGuard identity {label}",
                                 hint=f"make it with `roost keys new wireguard --name {label}`")
            keys.append(info.public["public_key"])
        return keys[0], keys[1]

    def relay(self, create: bool = True, dry: bool = False) -> Relay:
        home_public, vps_public = self.identities(create, dry)
        return Relay(self.service_id, self.home_host.name, self.vps_host.name,
                     self.vps_host.address, identity_label(self.home_host.name), home_public,
                     identity_label(self.vps_host.name), vps_public, self.ports())

    def others(self) -> list[str]:
        """Other services on the home host reached through this relay (the tunnel stays)."""
        path = self.home / PROGRESS_FILE
        if not path.exists():
            return []
        progress = ProgressStore(path).load()
        out = []
        for e in progress.running():
            sid, host = e.service_id, str(e.detail.get("host", ""))
            if sid is None or sid == self.service_id or host != self.home_host.name:
                continue
            if any(w.detail.get("way") == WAY and w.detail.get("via") == self.vps_host.name
                   for w in progress.ways_in(sid, host)):
                out.append(sid)
        return out

    def _connect(self, host: Host) -> Transport:
        return connect(host, self.home, trust=self.trust(host), ask_trust=self.ask_trust(host),
                       sudo_password=self.sudo_password(host))

    def _emit(self, e: Any) -> None:
        from roost.deploy.events import StepStarted

        if isinstance(e, StepStarted) and self.cancel is not None and self.cancel.is_set():
            raise Cancelled("the relay was cancelled before this step",
                            hint="run the same command again to continue")
        self.on_event(e)

    def _run(self, host: Host, recipe: Recipe, check: bool) -> None:
        self.on_event(Said(f"{recipe.title}, on {host.name}:"))
        with self._connect(host) as t:
            if check:
                check_ports(recipe, t, host.name, self.home)
            journal = Journal.for_host(host.name, recipe.id, self.home)
            previous = journal.load()
            resume = previous is not None and previous.unfinished
            if resume:
                self.on_event(Said(f"continuing {recipe.title} that stopped earlier; finished "
                                   "steps are not redone"))
            run_recipe(recipe, t, self.home, passphrase=self._ask, on_event=self._emit,
                       journal=journal, resume=resume)

    def _remove(self, host: Host, recipe: Recipe) -> None:
        self.on_event(Said(f"removing {recipe.title}, on {host.name}:"))
        with self._connect(host) as t:
            remove_recipe(recipe, t, self.home, on_event=self._emit)

    # -- the use cases ---------------------------------------------------------------------

    def dry_run(self) -> list[str]:
        from roost.deploy.dryrun import plan_lines

        r = self.relay(create=False, dry=True)
        return [*plan_lines(vps_recipe(r), self.vps_host.name),
                *plan_lines(home_recipe(r), self.home_host.name)]

    def removal_dry_run(self) -> list[str]:
        """What `close` would run on each end; no connection."""
        from roost.deploy.dryrun import removal_lines

        r, last = self.relay(create=False, dry=True), not self.others()
        return [*removal_lines(vps_recipe(r, last=last), False, self.vps_host.name),
                *(removal_lines(home_recipe(r, last=True), False, self.home_host.name)
                  if last else [])]

    def open(self) -> list[str]:
        """Build both ends (the VPS first, so the home end's check finds it listening), note
        the way in, and return the lines to tell the person."""
        r = self.relay(create=True)
        self._run(self.vps_host, vps_recipe(r), check=True)
        self._run(self.home_host, home_recipe(r), check=False)
        address, shown = self.vps_host.address, self._name()
        lines = [f"The relay is up: people reach {shown} on {self.home_host.name} through "
                 f"{self.vps_host.name} at {address} ({r.ports_words()}), over a WireGuard "
                 "tunnel that systemd keeps up on both hosts, also after a restart.",
                 f"Point your domain at {self.vps_host.name}, not at your home: its A record "
                 f"(or AAAA) must give {address}. People who connect reach {shown} through "
                 "the VPS; your home address stays out of DNS.",
                 f"To remove the relay: roost reach {self.service_id} --host "
                 f"{self.home_host.name} --relay {self.vps_host.name} --close"]
        return [*lines, *self._note(lambda ws: ws.record_reach(
            self.service_id, self.home_host.name, WAY, via=self.vps_host.name,
            address=address))]

    def close(self) -> list[str]:
        """Remove the service's forwarding on the VPS and, when no other service uses the
        tunnel, the tunnel on both ends; note it."""
        r = self.relay(create=False)
        others = self.others()
        last = not others
        self._remove(self.vps_host, vps_recipe(r, last=last))
        if last:
            self._remove(self.home_host, home_recipe(r, last=True))
        shown = self._name()
        lines = [f"The relay is removed: {self.vps_host.name} no longer forwards "
                 f"{r.ports_words()} to {shown} on {self.home_host.name}."]
        lines.append("The tunnel is gone from both hosts." if last else
                     f"The tunnel stays for {', '.join(others)}.")
        lines.append(f"If people should still reach {shown}, choose another way in with "
                     f"roost reach {self.service_id} --host {self.home_host.name}, and point "
                     "your domain there.")
        return [*lines, *self._note(lambda ws: ws.record_reach_removed(
            self.service_id, self.home_host.name, WAY))]

    # -- the progress ----------------------------------------------------------------------

    def _name(self) -> str:
        try:
            ws = Workspace.open(self.home, detect=False)
        except RoostError:
            return self.service_id
        found = ws.catalog.get(self.service_id)
        return found.name if found is not None else self.service_id

    def _note(self, write: Callable[[Workspace], None]) -> list[str]:
        """Note a way in of a service the catalog knows (nothing for another)."""
        with contextlib.suppress(RoostError):  # the workspace's error is told by note()
            if Workspace.open(self.home, detect=False).catalog.get(self.service_id) is None:
                return []
        return note(write, self.home)
