"""`roost --plain`: the app as lines of text with numbered choices, for braille displays,
screen readers that prefer a scrolling log, and logs. No full screen, no escape sequences:
every line is plain text, and a choice is a number typed and Enter.

It calls the same Workspace facade as the full-screen app; nothing here decides anything.
"""

from __future__ import annotations

import contextlib
import dataclasses
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from roost.core.clock import Clock
from roost.core.errors import RoostError
from roost.core.paths import data_dir
from roost.plan.answers import (
    PACE,
    PACE_LABELS,
    Question,
    answers_from_responses,
    check_response,
    questions,
)
from roost.plan.detect import HostFacts
from roost.plan.planner import WAY_NAMES, Step, where_it_runs
from roost.plan.workspace import Workspace

if TYPE_CHECKING:
    from roost.app.backing_up import Record
    from roost.app.watching import Watching
    from roost.deploy.hosts import Host
    from roost.deploy.trust import TrustNeeded
    from roost.plan.progress import Event

PROGRESS_KINDS = ("started", "done", "skipped", "failed", "deployed")
"""Events that mean the person has moved on their plan."""
ABOUT = ("Roost helps you leave the big platforms one service at a time. "
         "It asks a few questions about what you use and what you have, then suggests a plan: "
         "which service to set up next, and how. "
         "It remembers your progress, so you can stop at any time and continue later.")
SKIP_REASONS = ("Not now, maybe later", "I do not need it",
                "I already use something else for this", "It looks too hard for me")


class _Quit(Exception):
    """End of input or the person chose to quit."""


class Plain:
    def __init__(self, ws: Workspace, out: TextIO, inp: TextIO, screen_reader: bool) -> None:
        self.ws = ws
        self.out = out
        self.inp = inp
        self.screen_reader = screen_reader

    # --- lines in, lines out -----------------------------------------------------------

    def say(self, text: str = "") -> None:
        self.out.write(_clean(text) + "\n")
        self.out.flush()

    def ask(self, prompt: str) -> str:
        self.out.write(_clean(prompt) + " ")
        self.out.flush()
        line = self.inp.readline()
        if not line:
            self.say()
            raise _Quit
        if not line.endswith("\n"):
            self.say()  # keep the log one answer per line
        return line.strip()

    def choose(self, title: str, options: Sequence[str], back: str = "Back") -> int | None:
        """Numbered options; returns the 0-based index, or None for 0 (back)."""
        while True:
            self.say()
            self.say(title)
            for i, text in enumerate(options, start=1):
                self.say(f"  {i}. {text}")
            self.say(f"  0. {back}")
            raw = self.ask(f"Type a number from 0 to {len(options)}, then Enter:")
            if raw.lower() in ("q", "quit"):
                raise _Quit
            if raw.isdigit() and 0 <= int(raw) <= len(options):
                return None if int(raw) == 0 else int(raw) - 1
            self.say(f"{raw[:20]!r} is not one of the numbers.")

    def run(self) -> int:
        self.say("roost: leave the big platforms one service at a time.")
        self.say(ABOUT)
        with contextlib.suppress(_Quit):
            self.main_menu()
        self.say("Bye. Your progress is saved.")
        return 0

    def tell(self, work: Callable[[], Sequence[str]]) -> None:
        """Run a use case and say its lines; a RoostError is said as its one line."""
        try:
            lines = work()
        except RoostError as exc:
            self.say(exc.line())
            return
        for line in lines:
            self.say(line)

    # --- screens -----------------------------------------------------------------------

    def main_menu(self) -> None:
        while True:
            items: list[tuple[str, Callable[[], None]]] = []
            if self.ws.answers is not None:
                plan = self.ws.plan()
                nxt = plan.next
                if nxt is not None:
                    moved = any(e.kind in PROGRESS_KINDS for e in self.ws.history())
                    lead = "Continue where you left off" if moved else "Start with"
                    items.append((f"{lead}: {nxt.name}, {WAY_NAMES[nxt.way]}",
                                  lambda n=nxt.service_id: self.step(n)))  # type: ignore[misc]
                c = plan.counts()
                items.append((f"See your plan: {c['done']} of {len(plan.steps)} done",
                              self.plan))
                items.append(("Change your answers", self.assess))
                items.append(("Change the pace", self.pace))
            else:
                items.append(("Answer a few questions to get your plan", self.assess))
            from roost.plan.protect import unprotected

            for sid, host in unprotected(self.ws.progress, self.ws.catalog)[:1]:
                svc = self.ws.catalog.get(sid)
                items.insert(0, (f"Protect what you moved: back up {svc.name if svc else sid} "
                                 f"on {host}",
                                 lambda s=sid, h=host: self.back_up(s, h)))  # type: ignore[misc]
            if self.ws.progress.running():
                items.append(("Status: is everything working? (roost check)", self.status))
                items.append(("Alerts: another host tells you when a service goes down "
                              "(roost watch)", self.alerts))
                items.append(("Updates: what is newer, and upgrade (roost updates)",
                              self.updates))
            items.append(("Identities: your keys and ids", self.identities))
            items.append(("Hosts: the machines roost sets up", self.hosts))
            items.append(("Backups: where each service is kept safe", self.backups))
            items.append(("Help", self.help))
            items.append(("Bring your data: import an archive from a platform (roost import)",
                          self.import_archive))
            picked = self.choose("What would you like to do?", [t for t, _ in items], "Quit")
            if picked is None:
                return
            items[picked][1]()

    def help(self) -> None:
        self.say()
        self.say("Help: every choice is a number. Type it and press Enter. 0 goes back; "
                 "on the first menu 0 quits. q quits from anywhere. Your progress is saved "
                 "after every change. Ctrl+D (end of input) quits too.")

    def identities(self) -> None:
        """List, make, export, remove identities (roost.cli.plain_identities)."""
        from roost.cli.plain_identities import identities

        identities(self)

    def status(self) -> None:
        """Check every deployed service now (roost.app.checking, as `roost check`)."""
        from roost.app.checking import check

        self.say()
        self.say("Checking every deployed service on every host; this takes a few seconds.")
        for line in check(self.ws.home, clock=self.ws.clock).lines():
            self.say(line)

    def alerts(self) -> None:
        """What is watched from where; set up, test or remove a watch (roost.app.watching,
        as `roost watch`)."""
        watching = self._watching()
        while True:
            self.say()
            try:
                found = watching.watches()
            except RoostError as exc:
                self.say(exc.line())
                return
            for line in watching.listed():
                self.say(line)
            items: list[tuple[str, Callable[[], list[str]]]] = [
                ("Set up alerts for a service", lambda: self.watch(watching))]
            for w in found:
                items += [(f"Send a test message now: {w.label} on {w.host}",
                           lambda w=w: watching.test(w.service_id, w.host)),  # type: ignore[misc]
                          (f"Stop watching {w.label} on {w.host}",
                           lambda w=w: watching.remove(w.service_id, w.host))]  # type: ignore[misc]
            picked = self.choose("What would you like to do?", [t for t, _ in items])
            if picked is None:
                return
            try:
                lines = items[picked][1]()
            except RoostError as exc:
                self.say(exc.line())
                continue
            for line in lines:
                self.say(line)

    def _watching(self) -> Watching:
        from roost.app.deploying import text_of
        from roost.app.watching import Watching
        from roost.cli.deploy_cmd import ask_sudo_password
        from roost.deploy.events import Output
        from roost.keys.vault import passphrase_from_env_or_prompt

        def show(e: object) -> None:
            if not isinstance(e, Output):
                self.say(text_of(e))  # type: ignore[arg-type]

        return Watching(self.ws.home, on_event=show, passphrase=passphrase_from_env_or_prompt,
                        ask_trust=lambda h: self.trust_asked,
                        sudo_password=lambda h: lambda: ask_sudo_password(h))

    def watch(self, watching: Watching) -> list[str]:
        """Which service on which host, watched from where, told to whom."""
        from roost.deploy.hosts import HOSTS_FILE, HostStore

        running = [(str(e.service_id), str(e.detail.get("host", "")))
                   for e in self.ws.progress.running() if e.service_id]
        picked = self.choose("Which service should another host watch?",
                             [f"{sid} on {host}" for sid, host in running])
        if picked is None:
            return []
        service_id, host = running[picked]
        others = [h for h in HostStore(self.ws.home / HOSTS_FILE).all()
                  if h.name != host and not h.is_local]
        if not others:
            return [f"Add another host first (your VPS), one that is not {host}: roost host "
                    "add NAME user@address."]
        by = self.choose(f"Which host watches {service_id} on {host}?",
                         [h.describe() for h in others])
        if by is None:
            return []
        via = self.choose("How should the alerts reach you?",
                          ["As an XMPP message", "As an e-mail", "As a Matrix message"])
        if via is None:
            return []
        if via == 2:
            to = self.ask("Your Matrix ID, like @you:example.org (a direct room is made and you "
                          "are invited), or a room ID:")
            sender = self.ask("The vault's Matrix identity whose server's admin sends them "
                              "(Enter: alerts):")
            server = self.ask("Its homeserver's HTTPS name, NAME or NAME:PORT (Enter: its "
                              "server name, port 443):")
        elif via == 0:
            to = self.ask("Your XMPP address, where the alerts go (on another server than "
                          "the one watched):")
            sender = self.ask("The vault's XMPP account that sends them (Enter: alerts):")
            server = self.ask("Where its server is reached, ADDRESS or ADDRESS:PORT (Enter: "
                              "its domain):")
        else:
            to = self.ask("Your e-mail address, where the alerts go:")
            sender = self.ask("The vault's login for the mailbox that sends them (Enter: "
                              "alerts):")
            server = self.ask("Its SMTP server, NAME or NAME:PORT (port 587 by default):")
        w = watching.plan(service_id, host, others[by].name, to=to, sender=sender,
                          server=server, via=("xmpp", "email", "matrix")[via])
        self.say(f"Setting up the watcher on {w.watcher}.")
        return watching.watch(w)
    def updates(self) -> None:
        """What is newer for every deployed service (roost.app.upgrading, as `roost
        updates`), and upgrading one (as `roost upgrade`)."""
        from roost.app.upgrading import updates, upgradable

        self.say()
        self.say("Looking for updates on every host; this takes a moment.")
        try:
            report = updates(self.ws.home)
        except RoostError as exc:
            self.say(exc.line())
            return
        for line in report.lines():
            self.say(line)
        todo = upgradable(report)
        if not todo:
            return
        picked = self.choose("Upgrade one? roost backs it up first, checks it works after, "
                             "and goes back to the version before by itself if not.",
                             [f"Upgrade {s.service_id} on {s.host}" for s in todo])
        if picked is not None:
            self.upgrade(todo[picked].service_id, todo[picked].host)

    def upgrade(self, service_id: str, host: str) -> None:
        from roost.app.deploying import text_of
        from roost.app.upgrading import backup_set_up, upgrade
        from roost.deploy.events import Output
        from roost.keys.vault import passphrase_from_env_or_prompt

        no_backup = False
        if not backup_set_up(self.ws.home, service_id, host):
            if self.choose(f"No backup of {service_id} on {host} is set up. Set one up first "
                           f"with: roost backup {service_id} --host {host} --to OTHER-HOST. "
                           "Or:", ["Upgrade without a backup"]) != 0:
                return
            no_backup = True

        def show(e: Any) -> None:
            if not isinstance(e, Output):
                self.say(text_of(e))

        self.say(f"Upgrading {service_id} on {host}; one line a step.")
        try:
            result = upgrade(self.ws.home, service_id, host, no_backup=no_backup,
                             passphrase=passphrase_from_env_or_prompt, on_event=show)
        except RoostError as exc:
            self.say(exc.line())
            return
        for line in result.lines:
            self.say(line)

    def hosts(self) -> None:
        from roost.deploy.hosts import HOSTS_FILE, HostStore

        self.say()
        hosts = HostStore(self.ws.home / HOSTS_FILE).all()
        for n, h in enumerate(hosts, start=1):
            self.say(f"{n}. {h.describe()}")
        remote = [h for h in hosts if not h.is_local]
        actions: list[tuple[str, Callable[[], None]]] = [
            ("Add a host reached over SSH", self.add_host)]
        if remote:
            actions.append(("Keep a dynamic-DNS name pointed at a host whose address "
                            "changes", lambda: self.pick_dyndns([h.name for h in remote])))
            actions.append(("Have a host install security updates by itself, or stop it",
                            lambda: self.security_updates([h.name for h in remote])))
        actions += [(f"Read the facts of {h.name} again",
                     lambda h=h: self.read_facts(h)) for h in hosts]  # type: ignore[misc]
        actions += [(f"Remove {h.name} from roost (nothing on it is changed)",
                     lambda h=h: self.remove_host(h.name)) for h in remote]  # type: ignore[misc]
        picked = self.choose("What would you like to do with your hosts?",
                             [t for t, _ in actions])
        if picked is not None:
            actions[picked][1]()

    def read_facts(self, host: Host) -> None:
        """Connect (its fingerprint asked on first contact) and read its facts again
        (roost.app.hosts.read_facts, as the Host screen's r)."""
        from roost.app.hosts import read_facts

        self.say(f"Reading the facts of {host.name}.")
        self.tell(lambda: read_facts(host, self.ws.home, ask_trust=self.trust_asked).lines())

    def remove_host(self, name: str) -> None:
        from roost.app.hosts import host_store

        if self.choose(f"Remove {name} from roost's hosts? Its services keep running; roost "
                       "forgets how to reach it.", [f"Remove {name}"], f"No, keep {name}") == 0:
            def remove() -> list[str]:
                host_store(self.ws.home).remove(name)
                return [f"Removed {name}."]

            self.tell(remove)

    def security_updates(self, names: Sequence[str]) -> None:
        """Debian's unattended-upgrades on or off on a host (roost.app.security_updates, as
        `roost host security-updates NAME [--off]`)."""
        from roost.app.deploying import text_of
        from roost.app.hosts import find
        from roost.app.security_updates import SecurityUpdates
        from roost.cli.deploy_cmd import ask_sudo_password

        picked = self.choose("Which host?", names)
        if picked is None:
            return
        on = self.choose("Security updates on that host:",
                         ["Install them by itself every day (Debian's unattended-upgrades)",
                          "Stop installing them by itself"])
        if on is None:
            return

        def run() -> list[str]:
            host = find(self.ws.home, names[picked])
            return SecurityUpdates(host, self.ws.home, on_event=lambda e: self.say(text_of(e)),
                                   ask_trust=self.trust_asked,
                                   sudo_password=lambda: ask_sudo_password(host)).switch(
                on=on == 0)

        self.tell(run)

    def pick_dyndns(self, names: Sequence[str]) -> None:
        picked = self.choose("Keep a dynamic-DNS name pointed at a host whose address "
                             "changes? Choose the host.", names)
        if picked is not None:
            self.dyndns(names[picked])

    def ask_checked(self, prompt: str, check: Callable[[str], Any]) -> Any:
        """Ask until `check` accepts the answer (its refusal said, the question asked again);
        None when the person types 0 (back)."""
        while True:
            raw = self.ask(f"{prompt} (0 goes back):")
            if raw == "0":
                return None
            try:
                return check(raw)
            except RoostError as exc:
                self.say(f"{exc.line()} Please type it again.")

    def add_host(self) -> None:
        """As the Add-a-host form: name, address, key; connect, confirm the fingerprint on
        first contact, read its facts and keep it (roost.app.hosts.read_facts)."""
        from roost.app.hosts import host_store, read_facts
        from roost.core import validate
        from roost.deploy.hosts import Host, parse_target
        from roost.deploy.trust import TrustNeeded

        store = host_store(self.ws.home)

        def new_name(raw: str) -> str:
            name = validate.short_name(raw.strip(), "host name")
            if any(h.name == name for h in store.all()):
                raise RoostError(f"there is already a host called {name!r}",
                                 hint="choose another short name")
            return name

        self.say()
        self.say("Add a host reached over SSH. roost logs in with your SSH key (or your SSH "
                 "agent); on first contact it shows the host key's fingerprint for you to "
                 "confirm.")
        name = self.ask_checked("Short name, like pi or vps", new_name)
        if name is None:
            return
        target = self.ask_checked("Address, like user@address or user@address:port",
                                  lambda raw: parse_target(raw.strip()))
        if target is None:
            return
        key = self.ask("Key file, like ~/.ssh/id_ed25519 (Enter: your SSH agent or "
                       "default keys):")
        user, address, port = target
        host = Host(name=name, address=address, user=user, port=port, key_path=key or None)
        self.say("Connecting and reading its facts.")
        trust: str | None = None
        while True:
            try:
                found = read_facts(host, self.ws.home, trust=trust, add=True)
            except TrustNeeded as need:
                try:
                    self.trust_asked(need)
                except RoostError as exc:
                    self.say(exc.line())
                    return
                trust = need.fingerprint
                continue
            except RoostError as exc:
                self.say(exc.line())
                return
            self.say(f"Added {name}. " + " ".join(found.lines()))
            return

    def dyndns(self, host_name: str) -> None:
        """ddclient on the host for the person's dynamic-DNS provider (roost.app.dyndns)."""
        from roost.app.deploying import text_of
        from roost.app.dyndns import DynDns
        from roost.app.hosts import find
        from roost.cli.deploy_cmd import ask_sudo_password
        from roost.keys.vault import passphrase_from_env_or_prompt

        self.say("The provider's token is the password of the login named dyndns in your "
                 "vault: roost keys new login --name dyndns --user LOGIN --type-password.")
        domain = self.ask("The name to keep up to date, like home.example.org:")
        server = self.ask("Your provider's dyndns2 server, like members.dyndns.org:")
        login = self.ask("Your login there (Enter: the vault login's user):")
        check = self.ask("Where ddclient learns the home's address (Enter: dyndns, "
                         "checkip.dyndns.org):")
        tls = self.choose("How does ddclient talk to the provider?",
                          ["Over https (every provider on the internet)",
                           "Over plain http (a provider on your own network)"])
        if tls is None:
            return
        def run() -> list[str]:
            host = find(self.ws.home, host_name)
            return DynDns(host, self.ws.home, domain=domain, server=server, login=login,
                          check=check or "dyndns", ssl=tls == 0,
                          on_event=lambda e: self.say(text_of(e)),
                          passphrase=passphrase_from_env_or_prompt, ask_trust=self.trust_asked,
                          sudo_password=lambda: ask_sudo_password(host)).run()

        self.tell(run)

    def trust_asked(self, need: TrustNeeded) -> bool:
        """On first contact with a host: its fingerprint, and the person's answer."""
        if self.choose(need.question(), ["Yes, trust it"], "No") != 0:
            raise RoostError("the host was not trusted; nothing was changed",
                             hint="check the fingerprint on the host, then try again")
        return True

    def backups(self) -> None:
        from roost.app.backing_up import overview

        self.say()
        for line in overview(self.ws.home, self.ws.clock()):
            self.say(line)
        self.say("Check them against the hosts with: roost backups.")
        actions: list[tuple[str, Callable[[], None]]] = []
        for e in self.ws.progress.running():
            svc = self.ws.catalog.get(e.service_id or "")
            if svc is not None and svc.backed_up:
                host = str(e.detail.get("host", ""))
                actions.append((f"Back up {svc.name} on {host} to another host",
                                lambda s=svc.id, h=host: self.back_up(s, h)))  # type: ignore[misc]
        from roost.app.backing_up import load_records

        for rec in load_records(self.ws.home).values():
            actions.append((f"Restore {rec.service} from its backups on {rec.target}",
                            lambda r=rec: self.restore(r)))  # type: ignore[misc]
        for rec in load_records(self.ws.home, disk=True).values():
            actions.append((f"Restore {rec.service} from its disk ({rec.to_path} on "
                            f"{rec.source})", lambda r=rec: self.restore_disk(r)))  # type: ignore[misc]
        for e in self.ws.progress.running():
            svc = self.ws.catalog.get(e.service_id or "")
            if svc is not None and svc.backed_up:
                host = str(e.detail.get("host", ""))
                actions.append((f"Back up {svc.name} on {host} to a disk there too (a USB "
                                "disk)", lambda s=svc.id, h=host: self.back_up_disk(s, h)))  # type: ignore[misc]
        actions.append(("Copy roost's data, with the sealed vault, to another host",
                        self.copy_home))
        picked = self.choose("What would you like to do?", [t for t, _ in actions])
        if picked is not None:
            actions[picked][1]()

    def import_archive(self) -> None:
        """Bring a platform's archive to a service on a host (as `roost import KIND ARCHIVE
        --host NAME`, roost.app.importing): what it would import first, then only if asked."""
        from roost.app.deploying import text_of
        from roost.app.hosts import find
        from roost.app.importing import KIND_NAMES, ImportProgress, import_job
        from roost.keys.vault import passphrase_from_env_or_prompt

        kinds = list(KIND_NAMES)
        picked = self.choose("Which archive?", [KIND_NAMES[k] for k in kinds])
        if picked is None:
            return
        path = self.ask("The archive file, its full path (Enter alone goes back):")
        if not path:
            return
        host = self._other_host("", "Which host gets it?")
        if host is None:
            return

        def show(e: Any) -> None:
            self.say(e.text() if isinstance(e, ImportProgress) else text_of(e))

        try:
            job = import_job(kinds[picked], Path(path).expanduser(),
                             find(self.ws.home, host), self.ws.home, on_event=show,
                             passphrase=passphrase_from_env_or_prompt, ask_trust=self.trust_asked)
            lines = job.scan().lines(dry_run=True)
        except RoostError as exc:
            self.say(exc.line())
            return
        for line in lines:
            self.say(line)
        if self.choose("Import it now?", ["Yes, import it"], "No") != 0:
            return
        self.say("Importing: this can take a while. If it stops, do the same again: it "
                 "continues.")
        self.tell(lambda: job.run().lines())

    def _other_host(self, but: str, question: str) -> str | None:
        from roost.app.hosts import host_store

        names = [h.name for h in host_store(self.ws.home).all() if h.name != but]
        if not names:
            self.say("Add another host first (Hosts, or roost host add NAME user@address).")
            return None
        picked = self.choose(question, names)
        return None if picked is None else names[picked]

    def back_up(self, service_id: str, host: str) -> None:
        """Set up backups of a service to another host and run the first (as `roost backup
        ID --host HOST --to OTHER`, roost.app.backing_up)."""
        from roost.app.backing_up import Backups
        from roost.app.deploying import text_of
        from roost.app.hosts import find
        from roost.keys.vault import passphrase_from_env_or_prompt

        to = self._other_host(host, "Which host keeps the backups? Another machine: your "
                                    "VPS, a friend's Pi.")
        if to is None:
            return
        every = self.choose("How often?", ["Every day (suggested)", "Every hour", "Every week"])
        if every is None:
            return
        self.say("Setting up the backup and running the first one: this can take a few minutes.")
        self.tell(lambda: Backups(self.ws.home, passphrase=passphrase_from_env_or_prompt,
                                  on_event=lambda e: self.say(text_of(e)), clock=self.ws.clock,
                                  ask_trust=self.trust_asked).back_up(
            service_id, find(self.ws.home, host), find(self.ws.home, to),
            ("daily", "hourly", "weekly")[every]))

    def back_up_disk(self, service_id: str, host: str) -> None:
        """Back a service up to a folder on its own host, a USB disk mounted there (as `roost
        backup ID --host HOST --to-path DIR`, roost.app.backing_up)."""
        from roost.app.backing_up import Backups
        from roost.app.deploying import text_of
        from roost.app.hosts import find
        from roost.keys.vault import passphrase_from_env_or_prompt

        self.say(f"A disk on {host} is lost with {host} in a fire or a theft: keep a copy on "
                 "another host too.")
        folder = self.ask(f"The folder the disk is mounted at on {host} (Enter for /mnt/usb; "
                          "0 to go back):") or "/mnt/usb"
        if folder == "0":
            return
        every = self.choose("How often?", ["Every day (suggested)", "Every hour", "Every week"])
        if every is None:
            return
        self.say("Setting up the backup and running the first one: this can take a few minutes.")
        self.tell(lambda: Backups(self.ws.home, passphrase=passphrase_from_env_or_prompt,
                                  on_event=lambda e: self.say(text_of(e)), clock=self.ws.clock,
                                  ask_trust=self.trust_asked).back_up_to_path(
            service_id, find(self.ws.home, host), folder, ("daily", "hourly", "weekly")[every]))

    def restore_disk(self, rec: Record) -> None:
        """Put a service's data back from its disk, plugged into any host (as `roost restore
        ID --to HOST --from-path DIR`, roost.app.backing_up)."""
        from roost.app.backing_up import Backups
        from roost.app.deploying import text_of
        from roost.app.hosts import find, host_store
        from roost.keys.vault import passphrase_from_env_or_prompt

        names = [h.name for h in host_store(self.ws.home).all()]
        picked = self.choose(f"Restore {rec.service} onto which host? The disk must be "
                             "plugged in there.", names)
        if picked is None:
            return
        folder = self.ask(f"The folder the disk is mounted at on {names[picked]} (Enter for "
                          f"{rec.to_path}; 0 to go back):") or rec.to_path
        if folder == "0":
            return
        over = self.choose("If it runs there with its own data, replace that data? What it "
                           "holds now is kept aside, never deleted.",
                           ["No, stop if it runs there", "Yes, replace it"])
        if over is None:
            return
        self.say(f"Restoring {rec.service} from the disk: installing it, putting the last "
                 "backup back and checking that it works; this can take a few minutes.")
        self.tell(lambda: Backups(self.ws.home, passphrase=passphrase_from_env_or_prompt,
                                  on_event=lambda e: self.say(text_of(e)), clock=self.ws.clock,
                                  ask_trust=self.trust_asked).restore(
                      rec.service, find(self.ws.home, names[picked]), replace=over == 1,
                      from_path=folder))

    def restore(self, rec: Record) -> None:
        """Put a service's backed-up data back, on the host it ran on or the one that keeps
        its backups (as `roost restore ID --to HOST`, roost.app.backing_up)."""
        from roost.app.backing_up import Backups
        from roost.app.deploying import text_of
        from roost.app.hosts import find
        from roost.keys.vault import passphrase_from_env_or_prompt

        hosts = [rec.source, rec.target]
        picked = self.choose(f"Restore {rec.service} onto which host?",
                             [f"{rec.source}, where it ran", f"{rec.target}, which keeps its "
                              "backups"])
        if picked is None:
            return
        over = self.choose("If it runs there with its own data, replace that data? What it "
                           "holds now is kept aside, never deleted.",
                           ["No, stop if it runs there", "Yes, replace it"])
        if over is None:
            return
        self.say(f"Restoring {rec.service}: installing it, putting the last backup back and "
                 "checking that it works; this can take a few minutes.")
        self.tell(lambda: Backups(self.ws.home, passphrase=passphrase_from_env_or_prompt,
                                  on_event=lambda e: self.say(text_of(e)), clock=self.ws.clock,
                                  ask_trust=self.trust_asked).restore(
                      rec.service, find(self.ws.home, hosts[picked]), replace=over == 1))

    def copy_home(self) -> None:
        """roost's data folder, the vault sealed, to another host (roost.app.home_copies)."""
        from roost.app.home_copies import HomeCopies
        from roost.app.hosts import find

        to = self._other_host("local", "Which host keeps the copies of roost's data?")
        if to is None:
            return
        self.tell(lambda: HomeCopies(self.ws.home, clock=self.ws.clock,
                                     ask_trust=self.trust_asked).copy_to(find(self.ws.home, to)))

    def plan(self) -> None:
        while True:
            plan = self.ws.plan()
            steps = list(plan.steps)
            if plan.next is not None:
                steps.remove(plan.next)
                steps.insert(0, plan.next)
            self.say()
            for line in plan.excluded:  # as the plan screen's "Left out" rows
                self.say(f"Left out, not in the plan: {line}")
            picked = self.choose("Your plan, the suggested next step first. "
                                 "Type a step's number to open it.",
                                 [_step_line(s) for s in steps])
            if picked is None:
                return
            self.step(steps[picked].service_id)

    def step(self, service_id: str) -> None:
        while True:
            s = self.ws.step(service_id)
            svc = self.ws.catalog.get(service_id)
            self.say()
            self.say(f"{s.name}: {_state(s)}.")
            if svc is not None:
                self.say(svc.summary)
            self.say(f"Why: {s.why}")
            if s.replaces:
                self.say(f"Replaces: {', '.join(s.replaces)}.")
            self.say(f"Suggested way: {WAY_NAMES[s.way]}. {s.way_reason}")
            if self.ws.answers is not None:
                self.say(where_it_runs(s, self.ws.answers))
            if s.reach:
                self.say(f"From outside: {s.reach}")
            for w in s.ways:
                fits = "fits" if w.possible else "does not fit"
                self.say(f"{_cap(WAY_NAMES[w.kind])}: {fits}. {w.summary} {_cap(w.reason)}.")
            self.say(f"Takes about {s.time_minutes} minutes; difficulty {s.difficulty}.")
            if svc is not None and svc.asks:
                self.say(f"roost will ask you for: {', '.join(svc.asks)}.")
            for line in svc.next_steps if svc is not None else ():
                self.say(f"Once it runs: {line}")
            actions = ["Mark it done", "Skip it", "Undo the last change"]
            from roost.app.reaching import reached_from_outside

            more: list[tuple[str, Callable[[], None]]] = []
            if svc is not None and (svc.recipe or svc.install is not None):
                more.append(("Deploy it: roost installs it on one of your hosts"
                             if svc.recipe else "Deploy it: why roost does not install it",
                             lambda: self.deploy(service_id)))
            if reached_from_outside(service_id):
                more.append(("Check that others can reach it",
                             lambda: self.reach(service_id)))
            if s.reach:
                more.append(("Reach it over Tor: an onion service for private use",
                             lambda: self.tor(service_id)))
            more += self.relay_choices(service_id)
            if reached_from_outside(service_id):
                more += self.upnp_choices(service_id)
            picked = self.choose(f"What would you like to do with {s.name}?",
                                 [*actions, *[text for text, _ in more]])
            if picked is None:
                return
            if picked >= len(actions):
                more[picked - len(actions)][1]()
                continue
            try:
                if picked == 0:
                    self.ws.done(service_id)
                    nxt = self.ws.next_step()
                    self.say(f"Marked {s.name} done."
                             + (f" Next: {nxt.name}." if nxt else " Every step is done."))
                    return
                if picked == 1:
                    r = self.choose(f"Why skip {s.name}?", list(SKIP_REASONS))
                    if r is not None:
                        self.ws.skip(service_id, SKIP_REASONS[r])
                        self.say(f"Skipped {s.name}.")
                        return
                if picked == 2:
                    self.say(self.ws.undo())
            except RoostError as exc:
                self.say(exc.line())

    def deploy(self, service_id: str) -> None:
        """Host, options, then a line a step (roost.cli.plain_deploy)."""
        from roost.cli.plain_deploy import deploy

        deploy(self, service_id)
        self.ws.reload()

    def reach(self, service_id: str) -> None:
        """Can others reach it? Where it runs, where to check from, then a line a check."""
        from roost.app.hosts import find, host_store
        from roost.app.reaching import Reaching

        hosts = [h.name for h in host_store(self.ws.home).all()]
        runs = [str(e.detail.get("host", "")) for e in self.ws.progress.running()
                if e.service_id == service_id]
        where = [h for h in hosts if h in runs] or hosts
        picked = self.choose("Which host does it run on?", where)
        if picked is None:
            return
        host = where[picked]
        others = [h for h in hosts if h not in (host, "local")]
        froms = [f"From {h}: proves the internet reaches it" for h in others]
        froms.append("From this computer: proves only your own network")
        picked = self.choose("Where should roost check the ports from?", froms)
        if picked is None:
            return
        domain = self.ask("The domain people use (Enter: the one the deploy used):")
        try:
            r = Reaching(service_id, find(self.ws.home, host), self.ws.home, domain=domain,
                         from_host=(find(self.ws.home, others[picked])
                                    if picked < len(others) else None),
                         on_check=lambda c: self.say(c.line()))
            self.say(f"Checking {service_id} on {host}; one line a check.")
            report = r.run()
        except RoostError as exc:
            self.say(exc.line())
            return
        for note in report.notes:
            self.say(note)
        self.say(report.summary())

    def _ways_by_host(self, service_id: str) -> list[tuple[str, tuple[Event, ...]]]:
        """Each host the progress says runs the service, with the ways in recorded there."""
        progress = self.ws.progress
        return [(host, progress.ways_in(service_id, host)) for e in progress.running()
                if e.service_id == service_id and (host := str(e.detail.get("host", "")))]

    def relay_choices(self, service_id: str) -> list[tuple[str, Callable[[], None]]]:
        """For each host the service runs on: relay it through a VPS, or remove that relay
        (roost.app.relaying, as `roost reach ID --host H --relay VPS [--close]`)."""
        out: list[tuple[str, Callable[[], None]]] = []
        for host, ways in self._ways_by_host(service_id):
            vias = [str(w.detail.get("via", "")) for w in ways if w.detail.get("way") == "relay"]
            if vias:
                out.append((f"Remove the relay through {vias[0]} (it runs on {host})",
                            lambda h=host, v=vias[0]: self.relay(  # type: ignore[misc]
                                service_id, h, v, close=True)))
            else:
                out.append((f"Reach it from outside through your VPS (it runs on {host})",
                            lambda h=host: self.relay(service_id, h)))  # type: ignore[misc]
        return out

    def relay(self, service_id: str, host: str, via: str | None = None,
              close: bool = False) -> None:
        from roost.app.deploying import text_of
        from roost.app.relaying import Relaying
        from roost.deploy.events import Output
        from roost.deploy.hosts import HOSTS_FILE, HostStore
        from roost.keys.vault import passphrase_from_env_or_prompt

        store = HostStore(self.ws.home / HOSTS_FILE)
        if via is None:
            others = [h for h in store.all() if h.name != host and not h.is_local]
            if not others:
                self.say("Add your VPS first with: roost host add NAME user@address.")
                return
            picked = self.choose("Which host is your VPS?", [h.describe() for h in others])
            if picked is None:
                return
            via = others[picked].name

        def show(e: object) -> None:
            if not isinstance(e, Output):
                self.say(text_of(e))  # type: ignore[arg-type]

        vps = via

        def run() -> list[str]:
            r = Relaying(service_id, store.get(host), store.get(vps), self.ws.home,
                         on_event=show, passphrase=passphrase_from_env_or_prompt)
            return r.close() if close else r.open()

        self.tell(run)

    def upnp_choices(self, service_id: str) -> list[tuple[str, Callable[[], None]]]:
        """For each host the service runs on: have the home router forward its ports, or
        stop it (roost.app.opening, as `roost reach ID --host H --upnp [--close]`)."""
        out: list[tuple[str, Callable[[], None]]] = []
        for host, ways in self._ways_by_host(service_id):
            if any(w.detail.get("way") == "upnp" for w in ways):
                out.append((f"Stop the router forwarding (it runs on {host})",
                            lambda h=host: self.upnp(service_id, h, close=True)))  # type: ignore[misc]
            else:
                out.append((f"Have your router forward the ports (UPnP) (it runs on {host})",
                            lambda h=host: self.upnp(service_id, h)))  # type: ignore[misc]
        return out

    def upnp(self, service_id: str, host_name: str, close: bool = False) -> None:
        from roost.app.hosts import find
        from roost.app.opening import Opening
        from roost.cli.deploy_cmd import ask_sudo_password

        def consent(question: str) -> bool:
            return self.choose(question, ["Yes, ask the router"], "No, change nothing") == 0

        try:
            host = find(self.ws.home, host_name)
            o = Opening(service_id, host, self.ws.home, on_line=self.say, consent=consent,
                        ask_trust=self.trust_asked, sudo_password=lambda: ask_sudo_password(host))
            if close:
                for line in o.close():
                    self.say(line)
            else:
                o.open()
        except RoostError as exc:
            self.say(exc.line())
        self.ws.reload()

    def tor(self, service_id: str) -> None:
        """A Tor onion service for the service on a host that runs it (roost.app.onion)."""
        from roost.app.deploying import text_of
        from roost.app.hosts import find
        from roost.app.onion import Onion
        from roost.cli.deploy_cmd import ask_sudo_password
        from roost.keys.vault import passphrase_from_env_or_prompt

        hosts = sorted({str(e.detail.get("host", "")) for e in self.ws.progress.running()
                        if e.service_id == service_id})
        if not hosts:
            self.say(f"No host runs it yet: deploy it first with roost deploy {service_id} "
                     "--host NAME.")
            return
        picked = self.choose("On which host?", hosts) if len(hosts) > 1 else 0
        if picked is None:
            return

        def run() -> list[str]:
            host = find(self.ws.home, hosts[picked])
            return Onion(service_id, host, self.ws.home,
                         on_event=lambda e: self.say(text_of(e)),
                         passphrase=passphrase_from_env_or_prompt, ask_trust=self.trust_asked,
                         sudo_password=lambda: ask_sudo_password(host)).open()

        self.tell(run)

    def pace(self) -> None:
        answers = self.ws.answers
        if answers is None:
            return
        picked = self.choose(f"Pace now: {PACE_LABELS[answers.pace]}. Choose a pace.",
                             [PACE_LABELS[p] for p in PACE])
        if picked is not None:
            try:
                self.ws.save_answers(dataclasses.replace(answers, pace=PACE[picked]))
                self.say(f"Pace: {PACE_LABELS[PACE[picked]]}.")
            except RoostError as exc:
                self.say(exc.line())

    def assess(self) -> None:
        from roost.cli.plan_cmd import hosts_measured

        known = hosts_measured()  # measured on a host: not asked, said
        qs = [q for q in questions(self.ws.catalog, self.ws.facts) if q.id not in known]
        responses: dict[str, object] = {}
        if self.ws.answers is not None:
            for k, v in self.ws.answers.to_dict().items():
                responses[k] = ("yes" if v else "no") if isinstance(v, bool) else (
                    str(v) if isinstance(v, int) else v)
        draft = self.ws.draft()
        responses.update(draft)
        asked = [q for q in qs if q.applies(responses)]
        i = 0
        if draft:
            # Resume at the first question not answered yet; the earlier ones keep their
            # answers (shown as [x] or (*) when 0 goes back to them).
            i = next((n for n, q in enumerate(asked) if q.id not in draft), len(asked))
            self.say()
            self.say(f"Welcome back: {i} of {len(asked)} questions were answered before and "
                     "are kept. 0 goes back to them.")
        while i < len(asked):
            q = asked[i]
            self.say()
            self.say(f"Question {i + 1} of {len(asked)}: {q.prompt}")
            if q.help:
                self.say(q.help)
            value = self.one_question(q, responses.get(q.id))
            if value is _BACK:
                if i == 0:
                    self.say("Your answers were not changed.")
                    return
                i -= 1
                continue
            responses[q.id] = value
            self.ws.save_draft(responses)  # each answer kept as it is given
            asked = [x for x in qs if x.applies(responses)]
            i = asked.index(q) + 1
        for q in questions(self.ws.catalog, self.ws.facts):
            if q.id in known and q.applies(responses):
                responses[q.id], said = known[q.id]
                self.say(said)
        try:
            self.ws.save_answers(answers_from_responses(responses, self.ws.facts,
                                                        self.ws.catalog))
        except RoostError as exc:
            self.say(exc.line())
            return
        nxt = self.ws.next_step()
        self.say("Your answers are saved."
                 + (f" Your first step: {nxt.name}, {WAY_NAMES[nxt.way]}." if nxt else ""))

    def one_question(self, q: Question, current: object) -> object:
        labels = dict(q.choices)
        while True:
            if q.kind == "many":
                now = current if isinstance(current, (list, tuple)) else []
                for n, (v, label) in enumerate(q.choices, start=1):
                    self.say(f"  {n}. [{'x' if v in now else ' '}] {label}")
                raw = self.ask("Type the numbers of all that apply, separated by spaces; "
                               "Enter alone keeps the [x] ones; 0 goes back:")
                if raw == "0":
                    return _BACK
                if raw == "":
                    return list(now)
                if raw.lower() == "none":
                    return []
                nums = raw.replace(",", " ").split()
                if all(x.isdigit() and 1 <= int(x) <= len(q.choices) for x in nums):
                    return [q.choices[int(x) - 1][0] for x in dict.fromkeys(nums)]
                self.say("Please type only numbers from the list, like 1 3.")
            elif q.kind in ("one", "yesno"):
                for n, (v, label) in enumerate(q.choices, start=1):
                    self.say(f"  {n}. ({'*' if v == current else ' '}) {label}")
                keep = f"; Enter alone keeps {labels[str(current)]}" if (
                    isinstance(current, str) and current in labels) else ""
                raw = self.ask(f"Type a number from 1 to {len(q.choices)}{keep}; "
                               "0 goes back:")
                if raw == "0":
                    return _BACK
                if raw == "" and keep:
                    return current
                if raw.isdigit() and 1 <= int(raw) <= len(q.choices):
                    return q.choices[int(raw) - 1][0]
                self.say(f"Please type a number from 1 to {len(q.choices)}.")
            else:
                shown = f" (now: {current}; Enter alone keeps it)" if current else ""
                raw = self.ask(f"Type your answer{shown}, or 0 to go back:")
                if raw == "0":
                    return _BACK
                if raw == "" and current:
                    return current
                try:  # checked now, and asked again with the reason
                    return check_response(q, raw)
                except RoostError as exc:
                    self.say(f"{exc.line()} Please type it again.")


_BACK = object()


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _state(s: Step) -> str:
    if s.state == "next" and s.not_before is not None:
        return f"next, waiting until {s.not_before.isoformat()}"
    if s.state in ("skipped", "failed") and s.reason:
        return f"{s.state}: {s.reason}"
    return s.state


def _step_line(s: Step) -> str:
    rep = f" Replaces {', '.join(s.replaces)}." if s.replaces and s.relevant else ""
    return f"{s.name}: {_state(s)}.{rep}"


_ASCII = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"',
                        "\u2013": "-", "\u2014": "-", "\u2026": "...", "\u00a0": " "})


def _clean(text: str) -> str:
    """Typographic punctuation to ASCII and no control characters, ever."""
    text = text.translate(_ASCII)
    return "".join(c for c in text
                   if c in "\n\t" or (c >= " " and not "\x7f" <= c <= "\x9f"))


def run_plain(screen_reader: bool = False, *, home: Path | None = None,
              facts: HostFacts | None = None, clock: Clock | None = None,
              stdin: TextIO | None = None, stdout: TextIO | None = None) -> int:
    """Run the line mode until the person quits or input ends. Returns the exit code."""
    ws = Workspace.open(home if home is not None else data_dir(), facts=facts,
                        detect=facts is None, clock=clock)
    return Plain(ws, stdout or sys.stdout, stdin or sys.stdin, screen_reader).run()
