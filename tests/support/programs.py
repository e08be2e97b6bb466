"""Stand-in programs the tests install on a test host in place of an upstream release (a fake
gotosocial, pleroma, navidrome, Friendica's PHP entry points, an Oasis script...). They are
real files under tests/support/standins/, so ruff checks the Python ones and shellcheck the
shell ones (scripts/test.sh); a test reads their bytes with `standin(name)`."""

from __future__ import annotations

from pathlib import Path

STANDINS = Path(__file__).resolve().parent / "standins"


def standin(name: str) -> bytes:
    """The bytes of the stand-in program `name` (a file in tests/support/standins/)."""
    return (STANDINS / name).read_bytes()
