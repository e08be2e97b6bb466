"""Prosody with a certificate from an ACME server (`tls=letsencrypt`), proven against a real one.

Let's Encrypt itself cannot be reached from here (and a test domain cannot pass its checks), so
the ACME server is Debian's `pebble` (Let's Encrypt's RFC 8555 test server) running ON THE TEST
HOST: it validates the HTTP-01 challenge on port 80 of the test domain, which the host's
/etc/hosts points at 127.0.0.1, so nothing leaves the host. Its HTTPS directory uses a
certificate authority the test makes; certbot trusts it through the recipe's `acme_ca_bundle`
option (for private ACME servers). Everything else is what a user's host runs: Debian's certbot
(standalone HTTP-01 on a free port 80), Debian's Prosody 0.12 with `prosodyctl cert import`, a
certbot deploy hook, the certbot.service renewal unit. The proof is a real XMPP client (slixmpp)
that trusts only pebble's root and logs in, and openssl's STARTTLS view of the served chain.

A second host test covers port 80 already served by nginx: certbot's nginx plugin answers the
challenge through it and the site keeps working.

Not run here: Let's Encrypt's production directory (the default acme_server; unreachable from
here, and it could not validate a test domain anyway).
"""

from __future__ import annotations

import asyncio
import secrets as rnd
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from support.dryrun import dry_run_text
from support.identities import public, xmpp_pair

from roost.core.errors import RoostError
from roost.core.paths import data_dir
from roost.deploy import engine
from roost.deploy.dryrun import plan_lines, removal_lines
from roost.deploy.engine import DeployFailed
from roost.deploy.journal import Journal
from roost.deploy.recipes.prosody import LETSENCRYPT, build_prosody
from roost.keys.model import Identity

if TYPE_CHECKING:
    from testhost import TestHost

pytest_plugins = ["testhost"]

DOMAIN = "chat.roost.test"
ACME = "https://localhost:14000/dir"
BUNDLE = "/etc/pebble/https-ca.pem"
LIVE = f"/etc/letsencrypt/live/{DOMAIN}"
HOOK = f"/etc/letsencrypt/renewal-hooks/deploy/roost-prosody-{DOMAIN}"
DROPIN = "/etc/systemd/system/certbot.service.d/roost-acme-ca-bundle.conf"


@pytest.fixture
def people(home: Path) -> tuple[Identity, Identity]:
    return xmpp_pair(DOMAIN)


def secret_values(*ids: Identity) -> dict[str, str]:
    return {f"{i.id}#password": i.secret["password"] for i in ids}


def le_options(**more: str) -> dict[str, str]:
    return {"tls": "letsencrypt", "email": "admin@roost.test", **more}


def test_tls_options_are_checked(people: tuple[Identity, Identity]) -> None:
    alice, _ = people
    ids = public(alice)
    with pytest.raises(RoostError, match="not a TLS choice"):
        build_prosody(None, {"tls": "acme"}, ids)
    with pytest.raises(RoostError, match="needs the option email"):
        build_prosody(None, {"tls": "letsencrypt"}, ids)
    with pytest.raises(RoostError, match="only for tls=letsencrypt"):
        build_prosody(None, {"email": "a@roost.test"}, ids)
    for bad in ("nobody", "a b@roost.test", "a@", "$(reboot)@x.org", "a@bad_domain",
                "a@roost.test\n--server=x"):
        with pytest.raises(RoostError, match="e-mail"):
            build_prosody(None, {"tls": "letsencrypt", "email": bad}, ids)
    for bad in ("http://acme.example/dir", "ftp://x", "https://", "https://a b/dir",
                "https://user:pw@acme.example/dir", "https://x.org/$(id)",
                "https://x.org:99999/dir"):
        with pytest.raises(RoostError, match="not an ACME directory"):
            build_prosody(None, le_options(acme_server=bad), ids)
    for bad in ("relative.pem", "/etc/../root/x", "/etc/a b.pem", "/x;rm"):
        with pytest.raises(RoostError, match="acme_ca_bundle"):
            build_prosody(None, le_options(acme_ca_bundle=bad), ids)


def test_letsencrypt_dry_run_shows_certbot_the_hook_and_the_import(
    people: tuple[Identity, Identity],
) -> None:
    alice, bob = people
    recipe = build_prosody(None, le_options(), public(alice, bob))
    text = dry_run_text(recipe, "pi")
    assert "certbot" in text.split("step 2 of")[0]  # installed with prosody
    assert "--server \"$s\" --cert-name \"$d\" -d \"$d\" --keep-until-expiring" in text
    assert f"sh {DOMAIN} admin@roost.test {LETSENCRYPT}" in text  # the default directory
    assert "--standalone" in text and "--nginx" in text  # how port 80 is chosen is shown
    assert f"write file {HOOK}" in text and "mode 0755" in text
    assert f"prosodyctl --root cert import '{DOMAIN}' /etc/letsencrypt/live" in text
    assert "REQUESTS_CA_BUNDLE" not in text.replace('export REQUESTS_CA_BUNDLE="$b"', "")
    assert alice.secret["password"] not in text
    removal = "\n".join(removal_lines(recipe, False, "pi"))
    assert f"rm -rf -- {HOOK}" in removal and "certbot delete" not in removal
    purge = "\n".join(removal_lines(recipe, True, "pi"))
    assert f"certbot delete --non-interactive --cert-name {DOMAIN}" in purge
    # A private ACME server's CA reaches certbot and its renewal unit, nothing else.
    private = build_prosody(None, le_options(acme_server=ACME, acme_ca_bundle=BUNDLE),
                            public(alice))
    ptext = "\n".join(plan_lines(private, "pi"))
    assert f'Environment="REQUESTS_CA_BUNDLE={BUNDLE}"' in ptext
    assert f"write file {DROPIN}" in ptext
    assert f"rm -rf -- {DROPIN}" in "\n".join(removal_lines(private, False, "pi"))
    # The self-signed default is unchanged: no certbot.
    plain = "\n".join(plan_lines(build_prosody(None, {}, public(alice)), "pi"))
    assert "certbot" not in plain and "openssl req -x509" in plain


def test_a_changed_ca_bundle_reaches_the_renewal_unit(people: tuple[Identity, Identity]) -> None:
    """systemd reads a drop-in only after `systemctl daemon-reload`. The only reload came from
    restarting Prosody when its own configuration changed, so a bundle given or changed on a
    later deploy (or removed by uninstall) never reached certbot.service: renewals from the
    private ACME server failed on its certificate. A Restart watching the drop-in reloads."""
    from roost.deploy.steps import RenderTemplate, Restart

    alice, _ = people
    recipe = build_prosody(None, le_options(acme_server=ACME, acme_ca_bundle=BUNDLE),
                           public(alice))
    written = next(i for i, s in enumerate(recipe.steps)
                   if isinstance(s, RenderTemplate) and s.path == DROPIN)
    reloads = [i for i, s in enumerate(recipe.steps)
               if isinstance(s, Restart) and DROPIN in s.watch]
    assert reloads and reloads[0] > written
    removed = [s for s in recipe.uninstall if isinstance(s, Restart) and DROPIN in s.watch]
    assert removed and recipe.uninstall.index(removed[0]) > next(
        i for i, s in enumerate(recipe.uninstall) if getattr(s, "path", "") == DROPIN)


# --- the real thing on a test host ----------------------------------------------------------

PEBBLE_CONFIG = """{
  "pebble": {
    "listenAddress": "127.0.0.1:14000",
    "managementListenAddress": "127.0.0.1:15000",
    "certificate": "/etc/pebble/https-cert.pem",
    "privateKey": "/etc/pebble/https-key.pem",
    "httpPort": 80,
    "tlsPort": 5001,
    "ocspResponderURL": "",
    "externalAccountBindingRequired": false
  }
}
"""

# A CA for pebble's own HTTPS listener (localhost), made on the host.
PEBBLE_HTTPS = (
    "set -e; cd /etc/pebble; umask 077; "
    "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 "
    "-subj /CN=roost-test-pebble-https-ca -keyout https-ca.key -out https-ca.pem 2>/dev/null; "
    "openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=localhost "
    "-keyout https-key.pem -out https.csr 2>/dev/null; "
    "printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > san.ext; "
    "openssl x509 -req -in https.csr -CA https-ca.pem -CAkey https-ca.key -CAcreateserial "
    "-days 30 -extfile san.ext -out https-cert.pem 2>/dev/null; chmod 644 https-ca.pem"
)

FETCH = (
    "python3 -c 'import ssl,sys,urllib.request as u; "
    "c=ssl.create_default_context(cafile=\"/etc/pebble/https-ca.pem\"); "
    "sys.stdout.write(u.urlopen(\"https://localhost:15000/\"+sys.argv[1],context=c)"
    ".read().decode())' "
)


def start_pebble(host: TestHost) -> None:
    """pebble from Debian on the host, its HTTP-01 checks going to port 80 of 127.0.0.1."""
    host.ssh("DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "
             "pebble openssl >/dev/null")
    host.ssh(f"mkdir -p /etc/pebble && echo '127.0.0.1 {DOMAIN}' >> /etc/hosts")
    host.ssh("cat > /etc/pebble/config.json", input=PEBBLE_CONFIG.encode())
    host.ssh(f"sh -c {PEBBLE_HTTPS!r}")
    host.ssh("systemd-run --unit=pebble -E PEBBLE_VA_NOSLEEP=1 -E PEBBLE_WFE_NONCEREJECT=0 "
             "/usr/bin/pebble -config /etc/pebble/config.json")
    for _ in range(100):
        if host.ssh(FETCH + "roots/0", check=False).returncode == 0:
            return
        time.sleep(0.1)
    raise AssertionError("pebble did not start: "
                         + host.ssh("journalctl -u pebble -n 20", check=False).stdout)


def pebble_orders(host: TestHost) -> int:
    """How many orders pebble has been sent (its log names each new one)."""
    log = host.ssh("journalctl -u pebble --no-pager -o cat", check=False).stdout
    return sum(1 for line in log.splitlines() if "POST /order-plz" in line)


def served_chain(address: str) -> list[str]:
    """The PEM certificates the server sends after STARTTLS on 5222 (openssl's view)."""
    proc = subprocess.run(
        ["openssl", "s_client", "-starttls", "xmpp", "-xmpphost", DOMAIN, "-connect",
         f"{address}:5222", "-servername", DOMAIN, "-showcerts"],
        input=b"", capture_output=True, timeout=30,
    )
    text = proc.stdout.decode(errors="replace")
    out, cur = [], None
    for line in text.splitlines():
        if line == "-----BEGIN CERTIFICATE-----":
            cur = [line]
        elif cur is not None:
            cur.append(line)
            if line == "-----END CERTIFICATE-----":
                out.append("\n".join(cur) + "\n")
                cur = None
    assert out, f"no certificate after STARTTLS:\n{text[-1500:]}\n{proc.stderr.decode()[-800:]}"
    return out


async def _login_and_chat(address: str, cafile: Path, alice: Identity, bob: Identity,
                          text: str) -> str:
    from test_service_prosody import _exchange

    return await _exchange(address, cafile, alice, bob, text)


@pytest.mark.slow
@pytest.mark.container
def test_prosody_gets_an_acme_certificate_and_a_real_client_trusts_it(
    pi_host: TestHost, people: tuple[Identity, Identity], tmp_path: Path,
) -> None:
    from cryptography import x509
    from cryptography.x509.oid import ExtensionOID, NameOID
    from testhost import record_time

    alice, bob = people
    start_pebble(pi_host)
    recipe = build_prosody(None, le_options(address=pi_host.address, acme_server=ACME,
                                            acme_ca_bundle=BUNDLE), public(alice, bob))
    journal = Journal.for_host("pi", recipe.id, data_dir())
    secrets = secret_values(alice, bob)
    t = pi_host.transport(tmp_path / "ssh")
    try:
        # Port 80 taken by something other than nginx: the deploy stops at the certificate
        # with the program's name, before any order; freed, the deploy resumes and finishes.
        pi_host.ssh("systemd-run --unit=squatter python3 -m http.server 80")
        for _ in range(50):
            if pi_host.ssh("ss -Hltn 'sport = :80'").stdout.strip():
                break
            time.sleep(0.1)
        start = time.monotonic()
        with pytest.raises(DeployFailed) as failed:
            engine.run(recipe, t, journal=journal, secrets=secrets)
        record_time("deploy_prosody_acme_until_port80_refusal", time.monotonic() - start)
        assert "port 80 is used by python3, not nginx" in failed.value.event.tail
        assert pebble_orders(pi_host) == 0
        pi_host.ssh("systemctl stop squatter")

        start = time.monotonic()
        result = engine.run(recipe, t, journal=journal, secrets=secrets, resume=True)
        record_time("deploy_prosody_acme_resumed", time.monotonic() - start)
        assert result.ok and result.health is not None and result.health.ok
        assert pebble_orders(pi_host) == 1
        assert "standalone" in pi_host.ssh(f"cat /etc/letsencrypt/renewal/{DOMAIN}.conf").stdout

        # The served certificate is pebble's, names the domain, and chains to pebble's root.
        root_pem = pi_host.ssh(FETCH + "roots/0").stdout
        inter_pem = pi_host.ssh(FETCH + "intermediates/0").stdout
        chain = served_chain(pi_host.address)
        leaf = x509.load_pem_x509_certificate(chain[0].encode())
        inter = x509.load_pem_x509_certificate(inter_pem.encode())
        assert leaf.issuer == inter.subject != leaf.subject  # not self-signed
        assert "Pebble Intermediate CA" in inter.subject.get_attributes_for_oid(
            NameOID.COMMON_NAME)[0].value
        san = leaf.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_ALTERNATIVE_NAME)
        assert san.value.get_values_for_type(x509.DNSName) == [DOMAIN]
        (tmp_path / "root.pem").write_text(root_pem)
        (tmp_path / "chain.pem").write_text("".join(chain[1:]))
        (tmp_path / "leaf.pem").write_text(chain[0])
        verify = subprocess.run(
            ["openssl", "verify", "-CAfile", str(tmp_path / "root.pem"), "-untrusted",
             str(tmp_path / "chain.pem"), "-verify_hostname", DOMAIN, str(tmp_path / "leaf.pem")],
            capture_output=True, text=True)
        assert verify.returncode == 0, verify.stdout + verify.stderr
        key_mode = pi_host.ssh(f"stat -c '%a %U' /etc/prosody/certs/{DOMAIN}.key").stdout
        assert key_mode.split() == ["400", "prosody"]

        # A real XMPP app that trusts only pebble's root logs in and chats.
        text = "over a real certificate " + rnd.token_hex(4)
        got = asyncio.run(_login_and_chat(pi_host.address, tmp_path / "root.pem", alice, bob,
                                          text))
        assert got == f"alice@{DOMAIN}: {text}"

        # Deploying again changes nothing and orders nothing.
        start = time.monotonic()
        again = engine.run(recipe, t, journal=journal, secrets=secrets)
        record_time("redeploy_prosody_acme", time.monotonic() - start)
        assert again.ok and again.applied == 0 and again.skipped == len(recipe.steps)
        assert pebble_orders(pi_host) == 1
        assert pi_host.ssh(f"ls /etc/letsencrypt/archive/{DOMAIN}").stdout.split().count(
            "cert1.pem") == 1
        assert "cert2.pem" not in pi_host.ssh(f"ls /etc/letsencrypt/archive/{DOMAIN}").stdout

        # A renewal the way the host does it (certbot.service, with the drop-in's CA bundle,
        # forced here because the certificate is years from expiring) reaches Prosody through
        # the deploy hook: it serves the new certificate without a deploy.
        pi_host.ssh("printf 'force-renewal = True\\n' >> /etc/letsencrypt/cli.ini")
        pi_host.ssh("systemctl start certbot.service")
        pi_host.ssh("sed -i '/^force-renewal/d' /etc/letsencrypt/cli.ini")
        assert pebble_orders(pi_host) == 2
        renewed = x509.load_pem_x509_certificate(served_chain(pi_host.address)[0].encode())
        assert renewed.serial_number != leaf.serial_number and renewed.issuer == inter.subject
        assert pi_host.ssh("ls /etc/prosody/certs/ | grep -c bkp || true").stdout.strip() == "0"
        got = asyncio.run(_login_and_chat(pi_host.address, tmp_path / "root.pem", bob, alice,
                                          "after the renewal"))
        assert got == f"bob@{DOMAIN}: after the renewal"

        # Uninstall removes the hook and the drop-in, keeps the certificate; purge deletes it.
        engine.undeploy(recipe, t, journal=journal)
        for gone in (HOOK, DROPIN):
            assert pi_host.ssh(f"test -e {gone}", check=False).returncode == 1
        pi_host.ssh(f"test -f {LIVE}/fullchain.pem")
        engine.undeploy(recipe, t, journal=journal, purge_data=True)
        for gone in (LIVE, f"/etc/letsencrypt/renewal/{DOMAIN}.conf",
                     f"/etc/letsencrypt/archive/{DOMAIN}", f"/etc/prosody/certs/{DOMAIN}.key"):
            assert pi_host.ssh(f"test -e {gone}", check=False).returncode == 1
    finally:
        t.close()


@pytest.mark.slow
@pytest.mark.container
def test_port_80_served_by_nginx_goes_through_certbots_nginx_plugin(
    pi_host: TestHost, people: tuple[Identity, Identity], tmp_path: Path,
) -> None:
    import urllib.request

    from cryptography import x509
    from testhost import record_time

    alice, bob = people
    pi_host.ssh("DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "
                "nginx >/dev/null && echo roost-site > /var/www/html/index.html")
    start_pebble(pi_host)
    recipe = build_prosody(None, le_options(address=pi_host.address, acme_server=ACME,
                                            acme_ca_bundle=BUNDLE), public(alice, bob))
    journal = Journal.for_host("pi", recipe.id, data_dir())
    t = pi_host.transport(tmp_path / "ssh")
    try:
        start = time.monotonic()
        result = engine.run(recipe, t, journal=journal, secrets=secret_values(alice, bob))
        record_time("deploy_prosody_acme_nginx", time.monotonic() - start)
        assert result.ok and result.health is not None and result.health.ok
        renewal = pi_host.ssh(f"cat /etc/letsencrypt/renewal/{DOMAIN}.conf").stdout
        assert "authenticator = nginx" in renewal
        assert pebble_orders(pi_host) == 1
        inter = x509.load_pem_x509_certificate(pi_host.ssh(FETCH + "intermediates/0").stdout
                                               .encode())
        leaf = x509.load_pem_x509_certificate(served_chain(pi_host.address)[0].encode())
        assert leaf.issuer == inter.subject
        # The site nginx serves is untouched and still answers.
        pi_host.ssh("nginx -t")
        with urllib.request.urlopen(f"http://{pi_host.address}/", timeout=10) as page:
            assert page.read().decode().strip() == "roost-site"
        (tmp_path / "root.pem").write_text(pi_host.ssh(FETCH + "roots/0").stdout)
        got = asyncio.run(_login_and_chat(pi_host.address, tmp_path / "root.pem", alice, bob,
                                          "through nginx"))
        assert got == f"alice@{DOMAIN}: through nginx"
        again = engine.run(recipe, t, journal=journal, secrets=secret_values(alice, bob))
        assert again.ok and again.applied == 0 and pebble_orders(pi_host) == 1
    finally:
        t.close()
