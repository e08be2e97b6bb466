"""How a transport becomes root: already root, sudo without a password, or sudo with one.

Both transports settle this the same way, once per connection, so a password line is never
fed to a command that does not read it and a wrong password is one clear error. The password
travels only on sudo's stdin (`sudo -S`), never in argv.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from roost.core.errors import RoostError
from roost.deploy import _cmd

SudoPassword = str | Callable[[], str | None] | None
"""The sudo password, or a function that asks for it (called at most once, and only when
sudo turns out to need a password), or None."""

Probe = Callable[[Sequence[str], bytes], int]
"""Runs an argument list with the given stdin on the host and returns its exit code."""


class SudoPasswordNeeded(RoostError):
    """A command needs root and no sudo password was given."""


def sudo_password_error(user: str, host: str) -> RoostError:
    return RoostError(
        f"the sudo password for {user} on {host} was not accepted",
        hint="type it again; check it by logging in and running `sudo true`",
    )


class Sudo:
    """One connection's way to root, settled on first use."""

    def __init__(self, password: SudoPassword) -> None:
        self._ask: Callable[[], str | None] | None = None
        self._password: str | None = None
        if callable(password):
            self._ask = password
        else:
            self._password = password
        self.mode: str | None = None
        """"root", "nopasswd" or "password" once settled."""

    def settle(self, host: str, user: str, probe: Probe) -> str:
        """For a user who is not root: find out whether sudo needs the password and, if so,
        that the one given works. `probe` returns 127 when sudo is missing."""
        if self.mode is not None:
            return self.mode
        code = probe(list(_cmd.SUDO_PROBE), b"")
        if code == 127:
            raise RoostError(f"this needs root on {host}, and sudo is not installed there",
                             hint="install sudo on it, or run roost as root")
        if code == 0:
            self.mode = "nopasswd"
            return self.mode
        if self._password is None and self._ask is not None:
            self._password = self._ask()
            self._ask = None
        if self._password is None:
            raise SudoPasswordNeeded(
                f"this needs root on {host}, and sudo asks {user} for a password",
                hint="give roost the sudo password when it asks")
        if probe([*_cmd.SUDO_PREFIX, "true"], self.password_line()) != 0:
            raise sudo_password_error(user, host)
        self.mode = "password"
        return self.mode

    def password_line(self) -> bytes:
        assert self._password is not None
        return self._password.encode("utf-8") + b"\n"
