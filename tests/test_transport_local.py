"""LocalTransport: the same interface as SSH, through subprocess argument lists."""

from __future__ import annotations

import os
import pickle
import pwd
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from support.hostile import HOSTILE

from roost.core.errors import RoostError
from roost.deploy.local import LocalTransport
from roost.deploy.transport import Transport

pytest_plugins = ["sshd"]


def test_is_a_transport() -> None:
    with LocalTransport() as t:
        assert isinstance(t, Transport)
        assert t.name == "local"


def test_run_codes_output_stdin_env() -> None:
    t = LocalTransport()
    r = t.run(["sh", "-c", "echo out; echo err >&2; exit 4"])
    assert (r.exit_code, r.stdout, r.stderr) == (4, "out\n", "err\n")
    data = os.urandom(2_000_000)
    assert t.run(["wc", "-c"], stdin=data).stdout.strip() == str(len(data))
    r = t.run(["sh", "-c", 'echo "$LC_ALL|$ROOST_X|${SECRET_FROM_PARENT:-}"'],
              env={"ROOST_X": "x y"})
    assert r.stdout == "C|x y|\n"
    missing = t.run(["roost-no-such-program"])
    assert missing.exit_code == 127
    with pytest.raises(TypeError):
        t.run("echo hi")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        t.run(["-rf"])


def test_streaming_and_timeout() -> None:
    t = LocalTransport()
    seen: list[tuple[float, str]] = []
    start = time.monotonic()
    t.run(["sh", "-c", "echo one; sleep 0.4; echo two >&2"],
          on_output=lambda s: seen.append((time.monotonic() - start, s)))
    assert [s for _, s in seen] == ["one", "two"]
    assert seen[0][0] < 0.3 < seen[1][0]
    r = t.run(["sh", "-c", "sleep 5 & sleep 5"], timeout=0.3)
    assert r.exit_code == 124
    assert time.monotonic() - start < 3


def test_put_get_mode_owner(tmp_path: Path) -> None:
    t = LocalTransport()
    target = tmp_path / "a" / "b" / "f.bin"
    blob = os.urandom(100_000)
    t.put_file(str(target), blob, mode=0o640, owner="nobody", group="root")
    assert target.read_bytes() == blob
    st = target.stat()
    assert (st.st_mode & 0o7777, st.st_uid, st.st_gid) == (0o640, pwd.getpwnam("nobody").pw_uid,
                                                           0)
    assert t.get_file(str(target)) == blob
    assert t.get_file(str(target) + ".none") is None
    assert [p.name for p in target.parent.iterdir()] == ["f.bin"]
    with pytest.raises(RoostError, match="no user"):
        t.put_file(str(target), b"x", owner="no-such-user-roost")
    assert target.read_bytes() == blob  # untouched by the failed write
    with pytest.raises(ValueError):
        t.put_file("relative/path", b"x")


def test_hostile_values_never_run(tmp_path: Path) -> None:
    canary = tmp_path / "canary"
    t = LocalTransport()
    for pattern in HOSTILE:
        value = pattern.format(c=canary)
        assert t.run(["echo", value]).stdout == value + "\n"
        path = tmp_path / value.replace("/", "_")
        t.put_file(str(path), value.encode())
        assert path.read_bytes() == value.encode()
    assert not canary.exists()


def _as_user(user: str, fn: Callable[[], Any]) -> Any:
    """Run fn in a forked child that has dropped to `user`; return its result or raise."""
    pw = pwd.getpwnam(user)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        os.close(r)
        try:
            os.setgroups([])
            os.setgid(pw.pw_gid)
            os.setuid(pw.pw_uid)
            os.environ["HOME"] = pw.pw_dir
            os.chdir(pw.pw_dir)
            out: tuple[str, Any] = ("ok", fn())
        except BaseException as exc:
            out = ("err", f"{type(exc).__name__}: {exc}")
        with os.fdopen(w, "wb") as f:
            pickle.dump(out, f)
        os._exit(0)
    os.close(w)
    with os.fdopen(r, "rb") as f:
        kind, value = pickle.load(f)
    os.waitpid(pid, 0)
    if kind == "err":
        raise AssertionError(value)
    return value


def test_sudo_as_a_plain_user(sudo_user: Any, tmp_path: Path) -> None:
    """Not root: sudo with the password on stdin; root-owned folders through sudo."""
    folder = Path(f"/etc/roost-local-{os.getpid()}")
    target = folder / "f.conf"
    password = sudo_user.password

    def work() -> tuple[str, str, bytes | None, bytes | None, str]:
        t = LocalTransport(sudo_password=password)
        me = t.run(["id", "-un"]).stdout.strip()
        root = t.run(["id", "-u"], sudo=True).stdout.strip()
        t.put_file(str(target), b"k=v\n", mode=0o600, owner="root", group="root")
        back = t.get_file(str(target))
        none = t.get_file(str(folder / "missing"))
        piped = t.run(["cat"], sudo=True, stdin=b"after the password\n").stdout
        return me, root, back, none, piped

    try:
        me, root, back, none, piped = _as_user(sudo_user.user, work)
        assert (me, root, back, none) == (sudo_user.user, "0", b"k=v\n", None)
        assert piped == "after the password\n"
        st = target.stat()
        assert (st.st_uid, st.st_mode & 0o777) == (0, 0o600)
    finally:
        import shutil

        shutil.rmtree(folder, ignore_errors=True)

    def no_password() -> str:
        try:
            LocalTransport().run(["true"], sudo=True)
        except RoostError as exc:
            return str(exc)
        return "no error"

    said = _as_user(sudo_user.user, no_password)
    assert f"this needs root on local, and sudo asks {sudo_user.user} for a password" in said

    def wrong_password() -> str:
        try:
            LocalTransport(sudo_password="nope").run(["true"], sudo=True)
        except RoostError as exc:
            return str(exc)
        return "no error"

    assert "was not accepted" in _as_user(sudo_user.user, wrong_password)
