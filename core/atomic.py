"""Atomic file writes: temp file in the same folder, fsync, rename, fsync the folder.

A reader (or a process that starts after a crash or power loss) sees either the old file or
the new one, never a mix. On failure (disk full, permission) the old file is untouched and
the temp file is removed.

The one way roost replaces a local file: `replace_file` does it (raising OSError, for callers
with their own message, such as the local transport), `atomic_write_with` fills the temp file
by name (paramiko's `HostKeys.save`), `atomic_write_bytes`/`_text` write data; the last two
turn failures into one-line RoostErrors.
"""

from __future__ import annotations

import contextlib
import errno
import os
import time
from collections.abc import Callable
from pathlib import Path

from roost.core.errors import RoostError


def fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def replace_file(path: Path, fill: Callable[[Path], None], mode: int = 0o600, *,
                 tag: str = "tmp", uid: int = -1, gid: int = -1,
                 folder_sync: bool = True) -> None:
    """Replace `path` atomically with what `fill(temp)` writes into an empty temp file.

    The temp file `.<name>.<tag>-<pid>-<n>` is created 0600 (nobody else ever reads it), then
    given `uid`/`gid` (when not -1) and `mode`, synced and renamed over `path`. Raises OSError
    (the temp file removed, `path` untouched). `folder_sync=False` makes syncing the folder
    best effort (some file systems refuse it)."""
    folder = path.parent
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{path.name}.{tag}-{os.getpid()}-{time.monotonic_ns()}"
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    try:
        fill(tmp)
        fd = os.open(tmp, os.O_RDONLY)
        try:
            if uid != -1 or gid != -1:
                os.fchown(fd, uid, gid)
            os.fchmod(fd, mode)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    if folder_sync:
        fsync_dir(folder)
    else:
        with contextlib.suppress(OSError):
            fsync_dir(folder)


def write_all(path: Path, data: bytes) -> None:
    """Write `data` into the existing file `path` (a `replace_file` filler)."""
    fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    finally:
        os.close(fd)


def atomic_write_with(path: Path, fill: Callable[[Path], None], mode: int = 0o600) -> None:
    """`replace_file`, with failures as one-line RoostErrors."""
    try:
        replace_file(path, fill, mode)
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            raise RoostError(
                f"the disk is full: {path.name} was not saved (the previous copy is intact)",
                hint="free some space and try again",
            ) from None
        raise RoostError(
            f"could not save {path}: {exc.strerror or exc}",
            hint="check the folder's permissions and free space",
        ) from None


def atomic_write_bytes(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Replace `path` with `data` atomically; the new file gets `mode`."""
    atomic_write_with(path, lambda tmp: write_all(tmp, data), mode)


def atomic_write_text(path: Path, text: str, mode: int = 0o600) -> None:
    atomic_write_bytes(path, text.encode("utf-8"), mode)
