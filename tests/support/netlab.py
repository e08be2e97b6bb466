"""A network lab for the "reachable from outside" tests: the Pi test host at home behind a NAT
router, an "internet" with the VPS test host and a client on it.

    with NetLab(pi_host, vps_host, upnp=True) as lab:
        lab.wan                      # the router's address outside: the only way in
        lab.client(["python3", ...]) # a command run from the client outside

Built from network namespaces created here, named and numbered from a test-host slot this lab
holds (tests/testhost.py `_Slot`), so parallel sessions never collide::

    root namespace (this machine, the test harness)
      | rl{N}-up  10.231.N.1/30  <->  10.231.N.2/30 (uplink in "internet")
    "internet" namespace rl{N}-i: routes between everything below; masquerades to the uplink,
      |                             so apt on the hosts still works through testhost's nat.sh
      |-- the VPS test host's veth (moved in: its gateway 10.231.V.1 now lives here)
      |-- WAN link 11.231.N.1/30 <-> 11.231.N.2/30 "wan" in the router namespace rl{N}-r
      |-- client link 11.231.N.5/30 <-> 11.231.N.6/30 in the client namespace rl{N}-c
    router namespace rl{N}-r: the Pi test host's veth (moved in, its gateway 10.231.P.1)
      nftables: LAN -> WAN masquerade; forward policy drop, except replies, the LAN going out,
      the harness (10.231.N.1: roost on the person's own computer, at home) and what
      miniupnpd maps.
      Debian's miniupnpd listens on the LAN side (UPnP-IGD and NAT-PMP) when `upnp` is true.

The WAN addresses (11.231.N.x) look public because miniupnpd refuses to forward anything when
its outside address is a private one (as a real router behind carrier-grade NAT must). They
exist only inside these namespaces: the root namespace never routes them, so nothing outside
this machine is ever addressed.

Torn down on exit (the hosts' links are moved back with their addresses, so the hosts stay
usable), and after a crash by `cleanup_lab`, which tests/testhost.py's `_cleanup_slot` calls
for the slot before anyone reuses it.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from testhost import NAT_SCRIPT, RUN_DIR, SUBNET_BASE, _cleanup_slot, _Slot

if TYPE_CHECKING:
    from testhost import TestHost

WAN_BASE = "11.231"
MINIUPNPD = "/usr/sbin/miniupnpd"


def _names(n: int) -> dict[str, str]:
    return {"router": f"rl{n}-r", "inet": f"rl{n}-i", "client": f"rl{n}-c",
            "up": f"rl{n}-up", "state": str(RUN_DIR / f"lab{n}.json")}


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    res = subprocess.run(["ip", *args], capture_output=True, text=True)
    if check and res.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {res.stderr.strip()}")
    return res


def _in(ns: str, *argv: str, check: bool = True,
        input: str | None = None) -> subprocess.CompletedProcess[str]:
    res = subprocess.run(["ip", "netns", "exec", ns, *argv], capture_output=True, text=True,
                         input=input)
    if check and res.returncode != 0:
        raise RuntimeError(f"in {ns}: {' '.join(argv)}: {res.stderr.strip()}")
    return res


def cleanup_lab(n: int) -> None:
    """Undo what a lab in slot `n` left (a crashed session): miniupnpd, the namespaces (the
    links in them go with them), the uplink and its NAT. Only while holding slot n's lock."""
    names = _names(n)
    state = Path(names["state"])
    with contextlib.suppress(OSError, ValueError):
        pid = int(json.loads(state.read_text()).get("miniupnpd", 0))
        if pid > 1 and b"miniupnpd" in Path(f"/proc/{pid}/cmdline").read_bytes():
            os.kill(pid, signal.SIGKILL)
    for ns in (names["client"], names["router"], names["inet"]):
        _ip("netns", "del", ns, check=False)
    _ip("link", "del", names["up"], check=False)
    subprocess.run([str(NAT_SCRIPT), "down", f"t{n}"], capture_output=True)
    with contextlib.suppress(OSError):
        state.unlink()


def _route_back(host: TestHost) -> None:
    """Give the host its default route again. Moving a link to another namespace takes the
    carrier away for a moment; systemd-networkd in the host then drops its gateway route and
    (seen here) does not always put it back. The host's own route, set from outside in its
    network namespace (nsenter), as its network file says."""
    proc = host._proc
    if proc is None:
        return
    kids = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True,
                          text=True).stdout.split()
    if not kids:
        return
    subprocess.run(["nsenter", "-t", kids[0], "-n", "ip", "route", "replace", "default", "via",
                    host.gateway, "dev", "host0", "proto", "static"], capture_output=True)


def _wait_reachable(host: TestHost, timeout: float = 60.0) -> None:
    """Until the host answers SSH through its new path."""
    _route_back(host)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(
                (host.address, host.ssh_port), timeout=1) as sock:
            if sock.recv(4).startswith(b"SSH-"):
                return
        time.sleep(0.1)
    raise RuntimeError(f"{host.role} did not answer at {host.address} behind the lab's "
                       f"links within {timeout:g} s")


def _still_resolves(host: TestHost) -> None:
    """The host kept its resolver through the move (apt needs it): say so here, not as an
    apt error minutes later."""
    dns = host.ssh("resolvectl dns host0", check=False).stdout.split(":", 1)[-1].strip()
    if not dns:
        raise RuntimeError(f"{host.role} lost its DNS server when its link moved into the lab")


class NetLab:
    __test__ = False

    def __init__(self, pi: TestHost, vps: TestHost, *, upnp: bool = True) -> None:
        self.pi, self.vps, self.upnp = pi, vps, upnp
        self._slot: _Slot | None = None
        self._miniupnpd: subprocess.Popen[bytes] | None = None
        self.folder: Path | None = None

    # -- addresses -----------------------------------------------------------------------
    @property
    def n(self) -> int:
        assert self._slot is not None
        return self._slot.number

    @property
    def harness(self) -> str:
        """This machine's address on the uplink: where the tests' SSH comes from."""
        return f"{SUBNET_BASE}.{self.n}.1"

    @property
    def wan(self) -> str:
        """The router's address outside: the only way in to the Pi."""
        return f"{WAN_BASE}.{self.n}.2"

    @property
    def client_address(self) -> str:
        return f"{WAN_BASE}.{self.n}.6"

    @property
    def names(self) -> dict[str, str]:
        return _names(self.n)

    # -- life cycle ----------------------------------------------------------------------
    def __enter__(self) -> NetLab:
        self._slot = _Slot()
        try:
            _cleanup_slot(self.n)
            cleanup_lab(self.n)
            Path(self.names["state"]).write_text(json.dumps({"lab": True}))
            self._build()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _build(self) -> None:
        nm, n = self.names, self.n
        r, i, c = nm["router"], nm["inet"], nm["client"]
        for ns in (r, i, c):
            _ip("netns", "add", ns)
            _in(ns, "ip", "link", "set", "lo", "up")
        pi_link, vps_link = f"ve-{self.pi.machine}", f"ve-{self.vps.machine}"
        up = f"{SUBNET_BASE}.{n}"
        wan = f"{WAN_BASE}.{n}"
        # uplink: root <-> internet, and NAT to the machine's resolver and mirror (apt)
        _ip("link", "add", nm["up"], "type", "veth", "peer", "name", "uplink", "netns", i)
        _ip("addr", "add", f"{up}.1/30", "dev", nm["up"])
        _ip("link", "set", nm["up"], "up")
        _in(i, "ip", "addr", "add", f"{up}.2/30", "dev", "uplink")
        _in(i, "ip", "link", "set", "uplink", "up")
        _in(i, "ip", "route", "add", "default", "via", f"{up}.1")
        subprocess.run([str(NAT_SCRIPT), "up", f"{up}.0/24", f"t{n}"], check=True,
                       capture_output=True)
        # internet <-> router (WAN) and internet <-> client
        _in(i, "ip", "link", "add", "torouter", "type", "veth", "peer", "name", "wan",
            "netns", r)
        _in(i, "ip", "link", "add", "toclient", "type", "veth", "peer", "name", "eth0",
            "netns", c)
        for ns, dev, addr in ((i, "torouter", f"{wan}.1/30"), (r, "wan", f"{wan}.2/30"),
                              (i, "toclient", f"{wan}.5/30"), (c, "eth0", f"{wan}.6/30")):
            _in(ns, "ip", "addr", "add", addr, "dev", dev)
            _in(ns, "ip", "link", "set", dev, "up")
        _in(r, "ip", "route", "add", "default", "via", f"{wan}.1")
        _in(c, "ip", "route", "add", "default", "via", f"{wan}.5")
        # the hosts' links: the Pi behind the router, the VPS on the internet
        for link, ns, host in ((pi_link, r, self.pi), (vps_link, i, self.vps)):
            _ip("link", "set", link, "netns", ns)
            _in(ns, "ip", "addr", "add", f"{host.gateway}/24", "dev", link)
            _in(ns, "ip", "link", "set", link, "up")
            _ip("route", "add", host.subnet, "via", f"{up}.2")
        # the internet reaches the home LAN only through the router (the harness aside)
        _in(i, "ip", "route", "add", self.pi.subnet, "via", f"{wan}.2")
        for ns in (r, i):
            _in(ns, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        _in(i, "nft", "-f", "-", input=(
            "table ip lab {\n  chain post { type nat hook postrouting priority 100;\n"
            '    oifname "uplink" masquerade\n  }\n}\n'))
        _in(r, "nft", "-f", "-", input=f"""
table inet filter {{
  chain forward {{ type filter hook forward priority 0; policy drop;
    ct state established,related accept
    iifname "{pi_link}" oifname "wan" accept
    ip saddr {up}.1 oifname "{pi_link}" accept
    jump miniupnpd;
  }}
  chain miniupnpd {{ }}
  chain prerouting {{ type nat hook prerouting priority -100; policy accept;
    jump prerouting_miniupnpd;
  }}
  chain postrouting {{ type nat hook postrouting priority 100; policy accept;
    jump postrouting_miniupnpd
    oifname "wan" masquerade;
  }}
  chain prerouting_miniupnpd {{ }}
  chain postrouting_miniupnpd {{ }}
}}
""")
        if self.upnp:
            self.start_upnp()
        for host in (self.pi, self.vps):
            _wait_reachable(host)
            _still_resolves(host)

    def start_upnp(self) -> None:
        """The router starts offering UPnP-IGD and NAT-PMP on its LAN side (miniupnpd)."""
        lan = f"ve-{self.pi.machine}"
        folder = Path(self.names["state"]).with_suffix(".d")
        folder.mkdir(exist_ok=True)
        self.folder = folder
        conf = folder / "miniupnpd.conf"
        conf.write_text("\n".join([
            "ext_ifname=wan", f"listening_ip={lan}", "http_port=0", "enable_upnp=yes",
            "enable_natpmp=yes", "secure_mode=yes", "system_uptime=yes",
            f"uuid={uuid.uuid4()}", f"lease_file={folder / 'leases'}",
            "upnp_table_name=filter", "upnp_nat_table_name=filter",
            "upnp_forward_chain=miniupnpd", "upnp_nat_chain=prerouting_miniupnpd",
            "upnp_nat_postrouting_chain=postrouting_miniupnpd",
            f"allow 1-65535 {self.pi.subnet} 1-65535", "deny 0-65535 0.0.0.0/0 0-65535", "",
        ]))
        log = open(folder / "miniupnpd.log", "wb")  # noqa: SIM115 (handed to the child)
        try:
            self._miniupnpd = subprocess.Popen(
                ["ip", "netns", "exec", self.names["router"], MINIUPNPD, "-d", "-f", str(conf),
                 "-P", str(folder / "miniupnpd.pid")],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True)
        finally:
            log.close()
        Path(self.names["state"]).write_text(json.dumps({"miniupnpd": self._miniupnpd.pid}))
        for _ in range(100):
            if _in(self.names["router"], "ss", "-Hlun", "sport", "=", "1900").stdout.strip():
                return
            if self._miniupnpd.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError(f"miniupnpd did not start:\n{self.miniupnpd_log()}")

    def miniupnpd_log(self) -> str:
        if self.folder is None:
            return ""
        with contextlib.suppress(OSError):
            return (self.folder / "miniupnpd.log").read_text(errors="replace")[-3000:]
        return ""

    def close(self) -> None:
        if self._slot is None:
            return
        if self._miniupnpd is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._miniupnpd.pid, signal.SIGTERM)
            try:
                self._miniupnpd.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(self._miniupnpd.pid, signal.SIGKILL)
                self._miniupnpd.wait()
            self._miniupnpd = None
        # give the hosts their links back, as testhost set them up
        for host, ns in ((self.pi, self.names["router"]), (self.vps, self.names["inet"])):
            link = f"ve-{host.machine}"
            if _in(ns, "ip", "link", "show", link, check=False).returncode == 0:
                _in(ns, "ip", "link", "set", link, "netns", "1", check=False)
                _ip("addr", "replace", f"{host.gateway}/24", "dev", link, check=False)
                _ip("link", "set", link, "up", check=False)
                _route_back(host)
        cleanup_lab(self.n)
        if self.folder is not None:
            subprocess.run(["rm", "-rf", str(self.folder)], check=False)
        self._slot.release()
        self._slot = None

    # -- use -----------------------------------------------------------------------------
    def client(self, argv: list[str], *, input: str | None = None,
               timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
        """Run a command in the client namespace, outside (stdin: `input`)."""
        return subprocess.run(["ip", "netns", "exec", self.names["client"], *argv],
                              input=input, capture_output=True, text=True, timeout=timeout)

    def router(self, *argv: str) -> subprocess.CompletedProcess[str]:
        """Run a command in the router namespace (nft list ruleset...)."""
        return _in(self.names["router"], *argv, check=False)

    def state(self) -> dict[str, Any]:
        return {"wan": self.wan, "harness": self.harness, "names": self.names}
