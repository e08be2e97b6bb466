"""Ports are checked before anything is installed, over real SSH to a Debian host booted with
systemd, through roost's own entry point (`roost deploy`) and the full-screen app's deploy job.

A plain python3 listener holds ports 80 and 8008 on the host. `roost deploy static-blog` is
refused in one line naming the port, the holder and the option, and nothing was installed
(no nginx in dpkg, no step record on the host, no journal here); the full-screen app's job is
refused in the same words. With `--option port=8080` it deploys and the blog is served there;
a redeploy (the port now held by its own nginx) passes the check. A second service on that
port is refused naming the first one (from the progress), then deploys on the port it suggested
and passes the check again when redeployed (its own TCP port and SSDP's UDP 1900); Synapse,
which wants 8008, is refused by the same check without being installed. `roost status` says
which host runs what on which port.
"""

from __future__ import annotations

import json
import re
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from support.answers import answers_toml, planned_with_pi
from support.programs import standin

from roost.app import deploying
from roost.cli.main import main
from roost.core.errors import RoostError
from roost.core.paths import data_dir
from roost.deploy.hosts import HOSTS_FILE, HostStore
from roost.deploy.journal import Journal
from roost.deploy.recipes.matrix_synapse import build_matrix_synapse
from roost.keys.model import IdentityInfo

if TYPE_CHECKING:
    from testhost import TestHost

pytest_plugins = ["testhost"]

STATE = "/var/lib/roost-test-state"
HOLDER = standin("port_holder.py")
ANSWERS = answers_toml(["hosted-blog"])
MATRIX = {"matrix": IdentityInfo("matrix", "matrix",
                                 {"server_name": "matrix.roost.test", "key_version": "a_x1"},
                                 "2026-11-25T12:00:00+00:00")}


def hold(host: TestHost, *ports: int) -> int:
    """A plain listener on the host (not a roost service); returns its pid."""
    host.ssh("cat > /root/hold.py", input=HOLDER)
    host.ssh(f"nohup python3 /root/hold.py {' '.join(map(str, ports))} > /root/hold.out "
             "2>&1 < /dev/null & echo $! > /root/hold.pid")
    deadline = time.monotonic() + 20
    while "ready" not in host.ssh("cat /root/hold.out", check=False).stdout:
        assert time.monotonic() < deadline, host.ssh("cat /root/hold.out", check=False).stdout
        time.sleep(0.2)
    return int(host.ssh("cat /root/hold.pid").stdout)


def installed(host: TestHost, package: str) -> bool:
    res = host.ssh(f"dpkg-query -W -f='${{db:Status-Status}}' {package}", check=False)
    return res.returncode == 0 and res.stdout.strip() == "installed"


def roost(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.mark.slow
@pytest.mark.container
def test_a_taken_port_stops_the_deploy_before_anything_is_installed(
    pi_host: TestHost, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from test_service_static_blog import make_site
    from testhost import record_time

    from roost.tui.screens.deploy import deploy_job

    monkeypatch.setenv("ROOST_HOST_STATE_DIR", STATE)
    planned_with_pi(home, ANSWERS, pi_host)
    site = tmp_path / "site"
    make_site(site, "Port eighty was taken")
    blog = ["deploy", "static-blog", "--host", "pi", "--quiet", "--option", f"site={site}",
            "--option", f"address={pi_host.address}"]
    pid = hold(pi_host, 80, 8008)
    capsys.readouterr()

    # Refused, in one line: the port, what holds it, the option that moves the blog.
    start = time.monotonic()
    rc, out, err = roost(capsys, *blog)
    record_time("refuse_taken_port", time.monotonic() - start)
    assert rc == 2 and out == ""
    assert err == (f"roost: port 80 is already used by python3 (pid {pid}); deploy your static "
                   "blog on another port with --option port=8080.\n")
    assert not installed(pi_host, "nginx")
    pi_host.ssh(f"test ! -e {STATE}")  # not even roost's step record was started
    assert Journal.for_host("pi", "static-blog", data_dir()).load() is None

    # The full-screen app's deploy job goes through the same check, in the same words.
    events: list[Any] = []
    with pytest.raises(RoostError) as refused:
        deploy_job("static-blog", HostStore(data_dir() / HOSTS_FILE).get("pi"), home,
                   {"site": str(site), "address": pi_host.address}, "", "", True,
                   events.append, threading.Event())
    assert f"roost: {refused.value.line()}\n" == err and events == []
    assert not installed(pi_host, "nginx")

    # Moved with the option it named: deployed, served there, and noted with its port.
    start = time.monotonic()
    rc, out, err = roost(capsys, *blog, "--option", "port=8080")
    record_time("deploy_static_blog_moved_port", time.monotonic() - start)
    assert rc == 0, err
    assert re.search(r"runs on pi, port 8080, version [^ ]+\. Its step", out), out
    page = httpx.get(f"http://{pi_host.address}:8080/", timeout=10)
    assert "<h1>Port eighty was taken</h1>" in page.text
    assert pi_host.ssh(f"ps -p {pid} -o comm=").stdout.strip() == "python3"  # still there

    # A redeploy: 8080 is held by its own nginx now, which passes the check.
    rc, out, err = roost(capsys, *blog, "--option", "port=8080")
    assert rc == 0 and err == "" and "runs on pi, port 8080, version" in out

    # A second service on the first one's port: refused, naming it as the progress knows it.
    rc, out, err = roost(capsys, "deploy", "minidlna", "--host", "pi", "--option", "port=8080",
                         "--option", f"address={pi_host.address}")
    assert rc == 2 and out == ""
    assert err == ("roost: port 8080 is already used by nginx (static-blog); deploy MiniDLNA "
                   "media sharing on another port with --option port=8081.\n")
    assert not installed(pi_host, "minidlna")
    pi_host.ssh(f"test ! -e {STATE}/minidlna.done-steps")

    # On the port it suggested, MiniDLNA deploys and serves there; deployed again, its own
    # minidlnad holds that port and SSDP's UDP port 1900, which passes the check.
    dlna = ["deploy", "minidlna", "--host", "pi", "--quiet", "--option", "port=8081",
            "--option", f"address={pi_host.address}"]
    rc, out, err = roost(capsys, *dlna)
    assert rc == 0, err
    assert "runs on pi, port 8081 and UDP port 1900, version" in out
    assert "MiniDLNA status" in httpx.get(f"http://{pi_host.address}:8081/", timeout=10).text
    held = pi_host.ssh("ss -Hlunp 'sport = :1900'").stdout
    assert '"minidlnad"' in held, held
    rc, out, err = roost(capsys, *dlna)
    assert rc == 0 and err == "", err

    # Synapse wants 8008 (the listener has it): refused by the same check, nothing installed.
    t = pi_host.transport(tmp_path / "ssh")
    try:
        synapse = build_matrix_synapse(None, {}, MATRIX)
        with pytest.raises(RoostError) as taken:
            deploying.check_ports(synapse, t, "pi", home)
        assert taken.value.line() == (
            f"port 8008 is already used by python3 (pid {pid}); deploy the Matrix server "
            "matrix.roost.test on another port with --option port=8009.")
        deploying.check_ports(build_matrix_synapse(None, {"port": "8448"}, MATRIX), t, "pi", home)
    finally:
        t.close()
    pi_host.ssh("test ! -e /opt/synapse")

    # Which host runs what on which port.
    rc, out, _ = roost(capsys, "status")
    assert re.search(r"Running: Static blog .* on pi, port 8080, version ", out), out
    rc, out, _ = roost(capsys, "status", "--json")
    assert [(r["service"], r["host"], r["ports"]) for r in json.loads(out)["running"]] == [
        ("static-blog", "pi", ["8080/tcp"]), ("minidlna", "pi", ["8081/tcp", "1900/udp"])]
