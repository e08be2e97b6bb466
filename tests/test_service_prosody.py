"""Prosody deployed over real SSH to a Debian host with systemd, proven with a real XMPP client.

The proof is what a person would do: an XMPP app (PyPI slixmpp) logs in as the vault's account,
trusting the server's certificate, and sends a message that a second account receives.
"""

from __future__ import annotations

import asyncio
import re
import secrets as rnd
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from support.identities import public, xmpp_pair
from support.resume import LAST, Cut, interrupt_at

from roost.core.errors import RoostError
from roost.core.paths import data_dir
from roost.deploy import engine
from roost.deploy.dryrun import plan_lines, removal_lines
from roost.deploy.events import Event, Output
from roost.deploy.journal import Journal
from roost.deploy.recipe import Recipe
from roost.deploy.recipes import RECIPES
from roost.deploy.recipes.prosody import build_prosody
from roost.keys import xmpp
from roost.keys.model import Identity

if TYPE_CHECKING:
    from testhost import TestHost

pytest_plugins = ["testhost"]

DOMAIN = "chat.roost.test"


@pytest.fixture
def people(home: Path) -> tuple[Identity, Identity]:
    return xmpp_pair(DOMAIN)


def secret_values(*ids: Identity) -> dict[str, str]:
    return {f"{i.id}#password": i.secret["password"] for i in ids}


def test_registered_and_dry_run_prints_every_step_without_secrets(
    people: tuple[Identity, Identity],
) -> None:
    alice, bob = people
    assert RECIPES["prosody"] is build_prosody
    recipe = build_prosody(None, {"address": "10.0.0.5"}, public(alice, bob))
    text = "\n".join(plan_lines(recipe, "pi"))
    assert recipe.health is not None  # the health check is the last numbered step
    assert f"step {recipe.total} of {recipe.total}: {recipe.health.describe()}" in text
    for step in recipe.steps:
        assert step.describe() in text
    assert "apt-get install" in text and "prosody" in text
    assert f"prosodyctl adduser alice@{DOMAIN}" in text
    assert "<secret: alice password>" in text
    assert f'VirtualHost "{DOMAIN}"' in text
    assert alice.secret["password"] not in text and bob.secret["password"] not in text
    removal = "\n".join(removal_lines(recipe, False, "pi"))
    assert "systemctl disable --now prosody" in removal
    assert "/var/lib/prosody" not in removal  # the accounts are kept unless asked
    assert "/var/lib/prosody/chat%2eroost%2etest" in "\n".join(removal_lines(recipe, True))


def test_needs_an_identity_and_one_domain(people: tuple[Identity, Identity]) -> None:
    alice, _ = people
    with pytest.raises(RoostError, match="needs an XMPP identity"):
        build_prosody(None, {}, {})
    with pytest.raises(RoostError, match="no XMPP identity 'carol'"):
        build_prosody(None, {"accounts": "carol"}, public(alice))
    other = xmpp.create("eve", address="eve@elsewhere.test")
    with pytest.raises(RoostError, match="is not on"):
        build_prosody(None, {"accounts": "alice,eve"}, public(alice, other))
    with pytest.raises(RoostError):
        build_prosody(None, {"address": "bad address;rm"}, public(alice))


async def _exchange(address: str, cafile: Path, alice: Identity, bob: Identity,
                    text: str) -> str:
    import slixmpp

    loop = asyncio.get_running_loop()
    got: asyncio.Future[str] = loop.create_future()
    online: dict[str, asyncio.Future[bool]] = {
        "alice": loop.create_future(), "bob": loop.create_future()}

    def client(who: Identity) -> slixmpp.ClientXMPP:
        c = slixmpp.ClientXMPP(who.public["jid"], who.secret["password"])
        c.ca_certs = cafile  # trust exactly the host's self-signed certificate
        c.enable_plaintext = False

        async def start(_: object) -> None:
            c.send_presence()
            online[who.id].set_result(True) if not online[who.id].done() else None

        def failed(_: object) -> None:
            if not online[who.id].done():
                online[who.id].set_exception(AssertionError(f"{who.id} could not log in"))

        c.add_event_handler("session_start", start)
        c.add_event_handler("failed_auth", failed)
        return c

    a, b = client(alice), client(bob)

    def on_message(msg: slixmpp.Message) -> None:
        if msg["type"] in ("chat", "normal") and not got.done():
            got.set_result(f"{msg['from'].bare}: {msg['body']}")

    b.add_event_handler("message", on_message)
    try:
        b.connect(host=address, port=5222)
        a.connect(host=address, port=5222)
        await asyncio.wait_for(asyncio.gather(online["alice"], online["bob"]), 30)
        a.send_message(mto=bob.public["jid"], mbody=text, mtype="chat")
        return await asyncio.wait_for(got, 20)
    finally:
        a.disconnect()
        b.disconnect()
        await asyncio.sleep(0.2)


@pytest.mark.slow
@pytest.mark.container
def test_prosody_deploys_and_a_real_client_logs_in_and_chats(
    pi_host: TestHost, people: tuple[Identity, Identity], tmp_path: Path,
) -> None:
    from testhost import ProcScanner, files_containing, record_time

    alice, bob = people
    passwords = [alice.secret["password"], bob.secret["password"]]
    recipe = build_prosody(None, {"address": pi_host.address}, public(alice, bob))
    journal = Journal.for_host("pi", recipe.id, data_dir())
    events: list[Event] = []
    canary = "roost-canary-" + rnd.token_hex(6)
    t = pi_host.transport(tmp_path / "ssh")
    try:
        with ProcScanner(passwords, canary=canary) as scan:
            pi_host.ssh(f"sh -c 'sleep 0.3' {canary}")
            start = time.monotonic()
            result = engine.run(recipe, t, journal=journal, secrets=secret_values(alice, bob),
                                on_event=events.append)
            record_time("deploy_prosody", time.monotonic() - start)
        assert result.ok and result.health is not None and result.health.ok
        assert scan.canary_seen, "the /proc scan did not see a short-lived command"
        assert scan.hits == [], f"a password was visible in a process: {scan.hits}"
        output = "\n".join(e.line for e in events if isinstance(e, Output))
        assert not any(p in output for p in passwords)
        # Nothing written on the host holds a password in plain text.
        assert files_containing(pi_host.changes, passwords) == []
        assert pi_host.ssh("systemctl is-active prosody").stdout.strip() == "active"
        assert pi_host.ssh("systemctl is-enabled prosody").stdout.strip() == "enabled"
        key_mode = pi_host.ssh(f"stat -c '%a %U %G' /etc/prosody/certs/{DOMAIN}.key").stdout
        assert key_mode.split() == ["640", "root", "prosody"]

        # The proof: a real XMPP client logs in as alice and bob gets her message.
        cafile = tmp_path / "server.crt"
        cafile.write_bytes(pi_host.ssh(f"cat /etc/prosody/certs/{DOMAIN}.crt").stdout.encode())
        text = "hello from roost " + rnd.token_hex(4)
        got = asyncio.run(_exchange(pi_host.address, cafile, alice, bob, text))
        assert got == f"alice@{DOMAIN}: {text}"

        # The invite command the next steps print runs on the host as printed and makes an
        # invite Prosody keeps.
        (printed,) = [c for step in recipe.next_steps for c in re.findall(r"`([^`]+)`", step)
                      if "mod_invites" in c]
        assert printed == f"sudo prosodyctl mod_invites generate {DOMAIN}"
        link = pi_host.ssh(printed).stdout.strip().splitlines()[-1]
        assert link.startswith(f"xmpp:{DOMAIN}?register;preauth="), link
        token = link.partition("preauth=")[2].partition(";")[0]
        stored = pi_host.ssh("cat /var/lib/prosody/chat%2eroost%2etest/invite_token.dat").stdout
        assert len(token) >= 16 and token in stored

        # A wrong password is refused (the proof above is not a server that lets anyone in).
        wrong = Identity("alice", "xmpp", alice.public, {"password": "not-the-password"})
        with pytest.raises(AssertionError, match="could not log in"):
            asyncio.run(_exchange(pi_host.address, cafile, wrong, bob, "x"))

        # Deploying again changes nothing.
        start = time.monotonic()
        again = engine.run(recipe, t, journal=journal, secrets=secret_values(alice, bob))
        record_time("redeploy_prosody", time.monotonic() - start)
        assert again.ok and again.applied == 0 and again.skipped == len(recipe.steps)

        # Uninstall stops it and removes its configuration, keeps the accounts.
        engine.undeploy(recipe, t, journal=journal)
        assert pi_host.ssh("systemctl is-active prosody", check=False).stdout.strip() != "active"
        assert pi_host.ssh(f"test -e /etc/prosody/conf.d/roost-{DOMAIN}.cfg.lua",
                           check=False).returncode == 1
        pi_host.ssh("test -e /var/lib/prosody/chat%2eroost%2etest/accounts/alice.dat")
    finally:
        t.close()


def test_registration_option(people: tuple[Identity, Identity]) -> None:
    alice, _ = people
    closed = "\n".join(plan_lines(build_prosody(None, {}, public(alice))))
    assert "allow_registration = false" in closed and "Sign-up is open" not in closed
    opened = build_prosody(None, {"registration": "open"}, public(alice))
    assert "allow_registration = true" in "\n".join(plan_lines(opened))
    assert any("Sign-up is open" in line for line in opened.next_steps)
    with pytest.raises(RoostError, match="not a registration choice"):
        build_prosody(None, {"registration": "yes; os.execute('x')"}, public(alice))


async def _sign_up(address: str, cafile: Path, jid: str, password: str) -> str:
    """An XMPP app making a new account on the server in-band (XEP-0077), as a friend would:
    "signed up" when the account was made and it logged in with it, else "refused"."""
    import slixmpp
    from slixmpp.exceptions import IqError
    from support.xmpp_login import first_outcome

    outcome, done = first_outcome()
    c = slixmpp.ClientXMPP(jid, password)
    for plugin in ("xep_0030", "xep_0004", "xep_0066", "xep_0077"):
        c.register_plugin(plugin)
    c.ca_certs = cafile
    c.enable_plaintext = False

    async def register(_: object) -> None:
        iq = c.Iq()
        iq["type"] = "set"
        iq["register"]["username"] = c.boundjid.user
        iq["register"]["password"] = password
        try:
            await iq.send()
        except IqError:
            done("refused")

    async def started(_: object) -> None:
        done("signed up")

    c.add_event_handler("register", register)
    c.add_event_handler("session_start", started)
    c.add_event_handler("failed_all_auth", lambda _: done("refused"))
    c.add_event_handler("failed_auth", lambda _: done("refused"))
    try:
        c.connect(host=address, port=5222)
        return await asyncio.wait_for(outcome, 30)
    finally:
        c.disconnect()
        await asyncio.sleep(0.2)


def _prosody_process(host: TestHost) -> str:
    """Prosody's main PID and the moment it started: both change when it restarts."""
    return host.ssh("systemctl show -p MainPID -p ExecMainStartTimestampMonotonic "
                    "prosody").stdout.strip()


@pytest.mark.slow
@pytest.mark.container
def test_a_changed_option_reaches_prosody_and_a_rerun_restarts_nothing(
    pi_host: TestHost, people: tuple[Identity, Identity], tmp_path: Path,
) -> None:
    """What a new user hit: the first deploy stopped while it waited for Prosody to answer
    (Ctrl+C, or a health check that cannot reach the host), after its restart step. Deploying
    again with sign-up opened (roost continues the stopped deploy) rewrote the config but
    skipped the restart as done earlier: the server kept refusing sign-ups. Now a friend's app
    signs up; and a deploy with nothing changed does not restart Prosody."""

    alice, bob = people
    secrets = secret_values(alice, bob)

    def recipe(**options: str) -> Recipe:
        return build_prosody(None, {"address": pi_host.address, **options}, public(alice, bob))

    first = recipe()
    journal = Journal.for_host("pi", first.id, data_dir())

    cut_at_health = interrupt_at(LAST)

    t = pi_host.transport(tmp_path / "ssh")
    try:
        with pytest.raises(Cut):
            engine.run(first, t, journal=journal, secrets=secrets, on_event=cut_at_health)
        cafile = tmp_path / "server.crt"
        cafile.write_bytes(pi_host.ssh(f"cat /etc/prosody/certs/{DOMAIN}.crt").stdout.encode())
        carol = (f"carol@{DOMAIN}", "carol-" + rnd.token_hex(8))
        assert asyncio.run(_sign_up(pi_host.address, cafile, *carol)) == "refused"

        opened = engine.run(recipe(registration="open"), t, journal=journal, secrets=secrets,
                            resume=True)
        assert opened.ok and opened.resumed
        assert asyncio.run(_sign_up(pi_host.address, cafile, *carol)) == "signed up"
        pi_host.ssh("test -e /var/lib/prosody/chat%2eroost%2etest/accounts/carol.dat")

        before = _prosody_process(pi_host)
        for resume in (False, True):
            same = engine.run(recipe(registration="open"), t, journal=journal,
                              secrets=secrets, resume=resume)
            assert same.ok and same.applied == 0
        assert _prosody_process(pi_host) == before
        dave = (f"dave@{DOMAIN}", "dave-" + rnd.token_hex(8))
        assert asyncio.run(_sign_up(pi_host.address, cafile, *dave)) == "signed up"
    finally:
        t.close()


@pytest.mark.slow
@pytest.mark.container
def test_interrupted_deploy_resumes_and_survives_a_reboot(
    pi_host: TestHost, people: tuple[Identity, Identity], tmp_path: Path,
) -> None:
    from roost.deploy.events import StepSkipped

    alice, bob = people
    recipe = build_prosody(None, {"address": pi_host.address}, public(alice, bob))
    journal = Journal.for_host("pi", recipe.id, data_dir())
    secrets = secret_values(alice, bob)
    cut_at = 3  # after the packages and the certificate, before the configuration

    interrupt = interrupt_at(cut_at)

    t = pi_host.transport(tmp_path / "ssh")
    try:
        with pytest.raises(Cut):
            engine.run(recipe, t, journal=journal, secrets=secrets, on_event=interrupt)
        state = journal.load()
        assert state is not None and state.unfinished
        assert len(state.done_keys()) == cut_at - 1
        seen: list[Event] = []
        resumed = engine.run(recipe, t, journal=journal, secrets=secrets, resume=True,
                             on_event=seen.append)
        assert resumed.ok and resumed.resumed
        earlier = [e.index for e in seen
                   if isinstance(e, StepSkipped) and "earlier run" in e.reason]
        assert earlier == list(range(1, cut_at))  # finished steps are not redone
        assert resumed.applied + resumed.skipped == len(recipe.steps)
        assert resumed.applied >= len(recipe.steps) - cut_at
    finally:
        t.close()

    # After a reboot the server comes back by itself and still knows the accounts.
    pi_host.reboot()
    assert pi_host.ssh("systemctl is-active prosody").stdout.strip() == "active"
    cafile = tmp_path / "server.crt"
    cafile.write_bytes(pi_host.ssh(f"cat /etc/prosody/certs/{DOMAIN}.crt").stdout.encode())
    got = asyncio.run(_exchange(pi_host.address, cafile, bob, alice, "after the reboot"))
    assert got == f"bob@{DOMAIN}: after the reboot"
