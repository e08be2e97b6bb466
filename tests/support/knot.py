"""A real authoritative DNS server for a test: Debian's Knot DNS (`knotd`) on 127.0.0.1, on a
port the kernel picks, serving one zone written by the test. roost's `--resolver` (or
ROOST_DNS_RESOLVER) points at `server.address`."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from support.ports import free_port


def _answers(port: int) -> bool:
    """Whether knotd answers on TCP yet."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


class AuthServer:
    def __init__(self, folder: Path, zone: str, records: str) -> None:
        self.folder = folder
        self.zone = zone
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{zone}.zone").write_text(
            f"$ORIGIN {zone}.\n$TTL 60\n"
            f"@ SOA ns.{zone}. admin.{zone}. 1 60 60 600 60\n@ NS ns.{zone}.\n"
            f"ns A 127.0.0.1\n{records}\n")
        (folder / "knot.conf").write_text(
            f"server:\n    listen: 127.0.0.1@{self.port}\n    rundir: {folder}\n"
            f"    pidfile: {folder}/knot.pid\n"
            f"control:\n    listen: {folder}/knot.sock\n"
            f"log:\n  - target: stderr\n    any: warning\n"
            f"database:\n    storage: {folder}\n"
            f"template:\n  - id: default\n    storage: {folder}\n    file: \"%s.zone\"\n"
            f"zone:\n  - domain: {zone}\n")
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(["knotd", "-c", str(self.folder / "knot.conf")],
                                     stdout=subprocess.DEVNULL, stderr=open(  # noqa: SIM115
                                         self.folder / "knot.log", "wb"))
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("knotd stopped:\n"
                                   + (self.folder / "knot.log").read_text(errors="replace"))
            if _answers(self.port):
                return
            time.sleep(0.05)
        raise RuntimeError("knotd did not answer within 20 s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@contextmanager
def knot(folder: Path, zone: str, records: str) -> Iterator[AuthServer]:
    """A started Knot serving `zone` with `records` (zone-file lines relative to the zone)."""
    if shutil.which("knotd") is None:
        if __import__("os").environ.get("CI", "").lower() == "true":
            pytest.fail("knotd is not installed (scripts/test.sh installs knot)")
        pytest.skip("knotd is not installed (scripts/test.sh installs knot)")
    server = AuthServer(folder, zone, records)
    server.start()
    try:
        yield server
    finally:
        server.stop()
