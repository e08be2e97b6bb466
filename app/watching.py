"""Alerts that do not depend on the server that is down: the one use case `roost watch`
(and plain mode) runs.

    w = Watching(home, passphrase=ask, on_event=show)
    lines = w.watch("prosody", "pi", "vps", to="me@example.org", sender="alerts")
    lines = w.test("prosody", "pi")      # one message now, from the watcher host
    lines = w.remove("prosody", "pi")
    lines = w.listed()

The watcher (roost.deploy.watch) goes on another host than the watched one; it probes the
service the way the deploy's health check did (rebuilt from what the progress recorded: the
recipe and its options) and sends one XMPP message when it goes down and one when it is back,
from the sender's account in the vault (an XMPP identity, default `alerts`), or an e-mail
(from a login), or a Matrix message (from a Matrix identity: its server's admin account).
What is watched from where is kept in the data folder (`watches.json`, public facts only), so
`--list`, `--test` and `--remove` need no more than the service and host. Nothing here prints
or prompts.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from roost.app.checking import deployed
from roost.app.connecting import connect
from roost.app.deploying import vault_secrets
from roost.app.hosts import find
from roost.core.atomic import atomic_write_text
from roost.core.errors import RoostError
from roost.core.lock import FileLock
from roost.core.text import printable
from roost.deploy import engine, session
from roost.deploy.hosts import Host
from roost.deploy.journal import Journal
from roost.deploy.sudo import SudoPassword
from roost.deploy.transport import Transport
from roost.deploy.trust import AskTrust
from roost.deploy.watch import (
    EVERY_DEFAULT,
    PORTS,
    VIAS,
    Probe,
    Watch,
    probe_argv,
    recipe,
    send_test_argv,
)

WATCHES_FILE = "watches.json"
DEFAULT_SENDER = "alerts"


def _no_passphrase() -> str:
    raise RoostError("the watcher needs the sender's password from your vault",
                     hint="give the vault passphrase and start again")


KINDS = {"email": ("login", "a login"), "xmpp": ("xmpp", "an XMPP identity"),
         "matrix": ("matrix", "a Matrix identity")}
"""For each way alerts travel: the kind of vault identity that sends them, in words."""
MAKE = {"login": "login --name {0} --user NAME --email ADDRESS` (your mailbox's login)",
        "xmpp": "xmpp --name {0}` (an account on a server that is not the one watched)",
        "matrix": "matrix --name {0} --server-name NAME` and deploy matrix-synapse with it "
                  "on a host that is not the one watched (its admin account sends)"}
MATRIX_ADMIN = "admin"
"""The account a Matrix identity's server was deployed with (matrix-synapse's `admin`
option, as the progress recorded it; this when none was given)."""


def _sender(home: Path, wanted: str, via: str) -> tuple[str, str, str, str]:
    """(identity id, address, login user, password field) of the account that sends the
    alerts: an XMPP identity, for e-mail a login (its user logs in to the SMTP server), for
    Matrix a Matrix identity (its server's admin account logs in)."""
    ident_id = wanted or DEFAULT_SENDER
    found = session.public_identities(home).get(ident_id)
    kind, wanted_kind = KINDS.get(via, KINDS["xmpp"])
    if found is None or getattr(found, "kind", "") != kind:
        make = MAKE[kind].format(ident_id)
        raise RoostError((f"the key vault has no identity {ident_id}" if found is None else
                          f"the identity {ident_id} is not {wanted_kind}")
                         + f": alerts are sent from {wanted_kind}",
                         hint=f"make it with `roost keys new {make}, or name yours with "
                              "--sender ID")
    public = found.public
    if kind == "xmpp":
        return ident_id, str(public["jid"]), "", "password"
    if kind == "matrix":
        admins = [d.options.get("admin", "") for d in deployed(home)
                  if d.recipe == "matrix-synapse"
                  and d.options.get("identity", "") in ("", ident_id)]
        admin = next((a for a in admins if a), MATRIX_ADMIN).lower()
        user = f"@{admin}:{public.get('server_name', '')}"
        return ident_id, user, user, "admin_password"
    user = str(public.get("user", ""))
    return ident_id, str(public.get("email") or user), user, "password"


@dataclass
class Watching:
    home: Path
    """The data folder: hosts, known hosts, journals, the vault, the progress, the watches."""
    on_event: Callable[[Any], None] = lambda e: None
    passphrase: Callable[[], str] = _no_passphrase
    ask_trust: Callable[[Host], AskTrust | None] = lambda h: None
    sudo_password: Callable[[Host], SudoPassword] = lambda h: None

    # -- what is watched -------------------------------------------------------------------

    @property
    def _file(self) -> Path:
        return self.home / WATCHES_FILE

    def watches(self) -> list[Watch]:
        if not self._file.exists():
            return []
        try:
            raw = json.loads(self._file.read_text("utf-8"))
            return [Watch(**{**w, "probe": Probe(**w["probe"])}) for w in raw["watches"]]
        except (ValueError, KeyError, TypeError) as exc:
            raise RoostError(f"{self._file} is damaged ({type(exc).__name__})",
                             hint="remove it; the watchers on your hosts keep running, and "
                                  "`roost watch` sets each up again") from None

    def _keep(self, change: Callable[[list[Watch]], list[Watch]]) -> None:
        with FileLock(self._file, "the list of watches", wait_s=5):
            kept = change(self.watches())
            atomic_write_text(self._file, json.dumps(
                {"watches": [asdict(w) for w in kept]}, indent=1) + "\n")

    def record(self, w: Watch) -> None:
        """Keep `w` in the list (replacing the watch of the same service on the same host)."""
        self._keep(lambda ws: [*(x for x in ws if (x.service_id, x.host)
                                 != (w.service_id, w.host)), w])

    def find(self, service_id: str, host: str) -> Watch:
        for w in self.watches():
            if (w.service_id, w.host) == (service_id, host):
                return w
        raise RoostError(f"roost does not watch {printable(service_id, 40)} on "
                         f"{printable(host, 40)}",
                         hint="`roost watch --list` says what is watched")

    def plan(self, service_id: str, host: str, watcher: str, *, to: str, sender: str = "",
             server: str = "", ca_pem: str = "", every: int = EVERY_DEFAULT,
             address: str = "", via: str = "xmpp") -> Watch:
        """The watch, from what the progress says runs on `host`; connects nowhere."""
        if via not in VIAS:
            raise RoostError(f"{printable(via, 20)!r} is not a way roost sends alerts",
                             hint="say xmpp, matrix or email")
        if not to:
            raise RoostError("roost needs to know who gets the alerts",
                             hint="give --to your XMPP address, your Matrix ID with --via "
                                  "matrix, or your e-mail address with --via email (on "
                                  "another server than the one watched)")
        watched, by = find(self.home, host), find(self.home, watcher)
        found = [d for d in deployed(self.home)
                 if (d.service_id, d.host) == (service_id, watched.name)]
        if not found:
            raise RoostError(f"your progress has no {printable(service_id, 40)} running on "
                             f"{watched.name}",
                             hint="deploy it first, or see `roost status`")
        d = found[0]
        r = session.build_recipe(d.recipe, watched, d.options, None, self.home)
        from roost.deploy.watch import probe_of

        probe = probe_of(r.health, r.ports, watched.address)
        if address:  # where others reach it, when the deploy checked another address
            probe = replace(probe, address=address)
        ident_id, sender_address, user, field = _sender(self.home, sender, via)
        name, _, port = server.rpartition(":") if server.count(":") == 1 else (server, "", "")
        return Watch(service_id, watched.name, by.name, d.label, probe, to, ident_id,
                     sender_address, name, int(port) if port.isdigit() else PORTS[via], ca_pem,
                     every, via, user, field)

    # -- the use cases ---------------------------------------------------------------------

    def _connect(self, name: str) -> Transport:
        host = find(self.home, name)
        return connect(host, self.home, ask_trust=self.ask_trust(host),
                       sudo_password=self.sudo_password(host))

    def dry_run(self, w: Watch) -> list[str]:
        from roost.deploy.dryrun import plan_lines

        return plan_lines(recipe(w), w.watcher)

    def watch(self, w: Watch) -> list[str]:
        """Set the watcher up on its host (or continue it), and keep the watch."""
        r = recipe(w)
        with self._connect(w.watcher) as t:
            engine.run(r, t, journal=Journal.for_host(w.watcher, r.id, self.home),
                       secrets=vault_secrets(self.passphrase, self.home),
                       on_event=self.on_event, resume=True,
                       state_dir=session.host_state_dir())
            seen = t.run(probe_argv(w), sudo=True, timeout=60)
        self.record(w)
        said = printable(seen.stdout.strip() or seen.stderr.strip()[-200:], 300)
        now = (f"From {w.watcher}, {w.label} answers now." if seen.ok else
               f"From {w.watcher}, {w.label} does not answer now: {said}. If others reach "
               "it at another address (your domain, or the router's address outside), set "
               f"the watch up again with --address ADDRESS.")
        room = ([f"In your Matrix app, accept the invitation from {w.sender_jid} to the room "
                 "roost alerts: the alerts come there."]
                if w.via == "matrix" and w.to.startswith("@") else [])
        return [f"Watching {w.words()}.", now, *room,
                f"You get one message when it goes down, and one when it is back. Send a "
                f"test now: roost watch {w.service_id} --host {w.host} --test",
                f"To stop: roost watch {w.service_id} --host {w.host} --remove"]

    def test(self, service_id: str, host: str) -> list[str]:
        """One message now, sent by the watcher host as an alert would be."""
        w = self.find(service_id, host)
        with self._connect(w.watcher) as t:
            res = t.run(send_test_argv(w), sudo=True, timeout=60)
        if not res.ok:
            raise RoostError(f"{w.watcher} could not send the test message: "
                             + printable((res.stderr or res.stdout).strip()[-300:], 300),
                             hint="check --to, the sender's account and its server, then "
                                  "set the watch up again")
        return [f"{w.watcher} sent a test message to {w.to} from {w.sender_jid}."]

    def remove(self, service_id: str, host: str) -> list[str]:
        w = self.find(service_id, host)
        r = recipe(w)
        with self._connect(w.watcher) as t:
            engine.undeploy(r, t, journal=Journal.for_host(w.watcher, r.id, self.home),
                            on_event=self.on_event, state_dir=session.host_state_dir())
        self._keep(lambda ws: [x for x in ws if (x.service_id, x.host)
                               != (service_id, host)])
        return [f"{w.watcher} no longer watches {w.label} on {w.host}; its files and the "
                "sender's password are deleted there."]

    def listed(self) -> list[str]:
        found = self.watches()
        if not found:
            return ["Nothing is watched yet: roost watch ID --host HOST --from OTHER --to "
                    "YOU@EXAMPLE.ORG sets up alerts."]
        return [w.words() + "." for w in found]
