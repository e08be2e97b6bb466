"""`roost watch`: another host watches a service and tells the person once when it goes down
and once when it is back (roost.deploy.watch, scripts/roost_watch.py, roost.app.watching).

The proof uses real parts: Prosody deployed on the "pi" (the watched service), another Prosody
on the "vps" that carries the alert accounts (the sender and the person), the watcher on the
vps, and the person's real XMPP app (slixmpp) online, counting what it receives. The timer is
run by hand (`systemctl start roost-watch-...service`) to keep the test fast.
"""

from __future__ import annotations

import http.server
import importlib.util
import json
import queue
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

import pytest
from support.identities import public, vault_for_commands

from roost.cli.main import main
from roost.core.errors import RoostError
from roost.deploy.dryrun import plan_lines, removal_lines
from roost.deploy.reach import Site
from roost.deploy.recipe import Port
from roost.deploy.recipes.prosody import build_prosody
from roost.deploy.steps import RenderTemplate, Secret, WaitHealth, WriteFile
from roost.deploy.watch import Probe, Watch, probe_of, recipe
from roost.keys import xmpp

if TYPE_CHECKING:
    from testhost import TestHost

pytest_plugins = ["testhost"]

HERE = Path(__file__).resolve().parent
SCRIPT = HERE.parent / "deploy" / "scripts" / "roost_watch.py"
CHAT, ALERTS = "chat.roost.test", "alerts.roost.test"
PASSPHRASE = "a long passphrase for the watch"


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("roost_watch", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _watch(**kw: object) -> Watch:
    values: dict[str, object] = {
        "service_id": "prosody", "host": "pi", "watcher": "vps", "label": "chat (prosody)",
        "probe": Probe("xmpp", "192.0.2.8", 5222, name=CHAT), "to": f"me@{ALERTS}",
        "sender": "alerts", "sender_jid": f"roost-alerts@{ALERTS}"}
    values.update(kw)
    return Watch(**values)  # type: ignore[arg-type]


def test_a_change_is_told_once_down_then_back() -> None:
    decide = _script().decide
    # (was up at the last run, this run's problem) -> what to tell
    assert decide(None, None) is None          # first run, up: nothing to say
    assert decide(None, "refused") == "down"   # first run, down: say it
    assert decide(True, "refused") == "down"
    assert decide(False, "refused") is None    # still down: said already
    assert decide(False, None) == "back"
    assert decide(True, None) is None


def test_the_watcher_holds_the_password_in_a_root_only_file_never_in_a_unit_or_argv() -> None:
    w = _watch(server="192.0.2.7", ca_pem="-----BEGIN CERTIFICATE-----\nx\n")
    r = recipe(w)
    secrets = [s for s in r.steps if isinstance(s, WriteFile) and isinstance(s.content, Secret)]
    assert [(s.path, s.mode, s.owner, s.content) for s in secrets] == [
        ("/etc/roost/watch/prosody-pi.secret", 0o600, "root", Secret("alerts", "password"))]
    text = "\n".join(plan_lines(r, "vps"))
    assert "LoadCredential=sender:/etc/roost/watch/prosody-pi.secret" in text
    assert "DynamicUser=yes" in text and "OnUnitActiveSec=5min" in text
    assert "ExecStart=/usr/bin/python3 /usr/local/lib/roost/roost-watch " \
           "/etc/roost/watch/prosody-pi.json" in text
    config = w.config()
    assert config["probe"] == {"kind": "xmpp", "address": "192.0.2.8", "port": 5222,
                               "domain": CHAT}
    assert config["alert"]["ca"] == "/etc/roost/watch/prosody-pi.ca.pem"
    assert "password" not in json.dumps(config)
    units = [s for s in r.steps if isinstance(s, RenderTemplate)]
    assert all(not isinstance(v, Secret) for s in units for v in s.values.values())
    removal = "\n".join(removal_lines(r, False, "vps"))
    assert "systemctl disable --now roost-watch-prosody-pi.timer" in removal
    assert "/etc/roost/watch/prosody-pi.secret" in removal


def test_a_watch_refuses_what_cannot_work() -> None:
    with pytest.raises(RoostError, match="cannot watch itself"):
        _watch(watcher="pi")
    with pytest.raises(RoostError, match="not an XMPP address"):
        _watch(to="me at example")
    with pytest.raises(RoostError, match="between 1 and 60"):
        _watch(every=0)
    with pytest.raises(RoostError, match="not a PEM certificate"):
        _watch(ca_pem="hello")
    with pytest.raises(RoostError):
        Probe("xmpp", "192.0.2.8; rm -rf /", 5222)


def test_the_probe_is_the_deploys_health_check_seen_from_outside() -> None:
    alice = xmpp.create("alice", address=f"alice@{CHAT}")
    prosody = build_prosody(None, {"address": "192.0.2.8"}, public(alice))
    assert probe_of(prosody.health, prosody.ports, "192.0.2.8") == Probe(
        "xmpp", "192.0.2.8", 5222, name=CHAT)
    web = WaitHealth("the blog answers", site=Site("192.0.2.9", "blog.roost.test"),
                     expect_text="roost")
    assert probe_of(web, (Port(80),), "192.0.2.9").to_json() == {
        "kind": "http", "address": "192.0.2.9", "port": 80, "name": "blog.roost.test",
        "path": "/", "https": False, "status": 200, "text": "roost", "verify": True}
    inside = WaitHealth("it runs", argv=("systemctl", "is-active", "x"))
    assert probe_of(inside, (Port(8080),), "192.0.2.9") == Probe("tcp", "192.0.2.9", 8080)
    with pytest.raises(RoostError, match="answers only on its own host"):
        probe_of(inside, (), "192.0.2.9")


@pytest.fixture
def site() -> Iterator[int]:
    """A web site on this machine that answers "roost" for blog.roost.test only."""
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            ok = self.headers.get("Host", "").startswith("blog.roost.test")
            self.send_response(200 if ok else 404)
            self.end_headers()
            self.wfile.write(b"roost" if ok else b"no")

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()


def test_the_scripts_probes_ask_as_a_client_does(site: int) -> None:
    script = _script()
    script.TIMEOUT = 1.0  # a web server never greets as XMPP: no need to wait 10 s for it
    probe = script.probe
    web = {"kind": "http", "address": "127.0.0.1", "port": site, "name": "blog.roost.test",
           "path": "/", "https": False, "status": 200, "text": "roost", "verify": True}
    assert probe(web) is None
    assert "answered 404, not 200" in probe({**web, "name": "other.roost.test"})
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        free = s.getsockname()[1]
    assert "ConnectionRefusedError" in probe({"kind": "tcp", "address": "127.0.0.1",
                                              "port": free})
    assert probe({"kind": "tcp", "address": "127.0.0.1", "port": site}) is None
    said = probe({"kind": "xmpp", "address": "127.0.0.1", "port": site, "domain": CHAT})
    assert said is not None  # a web server is not an XMPP server


def test_the_watch_is_planned_from_the_progress_and_may_probe_another_address(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    from roost.app.watching import Watching
    from roost.deploy.hosts import HOSTS_FILE, Host, HostStore
    from roost.plan.workspace import Workspace

    vault_for_commands(home, PASSPHRASE, tmp_path, monkeypatch,
                       xmpp.create("alice", address=f"alice@{CHAT}"))
    store = HostStore(home / HOSTS_FILE)
    store.add(Host("pi", address="192.168.1.5", user="root"))
    store.add(Host("vps", address="192.0.2.7", user="root"))
    w = Watching(home)
    with pytest.raises(RoostError, match="no prosody running on pi"):
        w.plan("prosody", "pi", "vps", to=f"me@{ALERTS}")
    Workspace.open(home, detect=False).deployed(
        "prosody", "pi", "0.12", options={"accounts": "alice", "address": "192.168.1.5"})
    with pytest.raises(RoostError, match="no identity alerts: alerts are sent from an XMPP"):
        w.plan("prosody", "pi", "vps", to=f"me@{ALERTS}")
    with pytest.raises(RoostError, match="no identity nobody"):
        w.plan("prosody", "pi", "vps", to=f"me@{ALERTS}", sender="nobody")
    with pytest.raises(RoostError, match="who gets the alerts"):
        w.plan("prosody", "pi", "vps", to="", sender="alice")
    planned = w.plan("prosody", "pi", "vps", to=f"me@{ALERTS}", sender="alice",
                     server="192.0.2.7:5223", every=2)
    assert planned.probe == Probe("xmpp", "192.168.1.5", 5222, name=CHAT)  # as deployed
    assert (planned.server, planned.port, planned.every) == ("192.0.2.7", 5223, 2)
    moved = w.plan("prosody", "pi", "vps", to=f"me@{ALERTS}", sender="alice",
                   address=CHAT)  # the name others use, from the VPS
    assert moved.probe == Probe("xmpp", CHAT, 5222, name=CHAT)
    with pytest.raises(RoostError, match="not a valid address"):
        w.plan("prosody", "pi", "vps", to=f"me@{ALERTS}", sender="alice", address="a b")


def test_the_command_says_what_is_missing_in_one_line(
    home: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["watch", "--list"]) == 0
    assert capsys.readouterr().out.startswith("Nothing is watched yet")
    assert main(["watch", "prosody", "--host", "pi", "--test"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "roost does not watch prosody on pi" in err
    assert main(["watch", "prosody", "--host", "pi", "--to", "me@x.org"]) == 2
    assert "--from OTHER" in capsys.readouterr().err


# --- with real parts ---------------------------------------------------------------------------

class Inbox:
    """The person's XMPP app, online on the alert server, collecting the messages it gets."""

    def __init__(self, address: str, jid: str, password: str, cafile: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / "support" / "xmpp_inbox.py"), address, jid,
             str(cafile)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(password + "\n")
        self.proc.stdin.close()
        self.lines: queue.Queue[str] = queue.Queue()
        out = self.proc.stdout
        threading.Thread(target=lambda: [self.lines.put(x.rstrip("\n")) for x in out],
                         daemon=True).start()
        first = self.lines.get(timeout=30)
        assert first == "online", first

    def received(self, settle: float, within: float = 30.0) -> list[str]:
        """The messages that came: waits up to `within` for the first, then `settle` more
        seconds for any other (none may come that should not)."""
        got: list[str] = []
        deadline = time.monotonic() + within
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return got
            try:
                got.append(self.lines.get(timeout=left))
            except queue.Empty:
                return got
            deadline = time.monotonic() + settle

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()


def _prosody_answers(pi_host: TestHost) -> None:
    """Started again: wait until Prosody takes connections (a loaded machine takes seconds), so
    the watcher's next run sees it back."""
    pi_host.ssh("timeout 60 sh -c 'until ss -ltn | grep -q \":5222 \"; do sleep 0.2; done'")


@pytest.mark.slow
@pytest.mark.container
def test_the_vps_tells_the_person_once_when_chat_on_the_pi_goes_down_and_once_when_back(
    pi_host: TestHost, vps_host: TestHost, home: Path, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    from test_reach_relay import _trusted
    from testhost import ProcScanner, files_containing, record_time

    alice = xmpp.create("alice", address=f"alice@{CHAT}")
    sender = xmpp.create("alerts", address=f"roost-alerts@{ALERTS}")
    me = xmpp.create("me", address=f"me@{ALERTS}")
    vault_for_commands(home, PASSPHRASE, tmp_path, monkeypatch, alice, sender, me)
    _trusted(home, pi_host, vps_host)
    assert main(["deploy", "prosody", "--host", "pi", "--quiet", "--option", "accounts=alice",
                 "--option", f"address={pi_host.address}"]) == 0
    assert main(["deploy", "prosody", "--host", "vps", "--quiet",
                 "--option", "accounts=alerts,me", "--option",
                 f"address={vps_host.address}"]) == 0
    cafile = tmp_path / "alerts.crt"
    cafile.write_text(vps_host.ssh(f"cat /etc/prosody/certs/{ALERTS}.crt").stdout)
    capsys.readouterr()

    password = sender.secret["password"]
    scan = ProcScanner([password]).__enter__()
    # Cut off as the timer is about to start (Ctrl+C, a lost connection)...
    from support.resume import Cut

    from roost.app.watching import Watching
    from roost.deploy.events import StepStarted

    def cut(e: object) -> None:
        if isinstance(e, StepStarted) and e.index == e.total - 1:  # the timer starts
            raise Cut

    cut_off = Watching(home, on_event=cut, passphrase=lambda: PASSPHRASE)
    with pytest.raises(Cut):
        cut_off.watch(cut_off.plan("prosody", "pi", "vps", to=f"me@{ALERTS}",
                                   server=vps_host.address, ca_pem=cafile.read_text(),
                                   every=3))
    assert not vps_host.active("roost-watch-prosody-pi.timer")
    # ... the command finishes it.
    start = time.monotonic()
    assert main(["watch", "prosody", "--host", "pi", "--from", "vps", "--to", f"me@{ALERTS}",
                 "--server", vps_host.address, "--server-certificate", str(cafile),
                 "--every", "3"]) == 0
    record_time("watch_setup", time.monotonic() - start)
    said = capsys.readouterr().out
    assert "done in the earlier run" in said, said
    assert "Watching chat (prosody) on pi, watched from vps every 3 minutes (an XMPP stream " \
           f"to {CHAT} at {pi_host.address}:5222); alerts to me@{ALERTS} from " \
           f"roost-alerts@{ALERTS}." in said, said
    assert "From vps, chat (prosody) answers now." in said, said  # probed once at set-up
    # The password: root-only on the watcher, nowhere else there, never in what was said.
    assert password not in said and files_containing(home, [password]) == []
    assert vps_host.ssh("stat -c '%a %U' /etc/roost/watch/prosody-pi.secret").stdout.strip() \
        == "600 root"
    found = vps_host.ssh("grep -rlF -f /dev/stdin /etc /usr/local /var/lib || true",
                         input=password.encode()).stdout
    assert found.split() == ["/etc/roost/watch/prosody-pi.secret"], found
    assert vps_host.active("roost-watch-prosody-pi.timer")
    assert pi_host.ssh("ls /etc/roost/watch 2>/dev/null || true").stdout == ""  # not watched

    inbox = Inbox(vps_host.address, me.public["jid"], me.secret["password"], cafile)
    try:
        run = "systemctl start roost-watch-prosody-pi.service"
        # --test: one message now.
        assert main(["watch", "prosody", "--host", "pi", "--test"]) == 0
        assert f"vps sent a test message to me@{ALERTS}" in capsys.readouterr().out
        got = inbox.received(settle=2)
        assert len(got) == 1 and got[0].startswith(f"message roost-alerts@{ALERTS}: roost: a "
                                                   "test from vps"), got
        # Up: runs say nothing.
        vps_host.ssh(run)
        vps_host.ssh(run)
        assert inbox.received(settle=0, within=3) == []
        state = json.loads(vps_host.ssh("cat /var/lib/roost-watch/prosody-pi.json").stdout)
        assert state["up"] is True

        # Down: one alert, however many runs.
        pi_host.ssh("systemctl stop prosody")
        down = time.monotonic()
        vps_host.ssh(run)
        record_time("watch_down_alert", time.monotonic() - down)
        vps_host.ssh(run)
        vps_host.ssh(run)
        got = inbox.received(settle=3)
        assert len(got) == 1, got
        assert got[0].startswith(f"message roost-alerts@{ALERTS}: roost: chat (prosody) on pi "
                                 "is down ("), got
        assert "Seen from vps" in got[0]

        # Back: one message.
        pi_host.ssh("systemctl start prosody")
        _prosody_answers(pi_host)
        vps_host.ssh(run)
        vps_host.ssh(run)
        got = inbox.received(settle=3)
        assert len(got) == 1, got
        assert got[0].startswith(f"message roost-alerts@{ALERTS}: roost: chat (prosody) on pi "
                                 "is back"), got
    finally:
        inbox.close()
        scan.__exit__()
    assert scan.hits == [], f"the sender's password was visible in a process: {scan.hits}"

    assert main(["watch", "--list"]) == 0
    assert capsys.readouterr().out.startswith("chat (prosody) on pi, watched from vps")
    assert main(["watch", "prosody", "--host", "pi", "--remove", "--quiet"]) == 0
    assert "vps no longer watches chat (prosody) on pi" in capsys.readouterr().out
    assert not vps_host.active("roost-watch-prosody-pi.timer")
    assert vps_host.ssh("ls -A /etc/roost/watch /usr/local/lib/roost/roost-watch "
                        "/etc/systemd/system/roost-watch-prosody-pi.timer 2>&1 || true"
                        ).stdout.count("No such file") == 3
    assert main(["watch", "--list"]) == 0
    assert capsys.readouterr().out.startswith("Nothing is watched yet")


def test_plain_mode_sets_up_alerts_with_the_same_use_case(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    import io

    from roost.cli.plain import Plain
    from roost.deploy.hosts import HOSTS_FILE, Host, HostStore
    from roost.plan.workspace import Workspace

    vault_for_commands(home, PASSPHRASE, tmp_path, monkeypatch,
                       xmpp.create("alice", address=f"alice@{CHAT}"),
                       xmpp.create("alerts", address=f"roost-alerts@{ALERTS}"))
    store = HostStore(home / HOSTS_FILE)
    store.add(Host("pi", address="192.0.2.8", user="root"))
    store.add(Host("vps", address="127.0.0.1", port=1, user="root"))  # nothing listens
    ws = Workspace.open(home, detect=False)
    ws.deployed("prosody", "pi", "0.12", ports=("5222/tcp", "5269/tcp"),
                options={"accounts": "alice", "address": "192.0.2.8"})
    out = io.StringIO()
    # Alerts, set up, prosody on pi, watched by vps, to me, default sender and server.
    answers = "\n".join(["1", "1", "1", "1", f"me@{ALERTS}", "", "", "0", ""])
    plain = Plain(ws, out, io.StringIO(answers), False)
    plain.alerts()
    said = out.getvalue()
    assert "Nothing is watched yet" in said
    assert "1. Set up alerts for a service" in said
    assert "1. prosody on pi" in said and "1. vps: root@127.0.0.1:1." in said
    # The use case ran: it went to the watcher, and said in one line why it stopped.
    assert "Setting up the watcher on vps." in said
    assert "127.0.0.1 port 1 refused the connection. Check that sshd runs there and the " \
           "port is right." in said, said


@pytest.mark.parametrize("size", [(80, 24), (40, 12)])
def test_the_alerts_screen_lists_tests_and_sets_up_with_the_same_use_case(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, size: tuple[int, int],
) -> None:
    import asyncio

    from test_tui import check_cursor, make_app, press, screen_lines, settle
    from textual.widgets import Input

    from roost.app.watching import Watching
    from roost.deploy.hosts import HOSTS_FILE, Host, HostStore
    from roost.plan.workspace import Workspace
    from roost.tui.screens import open_screen

    vault_for_commands(home, PASSPHRASE, tmp_path, monkeypatch,
                       xmpp.create("alice", address=f"alice@{CHAT}"),
                       xmpp.create("alerts", address=f"roost-alerts@{ALERTS}"))
    store = HostStore(home / HOSTS_FILE)
    store.add(Host("pi", address="192.0.2.8", user="root"))
    store.add(Host("vps", address="127.0.0.1", port=1, user="root"))  # nothing listens
    Workspace.open(home, detect=False).deployed(
        "prosody", "pi", "0.12", ports=("5222/tcp", "5269/tcp"),
        options={"accounts": "alice", "address": "192.0.2.8"})

    async def run() -> None:
        app = make_app(home, screen_reader=True)
        async with app.run_test(size=size) as pilot:
            await settle(pilot, app)
            keys = [r.key for r in app.screen.menu.rows]  # type: ignore[attr-defined]
            assert keys.index("alerts") == keys.index("status") + 1
            open_screen(app, "alerts")
            await settle(pilot, app)
            assert type(app.screen).__name__ == "AlertsScreen"
            assert "Set up alerts, action, n, 1 of 1" in check_cursor(app)
            await press(pilot, app, "enter")
            assert type(app.screen).__name__ == "WatchFormScreen"
            form = app.screen
            assert form.query_one("#field-service", Input).value == "prosody"
            assert form.query_one("#field-host", Input).value == "pi"
            form.query_one("#field-watcher", Input).value = "vps"
            form.query_one("#field-to", Input).value = f"me@{ALERTS}"
            form.query_one("#field-passphrase", Input).value = PASSPHRASE
            form.query_one("#field-passphrase", Input).focus()
            await press(pilot, app, "enter")  # Enter on the last field submits
            # (not `settle`: it raises the worker's error, which is what is awaited here)
            for _ in range(50):  # the worker connects to the watcher host
                if "port 1 refused the" in " ".join(screen_lines(app)):
                    break
                await pilot.pause(0.1)
            assert "port 1 refused the" in " ".join(screen_lines(app))
            await press(pilot, app, "escape")  # (q types into the form's field)
            await settle(pilot, app)

    asyncio.run(run())
    # A watch kept from the command line: listed, Enter sends a test (here: refused).
    Watching(home).record(_watch())

    async def listed() -> None:
        app = make_app(home, screen_reader=True)
        async with app.run_test(size=size) as pilot:
            await settle(pilot, app)
            open_screen(app, "alerts")
            await settle(pilot, app)
            assert "chat (prosody) on pi, from vps" in check_cursor(app)
            await press(pilot, app, "enter")
            for _ in range(50):
                if "port 1 refused the" in " ".join(screen_lines(app)):
                    break
                await pilot.pause(0.1)
            assert "port 1 refused the" in " ".join(screen_lines(app))
            check_cursor(app)

    asyncio.run(listed())


EXIM_CONF = """primary_hostname = mail.roost.test
domainlist local_domains = roost.test
daemon_smtp_ports = 587
never_users = root
tls_advertise_hosts = *
tls_certificate = /etc/exim4/mail.crt
tls_privatekey = /etc/exim4/mail.key
auth_advertise_hosts = ${if eq{$tls_in_cipher}{}{}{*}}
acl_smtp_rcpt = acl_check_rcpt

begin acl
acl_check_rcpt:
  accept authenticated = *
         domains = +local_domains
  deny message = authentication required

begin routers
local_user:
  driver = accept
  domains = +local_domains
  check_local_user
  transport = mailbox

begin transports
mailbox:
  driver = appendfile
  file = /var/mail/$local_part_data
  delivery_date_add
  envelope_to_add
  return_path_add
  group = mail
  mode = 0660

begin authenticators
plain:
  driver = plaintext
  public_name = PLAIN
  server_prompts = :
  server_condition = ${if and{{eq{$auth2}{alerts}}\\
    {eq{$auth3}{${readfile{/etc/exim4/alerts.pw}{}}}}}}
  server_set_id = $auth2
"""
"""A mail server that takes mail for roost.test from the sender's login only, after STARTTLS
(Debian's exim4 with a configuration of its own; the login checked against a root-owned file
the test writes)."""


@pytest.mark.slow
@pytest.mark.container
def test_by_email_the_person_gets_one_mail_when_down_and_one_when_back(
    pi_host: TestHost, vps_host: TestHost, home: Path, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    """The same by e-mail: Debian's exim4 on the vps (STARTTLS before the login, the sender's
    login checked) delivers to the person's mailbox there."""
    from test_reach_relay import _trusted

    from roost.keys import login

    alice = xmpp.create("alice", address=f"alice@{CHAT}")
    sender = login.create("mail", user="alerts", email="alerts@roost.test")
    vault_for_commands(home, PASSPHRASE, tmp_path, monkeypatch, alice, sender)
    _trusted(home, pi_host, vps_host)
    assert main(["deploy", "prosody", "--host", "pi", "--quiet",
                 "--option", f"address={pi_host.address}"]) == 0
    vps_host.ssh(
        "set -e; DEBIAN_FRONTEND=noninteractive apt-get install -y -q exim4-daemon-light "
        ">/dev/null; useradd -m me; "
        f"echo '{vps_host.address} mail.roost.test' >> /etc/hosts; "
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 "
        "-subj /CN=mail.roost.test -addext subjectAltName=DNS:mail.roost.test "
        "-keyout /etc/exim4/mail.key -out /etc/exim4/mail.crt 2>/dev/null; "
        "cat > /etc/exim4/alerts.pw; chgrp Debian-exim /etc/exim4/mail.key "
        "/etc/exim4/alerts.pw; chmod 640 /etc/exim4/mail.key /etc/exim4/alerts.pw",
        input=sender.secret["password"].encode())
    vps_host.ssh("cat > /etc/exim4/exim4.conf && exim4 -bV >/dev/null && "
                 "systemctl restart exim4", input=EXIM_CONF.encode())
    cafile = tmp_path / "mail.crt"
    cafile.write_text(vps_host.ssh("cat /etc/exim4/mail.crt").stdout)
    capsys.readouterr()

    assert main(["watch", "prosody", "--host", "pi", "--from", "vps", "--via", "email",
                 "--to", "me@roost.test", "--sender", "mail", "--server",
                 "mail.roost.test:587", "--server-certificate", str(cafile), "--quiet"]) == 0
    said = capsys.readouterr().out
    assert "alerts by e-mail to me@roost.test from alerts@roost.test." in said, said

    def mails(subject: str) -> int:
        """How many mails with this subject the mailbox holds, once exim's queue has handed
        over the first (within 30 s on a loaded machine) and a moment more for any second."""
        count, waited = 0, 0.0
        while waited < 30:
            box = vps_host.ssh("cat /var/mail/me 2>/dev/null || true").stdout
            count = box.count(f"Subject: {subject}")
            if count:
                break
            time.sleep(0.5)
            waited += 0.5
        time.sleep(1)
        box = vps_host.ssh("cat /var/mail/me 2>/dev/null || true").stdout
        return box.count(f"Subject: {subject}")

    run = "systemctl start roost-watch-prosody-pi.service"
    assert main(["watch", "prosody", "--host", "pi", "--test"]) == 0, capsys.readouterr()
    assert mails("roost: a test from vps") == 1
    vps_host.ssh(run)
    pi_host.ssh("systemctl stop prosody")
    vps_host.ssh(run)
    vps_host.ssh(run)
    assert mails("roost: chat (prosody) on pi is down") == 1
    pi_host.ssh("systemctl start prosody")
    _prosody_answers(pi_host)
    # A run whose mail cannot go out (the SMTP server slow on a loaded machine) exits 1 and
    # keeps the state, so the timer's next run tells it: run until one has.
    for _ in range(4):
        if vps_host.ssh(run, check=False).returncode == 0:
            break
    vps_host.ssh(run)
    assert mails("roost: chat (prosody) on pi is back") == 1
    assert mails("roost: chat (prosody) on pi is down") == 1
    assert mails("roost: a test from vps") == 1
    # Three mails, each over TLS and logged in as the sender (exim's log: X= and A=).
    log = vps_host.ssh("cat /var/log/exim4/mainlog").stdout
    arrived = [line for line in log.splitlines() if " <= alerts@roost.test " in line]
    assert len(arrived) == 3, log
    assert all(" X=TLS" in line and " A=plain:alerts " in line for line in arrived), arrived


def test_the_watcher_script_runs_on_the_python_of_ubuntu_22_04() -> None:
    """The script runs on the watcher host's own python3, which may be 3.10 (Ubuntu 22.04, a
    common VPS): nothing the standard library gained in 3.11 is imported."""
    import ast

    newer = {("datetime", "UTC"), ("typing", "Self"), ("typing", "NotRequired"),
             ("typing", "Required"), ("typing", "LiteralString"), ("typing", "Never"),
             ("typing", "assert_never"), ("typing", "reveal_type")}
    tree = ast.parse(SCRIPT.read_text())
    used = {(n.module, a.name) for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)
            for a in n.names}
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert not used & newer and "tomllib" not in imported, used & newer
