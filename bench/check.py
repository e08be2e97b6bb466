"""`roost check` against the bare probes it runs, side by side: 5 services on 2 hosts.

Boots the two test hosts (tests/testhost.py: Debian with systemd, reached over real SSH),
deploys with roost's own command static-blog and Prosody on both and MiniDLNA on pi, and gives
pi's static-blog a way in (`roost reach --tor`: a Tor onion service, Tor kept offline: no Tor
network here), then times, alternately, `--runs` times each:

- roost: `roost.app.checking.check` (reads the progress, builds each recipe again, connects to
  each host, the host probe, each health check, each certificate, keeps the report);
- bare: the same probes with everything prepared beforehand, hosts in parallel: a paramiko
  connection per host, the host probe command, each recipe's health probe once, each
  certificate read, and the look at the way in (Tor runs, the onion hostname is the one noted).

Prints the medians and roost / bare (goal: within 1.2x). Needs root (the test hosts).

    ROOST_TESTHOST_CACHE=/work/cache/testhost .venv/bin/python bench/check.py [--runs 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("run as root: the benchmark boots two test hosts")
    from testhost import TestHostPool

    pool = TestHostPool()
    try:
        hosts = {"pi": pool.get("pi"), "vps": pool.get("vps")}
        home = Path(tempfile.mkdtemp(prefix="roost-bench-check-"))
        _deploy(home, hosts)
        bare_job = _bare(home, hosts)
        roost_t: list[float] = []
        bare_t: list[float] = []
        from roost.app.checking import check

        for _ in range(args.runs):
            t0 = time.perf_counter()
            report = check(home)
            roost_t.append(time.perf_counter() - t0)
            assert report.exit_code == 0, report.lines()
            t0 = time.perf_counter()
            bare_job()
            bare_t.append(time.perf_counter() - t0)
        r, b = statistics.median(roost_t), statistics.median(bare_t)
        print(f"5 services on 2 hosts, median of {args.runs} runs each, alternating:")
        print(f"  roost check  {r * 1000:7.0f} ms")
        print(f"  bare probes  {b * 1000:7.0f} ms")
        print(f"  ratio        {r / b:7.2f}x (goal: within 1.2x)")
        for line in report.lines():
            print("  | " + line)
    finally:
        pool.close()
    return 0


def _deploy(home: Path, hosts: dict[str, Any]) -> None:
    from roost.cli.main import main as roost
    from roost.deploy.hosts import HOSTS_FILE, Host, HostStore
    from roost.deploy.trust import KNOWN_HOSTS, KnownHosts
    from roost.keys.model import Identity
    from roost.keys.vault import FAST_LIMITS_FOR_TESTS, Vault

    os.environ["ROOST_HOME"] = str(home)
    os.environ["ROOST_HOST_STATE_DIR"] = "/var/lib/roost-bench-state"
    vault = Vault.create(home, "a long passphrase", limits=FAST_LIMITS_FOR_TESTS)
    vault.add(Identity("alice", "xmpp", {"jid": "alice@chat.roost.test"},
                       {"password": "pw-" + "b4" * 12}))
    from roost.keys import tor

    vault.add(tor.create("onion"))
    passfile = home / "passphrase"
    passfile.write_text("a long passphrase\n")
    passfile.chmod(0o600)
    os.environ["ROOST_PASSPHRASE_FILE"] = str(passfile)
    known = KnownHosts(home / KNOWN_HOSTS)
    known.path.parent.mkdir(parents=True, exist_ok=True)
    known.path.write_text("".join(h.known_hosts_lines() for h in hosts.values()))
    known.path.chmod(0o600)
    for name, h in hosts.items():
        HostStore(home / HOSTS_FILE).add(Host(name, address=h.address, user="root",
                                              port=h.ssh_port, key_path=str(h.key_path)))
    for service, name, options in (
            ("static-blog", "pi", ["domain=blog.roost.test"]),
            ("static-blog", "vps", ["domain=blog.roost.test"]),
            ("prosody", "pi", ["domain=chat.roost.test"]),
            ("prosody", "vps", ["domain=chat.roost.test"]),
            ("minidlna", "pi", ["media=/srv/media"])):
        words = ["deploy", service, "--host", name, "--quiet",
                 "--option", f"address={hosts[name].address}"]
        for o in options:
            words += ["--option", o]
        assert roost(words) == 0, words
    # No Tor network here, and none outside may be reached: tor starts offline.
    hosts["pi"].ssh("mkdir -p /etc/tor && printf 'DisableNetwork 1\\n' > /etc/tor/torrc")
    assert roost(["reach", "static-blog", "--host", "pi", "--tor", "--quiet"]) == 0


def _bare(home: Path, hosts: dict[str, Any]) -> Any:
    """The probes alone, prepared: recipes built, addresses known; returns the timed job."""
    import paramiko

    from roost.app import certificates, host_state
    from roost.app.checking import deployed
    from roost.app.reached import TOR_LOOK
    from roost.deploy import onion, session
    from roost.deploy.hosts import HOSTS_FILE, HostStore
    from roost.deploy.steps import StepContext
    from roost.plan.workspace import Workspace

    store = HostStore(home / HOSTS_FILE)
    plan: dict[str, list[tuple[Any, str, str, int, bool]]] = {}
    looks: dict[str, list[str]] = {}
    progress = Workspace.open(home, detect=False).progress
    for d in deployed(home):
        for w in progress.ways_in(d.service_id, d.host):
            looks.setdefault(d.host, []).append(" ".join(_quote(x) for x in (
                "sh", "-c", TOR_LOOK, "sh", onion.UNIT, str(w.detail["address"]),
                f"{onion.service_dir(d.service_id)}/hostname")))
        recipe = session.build_recipe(d.recipe, store.get(d.host), d.options, None, home)
        xmpp = any(p.number == certificates.XMPP_PORT for p in recipe.ports)
        plan.setdefault(d.host, []).append((recipe, hosts[d.host].address,
                                            d.options.get("domain", ""),
                                            certificates.XMPP_PORT if xmpp
                                            else certificates.HTTPS_PORT, xmpp))

    def one(name: str) -> None:
        h = hosts[name]
        client = paramiko.SSHClient()
        client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
        client.connect(h.address, port=h.ssh_port, username="root", key_filename=str(h.key_path),
                       allow_agent=False, look_for_keys=False)
        try:
            _, out, _ = client.exec_command(
                " ".join(["sh", "-c", _quote(host_state.PROBE), "sh", "/var/lib/roost", "/"]))
            out.read()
            for recipe, address, domain, port, xmpp in plan[name]:
                assert recipe.health is not None
                ctx = StepContext(transport=None, sudo=False)  # type: ignore[arg-type]
                assert recipe.health.once(None, ctx) is None  # type: ignore[arg-type]
                if domain:
                    certificates.served(address, domain, port, xmpp=xmpp)
            for look in looks.get(name, ()):
                _, out, _ = client.exec_command(look)
                assert out.channel.recv_exit_status() == 0
        finally:
            client.close()

    def job() -> None:
        with ThreadPoolExecutor(max_workers=len(plan)) as ex:
            list(ex.map(one, sorted(plan)))

    return job


def _quote(s: str) -> str:
    return "'" + s.replace("'", "'\"'\"'") + "'"


if __name__ == "__main__":
    raise SystemExit(main())
