"""Where roost keeps its data: `ROOST_HOME`, else the platform's user data directory."""

from __future__ import annotations

import os
from pathlib import Path

from roost.core.errors import RoostError

ENV_HOME = "ROOST_HOME"


def data_dir(create: bool = True) -> Path:
    """The data directory, created with mode 0700 when asked."""
    override = os.environ.get(ENV_HOME)
    if override:
        path = Path(override).expanduser()
    else:
        import platformdirs

        path = Path(platformdirs.user_data_dir("roost", appauthor=False))
    if create:
        try:
            path.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            raise RoostError(
                f"cannot create the data folder {path}: {exc.strerror}",
                hint=f"set {ENV_HOME} to a folder you can write",
            ) from None
    return path
