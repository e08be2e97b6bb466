"""Plain mode makes identities and deploys, as the full-screen app does (issue 20, point 16),
driven through a real pty as a person on a braille display would: numbers and Enter, secrets
typed at a prompt that does not echo.

* An identity: the kind, a name refused then accepted as typed, its question, then the new
  vault's passphrase twice (never echoed); the vault then holds it, the menu lists it.
* A deploy of the static blog over real SSH to a booted Debian test host that roost has never
  connected to: the plan's step, "Deploy it", the host, each option said with its meaning and
  default and checked as typed (a port out of range is refused and asked again); on
  first contact the host key's fingerprint is said and the question asked: No changes nothing
  (roost still does not trust the key), Yes deploys with a line a step; the plan notes it, and
  the pages are served to an HTTP client. No escape sequence in the whole output.
"""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
from a11y.pty_harness import PtySession, escape_sequences
from a11y.roost_walk import roost_argv, roost_env
from test_a11y_plain import answer, menu_items

if TYPE_CHECKING:
    from testhost import TestHost

pytest_plugins = ["testhost"]

PROMPT = re.compile(rb"(Type a number from 0 to \d+, then Enter: |\(0 goes back\): "
                    rb"|[Pp]assphrase: |Type it again: |[^\n]*@example\.org: )")
PASSPHRASE = "plain mode passphrase 4 tests"


class Driver:
    """Answers prompts one at a time, keeping what came since the last one."""

    def __init__(self, s: PtySession) -> None:
        self.s, self.pos = s, 0

    def next(self, timeout: float = 30) -> bytes:
        m = self.s.expect(PROMPT, timeout=timeout)
        chunk = self.s.raw[self.pos:m.end()]
        self.pos = m.end()
        return chunk

    def pick(self, chunk: bytes, starts: str) -> None:
        items = menu_items(chunk)
        found = [n for text, n in items.items() if text.startswith(starts)]
        assert found, f"no {starts!r} in {items}:\n{chunk.decode(errors='replace')}"
        answer(self.s, str(found[0]))


@pytest.mark.slow
def test_plain_makes_an_identity_with_a_passphrase_that_is_never_echoed(
        tmp_path: Path) -> None:
    from roost.keys import Vault

    home = tmp_path / "home"
    with PtySession(roost_argv("--plain"), term="dumb", env=roost_env(home)) as s:
        d = Driver(s)
        d.pick(d.next(), "Identities")
        chunk = d.next()
        assert b"No identities yet" in chunk and b"Make one with" not in chunk, chunk
        d.pick(chunk, "Make a new identity")
        chunk = d.next()
        assert b"XMPP chat account: asks for the address" in chunk, chunk
        d.pick(chunk, "XMPP chat account")
        chunk = d.next()
        assert b"Name (for you), Enter: xmpp" in chunk, chunk
        answer(s, "Not A Name")
        chunk = d.next()
        assert b"is not a valid identity name" in chunk and b"Please type it again." in chunk
        answer(s, "chat")
        chunk = d.next()
        assert b"The address, like alice@example.org" in chunk, chunk
        answer(s, "bob@example.org")
        chunk = d.next()
        assert b"roost makes the vault now" in chunk and b"New vault passphrase: " in chunk
        answer(s, PASSPHRASE)
        assert b"Type it again: " in d.next()
        answer(s, PASSPHRASE)
        chunk = d.next()
        assert b"Sealing the vault" in chunk and b"Made chat. Public id: bob@example.org." \
            in chunk, chunk
        assert b"XMPP chat account named chat." in chunk and b"Open chat" in chunk, chunk
        answer(s, "q")
        s.expect(rb"Bye\.")
        assert s.wait_exit(10) and s.exit_status == 0
    assert PASSPHRASE.encode() not in s.raw, "the passphrase was echoed"
    assert escape_sequences(s.raw) == []
    assert [(i.id, i.public_id) for i in Vault.public_index(home)] == [
        ("chat", "bob@example.org")]
    assert Vault.open(home, PASSPHRASE).get("chat").kind == "xmpp"


def fingerprints(host: TestHost) -> set[str]:
    """SHA256 fingerprints of the host's own SSH host keys, as OpenSSH prints them."""
    out = set()
    for line in host.known_hosts_lines().splitlines():
        blob = base64.b64decode(line.split()[2])
        digest = base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")
        out.add(f"SHA256:{digest}")
    return out


def to_the_host(d: Driver, site: Path, pi: TestHost) -> bytes:
    """From the first menu to the trust question: the plan's static blog step, Deploy it, pi,
    the options (a port out of range refused, asked again, then its default). Returns what
    came up to the question."""
    d.pick(d.next(), "See your plan")
    d.pick(d.next(), "Static blog")
    chunk = d.next()
    d.pick(chunk, "Deploy it: roost installs it")
    chunk = d.next()
    assert re.search(rb"Deploy Static blog \([^)]*\): on which host\?", chunk), chunk
    d.pick(chunk, "pi")
    chunk = d.next()
    assert b"Option 1 of 4: Site: The folder on this computer with your pages" in chunk, chunk
    assert b"Default: a one-page placeholder." in chunk, chunk
    answer(d.s, str(site))
    chunk = d.next()
    assert b"Option 2 of 4: Domain:" in chunk and b"Default: _, any name." in chunk, chunk
    answer(d.s, "")
    assert b"Option 3 of 4: Port: The port nginx serves the pages on. Default: 80." in d.next()
    answer(d.s, "99999")
    chunk = d.next()
    assert b"Please type it again." in chunk and b"Option 4" not in chunk, chunk
    answer(d.s, "")
    assert b"Option 4 of 4: Address:" in d.next()
    answer(d.s, pi.address)
    return d.next(timeout=60)


@pytest.mark.slow
@pytest.mark.container
def test_plain_deploys_the_static_blog_over_ssh_after_the_fingerprint_is_confirmed(
        pi_host: TestHost, home: Path, tmp_path: Path) -> None:
    from support.answers import answers_toml
    from test_service_static_blog import make_site

    from roost.cli.main import main
    from roost.deploy.hosts import HOSTS_FILE, Host, HostStore
    from roost.deploy.trust import KNOWN_HOSTS
    from roost.plan.workspace import Workspace

    answers = tmp_path / "answers.toml"
    answers.write_text(answers_toml(["hosted-blog"]))
    assert main(["assess", "--answers", str(answers)]) == 0
    # The host is known by name, its key never seen: the deploy is the first contact.
    HostStore(home / HOSTS_FILE).add(Host("pi", address=pi_host.address, user="root",
                                          port=pi_host.ssh_port, key_path=str(pi_host.key_path)))
    site = tmp_path / "site"
    make_site(site, "Moved by plain mode")
    env = roost_env(home, ROOST_HOST_STATE_DIR="/var/lib/roost-test-state",
                    HOME=str(tmp_path / "user-home"))
    env["SSH_AUTH_SOCK"] = ""
    with PtySession(roost_argv("--plain"), term="dumb", env=env, cols=200) as s:
        d = Driver(s)
        chunk = to_the_host(d, site, pi_host)
        # first contact: the fingerprint is said and asked about; No changes nothing
        shown = [f for f in fingerprints(pi_host) if f.encode() in chunk]
        assert shown and b"First connection to pi" in chunk and b"Trust this key?" in chunk, chunk
        items = menu_items(chunk)
        assert items == {"Yes, trust it": 1, "No": 0}, items
        answer(s, "0")
        chunk = d.next()
        assert b"the host was not trusted; nothing was changed" in chunk, chunk
        assert b"step 1 of" not in chunk, chunk
        known = home / KNOWN_HOSTS
        assert not known.exists() or shown[0].removeprefix("SHA256:") not in known.read_text()
        # again, and Yes: a line a step, the health check, the plan noted
        d.pick(chunk, "Deploy it: roost installs it")
        d.pick(d.next(), "pi")
        for value in (str(site), "", "", pi_host.address):
            d.next()
            answer(s, value)
        chunk = d.next(timeout=60)
        assert shown[0].encode() in chunk, chunk
        assert b"Deploying static-blog to pi; one line a step." in chunk, chunk
        answer(s, "1")
        chunk = d.next(timeout=600)
        text = chunk.decode(errors="replace")
        assert "step 11 of 11 done" in text and "Can others reach it?" in text, text
        assert re.search(r"^step 1 of \d+: ", text, re.M), text
        assert "healthy: " in text and "not healthy" not in text, text
        assert re.search(r"Noted in your progress: Static blog \(.*\) runs on pi, port 80",
                         text), text
        assert "Its step in your plan is done." in text, text
        answer(s, "q")
        s.expect(rb"Bye\.")
        assert s.wait_exit(10) and s.exit_status == 0
    assert escape_sequences(s.raw) == []
    assert b"Traceback" not in s.raw
    page = httpx.get(f"http://{pi_host.address}/", timeout=5)
    assert page.status_code == 200 and "<h1>Moved by plain mode</h1>" in page.text
    ws = Workspace.open(home, detect=False)
    assert ws.progress.state_of("static-blog") == "done"
    assert [(e.service_id, e.detail["host"]) for e in ws.progress.running()] == [
        ("static-blog", "pi")]
