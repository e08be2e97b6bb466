"""A person's whole path to a WordPress site, only through the `roost` command: make the
admin's login in the key vault, add a host, deploy WordPress to it over real SSH, then read
the password back with `roost keys show --secret` and log in with it.

Everything runs for real: `roost` in subprocesses (ROOST_HOME in a temp folder, the vault
passphrase from ROOST_PASSPHRASE_FILE), a Debian 13 `vps_host` container with systemd reached
over SSH, WordPress from Debian's packages, a login through wp-login.php with httpx.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from roost.keys import Vault
from roost.keys.vault import FAST_LIMITS_FOR_TESTS

if TYPE_CHECKING:
    from testhost import TestHost

pytest_plugins = ["testhost"]

PASS = "tests only: orchard lantern pebble"


class Roost:
    """`python -m roost ...` with its own home, passphrase file, HOME and no SSH agent."""

    def __init__(self, tmp: Path) -> None:
        self.home = tmp / "home"
        self.passfile = tmp / "pass"
        self.passfile.write_text(PASS + "\n")
        user = tmp / "user"
        user.mkdir()
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith("ROOST_") and k != "SSH_AUTH_SOCK"}
        self.env |= {"ROOST_HOME": str(self.home), "ROOST_PASSPHRASE_FILE": str(self.passfile),
                     "HOME": str(user)}
        self.said: list[str] = []

    def __call__(self, *args: str, expect: int = 0,
                 timeout: float = 120) -> subprocess.CompletedProcess[str]:
        result = subprocess.run([sys.executable, "-m", "roost", *args], capture_output=True,
                                text=True, env=self.env, timeout=timeout,
                                stdin=subprocess.DEVNULL, check=False)
        self.said += [result.stdout, result.stderr]
        assert result.returncode == expect, (
            f"roost {' '.join(args)} exited {result.returncode}, not {expect}\n"
            f"--- its output (the end):\n{result.stdout[-4000:]}\n"
            f"--- its errors (the end):\n{result.stderr[-2000:]}")
        return result


@pytest.mark.slow
@pytest.mark.container
@pytest.mark.timeout(1500)
def test_make_a_login_deploy_wordpress_and_log_in_with_it(
    vps_host: TestHost, tmp_path: Path,
) -> None:
    from test_service_wordpress import assert_the_admin_logs_in
    from testhost import ProcScanner, files_containing, record_time

    roost = Roost(tmp_path)
    # The vault made with the fast test cost (the CLI keeps a vault's own cost).
    Vault.create(roost.home, PASS, limits=FAST_LIMITS_FOR_TESTS)

    # 1. The admin's login: no option but the name the recipe looks for.
    made = roost("keys", "create", "login", "--name", "wordpress").stdout
    assert "Made wordpress, a login with a password." in made and "User name: admin" in made
    password = roost("keys", "show", "wordpress", "--secret", "--to-pipe").stdout.rstrip("\n")
    assert re.fullmatch(r"([a-z]{4}-){5}[a-z]{4}", password)
    assert password not in made

    # 2. The host, trusted on first contact by the fingerprint roost shows.
    target = f"root@{vps_host.address}:{vps_host.ssh_port}"
    first = roost("host", "add", "vps", target, "--key", str(vps_host.key_path), expect=2)
    fingerprint = re.search(r"SHA256:[A-Za-z0-9+/]{43}", first.stderr)
    assert fingerprint, first.stderr
    roost("host", "add", "vps", target, "--key", str(vps_host.key_path),
          "--trust", fingerprint.group(0))

    # 3. The deploy, as a person types it: no --option at all.
    dry = roost("deploy", "wordpress", "--host", "vps", "--dry-run").stdout
    assert "<secret: wordpress password>" in dry and password not in dry
    with ProcScanner([password]) as scan:
        start = time.monotonic()
        deployed = roost("deploy", "wordpress", "--host", "vps", timeout=1200)
        took = time.monotonic() - start
    record_time("deploy_wordpress_cli_login", took)
    assert scan.hits == []
    out = deployed.stdout
    assert "finish the install and make the admin admin" in out, out[-3000:]
    assert password not in out + deployed.stderr

    # 4. Log in as the admin with the password read back from the vault.
    base = f"http://{vps_host.address}"
    shown = roost("keys", "show", "wordpress", "--json").stdout
    assert password not in shown
    user = Vault.public_index(roost.home)[0].public["user"]
    assert user == "admin"
    assert_the_admin_logs_in(base, user, password)
    assert httpx.get(f"{base}/", timeout=20).status_code == 200

    # 5. Nothing changes on a second run; the password never reached a file in plain text
    # on the host, an argv or an environment, or any output of roost.
    again = roost("deploy", "wordpress", "--host", "vps", timeout=600).stdout
    assert "already done, nothing changed" in again, again[-2000:]
    assert files_containing(vps_host.changes, [password]) == []
    said = "\n".join(roost.said)
    assert said.count(password) == 1  # only the one `show --secret --to-pipe` asked for it
    print(f"deploy over SSH through the CLI: {took:.1f} s")
