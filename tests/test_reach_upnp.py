"""The home router forwards a service's ports (UPnP-IGD), proven with real parts.

The container test puts the Pi test host behind a NAT router (tests/support/netlab.py: network
namespaces, Debian's miniupnpd as the router), with the VPS test host and a client outside on
an "internet". Everything a person does goes through the `roost` command: the keys, the hosts,
the two Prosody deploys, `roost reach --upnp`, the undeploy. The proof is what people outside
see: a real XMPP client (slixmpp) in the client namespace logs in through the router's WAN
address, and a second Prosody (on the VPS) delivers a message to the Pi's over
server-to-server (5269). On the same deploy, plain mode and the full-screen app stop and make
the forwarding again (the question first: no changes nothing), the app says the steps by hand
when the router offers no UPnP, and `roost check` says how the Pi's Prosody is reached, from
the router's own listing. The parsing and the words are checked on their own below.
"""

from __future__ import annotations

import json
import re
import secrets as rnd
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from roost.deploy import upnp
from roost.deploy.recipe import Port

if TYPE_CHECKING:
    from support.netlab import NetLab
    from test_deploy_with_login import Roost
    from testhost import TestHost

pytest_plugins = ["testhost"]

PI_DOMAIN = "chat.roost.test"
VPS_DOMAIN = "vps.roost.test"
PROBE = Path(__file__).parent / "support" / "xmpp_probe.py"

# What miniupnpc 2.2.4 (Debian bookworm) prints, as seen against miniupnpd in the lab.
STATUS = """upnpc : miniupnpc library test client, version 2.2.4.
 (c) 2005-2022 Thomas Bernard.
List of UPNP devices found on the network :
 desc: http://10.231.3.1:40313/rootDesc.xml
 st: urn:schemas-upnp-org:device:InternetGatewayDevice:1

Found valid IGD : http://10.231.3.1:40313/ctl/IPConn
Local LAN ip address : 10.231.3.2
Connection Type : IP_Routed
Status : Connected, uptime=12s, LastConnectionError : ERROR_NONE
  Time started : Sun Dec  6 06:20:11 2026
MaxBitRateDown : 1000000000 bps (1000.0 Mbps)   MaxBitRateUp 1000000000 bps (1000.0 Mbps)
ExternalIPAddress = 11.231.7.2
"""
LISTING = """ i protocol exPort->inAddr:inPort description remoteHost leaseTime
 0 TCP  5222->10.231.3.2:5222  'roost prosody' '' 0
 1 TCP  5269->10.231.3.9:5269  'someone else's' '' 3600
GetGenericPortMappingEntry() returned 713 (SpecifiedArrayIndexInvalid)
"""


def test_status_and_listing_are_read() -> None:
    assert upnp.parse_status(STATUS) == upnp.Gateway("11.231.7.2", "10.231.3.2",
                                                     "http://10.231.3.1:40313/rootDesc.xml")
    assert upnp.parse_status("No IGD UPnP Device found on the network !\n") is None
    assert upnp.parse_status(STATUS.replace("11.231.7.2", "0.0.0.0")) is None
    assert upnp.parse_list(LISTING) == (
        upnp.Mapping("TCP", 5222, "10.231.3.2", 5222, "roost prosody"),
        upnp.Mapping("TCP", 5269, "10.231.3.9", 5269, "someone else's"),
    )


def test_by_hand_words_name_each_port_the_address_and_the_check() -> None:
    lines = upnp.by_hand_lines("prosody", "10.231.3.2", (Port(5222), Port(5269)),
                               "`roost reach prosody --host pi --from VPS`")
    text = "\n".join(lines)
    assert "roost opened nothing" in lines[0]
    assert "outside port 5222, protocol TCP, to the address 10.231.3.2 port 5222" in text
    assert "outside port 5269, protocol TCP, to the address 10.231.3.2 port 5269" in text
    assert "roost reach prosody --host pi" in lines[-1]


def test_plain_mode_offers_the_router_forwarding_and_stopping_it(home: Path) -> None:
    """The step of a service others reach, for each host that runs it (the real router is
    below)."""
    from support.clock import TEST_CLOCK
    from test_plan_reach import ANSWERS, FACTS

    from roost.plan.workspace import Workspace

    ws = Workspace.open(home, facts=FACTS, clock=TEST_CLOCK)
    ws.save_answers(ANSWERS)
    ws.deployed("prosody", "pi", "0.12.3", ports=("5222/tcp", "5269/tcp"))
    menu = _plain(home, "0")
    _choice(menu, "Have your router forward the ports (UPnP) (it runs on pi)")
    assert "Stop the router forwarding" not in menu
    ws.record_reach("prosody", "pi", "upnp", address="192.0.2.1")
    menu = _plain(home, "0")
    _choice(menu, "Stop the router forwarding (it runs on pi)")
    assert "Have your router forward" not in menu


# -- the real thing ----------------------------------------------------------------------------

def _add_host(roost: Roost, name: str, host: TestHost) -> None:
    target = f"root@{host.address}:{host.ssh_port}"
    first = roost("host", "add", name, target, "--key", str(host.key_path), expect=2)
    fingerprint = re.search(r"SHA256:[A-Za-z0-9+/]{43}", first.stderr)
    assert fingerprint, first.stderr
    roost("host", "add", name, target, "--key", str(host.key_path),
          "--trust", fingerprint.group(0))


def _probe(lab: NetLab, accounts: list[dict[str, str]], send: str | None = None,
           timeout: float = 30) -> dict[str, object]:
    """A real XMPP client, run in the client namespace outside; passwords on stdin."""
    spec: dict[str, object] = {"accounts": accounts, "timeout": timeout}
    if send is not None:
        spec["send"] = send
    res = lab.client([sys.executable, str(PROBE)], input=json.dumps(spec),
                     timeout=timeout * 3 + 30)
    lines = res.stdout.strip().splitlines()
    assert lines, res.stderr[-2000:]
    out: dict[str, object] = json.loads(lines[-1])
    return out


def _plain(home: Path, *answers: str) -> str:
    """Plain mode on the step of Prosody, these answers typed."""
    import io

    from support.clock import TEST_CLOCK
    from test_plan_reach import FACTS

    from roost.cli.plain import Plain
    from roost.plan.workspace import Workspace

    out = io.StringIO()
    Plain(Workspace.open(home, facts=FACTS, clock=TEST_CLOCK), out,
          io.StringIO("".join(a + "\n" for a in answers)), False).step("prosody")
    return out.getvalue()


def _choice(menu: str, text: str) -> str:
    """The number plain mode shows for a choice (the last menu shown)."""
    found = re.findall(rf"^  (\d+)\. {re.escape(text)}$", menu, re.M)
    assert found, menu[-3000:]
    return str(found[-1])


def _in_the_app(home: Path, drive: Any) -> None:
    """Run `drive(pilot, app)` in the full-screen app over this data folder, at 80x24."""
    from support.clock import TEST_CLOCK
    from test_plan_reach import FACTS
    from test_tui import sync

    from roost.tui.app import RoostApp

    @sync
    async def run() -> None:
        app = RoostApp(screen_reader=True, home=home, facts=FACTS, clock=TEST_CLOCK)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            await drive(pilot, app)

    run()


def _roost_mappings(pi: TestHost, router: str = "") -> list[str]:
    """roost's forwardings the router lists (asked at `router`, its description's address,
    when known: no two-second discovery)."""
    listing = pi.ssh(f"upnpc {'-u ' + router if router else ''} -l", check=False).stdout
    return [m for m in listing.splitlines() if "'roost prosody'" in m]


@pytest.mark.slow
@pytest.mark.container
@pytest.mark.timeout(2400)
def test_the_router_forwards_prosody_and_people_outside_reach_it(
    pi_host: TestHost, vps_host: TestHost, tmp_path: Path,
) -> None:
    from support.netlab import NetLab
    from test_deploy_with_login import PASS, Roost
    from testhost import record_time

    from roost.keys import Vault
    from roost.keys.vault import FAST_LIMITS_FOR_TESTS
    from roost.plan.progress import ProgressStore
    from roost.plan.workspace import PROGRESS_FILE

    roost = Roost(tmp_path)
    Vault.create(roost.home, PASS, limits=FAST_LIMITS_FOR_TESTS)
    for name, jid in (("alice", f"alice@{PI_DOMAIN}"), ("bob", f"bob@{PI_DOMAIN}"),
                      ("carol", f"carol@{VPS_DOMAIN}")):
        roost("keys", "create", "xmpp", "--name", name, "--jid", jid)
    vault = Vault.open(roost.home, PASS)
    password = {n: str(vault.get(n).secret["password"]) for n in ("alice", "bob", "carol")}
    pi_opts = ["--option", "accounts=alice,bob"]

    with NetLab(pi_host, vps_host, upnp=False) as lab:
        _add_host(roost, "pi", pi_host)
        _add_host(roost, "vps", vps_host)
        # The names the tests control: each server finds the other where people would.
        vps_host.ssh(f"echo '{lab.wan} {PI_DOMAIN}' >> /etc/hosts")
        pi_host.ssh(f"echo '{vps_host.address} {VPS_DOMAIN}' >> /etc/hosts")
        start = time.monotonic()
        roost("deploy", "prosody", "--host", "pi", *pi_opts, timeout=900)
        roost("deploy", "prosody", "--host", "vps", "--option", "accounts=carol", timeout=900)
        record_time("reach_upnp_two_prosody_deploys", time.monotonic() - start)
        certs = {}
        for host, domain in ((pi_host, PI_DOMAIN), (vps_host, VPS_DOMAIN)):
            certs[domain] = tmp_path / f"{domain}.crt"
            certs[domain].write_text(host.ssh(f"cat /etc/prosody/certs/{domain}.crt").stdout)
        # Each server trusts the other's certificate (what Let's Encrypt gives outside), and
        # finds the other by /etc/hosts (Prosody's libunbound reads it only when told).
        for host, other in ((pi_host, VPS_DOMAIN), (vps_host, PI_DOMAIN)):
            host.ssh(f"cat > /usr/local/share/ca-certificates/{other}.crt && "
                     "update-ca-certificates >/dev/null", input=certs[other].read_bytes())
            host.ssh("printf '%s\\n' 'VirtualHost \"*\"' "
                     "'unbound = { hoststxt = \"/etc/hosts\" }' "
                     "> /etc/prosody/conf.d/zz-test-names.cfg.lua && systemctl restart prosody")

        def account(name: str, domain: str, address: str) -> dict[str, str]:
            return {"jid": f"{name}@{domain}", "password": password[name],
                    "address": address, "cafile": str(certs[domain])}

        bob_outside = account("bob", PI_DOMAIN, lab.wan)

        # 1. The router offers no UPnP: the steps by hand, exit 1, nothing opened.
        start = time.monotonic()
        none = roost("reach", "prosody", "--host", "pi", "--upnp", *pi_opts, expect=1)
        record_time("reach_upnp_no_router", time.monotonic() - start)
        said = none.stdout
        assert "roost opened nothing" in said, said
        for port in (5222, 5269):
            assert (f"outside port {port}, protocol TCP, to the address {pi_host.address} "
                    f"port {port}") in said, said
        assert "roost reach prosody --host pi" in said

        async def no_upnp(pilot: Any, app: Any) -> None:  # the app says the same
            from test_tui import check_cursor, press, settle

            from roost.tui.screens import open_screen

            open_screen(app, "reach-upnp", "prosody")
            await settle(pilot, app)
            assert "Forward the ports to pi, action" in check_cursor(app)
            await press(pilot, app, "enter")
            await settle(pilot, app)  # no question: the router offers nothing to agree to
            assert "so roost opened nothing" in check_cursor(app)
            lines = "\n".join(app.screen.lines)
            for port in (5222, 5269):
                assert (f"outside port {port}, protocol TCP, to the address "
                        f"{pi_host.address} port {port}") in lines, lines

        start = time.monotonic()
        _in_the_app(roost.home, no_upnp)
        added = time.monotonic() - start
        assert _probe(lab, [bob_outside], timeout=8)["ok"] is False

        # 2. The router offers UPnP. An earlier run was interrupted after its first mapping
        # (made here as roost makes it): the rerun finishes, nothing twice.
        lab.start_upnp()
        pi_host.ssh(f"upnpc -e 'roost prosody' -a {pi_host.address} 5222 5222 TCP")
        start = time.monotonic()
        opened = roost("reach", "prosody", "--host", "pi", "--upnp", *pi_opts)
        record_time("reach_upnp_open", time.monotonic() - start)
        assert f"from {lab.wan} to {pi_host.address}" in opened.stdout, opened.stdout
        assert "1 already did" in opened.stdout
        again = roost("reach", "prosody", "--host", "pi", "--upnp", *pi_opts)
        assert "2 already did" in again.stdout
        mapped = _roost_mappings(pi_host)
        assert len(mapped) == 2, mapped
        rules = lab.router("nft", "list", "chain", "inet", "filter",
                           "prerouting_miniupnpd").stdout
        assert "5222" in rules and "5269" in rules, rules
        ways = ProgressStore(roost.home / PROGRESS_FILE).load().ways_in("prosody", "pi")
        assert [(w.detail["way"], w.detail.get("address")) for w in ways] == [
            ("upnp", lab.wan)]
        router = str(ways[0].detail["router"])
        assert re.fullmatch(rf"http://{re.escape(pi_host.gateway)}:\d+/rootDesc\.xml", router)

        # 3. From outside, through the router's WAN address only: alice logs in and bob gets
        # her message; carol on the VPS's Prosody reaches bob over server-to-server (5269).
        text = "through the router " + rnd.token_hex(4)
        got = _probe(lab, [account("alice", PI_DOMAIN, lab.wan), bob_outside], send=text)
        assert got == {"ok": True, "got": f"alice@{PI_DOMAIN}: {text}"}, (
            got, lab.router("nft", "list", "ruleset").stdout, lab.miniupnpd_log())
        text = "from the vps " + rnd.token_hex(4)
        got = _probe(lab, [account("carol", VPS_DOMAIN, vps_host.address), bob_outside],
                     send=text, timeout=60)
        logs = [h.ssh("tail -n 40 /var/log/prosody/prosody.log", check=False).stdout
                for h in (vps_host, pi_host)]
        if not got.get("ok"):
            print("\n\n".join(logs))  # shown with the failure: how far each server got
        assert got == {"ok": True, "got": f"carol@{VPS_DOMAIN}: {text}"}, got

        # 4. Plain mode stops the forwarding, and asks before making it again: no changes
        # nothing. The app asks the same, and yes makes it.
        from test_plan_reach import ANSWERS, FACTS

        from roost.plan.workspace import Workspace

        new_parts = time.monotonic()
        Workspace.open(roost.home, facts=FACTS).save_answers(ANSWERS)
        stop = _choice(_plain(roost.home, "0"), "Stop the router forwarding (it runs on pi)")
        said = _plain(roost.home, stop, "0")
        assert "The router no longer forwards 5222/tcp, 5269/tcp to prosody on pi." in said
        assert _roost_mappings(pi_host, router) == []
        start = time.monotonic()
        said = _plain(roost.home, _choice(said, "Have your router forward the ports (UPnP) "
                                                "(it runs on pi)"), "0", "0")
        record_time("reach_upnp_plain_declined", time.monotonic() - start)
        assert (f"roost will ask your router to forward ports 5222/tcp, 5269/tcp to pi "
                f"({pi_host.address}), so people outside reach it; yes or no?") in said, said
        assert "Nothing was changed on the router." in said
        assert _roost_mappings(pi_host, router) == []

        async def yes_in_the_app(pilot: Any, app: Any) -> None:
            from test_tui import check_cursor, down_to, press, settle

            from roost.tui.screens import open_screen
            from roost.tui.screens.forms import YesNoScreen

            open_screen(app, "detail", "prosody")
            await settle(pilot, app)
            line = await down_to(pilot, app, "action:upnp")
            assert "Have your router forward the ports (UPnP), action, Enter" in line, line
            await press(pilot, app, "enter")
            await settle(pilot, app)
            assert "Forward the ports to pi, action" in check_cursor(app)
            await pilot.press("enter")
            for _ in range(600):  # the question comes once the router has answered
                if isinstance(app.screen, YesNoScreen):
                    break
                await pilot.pause(0.1)
            assert isinstance(app.screen, YesNoScreen)
            assert "to pi (" in app.screen.question and "5269/tcp" in app.screen.question
            await pilot.pause(0.3)
            assert "No, change nothing, answer" in check_cursor(app)
            assert _roost_mappings(pi_host, router) == []  # nothing changed before the yes
            await press(pilot, app, "down")
            assert "Yes, ask the router, answer" in check_cursor(app)
            await press(pilot, app, "enter")
            await settle(pilot, app)
            line = check_cursor(app)
            assert f"The router forwards 5222/tcp, 5269/tcp from {lab.wan}" in line, line

        _in_the_app(roost.home, yes_in_the_app)
        assert len(_roost_mappings(pi_host, router)) == 2
        assert _probe(lab, [bob_outside])["ok"] is True

        # 5. roost check says how it is reached, from the router's own listing (no
        # discovery); a forwarding gone on the router is said as such.
        def check_line() -> str:
            res = subprocess.run([sys.executable, "-m", "roost", "check"], env=roost.env,
                                 capture_output=True, text=True, timeout=120, check=False)
            return next((x for x in res.stdout.splitlines()
                         if x.startswith("chat (prosody) on pi: ")), res.stdout + res.stderr)

        start = time.monotonic()
        line = check_line()
        record_time("reach_upnp_check", time.monotonic() - start)
        assert line.endswith("reachable from outside through the router, which forwards "
                             "5222/tcp, 5269/tcp (UPnP)."), line
        pi_host.ssh(f"upnpc -u {router} -d 5269 TCP")
        gone = check_line()
        assert gone.endswith("not reachable from outside (the router no longer forwards "
                             "5269/tcp)."), gone
        pi_host.ssh(f"upnpc -u {router} -e 'roost prosody' -a {pi_host.address} 5269 5269 "
                    "TCP")
        # What the app, plain mode and check parts add to this test's run.
        record_time("reach_upnp_app_plain_check_parts", added + time.monotonic() - new_parts)

        # 6. Undeploy: the forwarding goes with the service; nobody outside gets in.
        removed = roost("undeploy", "prosody", "--host", "pi", *pi_opts, timeout=300)
        assert "The router no longer forwards 5222/tcp, 5269/tcp" in removed.stdout
        assert _roost_mappings(pi_host, router) == []
        rules = lab.router("nft", "list", "chain", "inet", "filter",
                           "prerouting_miniupnpd").stdout
        assert "5222" not in rules and "5269" not in rules, rules
        assert _probe(lab, [bob_outside], timeout=8)["ok"] is False
        events = ProgressStore(roost.home / PROGRESS_FILE).load().events
        assert [e.kind for e in events if e.kind.startswith("reach")] == [
            "reach", "reach_removed", "reach", "reach_removed"]
