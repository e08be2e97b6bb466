#!/usr/bin/env python3
"""Upload and download of a 50 MB file to a loopback sshd: roost vs paramiko vs OpenSSH scp.

In one run, round-robin (so a busy moment hits every runner alike), median of --repeat:
- roost's SSHTransport.put_file / get_file (paramiko SFTP, pipelined write, prefetched read,
  temp name + rename, mode set before the data);
- raw paramiko SFTPClient.putfo / getfo on the same kind of connection;
- OpenSSH `scp` (SFTP protocol, the default since OpenSSH 9.0) and `scp -O` (the old SCP
  protocol).
Starts its own sshd on 127.0.0.1 (tests/sshd.py) with a fresh host key; logs in as root with
a throw-away key. Needs root and openssh-server.

    .venv/bin/python bench/sftp.py [--mb 50] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from sshd import keygen, start_sshd  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=int, default=50)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    if os.geteuid() != 0 or not Path("/usr/sbin/sshd").exists():
        sys.exit("run as root with openssh-server installed (scripts/test.sh installs it)")

    import paramiko

    from roost.deploy.ssh import SSHTransport
    from roost.deploy.trust import KnownHosts

    work = Path(tempfile.mkdtemp(prefix="roost-bench-sftp-"))
    remote = Path(tempfile.mkdtemp(prefix="roost-bench-sftp-remote-"))
    server = None
    try:
        key = keygen(work / "id_ed25519")
        server = start_sshd(work / "sshd", key, users=("root",))
        host, port = server.host, server.port
        kh = work / "known_hosts"
        kh.write_text(f"[{host}]:{port} " + " ".join(server.host_key_pub.read_text().split()[:2])
                      + "\n")
        data = os.urandom(a.mb * 1024 * 1024)
        local = work / "payload.bin"
        local.write_bytes(data)
        back = work / "back.bin"
        target = str(remote / "payload.bin")
        ssh_opts = ["-q", "-o", "BatchMode=yes", "-o", f"UserKnownHostsFile={kh}",
                    "-o", "StrictHostKeyChecking=yes", "-i", str(key), "-P", str(port),
                    "-F", "/dev/null"]

        t = SSHTransport("bench", host, user="root", port=port, key_path=str(key),
                         known_hosts=KnownHosts(kh), ssh_config=work / "none",
                         allow_agent=False)
        t.connect()
        pc = paramiko.SSHClient()
        pc.load_host_keys(str(kh))
        pc.connect(host, port, "root", key_filename=str(key), allow_agent=False,
                   look_for_keys=False)
        psftp = pc.open_sftp()

        def clean() -> None:
            for p in remote.iterdir():
                p.unlink()
            back.unlink(missing_ok=True)

        def roost_put() -> None:
            t.put_file(target, data, mode=0o600)

        def roost_get() -> None:
            got = t.get_file(target)
            assert got is not None and len(got) == len(data)

        def paramiko_put() -> None:
            with local.open("rb") as f:
                psftp.putfo(f, target, file_size=len(data), confirm=True)

        def paramiko_get() -> None:
            with back.open("wb") as f:
                psftp.getfo(target, f)

        def scp(legacy: bool, up: bool) -> Callable[[], None]:
            def go() -> None:
                src, dst = (str(local), f"root@{host}:{target}") if up else \
                    (f"root@{host}:{target}", str(back))
                subprocess.run(["scp", *(["-O"] if legacy else []), *ssh_opts, src, dst],
                               check=True)
            return go

        runners: list[tuple[str, Callable[[], None], Callable[[], None]]] = [
            ("roost SSHTransport (put_file/get_file)", roost_put, roost_get),
            ("raw paramiko SFTP (putfo/getfo)", paramiko_put, paramiko_get),
            ("OpenSSH scp (SFTP protocol)", scp(False, True), scp(False, False)),
            ("OpenSSH scp -O (old SCP protocol)", scp(True, True), scp(True, False)),
        ]
        times: dict[str, tuple[list[float], list[float]]] = {n: ([], []) for n, _, _ in runners}
        for _ in range(a.repeat):
            for name, put, get in runners:
                clean()
                t0 = time.perf_counter()
                put()
                t1 = time.perf_counter()
                assert (remote / "payload.bin").stat().st_size == len(data)
                get()
                t2 = time.perf_counter()
                times[name][0].append(t1 - t0)
                times[name][1].append(t2 - t1)
        t.close()
        pc.close()

        scp_put = statistics.median(times["OpenSSH scp (SFTP protocol)"][0])
        scp_get = statistics.median(times["OpenSSH scp (SFTP protocol)"][1])
        print(f"{a.mb} MB over SFTP/SCP to a loopback sshd, median of {a.repeat}; load average "
              f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
        w = max(len(n) for n in times)
        print(f"{'':{w}s}{'put s':>8s}{'MB/s':>8s}{'vs scp':>8s}{'get s':>8s}{'MB/s':>8s}"
              f"{'vs scp':>8s}")
        for name, (puts, gets) in times.items():
            p, g = statistics.median(puts), statistics.median(gets)
            print(f"{name:{w}s}{p:8.2f}{a.mb / p:8.1f}{p / scp_put:8.2f}{g:8.2f}{a.mb / g:8.1f}"
                  f"{g / scp_get:8.2f}")
        print("(vs scp: time relative to OpenSSH scp; above 1 is slower)")
        return 0
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(remote, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
