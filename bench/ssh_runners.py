"""100 x `true` over SSH, side by side in one run: roost's SSHTransport, raw paramiko (with
paramiko's own socket, and with a TCP_NODELAY socket), OpenSSH with ControlMaster, and OpenSSH
with a new connection per command (fewer runs, scaled to 100).

Starts its own sshd on 127.0.0.1 (own host key and config) and a plain test user with /bin/sh,
so nobody's shell start-up files are measured. Needs root (to add and remove that user).

    .venv/bin/python bench/ssh_runners.py [--n 100] [--new-each 20]
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
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

USER = f"rtb{os.getpid() % 100000}"


def timed(fn: Callable[[], None]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--new-each", type=int, default=20,
                    help="runs for 'OpenSSH, new connection each' (scaled to --n)")
    ap.add_argument("--repeat", type=int, default=3, help="take the median of this many runs")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("run as root: the benchmark adds a temporary plain user for sshd")

    import paramiko

    from roost.deploy.ssh import SSHTransport
    from roost.deploy.trust import KnownHosts

    # a plain `kill` or timeout(1) still removes the temporary user
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    work = Path(tempfile.mkdtemp(prefix="roost-ssh-runners-"))
    subprocess.run(["userdel", "-f", "-r", USER], capture_output=True)
    subprocess.run(["useradd", "-m", "-s", "/bin/sh", "-p", "*", USER], check=True)
    server = None
    master: subprocess.Popen[bytes] | None = None
    try:
        key = keygen(work / "id_ed25519")
        server = start_sshd(work / "sshd", key, users=(USER,))
        host, port, n = server.host, server.port, args.n
        kh = work / "known_hosts"
        kh.write_text(f"[{host}]:{port} " + " ".join(server.host_key_pub.read_text().split()[:2])
                      + "\n")
        ssh_base = ["ssh", "-q", "-o", "BatchMode=yes", "-o", f"UserKnownHostsFile={kh}",
                    "-o", "StrictHostKeyChecking=yes", "-i", str(key), "-p", str(port),
                    "-F", "/dev/null", f"{USER}@{host}"]

        # roost
        def roost_run() -> float:
            t = SSHTransport("bench", host, user=USER, port=port, key_path=str(key),
                             known_hosts=KnownHosts(kh), ssh_config=work / "none",
                             allow_agent=False)
            t.connect()
            try:
                return timed(lambda: [t.run(["true"]) for _ in range(n)] and None)
            finally:
                t.close()

        def paramiko_run(nodelay: bool) -> float:
            c = paramiko.SSHClient()
            c.load_host_keys(str(kh))
            sock = None
            if nodelay:
                sock = socket.create_connection((host, port))
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            c.connect(host, port, USER, key_filename=str(key), sock=sock,
                      allow_agent=False, look_for_keys=False)

            def go() -> None:
                for _ in range(n):
                    _i, o, _e = c.exec_command("true")
                    o.channel.recv_exit_status()

            try:
                return timed(go)
            finally:
                c.close()

        def control_master() -> float:
            nonlocal master
            ctl = work / "ctl"
            master = subprocess.Popen([*ssh_base[:-1], "-M", "-S", str(ctl), "-N",
                                       ssh_base[-1]])
            deadline = time.monotonic() + 10
            while not ctl.exists() and time.monotonic() < deadline:
                time.sleep(0.02)
            try:
                return timed(lambda: [subprocess.run([*ssh_base[:-1], "-S", str(ctl),
                                                      ssh_base[-1], "true"], check=True)
                                      for _ in range(n)] and None)
            finally:
                master.terminate()
                master.wait()
                master = None

        def new_each() -> float:
            k = args.new_each
            t = timed(lambda: [subprocess.run([*ssh_base, "true"], check=True)
                               for _ in range(k)] and None)
            return t * n / k

        runners: list[tuple[str, Callable[[], float]]] = [
            ("roost SSHTransport (paramiko, TCP_NODELAY)", roost_run),
            ("raw paramiko, its own socket", lambda: paramiko_run(False)),
            ("raw paramiko, TCP_NODELAY socket", lambda: paramiko_run(True)),
            ("OpenSSH with ControlMaster", control_master),
            (f"OpenSSH, new connection each ({args.new_each} runs, scaled)", new_each),
        ]
        # Round-robin, so a busy moment on the machine hits every runner alike.
        times: dict[str, list[float]] = {name: [] for name, _ in runners}
        for _ in range(args.repeat):
            for name, fn in runners:
                times[name].append(fn())
        results = {name: statistics.median(v) for name, v in times.items()}
        load = os.getloadavg()[0]

        base = results["raw paramiko, TCP_NODELAY socket"]
        width = max(len(k) for k in results)
        print(f"\n{n} x `true` over SSH to 127.0.0.1 (median of {args.repeat} runs; "
              f"connection set-up not counted except for 'new connection each'; "
              f"load average {load:.1f} on {os.cpu_count()} CPUs)\n")
        print(f"| {'how'.ljust(width)} | {'total':>8} | {'per command':>11} | "
              f"{'vs raw paramiko+NODELAY':>23} |")
        print(f"|{'-' * (width + 2)}|{'-' * 10}|{'-' * 13}|{'-' * 25}|")
        for name, total in results.items():
            print(f"| {name.ljust(width)} | {total:7.2f}s | {total / n * 1000:8.1f} ms | "
                  f"{total / base:22.2f}x |")
        return 0
    finally:
        if master is not None:
            master.terminate()
        if server is not None:
            server.stop()
        subprocess.run(["pkill", "-u", USER], capture_output=True)
        subprocess.run(["userdel", "-f", "-r", USER], capture_output=True)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
