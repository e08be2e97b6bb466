"""A watcher on one host for a service on another: alerts that do not depend on the server that
is down.

What goes on the watcher host (a recipe, run by the deploy engine, so a cut-off run continues
and a second run changes nothing):

- `/usr/local/lib/roost/roost-watch` (scripts/roost_watch.py: Python 3's standard library
  only), which probes the service from outside the way the deploy's health check does (an XMPP
  stream for an XMPP server, an HTTP GET for a web site, else a TCP connection) and, when the
  state changed since its last run, sends one XMPP message from the sender's account to the
  person (or an e-mail, over SMTP with STARTTLS, or a Matrix message over HTTPS to a direct
  room made at set-up and remembered in `/etc/roost/watch/NAME.room`): once "down", once
  "back";
- the watch's config `/etc/roost/watch/NAME.json` (no secret in it), the sender's password in
  `/etc/roost/watch/NAME.secret` (root only, 0600, written as a file's content), and, for a
  sender's server with its own certificate, that certificate;
- `roost-watch-NAME.service` (a throw-away user, the password handed over as a systemd
  credential) and `roost-watch-NAME.timer`, every few minutes.

Removing (`Recipe.uninstall`) takes all of it away; the script goes with the last watch.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from roost.core import validate
from roost.core.errors import RoostError
from roost.core.text import printable
from roost.deploy import steps as st
from roost.deploy.recipe import Port, Recipe
from roost.keys.xmpp import jid as check_jid

SCRIPT = "/usr/local/lib/roost/roost-watch"
CONF_DIR = "/etc/roost/watch"
STATE_DIR = "/var/lib/roost-watch"
"""The service's StateDirectory= (systemd keeps it for the throw-away user)."""
UNIT_DIR = "/etc/systemd/system"
XMPP_PORT = 5222
SMTP_PORT = 587
MATRIX_PORT = 443
VIAS = ("xmpp", "email", "matrix")
PORTS = {"xmpp": XMPP_PORT, "email": SMTP_PORT, "matrix": MATRIX_PORT}
"""The sender's server's port when none is given, for each way."""
EVERY_DEFAULT = 5
RETRY_SECONDS = 5
LAST_ONE = (
    'if [ -z "$(ls -A "$1" 2>/dev/null)" ]; then rm -f "$2"; rmdir "$1" 2>/dev/null; fi; true'
)
"""Remove the script $2 and the folder $1 when no watch is left in it."""


@dataclass(frozen=True)
class Probe:
    """How the watcher asks whether the service is up, from outside, as its clients do."""

    kind: str
    """xmpp (a client stream and its greeting), http (a GET) or tcp (a connection)."""
    address: str
    port: int
    name: str = ""
    """The XMPP domain, or the web site's name (Host header and TLS server name)."""
    path: str = "/"
    https: bool = False
    status: int = 200
    text: str | None = None
    verify: bool = True

    def __post_init__(self) -> None:
        if self.kind not in ("xmpp", "http", "tcp"):
            raise RoostError(f"{self.kind!r} is not a probe roost-watch knows")
        object.__setattr__(self, "address", validate.hostname(self.address, "address"))
        object.__setattr__(self, "port", validate.port(self.port))

    def words(self) -> str:
        at = f"{self.address}:{self.port}"
        if self.kind == "xmpp":
            return f"an XMPP stream to {self.name} at {at}"
        if self.kind == "http":
            scheme = "https" if self.https else "http"
            return f"{scheme}://{self.name or self.address}{self.path} at {at}"
        return f"a connection to {at}"

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {"kind": self.kind, "address": self.address, "port": self.port}
        if self.kind == "xmpp":
            out["domain"] = self.name
        elif self.kind == "http":
            out.update(name=self.name or self.address, path=self.path, https=self.https,
                       status=self.status, text=self.text, verify=self.verify)
        return out


def probe_of(health: st.WaitHealth | None, ports: tuple[Port, ...], address: str) -> Probe:
    """The probe for a recipe: its health check as seen from another host (its `site`: the
    address and name the deploy checked), else a connection to its first TCP port at
    `address` (the host's)."""
    site = health.site if health is not None else None
    numbers = {p.number for p in ports if p.protocol == "tcp"}
    if site is not None and health is not None:
        if health.probe is not None and (site.port == XMPP_PORT or XMPP_PORT in numbers):
            return Probe("xmpp", site.address, site.port, name=site.host_name)
        if health.probe is None:
            return Probe("http", site.address, site.port, name=site.host_name,
                         path=health.path, https=site.https, status=health.expect_status,
                         text=health.expect_text, verify=health.verify_tls)
        return Probe("tcp", site.address, site.port)
    tcp = [p.number for p in ports if p.protocol == "tcp"]
    if not tcp or not address:
        raise RoostError("roost cannot watch this service from another host: it answers "
                         "only on its own host",
                         hint="watch a service others connect to (chat, a web site)")
    return Probe("tcp", address, tcp[0])


@dataclass(frozen=True)
class Watch:
    """`service_id` on `host`, watched from `watcher`; alerts from the vault's XMPP identity
    `sender` (address `sender_jid`, its server reached at `server`:`port`, default its domain)
    to the person's `to`."""

    service_id: str
    host: str
    watcher: str
    label: str
    probe: Probe
    to: str
    sender: str
    sender_jid: str
    server: str = ""
    port: int = XMPP_PORT
    ca_pem: str = ""
    """The sender's server's certificate (PEM) to trust, when it is not from a public CA."""
    every: int = EVERY_DEFAULT
    """Minutes between two probes."""
    via: str = "xmpp"
    """xmpp, or email: then `to` and `sender_jid` are e-mail addresses, `sender` is a vault
    login whose `sender_user` logs in to the SMTP server `server`:`port`; or matrix: `to` is
    the person's Matrix ID (a direct room is made and they are invited) or a room ID,
    `sender_jid` the sender's Matrix ID, which logs in to the homeserver's client API over
    HTTPS at `server`:`port` (default: its server name, 443)."""
    sender_user: str = ""
    sender_secret: str = "password"  # noqa: S105 (a field's name, not a password)
    """The field of the sender's identity that holds the password (a Matrix identity's
    account is its server's admin: `admin_password`)."""

    def __post_init__(self) -> None:
        validate.short_name(self.service_id, "service id")
        validate.short_name(self.host, "host name")
        validate.short_name(self.watcher, "host name")
        if self.host == self.watcher:
            raise RoostError(f"{self.host} cannot watch itself: when it is down, so is its "
                             "watcher", hint="watch it --from another of your hosts (a VPS)")
        object.__setattr__(self, "label", printable(self.label, 80))
        if self.via not in VIAS:
            raise RoostError(f"{printable(self.via, 20)!r} is not a way roost sends alerts",
                             hint="say --via xmpp, --via matrix or --via email")
        if self.via == "email":
            hint = "write it as name@example.org"
            object.__setattr__(self, "to", validate.email(self.to, hint=hint))
            object.__setattr__(self, "sender_jid", validate.email(self.sender_jid, hint=hint))
            if not self.server:
                raise RoostError("alerts by e-mail need the sender's SMTP server",
                                 hint="give --server NAME[:PORT], like smtp.example.org:587")
            if not self.sender_user or any(c.isspace() for c in self.sender_user):
                raise RoostError("the sender's login has no user name to log in with",
                                 hint="make it with `roost keys new login --name alerts "
                                      "--user NAME --email ADDRESS`")
        elif self.via == "matrix":
            object.__setattr__(self, "to", validate.matrix_id(self.to, room=True))
            object.__setattr__(self, "sender_jid", validate.matrix_id(self.sender_jid))
        else:
            object.__setattr__(self, "to", check_jid(self.to))
            object.__setattr__(self, "sender_jid", check_jid(self.sender_jid))
        validate.short_name(self.sender, "identity")
        if self.server:
            object.__setattr__(self, "server", validate.hostname(self.server,
                                                                 "sender's server address"))
        if self.sender_secret not in ("password", "admin_password"):
            raise RoostError(f"{printable(self.sender_secret, 20)!r} is not a password field")
        object.__setattr__(self, "port", validate.port(self.port))
        if not 1 <= self.every <= 60:
            raise RoostError(f"every {self.every} minutes is not between 1 and 60",
                             hint="give --every MINUTES from 1 to 60")
        if self.ca_pem and "-----BEGIN CERTIFICATE-----" not in self.ca_pem:
            raise RoostError("the sender's server certificate is not a PEM certificate",
                             hint="give the server's certificate file (-----BEGIN "
                                  "CERTIFICATE-----)")

    @property
    def name(self) -> str:
        return f"{self.service_id}-{self.host}"[:60]

    @property
    def unit(self) -> str:
        return f"roost-watch-{self.name}.service"

    @property
    def timer(self) -> str:
        return f"roost-watch-{self.name}.timer"

    def path(self, ending: str) -> str:
        return f"{CONF_DIR}/{self.name}.{ending}"

    def config(self) -> dict[str, object]:
        """What the script reads (no secret: the password is in its own root-only file)."""
        return {
            "service": self.service_id, "host": self.host, "watcher": self.watcher,
            "label": self.label, "probe": self.probe.to_json(),
            "retry_seconds": RETRY_SECONDS, "state": f"{STATE_DIR}/{self.name}.json",
            "alert": {"via": self.via, "to": self.to, "sender": self.sender_jid,
                      **({"user": self.sender_user} if self.via == "email" else {}),
                      **({"room_file": self.path("room")} if self.via == "matrix" else {}),
                      "server": self.server, "port": self.port,
                      "ca": self.path("ca.pem") if self.ca_pem else "",
                      "secret": self.path("secret")},
        }

    def how(self) -> str:
        by = {"email": " by e-mail", "matrix": " over Matrix"}.get(self.via, "")
        return (f"every {self.every} minutes ({self.probe.words()}); alerts{by} to "
                f"{self.to} from {self.sender_jid}")

    def words(self) -> str:
        return f"{self.label} on {self.host}, watched from {self.watcher} {self.how()}"


def recipe(w: Watch) -> Recipe:
    """The watch on its watcher host."""
    values = {"label": w.label.replace("%", "%%"), "host": w.host, "secret": w.path("secret"),
              "script": SCRIPT, "config": w.path("json"), "every": str(w.every)}
    unit, timer = f"{UNIT_DIR}/{w.unit}", f"{UNIT_DIR}/{w.timer}"
    files: list[st.Step] = [
        st.WriteFile(SCRIPT, st.load_script("roost_watch.py"), mode=0o755, owner="root",
                  group="root"),
        st.WriteFile(w.path("json"), json.dumps(w.config(), indent=1) + "\n", mode=0o644,
                  owner="root", group="root"),
        st.WriteFile(w.path("secret"), st.Secret(w.sender, w.sender_secret), mode=0o600,
                     owner="root", group="root"),
        *([st.WriteFile(w.path("ca.pem"), w.ca_pem, mode=0o644, owner="root", group="root")]
          if w.ca_pem else []),
        st.RenderTemplate(unit, template="roost-watch.service", mode=0o644, values=values),
        st.RenderTemplate(timer, template="roost-watch.timer", mode=0o644, values=values),
    ]
    steps = (
        st.InstallPackages(("python3",)),
        st.EnsureDir("/usr/local/lib/roost"),
        st.EnsureDir(CONF_DIR, mode=0o755, owner="root", group="root"),
        *files,
        *([st.RunCommand(("/usr/bin/python3", SCRIPT, "--room", w.path("json")),
                         creates=w.path("room"), timeout=90,
                         description=f"make the Matrix room for the alerts and invite {w.to}")]
          if w.via == "matrix" else []),
        st.RunCommand(("systemctl", "enable", w.timer),
                   unless=("systemctl", "is-enabled", "--quiet", w.timer),
                   description=f"start {w.timer} at boot"),
        st.Restart(w.timer, watch=tuple(f.path for f in files if isinstance(f, st.WriteFile))),
    )
    removal = (
        st.DisableService(w.timer),
        st.RemovePath(timer), st.RemovePath(unit),
        st.RemovePath(w.path("json")), st.RemovePath(w.path("secret")),
        st.RemovePath(w.path("ca.pem")), st.RemovePath(w.path("room")),
        st.RemovePath(f"{STATE_DIR}/{w.name}.json"),
        st.RunCommand(tuple(st.script(LAST_ONE, CONF_DIR, SCRIPT)),
                   description="remove roost-watch when no watch is left"),
    )
    return Recipe(
        id=f"watch-{w.name}"[:63], service_id=w.service_id,
        title=f"the watcher on {w.watcher} for {w.label} on {w.host}",
        steps=steps,
        health=st.WaitHealth(f"check that {w.timer} runs",
                          argv=("systemctl", "is-active", "--quiet", w.timer), timeout=20,
                          interval=0.5),
        uninstall=removal)


def send_test_argv(w: Watch) -> tuple[str, ...]:
    """The command that sends one test message now (run as root on the watcher host)."""
    return ("/usr/bin/python3", SCRIPT, "--test", w.path("json"))


def probe_argv(w: Watch) -> tuple[str, ...]:
    """The command that probes once from the watcher host and prints "up" or the problem."""
    return ("/usr/bin/python3", SCRIPT, "--probe", w.path("json"))
