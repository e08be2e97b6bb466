"""Answers files (the plan's questions answered) for tests that make a plan, and the set-up
of a workspace whose plan is made and whose `pi` is a booted test host roost trusts."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pytest
    from testhost import TestHost

    from roost.keys.model import Identity


def answers_toml(uses: list[str], *, pi_ram_mb: int = 4096, domain: str = "") -> str:
    """An answers file: these platforms used, a Pi with `pi_ram_mb`, a domain when given."""
    quoted = ", ".join(f'"{u}"' for u in uses)
    named = f'has_domain = true\ndomain = "{domain}"\n' if domain else "has_domain = false\n"
    return (f'uses = [{quoted}]\nhardware = ["pi"]\npi_ram_mb = {pi_ram_mb}\n'
            f'pi_arch = "aarch64"\n{named}skill = "some"\npace = "days"\n')


ANSWERS_TOML = answers_toml(["whatsapp", "gmail"], pi_ram_mb=1024, domain="example.org")


def planned_with_pi(home: Path, answers: str, pi_host: TestHost) -> None:
    """`roost assess` with `answers` into `home` (ROOST_HOME), then the test host as `pi`
    (root, its key) with its host key already trusted."""
    from roost.cli.main import main

    path = home.parent / "answers.toml"
    path.write_text(answers)
    assert main(["assess", "--answers", str(path)]) == 0
    trusted_host(home, "pi", pi_host)


def trusted_host(home: Path, name: str, host: TestHost) -> None:
    """The test host in `home`'s hosts file as `name` (root, its key), its host key already
    in roost's known_hosts."""
    from roost.deploy.hosts import HOSTS_FILE, Host, HostStore
    from roost.deploy.trust import KNOWN_HOSTS, KnownHosts

    HostStore(home / HOSTS_FILE).add(Host(name, address=host.address, user="root",
                                          port=host.ssh_port, key_path=str(host.key_path)))
    known = KnownHosts(home / KNOWN_HOSTS)
    known.path.parent.mkdir(parents=True, exist_ok=True)
    known.path.write_text(host.known_hosts_lines())
    known.path.chmod(0o600)


def pi_with_vault(pi_host: TestHost, home: Path, tmp_path: Path,
                  monkeypatch: pytest.MonkeyPatch, passphrase: str,
                  *identities: Identity) -> None:
    """The test host as `pi` in `home`, trusted (`trusted_host`), roost's step records on it
    in a test folder, and a vault holding `identities` that roost's commands open
    (`vault_for_commands`)."""
    from support.identities import vault_for_commands

    monkeypatch.setenv("ROOST_HOST_STATE_DIR", "/var/lib/roost-test-state")
    vault_for_commands(home, passphrase, tmp_path, monkeypatch, *identities)
    trusted_host(home, "pi", pi_host)
