"""`roost check`: every deployed service on every host, with the health check its deploy used,
the certificate's expiry by roost's clock, the host's disk, memory, read-only root and
automatic updates; one line per service, --json, exit 0 / 1 / 2.

The end-to-end test drives roost's own entry point over real SSH against two Debian hosts
booted with systemd: static-blog on pi, Prosody on vps; a service stopped, a certificate near
its end (by ROOST_NOW, never the wall clock), a small file system filled for real, a host down.
"""

from __future__ import annotations

import http.server
import json
import re
import socket
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
from support.certs import self_signed
from support.clock import TEST_NOW
from support.identities import vault_for_commands

from roost.app import checking, host_state
from roost.app.checking import Backup, CheckReport, HostCheck, Reach, ServiceCheck
from roost.app.deploying import note_deployed
from roost.app.last_check import last_states
from roost.cli.main import main
from roost.core.paths import data_dir
from roost.deploy import engine
from roost.deploy.hosts import HOSTS_FILE
from roost.deploy.trust import KNOWN_HOSTS
from roost.plan.workspace import Workspace

if TYPE_CHECKING:
    from testhost import TestHost

pytest_plugins = ["testhost"]

PROBE_OUT = """@df
Filesystem     1024-blocks    Used Available Capacity Mounted on
/dev/root         30000000 3000000  27000000      10% /
df: /nope: No such file or directory
tmpfs                 2048    2048         0     100% /srv/full
@mem
MemTotal:        3900000 kB
MemAvailable:    2048000 kB
@root
rw,relatime
ro,relatime
@uu
APT::Periodic::Unattended-Upgrade "1";
installed
"""


def test_the_host_probe_reads_disks_memory_a_read_only_root_and_updates() -> None:
    st = host_state.parse(PROBE_OUT, ["/", "/nope", "/srv/full"])
    assert [(d.path, d.free_mb) for d in st.disks] == [("/", 26367), ("/nope", None),
                                                        ("/srv/full", 0)]
    assert (st.memory_available_mb, st.memory_total_mb) == (2000, 3808)
    assert st.root_read_only is True  # the last mount of / is the one in force
    assert st.unattended_upgrades is True
    off = host_state.parse(PROBE_OUT.replace('"1"', '"0"').replace("ro,rel", "rw,rel"), ["/"])
    assert off.unattended_upgrades is False and off.root_read_only is False
    absent = host_state.parse(PROBE_OUT.split("@uu")[0] + "@uu\nabsent\n", ["/"])
    assert absent.unattended_upgrades is False
    attention = checking._host_attention(st, checking.Thresholds.load())
    assert attention[0] == "disk at /srv/full nearly full: 0 MB free (0%)"
    assert attention[1].startswith("the root file system is read-only")
    assert len(attention) == 2  # a path not on this host is said in its line, no alarm


def test_thresholds_are_data() -> None:
    t = checking.Thresholds.load()
    text = checking.THRESHOLDS_FILE.read_text()
    assert f"certificate_min_days = {t.certificate_min_days}" in text
    assert f"disk_min_free_percent = {t.disk_min_free_percent:g}" in text


def test_a_deploy_records_the_recipe_and_options_check_builds_again(tmp_path: Path) -> None:
    result = engine.DeployResult(True, "r", 1, 0, None, False, "1.22", ("80/tcp",),
                                 "static-blog", (("domain", "blog.example.org"),
                                                 ("port", "80")))
    note_deployed("static-blog", "pi", result, tmp_path)
    (d,) = checking.deployed(tmp_path)
    assert (d.service_id, d.host, d.recipe, dict(d.options)) == (
        "static-blog", "pi", "static-blog", {"domain": "blog.example.org", "port": "80"})
    assert d.label == "blog (static-blog)"
    # an option named like a secret is never written to the progress
    ws = Workspace.open(tmp_path, detect=False)
    ws.deployed("prosody", "vps", "0.12", options={"admin_password": "x", "domain": "c.org"})
    assert ws.progress.running()[-1].detail["options"] == {"domain": "c.org"}


def test_nothing_deployed_says_so_and_exits_0(
    home: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["check"]) == 0
    assert capsys.readouterr().out == "Nothing is deployed yet, so there is nothing to check.\n"
    assert main(["check", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["hosts"] == []


def test_the_hooks_for_backups_and_reach_are_said_in_words() -> None:
    s = ServiceCheck("prosody", "pi", "chat (prosody)", checking.WORKING,
                     certificate_days=61, backup=Backup(TEST_NOW - timedelta(hours=20)),
                     reach=Reach(True, "through the router's port forwarding"))
    assert s.words(TEST_NOW) == (
        "chat (prosody) on pi: working; certificate valid for 61 days; last backup 20 hours "
        "ago; reachable from outside through the router's port forwarding.")
    down = HostCheck("vps", False, "vps did not answer within 15 s", services=(
        ServiceCheck("prosody", "vps", "chat (prosody)", checking.UNKNOWN),))
    report = CheckReport(TEST_NOW, (HostCheck("pi", True, services=(s,)), down))
    assert report.exit_code == 2
    assert report.lines()[-2] == ("vps: could not be reached (vps did not answer within 15 s);"
                                  " not checked: chat (prosody).")


def _ways(home: Path) -> Workspace:
    """static-blog on this computer (the host "local"), and the ways in roost would have
    noted for it."""
    ws = Workspace.open(home, detect=False)
    ws.deployed("static-blog", "local", "1.22", recipe="static-blog",
                options={"address": "127.0.0.1", "port": "9"}, ports=("80/tcp", "443/tcp"))
    return ws


def test_the_ways_in_are_looked_at_on_the_host_and_said_in_words(home: Path) -> None:
    """Each way in the progress recorded, looked at on the host for real (this computer has
    no roost relay, no onion service and no UPnP router): gone ways say what is missing; a
    look that cannot be made keeps what roost noted, said as not confirmed."""
    from roost.app.connecting import connect
    from roost.app.hosts import find
    from roost.app.reached import reach_of

    ws = _ways(home)
    ws.record_reach("static-blog", "local", "relay", via="vps", address="192.0.2.9")
    ws.record_reach("static-blog", "local", "tor", address="a" * 56 + ".onion")
    with connect(find(home, "local"), home) as t:
        gone = reach_of(ws)("static-blog", "local", t)
        tor = ("the onion service is not on local"
               if t.run(["systemctl", "is-active", "--quiet", "tor@default"]).ok
               else "Tor is not running on local")
        assert gone == Reach(False, problem=(  # the latest way first
            f"{tor}; the relay's tunnel (roost-relay.service) is not running on local"))
        ws.record_reach("static-blog", "local", "upnp", address="192.0.2.1",
                        router="http://127.0.0.1:9/rootDesc.xml")
        kept = reach_of(ws)("static-blog", "local", t)
        assert kept is not None and kept.reachable, kept
        assert kept.how.startswith("through the router, which forwards 80/tcp, 443/tcp "
                                   "(UPnP) (as roost noted; not confirmed: "), kept.how
        # A service without a way in recorded: nothing said (and nothing looked at).
        ws.record_reach_removed("static-blog", "local", "upnp")
        ws.record_reach_removed("static-blog", "local", "relay")
        ws.record_reach_removed("static-blog", "local", "tor")
        assert reach_of(ws)("static-blog", "local", t) is None
        # A service nobody outside reaches: nothing said, whatever the progress holds.
        ws.deployed("minidlna", "local", "1", ports=("8200/tcp",))
        ws.record_reach("minidlna", "local", "relay", via="vps")
        assert reach_of(ws)("minidlna", "local", t) is None


def test_roost_check_says_how_each_service_is_reached(
        home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ws = _ways(home)
    ws.record_reach("static-blog", "local", "router", address="192.0.2.1")
    assert main(["check"]) == 1  # nothing answers on port 9: not working
    line = capsys.readouterr().out.splitlines()[0]
    assert line.startswith("blog (static-blog) on local: not working"), line
    assert line.endswith("; reachable from outside through the router, which forwards "
                         "80/tcp, 443/tcp (set by hand)."), line
    ws.record_reach("static-blog", "local", "relay", via="vps")
    ws.record_reach_removed("static-blog", "local", "router")
    report = checking.check(home)
    (s,) = report.services
    assert s.reach == Reach(False, problem="the relay's tunnel (roost-relay.service) is not "
                                           "running on local")
    assert "not reachable from outside" in s.attention
    assert s.words(report.at).endswith("; not reachable from outside (the relay's tunnel "
                                       "(roost-relay.service) is not running on local).")


# --- end to end, over real SSH ---------------------------------------------------------------

def _certificate(folder: Path, name: str, not_after: datetime) -> tuple[Path, Path]:
    """A self-signed certificate for `name` valid until `not_after` (dates from the test's
    clock, never the wall clock), and its key."""
    return self_signed(folder, name, TEST_NOW - timedelta(days=1), not_after)


TLS_SITE = """server {
    listen 443 ssl;
    server_name blog.roost.test;
    ssl_certificate /etc/ssl/roost-check/cert.pem;
    ssl_certificate_key /etc/ssl/roost-check/key.pem;
    root /var/www/roost-blog;
}
"""


def _serve_tls(pi: TestHost, crt: Path, key: Path) -> None:
    """What certbot would have done for the blog: nginx serves it over https too."""
    pi.ssh("mkdir -p /etc/ssl/roost-check && cat > /etc/ssl/roost-check/cert.pem",
           input=crt.read_bytes())
    pi.ssh("umask 077; cat > /etc/ssl/roost-check/key.pem", input=key.read_bytes())
    pi.ssh("cat > /etc/nginx/conf.d/roost-check-tls.conf && systemctl reload nginx",
           input=TLS_SITE.encode())
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            httpx.get(f"https://{pi.address}/", verify=False, timeout=2)
            return
        except httpx.TransportError:
            time.sleep(0.3)
    raise AssertionError("nginx did not start serving https")


def _check(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str]]:
    code = main(["check", *args])
    out = capsys.readouterr().out
    with capsys.disabled():
        print(f"\n$ roost check {' '.join(args)}  # exit {code}\n{out}")
    return code, out.splitlines()


@pytest.mark.slow
@pytest.mark.container
def test_check_two_hosts_stopped_service_expiry_full_disk_and_a_host_down(
    pi_host: TestHost, vps_host: TestHost, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from roost.deploy.hosts import Host, HostStore
    from roost.deploy.trust import KnownHosts

    home = tmp_path / "home"
    monkeypatch.setenv("ROOST_HOME", str(home))
    monkeypatch.setenv("ROOST_HOST_STATE_DIR", "/var/lib/roost-test-state")
    known = KnownHosts(data_dir() / KNOWN_HOSTS)
    known.path.parent.mkdir(parents=True, exist_ok=True)
    known.path.write_text(pi_host.known_hosts_lines() + vps_host.known_hosts_lines())
    known.path.chmod(0o600)
    from roost.keys.model import Identity

    vault_for_commands(home, "a long passphrase", tmp_path, monkeypatch,
                       Identity("alice", "xmpp", {"jid": "alice@chat.roost.test"},
                                {"password": "pw-" + "k3" * 12}))
    for name, h in (("pi", pi_host), ("vps", vps_host)):
        HostStore(data_dir() / HOSTS_FILE).add(Host(name, address=h.address, user="root",
                                                    port=h.ssh_port, key_path=str(h.key_path)))
    assert main(["deploy", "static-blog", "--host", "pi", "--quiet",
                 "--option", "domain=blog.roost.test",
                 "--option", f"address={pi_host.address}"]) == 0
    assert main(["deploy", "prosody", "--host", "vps", "--quiet",
                 "--option", "domain=chat.roost.test",
                 "--option", f"address={vps_host.address}"]) == 0
    capsys.readouterr()
    crt, key = _certificate(tmp_path, "blog.roost.test", TEST_NOW + timedelta(days=61))
    _serve_tls(pi_host, crt, key)

    # All good: both services work, the blog's certificate has 61 days by roost's clock.
    start = time.monotonic()
    code, lines = _check(capsys)
    took = time.monotonic() - start
    assert code == 0, lines
    assert "blog (static-blog) on pi: working; certificate valid for 61 days." in lines
    chat = next(line for line in lines if line.startswith("chat (prosody) on vps: "))
    assert re.match(r"chat \(prosody\) on vps: working; certificate valid for \d+ days\.$",
                    chat), chat  # Prosody's own self-signed one, read after STARTTLS
    pi_line = next(line for line in lines if line.startswith("pi: "))
    assert re.search(r"disk at /: [0-9.]+ (GB|MB) free \(\d+%\); memory: [0-9.]+ (GB|MB) "
                     r"available; root file system writable; automatic security updates "
                     r"(on|off)\.$", pi_line), pi_line
    assert lines[-1] == "All good."
    assert took < 30
    code, out = main(["check", "--json"]), json.loads(capsys.readouterr().out)
    assert code == 0 and out["exit_code"] == 0
    assert [(h["host"], [s["state"] for s in h["services"]]) for h in out["hosts"]] == [
        ("pi", ["working"]), ("vps", ["working"])]
    assert out["hosts"][0]["services"][0]["certificate_days"] == 61
    assert out["hosts"][0]["services"][0]["backup"] is None  # the hook, unfilled here
    # The plan's view of it: the last check, kept.
    last = last_states(home)
    assert last[("static-blog", "pi")].state == "working"

    # The same certificate 50 days later (ROOST_NOW, not the wall clock): 11 days left.
    monkeypatch.setenv("ROOST_NOW", (TEST_NOW + timedelta(days=50)).isoformat())
    code, lines = _check(capsys)
    assert code == 1
    assert "blog (static-blog) on pi: working; certificate valid for 11 days." in lines
    assert lines[-1] == "Something needs attention."
    monkeypatch.setenv("ROOST_NOW", TEST_NOW.isoformat())

    # Debian's unattended-upgrades installed and switched on in its own file: said "on".
    assert pi_line.endswith("automatic security updates off.")
    pi_host.ssh("DEBIAN_FRONTEND=noninteractive apt-get install -y -q unattended-upgrades "
                ">/dev/null && printf 'APT::Periodic::Update-Package-Lists \"1\";\\n"
                "APT::Periodic::Unattended-Upgrade \"1\";\\n' "
                "> /etc/apt/apt.conf.d/20auto-upgrades")
    code, lines = _check(capsys)
    assert code == 0
    assert next(line for line in lines if line.startswith("pi: ")).endswith(
        "automatic security updates on.")

    # The blog stopped: it is said in words, exit 1, the chat still works.
    pi_host.ssh("systemctl stop nginx")
    code, lines = _check(capsys)
    assert code == 1
    blog = next(line for line in lines if line.startswith("blog (static-blog) on pi: "))
    assert blog.startswith("blog (static-blog) on pi: not working, http://blog.roost.test/ at "
                           f"{pi_host.address} did not answer"), blog
    assert chat.split(";")[0] + ";" in "\n".join(lines)
    assert last_states(home)[("static-blog", "pi")].state == "not working"
    pi_host.ssh("systemctl start nginx")

    # A small file system filled for real, checked by path: said, exit 1.
    pi_host.ssh("mkdir -p /srv/full && mount -t tmpfs -o size=2m tmpfs /srv/full && "
                "(dd if=/dev/zero of=/srv/full/fill bs=64k 2>/dev/null || true)")
    code, lines = _check(capsys, "--disk", "/srv/full")
    assert code == 1
    assert any(line.startswith("blog (static-blog) on pi: working; certificate valid for 61 "
                               "days; disk at /srv/full nearly full: 0 MB free (0%).")
               for line in lines), lines
    assert "disk at /srv/full: 0 MB free (0%)" in next(
        line for line in lines if line.startswith("pi: "))

    # The vps down: one line for it, exit 2, and pi still checked.
    vps_host.stop()
    code, lines = _check(capsys)
    assert code == 2
    assert any(re.match(r"vps: could not be reached \(.+\); not checked: chat \(prosody\)\.$",
                        line) for line in lines), lines
    assert "blog (static-blog) on pi: working; certificate valid for 61 days." in lines
    assert lines[-1] == "Something could not be checked."
    assert not any("Traceback" in line for line in lines)


# --- on this computer: the recipe's own probe, and hosts in parallel ---------------------------

class _Page(http.server.BaseHTTPRequestHandler):
    body = b"<!doctype html><h1>someone else's page</h1>\n"

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: object) -> None:
        pass


def _record(home: Path, host: str, port: int) -> None:
    ws = Workspace.open(home, detect=False)
    ws.deployed("static-blog", host, "1.22", recipe="static-blog",
                options={"address": "127.0.0.1", "port": str(port)})


def test_the_check_is_the_deploys_own_probe_not_a_port_that_answers(home: Path) -> None:
    """A server answers 200 on the blog's port, but not with the blog's page: the static
    blog's health check (its front page's text, from the recipe) says so."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        _record(home, "local", server.server_port)
        report = checking.check(home)
    finally:
        server.shutdown()
        server.server_close()
    (s,) = report.services
    assert s.state == checking.NOT_WORKING
    assert s.detail.endswith("answered without the expected text")
    assert report.exit_code == 1


@pytest.mark.slow
def test_hosts_are_checked_in_parallel(home: Path) -> None:
    """Two hosts whose SSH never answers (a listener that accepts and stays silent) each cost
    the connection timeout (15 s); checked one after the other they would cost 30 s."""
    from roost.deploy.hosts import Host, HostStore

    silent = [socket.socket() for _ in range(2)]
    for n, s in enumerate(silent):
        s.bind(("127.0.0.1", 0))
        s.listen(4)
        port = s.getsockname()[1]
        HostStore(home / "hosts.toml").add(Host(f"quiet{n}", address="127.0.0.1", port=port,
                                                user="nobody"))
        _record(home, f"quiet{n}", 80)
    try:
        start = time.monotonic()
        report = checking.check(home)
        took = time.monotonic() - start
    finally:
        for s in silent:
            s.close()
    assert [h.reached for h in report.hosts] == [False, False]
    assert report.exit_code == 2
    assert all(line.startswith(("quiet0: could not be reached", "quiet1: could not be reached"))
               for line in report.lines()[:2]), report.lines()
    assert min(h.seconds for h in report.hosts) >= 10  # each waited for its timeout
    assert took < 25, took
