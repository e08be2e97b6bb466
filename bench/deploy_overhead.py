"""The same 50-step recipe on a loopback sshd, run eight ways, side by side in one run:

  roost          roost's engine (check + apply + journal + host marker), one paramiko connection
  transport      roost's SSHTransport alone, one run() per command (no engine)
  paramiko       raw paramiko, one connection (TCP_NODELAY), one exec per command
  openssh        `ssh` with ControlMaster (one master connection, a client process per command)
  roost-sudo     roost's engine, every step through sudo (as a service's recipe runs on a Pi)
  paramiko-sudo  raw paramiko, every command behind the same sudo prefix roost uses
  ansible        ansible-playbook, 50 `command` tasks, pipelining on     (if pip can install it)
  pyinfra        pyinfra, 50 `server.shell` operations                   (if pip can install it)

Every way runs the same commands: create the folder, then 49 times `sh -c 'echo "$1" >> "$2"'`.
They log in as a person's Pi is reached: a normal user with a home, the sudo group and a sudoers
drop-in, made for the run and removed after it, also on Ctrl+C, SIGTERM or SIGHUP
(bench/sudo_user.py). `--sudo nopasswd` (the default) is Raspberry Pi OS's `pi`; with
`--sudo password` sudo asks for the user's password, which roost gives it on stdin as it does
for a real host (deploy/sudo.py). The runs write into that user's home.
Times are medians of --repeat runs; connection set-up is outside the timed part for roost,
paramiko and openssh (one connection per deploy), and inside it for ansible and pyinfra
(their command starts, connects and runs; that is what a user waits for).

Run as root (to add and remove that user) on a machine with openssh-server and sudo:
    .venv/bin/python bench/deploy_overhead.py [--sudo nopasswd|password] [--repeat 5] [--no-tools]
Ansible and pyinfra are installed into a throwaway venv inside the bench's temp folder.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import shlex
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
sys.path.insert(0, str(ROOT / "bench"))

from sshd import free_port, keygen, start_sshd  # noqa: E402
from sudo_user import (  # noqa: E402
    SUDO_MODES,
    BenchUser,
    cleanup_on_signals,
    make_user,
    remove_user,
    signals_held,
)
from support.counter import counter_recipe  # noqa: E402

from roost.deploy import _cmd, engine  # noqa: E402
from roost.deploy.journal import Journal  # noqa: E402
from roost.deploy.ssh import SSHTransport  # noqa: E402
from roost.deploy.steps import EnsureDir, RunCommand  # noqa: E402
from roost.deploy.trust import KnownHosts  # noqa: E402

N = 50
TOOLS = ("pyinfra", "ansible")
TMP_PREFIX = "roost-bench-"


def commands(root: str) -> list[list[str]]:
    """The argv of every step of counter_recipe(root, N, files=False), in order."""
    out: list[list[str]] = []
    for step in counter_recipe(root, N, files=False).steps:
        if isinstance(step, EnsureDir):
            out.append(step._argv())
        elif isinstance(step, RunCommand):
            out.append(list(step.argv))
    assert len(out) == N
    return out


def check_result(root: str) -> None:
    lines = Path(root, "applied.log").read_text().split()
    assert lines == [f"step{i}" for i in range(1, N)], f"wrong result in {root}"


def kill_processes_of(folder: Path) -> None:
    """Kill the processes started with a file of `folder` in their arguments: the bench's
    sshd and OpenSSH's ControlMaster connections (ControlPersist keeps those alive after an
    interrupted run)."""
    mark = str(folder).encode() + b"/"
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            argv = (proc / "cmdline").read_bytes()
        except OSError:
            continue
        if mark in argv:
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(proc.name), signal.SIGKILL)


def remove_stale_runs() -> None:
    """The temp folder and processes of a benchmark killed with SIGKILL (its pid, in the
    folder's name, is gone). Its account goes with `make_user()`."""
    for folder in Path(tempfile.gettempdir()).glob(f"{TMP_PREFIX}*-*"):
        pid = folder.name[len(TMP_PREFIX):].split("-", 1)[0]
        if not pid.isdigit() or Path(f"/proc/{pid}").exists():
            continue
        kill_processes_of(folder)
        shutil.rmtree(folder, ignore_errors=True)


class Bench:
    """The ways, against one sshd on loopback that `user` logs in to with a key. Folders the
    runs write are in the user's home; the bench's own files (journals, playbooks, keys) are
    in `tmp`."""

    def __init__(self, tmp: Path, user: BenchUser) -> None:
        self.tmp = tmp
        self.user = user
        self.key = keygen(tmp / "id_ed25519")
        self.server = start_sshd(tmp / "sshd", self.key, port=free_port(),
                                 users=(user.name,))
        self.port = self.server.port
        self.runs = 0

    def close(self) -> None:
        with signals_held():
            self.server.stop()
            kill_processes_of(self.tmp)

    def fresh_root(self) -> str:
        self.runs += 1
        return str(self.user.home / f"run{self.runs}")

    def local(self, root: str, suffix: str) -> Path:
        """A file of this bench (not of the host) named after a run."""
        return self.tmp / (Path(root).name + suffix)

    def transport_to_host(self) -> SSHTransport:
        return SSHTransport("bench", "127.0.0.1", user=self.user.name, port=self.port,
                            key_path=str(self.key), known_hosts=KnownHosts(self.tmp / "kh"),
                            trust=self.server.fingerprint(), allow_agent=False,
                            ssh_config=self.tmp / "no-config",
                            sudo_password=self.user.sudo_password)

    def once(self, name: str, fn: Callable[[str], float]) -> float | None:
        root = self.fresh_root()
        try:
            took = fn(root)
            check_result(root)
        except Exception as exc:
            print(f"  {name}: failed: {exc}", file=sys.stderr)
            return None
        return took

    # -- the five ways ----------------------------------------------------------------------

    def roost(self, sudo: bool = False) -> Callable[[str], float]:
        """The engine; with `sudo`, every step and the host marker go through sudo."""

        def run(root: str) -> float:
            t = self.transport_to_host()
            t.connect()
            try:
                recipe = dataclasses.replace(counter_recipe(root, N, files=False), sudo=sudo)
                start = time.perf_counter()
                res = engine.run(recipe, t,
                                 journal=Journal(self.local(root, ".journal.toml"), "counter",
                                                 "bench"),
                                 state_dir=root + ".state")
                took = time.perf_counter() - start
                assert res.applied == N
                return took
            finally:
                t.close()
        return run

    def transport(self) -> Callable[[str], float]:
        """roost's SSHTransport alone, one run() per command: what the engine adds is the
        difference between this and `roost`."""
        def run(root: str) -> float:
            t = self.transport_to_host()
            t.connect()
            try:
                start = time.perf_counter()
                for argv in commands(root):
                    if not t.run(argv).ok:
                        raise RuntimeError(f"{argv[0]} failed")
                return time.perf_counter() - start
            finally:
                t.close()
        return run

    def paramiko(self, sudo: bool = False) -> Callable[[str], float]:
        """Raw paramiko; with `sudo`, each command behind roost's own sudo prefix (so the two
        run the same command lines), the password, if sudo asks for one, first on stdin."""
        import paramiko

        prefix = list(_cmd.SUDO_PREFIX) if sudo else []
        password = self.user.sudo_password
        feed = (password + "\n").encode() if sudo and password is not None else b""

        def run(root: str) -> float:
            sock = socket.create_connection(("127.0.0.1", self.port))
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            client = paramiko.SSHClient()
            client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
            client.connect("127.0.0.1", port=self.port, username=self.user.name, sock=sock,
                           key_filename=str(self.key), allow_agent=False, look_for_keys=False)
            try:
                start = time.perf_counter()
                for argv in commands(root):
                    inp, out, err = client.exec_command(shlex.join([*prefix, *argv]))
                    if feed:
                        inp.write(feed)
                    out.read()
                    err.read()
                    if out.channel.recv_exit_status() != 0:
                        raise RuntimeError(f"{argv[0]} failed")
                return time.perf_counter() - start
            finally:
                client.close()
        return run

    def openssh(self) -> Callable[[str], float]:
        base = ["ssh", "-q", "-p", str(self.port), "-i", str(self.key),
                "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
                "-o", f"UserKnownHostsFile={self.tmp / 'ssh_known'}",
                "-o", "ControlMaster=auto", "-o", "ControlPersist=120",
                f"{self.user.name}@127.0.0.1"]

        def run(root: str) -> float:
            path = ["-o", f"ControlPath={self.tmp}/cm-{Path(root).name}-%C"]
            argv0 = [*base[:-1], *path, base[-1]]
            subprocess.run([*argv0, "true"], check=True)  # the master connection
            start = time.perf_counter()
            for argv in commands(root):
                subprocess.run([*argv0, shlex.join(argv)], check=True)
            took = time.perf_counter() - start
            subprocess.run([*argv0[:-1], "-O", "exit", argv0[-1]], capture_output=True)
            return took
        return run

    def venv_tool(self, package: str, exe: str) -> Path | None:
        venv = self.tmp / f"venv-{exe}"
        if not venv.exists():
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
            r = subprocess.run([str(venv / "bin" / "pip"), "install", "-q", package],
                               capture_output=True, text=True, timeout=600)
            if r.returncode != 0:
                print(f"  {exe}: not measured, pip could not install {package}: "
                      f"{r.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
                return None
        return venv / "bin" / exe

    def ansible(self) -> Callable[[str], float] | None:
        exe = self.venv_tool("ansible-core", "ansible-playbook")
        if exe is None:
            return None
        inv = self.tmp / "inventory.ini"
        inv.write_text(
            f"bench ansible_host=127.0.0.1 ansible_port={self.port} "
            f"ansible_user={self.user.name} "
            f"ansible_ssh_private_key_file={self.key} "
            f"ansible_python_interpreter=/usr/bin/python3\n")
        cfg = self.tmp / "ansible.cfg"
        cfg.write_text("[defaults]\nhost_key_checking = False\ngathering = explicit\n"
                       f"local_tmp = {self.tmp}/ansible-tmp\n"
                       "[ssh_connection]\npipelining = True\n"
                       f"control_path_dir = {self.tmp}/ansible-cp\n")

        def run(root: str) -> float:
            book = self.local(root, ".yml")
            tasks = "".join(
                f"    - command:\n        argv: {_yaml_list(argv)}\n"
                for argv in commands(root))
            book.write_text(f"- hosts: bench\n  gather_facts: false\n  tasks:\n{tasks}")
            env = {**os.environ, "ANSIBLE_CONFIG": str(cfg)}
            start = time.perf_counter()
            subprocess.run([str(exe), "-i", str(inv), str(book)], check=True, env=env,
                           capture_output=True)
            return time.perf_counter() - start
        return run

    def pyinfra(self) -> Callable[[str], float] | None:
        exe = self.venv_tool("pyinfra", "pyinfra")
        if exe is None:
            return None

        def run(root: str) -> float:
            deploy = self.local(root, "_deploy.py")
            lines = ["from pyinfra.operations import server"]
            for i, argv in enumerate(commands(root)):
                lines.append(f"server.shell(name='step {i}', commands=[{shlex.join(argv)!r}])")
            deploy.write_text("\n".join(lines) + "\n")
            start = time.perf_counter()
            subprocess.run([str(exe), "-y", "127.0.0.1", str(deploy),
                            "--user", self.user.name, "--port", str(self.port), "--key",
                            str(self.key), "--data", "ssh_known_hosts_file=/dev/null",
                            "--data", "ssh_strict_host_key_checking=no"],
                           check=True, capture_output=True, cwd=self.tmp)
            return time.perf_counter() - start
        return run


def _yaml_list(argv: list[str]) -> str:
    import json

    return json.dumps(argv)  # JSON is YAML


def _paired(a: list[float], b: list[float]) -> float | None:
    n = min(len(a), len(b))
    if n == 0:
        return None
    return statistics.median(x / y for x, y in zip(a[:n], b[:n], strict=True))


def measure(b: Bench, args: argparse.Namespace) -> dict[str, list[float]]:
    """Every way once a round, the rounds interleaved; the times of the ways that never
    failed."""
    print(f"{N} steps on a loopback sshd; rounds interleave the ways, so load on the "
          f"machine hits them alike. Median of {args.repeat} rounds "
          f"({min(args.repeat, args.tool_repeat)} for pyinfra and Ansible).", flush=True)
    ways: dict[str, Callable[[str], float]] = {
        "paramiko": b.paramiko(), "roost": b.roost(), "transport": b.transport(),
        "openssh": b.openssh(), "paramiko-sudo": b.paramiko(sudo=True),
        "roost-sudo": b.roost(sudo=True)}
    if not args.no_tools:
        for name, make in (("pyinfra", b.pyinfra), ("ansible", b.ansible)):
            fn = make()
            if fn is not None:
                ways[name] = fn
    times: dict[str, list[float]] = {name: [] for name in ways}
    failed: set[str] = set()
    for r in range(args.repeat):
        for name, fn in ways.items():
            if name in failed or (name in TOOLS and r >= args.tool_repeat):
                continue
            took = b.once(name, fn)
            if took is None:
                failed.add(name)
            else:
                times[name].append(took)
        print(f"  round {r + 1}: " + ", ".join(
            f"{n} {v[-1]:.3f} s" for n, v in times.items() if len(v) == r + 1), flush=True)
    return {n: v for n, v in times.items() if n not in failed}


def report(times: dict[str, list[float]], sudo: str) -> None:
    results = {n: statistics.median(v) for n, v in times.items() if v}
    base = results.get("paramiko")
    roost = results.get("roost")
    print("\n| how | time for 50 steps | per step | vs raw paramiko | roost is faster by |")
    print("|---|---|---|---|---|")
    for name in ("roost", "transport", "paramiko", "openssh", "roost-sudo", "paramiko-sudo",
                 *TOOLS):
        t = results.get(name)
        if t is None:
            print(f"| {name} | not measured | | | |")
            continue
        floor, mine = ((results.get("paramiko-sudo"), results.get("roost-sudo"))
                       if name.endswith("-sudo") else (base, roost))
        ratio = f"{t / floor:.2f}x" if floor else "-"
        faster = f"{t / mine:.1f}x" if mine and not name.startswith("roost") else "-"
        print(f"| {name} | {t:.3f} s | {t / N * 1000:.1f} ms | {ratio} | {faster} |")
    print("(the -sudo rows: every command through sudo, " +
          ("which needs no password" if sudo == "nopasswd" else "which asks for the password")
          + "; compared with each other)")
    paired = {n: _paired(times.get("roost", []), times.get(n, [])) for n in times}
    paired["paramiko-sudo"] = _paired(times.get("roost-sudo", []),
                                      times.get("paramiko-sudo", []))
    print("\nPaired per round (the ways of one round ran back to back, so they saw the same "
          "load): median of roost's time / the other's:")
    for n, r in paired.items():
        if r is not None and not n.startswith("roost"):
            print(f"  {'roost-sudo' if n == 'paramiko-sudo' else 'roost'} / {n}: {r:.2f}")
    tr = results.get("transport")
    if tr and roost:
        print(f"\nthe engine's own cost (checks, journal, host record) over its transport: "
              f"{roost / tr:.2f}x")
    if base and roost:
        pr = paired.get("paramiko") or roost / base
        verdict = "met" if pr <= 1.2 else "NOT met"
        print(f"\ntarget roost <= 1.2x raw paramiko: {pr:.2f}x paired "
              f"({roost / base:.2f}x from the medians), {verdict}")
        ans = results.get("ansible")
        if ans:
            verdict = "met" if ans >= 5 * roost else "NOT met"
            print(f"target ansible >= 5x roost: {ans / roost:.1f}x, {verdict}")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--no-tools", action="store_true", help="skip ansible and pyinfra")
    p.add_argument("--tool-repeat", type=int, default=3,
                   help="rounds for pyinfra and Ansible (slow), default 3")
    p.add_argument("--sudo", choices=SUDO_MODES, default="nopasswd",
                   help="the login user's sudo: without a password (Raspberry Pi OS's pi, the "
                        "default) or asking for it")
    args = p.parse_args()
    if os.geteuid() != 0 or not shutil.which("/usr/sbin/sshd") or not shutil.which("sudo"):
        print("run as root (to add and remove the benchmark's user), with openssh-server and "
              "sudo installed", file=sys.stderr)
        return 2
    cleanup_on_signals()
    remove_stale_runs()
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f"{TMP_PREFIX}{os.getpid()}-"))
        try:
            tmp.chmod(0o755)
            os.environ["ROOST_HOME"] = str(tmp / "home")
            # start_sshd's authorized_keys folder goes in here too, so it goes with it
            tempfile.tempdir = str(tmp)
            times = run_as_bench_user(tmp, args)
        finally:
            tempfile.tempdir = None
            with signals_held():
                shutil.rmtree(tmp, ignore_errors=True)
    except KeyboardInterrupt:
        print("interrupted; the benchmark's user, its home, its sudoers entry and its sshd "
              "are removed", file=sys.stderr)
        return 130
    report(times, args.sudo)
    return 0


def run_as_bench_user(tmp: Path, args: argparse.Namespace) -> dict[str, list[float]]:
    user = make_user(args.sudo)
    try:
        print(f"logging in as {user.name} (uid {user.uid}, group sudo, {user.sudoers}: "
              f"sudo {'without a password' if args.sudo == 'nopasswd' else 'asks for one'}), "
              f"home {user.home}, bench files in {tmp}", flush=True)
        b = Bench(tmp, user)
        try:
            return measure(b, args)
        finally:
            b.close()
    finally:
        remove_user(user)


if __name__ == "__main__":
    raise SystemExit(main())
