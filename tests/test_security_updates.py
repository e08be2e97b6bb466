"""Security updates a host installs by itself (roost.app.security_updates): Debian's
unattended-upgrades switched on, and off, only when the person says so, read back the way apt
reads it and the way `roost check` reports it; over real SSH to a booted Debian host."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from support.answers import trusted_host

from roost.app.host_state import read
from roost.cli.main import main
from roost.deploy.security_updates import SWITCH, recipe, switch_text

if TYPE_CHECKING:
    from testhost import TestHost

pytest_plugins = ["testhost"]


def test_the_switch_is_the_one_dpkg_reconfigure_writes_and_debian_config_is_left_alone() -> None:
    on = switch_text(True)
    assert 'APT::Periodic::Update-Package-Lists "1";' in on
    assert 'APT::Periodic::Unattended-Upgrade "1";' in on
    assert 'APT::Periodic::Unattended-Upgrade "0";' in switch_text(False)
    written = [getattr(s, "path", "") for s in recipe(True).steps]
    assert SWITCH in written and not [p for p in written if "50unattended" in p]
    assert "unattended-upgrades" not in " ".join(str(s) for s in recipe(False).steps)


def test_a_dry_run_says_what_it_would_do_and_connects_to_nothing(
        home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from roost.deploy.hosts import HOSTS_FILE, Host, HostStore

    HostStore(home / HOSTS_FILE).add(Host("gone", "127.0.0.1", user="root", port=9))
    assert main(["host", "security-updates", "gone", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "unattended-upgrades" in out and SWITCH in out, out
    assert main(["host", "security-updates", "nosuch"]) == 2
    assert "nosuch" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.container
def test_switched_on_then_off_and_roost_check_reads_it(
        pi_host: TestHost, home: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    trusted_host(home, "pi", pi_host)

    def state() -> bool | None:
        with pi_host.transport(tmp_path / "ssh") as t:
            return read(t, ["/"]).unattended_upgrades

    assert state() is False  # Debian's minimal system: not installed
    assert main(["host", "security-updates", "pi", "--quiet"]) == 0
    said = capsys.readouterr().out
    assert "installs security updates by itself every day" in said, said
    assert "roost host security-updates pi --off" in said
    assert pi_host.ssh("dpkg-query -W -f='${Status}' unattended-upgrades").stdout == (
        "install ok installed")
    assert "1" in pi_host.ssh("apt-config dump APT::Periodic::Unattended-Upgrade").stdout
    assert state() is True
    # Debian's own configuration (security archive only) is as the package ships it.
    assert pi_host.ssh("dpkg --verify unattended-upgrades", check=False).stdout == ""

    assert main(["host", "security-updates", "pi", "--off", "--quiet"]) == 0
    assert "no longer installed by themselves" in capsys.readouterr().out
    assert state() is False
    assert pi_host.ssh("stat -c '%a %U' " + SWITCH).stdout.split() == ["644", "root"]
