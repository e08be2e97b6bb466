"""`roost reach`: the DNS records against a real authoritative server (Knot DNS on loopback),
the TLS certificate from a real TLS server signed by a test authority (dates by roost's clock),
and the command's exit codes and --json. The ports from another host are proven against the
booted test hosts in tests/test_reach_ports.py."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.clock import TEST_NOW
from support.knot import AuthServer, knot

from roost.core.clock import fixed
from roost.core.errors import RoostError
from roost.deploy.reachability import dns, tls
from roost.deploy.reachability.needs import Needs, Srv, Tls, needs, parse

ZONE = "roost.test"
RECORDS = """
good A 192.0.2.7
xmpp.good A 192.0.2.7
_xmpp-client._tcp.good SRV 0 5 5222 good.roost.test.
_xmpp-server._tcp.good SRV 0 5 5269 xmpp.good.roost.test.
bare A 192.0.2.8
wrong A 192.0.2.9
_xmpp-client._tcp.wrong SRV 0 5 5222 elsewhere.roost.test.
elsewhere A 198.51.100.1
_xmpp-server._tcp.wrong SRV 0 5 5299 wrong.roost.test.
here A 127.0.0.1
fed A 127.0.0.1
_matrix-fed._tcp.fed SRV 0 5 8448 fed.roost.test.
_xmpp-client._tcp.here SRV 0 5 5222 here.roost.test.
"""
PROSODY = needs("prosody")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AuthServer]:
    with knot(tmp_path_factory.mktemp("knot"), ZONE, RECORDS) as s:
        yield s


def by_subject(checks: list[dns.Check]) -> dict[str, dns.Check]:  # type: ignore[name-defined]
    return {c.subject: c for c in checks}


# -- DNS ---------------------------------------------------------------------------------------

def test_prosody_needs_its_records_as_data() -> None:
    assert PROSODY.addresses
    assert [(s.name, s.port) for s in PROSODY.srv] == [("_xmpp-client._tcp", 5222),
                                                       ("_xmpp-server._tcp", 5269)]
    assert PROSODY.tls == Tls(5222, "xmpp")
    assert needs("matrix-synapse").matrix and needs("gotosocial").webfinger


def test_correct_srv_records_are_reported_correct(server: AuthServer) -> None:
    checks = by_subject(dns.check_records(dns.Dns(server.address), "good.roost.test", PROSODY))
    assert [c.state for c in checks.values()] == ["ok", "ok", "ok"]
    assert checks["A/AAAA good.roost.test"].found == "good.roost.test points at 192.0.2.7."
    client = checks["SRV _xmpp-client._tcp.good.roost.test"]
    assert client.line() == ("ok: SRV _xmpp-client._tcp.good.roost.test: points at "
                             "good.roost.test port 5222.")
    # A target with another name on the same address is right too.
    assert "xmpp.good.roost.test port 5269, the same address" in checks[
        "SRV _xmpp-server._tcp.good.roost.test"].found


def test_missing_srv_records_are_reported_missing_with_what_to_add(server: AuthServer) -> None:
    checks = by_subject(dns.check_records(dns.Dns(server.address), "bare.roost.test", PROSODY))
    assert checks["A/AAAA bare.roost.test"].ok
    missing = checks["SRV _xmpp-client._tcp.bare.roost.test"]
    assert missing.state == "missing" and missing.needs_attention
    assert missing.line() == (
        "missing: SRV _xmpp-client._tcp.bare.roost.test: there is no SRV record "
        "_xmpp-client._tcp.bare.roost.test. Add an SRV record _xmpp-client._tcp.bare.roost.test "
        "pointing at bare.roost.test port 5222 (so XMPP apps find your server).")
    assert checks["SRV _xmpp-server._tcp.bare.roost.test"].state == "missing"


def test_a_missing_address_is_reported_missing(server: AuthServer) -> None:
    c = dns.check_addresses(dns.Dns(server.address), "nothing.roost.test")
    assert c.state == "missing"
    assert "Add an A record (or AAAA) for nothing.roost.test" in c.line()


def test_srv_records_with_a_wrong_target_or_port_are_reported_wrong(
        server: AuthServer) -> None:
    checks = by_subject(dns.check_records(dns.Dns(server.address), "wrong.roost.test",
                                          PROSODY))
    target = checks["SRV _xmpp-client._tcp.wrong.roost.test"]
    assert target.state == "wrong"
    assert target.line() == (
        "wrong: SRV _xmpp-client._tcp.wrong.roost.test: points at elsewhere.roost.test port "
        "5222. Change it to an SRV record _xmpp-client._tcp.wrong.roost.test pointing at "
        "wrong.roost.test port 5222 (so XMPP apps find your server).")
    port = checks["SRV _xmpp-server._tcp.wrong.roost.test"]
    assert port.state == "wrong" and "wrong.roost.test port 5299" in port.found


def test_a_resolver_that_does_not_answer_is_unknown_not_missing() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as quiet:
        quiet.bind(("127.0.0.1", 0))  # takes the datagrams, never answers
        d = dns.Dns(f"127.0.0.1:{quiet.getsockname()[1]}", timeout=0.5)
        c = dns.check_srv(d, "good.roost.test", Srv("_xmpp-client._tcp", 5222))
    assert c.state == "unknown" and not c.needs_attention
    assert "did not answer within 0.5 s" in c.found


@pytest.mark.parametrize("text", ["nonsense", "127.0.0.1:99999", "a.b:53", "[::1"])
def test_a_bad_resolver_address_is_one_line(text: str) -> None:
    with pytest.raises(RoostError, match="is not a resolver address"):
        dns.Dns(text)


def test_a_mistake_in_reach_toml_names_the_file_and_recipe() -> None:
    with pytest.raises(RoostError, match=r"reach.toml \[x\]: 'xmpp' is not an SRV name"):
        parse({"srv": [{"name": "xmpp", "port": 1}]}, "x")
    assert parse({}, "x") == Needs()


# -- TLS ---------------------------------------------------------------------------------------

def _key() -> object:
    from cryptography.hazmat.primitives.asymmetric import ec

    return ec.generate_private_key(ec.SECP256R1())


def _cert(subject_key: object, issuer_key: object, name: str, issuer: str, *,
          ca: bool, before: dt.datetime, after: dt.datetime) -> object:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID

    b = (x509.CertificateBuilder()
         .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
         .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
         .public_key(subject_key.public_key())  # type: ignore[attr-defined]
         .serial_number(x509.random_serial_number())
         .not_valid_before(before).not_valid_after(after)
         .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if ca:
        b = b.add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True,
                                          crl_sign=True, content_commitment=False,
                                          key_encipherment=False, data_encipherment=False,
                                          key_agreement=False, encipher_only=False,
                                          decipher_only=False), critical=True)
    else:
        b = b.add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
    return b.sign(issuer_key, hashes.SHA256())  # type: ignore[arg-type]


def _pem(obj: object) -> bytes:
    from cryptography.hazmat.primitives import serialization

    if hasattr(obj, "public_bytes"):
        return obj.public_bytes(serialization.Encoding.PEM)  # type: ignore[no-any-return]
    return obj.private_bytes(  # type: ignore[attr-defined,no-any-return]
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption())


class TlsServer:
    """A real TLS server on 127.0.0.1 serving a certificate for `name` from the test CA,
    valid from 30 days before TEST_NOW to 60 days after."""

    def __init__(self, folder: Path, ca_key: object, ca_cert: object, name: str) -> None:
        key = _key()
        cert = _cert(key, ca_key, name, "roost test CA", ca=False,
                     before=TEST_NOW - dt.timedelta(days=30),
                     after=TEST_NOW + dt.timedelta(days=60))
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "cert.pem").write_bytes(_pem(cert) + _pem(ca_cert))
        (folder / "key.pem").write_bytes(_pem(key))
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(folder / "cert.pem", folder / "key.pem")
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.sock.getsockname()[1])
        self.ctx = ctx
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            try:
                with self.ctx.wrap_socket(conn, server_side=True) as s:
                    s.recv(1)
            except (OSError, ssl.SSLError):
                conn.close()


@pytest.fixture(scope="module")
def test_ca(tmp_path_factory: pytest.TempPathFactory) -> tuple[object, object, Path]:
    key = _key()
    cert = _cert(key, key, "roost test CA", "roost test CA", ca=True,
                 before=TEST_NOW - dt.timedelta(days=365),
                 after=TEST_NOW + dt.timedelta(days=3650))
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    path.write_bytes(_pem(cert))
    return key, cert, path


@pytest.fixture(scope="module")
def chat_server(tmp_path_factory: pytest.TempPathFactory,
                test_ca: tuple[object, object, Path]) -> TlsServer:
    return TlsServer(tmp_path_factory.mktemp("tls"), test_ca[0], test_ca[1], "chat.roost.test")


def states(checks: list[dns.Check]) -> list[tuple[str, str]]:  # type: ignore[name-defined]
    return [(c.subject, c.state) for c in checks]


def test_a_certificate_from_a_trusted_authority_for_the_name_is_fine(
        chat_server: TlsServer, test_ca: tuple[object, object, Path]) -> None:
    checks = tls.check("127.0.0.1", "chat.roost.test", Tls(chat_server.port),
                       fixed(TEST_NOW), cafile=str(test_ca[2]))
    assert states(checks) == [
        (f"TLS certificate for chat.roost.test on port {chat_server.port}", "ok"),
        ("certificate name for chat.roost.test", "ok"),
        ("certificate days left for chat.roost.test", "ok")]
    assert checks[2].found == "60 days left (until 2027-01-24)."


def test_a_certificate_for_another_name_is_wrong(
        chat_server: TlsServer, test_ca: tuple[object, object, Path]) -> None:
    checks = tls.check("127.0.0.1", "other.roost.test", Tls(chat_server.port),
                       fixed(TEST_NOW), cafile=str(test_ca[2]))
    name = checks[1]
    assert name.state == "wrong"
    assert name.line() == ("wrong: certificate name for other.roost.test: the certificate is "
                           "for chat.roost.test, not other.roost.test. Get a certificate for "
                           "other.roost.test and deploy again.")


def test_a_certificate_close_to_its_end_by_roosts_clock_is_expiring(
        chat_server: TlsServer, test_ca: tuple[object, object, Path]) -> None:
    later = fixed(TEST_NOW + dt.timedelta(days=55))
    days = tls.check("127.0.0.1", "chat.roost.test", Tls(chat_server.port), later,
                     cafile=str(test_ca[2]))[2]
    assert days.state == "expiring" and days.found == "5 days left (until 2027-01-24)."
    gone = fixed(TEST_NOW + dt.timedelta(days=61))
    days = tls.check("127.0.0.1", "chat.roost.test", Tls(chat_server.port), gone,
                     cafile=str(test_ca[2]))[2]
    assert days.state == "expiring" and days.found == "it expired on 2027-01-24."


def test_a_certificate_from_an_unknown_authority_is_untrusted(chat_server: TlsServer) -> None:
    checks = tls.check("127.0.0.1", "chat.roost.test", Tls(chat_server.port), fixed(TEST_NOW))
    assert checks[0].state == "untrusted"
    assert "--option tls=letsencrypt" in checks[0].fix
    assert [c.state for c in checks[1:]] == ["ok", "ok"]


def test_no_tls_server_is_unknown() -> None:
    with socket.create_server(("127.0.0.1", 0)) as s:
        port = int(s.getsockname()[1])
    checks = tls.check("127.0.0.1", "chat.roost.test", Tls(port), fixed(TEST_NOW))
    assert [c.state for c in checks] == ["unknown"]


# -- the command -------------------------------------------------------------------------------

def roost(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "roost", *args], capture_output=True,
                          text=True, env=env, timeout=120)


@pytest.fixture
def catalog_with_port(tmp_path: Path) -> tuple[Path, socket.socket]:
    """The built-in catalog with ssb-pub's inbound port moved to a free loopback port, on
    which a listener waits (ssb-pub needs no domain: the port is its only check)."""
    import roost.catalog.loader as loader

    base = Path(loader.catalog_dir())
    folder = tmp_path / "catalog"
    shutil.copytree(base, folder, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    manifest = folder / "manifests" / "ssb-pub.toml"
    text = manifest.read_text()
    assert 'inbound_ports = ["8008/tcp"]' in text
    manifest.write_text(text.replace('"8008/tcp"', f'"{port}/tcp"'))
    blog = folder / "manifests" / "static-blog.toml"
    text = blog.read_text()
    assert 'inbound_ports = ["80/tcp", "443/tcp"]' in text
    blog.write_text(text.replace('["80/tcp", "443/tcp"]', f'["{port}/tcp"]'))
    return folder, listener


def test_reach_exit_codes_and_json(home: Path, catalog_with_port: tuple[Path, socket.socket],
                                   server: AuthServer) -> None:
    folder, listener = catalog_with_port
    env = {**os.environ, "ROOST_HOME": str(home), "ROOST_CATALOG_DIR": str(folder)}
    port = listener.getsockname()[1]

    ok = roost("reach", "ssb-pub", "--host", "local", env=env)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.splitlines() == [
        f"ok: port {port}/tcp from this computer: 127.0.0.1:{port} answers from this "
        "computer; this proves only that your own network reaches it.",
        "The ports were checked from this computer, which proves only that your own network "
        "reaches them. To check from outside, add a host elsewhere (a VPS) with roost host add, "
        "then check from it with roost reach ID --host NAME --from VPS.",
        "Others can reach ssb-pub on local: all 1 checks are fine."]

    listener.close()
    closed = roost("reach", "ssb-pub", "--host", "local", "--json", env=env)
    assert closed.returncode == 1, closed.stderr
    report = json.loads(closed.stdout)
    assert report["exit_code"] == 1
    assert [(c["kind"], c["state"]) for c in report["checks"]] == [("port", "closed")]
    assert "forward port" in report["checks"][0]["fix"]

    # Prosody's records, from the test zone: DNS says what is missing (its ports and
    # certificate are checked at the zone's address, where nothing answers here).
    bare = roost("reach", "prosody", "--host", "local", "--domain", "bare.roost.test",
                 "--resolver", server.address, "--json", env=env)
    got = {c["subject"]: c["state"] for c in json.loads(bare.stdout)["checks"]}
    assert got["SRV _xmpp-client._tcp.bare.roost.test"] == "missing"
    assert got["A/AAAA bare.roost.test"] == "ok"
    assert bare.returncode == 1

    # A resolver that never answers: the A record could not be checked (the port still
    # was, at the host's address): exit 2, and one line on stderr says why.
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as quiet:
        quiet.bind(("127.0.0.1", 0))
        listener2 = socket.create_server(("127.0.0.1", port))
        try:
            unknown = roost("reach", "static-blog", "--host", "local", "--domain",
                            "blog.roost.test", "--resolver",
                            f"127.0.0.1:{quiet.getsockname()[1]}", env=env)
        finally:
            listener2.close()
    assert unknown.returncode == 2, unknown.stdout
    assert unknown.stdout.splitlines()[0].startswith("unknown: A/AAAA blog.roost.test: ")
    assert f"ok: port {port}/tcp from this computer" in unknown.stdout
    assert unknown.stderr == ("roost: some checks could not be done; the lines above say "
                              "why.\n")

    for args, words in [
        (("reach", "nosuch", "--host", "local"), "does not know a service called 'nosuch'"),
        (("reach", "minidlna", "--host", "local"), "is not reached from outside your home"),
        (("reach", "prosody", "--host", "local", "--resolver", "nonsense"),
         "is not a resolver address"),
        (("reach", "prosody", "--host", "local", "--from", "local"), "from itself"),
        (("reach", "ssb-pub", "--host", "nosuch"), "nosuch"),
    ]:
        bad = roost(*args, env=env)
        assert bad.returncode == 2, (args, bad.stdout, bad.stderr)
        assert len(bad.stderr.splitlines()) == 1 and words in bad.stderr, bad.stderr
        assert "Traceback" not in bad.stderr


def test_a_deploy_of_a_service_others_reach_ends_with_the_checks(
        home: Path, catalog_with_port: tuple[Path, socket.socket],
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from roost.app.deploying import Deployment
    from roost.app.hosts import find
    from roost.cli.deploy_cmd import print_reach

    folder, listener = catalog_with_port
    monkeypatch.setenv("ROOST_CATALOG_DIR", str(folder))
    port = listener.getsockname()[1]
    d = Deployment("ssb-pub", find(home, "local"), home)
    print_reach("ssb-pub", d)
    assert capsys.readouterr().out.splitlines() == [
        "Can others reach it? Checking DNS, the ports and the certificate:",
        f"ok: port {port}/tcp from this computer: 127.0.0.1:{port} answers from this "
        "computer; this proves only that your own network reaches it.",
        "Others can reach ssb-pub on local: all 1 checks are fine.",
        "To check from outside your network: roost host add vps USER@ADDRESS, then roost "
        "reach ssb-pub --host local --from vps"]
    hello = Deployment("hello", find(home, "local"), home)
    print_reach("hello", hello)  # nobody outside reaches the demo: nothing is checked
    assert capsys.readouterr().out == ""


def test_without_a_domain_the_ports_are_checked_and_the_report_says_what_was_not(
        home: Path) -> None:
    from roost.app.hosts import find
    from roost.app.reaching import Reaching

    r = Reaching("static-blog", find(home, "local"), home)  # its default name is "_"
    report = r.run()
    assert [c.kind for c in report.checks] == ["port", "port"]
    assert "so no DNS record or certificate was checked: give it with --domain NAME" in (
        report.notes[0])


def test_plain_mode_checks_a_step_line_by_line(home: Path, server: AuthServer,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """From a step of the plan: the host, where from, the domain, then a line a check."""
    from test_plain import ASSESS, CLOCK, FACTS, TODAY, run

    from roost.plan.workspace import Workspace

    monkeypatch.setenv("ROOST_DNS_RESOLVER", server.address)
    run(home, [*ASSESS, "0"])
    plan = Workspace.open(home, facts=FACTS, clock=CLOCK).plan(TODAY)
    steps = list(plan.steps)
    if plan.next is not None:
        steps.remove(plan.next)
        steps.insert(0, plan.next)
    n = [s.service_id for s in steps].index("prosody") + 1
    # plan, Prosody, "Check that others can reach it" (after "Deploy it"), host 1 (local),
    # from this computer
    text = run(home, ["2", str(n), "5", "1", "1", "here.roost.test", "0", "0", "0"])
    assert "  4. Deploy it: roost installs it on one of your hosts" in text
    assert "  5. Check that others can reach it" in text
    lines = text.splitlines()
    assert "ok: SRV _xmpp-client._tcp.here.roost.test: points at here.roost.test port 5222." \
        in lines
    assert any(x.startswith("missing: SRV _xmpp-server._tcp.here.roost.test:") for x in lines)
    assert any(x.startswith("closed: port 5222/tcp from this computer:") for x in lines) or \
        any(x.startswith("ok: port 5222/tcp from this computer:") for x in lines)
    assert any(x.startswith("prosody on local: ") and "need your attention" in x
               for x in lines)


def test_hostile_values_in_every_reach_argument_are_refused_in_one_line(
        home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from support.hostile import HOSTILE

    from roost.cli.main import main

    canary = tmp_path / "canary"
    for template in HOSTILE:
        v = template.format(c=canary)
        for argv in (["reach", v, "--host", "local"],
                     ["reach", "prosody", "--host", v],
                     ["reach", "prosody", "--host", "local", "--from", v],
                     ["reach", "prosody", "--host", "local", "--domain", v],
                     ["reach", "prosody", "--host", "local", "--resolver", v],
                     ["reach", "prosody", "--host", "local", "--option", f"domain={v}"],
                     ["reach", "prosody", "--host", "local", "--option", v]):
            try:
                rc = main(argv)
            except SystemExit as exc:
                rc = int(exc.code or 0)
            out, err = capsys.readouterr()
            assert rc == 2, (argv, out, err)
            assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, (argv, err)
            assert not canary.exists(), argv


class WebServer(TlsServer):
    """The TLS server answering HTTP: `routes` maps a path to (status, body)."""

    routes: dict[str, tuple[int, str]]

    def _serve(self) -> None:
        import http.server

        routes = self.routes = {}

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                status, body = routes.get(self.path, (404, "not found"))
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        while True:
            try:
                conn, addr = self.sock.accept()
            except OSError:
                return
            try:
                tls_conn = self.ctx.wrap_socket(conn, server_side=True)
                Handler(tls_conn, addr, None)  # type: ignore[arg-type]
                tls_conn.close()
            except (OSError, ssl.SSLError):
                conn.close()


def test_matrix_delegation_and_webfinger_over_https(
        tmp_path: Path, test_ca: tuple[object, object, Path], server: AuthServer) -> None:
    from roost.deploy.reachability import web

    site = WebServer(tmp_path / "web", test_ca[0], test_ca[1], "mx.roost.test")
    d = dns.Dns(server.address)
    missing = web.check_matrix(d, "127.0.0.1", "mx.roost.test", site.port)
    assert missing.state == "missing"
    assert "_matrix-fed._tcp.mx.roost.test pointing at mx.roost.test port 8448" in missing.fix
    site.routes["/.well-known/matrix/server"] = (200, '{"m.server": "mx.roost.test:443"}')
    ok = web.check_matrix(d, "127.0.0.1", "mx.roost.test", site.port)
    assert ok.state == "ok" and ok.found == "/.well-known/matrix/server names mx.roost.test:443."
    by_srv = web.check_matrix(d, "127.0.0.1", "fed.roost.test", site.port)
    assert by_srv.state == "ok" and "_matrix-fed._tcp.fed.roost.test" in by_srv.found

    assert web.check_webfinger("127.0.0.1", "mx.roost.test", site.port).state == "missing"
    site.routes["/.well-known/webfinger"] = (400, "resource is required")
    assert web.check_webfinger("127.0.0.1", "mx.roost.test", site.port).state == "ok"


def test_the_domain_is_the_one_the_deploy_uses(home: Path) -> None:
    """No --domain: the recipe built as the deploy builds it (from the vault's public index,
    no passphrase) names it; --option domain= and --domain win."""
    from roost.app.hosts import find
    from roost.app.reaching import Reaching
    from roost.keys import xmpp
    from roost.keys.vault import FAST_LIMITS_FOR_TESTS, Vault

    Vault.create(home, "correct horse battery 42", limits=FAST_LIMITS_FOR_TESTS).add(
        xmpp.create("alice", address="alice@chat.roost.test"))
    local = find(home, "local")
    assert Reaching("prosody", local, home).name() == "chat.roost.test"
    assert Reaching("prosody", local, home, options=["domain=chat.roost.test"]).name() == \
        "chat.roost.test"
    assert Reaching("prosody", local, home, domain="Other.Roost.Test").name() == \
        "other.roost.test"
