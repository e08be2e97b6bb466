"""Output relayed from a host carries no terminal control sequences (a screen reader would
read `^[[08m` aloud): a real program on a real transport (local, and SSH to a real sshd)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from test_transport_ssh import connect

from roost.deploy.local import LocalTransport
from roost.deploy.steps import StepContext, StepError
from roost.deploy.transport import Transport

if TYPE_CHECKING:
    from sshd import Sshd

pytest_plugins = ["sshd"]

# Prosody's prompt on Debian 13, an OSC window title (BEL- and ST-terminated), colour, a bare
# ESC, a C1 CSI, a backspace, a tab.
SCRIPT = (
    r"printf 'Enter new password: \033[08m\033[00m\n';"
    r"printf '\033]0;title\007done \033]2;t2\033\\ok\n';"
    r"printf '\033[1;31mred\033[0m bare\ta\bb\302\2332Jc \033\n';"
    r"printf 'Enter new password: \033[08m\033[00m\n' >&2; exit 3"
)
EXPECTED = ["Enter new password: ", "done ok", "red bare abc ", "Enter new password: "]


def _check(t: Transport) -> None:
    lines: list[str] = []
    ctx = StepContext(transport=t, sudo=False, on_output=lines.append)
    with pytest.raises(StepError) as ei:
        ctx.must(["sh", "-c", SCRIPT], "print", hint="h")
    assert sorted(lines) == sorted(EXPECTED)
    assert sorted(ctx.tail_lines) == sorted(EXPECTED)
    assert "\x1b" not in ei.value.tail and "\x9b" not in ei.value.tail
    assert "Enter new password: " in ei.value.tail


def test_local_transport_output_is_clean() -> None:
    _check(LocalTransport())


def test_ssh_transport_output_is_clean(sshd: Sshd, tmp_path: Path) -> None:
    t = connect(sshd, tmp_path)
    try:
        _check(t)
    finally:
        t.close()
