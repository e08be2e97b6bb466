"""What a recipe says about the host it targets, beside the contract in roost.deploy.recipe:
the commands a next step tells the person to type there (`host_command`, `https_commands`),
how a Debian-packaged service's version is read (`debian_version`) and where a health check
reaches the service (`reach_address`)."""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence

from roost.core import validate
from roost.core.errors import RoostError
from roost.deploy.recipe import TargetHost


def host_command(host: TargetHost | None, argv: Sequence[str], *, user: str = "root",
                 env: Sequence[str] = (), cwd: str = "") -> str:
    """A command a next step tells the person to type on the host, runnable there as printed.

    They log in as roost does. Through sudo (`sudo ...` for root, `sudo -u USER ...` for a
    service user), unless the host's facts say roost logs in as root (a root login may have no
    sudo at all): then as is, or `runuser -u USER -- ...`. `env` ("NAME=VALUE") and `cwd` go
    through `env`. A program that is not on a login shell's PATH (a venv's, a release's) must
    be named by its full path: tests/test_next_steps.py checks every recipe's commands."""
    as_root = TargetHost.of(host).sudo == "root"
    if as_root:
        words = [] if user == "root" else ["runuser", "-u", user, "--"]
    else:
        words = ["sudo"] if user == "root" else ["sudo", "-u", user]
    if env or cwd:
        words += ["env", *(["-C", cwd] if cwd else []), *env]
    return " ".join(shlex.quote(w) for w in (*words, *argv))


def https_commands(host: TargetHost | None, domain: str) -> str:
    """How to give nginx's site for `domain` a Let's Encrypt certificate: two commands."""
    name = domain if domain and domain != "_" else "YOUR-DOMAIN"
    return (f"`{host_command(host, ('apt-get', 'install', 'certbot', 'python3-certbot-nginx'))}`"
            f", then `{host_command(host, ('certbot', '--nginx', '-d', name))}`")


def debian_version(package: str) -> tuple[str, ...]:
    """`version_argv` for a service installed from a Debian package."""
    if not re.match(r"^[a-z0-9][a-z0-9+.-]*$", package):
        raise RoostError(f"{package[:40]!r} is not a Debian package name")
    return ("dpkg-query", "-W", "-f=${Version}\\n", package)


def reach_address(given: str, host: TargetHost | None, fallback: str = "") -> str:
    """Where a health check reaches the service from this computer: the `address` option
    (already checked by its type), else the host's address, else `fallback` ("" = none)."""
    if given:
        return given
    address = TargetHost.of(host).address or fallback
    return validate.hostname(address, "address") if address else ""
