"""bovine (bovine-herd from PyPI), deployed over real SSH to a Debian host with systemd, and the
fediverse account proof (WebFinger + actor document) every ActivityPub recipe can use.

Everything runs for real: bovine-herd and its dependencies come from PyPI into a venv on the
container, hypercorn serves it under systemd, nginx is in front, the account is made by
bovine's own store tooling, and this computer proves it as another server would (WebFinger,
then the actor document, Moo-Auth-1 signed with the key derived from the vault's password).
What could not run here: federation with another real fediverse server over HTTPS (no public
DNS name or certificate for the container), and a BovineClient program (bovine is not in
roost's environment; its signature format is checked against bovine's own output instead).
"""

from __future__ import annotations

import itertools
import re
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from routeserver import RouteServer
from support.dryrun import dry_run_text
from support.identities import fediverse_alice
from support.resume import Cut, interrupt_at

from roost.catalog import load
from roost.core.errors import RoostError
from roost.core.paths import data_dir
from roost.deploy import engine
from roost.deploy.dryrun import plan_lines, removal_lines
from roost.deploy.events import Event, StepSkipped
from roost.deploy.journal import Journal
from roost.deploy.reach import Site
from roost.deploy.recipes import RECIPES
from roost.deploy.recipes.activitypub import webfinger_probe
from roost.deploy.recipes.bovine import (
    AccountHealth,
    build_bovine,
    client_key,
    client_secret,
    did_key,
    moo_auth_signer,
)
from roost.keys.model import Identity
from roost.plan.answers import Answers
from roost.plan.planner import build_plan
from roost.plan.progress import Event as ProgressEvent
from roost.plan.progress import Progress

if TYPE_CHECKING:
    from testhost import TestHost

pytest_plugins = ["testhost"]

DOMAIN = "social.roost.test"


@pytest.fixture
def alice(home: Path) -> Identity:
    return fediverse_alice(DOMAIN, "gotosocial")


# --- the recipe without a host ------------------------------------------------------------


def test_registered_dry_run_and_options(home: Path, alice: Identity) -> None:
    assert RECIPES["bovine"] is build_bovine
    with pytest.raises(RoostError, match="needs the option domain"):
        build_bovine(None, {}, {})
    for bad in ({"domain": "bad domain;rm"}, {"domain": DOMAIN, "version": "1.0; rm -rf /"},
                {"domain": DOMAIN, "port": "0"}, {"domain": DOMAIN, "listen": "99999"},
                {"domain": DOMAIN, "address": "a b"}, {"domain": DOMAIN, "colour": "red"}):
        with pytest.raises(RoostError):
            build_bovine(None, bad, {})
    bare = build_bovine(None, {"domain": DOMAIN, "address": "10.0.0.5"}, {})
    text = dry_run_text(bare, "vps")
    assert "bovine-herd==0.5.19" in text and "--bind 127.0.0.1:8000 /opt/bovine/app.py:app" in text
    assert f"server_name {DOMAIN};" in text and "proxy_set_header X-Forwarded-Proto https" in text
    assert 'db_url="sqlite:///var/lib/bovine/bovine.sqlite3"' in text
    # No account: the server's own application actor is what the health check asks for.
    assert bare.health is not None and not isinstance(bare.health, AccountHealth)
    assert f"acct:bovine@{DOMAIN}" in "\n".join(bare.health.commands())
    assert any("no account was made" in s for s in bare.next_steps)
    removal = "\n".join(removal_lines(bare, False))
    assert "systemctl disable --now bovine" in removal and "/var/lib/bovine" not in removal
    assert "/var/lib/bovine" in "\n".join(removal_lines(bare, True))

    recipe = build_bovine(None, {"domain": DOMAIN, "version": "0.5.18", "port": "8100",
                                 "listen": "8080"}, {alice.id: alice.info()})
    text = "\n".join(plan_lines(recipe, "vps"))
    assert "bovine-herd==0.5.18" in text and "proxy_pass http://127.0.0.1:8100;" in text
    assert "listen 8080;" in text
    assert f"create the account @alice@{DOMAIN} and its client key" in text
    assert f"(stdin: <secret: {alice.id} password>)" in text
    assert alice.secret["password"] not in text
    health = "\n".join(recipe.health.commands() if recipe.health else [])
    assert f"acct:alice@{DOMAIN}" in health and "http://127.0.0.1:8080" in health
    assert "signed" in health
    assert any("@alice@social.roost.test" in s for s in recipe.next_steps)
    assert any("experimental" in s and "GoToSocial" in s for s in recipe.next_steps)
    with pytest.raises(RoostError, match="no fediverse identity 'bob'"):
        build_bovine(None, {"domain": DOMAIN, "account": "bob"}, {alice.id: alice.info()})


def test_client_key_is_the_one_bovine_itself_derives_and_accepts() -> None:
    # Vectors from bovine 0.5.19 itself: the host's account script (bovine.crypto's
    # public_key_to_did_key) printed this did:key for this password, and bovine's
    # private_key_to_did_key / HttpSignature.ed25519_sign gave the same for client_secret.
    key = client_key("correct horse battery staple", "alice", "social.example.org")
    assert did_key(key) == "did:key:z6Mkpbu7xWZTBwJaBbJzaKeZK7XkntHtjPjLTGfDWECTE1Q1"
    assert client_secret(key) == "z3u2Uj7TMmaEEnuQVKsvtcagJHLy1U2MTjEW4jKpK41eqPvo"
    other = client_key("correct horse battery staple", "alice", "other.example.org")
    assert did_key(other) != did_key(key)  # the account is part of the derivation
    headers = moo_auth_signer(key, "social.example.org")("GET", "/endpoints/x?page=1", {})
    assert headers["Authorization"] == f"Moo-Auth-1 {did_key(key)}"
    assert headers["Date"].endswith(" GMT")
    message = (f"(request-target): get /endpoints/x\nhost: social.example.org\n"
               f"date: {headers['Date']}")
    from roost.deploy.recipes.bovine import _b58

    assert headers["X-Moo-Signature"] == "z" + _b58(key.sign(message.encode()))
    fixed = ("(request-target): get /endpoints/x\nhost: social.example.org\n"
             "date: Wed, 25 Nov 2026 16:00:00 GMT")
    assert "z" + _b58(key.sign(fixed.encode())) == (
        "z2MSHUn4jhphKuPGmGpr9cXEyiiscCmYQ1DxMnUQSbExwMiMJFpARDzjRW73DNBwWHK4EsDtqVTwQJn6wz3bRdTJn")


# --- the probe against a small local server -------------------------------------------------


@pytest.fixture
def fedi() -> Iterator[RouteServer]:
    with RouteServer() as server:
        yield server


WF = "/.well-known/webfinger?resource=acct:alice@social.example.org"
ACTOR_ID = "https://social.example.org/users/alice"
JRD = {"subject": "acct:alice@social.example.org",
       "links": [{"rel": "http://webfinger.net/rel/profile-page", "href": "https://x/"},
                 {"rel": "self", "type": "application/activity+json", "href": ACTOR_ID}]}
ACTOR = {"id": ACTOR_ID, "type": "Person", "preferredUsername": "alice",
         "inbox": ACTOR_ID + "/inbox",
         "publicKey": {"id": ACTOR_ID + "#main-key", "owner": ACTOR_ID,
                       "publicKeyPem": "-----BEGIN PUBLIC KEY-----\n..."}}
AP = "application/activity+json"


def test_probe_accepts_a_real_account_and_says_each_failure_in_one_line(fedi: RouteServer) -> None:
    probe = webfinger_probe(Site("127.0.0.1", "social.example.org", fedi.port), "alice")
    assert "WebFinger acct:alice@social.example.org" in probe.__qualname__

    def says(text: str) -> None:
        out = probe()
        assert isinstance(out, str) and text in out and "\n" not in out, out

    says("WebFinger does not know acct:alice@social.example.org (404)")
    fedi.routes[WF] = (500, "text/plain", "boom")
    says("WebFinger answered 500")
    fedi.routes[WF] = (200, "application/jrd+json", "<html>")
    says("WebFinger did not answer JSON")
    fedi.routes[WF] = (200, "application/jrd+json", {**JRD, "subject": "acct:bob@x"})
    says("WebFinger's subject is 'acct:bob@x'")
    fedi.routes[WF] = (200, "application/jrd+json", {**JRD, "links": JRD["links"][:1]})
    says("no link rel=self of type application/activity+json")
    fedi.routes[WF] = (200, "application/jrd+json", {**JRD, "links": [
        {"rel": "self", "type": AP, "href": "https://elsewhere.example/users/alice"}]})
    says("is not on social.example.org")
    fedi.routes[WF] = (200, "application/jrd+json", JRD)
    says("the actor document /users/alice answered 404")
    fedi.routes["/users/alice"] = (401, "application/json", {"status": "unauthorized"})
    says("answered 401: the server wants a signed request")
    fedi.routes["/users/alice"] = (200, "text/html", "<html>alice</html>")
    says("came as text/html")
    fedi.routes["/users/alice"] = (200, AP, {**ACTOR, "id": ACTOR_ID + "2"})
    says("the actor document's id is")
    fedi.routes["/users/alice"] = (200, AP, {**ACTOR, "preferredUsername": "bob"})
    says("preferredUsername is 'bob', not 'alice'")
    fedi.routes["/users/alice"] = (200, AP, {k: v for k, v in ACTOR.items() if k != "inbox"})
    says("has no inbox")
    fedi.routes["/users/alice"] = (200, AP, {**ACTOR, "publicKey": {"id": "k"}})
    says("has no public key")
    fedi.routes["/users/alice"] = (200, f"{AP}; charset=utf-8", ACTOR)
    assert probe() is True
    bare = {k: v for k, v in ACTOR.items() if k != "publicKey"}
    fedi.routes["/users/alice"] = (200, AP, {**bare, "assertionMethod": [{"id": "k"}]})
    assert probe() is True
    # Every request went to base_url with the domain as Host, the actor one asking for AP.
    assert {h["Host"] for _, h in fedi.seen} == {f"social.example.org:{fedi.port}"}
    assert fedi.seen[-1][1]["Accept"] == AP
    assert webfinger_probe(Site("127.0.0.1", "social.example.org", 9), "alice")() == (
        "WebFinger at http://127.0.0.1:9 did not answer (ConnectError)")


def test_probe_signs_the_actor_request_when_given_a_signer(fedi: RouteServer) -> None:
    fedi.routes[WF] = (200, "application/jrd+json", JRD)
    fedi.routes["/users/alice"] = (401, "application/json", {"status": "unauthorized"})
    calls: list[tuple[str, str]] = []

    def sign(method: str, path: str, headers: Any) -> dict[str, str]:
        calls.append((method, path))
        return {"Signature": "made-up"}

    out = webfinger_probe(Site("127.0.0.1", "social.example.org", fedi.port), "alice", sign=sign)()
    assert out == ("the actor document answered 401: the server wants a signed request and "
                   "did not accept this one")
    assert calls == [("GET", "/users/alice")]
    assert fedi.seen[-1][1]["Signature"] == "made-up" and "Signature" not in fedi.seen[0][1]


# --- the plan never makes it anyone's social step ---------------------------------------------


def test_bovine_is_in_the_catalog_but_never_in_anyones_plan() -> None:
    catalog = load()
    bovine = catalog.get("bovine")
    assert bovine is not None and bovine.recipe == "bovine" and bovine.experimental
    assert bovine.upstream.status == "slow" and "experimental" in bovine.summary
    social = ("twitter", "facebook", "instagram")
    checked = 0
    for uses, hardware, skill, has_domain, arch in itertools.product(
            [(), ("twitter",), social, ("twitter", "whatsapp", "spotify")],
            [(), ("pi",), ("vps",), ("pi", "vps", "pc"), ("pc",)],
            ("beginner", "some", "comfortable"), (True, False), ("aarch64", "armv7l")):
        a = Answers(uses, hardware, has_domain, "example.org" if has_domain else None, skill,
                    "days", 1024 if "pi" in hardware else None,
                    arch if "pi" in hardware else None)
        plan = build_plan(catalog, a, Progress(), date(2026, 11, 25))
        assert plan.get("bovine") is None, a
        assert plan.get("gotosocial") is not None
        checked += 1
    # With every other server for Twitter skipped but Mastodon, the next step is Mastodon on
    # a public instance, not bovine.
    day = date(2026, 11, 25)
    skipped = Progress(tuple(
        ProgressEvent("skipped", datetime(2026, 11, 25, 12, tzinfo=UTC), sid,
                      {"reason": "not now"})
        for sid in ("gotosocial", "akkoma", "pleroma", "gnu-social")))
    a = Answers(("twitter",), ("pi",), True, "example.org", "some", "fast", 1024, "aarch64")
    plan = build_plan(catalog, a, skipped, day)
    assert plan.next is not None and plan.next.service_id == "mastodon"
    assert plan.next.way == "public"
    assert checked == 4 * 5 * 3 * 2 * 2


def test_an_experimental_service_says_so_in_the_catalog(
        capsys: pytest.CaptureFixture[str]) -> None:
    from roost.cli.main import main

    assert main(["catalog"]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("bovine:"))
    assert "Experimental, never in a plan." in line
    assert main(["catalog", "bovine"]) == 0
    assert "Experimental: it is never part of a plan" in capsys.readouterr().out


# --- the real thing over SSH ---------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.container
def test_bovine_from_pypi_answers_webfinger_and_its_actor_through_nginx(
    pi_host: TestHost, alice: Identity, tmp_path: Path,
) -> None:
    from testhost import ProcScanner, files_containing, record_time

    password = alice.secret["password"]
    secrets = {f"{alice.id}#password": password}
    recipe = build_bovine(None, {"domain": DOMAIN, "address": pi_host.address},
                          {alice.id: alice.info()})
    names = [s.describe() for s in recipe.steps]
    cut_at = names.index("write /opt/bovine/app.py from a template") + 1  # after pip
    journal = Journal.for_host("pi", recipe.id, data_dir())

    interrupt = interrupt_at(cut_at)

    def sh(cmd: str) -> str:
        return pi_host.ssh(cmd).stdout.strip()

    t = pi_host.transport(tmp_path / "ssh")
    try:
        with ProcScanner([password]) as scan:
            start = time.monotonic()
            with pytest.raises(Cut):
                engine.run(recipe, t, journal=journal, secrets=secrets, on_event=interrupt)
            record_time("deploy_bovine_until_interrupted", time.monotonic() - start)
            state = journal.load()
            assert state is not None and state.unfinished
            assert len(state.done_keys()) == cut_at - 1
            assert sh("/opt/bovine/venv/bin/python -c "
                      "'import importlib.metadata as m; print(m.version(\"bovine-herd\"))'"
                      ) == "0.5.19"
            seen: list[Event] = []
            start = time.monotonic()
            result = engine.run(recipe, t, journal=journal, secrets=secrets, resume=True,
                                on_event=seen.append)
            record_time("deploy_bovine_resumed", time.monotonic() - start)
        assert scan.hits == [], "the password was visible in a process's arguments"
        assert files_containing(pi_host.changes, [password]) == []
        assert result.ok and result.resumed and result.health is not None and result.health.ok
        earlier = [e.index for e in seen
                   if isinstance(e, StepSkipped) and "earlier run" in e.reason]
        assert earlier == list(range(1, cut_at))

        assert sh("systemctl is-active bovine") == "active"
        pid = sh("systemctl show -p MainPID --value bovine")
        assert sh(f"ps -o user= -p {pid}") == "bovine"
        assert sh("ss -Htln 'sport = :8000' | awk '{print $4}'") == "127.0.0.1:8000"
        assert sh("stat -c '%a %U' /var/lib/bovine") == "750 bovine"
        # The catalog's 256 megabytes hold: what the server's processes use, measured.
        rss_kb = sum(int(x) for x in sh("ps -o rss= -u bovine").split())
        assert 10 < rss_kb / 1024 < 256, rss_kb  # 121 megabytes measured (two processes)

        # As another fediverse server would, from this computer, through nginx.
        base = f"http://{pi_host.address}"
        site = Site(pi_host.address, DOMAIN)
        wf = httpx.get(f"{base}/.well-known/webfinger",
                       params={"resource": f"acct:alice@{DOMAIN}"},
                       headers={"Host": DOMAIN}, timeout=10)
        assert wf.status_code == 200 and "nginx" in wf.headers.get("server", "")
        assert wf.json()["subject"] == f"acct:alice@{DOMAIN}"
        actor_id = next(x["href"] for x in wf.json()["links"] if x["rel"] == "self")
        assert actor_id.startswith(f"https://{DOMAIN}/endpoints/")
        path = actor_id.removeprefix(f"https://{DOMAIN}")
        headers = {"Host": DOMAIN, "Accept": "application/activity+json"}
        unsigned = httpx.get(base + path, headers=headers, timeout=10)
        assert unsigned.status_code == 401  # bovine shows actors only to signed requests
        key = client_key(password, "alice", DOMAIN)
        signed = httpx.get(base + path, timeout=10, headers={
            **headers, **moo_auth_signer(key, DOMAIN)("GET", path, headers)})
        assert signed.status_code == 200, signed.text
        actor = signed.json()
        assert actor["id"] == actor_id and actor["preferredUsername"] == "alice"
        assert actor["inbox"].startswith(f"https://{DOMAIN}/endpoints/")
        assert actor["publicKey"]["publicKeyPem"].startswith("-----BEGIN PUBLIC KEY-----")
        wrong = client_key(password + "x", "alice", DOMAIN)
        refused = httpx.get(base + path, timeout=10, headers={
            **headers, **moo_auth_signer(wrong, DOMAIN)("GET", path, headers)})
        assert refused.status_code == 401
        assert webfinger_probe(site, "alice", sign=moo_auth_signer(key, DOMAIN))() \
            is True
        assert webfinger_probe(site, "alice")() == (
            "the actor document answered 401: the server wants a signed request")
        assert webfinger_probe(site, "bob")() == (
            f"WebFinger does not know acct:bob@{DOMAIN} (404)")
        nodeinfo = httpx.get(f"{base}/activitypub/nodeinfo2_0", headers={"Host": DOMAIN},
                             timeout=10).json()
        assert nodeinfo["software"] == {"name": "bovine", "version": "0.5.19"}
        assert nodeinfo["usage"]["users"]["total"] == 1

        # Again: nothing changes, the server keeps running, the account is not made twice.
        start = time.monotonic()
        again = engine.run(recipe, t, journal=journal, secrets=secrets)
        record_time("redeploy_bovine", time.monotonic() - start)
        assert again.ok and again.applied == 0 and again.skipped == len(recipe.steps)
        assert sh("systemctl show -p MainPID --value bovine") == pid
        # bovine's own CLI, as the next steps tell the person to run it, sees one account.
        tool = next(x for x in recipe.next_steps if "More accounts" in x)
        printed = re.findall(r"`([^`]+)`", tool)[0]  # the register command, as printed
        assert printed.startswith("sudo -u bovine env -C /var/lib/bovine "), printed
        cmd = printed.split(" register ")[0]  # the same tool's `actor` lists the accounts
        names = sh(f"cd / && {cmd} actor").splitlines()
        assert len(names) == 1 and names[0].startswith("alice_"), names
        # Stopped after the account was made but before it was recorded: the account step runs
        # again, finds the account and its key, and makes no second one.
        sh("rm /var/lib/bovine/.roost-account-alice")
        redo = engine.run(recipe, t, journal=journal, secrets=secrets)
        assert redo.ok and redo.applied == 1
        assert sh(f"cd / && {cmd} actor").splitlines() == names

        # After a reboot bovine and nginx come back by themselves with the account.
        t.close()
        pi_host.reboot()
        t = pi_host.transport(tmp_path / "ssh2")
        signed_probe = webfinger_probe(site, "alice", sign=moo_auth_signer(key, DOMAIN))
        deadline = time.monotonic() + 60
        while (out := signed_probe()) is not True and time.monotonic() < deadline:
            time.sleep(1)
        assert out is True, out

        # Uninstall stops it and takes the site away, the account stays; purge removes it.
        engine.undeploy(recipe, t, journal=journal)
        assert pi_host.ssh("systemctl is-active bovine", check=False).stdout.strip() != "active"
        assert pi_host.ssh("test -e /etc/nginx/sites-enabled/roost-bovine.conf",
                           check=False).returncode == 1
        assert pi_host.ssh("test -e /etc/systemd/system/bovine.service",
                           check=False).returncode == 1
        sh("test -s /var/lib/bovine/bovine.sqlite3 && test -x /opt/bovine/venv/bin/hypercorn")
        engine.undeploy(recipe, t, journal=journal, purge_data=True)
        for gone in ("/var/lib/bovine", "/opt/bovine"):
            assert pi_host.ssh(f"test -e {gone}", check=False).returncode == 1, gone
    finally:
        t.close()
