"""What the local and the SSH transport share: running a command as the Transport protocol
says, and becoming root the same way (already root, sudo without a password, or sudo with
the password fed on its stdin, settled once per connection by `roost.deploy.sudo`).

A subclass says how to tell whether its user is root, how to probe a command's exit code,
and how to execute a checked argument list (`_exec`); the rest is here.
"""

from __future__ import annotations

from collections.abc import Sequence

from roost.deploy import _cmd
from roost.deploy.sudo import Sudo, SudoPassword
from roost.deploy.transport import CommandResult, OutputSink


class BaseTransport:
    name: str
    user: str

    def __init__(self, name: str, sudo_password: SudoPassword) -> None:
        self.name = name
        self._sudo = Sudo(sudo_password)

    # -- what each transport says ----------------------------------------------------------

    def is_root(self) -> bool:
        raise NotImplementedError

    def _probe(self, argv: Sequence[str], stdin: bytes) -> int:
        """Run argv with stdin as the login user; its exit code (127: not installed)."""
        raise NotImplementedError

    def _exec(
        self, args: tuple[str, ...], *, sudo: bool, stdin: bytes | None,
        timeout: float | None, on_output: OutputSink | None, env: dict[str, str] | None,
    ) -> tuple[int, bytes, bytes]:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    # -- shared ----------------------------------------------------------------------------

    def run(self, argv: Sequence[str], *, sudo: bool = False, stdin: bytes | None = None,
            timeout: float | None = None, on_output: OutputSink | None = None,
            env: dict[str, str] | None = None) -> CommandResult:
        args = _cmd.check_argv(argv)
        code, out, err = self._exec(args, sudo=sudo, stdin=stdin, timeout=timeout,
                                    on_output=on_output, env=env)
        return CommandResult(args, code, out.decode("utf-8", "replace"),
                             err.decode("utf-8", "replace"))

    def sudo_mode(self) -> str:
        """"root", "nopasswd" or "password" (sudo asks, and the given password works)."""
        if self._sudo.mode is None and self.is_root():
            self._sudo.mode = "root"
        return self._sudo.settle(self.name, self.user, self._probe)

    def _with_sudo(self, sudo: bool, stdin: bytes | None) -> tuple[bool, bytes]:
        """Whether a command asked to run as root goes through sudo, and the bytes to feed
        it: sudo's password line first when sudo wants one."""
        use_sudo = sudo and self.sudo_mode() != "root"
        feed = stdin or b""
        if use_sudo and self.sudo_mode() == "password":
            feed = self._sudo.password_line() + feed
        return use_sudo, feed

    def __exit__(self, *exc: object) -> None:
        self.close()
