"""The reach screen under a real screen reader (Debian's Fenrir, headless in PTY mode): from a
host, key o; the row to check from is spoken with what it proves; Enter runs the checks (a real
port on loopback) and the verdict, then each check, are spoken with their state first."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from a11y.fenrir_harness import FenrirSession, last_said, require_fenrir, said
from a11y.pty_harness import keys
from a11y.roost_walk import roost_argv, roost_env
from test_reach_checks import catalog_with_port  # noqa: F401 (a fixture)

from roost.plan.workspace import Workspace

pytestmark = pytest.mark.slow


def test_reach_is_spoken_state_first(home: Path,
                                     catalog_with_port: tuple[Path, socket.socket],  # noqa: F811
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    require_fenrir()
    folder, listener = catalog_with_port
    port = listener.getsockname()[1]
    monkeypatch.setenv("ROOST_CATALOG_DIR", str(folder))
    home.mkdir()
    Workspace.open(home, detect=False).deployed("ssb-pub", "local", "1", ports=(f"{port}/tcp",))
    env = roost_env(home, ROOST_CATALOG_DIR=str(folder), HOME=str(home.parent / "user"))
    s = FenrirSession(roost_argv("--screen-reader"), workdir=home.parent / "fenrir", env=env,
                      gap=0.4)
    s.start(ready="Identities", maximum=40)
    try:
        st = s.press(b"h", name="h", screen="Add a host")
        st = s.press(keys.ENTER, name="Enter", screen="Reached at")
        st = s.press(b"o", name="o", screen="Can others reach")
        assert said(st, "From here, own network only, ssb-pub on local"), s.transcript()
        st = s.press(keys.ENTER, name="Enter", screen="Check again", maximum=20)
        assert said(st, "Result, all fine"), s.transcript()
        st = s.press(keys.DOWN, name="Down")
        assert last_said(st, f"ok, port {port}/tcp from this computer, 2 of 4"), \
            s.transcript()
        assert s.quit(b"\x03", timeout=15), s.transcript()
    finally:
        s.close()
        print(f"transcript:\n{s.transcript()}")
