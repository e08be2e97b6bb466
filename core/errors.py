"""The error type every layer raises for things a user can fix.

A `RoostError` carries one line that says what went wrong and what to do. The CLI prints it
and exits with code 2; the TUI shows (and speaks) it. Never put a secret in the message.
"""

from __future__ import annotations


class RoostError(Exception):
    """A problem the user can act on. `str(err)` is the one-line message."""

    exit_code = 2

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        self.message = message.rstrip(".")
        self.hint = hint
        super().__init__(self.line())

    def line(self) -> str:
        if self.hint:
            hint = self.hint.rstrip(".")
            return f"{self.message}. {hint[:1].upper()}{hint[1:]}."
        return f"{self.message}."


class CorruptFileError(RoostError):
    """A data file could not be read; it was kept aside, never overwritten."""


class NewerFormatError(RoostError):
    """A data file was written by a newer roost; it is left untouched."""


class LockedError(RoostError):
    """Another roost process holds the data directory."""
