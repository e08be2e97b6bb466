"""Mail-in-a-Box: refused on anything but a rented Ubuntu 22.04 server; a dry run on one.

What could not run here: the setup itself (it needs a real Ubuntu 22.04 server with a public
address, and downloads from github.com). The refusal is proven with facts read from a real
Debian host over SSH; the dry run uses facts shaped like an Ubuntu 22.04 VPS.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from support.dryrun import dry_run_text

from roost.core.errors import RoostError
from roost.deploy.facts import Facts
from roost.deploy.recipe import TargetHost
from roost.deploy.recipes import RECIPES
from roost.deploy.recipes.mail_in_a_box import HOME_REFUSAL, build_mail_in_a_box, is_home
from roost.deploy.steps import RunCommand, Secret

if TYPE_CHECKING:
    from testhost import TestHost

pytest_plugins = ["testhost"]

OPTS = {"email": "me@example.org"}
PUBLIC = "95.216.10.20"  # a public address: only a string here, never contacted


def facts(os_id: str = "ubuntu", version: str = "22.04", pi: str | None = None,
          ram: int = 1024) -> Facts:
    return Facts(hostname="box", os_id=os_id, os_version=version, os_codename="jammy",
                 arch="x86_64", ram_mb=ram, root_free_mb=20000, var_free_mb=20000,
                 pi_model=pi, init="systemd", sudo="root")


def test_refuses_home_hosts_and_other_systems() -> None:
    assert RECIPES["mail-in-a-box"] is build_mail_in_a_box
    for host in (TargetHost("home", "192.168.1.20", facts()),
                 TargetHost("home", "fe80::1", facts()),
                 TargetHost("home", "nas.local", facts()),
                 TargetHost("pi", PUBLIC, facts(pi="Raspberry Pi 4 Model B Rev 1.4"))):
        assert is_home(host)
        with pytest.raises(RoostError) as exc:
            build_mail_in_a_box(host, OPTS, {})
        assert str(exc.value).startswith(HOME_REFUSAL + ".") and "\n" not in str(exc.value)
    with pytest.raises(RoostError, match=r"only on Ubuntu 22\.04.*ubuntu 24\.04"):
        build_mail_in_a_box(TargetHost("vps", PUBLIC, facts(version="24.04")), OPTS, {})
    with pytest.raises(RoostError, match="at least 512 MB"):
        build_mail_in_a_box(TargetHost("vps", PUBLIC, facts(ram=256)), OPTS, {})
    with pytest.raises(RoostError, match="read the host's facts"):
        build_mail_in_a_box(TargetHost("vps", PUBLIC, None), OPTS, {})
    with pytest.raises(RoostError, match="read the host's facts"):
        build_mail_in_a_box(None, OPTS, {})
    for bad in ({"email": "not-an-address"}, {"email": "me@example.org", "version": "main"},
                {"email": "me@example.org", "hostname": "box;rm -rf /"}):
        with pytest.raises(RoostError):
            build_mail_in_a_box(TargetHost("vps", PUBLIC, facts()), bad, {})


def test_dry_run_on_ubuntu_vps_shows_steps_and_dns_without_the_secret() -> None:
    vps = TargetHost("vps", PUBLIC, facts())
    assert not is_home(vps)
    recipe = build_mail_in_a_box(vps, {**OPTS, "identity": "mail-me"}, {})
    text = dry_run_text(recipe, "vps")
    assert "git clone --depth 1 --branch v60 https://github.com/mail-in-a-box/mailinabox" in text
    assert "NONINTERACTIVE=1" in text and "setup/start.sh" in text
    assert "(stdin: <secret: mail-me password>)" in text
    setup = recipe.steps[2]
    assert isinstance(setup, RunCommand) and setup.stdin == Secret("mail-me", "password")
    assert "EMAIL_PW" in text and not any("PW=" in a for a in setup.argv)  # never on argv
    assert setup.argv[-2:] == ("box.example.org", "me@example.org")
    dns = "\n".join(recipe.next_steps)
    assert f"ns1.box.example.org and ns2.box.example.org -> {PUBLIC}" in dns
    assert "example.org MX 10 box.example.org" in dns and "v=spf1 mx -all" in dns
    assert f"reverse DNS (PTR) of {PUBLIC} -> box.example.org" in dns


@pytest.mark.slow
@pytest.mark.container
@pytest.mark.usefixtures("home")
def test_refused_on_a_real_debian_host(pi_host: TestHost, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from roost.deploy.facts import gather

    t = pi_host.transport(tmp_path / "ssh")
    try:
        found = gather(t)
    finally:
        t.close()
    assert found.os_id == "debian"
    # At its own (private) address it is a home host ...
    with pytest.raises(RoostError) as exc:
        build_mail_in_a_box(TargetHost("pi", pi_host.address, found), OPTS, {})
    assert str(exc.value).startswith(HOME_REFUSAL + ".")
    # ... and even seen at a public address, Debian is not Ubuntu 22.04.
    with pytest.raises(RoostError, match=re.escape(
            f"only on Ubuntu 22.04, and this host runs debian {found.os_version}")):
        build_mail_in_a_box(TargetHost("pi", PUBLIC, found), OPTS, {})


def test_the_mailbox_comes_from_the_login_in_the_vault() -> None:
    """`roost keys new login --name mail --email me@example.org` is all it needs."""
    from roost.deploy.steps import RunCommand
    from roost.keys.model import IdentityInfo

    vps = TargetHost("vps", PUBLIC, facts())
    mail = IdentityInfo("mail", "login", {"user": "me@example.org", "email": "me@example.org"},
                        "2026-11-25T00:00:00Z")
    for idents in ({"mail": mail}, {"only-one": mail}):
        recipe = build_mail_in_a_box(vps, {}, idents)
        setup = [s for s in recipe.steps if isinstance(s, RunCommand) and s.stdin is not None]
        assert len(setup) == 1 and "me@example.org" in setup[0].argv
        assert getattr(setup[0].stdin, "name", None) == next(iter(idents))
    with pytest.raises(RoostError, match="needs your new e-mail address"):
        build_mail_in_a_box(vps, {}, {})
