"""Synapse deployed over real SSH to a Debian host with systemd (a venv from PyPI, the vault's
signing key and secrets, a systemd unit, the admin registered with the shared secret). Proof,
as a Matrix client: the server publishes the vault's signing key, the admin logs in over the
client-server API with httpx, makes a room and a message sent there is read back."""

from __future__ import annotations

import re
import secrets as rnd
import time
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
from support.dryrun import dry_run_text

from roost.core.errors import RoostError
from roost.core.paths import data_dir
from roost.deploy import engine
from roost.deploy.facts import Facts
from roost.deploy.journal import Journal
from roost.deploy.recipe import TargetHost
from roost.deploy.recipes import RECIPES
from roost.deploy.recipes.matrix_synapse import build_matrix_synapse
from roost.keys import matrix
from roost.keys.model import Identity

if TYPE_CHECKING:
    from testhost import TestHost

pytest_plugins = ["testhost"]

SERVER = "matrix.roost.test"


@pytest.fixture
def server_identity(home: Path) -> Identity:
    return matrix.create("matrix", server_name=SERVER)


def secret_values(ident: Identity, admin_password: str) -> dict[str, str]:
    out = {f"{ident.id}#{k}": v for k, v in ident.secret.items()}
    out[f"{ident.id}#admin_password"] = admin_password
    return out


def test_registered_dry_run_shows_steps_not_secrets(server_identity: Identity) -> None:
    assert RECIPES["matrix-synapse"] is build_matrix_synapse
    recipe = build_matrix_synapse(None, {"address": "10.0.0.5"},
                                  {"matrix": server_identity.info()})
    text = dry_run_text(recipe, "vps")
    assert "matrix-synapse==1.163.2" in text
    assert f'server_name: "{SERVER}"' in text
    assert "--password-file /dev/stdin" in text
    assert "<secret: matrix admin_password>" in text
    for value in server_identity.secret.values():
        assert value not in text
    with pytest.raises(RoostError, match="needs a Matrix identity"):
        build_matrix_synapse(None, {}, {})
    with pytest.raises(RoostError, match="not a Matrix user name"):
        build_matrix_synapse(None, {"admin": "Bad Name"}, {"matrix": server_identity.info()})


def login(base: str, user: str, password: str) -> httpx.Response:
    return httpx.post(f"{base}_matrix/client/v3/login", timeout=20, json={
        "type": "m.login.password", "identifier": {"type": "m.id.user", "user": user},
        "password": password})


@pytest.mark.slow
@pytest.mark.container
@pytest.mark.timeout(1500)  # pip installs Synapse and its ~90 dependencies on the host
def test_synapse_deploys_and_the_admin_chats(
    vps_host: TestHost, server_identity: Identity, tmp_path: Path,
) -> None:
    from testhost import ProcScanner, files_containing, record_time

    admin_password = rnd.token_urlsafe(24)
    secrets = secret_values(server_identity, admin_password)
    recipe = build_matrix_synapse(None, {"address": vps_host.address},
                                  {"matrix": server_identity.info()})
    journal = Journal.for_host("vps", recipe.id, data_dir())
    t = vps_host.transport(tmp_path / "ssh")
    watched = [admin_password, server_identity.secret["registration_shared_secret"],
               server_identity.secret["signing_key_seed"]]
    try:
        with ProcScanner(watched) as scan:
            start = time.monotonic()
            result = engine.run(recipe, t, journal=journal, secrets=secrets)
            record_time("deploy_matrix_synapse", time.monotonic() - start)
        assert result.ok and result.health is not None and result.health.ok
        assert scan.scans > 10 and scan.hits == []
        # The admin password is nowhere on the host in plain text (Synapse keeps a bcrypt hash).
        assert files_containing(vps_host.changes, [admin_password]) == []
        mode = vps_host.ssh("stat -c '%a %U' /etc/synapse/signing.key /etc/synapse/"
                            "homeserver.yaml").stdout.split()
        assert mode == ["600", "synapse", "600", "synapse"]

        base = f"http://{vps_host.address}:8008/"
        # The server signs with the vault's key.
        keys = httpx.get(f"{base}_matrix/key/v2/server", timeout=10).json()
        assert keys["server_name"] == SERVER
        key_id = server_identity.public["verify_key_id"]
        assert keys["verify_keys"][key_id]["key"] == server_identity.public["verify_key"]

        # The admin logs in as a Matrix app would, makes a room, a message goes through.
        r = login(base, "admin", admin_password)
        assert r.status_code == 200, r.text
        token = r.json()["access_token"]
        assert r.json()["user_id"] == f"@admin:{SERVER}"
        auth = {"Authorization": f"Bearer {token}"}
        room = httpx.post(f"{base}_matrix/client/v3/createRoom", headers=auth, timeout=20,
                          json={"name": "roost test", "preset": "private_chat"}).json()["room_id"]
        body = "hello from roost " + rnd.token_hex(4)
        sent = httpx.put(f"{base}_matrix/client/v3/rooms/{room}/send/m.room.message/t1",
                         headers=auth, timeout=20, json={"msgtype": "m.text", "body": body})
        assert sent.status_code == 200, sent.text
        msgs = httpx.get(f"{base}_matrix/client/v3/rooms/{room}/messages",
                         params={"dir": "b", "limit": 10}, headers=auth, timeout=20).json()
        assert any(e.get("content", {}).get("body") == body for e in msgs["chunk"])
        assert login(base, "admin", "wrong-" + admin_password).status_code == 403

        # The command the next steps give for more accounts runs on the host as printed: the
        # sudo form (a login with sudo), and the runuser form (a root login, maybe no sudo).
        for n, sudo in enumerate((None, "root")):
            facts = None if sudo is None else TargetHost("vps", vps_host.address, Facts(
                hostname="vps", os_id="debian", os_version="12", os_codename="bookworm",
                arch="x86_64", ram_mb=None, root_free_mb=None, var_free_mb=None,
                pi_model=None, init="systemd", sudo=sudo))
            shown = build_matrix_synapse(facts, {"address": vps_host.address},
                                         {"matrix": server_identity.info()}).next_steps
            (printed,) = [c for step in shown for c in re.findall(r"`([^`]+)`", step)
                          if "register_new_matrix_user" in c]
            assert printed.startswith("sudo -u synapse /" if sudo is None else
                                      "runuser -u synapse -- /"), printed
            friend, friend_pw = f"friend{n}", rnd.token_urlsafe(16)
            # It asks for the user name, the password twice and whether to make an admin.
            said = vps_host.ssh(printed, input=f"{friend}\n{friend_pw}\n{friend_pw}\nno\n"
                                .encode())
            assert "Success" in said.stdout + said.stderr, said
            r = login(base, friend, friend_pw)
            assert r.status_code == 200, r.text
            assert r.json()["user_id"] == f"@{friend}:{SERVER}"

        start = time.monotonic()
        again = engine.run(recipe, t, journal=journal, secrets=secrets)
        record_time("redeploy_matrix_synapse", time.monotonic() - start)
        assert again.ok and again.applied == 0

        engine.undeploy(recipe, t, journal=journal)
        assert vps_host.ssh("systemctl is-active matrix-synapse",
                            check=False).stdout.strip() != "active"
        vps_host.ssh("test -s /var/lib/synapse/homeserver.db")  # the data is kept
    finally:
        t.close()
