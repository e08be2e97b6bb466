"""`roost watch --via matrix`: the alert is a Matrix message in a direct room the watcher makes
at set-up and invites the person to (roost.deploy.watch, scripts/roost_watch.py).

The proof uses real parts: Prosody on the "pi" (the watched service); on the "vps", Synapse
deployed by roost's own recipe (its vault identity's admin account is the sender), behind
nginx with a certificate of its own (the watcher speaks HTTPS only, its certificate checked),
the person's account registered there, and the person's Matrix client (httpx: /sync as the
person, after accepting the invitation) counting what it receives. The timer is run by hand
(`systemctl start roost-watch-...service`) to keep the test fast.
"""

from __future__ import annotations

import json
import secrets as rnd
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from support.identities import vault_for_commands

from roost.cli.main import main
from roost.core.errors import RoostError
from roost.deploy.dryrun import plan_lines, removal_lines
from roost.deploy.steps import RunCommand, Secret, WriteFile
from roost.deploy.watch import Probe, Watch, recipe
from roost.keys import matrix, xmpp

if TYPE_CHECKING:
    from testhost import TestHost

pytest_plugins = ["testhost"]

CHAT, SERVER = "chat.roost.test", "matrix.roost.test"
ME, SENDER = f"@me:{SERVER}", f"@admin:{SERVER}"
PASSPHRASE = "a long passphrase for the matrix watch"
HTTPS_PORT = 8443


def _watch(**kw: object) -> Watch:
    values: dict[str, object] = {
        "service_id": "prosody", "host": "pi", "watcher": "vps", "label": "chat (prosody)",
        "probe": Probe("xmpp", "192.0.2.8", 5222, name=CHAT), "to": ME, "sender": "matrix",
        "sender_jid": SENDER, "via": "matrix", "port": 443, "sender_user": SENDER,
        "sender_secret": "admin_password"}
    values.update(kw)
    return Watch(**values)  # type: ignore[arg-type]


def test_a_matrix_watch_makes_its_room_at_set_up_and_keeps_the_password_out_of_sight() -> None:
    w = _watch(server=SERVER, port=HTTPS_PORT)
    r = recipe(w)
    secrets = [s for s in r.steps if isinstance(s, WriteFile) and isinstance(s.content, Secret)]
    assert [(s.path, s.mode, s.content) for s in secrets] == [
        ("/etc/roost/watch/prosody-pi.secret", 0o600, Secret("matrix", "admin_password"))]
    (room,) = [s for s in r.steps if isinstance(s, RunCommand) and "--room" in s.argv]
    assert room.creates == "/etc/roost/watch/prosody-pi.room"  # made once, then remembered
    alert = w.config()["alert"]
    assert alert == {"via": "matrix", "to": ME, "sender": SENDER,
                     "room_file": "/etc/roost/watch/prosody-pi.room", "server": SERVER,
                     "port": HTTPS_PORT, "ca": "", "secret": "/etc/roost/watch/prosody-pi.secret"}
    assert "password" not in json.dumps(w.config())
    text = "\n".join(plan_lines(r, "vps"))
    assert "LoadCredential=sender:/etc/roost/watch/prosody-pi.secret" in text
    assert "/etc/roost/watch/prosody-pi.room" in "\n".join(removal_lines(r, False, "vps"))
    assert w.how().endswith(f"alerts over Matrix to {ME} from {SENDER}")
    # A room ID is taken as where alerts go; anything else is said in one line.
    assert _watch(to="!AbCd:example.org").to == "!AbCd:example.org"
    for bad, said in (("me@example.org", "not a Matrix ID"), ("@Me:example.org", "not a Matrix"),
                      ("@me:exa mple.org", "not a Matrix ID")):
        with pytest.raises(RoostError, match=said):
            _watch(to=bad)
    with pytest.raises(RoostError, match="not a Matrix user ID"):
        _watch(sender_jid="!room:example.org")


def test_the_matrix_sender_is_a_matrix_identity_of_the_vault(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    from roost.app.watching import Watching
    from roost.deploy.hosts import HOSTS_FILE, Host, HostStore
    from roost.plan.workspace import Workspace

    vault_for_commands(home, PASSPHRASE, tmp_path, monkeypatch,
                       xmpp.create("alice", address=f"alice@{CHAT}"),
                       matrix.create("matrix", server_name=SERVER))
    store = HostStore(home / HOSTS_FILE)
    store.add(Host("pi", address="192.168.1.5", user="root"))
    store.add(Host("vps", address="192.0.2.7", user="root"))
    Workspace.open(home, detect=False).deployed(
        "prosody", "pi", "0.12", options={"accounts": "alice", "address": "192.168.1.5"})
    w = Watching(home)
    with pytest.raises(RoostError, match="the identity alice is not a Matrix identity"):
        w.plan("prosody", "pi", "vps", to=ME, sender="alice", via="matrix")
    planned = w.plan("prosody", "pi", "vps", to=ME, sender="matrix", via="matrix")
    assert (planned.sender_jid, planned.sender_user, planned.sender_secret) == (
        SENDER, SENDER, "admin_password")
    assert (planned.server, planned.port) == ("", 443)  # its server name, HTTPS
    assert w.plan("prosody", "pi", "vps", to=ME, sender="matrix", via="matrix",
                  server=f"{SERVER}:{HTTPS_PORT}").port == HTTPS_PORT
    # The admin the server was deployed with, as the progress recorded it.
    Workspace.open(home, detect=False).deployed("matrix-synapse", "vps", "1.163.2",
                                                options={"admin": "boss"})
    assert w.plan("prosody", "pi", "vps", to=ME, sender="matrix",
                  via="matrix").sender_jid == f"@boss:{SERVER}"
    # The same from the command line: a bad Matrix ID is one line, exit 2.
    assert main(["watch", "prosody", "--host", "pi", "--from", "vps", "--via", "matrix",
                 "--to", "me@example.org", "--sender", "matrix", "--dry-run"]) == 2


NGINX = """server {
    listen PORT ssl;
    server_name NAME;
    ssl_certificate /etc/nginx/matrix.crt;
    ssl_certificate_key /etc/nginx/matrix.key;
    location /_matrix/ {
        proxy_pass http://127.0.0.1:8008;
        proxy_set_header X-Forwarded-For $remote_addr;
        proxy_set_header Host $host;
    }
}
""".replace("PORT", str(HTTPS_PORT)).replace("NAME", SERVER)
"""The homeserver's client API over HTTPS, as a public homeserver serves it."""


class MatrixInbox:
    """The person's Matrix app: logged in, syncing, collecting the messages others send."""

    def __init__(self, base: str, user: str, password: str) -> None:
        self.base = base
        r = httpx.post(f"{base}/_matrix/client/v3/login", timeout=20, json={
            "type": "m.login.password", "identifier": {"type": "m.id.user", "user": user},
            "password": password})
        assert r.status_code == 200, r.text
        self.me = r.json()["user_id"]
        self.auth = {"Authorization": f"Bearer {r.json()['access_token']}"}
        self.since = self._sync(0)["next_batch"]
        self.invites: list[str] = []
        self.direct: list[object] = []

    def _sync(self, timeout_ms: int) -> dict[str, Any]:
        params: dict[str, str | int] = {"timeout": timeout_ms}
        if getattr(self, "since", ""):
            params["since"] = self.since
        r = httpx.get(f"{self.base}/_matrix/client/v3/sync", params=params, headers=self.auth,
                      timeout=timeout_ms / 1000 + 20)
        assert r.status_code == 200, r.text
        data: dict[str, Any] = r.json()
        return data

    def _next(self, timeout_ms: int) -> list[str]:
        data = self._sync(timeout_ms)
        self.since = data["next_batch"]
        rooms = data.get("rooms", {})
        for room_id, room in rooms.get("invite", {}).items():
            self.invites.append(room_id)
            self.direct += [e["content"].get("is_direct") for e in
                            room.get("invite_state", {}).get("events", [])
                            if e.get("type") == "m.room.member" and e.get("state_key") == self.me]
        got = []
        for room in rooms.get("join", {}).values():
            for e in room.get("timeline", {}).get("events", []):
                if e.get("type") == "m.room.message" and e.get("sender") != self.me:
                    got.append(f"{e['sender']}: {e['content'].get('body', '')}")
        return got

    def accept_invitation(self, within: float = 30) -> str:
        deadline = time.monotonic() + within
        while not self.invites and time.monotonic() < deadline:
            assert self._next(2000) == []
        assert len(self.invites) == 1, self.invites
        room = self.invites[0]
        r = httpx.post(f"{self.base}/_matrix/client/v3/join/{room}", headers=self.auth,
                       timeout=20, json={})
        assert r.status_code == 200, r.text
        return room

    def received(self, settle: float, within: float = 30.0) -> list[str]:
        """The messages that came: up to `within` seconds for the first, then `settle` more
        for any other (none may come that should not)."""
        got: list[str] = []
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            left = deadline - time.monotonic()
            new = self._next(int(max(0.0, min(left, 5.0)) * 1000))
            if new:
                got += new
                deadline = time.monotonic() + settle
        return got


def _prosody_answers(pi_host: TestHost) -> None:
    pi_host.ssh("timeout 60 sh -c 'until ss -ltn | grep -q \":5222 \"; do sleep 0.2; done'")


@pytest.mark.slow
@pytest.mark.container
@pytest.mark.timeout(1800)  # pip installs Synapse on the vps
def test_over_matrix_the_person_gets_one_message_when_down_and_one_when_back(
    pi_host: TestHost, vps_host: TestHost, home: Path, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    from test_reach_relay import _trusted
    from testhost import ProcScanner, files_containing, record_time

    alice = xmpp.create("alice", address=f"alice@{CHAT}")
    server = matrix.create("matrix", server_name=SERVER)
    vault_for_commands(home, PASSPHRASE, tmp_path, monkeypatch, alice, server)
    _trusted(home, pi_host, vps_host)
    assert main(["deploy", "prosody", "--host", "pi", "--quiet", "--option", "accounts=alice",
                 "--option", f"address={pi_host.address}"]) == 0
    start = time.monotonic()
    assert main(["deploy", "matrix-synapse", "--host", "vps", "--quiet",
                 "--option", f"address={vps_host.address}"]) == 0
    record_time("watch_matrix_deploy_synapse", time.monotonic() - start)
    vps_host.ssh(
        "set -e; DEBIAN_FRONTEND=noninteractive apt-get install -y -q nginx >/dev/null; "
        f"echo '{vps_host.address} {SERVER}' >> /etc/hosts; "
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 "
        f"-subj /CN={SERVER} -addext subjectAltName=DNS:{SERVER} "
        "-keyout /etc/nginx/matrix.key -out /etc/nginx/matrix.crt 2>/dev/null; "
        "cat > /etc/nginx/sites-enabled/matrix; nginx -t 2>/dev/null; systemctl reload nginx",
        input=NGINX.encode())
    cafile = tmp_path / "matrix.crt"
    cafile.write_text(vps_host.ssh("cat /etc/nginx/matrix.crt").stdout)
    my_password = rnd.token_urlsafe(18)
    vps_host.ssh("/opt/synapse/venv/bin/register_new_matrix_user -c "
                 "/etc/synapse/homeserver.yaml -u me --no-admin --password-file /dev/stdin "
                 "http://127.0.0.1:8008", input=my_password.encode())
    inbox = MatrixInbox(f"http://{vps_host.address}:8008", "me", my_password)
    capsys.readouterr()


    def sender_sessions(where: str = "", table: str = "access_tokens") -> int:
        return int(vps_host.ssh(
            f"sqlite3 /var/lib/synapse/homeserver.db \"select count(*) from {table} where "
            f"user_id = '{SENDER}'{where}\"").stdout.strip())

    tokens_before = sender_sessions()
    password = server.secret["admin_password"]
    scan = ProcScanner([password]).__enter__()
    try:
        start = time.monotonic()
        assert main(["watch", "prosody", "--host", "pi", "--from", "vps", "--via", "matrix",
                     "--to", ME, "--sender", "matrix", "--server", f"{SERVER}:{HTTPS_PORT}",
                     "--server-certificate", str(cafile), "--every", "3", "--quiet"]) == 0
        record_time("watch_matrix_setup", time.monotonic() - start)
        said = capsys.readouterr().out
        assert f"alerts over Matrix to {ME} from {SENDER}." in said, said
        assert f"accept the invitation from {SENDER} to the room roost alerts" in said, said
        assert "From vps, chat (prosody) answers now." in said, said
        # One direct room, remembered on the watcher; the person accepts its invitation.
        room = inbox.accept_invitation()
        assert vps_host.ssh("cat /etc/roost/watch/prosody-pi.room").stdout.strip() == room
        assert inbox.direct == [True]  # the invitation says: a direct chat
        # The password: root-only on the watcher, nowhere else there, never in what was said.
        assert password not in said and files_containing(home, [password]) == []
        found = vps_host.ssh("grep -rlF -f /dev/stdin /etc /usr/local /var/lib || true",
                             input=password.encode()).stdout
        assert found.split() == ["/etc/roost/watch/prosody-pi.secret"], found

        run = "systemctl start roost-watch-prosody-pi.service"
        assert main(["watch", "prosody", "--host", "pi", "--test"]) == 0
        assert f"vps sent a test message to {ME}" in capsys.readouterr().out
        got = inbox.received(settle=2)
        assert len(got) == 1 and got[0].startswith(f"{SENDER}: roost: a test from vps"), got
        vps_host.ssh(run)
        vps_host.ssh(run)
        assert inbox.received(settle=0, within=3) == []

        pi_host.ssh("systemctl stop prosody")
        down = time.monotonic()
        vps_host.ssh(run)
        record_time("watch_matrix_down_alert", time.monotonic() - down)
        vps_host.ssh(run)
        vps_host.ssh(run)
        got = inbox.received(settle=3)
        assert len(got) == 1, got
        assert got[0].startswith(f"{SENDER}: roost: chat (prosody) on pi is down ("), got

        pi_host.ssh("systemctl start prosody")
        _prosody_answers(pi_host)
        vps_host.ssh(run)
        vps_host.ssh(run)
        got = inbox.received(settle=3)
        assert len(got) == 1, got
        assert got[0].startswith(f"{SENDER}: roost: chat (prosody) on pi is back"), got
        assert inbox.invites == [room]  # no second room, however many messages
    finally:
        scan.__exit__()
    assert scan.hits == [], f"the sender's password was visible in a process: {scan.hits}"
    # Each run logged out: no device or access token of the watcher's is left on the
    # homeserver (the admin's registration at the deploy keeps its own).
    assert sender_sessions() == tokens_before
    assert sender_sessions(" and display_name = 'roost-watch'", "devices") == 0

    assert main(["watch", "prosody", "--host", "pi", "--remove", "--quiet"]) == 0
    assert vps_host.gone("/etc/roost/watch/prosody-pi.room")


def test_plain_mode_and_the_app_set_up_matrix_alerts_with_the_same_use_case(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Plain mode's third way is Matrix; the app's form takes "matrix" as its way. Both plan
    the watch and go to the watcher host (here: nothing listens, said in one line)."""
    import asyncio
    import io

    from test_tui import make_app, press, screen_lines, settle
    from textual.widgets import Input

    from roost.cli.plain import Plain
    from roost.deploy.hosts import HOSTS_FILE, Host, HostStore
    from roost.plan.workspace import Workspace
    from roost.tui.screens import open_screen

    vault_for_commands(home, PASSPHRASE, tmp_path, monkeypatch,
                       xmpp.create("alice", address=f"alice@{CHAT}"),
                       matrix.create("matrix", server_name=SERVER))
    store = HostStore(home / HOSTS_FILE)
    store.add(Host("pi", address="192.0.2.8", user="root"))
    store.add(Host("vps", address="127.0.0.1", port=1, user="root"))  # nothing listens
    ws = Workspace.open(home, detect=False)
    ws.deployed("prosody", "pi", "0.12", ports=("5222/tcp", "5269/tcp"),
                options={"accounts": "alice", "address": "192.0.2.8"})
    out = io.StringIO()
    answers = "\n".join(["1", "1", "1", "3", ME, "matrix", "", "0", ""])
    Plain(ws, out, io.StringIO(answers), False).alerts()
    said = out.getvalue()
    assert "3. As a Matrix message" in said and "Your Matrix ID, like @you:example.org" in said
    assert "Setting up the watcher on vps." in said, said
    assert "127.0.0.1 port 1 refused the connection." in said, said

    async def run() -> None:
        app = make_app(home, screen_reader=True)
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot, app)
            open_screen(app, "alerts")
            await settle(pilot, app)
            await press(pilot, app, "enter")
            form = app.screen
            for field, value in (("watcher", "vps"), ("via", "matrix"), ("to", ME),
                                 ("sender", "matrix"), ("passphrase", PASSPHRASE)):
                form.query_one(f"#field-{field}", Input).value = value
            form.query_one("#field-passphrase", Input).focus()
            await press(pilot, app, "enter")
            for _ in range(50):
                if "port 1 refused the" in " ".join(screen_lines(app)):
                    break
                await pilot.pause(0.1)
            assert "port 1 refused the" in " ".join(screen_lines(app))

    asyncio.run(run())


def test_the_watcher_never_sends_the_password_to_a_homeserver_without_tls() -> None:
    """A server on this machine that speaks plain HTTP: the TLS handshake fails before any
    request, so the login (and its password) is never sent; said in one line."""
    import http.server
    import threading

    from test_watch import _script

    seen: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            seen.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        script = _script()
        script.TIMEOUT = 5.0
        port = server.server_address[1]
        alert = {"via": "matrix", "to": ME, "sender": SENDER, "server": "127.0.0.1",
                 "port": port, "ca": "", "secret": "/nonexistent"}
        with pytest.raises(script.Refused, match=rf"TLS with 127.0.0.1:{port} failed"):
            script.send_matrix(alert, "the password", "hello")
    finally:
        server.shutdown()
    assert seen == []
