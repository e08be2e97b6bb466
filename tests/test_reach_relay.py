"""The relay through the person's VPS (roost.deploy.relay, roost.app.relaying, `roost reach ID
--host PI --relay VPS`), proven with real parts.

Two booted test hosts: the "pi" runs Prosody, deployed with `roost deploy`; the "vps" relays.
This machine plays the networks between them: the Pi's traffic to the VPS leaves through a
NAT (as from a home behind carrier-grade NAT), the VPS can open no connection to the Pi, and a
client network namespace (name and subnet from the test host slot) reaches only the VPS's
address. A real XMPP client (slixmpp) in that namespace logs in through the VPS; it still does
after the tunnel's process on the Pi is killed and after the VPS reboots; after `--close` both
hosts are clean and the login fails.
"""

from __future__ import annotations

import io
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from roost.app.relaying import Relaying
from roost.core.errors import RoostError
from roost.core.paths import data_dir
from roost.deploy.dryrun import plan_lines, removal_lines
from roost.deploy.hosts import HOSTS_FILE, Host
from roost.deploy.recipe import Port
from roost.deploy.relay import (
    CONF,
    INTERFACE,
    UNIT,
    Relay,
    home_recipe,
    nft_rules,
    vps_recipe,
)
from roost.deploy.steps import RenderTemplate, Secret
from roost.deploy.trust import KNOWN_HOSTS

if TYPE_CHECKING:
    from testhost import TestHost

pytest_plugins = ["testhost"]

HERE = Path(__file__).resolve().parent
DOMAIN = "chat.roost.test"
PASSPHRASE = "correct horse battery staple relay"


def _relay(**kw: object) -> Relay:
    values: dict[str, object] = {
        "service_id": "prosody", "home": "pi", "vps": "vps", "vps_address": "192.0.2.7",
        "home_key": "relay-pi", "home_public": "HOMEPUBLIC=", "vps_key": "relay-vps",
        "vps_public": "VPSPUBLIC=",
        "ports": (Port(5222, option=None), Port(5269, option=None), Port(3478, "udp"))}
    values.update(kw)
    return Relay(**values)  # type: ignore[arg-type]


def test_each_end_gets_its_own_key_and_the_vps_forwards_only_the_services_ports() -> None:
    r = _relay()
    home, vps = home_recipe(r), vps_recipe(r)
    secrets = {name: [v for s in recipe.steps if isinstance(s, RenderTemplate)
                      for v in s.values.values() if isinstance(v, Secret)]
               for name, recipe in (("home", home), ("vps", vps))}
    assert secrets == {"home": [Secret("relay-pi", "private_key")],
                       "vps": [Secret("relay-vps", "private_key")]}
    assert all(s.mode == 0o600 and s.owner == "root" for recipe in (home, vps)
               for s in recipe.steps if isinstance(s, RenderTemplate) and s.path == CONF)
    text = "\n".join(plan_lines(home, "pi") + plan_lines(vps, "vps"))
    assert "PersistentKeepalive = 25" in text and "Endpoint = 192.0.2.7:51820" in text
    assert "<secret: relay-pi private_key>" in text and "Restart=always" in text
    rules = nft_rules(r)
    # Its own table, replaced whole on each load; only traffic to the VPS itself is forwarded.
    assert rules.count("table ip roost_relay_prosody") == 3
    assert "fib daddr type local tcp dport { 5222, 5269 } dnat to 10.213.47.2" in rules
    assert "fib daddr type local udp dport { 3478 } dnat to 10.213.47.2" in rules
    assert 'oifname "roost-relay" ip daddr 10.213.47.2 tcp dport { 5222, 5269 } masquerade' \
        in rules
    assert [str(p) for p in vps.ports] == ["5222/tcp", "5269/tcp", "3478/udp"]
    # Removing the last service takes the tunnel away on both ends; another keeps it.
    assert f"systemctl disable --now {UNIT}" in "\n".join(removal_lines(home, False, "pi"))
    kept = "\n".join(removal_lines(vps_recipe(r, last=False), False, "vps"))
    assert "roost_relay_prosody" in kept and UNIT not in kept


def test_a_relay_refuses_what_cannot_work() -> None:
    with pytest.raises(RoostError, match="no ports to relay"):
        _relay(ports=())
    with pytest.raises(RoostError, match="tunnel uses UDP port 51820"):
        _relay(ports=(Port(51820, "udp"),))
    with pytest.raises(RoostError, match="not a valid VPS address"):
        _relay(vps_address="vps; rm -rf /")
    pi = Host("pi", address="192.0.2.8")
    with pytest.raises(RoostError, match="cannot relay to itself"):
        Relaying("prosody", pi, pi, Path("/nonexistent"))
    with pytest.raises(RoostError, match="no address people outside can reach"):
        Relaying("prosody", pi, Host("local"), Path("/nonexistent"))


def test_the_ends_identities_are_made_in_the_vault_once(home: Path) -> None:
    from roost.keys.vault import Vault

    Vault.create(home, PASSPHRASE)
    asked: list[int] = []

    def passphrase() -> str:
        asked.append(1)
        return PASSPHRASE

    r = Relaying("prosody", Host("pi", address="192.0.2.8"), Host("vps", address="192.0.2.7"),
                 home, passphrase=passphrase)
    with pytest.raises(RoostError, match="no WireGuard identity relay-pi"):
        r.identities(create=False)
    first = r.identities(create=True)
    assert asked == [1] and first[0] != first[1]
    assert r.identities(create=True) == first and asked == [1]  # kept, not made again
    vault = Vault.open(home, PASSPHRASE)
    assert [vault.get(f"relay-{h}").kind for h in ("pi", "vps")] == ["wireguard"] * 2


def test_the_command_dry_run_shows_both_ends_and_connects_to_nothing(
    home: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    from roost.cli.main import main
    from roost.deploy.hosts import HostStore

    store = HostStore(data_dir() / HOSTS_FILE)
    store.add(Host("pi", address="192.0.2.8", user="root"))
    store.add(Host("vps", address="192.0.2.7", user="root"))
    from roost.plan.workspace import Workspace

    Workspace.open(home, detect=False).deployed("prosody", "pi", "0.12",
                                                 ports=("5222/tcp", "5269/tcp"))
    assert main(["reach", "prosody", "--host", "pi", "--relay", "vps", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "dry run: the relay on vps for prosody on vps" in out
    assert "dry run: the relay tunnel from pi to vps on pi" in out
    assert "PublicKey = <the public key of relay-vps, made on first use>" in out
    assert "tcp dport { 5222, 5269 } dnat to 10.213.47.2" in out  # as deployed
    assert main(["reach", "prosody", "--host", "pi", "--relay", "vps", "--close",
                 "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "nft delete table ip" in out and "systemctl disable --now roost-relay.service" in out
    assert main(["reach", "prosody", "--host", "pi", "--dry-run"]) == 2  # which way?
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--relay VPS" in err


def test_plain_mode_offers_the_relay_where_the_service_runs_and_runs_the_use_case(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    from roost.cli.plain import Plain
    from roost.deploy.hosts import HostStore
    from roost.keys.vault import Vault
    from roost.plan.workspace import Workspace

    Vault.create(home, PASSPHRASE)
    (tmp_path / "pass").write_text(PASSPHRASE + "\n")
    monkeypatch.setenv("ROOST_PASSPHRASE_FILE", str(tmp_path / "pass"))
    store = HostStore(data_dir() / HOSTS_FILE)
    store.add(Host("pi", address="192.0.2.8", user="root"))
    store.add(Host("vps", address="127.0.0.1", port=1, user="root"))  # nothing listens
    ws = Workspace.open(home, detect=False)
    ws.deployed("prosody", "pi", "0.12", ports=("5222/tcp", "5269/tcp"))
    out = io.StringIO()
    plain = Plain(ws, out, io.StringIO("1\n"), False)
    choices = dict(plain.relay_choices("prosody"))
    assert list(choices) == ["Reach it from outside through your VPS (it runs on pi)"]
    choices["Reach it from outside through your VPS (it runs on pi)"]()
    said = out.getvalue()
    assert "Which host is your VPS?" in said and "1. vps: root@127.0.0.1:1." in said
    # The use case ran, and said in one line why it stopped.
    assert said.endswith("the relay on vps for prosody, on vps:\n127.0.0.1 port 1 refused the "
                         "connection. Check that sshd runs there and the port is right.\n")
    # It made both ends' keys on the way; once the relay is noted, plain offers removing it.
    assert {i.id for i in Vault.public_index(home)} >= {"relay-pi", "relay-vps"}
    ws.record_reach("prosody", "pi", "relay", via="vps", address="127.0.0.1")
    assert list(dict(plain.relay_choices("prosody"))) == [
        "Remove the relay through vps (it runs on pi)"]


def test_the_deploy_screen_offers_the_relay_and_runs_the_use_case(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    import asyncio

    from test_tui import check_cursor, running, screen_lines, settle
    from textual.widgets import Input

    from roost.deploy.engine import DeployResult
    from roost.deploy.hosts import HostStore
    from roost.keys.vault import Vault
    from roost.tui.a11y import AccessibleList
    from roost.tui.screens import open_screen

    Vault.create(home, PASSPHRASE)
    store = HostStore(data_dir() / HOSTS_FILE)
    store.add(Host("pi", address="192.0.2.8", user="root"))
    store.add(Host("vps", address="127.0.0.1", port=1, user="root"))  # nothing listens

    async def run() -> None:
        async with running(home, screen_reader=True) as (pilot, app):
            open_screen(app, "deploy", "prosody")
            await settle(pilot, app)
            screen = app.screen
            screen.query_one("#field-passphrase", Input).value = PASSPHRASE
            screen.host_name = "pi"  # type: ignore[attr-defined]
            screen.query_one("#deploy-form").display = False  # as once a deploy started
            # A deploy of Prosody to pi just finished (what the engine returns).
            screen.finished(DeployResult(True, "r", 5, 0, None, False, "0.12",  # type: ignore[attr-defined]
                                         ("5222/tcp", "5269/tcp")))
            await settle(pilot, app)
            menu = screen.query_one(AccessibleList)
            keys = [r.key for r in menu.rows]
            assert "relay:vps" in keys and "relay:pi" not in keys
            menu.highlighted = keys.index("relay:vps")
            await pilot.pause()
            assert "Reach it from outside through vps" in check_cursor(app)
            await pilot.press("enter")
            await settle(pilot, app)
            # The use case ran: the VPS was tried first, and why it stopped said in one line.
            log = screen.lines  # type: ignore[attr-defined]
            assert log[-4:-1] == [
                "relaying through vps", "the relay on vps for prosody, on vps:",
                "127.0.0.1 port 1 refused the connection. Check that sshd runs there and the "
                "port is right."], log
            assert "127.0.0.1 port 1 refused the connection" in "\n".join(screen_lines(app))
            check_cursor(app)

    asyncio.run(run())
    assert {i.id for i in Vault.public_index(home)} >= {"relay-pi", "relay-vps"}


# --- with real parts ----------------------------------------------------------------------------

@dataclass
class Client:
    """A network namespace on this machine that reaches only `allowed` (the VPS)."""

    name: str
    table: str
    link: str

    def login(self, address: str, jid: str, password: str, cafile: Path) -> str:
        proc = subprocess.run(
            ["ip", "netns", "exec", self.name, sys.executable,
             str(HERE / "support" / "xmpp_login.py"), address, jid, str(cafile)],
            input=password + "\n", capture_output=True, text=True, timeout=60)
        return (proc.stdout.strip() or proc.stderr.strip()[-300:]) if proc.returncode else "ok"

    def wait_login(self, address: str, jid: str, password: str, cafile: Path,
                   within: float) -> float:
        start = time.monotonic()
        said = ""
        while time.monotonic() - start < within:
            said = self.login(address, jid, password, cafile)
            if said == "ok":
                return time.monotonic() - start
            time.sleep(1)
        raise AssertionError(f"no login through {address} within {within:.0f} s: {said}")


def _sh(*argv: str) -> None:
    subprocess.run(argv, check=True, capture_output=True)


@pytest.fixture
def client(pi_host: TestHost, vps_host: TestHost) -> Iterator[Client]:
    """The networks around the two hosts, made from the VPS's slot (never a fixed name or
    subnet): the client namespace reaches only the VPS's address; the Pi reaches the VPS only
    through a NAT (its home router); nothing opens a connection to the Pi from outside."""
    n = int(vps_host.machine.removeprefix("rt").partition("-")[0])
    c = Client(f"rrc{n}", f"roost_rrc{n}", f"rrc{n}h")
    net = f"10.239.{n}"
    for cmd in (["ip", "netns", "del", c.name], ["ip", "link", "del", c.link],
                ["nft", "delete", "table", "ip", c.table]):
        subprocess.run(cmd, capture_output=True)  # what a crashed run of this slot left
    _sh("ip", "netns", "add", c.name)
    _sh("ip", "link", "add", c.link, "type", "veth", "peer", "name", f"rrc{n}c")
    _sh("ip", "link", "set", f"rrc{n}c", "netns", c.name)
    _sh("ip", "addr", "add", f"{net}.1/30", "dev", c.link)
    _sh("ip", "link", "set", c.link, "up")
    inside = ["ip", "netns", "exec", c.name]
    _sh(*inside, "ip", "addr", "add", f"{net}.2/30", "dev", f"rrc{n}c")
    _sh(*inside, "ip", "link", "set", f"rrc{n}c", "up")
    _sh(*inside, "ip", "link", "set", "lo", "up")
    _sh(*inside, "ip", "route", "add", "default", "via", f"{net}.1")
    rules = f"""
table ip {c.table} {{
  chain clientfwd {{ type filter hook forward priority -10; policy accept;
    iifname "{c.link}" ip daddr != {vps_host.address} drop
    ip saddr {vps_host.address} ip daddr {pi_host.address} ct state new drop
  }}
  chain clientin {{ type filter hook input priority -10; policy accept;
    iifname "{c.link}" drop
  }}
  chain homenat {{ type nat hook postrouting priority 90; policy accept;
    ip saddr {pi_host.address} ip daddr {vps_host.address} masquerade
  }}
}}
"""
    subprocess.run(["nft", "-f", "-"], input=rules, text=True, check=True)
    try:
        yield c
    finally:
        for cmd in (["ip", "netns", "del", c.name], ["ip", "link", "del", c.link],
                    ["nft", "delete", "table", "ip", c.table]):
            subprocess.run(cmd, capture_output=True)


def _trusted(home: Path, *hosts: TestHost) -> None:
    from roost.deploy.hosts import HostStore
    from roost.deploy.trust import KnownHosts

    store = HostStore(data_dir() / HOSTS_FILE)
    known = KnownHosts(data_dir() / KNOWN_HOSTS)
    known.path.parent.mkdir(parents=True, exist_ok=True)
    known.path.write_text("".join(h.known_hosts_lines() for h in hosts))
    known.path.chmod(0o600)
    for h in hosts:
        store.add(Host(h.role, address=h.address, user="root", port=h.ssh_port,
                       key_path=str(h.key_path)))


def _tunnel_pid(host: TestHost) -> str:
    return host.ssh("pidof wireguard-go || true").stdout.strip()


def _clean(host: TestHost) -> None:
    assert host.ssh(f"ip link show {INTERFACE}", check=False).returncode != 0
    assert "roost_relay" not in host.ssh("nft list tables 2>/dev/null || true").stdout
    assert host.ssh(f"systemctl is-active {UNIT}", check=False).stdout.strip() != "active"
    assert host.ssh(f"test -e {CONF}", check=False).returncode == 1


@pytest.mark.slow
@pytest.mark.container
def test_a_client_outside_logs_in_through_the_vps_and_the_relay_comes_back_by_itself(
    pi_host: TestHost, vps_host: TestHost, client: Client, home: Path, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    from support.resume import Cut
    from testhost import ProcScanner, files_containing, record_time

    from roost.app.hosts import find
    from roost.app.identities import add_and_record
    from roost.cli.main import main
    from roost.cli.plain import Plain
    from roost.deploy.events import StepStarted
    from roost.keys import wireguard, xmpp
    from roost.keys.vault import Vault
    from roost.plan.workspace import Workspace

    pass_file = tmp_path / "passphrase"
    pass_file.write_text(PASSPHRASE + "\n")
    pass_file.chmod(0o600)
    monkeypatch.setenv("ROOST_PASSPHRASE_FILE", str(pass_file))
    vault = Vault.create(home, PASSPHRASE)
    alice = xmpp.create("alice", address=f"alice@{DOMAIN}")
    add_and_record(vault, alice)
    jid, password = alice.public["jid"], alice.secret["password"]
    _trusted(home, pi_host, vps_host)

    assert main(["deploy", "prosody", "--host", "pi", "--quiet",
                 "--option", f"address={pi_host.address}"]) == 0
    cafile = tmp_path / "server.crt"
    cafile.write_text(pi_host.ssh(f"cat /etc/prosody/certs/{DOMAIN}.crt").stdout)
    # Before the relay: the client reaches neither the Pi nor Prosody through the VPS.
    assert client.login(pi_host.address, jid, password, cafile) != "ok"
    assert client.login(vps_host.address, jid, password, cafile) != "ok"
    capsys.readouterr()

    # The VPS's own firewall (Debian's nftables.service, which flushes everything at boot),
    # which the relay must leave alone.
    vps_host.ssh("apt-get install -y -q nftables >/dev/null && cat > /etc/nftables.conf && "
                 "systemctl enable --now nftables", input=b"""flush ruleset
table inet theirs {
  chain input { type filter hook input priority 0; policy accept; tcp dport 2222 accept; }
}
""")
    theirs = vps_host.ssh("nft list table inet theirs").stdout

    # The two ends' WireGuard identities (roost makes them when missing: tested apart).
    keys = {}
    for label in ("relay-pi", "relay-vps"):
        made = wireguard.create(label)
        add_and_record(vault, made)
        keys[label] = made.secret["private_key"]
    start = time.monotonic()
    with ProcScanner(list(keys.values())) as scan:
        # Cut off as the home end's last step starts (Ctrl+C, a lost connection)...
        relaying = Relaying("prosody", find(home, "pi"), find(home, "vps"), home,
                            passphrase=lambda: PASSPHRASE)
        last = home_recipe(relaying.relay()).total

        def cut(e: object) -> None:
            if isinstance(e, StepStarted) and e.index == e.total == last:
                raise Cut

        relaying.on_event = cut
        with pytest.raises(Cut):
            relaying.open()
        # ... the same command again finishes it.
        assert main(["reach", "prosody", "--host", "pi", "--relay", "vps", "--quiet"]) == 0
    record_time("reach_relay_open", time.monotonic() - start)
    assert scan.hits == [], f"a private key was visible in a process: {scan.hits}"
    said = capsys.readouterr().out
    assert "continuing the relay tunnel from pi to vps that stopped earlier" in said, said
    assert f"Point your domain at vps, not at your home: its A record (or AAAA) must give " \
           f"{vps_host.address}." in said, said
    assert "The relay is up: people reach Prosody (XMPP chat) on pi through vps at " \
        f"{vps_host.address} (port 5222, port 5269)" in said, said
    assert keys["relay-pi"] not in said and keys["relay-vps"] not in said
    assert files_containing(home, list(keys.values())) == []  # in the sealed vault only

    first = client.wait_login(vps_host.address, jid, password, cafile, within=30)
    record_time("reach_relay_first_login", first)
    # Each private key only on its own host, in a file only root reads.
    for host, own, other in ((pi_host, "relay-pi", "relay-vps"),
                             (vps_host, "relay-vps", "relay-pi")):
        assert host.ssh(f"stat -c '%a %U' {CONF}").stdout.split() == ["600", "root"]
        assert files_containing(host.changes, [keys[other]]) == []
        assert files_containing(host.changes, [keys[own]]) == [str(host.changes / CONF[1:])]

    # A second run changes nothing: the tunnel keeps its process.
    before = _tunnel_pid(pi_host)
    assert main(["reach", "prosody", "--host", "pi", "--relay", "vps", "--quiet"]) == 0
    assert _tunnel_pid(pi_host) == before != ""

    # The tunnel's process on the Pi is killed: systemd brings it back by itself.
    pi_host.ssh(f"kill -KILL {before}")
    back = client.wait_login(vps_host.address, jid, password, cafile, within=60)
    record_time("reach_relay_back_after_kill", back)
    assert _tunnel_pid(pi_host) not in ("", before)

    # The VPS reboots: its end and its forwarding come back, and the Pi finds it again.
    vps_host.reboot()
    back = client.wait_login(vps_host.address, jid, password, cafile, within=90)
    record_time("reach_relay_back_after_vps_reboot", back)

    # roost check says how it is reached, from a look at the Pi: the tunnel's unit runs.
    main(["check"])
    line = next(x for x in capsys.readouterr().out.splitlines()
                if x.startswith("chat (prosody) on pi: "))
    assert line.endswith("; reachable from outside through the relay on vps."), line

    # Closed from plain mode (as `--close`): both ends clean, noted, and the login fails.
    out = io.StringIO()
    plain = Plain(Workspace.open(home, detect=False), out, io.StringIO(), False)
    dict(plain.relay_choices("prosody"))["Remove the relay through vps (it runs on pi)"]()
    assert "The tunnel is gone from both hosts." in out.getvalue(), out.getvalue()
    _clean(pi_host)
    _clean(vps_host)
    assert vps_host.ssh("nft list table inet theirs").stdout == theirs
    assert client.login(vps_host.address, jid, password, cafile) != "ok"
    assert pi_host.ssh("systemctl is-active prosody").stdout.strip() == "active"

    events = [e.kind for e in Workspace.open(home, detect=False).progress.events]
    assert events.count("reach") == 2 and events[-1] == "reach_removed"

    # Undeploying the service takes its relay away too, on both ends.
    assert main(["reach", "prosody", "--host", "pi", "--relay", "vps", "--quiet"]) == 0
    client.wait_login(vps_host.address, jid, password, cafile, within=30)
    capsys.readouterr()
    assert main(["undeploy", "prosody", "--host", "pi"]) == 0
    assert "The tunnel is gone from both hosts." in capsys.readouterr().out
    _clean(pi_host)
    _clean(vps_host)
    events = [e.kind for e in Workspace.open(home, detect=False).progress.events]
    assert events[-2:] == ["reach_removed", "removed"]
