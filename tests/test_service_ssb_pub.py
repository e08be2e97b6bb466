"""An SSB pub (npm ssb-server under systemd, the vault's identity in ~/.ssb/secret of a
dedicated user) deployed over real SSH to one Debian host, and a second peer on another host.

Proof, as Scuttlebutt users see it: `whoami` on the pub answers with the vault's id; the pub's
feed holds the vault's signed `about` message with the profile name; an invite created on the
pub is redeemed by the second peer, which then follows the pub (and the pub follows it)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from support.dryrun import dry_run_text

from roost.core.errors import RoostError
from roost.core.paths import data_dir
from roost.deploy import engine
from roost.deploy.journal import Journal
from roost.deploy.recipes import RECIPES
from roost.deploy.recipes.ssb_pub import build_ssb_pub
from roost.keys import ssb
from roost.keys.model import Identity

if TYPE_CHECKING:
    from testhost import TestHost

pytest_plugins = ["testhost"]

SBOT = "runuser -u ssb -- env HOME=/var/lib/ssb node /opt/ssb-server/app/bin.js"


@pytest.fixture
def feeds(home: Path) -> tuple[Identity, Identity]:
    return (ssb.create("pub", profile="Robin's roost pub"),
            ssb.create("friend", profile="A friend"))


def test_registered_and_dry_run_hides_the_private_key(feeds: tuple[Identity, Identity]) -> None:
    pub, friend = feeds
    assert RECIPES["ssb-pub"] is build_ssb_pub
    recipe = build_ssb_pub(None, {"address": "192.168.1.9"}, {"pub": pub.info()})
    text = dry_run_text(recipe, "pi")
    assert pub.public["ssb_id"] in text
    assert '"private": "<secret: pub private>"' in text
    assert pub.secret["private"] not in text
    assert '"external": "192.168.1.9"' in text
    with pytest.raises(RoostError, match="several SSB identities"):
        build_ssb_pub(None, {}, {"pub": pub.info(), "friend": friend.info()})
    with pytest.raises(RoostError, match="needs a Secure Scuttlebutt identity"):
        build_ssb_pub(None, {}, {})


def _deploy(host: TestHost, ident: Identity, tmp: Path, role: str) -> engine.DeployResult:
    from testhost import ProcScanner, files_containing, record_time

    recipe = build_ssb_pub(None, {"address": host.address}, {ident.id: ident.info()})
    secrets = {f"{ident.id}#private": ident.secret["private"]}
    t = host.transport(tmp / f"ssh-{role}")
    try:
        with ProcScanner([ident.secret["private"]]) as scan:
            start = time.monotonic()
            result = engine.run(recipe, t, journal=Journal.for_host(role, recipe.id, data_dir()),
                                secrets=secrets)
            record_time(f"deploy_ssb_pub_{role}", time.monotonic() - start)
        assert scan.hits == []
        assert result.ok
        # The private key is on the host only in ~/.ssb/secret, mode 0400 for the ssb user.
        holders = files_containing(host.changes, [ident.secret["private"].split(".")[0]])
        assert [h.rsplit("/", 3)[-3:] for h in holders] == [["lib", "ssb", ".ssb"]] or \
            all(h.endswith("/var/lib/ssb/.ssb/secret") for h in holders), holders
        assert host.ssh("stat -c '%a %U' /var/lib/ssb/.ssb/secret").stdout.split() == \
            ["400", "ssb"]
        again = engine.run(recipe, t, journal=Journal.for_host(role, recipe.id, data_dir()),
                           secrets=secrets)
        assert again.ok and again.applied == 0
        return result
    finally:
        t.close()


def feed(host: TestHost, ssb_id: str) -> list[dict[str, object]]:
    out = host.ssh(f"{SBOT} createUserStream --id '{ssb_id}' 2>/dev/null").stdout
    return [json.loads(chunk) for chunk in _json_objects(out)]


def _json_objects(text: str) -> list[str]:
    """Split the CLI's stream of pretty-printed JSON objects."""
    dec = json.JSONDecoder()
    out, i = [], 0
    while True:
        while i < len(text) and text[i].isspace():
            i += 1
        if i >= len(text):
            return out
        _, end = dec.raw_decode(text, i)
        out.append(text[i:end])
        i = end


def follows(messages: list[dict[str, object]], target: str) -> bool:
    for m in messages:
        c = m["value"]["content"]  # type: ignore[index]
        if c.get("type") == "contact" and c.get("contact") == target and c.get("following"):
            return True
    return False


@pytest.mark.slow
@pytest.mark.container
@pytest.mark.timeout(2400)  # two hosts, each installs Node.js and ssb-server's 590 npm packages
def test_pub_answers_as_the_vault_id_and_a_second_peer_joins(
    pi_host: TestHost, vps_host: TestHost, feeds: tuple[Identity, Identity], tmp_path: Path,
) -> None:
    pub, friend = feeds
    _deploy(pi_host, pub, tmp_path, "pi")
    who = json.loads(pi_host.ssh(f"{SBOT} whoami 2>/dev/null").stdout)
    assert who["id"] == pub.public["ssb_id"]

    msgs = feed(pi_host, pub.public["ssb_id"])
    assert msgs[0]["key"] == pub.public["about_message_id"]  # the vault's own signed message
    assert msgs[0]["value"]["content"]["name"] == "Robin's roost pub"  # type: ignore[index]

    # A second peer on the other host redeems an invite from the pub.
    _deploy(vps_host, friend, tmp_path, "vps")
    code = json.loads(pi_host.ssh(f"{SBOT} invite.create 1 2>/dev/null").stdout)
    assert code.startswith(f"{pi_host.address}:8008:{pub.public['ssb_id']}~")
    vps_host.ssh(f"{SBOT} invite.accept '{code}' 2>/dev/null", timeout=120)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if follows(feed(vps_host, friend.public["ssb_id"]), pub.public["ssb_id"]) and \
                follows(feed(pi_host, pub.public["ssb_id"]), friend.public["ssb_id"]):
            break
        time.sleep(1)
    assert follows(feed(vps_host, friend.public["ssb_id"]), pub.public["ssb_id"])
    assert follows(feed(pi_host, pub.public["ssb_id"]), friend.public["ssb_id"])

    t = pi_host.transport(tmp_path / "ssh-undeploy")
    try:
        recipe = build_ssb_pub(None, {"address": pi_host.address}, {pub.id: pub.info()})
        engine.undeploy(recipe, t, journal=Journal.for_host("pi", recipe.id, data_dir()))
    finally:
        t.close()
    assert pi_host.ssh("systemctl is-active ssb-server", check=False).stdout.strip() != "active"
    pi_host.ssh("test -f /var/lib/ssb/.ssb/secret")  # the identity and feed are kept
