"""The options each service was deployed with, per host, in the data folder's
`deploy-options.toml`: a restore (roost.app.backing_up) installs the service the same way.
No secret is kept here: secrets are vault references, never option values."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import tomli_w

from roost.core.atomic import atomic_write_text
from roost.core.errors import RoostError

OPTIONS_FILE = "deploy-options.toml"


def read_table(path: Path) -> dict[str, Any]:
    """A TOML file of the data folder as a table ({} when there is none yet); a file that
    cannot be read is one RoostError line."""
    if not path.exists():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise RoostError(f"{path} cannot be read ({exc})",
                         hint="fix or move the file, then run again") from None


def record_options(home: Path, service: str, host: str, options: Mapping[str, str]) -> None:
    """Keep the options a service was deployed with (no secret: those are vault references),
    so a restore installs it the same way."""
    data = read_table(home / OPTIONS_FILE)
    data.setdefault(host, {})[service] = dict(options)
    atomic_write_text(home / OPTIONS_FILE, tomli_w.dumps(data))


def deployed_options(home: Path, service: str, host: str) -> dict[str, str]:
    found = read_table(home / OPTIONS_FILE).get(host, {}).get(service, {})
    return {str(k): str(v) for k, v in found.items()} if isinstance(found, dict) else {}


