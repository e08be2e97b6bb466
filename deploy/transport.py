"""The one interface every way of reaching a host shares.

`LocalTransport` (the machine roost runs on) and `SSHTransport` (paramiko, one connection per
deploy) both implement `Transport`. Commands are argument lists, never shell strings: a
transport quotes each argument with `shlex.quote` when a shell is involved. Secrets go in on
stdin or as file contents, never in argv.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

OutputSink = Callable[[str], None]
"""Receives each line of a command's output as it arrives (for live progress)."""


@dataclass(frozen=True)
class CommandResult:
    argv: tuple[str, ...]
    exit_code: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    def tail(self, lines: int = 15) -> str:
        """The last lines of output, for a failure message."""
        text = (self.stdout + ("\n" if self.stdout and self.stderr else "") + self.stderr)
        return "\n".join(text.strip().splitlines()[-lines:])


@runtime_checkable
class Transport(Protocol):
    """A connection to one host. Use as a context manager; `close()` is idempotent."""

    name: str
    """Host name as the user knows it ("local", "pi", "vps")."""

    def run(
        self,
        argv: Sequence[str],
        *,
        sudo: bool = False,
        stdin: bytes | None = None,
        timeout: float | None = None,
        on_output: OutputSink | None = None,
        env: dict[str, str] | None = None,
    ) -> CommandResult:
        """Run one command. Never raises on a non-zero exit; raises RoostError when the host
        cannot be reached (connection lost) so the caller can resume later."""
        ...

    def put_file(
        self, path: str, data: bytes, *, mode: int = 0o600, owner: str | None = None,
        group: str | None = None,
    ) -> None:
        """Write a file atomically on the host (temp file in the same folder, then rename),
        with mode and owner set before the rename. Creates missing parent folders."""
        ...

    def get_file(self, path: str) -> bytes | None:
        """The file's contents, or None when it does not exist (may need sudo to read)."""
        ...

    def close(self) -> None: ...

    def __enter__(self) -> Transport: ...

    def __exit__(self, *exc: object) -> None: ...
