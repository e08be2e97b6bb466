"""`roost reach prosody --host pi --from vps`, with real parts: Prosody deployed over real SSH on
the Pi test host, the ports checked FROM the VPS test host over SSH (a TCP connect run there),
the DNS records from a real Knot server holding the test zone, and Prosody's certificate read
through XMPP STARTTLS."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from support.identities import public, xmpp_pair
from support.knot import knot

from roost.app.reaching import Reaching
from roost.core.clock import fixed
from roost.core.paths import data_dir
from roost.deploy import engine
from roost.deploy.hosts import HOSTS_FILE, Host, HostStore
from roost.deploy.journal import Journal
from roost.deploy.recipes.prosody import build_prosody
from roost.deploy.trust import KNOWN_HOSTS, KnownHosts

if TYPE_CHECKING:
    from testhost import TestHost

pytest_plugins = ["testhost"]

DOMAIN = "chat.roost.test"


def _host(name: str, h: TestHost) -> Host:
    return Host(name, address=h.address, user="root", port=h.ssh_port,
                key_path=str(h.key_path))


@pytest.mark.slow
@pytest.mark.container
def test_ports_checked_from_the_vps_open_then_closed(
        pi_host: TestHost, vps_host: TestHost, home: Path, tmp_path: Path) -> None:
    from cryptography import x509
    from testhost import record_time

    alice, bob = xmpp_pair(DOMAIN)
    recipe = build_prosody(None, {"address": pi_host.address}, public(alice, bob))
    assert recipe.domain == DOMAIN
    t = pi_host.transport(tmp_path / "ssh")
    try:
        result = engine.run(recipe, t, journal=Journal.for_host("pi", recipe.id, data_dir()),
                            secrets={f"{i.id}#password": i.secret["password"]
                                     for i in (alice, bob)})
    finally:
        t.close()
    assert result.ok
    HostStore(data_dir() / HOSTS_FILE).add(_host("pi", pi_host))
    HostStore(data_dir() / HOSTS_FILE).add(_host("vps", vps_host))
    known = KnownHosts(data_dir() / KNOWN_HOSTS)
    known.path.parent.mkdir(parents=True, exist_ok=True)
    known.path.write_text(pi_host.known_hosts_lines() + vps_host.known_hosts_lines())
    known.path.chmod(0o600)
    pem = pi_host.ssh(f"cat /etc/prosody/certs/{DOMAIN}.crt").stdout.encode()
    cafile = tmp_path / "prosody.crt"
    cafile.write_bytes(pem)
    # The certificate was made on the host by its clock: roost's clock is set 10 days in.
    made = x509.load_pem_x509_certificate(pem).not_valid_before_utc
    clock = fixed(made + timedelta(days=10))
    records = (f"chat A {pi_host.address}\n"
               "_xmpp-client._tcp.chat SRV 0 5 5222 chat.roost.test.\n")
    with knot(tmp_path / "knot", "roost.test", records) as dns_server:
        def reach(**kw: object) -> Reaching:
            store = HostStore(data_dir() / HOSTS_FILE)
            return Reaching("prosody", store.get("pi"), home, from_host=store.get(
                "vps"), domain=DOMAIN, resolver=dns_server.address, clock=clock, **kw)  # type: ignore[arg-type]

        start = time.monotonic()
        report = reach(cafile=str(cafile)).run()
        record_time("reach_prosody_from_vps", time.monotonic() - start)
        got = {c.subject: c for c in report.checks}
        assert report.checked_from == "vps" and report.address == pi_host.address
        assert got["A/AAAA chat.roost.test"].state == "ok"
        assert got["SRV _xmpp-client._tcp.chat.roost.test"].state == "ok"
        assert got["SRV _xmpp-server._tcp.chat.roost.test"].state == "missing"
        for port in (5222, 5269):
            c = got[f"port {port}/tcp from vps"]
            assert c.state == "ok", c.line()
            assert c.found == f"{pi_host.address}:{port} answers from vps."
        # Prosody's own certificate, through XMPP's STARTTLS, trusted here as the test's CA.
        assert got[f"TLS certificate for {DOMAIN} on port 5222"].state == "ok"
        assert got[f"certificate name for {DOMAIN}"].state == "ok"
        assert got[f"certificate days left for {DOMAIN}"].state == "ok"
        assert report.exit_code == 1  # the missing SRV record
        assert not report.notes  # the domain resolved; the ports were checked from outside

        # Without the CA: the self-signed certificate is what apps would warn about.
        untrusted = {c.subject: c for c in reach().run().checks}
        assert untrusted[f"TLS certificate for {DOMAIN} on port 5222"].state == "untrusted"

        # The command, as a person runs it: timed, exit code 1, the same lines.
        env = {**os.environ, "ROOST_HOME": str(home)}
        start = time.monotonic()
        cli = subprocess.run([sys.executable, "-m", "roost", "reach", "prosody", "--host",
                              "pi", "--from", "vps", "--domain", DOMAIN, "--resolver",
                              dns_server.address], capture_output=True, text=True, env=env,
                             timeout=300)
        record_time("reach_prosody_cli", time.monotonic() - start)
        assert cli.returncode == 1, cli.stderr
        assert f"ok: port 5222/tcp from vps: {pi_host.address}:5222 answers from vps." in (
            cli.stdout.splitlines())

        # Prosody stopped: both ports are reported closed, from the VPS.
        pi_host.ssh("systemctl stop prosody")
        closed = {c.subject: c for c in reach(cafile=str(cafile)).run().checks}
        for port in (5222, 5269):
            c = closed[f"port {port}/tcp from vps"]
            assert c.state == "closed", c.line()
            assert c.found == f"{pi_host.address}:{port} refused the connection from vps."
            assert f"forward port {port} on your router" in c.fix
