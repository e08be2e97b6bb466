"""Restores proven by a real client, service by service (as test_backup.py does for Prosody):
each service deployed on the "pi" by roost, data made there as a person would make it, backed
up to the "vps" (roost.app.backing_up, encrypted, append-only), the pi's card dies (reset), the
service restored onto the vps, and a client there finds the data.

- Synapse: the admin logs in with the same password and reads the room's history.
- WordPress: the post page (made over XML-RPC, as a blogging app would) loads, its uploaded
  image too, and the admin logs in; the database came back from its dump.
- ssb-pub: the pub answers as the same id, its feed holds the post made on the pi, and it
  makes invites at its new address.
"""

from __future__ import annotations

import json
import os
import secrets as rnd
import time
import xmlrpc.client
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from test_backup import PASS, _home

from roost.app.backing_up import Backups
from roost.app.deploying import Deployment
from roost.deploy.hosts import HOSTS_FILE, HostStore
from roost.keys.model import Identity
from roost.keys.vault import Vault

if TYPE_CHECKING:
    from testhost import TestHost

pytest_plugins = ["testhost"]


def _lost_and_restored(service: str, pi_host: TestHost, vps_host: TestHost, home: Path,
                       made: Any) -> list[str]:
    """Back `service` up from the pi to the vps, lose the pi, restore onto the vps; the
    passphrase never in the clear on either host. `made()` runs on the pi before the backup."""
    from testhost import files_containing, record_time

    store = HostStore(home / HOSTS_FILE)
    pi, vps = store.get("pi"), store.get("vps")
    b = Backups(home, passphrase=lambda: PASS)
    made()
    start = time.monotonic()
    lines = b.back_up(service, pi, vps)
    record_time(f"backup_{service}_first", time.monotonic() - start)
    assert lines[0].startswith(f"Backed up {service} from pi to vps: archive {service}-"), lines
    # The weekly check on the pi (`borg check` through its append-only key), run now: roost
    # backups reads when it passed.
    start = time.monotonic()
    pi_host.ssh(f"systemctl start roost-verify-{service}.service")
    record_time(f"weekly_check_{service}", time.monotonic() - start)
    assert b.refresh()[service].last_verify
    passphrase = Vault.open(home, PASS).get(f"backup-{service}-pi").secret["password"]
    assert files_containing(pi_host.changes, [passphrase]) == []
    pi_host.reset()  # the pi's card dies
    pi_host.used = True
    start = time.monotonic()
    done = b.restore(service, vps)
    record_time(f"restore_{service}_new_host", time.monotonic() - start)
    assert done[0].startswith(f"Restored {service} on vps from {service}-"), done
    assert files_containing(vps_host.changes, [passphrase]) == []
    return done


def _deploy(service: str, host: str, home: Path, options: dict[str, str]) -> None:
    from testhost import record_time

    start = time.monotonic()
    Deployment(service, HostStore(home / HOSTS_FILE).get(host), home, options,
               passphrase=lambda: PASS).run()
    record_time(f"deploy_{service}_{host}_for_restore", time.monotonic() - start)


@pytest.fixture
def roost_home(tmp_path: Path, pi_host: TestHost, vps_host: TestHost) -> Any:
    def make(*people: Identity) -> Path:
        home = _home(tmp_path, [pi_host, vps_host], people)
        os.environ["ROOST_HOME"] = str(home)
        return home
    yield make
    os.environ.pop("ROOST_HOME", None)


@pytest.mark.slow
@pytest.mark.container
@pytest.mark.timeout(2400)  # Synapse from PyPI, on both hosts
def test_synapse_restored_on_a_new_host_the_admin_reads_the_room_history(
    pi_host: TestHost, vps_host: TestHost, roost_home: Any,
) -> None:
    from test_service_matrix_synapse import SERVER, login

    from roost.keys import matrix

    ident = matrix.create("matrix", server_name=SERVER)
    home = roost_home(ident)
    password = ident.secret["admin_password"]
    _deploy("matrix-synapse", "pi", home, {"address": pi_host.address})
    body = "before the card died " + rnd.token_hex(4)
    room: dict[str, str] = {}

    def chat() -> None:
        base = f"http://{pi_host.address}:8008/"
        r = login(base, "admin", password)
        assert r.status_code == 200, r.text
        auth = {"Authorization": f"Bearer {r.json()['access_token']}"}
        room["id"] = httpx.post(f"{base}_matrix/client/v3/createRoom", headers=auth,
                                timeout=20, json={"name": "family", "preset": "private_chat"}
                                ).json()["room_id"]
        sent = httpx.put(f"{base}_matrix/client/v3/rooms/{room['id']}/send/m.room.message/t1",
                         headers=auth, timeout=20, json={"msgtype": "m.text", "body": body})
        assert sent.status_code == 200, sent.text

    _lost_and_restored("matrix-synapse", pi_host, vps_host, home, chat)
    base = f"http://{vps_host.address}:8008/"
    r = login(base, "admin", password)
    assert r.status_code == 200, r.text
    assert r.json()["user_id"] == f"@admin:{SERVER}"
    auth = {"Authorization": f"Bearer {r.json()['access_token']}"}
    joined = httpx.get(f"{base}_matrix/client/v3/joined_rooms", headers=auth, timeout=20).json()
    assert room["id"] in joined["joined_rooms"], joined
    msgs = httpx.get(f"{base}_matrix/client/v3/rooms/{room['id']}/messages",
                     params={"dir": "b", "limit": 20}, headers=auth, timeout=20).json()
    assert any(e.get("content", {}).get("body") == body for e in msgs["chunk"]), msgs
    # The server still signs with the vault's key (restored, and the same as the vault's).
    keys = httpx.get(f"{base}_matrix/key/v2/server", timeout=10).json()
    assert keys["verify_keys"][ident.public["verify_key_id"]]["key"] == \
        ident.public["verify_key"]


def _xmlrpc(address: str, domain: str, method: str, *params: object) -> Any:
    """A call to WordPress's XML-RPC (what blogging apps use), the domain as Host."""
    r = httpx.post(f"http://{address}/xmlrpc.php", content=xmlrpc.client.dumps(params, method),
                   headers={"Host": domain, "Content-Type": "text/xml"}, timeout=30)
    assert r.status_code == 200, r.text[:500]
    return xmlrpc.client.loads(r.content)[0][0]


@pytest.mark.slow
@pytest.mark.container
@pytest.mark.timeout(2400)
def test_wordpress_restored_on_a_new_host_the_post_page_loads(
    pi_host: TestHost, vps_host: TestHost, roost_home: Any,
) -> None:
    from test_service_wordpress import DOMAIN, assert_the_admin_logs_in

    from roost.keys.login import create

    password = rnd.token_urlsafe(18)
    home = roost_home(create("wordpress", user="robin", password=password))
    _deploy("wordpress", "pi", home, {"domain": DOMAIN, "title": "Robin's notes",
                                      "admin": "robin"})
    title = "Moving day " + rnd.token_hex(4)
    picture = b"GIF89a" + rnd.token_bytes(64)
    post: dict[str, Any] = {}

    def write() -> None:
        up = _xmlrpc(pi_host.address, DOMAIN, "wp.uploadFile", 0, "robin", password, {
            "name": "moving.gif", "type": "image/gif", "bits": xmlrpc.client.Binary(picture)})
        post["file"] = "/" + str(up["url"]).split("/", 3)[3]
        post["id"] = _xmlrpc(pi_host.address, DOMAIN, "wp.newPost", 0, "robin", password, {
            "post_title": title, "post_content": "All our posts came along.",
            "post_status": "publish"})
        page = httpx.get(f"http://{pi_host.address}/?p={post['id']}",
                         headers={"Host": DOMAIN}, timeout=20)
        assert page.status_code == 200 and title in page.text

    _lost_and_restored("wordpress", pi_host, vps_host, home, write)
    page = httpx.get(f"http://{vps_host.address}/?p={post['id']}", headers={"Host": DOMAIN},
                     timeout=20)
    assert page.status_code == 200 and title in page.text, page.text[:1000]
    img = httpx.get(f"http://{vps_host.address}{post['file']}", headers={"Host": DOMAIN},
                    timeout=20)
    assert img.status_code == 200 and img.content == picture
    assert_the_admin_logs_in(f"http://{vps_host.address}", "robin", password)
    # The dump that carried the database is root's only.
    mode = vps_host.ssh("stat -c '%a %U' /var/lib/wordpress/roost-wordpress.sql").stdout.split()
    assert mode == ["600", "root"], mode


@pytest.mark.slow
@pytest.mark.container
@pytest.mark.timeout(2400)  # Node.js and ssb-server's npm packages, on both hosts
def test_ssb_pub_restored_on_a_new_host_answers_as_the_same_id_with_its_feed(
    pi_host: TestHost, vps_host: TestHost, roost_home: Any,
) -> None:
    from test_service_ssb_pub import SBOT, feed

    from roost.keys import ssb

    pub = ssb.create("pub", profile="Robin's roost pub")
    home = roost_home(pub)
    _deploy("ssb-pub", "pi", home, {"address": pi_host.address})
    text = "posted from the pi " + rnd.token_hex(4)

    def publish() -> None:
        pi_host.ssh(f"{SBOT} publish --type post --text '{text}' >/dev/null 2>&1")
        posts = [m["value"]["content"].get("text")  # type: ignore[index, union-attr]
                 for m in feed(pi_host, pub.public["ssb_id"])]
        assert text in posts

    _lost_and_restored("ssb-pub", pi_host, vps_host, home, publish)
    who = json.loads(vps_host.ssh(f"{SBOT} whoami 2>/dev/null").stdout)
    assert who["id"] == pub.public["ssb_id"]
    msgs = feed(vps_host, pub.public["ssb_id"])
    assert msgs[0]["key"] == pub.public["about_message_id"]
    assert text in [m["value"]["content"].get("text")  # type: ignore[index, union-attr]
                    for m in msgs]
    code = json.loads(vps_host.ssh(f"{SBOT} invite.create 1 2>/dev/null").stdout)
    assert code.startswith(f"{vps_host.address}:8008:{pub.public['ssb_id']}~"), code
