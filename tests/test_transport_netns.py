"""Several hosts, each a real sshd in its own network namespace: one connection each, each
with its own host key, and a link that goes silent counts as a lost connection."""

from __future__ import annotations

import subprocess
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from support.background import run_in_thread

from roost.deploy.facts import gather
from roost.deploy.ssh import ConnectionLost, SSHTransport
from roost.deploy.trust import KnownHosts, TrustNeeded

if TYPE_CHECKING:
    from sshd import Sshd

pytest_plugins = ["sshd"]
pytestmark = [pytest.mark.netns, pytest.mark.slow]


def transport(server: Sshd, known: KnownHosts, name: str, trust: str | None = None,
              **kw: float) -> SSHTransport:
    return SSHTransport(name, server.host, user=server.user, port=server.port,
                        key_path=str(server.key), known_hosts=known, trust=trust,
                        ssh_config=Path("/nonexistent"), allow_agent=False, **kw)


def test_hosts_in_namespaces(netns_hosts: list[Sshd], tmp_path: Path) -> None:
    known = KnownHosts(tmp_path / "known_hosts")
    prints = {s.fingerprint() for s in netns_hosts}
    assert len(prints) == len(netns_hosts)  # each host has its own key
    for i, server in enumerate(netns_hosts):
        with pytest.raises(TrustNeeded) as info:
            transport(server, known, f"h{i}").connect()
        assert info.value.fingerprint == server.fingerprint()
    ts = [transport(s, known, f"h{i}", trust=s.fingerprint()) for i, s in
          enumerate(netns_hosts)]
    results: dict[int, str] = {}

    def work(i: int) -> None:
        t = ts[i]
        t.put_file(f"/tmp/roost-netns-{i}", f"host {i}".encode(), mode=0o644)
        addrs = t.run(["ip", "-o", "-4", "addr", "show"]).stdout
        back = t.get_file(f"/tmp/roost-netns-{i}")
        results[i] = f"{addrs}|{back!r}"

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(ts))]
    for th in threads:
        th.start()
    for th in threads:
        th.join(30)
    for i, server in enumerate(netns_hosts):
        assert f"inet {server.host}/24" in results[i]  # really inside its namespace
        others = [s.host for s in netns_hosts if s is not server]
        assert not any(f"inet {o}/" in results[i] for o in others)
        assert f"b'host {i}'" in results[i]
        f = gather(ts[i])
        assert 22 in f.tcp_ports
    for t in ts:
        t.close()
    assert len(known.known(netns_hosts[0].host, 22)) == 1


def test_link_going_silent_is_a_lost_connection(netns_hosts: list[Sshd],
                                                tmp_path: Path) -> None:
    server = netns_hosts[-1]
    veth = server.extra["veth"]
    t = transport(server, KnownHosts(tmp_path / "kh"), "far", trust=server.fingerprint(),
                  dead_after=3.0)
    t.connect()
    assert t.run(["true"]).ok
    th, errors = run_in_thread(t, ["sleep", "60"])
    time.sleep(0.5)
    subprocess.run(["ip", "link", "set", veth, "down"], check=True)
    t0 = time.monotonic()
    try:
        th.join(30)
        took = time.monotonic() - t0
    finally:
        subprocess.run(["ip", "link", "set", veth, "up"], check=True)
    assert not th.is_alive()
    assert len(errors) == 1 and isinstance(errors[0], ConnectionLost), errors
    assert "lost the connection to far while running `sleep 60`" in str(errors[0])
    assert took < 20
    t.close()
    # once the link is back, a new connection (a resumed deploy) works
    deadline = time.monotonic() + 10
    while True:
        try:
            with transport(server, KnownHosts(tmp_path / "kh"), "far") as t2:
                assert t2.run(["true"]).ok
            break
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)
