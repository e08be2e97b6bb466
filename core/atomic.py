"""Atomic file writes: temp file in the same folder, fsync, rename, fsync the folder.

A reader (or a process that starts after a crash or power loss) sees either the old file or
the new one, never a mix. On failure (disk full, permission) the old file is untouched and
the temp file is removed.
"""

from __future__ import annotations

import contextlib
import errno
import os
from pathlib import Path

from roost.core.errors import RoostError


def fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write_bytes(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Replace `path` with `data` atomically; the new file gets `mode`."""
    folder = path.parent
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{path.name}.tmp-{os.getpid()}"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        try:
            os.fchmod(fd, mode)
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
        fsync_dir(folder)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        if exc.errno == errno.ENOSPC:
            raise RoostError(
                f"the disk is full: {path.name} was not saved (the previous copy is intact)",
                hint="free some space and try again",
            ) from None
        raise RoostError(
            f"could not save {path}: {exc.strerror or exc}",
            hint="check the folder's permissions and free space",
        ) from None


def atomic_write_text(path: Path, text: str, mode: int = 0o600) -> None:
    atomic_write_bytes(path, text.encode("utf-8"), mode)
