"""Run a program on a real terminal (a pty), answering each prompt as it shows."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import time


def pty_run(argv: list[str], env: dict[str, str], replies: list[tuple[bytes, bytes]],
            timeout: float = 120) -> tuple[int, bytes]:
    """Run argv on a real terminal; each (prompt, reply) is written once `prompt` has shown,
    in order, and `<<answered>>` marks the place in the output. Returns (exit code, output)."""
    main_fd, sub_fd = pty.openpty()
    proc = subprocess.Popen(argv, stdin=sub_fd, stdout=sub_fd, stderr=sub_fd, env=env,
                            close_fds=True)
    os.close(sub_fd)
    seen = b""
    pending = list(replies)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([main_fd], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(main_fd, 4096)
                except OSError:
                    break
                if not chunk:
                    break
                seen += chunk
            if pending and pending[0][0] in seen:
                os.write(main_fd, pending.pop(0)[1])
                seen += b"<<answered>>"
            if proc.poll() is not None and not ready:
                break
    finally:
        os.close(main_fd)
    return proc.wait(30), seen


def pty_text(argv: list[str], env: dict[str, str], replies: list[tuple[bytes, bytes]],
             timeout: float = 120) -> tuple[int, str]:
    """`pty_run` with the output decoded (undecodable bytes replaced)."""
    code, seen = pty_run(argv, env, replies, timeout)
    return code, seen.decode("utf-8", "replace")
