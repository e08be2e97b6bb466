"""Versioned TOML data files: read with a clear error, write atomically.

Every file roost keeps has a top-level integer `schema`. A file that cannot be parsed is moved
aside (renamed, never deleted) and the user is told where it went; a file from a newer roost is
left exactly where it is and nothing writes over it.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

import tomli_w

from roost.core import clock
from roost.core.atomic import atomic_write_text
from roost.core.errors import CorruptFileError, NewerFormatError


def unused_name(path: Path, what: str) -> Path:
    """A name beside `path` that no file has yet: NAME.WHAT-STAMP (then -2, -3...), stamped
    by the clock."""
    stamp = clock.stamp()
    found = path.with_name(f"{path.name}.{what}-{stamp}")
    n = 1
    while found.exists():
        n += 1
        found = path.with_name(f"{path.name}.{what}-{stamp}-{n}")
    return found


def keep_aside(path: Path) -> Path:
    """Rename a damaged file out of the way and return its new name."""
    aside = unused_name(path, "corrupt")
    os.replace(path, aside)
    return aside


def read_versioned(path: Path, what: str, current: int) -> dict[str, Any] | None:
    """Load `path` (None when it does not exist), checking its schema version.

    Raises CorruptFileError (after moving the file aside) or NewerFormatError (file untouched).
    """
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
        schema = data.get("schema")
        if not isinstance(schema, int) or isinstance(schema, bool) or schema < 1:
            raise ValueError("no valid schema number")
    except (UnicodeDecodeError, tomllib.TOMLDecodeError, ValueError) as exc:
        aside = keep_aside(path)
        raise CorruptFileError(
            f"the {what} file {path} could not be read ({_short(exc)}); it was kept as {aside}",
            hint="roost starts fresh; restore a backup or import an export to get it back",
        ) from None
    if schema > current:
        raise NewerFormatError(
            f"the {what} file {path} was written by a newer roost (format {schema}, "
            f"this roost reads up to {current})",
            hint="update roost; the file was left untouched",
        )
    return data


def write_versioned(path: Path, data: dict[str, Any], current: int, mode: int = 0o600) -> None:
    body = {"schema": current, **{k: v for k, v in data.items() if k != "schema"}}
    atomic_write_text(path, tomli_w.dumps(body), mode)


def _short(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:120]
