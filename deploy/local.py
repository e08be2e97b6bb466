"""The machine roost runs on, through `subprocess`: argument lists, never a shell.

When roost does not run as root, commands that need it go through `sudo`, its password sent
on stdin (never on a command line), exactly as over SSH.
"""

from __future__ import annotations

import contextlib
import errno
import grp
import os
import pwd
import selectors
import shutil
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from roost.core.atomic import replace_file, write_all
from roost.core.errors import RoostError
from roost.deploy import _cmd
from roost.deploy.base_transport import BaseTransport
from roost.deploy.sudo import SudoPassword
from roost.deploy.transport import OutputSink, Transport

TIMEOUT_EXIT = 124



class LocalTransport(BaseTransport):
    """This machine. `sudo_password` is needed only when not root and sudo asks for one."""

    def __init__(self, name: str = "local", *, sudo_password: SudoPassword = None) -> None:
        super().__init__(name, sudo_password)
        self.user = pwd.getpwuid(os.getuid()).pw_name

    # -- Transport -------------------------------------------------------------------------

    def put_file(
        self, path: str, data: bytes, *, mode: int = 0o600, owner: str | None = None,
        group: str | None = None,
    ) -> None:
        folder, name = _cmd.split_path(path)
        if os.geteuid() == 0 or not self._foreign_owner(owner, group):
            try:
                self._put_direct(folder, name, data, mode, owner, group)
                return
            except PermissionError:
                if os.geteuid() == 0:
                    raise RoostError(f"cannot write {path} on {self.name}: permission denied",
                                     hint="check the folder's permissions") from None
            except OSError as exc:
                raise write_error(self.name, path, exc) from None
        self._put_sudo(folder, name, data, mode, _cmd.owner_spec(owner, group))

    def get_file(self, path: str) -> bytes | None:
        try:
            with open(path, "rb") as f:
                return f.read()
        except FileNotFoundError:
            return None
        except IsADirectoryError:
            raise RoostError(f"{path} on {self.name} is a folder, not a file") from None
        except PermissionError:
            if os.geteuid() == 0:
                raise RoostError(f"cannot read {path} on {self.name}: permission denied") \
                    from None
        except OSError as exc:
            raise RoostError(f"cannot read {path} on {self.name}: "
                             f"{exc.strerror or 'failed'}") from None
        code, out, err = self._exec(("sh", "-c", _cmd.CAT_SCRIPT, "sh", path), sudo=True,
                                    stdin=None, timeout=None, on_output=None, env=None)
        if code == _cmd.CAT_MISSING:
            return None
        if code != 0:
            raise RoostError(f"cannot read {path} on {self.name}: "
                             f"{err.decode('utf-8', 'replace').strip()[:200]}")
        return out

    def close(self) -> None:
        return None

    def __enter__(self) -> Transport:
        return self

    # -- internals -------------------------------------------------------------------------

    def is_root(self) -> bool:
        return os.geteuid() == 0

    def _probe(self, argv: Sequence[str], stdin: bytes) -> int:
        if shutil.which(argv[0]) is None:
            return 127
        return subprocess.run(list(argv), input=stdin, capture_output=True, check=False,
                              env=_plain_env(None)).returncode

    def _exec(
        self, args: tuple[str, ...], *, sudo: bool, stdin: bytes | None,
        timeout: float | None, on_output: OutputSink | None, env: dict[str, str] | None,
    ) -> tuple[int, bytes, bytes]:
        use_sudo, feed = self._with_sudo(sudo, stdin)
        if use_sudo:
            full = _cmd.full_argv(args, sudo=True, env=env)
            environ = _plain_env(None)
        else:
            full = list(args)
            environ = _plain_env(dict(e.split("=", 1) for e in _cmd.env_args(env)))
        try:
            proc = subprocess.Popen(full, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, env=environ,
                                    start_new_session=True)
        except OSError as exc:
            return 127, b"", f"{args[0]}: {exc.strerror}\n".encode()
        return _pump(proc, feed, timeout, on_output)

    def _foreign_owner(self, owner: str | None, group: str | None) -> bool:
        if owner and owner != self.user:
            return True
        if group:
            try:
                return grp.getgrnam(group).gr_gid not in os.getgroups()
            except KeyError:
                return True
        return False

    def _put_direct(self, folder: str, name: str, data: bytes, mode: int,
                    owner: str | None, group: str | None) -> None:
        uid = _uid(owner, self.name) if owner else -1
        gid = _gid(group, self.name) if group else -1
        replace_file(Path(folder) / name, lambda tmp: write_all(tmp, data), mode,
                     tag="roost", uid=uid, gid=gid, folder_sync=False)

    def _put_sudo(self, folder: str, name: str, data: bytes, mode: int, owner: str) -> None:
        private = tempfile.mkdtemp(prefix="roost-upload-")
        try:
            src = os.path.join(private, "data")
            # 0600: cp copies this mode to the temp file next to the target, so the content
            # is never readable by others before chmod
            with open(os.open(src, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as f:
                f.write(data)
            tmp = f"{folder.rstrip('/')}/.{name}.roost-{os.getpid()}"
            target = f"{folder.rstrip('/')}/{name}"
            code, _out, err = self._exec(
                ("sh", "-c", _cmd.INSTALL_SCRIPT, "sh", folder, src, tmp, target,
                 f"{mode:o}", owner),
                sudo=True, stdin=None, timeout=None, on_output=None, env=None)
            if code != 0:
                raise RoostError(
                    f"cannot write {target} on {self.name}: "
                    f"{err.decode('utf-8', 'replace').strip()[:200]}")
        finally:
            shutil.rmtree(private, ignore_errors=True)


def write_error(host: str, path: str, exc: OSError) -> RoostError:
    """A failed file write as one line; the old file is always left as it was."""
    if exc.errno == errno.ENOSPC:
        return RoostError(f"the disk of {host} is full: {path} was not written (the old file "
                          f"is intact)", hint="free some space and run the same command again")
    why = "".join(c for c in (exc.strerror or str(exc)) if c.isprintable())[:120]
    return RoostError(f"cannot write {path} on {host}: {why or 'failed'}",
                      hint="check that the folder exists and is a folder, and has free space")


def _uid(owner: str, host: str) -> int:
    try:
        return pwd.getpwnam(owner).pw_uid
    except KeyError:
        raise RoostError(f"there is no user {owner!r} on {host}") from None


def _gid(group: str, host: str) -> int:
    try:
        return grp.getgrnam(group).gr_gid
    except KeyError:
        raise RoostError(f"there is no group {group!r} on {host}") from None


def _plain_env(extra: dict[str, str] | None) -> dict[str, str]:
    env = {"PATH": _cmd.SAFE_PATH, **_cmd.PLAIN_ENV}
    home = os.environ.get("HOME")
    if home:
        env["HOME"] = home
    env.update(extra or {})
    return env


def _pump(proc: subprocess.Popen[bytes], feed: bytes, timeout: float | None,
          on_output: OutputSink | None) -> tuple[int, bytes, bytes]:
    """Feed stdin, collect stdout and stderr, hand each complete line to on_output."""
    assert proc.stdin and proc.stdout and proc.stderr
    deadline = None if timeout is None else time.monotonic() + timeout
    out = bytearray()
    err = bytearray()
    pending = {proc.stdout.fileno(): bytearray(), proc.stderr.fileno(): bytearray()}
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ, out)
    sel.register(proc.stderr, selectors.EVENT_READ, err)
    view = memoryview(feed)
    if view:
        os.set_blocking(proc.stdin.fileno(), False)
        sel.register(proc.stdin, selectors.EVENT_WRITE, None)
    else:
        proc.stdin.close()
    timed_out = False
    try:
        while sel.get_map():
            wait = None if deadline is None else deadline - time.monotonic()
            if wait is not None and wait <= 0:
                timed_out = True
                break
            for key, _ in sel.select(wait):
                if key.data is None:
                    try:
                        view = view[os.write(key.fd, view[:65536]):]
                    except BrokenPipeError:
                        view = view[len(view):]
                    if not view:
                        sel.unregister(key.fileobj)
                        proc.stdin.close()
                    continue
                chunk = os.read(key.fd, 65536)
                if not chunk:
                    sel.unregister(key.fileobj)
                    continue
                key.data.extend(chunk)
                if on_output is not None:
                    emit_lines(pending[key.fd], chunk, on_output)
    finally:
        sel.close()
    if timed_out:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, 9)
        proc.wait()
        for f in (proc.stdin, proc.stdout, proc.stderr):
            with contextlib.suppress(OSError):
                f.close()
        err.extend(f"\nroost: stopped after {timeout:g} s without finishing\n".encode())
        return TIMEOUT_EXIT, bytes(out), bytes(err)
    if on_output is not None:
        for buf in pending.values():
            if buf:
                on_output(buf.decode("utf-8", "replace"))
    code = proc.wait()
    proc.stdout.close()
    proc.stderr.close()
    return code, bytes(out), bytes(err)


def emit_lines(buf: bytearray, chunk: bytes, sink: OutputSink) -> None:
    buf.extend(chunk)
    while True:
        i = buf.find(b"\n")
        if i < 0:
            return
        line = bytes(buf[:i])
        del buf[: i + 1]
        sink(line.decode("utf-8", "replace").rstrip("\r"))
