"""Hosts: target parsing and validation, hosts.toml, facts, and `roost host` end to end."""

from __future__ import annotations

import io
import json
import re
import sys
import time
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from roost.cli.main import main
from roost.core.errors import NewerFormatError, RoostError
from roost.core.paths import data_dir
from roost.deploy.facts import Facts, gather, parse_facts, parse_ports
from roost.deploy.hosts import HOSTS_FILE, Host, HostStore, open_transport, parse_target
from roost.deploy.local import LocalTransport

if TYPE_CHECKING:
    from sshd import Sshd

pytest_plugins = ["sshd"]


@pytest.fixture(autouse=True)
def _home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "roost-home"
    monkeypatch.setenv("ROOST_HOME", str(home))
    monkeypatch.setenv("HOME", str(tmp_path / "user-home"))  # no ~/.ssh/config, no keys
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    return home


def test_parse_target() -> None:
    assert parse_target("pi@192.168.1.5") == ("pi", "192.168.1.5", None)
    assert parse_target("root@vps.example.org:2222") == ("root", "vps.example.org", 2222)
    assert parse_target("host.local") == (None, "host.local", None)
    assert parse_target("me@[2001:db8::1]:22") == ("me", "2001:db8::1", 22)
    assert parse_target("2001:db8::2") == (None, "2001:db8::2", None)


@pytest.mark.parametrize("bad", [
    "root@x;touch /tmp/p", "ro ot@x", "$(id)@x", "root@$(id)", "root@x:0", "root@x:99999",
    "root@x:22;id", "root@[::1", "root@[nothost]:22", "root@-x", "'root'@x", "root@x\ny",
    "root@", "@x",
])
def test_parse_target_rejects_hostile(bad: str) -> None:
    with pytest.raises(RoostError):
        parse_target(bad)


def test_store_add_list_remove_and_file_format(_home: Path) -> None:
    store = HostStore(data_dir() / HOSTS_FILE)
    assert [h.name for h in store.all()] == ["local"]
    store.add(Host("vps", "vps.example.org", "admin", 2222, "/k"))
    store.add(Host("pi", "192.168.1.5", "pi"))
    assert [h.name for h in store.all()] == ["local", "pi", "vps"]
    assert store.get("vps").target() == "admin@vps.example.org:2222"
    with pytest.raises(RoostError, match="already a host"):
        store.add(Host("pi", "other"))
    with pytest.raises(RoostError, match="built in"):
        store.add(Host("local", "x"))
    with pytest.raises(RoostError, match="not a valid host name"):
        store.add(Host("Bad Name", "x"))
    data = tomllib.loads((_home / "hosts.toml").read_text())
    assert data["schema"] == 1
    assert data["hosts"]["vps"] == {"address": "vps.example.org", "user": "admin",
                                    "port": 2222, "key": "/k"}
    assert oct((_home / "hosts.toml").stat().st_mode & 0o777) == oct(0o600)
    store.save_facts("pi", {"arch": "aarch64", "tcp_ports": [22]}, "2026-01-01T00:00:00Z")
    assert store.get("pi").facts == {"arch": "aarch64", "tcp_ports": [22]}
    assert store.remove("pi").address == "192.168.1.5"
    with pytest.raises(RoostError, match="no host called 'pi'"):
        store.get("pi")
    with pytest.raises(RoostError):
        store.remove("local")


def test_newer_hosts_file_is_left_alone(_home: Path) -> None:
    _home.mkdir(parents=True)
    path = _home / "hosts.toml"
    path.write_text("schema = 99\n[hosts.x]\naddress = 'a'\n")
    with pytest.raises(NewerFormatError):
        HostStore(data_dir() / HOSTS_FILE).add(Host("y", "b"))
    assert path.read_text() == "schema = 99\n[hosts.x]\naddress = 'a'\n"


REPORT = """
@@roost os
PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
ID=debian
VERSION_ID="12"
VERSION_CODENAME=bookworm
@@roost arch
aarch64
@@roost mem
MemTotal:        3884096 kB
@@roost dfroot
Filesystem     1024-blocks    Used Available Capacity Mounted on
/dev/root         30000000 5000000  24000000      18% /
@@roost dfvar
Filesystem     1024-blocks    Used Available Capacity Mounted on
/dev/root         30000000 5000000  24000000      18% /
@@roost model
Raspberry Pi 4 Model B Rev 1.4
@@roost init
systemd
@@roost sudo
password
@@roost tcp
LISTEN 0      128          0.0.0.0:22        0.0.0.0:*
LISTEN 0      511             [::]:80           [::]:*
LISTEN 0      4096   127.0.0.53%lo:53        0.0.0.0:*
@@roost udp
@@proc
  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid
 1: 00000000:14E9 00000000:0000 07 00000000:00000000 00:00000000 00000000   108
@@roost hostname
pi
@@roost end
"""


def test_parse_facts_report() -> None:
    f = parse_facts(REPORT, "2026-01-01T00:00:00Z")
    assert (f.os_id, f.os_version, f.os_codename, f.arch) == ("debian", "12", "bookworm",
                                                              "aarch64")
    assert f.ram_mb == 3793 and f.root_free_mb == 23437 and f.var_free_mb == 23437
    assert f.pi_model == "Raspberry Pi 4 Model B Rev 1.4" and f.is_pi
    assert (f.init, f.sudo, f.hostname) == ("systemd", "password", "pi")
    assert f.tcp_ports == (22, 53, 80) and f.udp_ports == (5353,)
    assert f.port_taken(80) and not f.port_taken(80, "udp")
    assert Facts.from_dict(f.to_dict()) == f
    text = " ".join(f.lines())
    assert "Raspberry Pi 4" in text and "TCP 22, 53, 80" in text and "asks for a password" in text
    with pytest.raises(ValueError):
        parse_facts("@@roost os\nID=debian\n")  # cut off: no end marker


def test_parse_ports_proc_tcp() -> None:
    text = ("@@proc\n  sl  local_address rem_address   st\n"
            " 0: 0100007F:0016 00000000:0000 0A 0\n"
            " 1: 0100007F:1F90 0100007F:D431 01 0\n")
    assert parse_ports(text) == (22,)


def test_gather_local_in_one_command() -> None:
    calls: list[tuple[str, ...]] = []

    class Counting(LocalTransport):
        def run(self, argv, **kw):  # type: ignore[no-untyped-def, override]
            calls.append(tuple(argv))
            return super().run(argv, **kw)

    f = gather(Counting())
    assert calls == [("sh", "-s")]
    assert f.os_id and f.arch and f.ram_mb and f.root_free_mb and f.hostname
    assert f.sudo == "root" and f.read_at.endswith("Z")


def test_gather_over_ssh_sees_the_sshd_port(sshd: Sshd, tmp_path: Path) -> None:
    from roost.deploy.trust import KnownHosts

    host = Host("box", sshd.host, sshd.user, sshd.port, str(sshd.key))
    t = open_transport(host, trust=sshd.fingerprint(),
                       known_hosts=KnownHosts(tmp_path / "kh"))
    with t:
        f = gather(t)
    assert sshd.port in f.tcp_ports
    assert f.sudo == "root"


def _add(sshd: Sshd, *extra: str) -> int:
    return main(["host", "add", "box", f"{sshd.user}@{sshd.host}:{sshd.port}",
                 "--key", str(sshd.key), *extra])


def test_cli_add_needs_trust_when_not_a_tty(sshd: Sshd, capsys: pytest.CaptureFixture[str],
                                            _home: Path) -> None:
    assert _add(sshd) == 2
    err = capsys.readouterr().err
    assert err.startswith("roost: roost has not met box")
    assert sshd.fingerprint() in err and f"--trust {sshd.fingerprint()}" in err
    assert len(err.strip().splitlines()) == 1
    assert [h.name for h in HostStore(data_dir() / HOSTS_FILE).all()] == ["local"]  # nothing added

    assert _add(sshd, "--trust", "SHA256:" + "B" * 43) == 2
    assert "roost did not connect" in capsys.readouterr().err

    assert _add(sshd, "--trust", sshd.fingerprint()) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"Added box: {sshd.user}@{sshd.host}:{sshd.port}.")
    assert "Ports in use: TCP" in out
    host = HostStore(data_dir() / HOSTS_FILE).get("box")
    assert host.facts and sshd.port in host.facts["tcp_ports"]

    assert main(["host", "list"]) == 0
    listing = capsys.readouterr().out.splitlines()
    assert listing[0].startswith("local: this computer") and listing[1].startswith("box: ")

    assert main(["host", "facts", "box", "--json", "--refresh"]) == 0
    facts = json.loads(capsys.readouterr().out)
    assert facts["host"] == "box" and sshd.port in facts["tcp_ports"]

    assert main(["host", "forget", "box"]) == 0
    assert "Forgot the host key of box" in capsys.readouterr().out
    assert main(["host", "facts", "box"]) == 0  # cached: no connection needed
    capsys.readouterr()
    assert main(["host", "facts", "box", "--refresh"]) == 2  # forgotten: asks again
    assert "roost has not met box" in capsys.readouterr().err

    assert main(["host", "remove", "box"]) == 0
    assert [h.name for h in HostStore(data_dir() / HOSTS_FILE).all()] == ["local"]


def test_cli_add_asks_on_a_terminal(sshd: Sshd, capsys: pytest.CaptureFixture[str],
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import roost.cli.host_cmd as host_cmd

    monkeypatch.setattr(host_cmd, "_interactive", lambda: True)
    monkeypatch.setattr("sys.stdin", io.StringIO("no\n"))
    assert _add(sshd) == 2
    out = capsys.readouterr()
    assert sshd.fingerprint() in out.out and "Trust this key?" in out.out
    assert "was not trusted" in out.err
    monkeypatch.setattr("sys.stdin", io.StringIO("yes\n"))
    assert _add(sshd) == 0
    assert "Added box" in capsys.readouterr().out


def test_cli_hostile_names_never_reach_a_shell(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    canary = tmp_path / "canary"
    for name, target in [(f"x;touch {canary}", "root@127.0.0.1"),
                         ("pi", f"root@127.0.0.1;touch {canary}"),
                         ("pi", f"$(touch {canary})@127.0.0.1"),
                         ("pi", f"root@`touch {canary}`"),
                         ("pi", "root@127.0.0.1:22 -oProxyCommand=touch")]:
        assert main(["host", "add", name, target]) == 2
        assert capsys.readouterr().err.startswith("roost: ")
    assert main(["host", "add", "pi", "root@127.0.0.1", "--key", f"/k;touch {canary}",
                 "--trust", "SHA256:x"]) == 2
    capsys.readouterr()
    assert not canary.exists()


def test_facts_from_a_hostile_host_are_printable() -> None:
    evil = REPORT.replace("\npi\n@@roost end", "\n\x1b]0;pwned\x07pi\x1b[2J\n@@roost end")
    evil = evil.replace("ID=debian", "ID=deb\x1b[31mian")
    f = parse_facts(evil)
    assert f.hostname == "]0;pwnedpi[2J" and f.os_id == "deb[31mian"
    assert not any(c for line in f.lines() for c in line if not c.isprintable())


def test_missing_key_file_is_named(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["host", "add", "box", "root@127.0.0.1", "--key", "/nonexistent/key"]) == 2
    assert "there is no key file '/nonexistent/key'" in capsys.readouterr().err


def test_cli_add_in_a_real_terminal(sshd: Sshd, tmp_path: Path, _home: Path) -> None:
    """`roost host add` in a pty shows the fingerprint, asks, and trusts only after "yes"."""
    import os
    import sys

    from support.pty_run import pty_text

    def session(answer: str) -> tuple[int, str]:
        env = {**os.environ, "ROOST_HOME": str(_home), "HOME": str(tmp_path / "user-home"),
               "TERM": "dumb"}
        env.pop("SSH_AUTH_SOCK", None)
        return pty_text([sys.executable, "-m", "roost", "host", "add", "box",
                         f"{sshd.user}@{sshd.host}:{sshd.port}", "--key", str(sshd.key)],
                        env, [(b"Type yes or no:", answer.encode() + b"\n")], timeout=60)

    code, out = session("no")
    assert code == 2, out
    assert sshd.fingerprint() in out and "Trust this key?" in out
    assert "was not trusted" in out
    assert [h.name for h in HostStore(data_dir() / HOSTS_FILE).all()] == ["local"]
    code, out = session("yes")
    assert code == 0, out
    assert "Added box" in out
    assert HostStore(data_dir() / HOSTS_FILE).get("box").facts


@pytest.mark.slow
def test_first_contact_deploy_makes_one_ssh_handshake(
        sshd_factory: Callable[..., Sshd], tmp_path: Path, _home: Path) -> None:
    """`roost deploy` in a terminal, first contact: the fingerprint is asked within the one
    connection (as ssh does), not after a failed handshake followed by a second one."""
    from support.pty_run import pty_text
    from test_messages import _cli_env

    server = sshd_factory("once")
    log = server.folder / "sshd.log"
    _home.mkdir(parents=True, exist_ok=True)
    (_home / "hosts.toml").write_text(
        f'schema = 1\n[hosts.box]\naddress = "{server.host}"\nuser = "{server.user}"\n'
        f'port = {server.port}\nkey = "{server.key}"\n')
    for _ in range(100):  # the fixture's own port probe, logged once sshd notices it closed
        if b"Connection closed by" in log.read_bytes():
            break
        time.sleep(0.05)
    seen = len(log.read_bytes())
    site = tmp_path / "site"
    code, out = pty_text(
        [sys.executable, "-m", "roost", "deploy", "hello", "--host", "box", "--option",
         f"root={site}"], _cli_env(_home, tmp_path / "user-home", tmp_path / "state"),
        [(b"Type yes or no:", b"yes\n")])
    assert code == 0, out
    assert server.fingerprint() in out and "Trust this key?" in out
    assert (site / "greeting.txt").read_text().startswith("Hello")
    # sshd names each client connection by its source port (accepted, or closed before login)
    ports = set(re.findall(r"127\.0\.0\.1 port (\d+)", log.read_bytes()[seen:].decode()))
    assert len(ports) == 1, log.read_text(errors="replace")
