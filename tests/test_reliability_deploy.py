"""Reliability of a deploy over SSH when the host goes away in the middle.

tests/test_engine_real.py already cuts the SSH session (the sshd child killed) and kills the
roost process mid-deploy. These cover the two other ways a real deploy gets interrupted:
- the host reboots: the whole sshd goes away and comes back (same host key, same port);
- the network silently drops every packet (no reset): roost must notice within its
  dead-connection limit instead of hanging, say so in one line, and resume once the network
  is back.
Each time the resumed deploy completes with every step applied exactly once.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from support.counter import counter_recipe

from roost.core.paths import data_dir
from roost.deploy import engine
from roost.deploy.journal import Journal

if TYPE_CHECKING:
    from sshd import Sshd

pytest_plugins = ["sshd"]

N = 40


@pytest.fixture(autouse=True)
def _home(home: Path, host_state: Path) -> Path:
    """Every test here: the shared `home` and `host_state` (tests/conftest.py)."""
    return home


def transport(server: Sshd, tmp_path: Path, dead_after: float = 60.0) -> object:
    from roost.deploy.ssh import SSHTransport
    from roost.deploy.trust import KnownHosts

    t = SSHTransport("box", server.host, user=server.user, port=server.port,
                     key_path=str(server.key), known_hosts=KnownHosts(tmp_path / "known_hosts"),
                     trust=server.fingerprint(), allow_agent=False,
                     ssh_config=tmp_path / "no-ssh-config", dead_after=dead_after,
                     connect_timeout=5)
    t.connect()
    return t


def expected_log() -> list[str]:
    return [f"step{i}" for i in range(1, N) if i % 10 != 5]


def when_log_reaches(log: Path, count: int, action: Callable[[], None]) -> threading.Thread:
    def watch() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if log.exists() and len(log.read_text().split()) >= count:
                action()
                return
            time.sleep(0.002)

    th = threading.Thread(target=watch, daemon=True)
    th.start()
    return th


def run_counter(t: object, root: Path, j: Journal, tmp_path: Path, resume: bool = False,
                delay: float = 0.02) -> engine.DeployResult:
    return engine.run(counter_recipe(str(root), N, delay=delay), t,  # type: ignore[arg-type]
                      journal=j, resume=resume, state_dir=str(tmp_path / "state"))


def check_complete(root: Path, j: Journal) -> None:
    assert (root / "applied.log").read_text().split() == expected_log(), \
        "a step was applied twice or skipped"
    for i in range(5, N, 10):
        assert (root / f"file{i}.txt").read_text() == f"content of file {i}\n" * 50
    st = j.load()
    assert st is not None and st.status == "finished"
    assert set(j.applied_counts().values()) == {1}


@pytest.mark.slow
def test_host_rebooted_mid_deploy_then_resume(sshd_factory: Callable[..., Sshd],
                                              tmp_path: Path) -> None:
    first = sshd_factory("before-reboot")
    root = tmp_path / "site"
    j = Journal.for_host("box", "counter", data_dir())
    t = transport(first, tmp_path)
    watcher = when_log_reaches(root / "applied.log", 12, first.stop)
    with pytest.raises(engine.DeployFailed) as err:
        run_counter(t, root, j, tmp_path)
    watcher.join()
    t.close()  # type: ignore[attr-defined]
    assert "\n" not in str(err.value)
    st = j.load()
    assert st is not None and st.status == "stopped"
    done_before = len((root / "applied.log").read_text().split())
    assert 12 <= done_before < len(expected_log())

    time.sleep(0.5)  # "rebooting"
    second = sshd_factory("after-reboot", port=first.port, host_key=first.host_key)
    t2 = transport(second, tmp_path)
    try:
        res = run_counter(t2, root, j, tmp_path, resume=True)
    finally:
        t2.close()  # type: ignore[attr-defined]
    assert res.resumed and 0 < res.applied < N
    check_complete(root, j)


class PacketFilter:
    """Silently drop every TCP packet to and from one port on this machine (nftables)."""

    def __init__(self) -> None:
        self.table = f"roost_drop_{int(time.time() * 1000) % 10**8}"
        self.active = False

    def drop(self, port: int) -> None:
        script = (f"add table inet {self.table}\n"
                  f"add chain inet {self.table} out {{ type filter hook output priority -5; }}\n"
                  f"add rule inet {self.table} out tcp dport {port} drop\n"
                  f"add rule inet {self.table} out tcp sport {port} drop\n")
        subprocess.run(["nft", "-f", "-"], input=script.encode(), check=True)
        self.active = True

    def restore(self) -> None:
        if self.active:
            subprocess.run(["nft", "delete", "table", "inet", self.table], check=True,
                           capture_output=True)
            self.active = False


@pytest.fixture
def packet_filter() -> Iterator[PacketFilter]:
    if shutil.which("nft") is None:
        pytest.skip("nftables is not installed (scripts/test.sh installs it)")
    pf = PacketFilter()
    yield pf
    with contextlib.suppress(subprocess.CalledProcessError):
        pf.restore()


@pytest.mark.slow
def test_network_dropped_mid_deploy_is_noticed_then_resume(
        sshd_factory: Callable[..., Sshd], tmp_path: Path,
        packet_filter: PacketFilter) -> None:
    server = sshd_factory("dropped")
    root = tmp_path / "site"
    j = Journal.for_host("box", "counter", data_dir())
    t = transport(server, tmp_path, dead_after=4.0)
    watcher = when_log_reaches(root / "applied.log", 12, lambda: packet_filter.drop(server.port))
    t0 = time.monotonic()
    with pytest.raises(engine.DeployFailed) as err:
        run_counter(t, root, j, tmp_path)
    noticed = time.monotonic() - t0
    watcher.join()
    t.close()  # type: ignore[attr-defined]
    assert noticed < 40, f"roost hung {noticed:.0f} s on a dead network"
    msg = str(err.value)
    assert "\n" not in msg and ("connection" in msg or "answer" in msg), msg
    # the network comes back
    packet_filter.restore()
    t2 = transport(server, tmp_path)
    try:
        res = run_counter(t2, root, j, tmp_path, resume=True)
    finally:
        t2.close()  # type: ignore[attr-defined]
    assert res.resumed
    check_complete(root, j)
