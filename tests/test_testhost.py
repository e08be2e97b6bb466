"""The test host itself: two Debian containers with systemd, reached over real SSH."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from testhost import TestHost

pytest_plugins = ["testhost"]  # the pi_host / vps_host fixtures

pytestmark = [pytest.mark.slow, pytest.mark.container]


def test_pi_is_debian_with_systemd_over_ssh(pi_host: TestHost) -> None:
    assert pi_host.ssh("systemctl is-system-running").stdout.strip() == "running"
    assert pi_host.ssh("cat /proc/1/comm").stdout.strip() == "systemd"
    osr = pi_host.ssh("cat /etc/os-release").stdout
    assert "VERSION_CODENAME=bookworm" in osr
    assert pi_host.ssh("hostname").stdout.strip() == "pi"
    # Files written by a test are gone after a reset.
    pi_host.ssh("touch /root/marker")


def test_reset_gives_a_clean_host_and_two_hosts_differ(
    pi_host: TestHost, vps_host: TestHost
) -> None:
    assert pi_host.ssh("test -e /root/marker", check=False).returncode == 1
    assert pi_host.address != vps_host.address
    assert vps_host.ssh("hostname").stdout.strip() == "vps"
    # Both hosts see each other? No: each sits on its own subnet behind this machine.
    assert pi_host.reset_seconds > 0


def test_apt_works_and_only_web_and_dns_leave(pi_host: TestHost) -> None:
    pi_host.ssh("apt-get update -qq", timeout=300)
    pi_host.ssh("getent hosts deb.debian.org")
    # SSH to the outside is not let through by the NAT rules (only DNS, 80 and 443).
    blocked = pi_host.ssh(
        "timeout 5 bash -c 'exec 3<>/dev/tcp/deb.debian.org/22' 2>/dev/null", check=False)
    assert blocked.returncode != 0
