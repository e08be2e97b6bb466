"""Plain mode adds a host as the full-screen app does (issue 20, point 16), against a real
sshd on loopback: name and address checked as typed, the fingerprint shown and refused, then
confirmed; the host is kept with its facts. No `roost host add` needed."""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from support.clock import TEST_CLOCK as CLOCK
from test_plain import FACTS

from roost.cli.plain import run_plain
from roost.deploy.hosts import HOSTS_FILE, HostStore

if TYPE_CHECKING:
    from sshd import Sshd

pytest_plugins = ["sshd"]


@pytest.fixture
def home(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home.mkdir()
    monkeypatch.setenv("HOME", str(tmp_path / "user-home"))  # no ~/.ssh of the machine's user
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    return home


def plain(home: Path, lines: list[str]) -> str:
    out = io.StringIO()
    code = run_plain(False, home=home, facts=FACTS, clock=CLOCK,
                     stdin=io.StringIO("".join(x + "\n" for x in lines)), stdout=out)
    assert code == 0
    return out.getvalue()


def test_plain_adds_a_host_after_its_fingerprint_is_confirmed(home: Path, sshd: Sshd) -> None:
    target = f"{sshd.user}@{sshd.host}:{sshd.port}"
    menu = plain(home, ["0"])
    hosts_item = next(line.split(".")[0].strip() for line in menu.splitlines()
                      if "Hosts: the machines" in line)
    # Hosts, Add a host, a bad name, the name, a bad address, the address, the key; No.
    text = plain(home, [hosts_item, "1", "Bad Name!", "box", "nobody@", target,
                        str(sshd.key), "0"])
    assert "Make one with" not in text and "roost host add" not in text
    assert text.count("Please type it again.") == 2, text
    assert sshd.fingerprint() in text
    assert "the host was not trusted; nothing was changed" in text
    assert [h.name for h in HostStore(home / HOSTS_FILE).all()] == ["local"]
    # again, and Yes
    text = plain(home, [hosts_item, "1", "box", target, str(sshd.key), "1"])
    assert "Added box." in text, text
    host = HostStore(home / HOSTS_FILE).get("box")
    assert host.facts is not None and sshd.port in host.facts["tcp_ports"]
    # a second host of the same name is refused as it is typed
    text = plain(home, [hosts_item, "1", "box", "0"])
    assert "there is already a host called 'box'" in text
