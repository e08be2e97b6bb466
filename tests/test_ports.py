"""The port check before a deploy: reading `ss` (output captured from a booted Debian test host),
deciding what is this service's own, the one-sentence refusal, the port options, the dry run,
and one real read of this machine's own sockets.

The end-to-end proof over SSH (a held port refuses a deploy, nothing installed; the option
moves it; a redeploy passes) is tests/test_service_ports.py.
"""

from __future__ import annotations

import re
import socket
from pathlib import Path

import pytest

from roost.core.errors import RoostError
from roost.deploy import ports
from roost.deploy.dryrun import plan_lines
from roost.deploy.local import LocalTransport
from roost.deploy.recipe import Port, Recipe
from roost.deploy.recipes.matrix_synapse import build_matrix_synapse
from roost.deploy.recipes.minidlna import build_minidlna
from roost.deploy.recipes.ssb_pub import build_ssb_pub
from roost.deploy.recipes.static_blog import build_static_blog
from roost.deploy.steps import EnsureDir, RenderTemplate
from roost.keys.model import IdentityInfo

# `ss -Hltnup` and the cgroup lines LISTENERS prints, on a freshly booted bookworm test host
# (Debian 12, iproute2 6.1.0, systemd 252 in systemd-nspawn)...
BARE = """\
udp UNCONN 0      0         127.0.0.54:53   0.0.0.0:* users:(("systemd-resolve",pid=31,fd=20))
udp UNCONN 0      0      127.0.0.53%lo:53   0.0.0.0:* users:(("systemd-resolve",pid=31,fd=18))
udp UNCONN 0      0            0.0.0.0:5355 0.0.0.0:* users:(("systemd-resolve",pid=31,fd=11))
udp UNCONN 0      0               [::]:5355    [::]:* users:(("systemd-resolve",pid=31,fd=13))
tcp LISTEN 0      4096         0.0.0.0:5355 0.0.0.0:* users:(("systemd-resolve",pid=31,fd=12))
tcp LISTEN 0      128          0.0.0.0:22   0.0.0.0:* users:(("sshd",pid=37,fd=3))            
tcp LISTEN 0      4096   127.0.0.53%lo:53   0.0.0.0:* users:(("systemd-resolve",pid=31,fd=19))
tcp LISTEN 0      4096      127.0.0.54:53   0.0.0.0:* users:(("systemd-resolve",pid=31,fd=21))
tcp LISTEN 0      4096            [::]:5355    [::]:* users:(("systemd-resolve",pid=31,fd=14))
tcp LISTEN 0      128             [::]:22      [::]:* users:(("sshd",pid=37,fd=4))            
--roost-cgroups--
31 /system.slice/systemd-resolved.service
31 /system.slice/systemd-resolved.service
37 /system.slice/ssh.service
37 /system.slice/ssh.service
"""  # noqa: W291 (ss pads its lines)

# ...and after `apt-get install nginx prosody minidlna` with a python3 listener started over
# SSH on 8008/tcp and 1900/udp (MiniDLNA then could not start: it is missing on purpose).
BUSY = """\
udp UNCONN 0      0         127.0.0.54:53   0.0.0.0:* users:(("systemd-resolve",pid=31,fd=20))
udp UNCONN 0      0            0.0.0.0:1900 0.0.0.0:* users:(("python3",pid=69,fd=4))
udp UNCONN 0      0            0.0.0.0:5355 0.0.0.0:* users:(("systemd-resolve",pid=31,fd=11))
tcp LISTEN 0      128          0.0.0.0:8008 0.0.0.0:* users:(("python3",pid=69,fd=3))
tcp LISTEN 0      128          0.0.0.0:5269 0.0.0.0:* users:(("lua5.4",pid=2369,fd=9))
tcp LISTEN 0      128          0.0.0.0:5222 0.0.0.0:* users:(("lua5.4",pid=2369,fd=11))
tcp LISTEN 0      511          0.0.0.0:80   0.0.0.0:* users:(("nginx",pid=2151,fd=5),("nginx",pid=2150,fd=5),("nginx",pid=2149,fd=5))
tcp LISTEN 0      128          0.0.0.0:22   0.0.0.0:* users:(("sshd",pid=37,fd=3))
tcp LISTEN 0      4096   127.0.0.53%lo:53   0.0.0.0:* users:(("systemd-resolve",pid=31,fd=19))
tcp LISTEN 0      128             [::]:5222    [::]:* users:(("lua5.4",pid=2369,fd=12))
tcp LISTEN 0      511             [::]:80      [::]:* users:(("nginx",pid=2151,fd=6),("nginx",pid=2150,fd=6),("nginx",pid=2149,fd=6))
--roost-cgroups--
2149 /system.slice/nginx.service
2149 /system.slice/nginx.service
2150 /system.slice/nginx.service
2151 /system.slice/nginx.service
2369 /system.slice/prosody.service
2369 /system.slice/prosody.service
31 /system.slice/systemd-resolved.service
37 /system.slice/ssh.service
69 /system.slice/ssh.service
69 /system.slice/ssh.service
"""  # noqa: E501

MATRIX = {"matrix": IdentityInfo("matrix", "matrix",
                                 {"server_name": "matrix.roost.test", "key_version": "a_x1"},
                                 "2026-11-25T12:00:00+00:00")}
SSB_KEY = "A" * 43 + "=.ed25519"


def synapse(**options: str) -> Recipe:
    return build_matrix_synapse(None, options, MATRIX)


# --- reading ss ----------------------------------------------------------------------------

def test_real_ss_output_is_read_socket_by_socket() -> None:
    found = ports.parse_listeners(BARE)
    assert len(found.sockets) == 10
    first = found.sockets[0]
    assert (first.protocol, first.address, first.port, first.processes) == (
        "udp", "127.0.0.54", 53, (("systemd-resolve", 31),))
    assert found.sockets[1].address == "127.0.0.53"  # the %lo interface is not the address
    assert found.sockets[-1].address == "[::]" and found.sockets[-1].port == 22
    assert found.units == {31: "systemd-resolved.service", 37: "ssh.service"}
    assert found.taken("tcp") == {5355, 22, 53} and found.taken("udp") == {53, 5355}


def test_every_process_holding_a_socket_is_kept() -> None:
    found = ports.parse_listeners(BUSY)
    web = found.on(Port(80))
    assert [s.address for s in web] == ["0.0.0.0", "[::]"]
    assert web[0].processes == (("nginx", 2151), ("nginx", 2150), ("nginx", 2149))
    assert found.unit_of(2150) == "nginx.service" and found.unit_of(69) == "ssh.service"
    assert [s.port for s in found.on(Port(1900, "udp"))] == [1900]
    assert found.on(Port(1900)) == ()  # 1900/tcp is free: the protocols are apart


def test_lines_that_are_not_sockets_and_unknown_owners() -> None:
    text = ("Netid State Recv-Q Send-Q Local Peer\n"
            "tcp LISTEN 0 128 *:8080 *:*\n"  # no process named: another user's, without sudo
            "u_str LISTEN 0 5 /run/x.sock 1 * 0\n"
            "tcp LISTEN 0 5 garbage\n"
            '--roost-cgroups--\n12 /user.slice/user-1000.slice/session-3.scope\n9 /\nx y\n')
    found = ports.parse_listeners(text)
    assert [(s.port, s.address, s.processes) for s in found.sockets] == [(8080, "*", ())]
    assert found.units == {12: "session-3.scope"}
    assert ports.parse_listeners("--roost-cgroups--\n7 /system.slice/a.service\n").units == {
        7: "a.service"}


def test_the_unit_is_the_deepest_service_or_scope() -> None:
    assert ports.unit_of_cgroup("/system.slice/nginx.service") == "nginx.service"
    assert ports.unit_of_cgroup(
        "/user.slice/user-1000.slice/user@1000.service/app.slice/x.service") == "x.service"
    assert ports.unit_of_cgroup("/system.slice/system-postgresql.slice/"
                                "postgresql@15-main.service") == "postgresql@15-main.service"
    assert ports.unit_of_cgroup("/") == "" and ports.unit_of_cgroup("/init.scope") == "init.scope"
    assert ports.unit_matches("postgresql@15-main.service", ("postgresql",))
    assert ports.unit_matches("nginx.service", ("nginx",))
    assert not ports.unit_matches("nginx-debug.service", ("nginx",))


# --- deciding ------------------------------------------------------------------------------

def test_a_port_its_own_service_holds_passes() -> None:
    found = ports.parse_listeners(BUSY)
    blog = build_static_blog(None, {}, {})
    assert [str(p) for p in blog.ports] == ["80/tcp"]
    assert ports.conflicts(blog, found) == []  # nginx holds 80: the blog is a site in it
    prosody = Recipe("prosody", "prosody", "the XMPP server", (EnsureDir("/x"),),
                     ports=(Port(5222, units=("prosody",), option=None),))
    assert ports.conflicts(prosody, found) == []


def test_a_port_another_program_holds_is_refused_in_one_sentence() -> None:
    found = ports.parse_listeners(BUSY)
    recipe = synapse()
    [c] = ports.conflicts(recipe, found)
    err = ports.refusal(recipe, [c], found, {})
    assert err.line() == ("port 8008 is already used by python3 (pid 69); deploy the Matrix "
                          "server matrix.roost.test on another port with --option port=8009.")
    assert "\n" not in err.line() and err.hint is None


def test_the_holder_is_named_by_the_roost_service_the_progress_knows() -> None:
    found = ports.parse_listeners(BUSY)
    recipe = synapse()
    err = ports.refusal(recipe, ports.conflicts(recipe, found), found, {"8008/tcp": "ssb-pub"})
    assert err.message.startswith("port 8008 is already used by python3 (ssb-pub); deploy")


def test_a_service_holder_is_named_by_its_unit() -> None:
    found = ports.parse_listeners(BUSY)
    pub = build_ssb_pub(None, {"port": "5222"}, {"ssb": IdentityInfo(
        "ssb", "ssb", {"ssb_id": f"@{SSB_KEY}", "public": SSB_KEY}, "2026-11-25T12:00:00+00:00")})
    err = ports.refusal(pub, ports.conflicts(pub, found), found, {})
    assert err.message == ("port 5222 is already used by lua5.4 (prosody.service); deploy your "
                           "Scuttlebutt pub on another port with --option port=5223")


def test_a_port_the_protocol_fixes_says_stop_it_or_use_another_host() -> None:
    found = ports.parse_listeners(BUSY)
    dlna = build_minidlna(None, {}, {})
    [c] = ports.conflicts(dlna, found)
    assert str(c.port) == "1900/udp"
    assert ports.refusal(dlna, [c], found, {}).message == (
        "UDP port 1900 is already used by python3 (pid 69); MiniDLNA media sharing needs UDP "
        "port 1900 itself: stop what uses it or deploy to another host with --host NAME")
    both = build_minidlna(None, {"port": "8008"}, {})
    assert ports.refusal(both, ports.conflicts(both, found), found, {}).message == (
        "port 8008 is already used by python3 (pid 69) and UDP port 1900 by python3 (pid 69); "
        "MiniDLNA media sharing needs UDP port 1900 itself: stop what uses it or deploy to "
        "another host with --host NAME, and move the other port with --option port=8009")


def test_the_suggested_port_is_free_and_not_one_the_recipe_uses() -> None:
    found = ports.parse_listeners(BUSY)
    apache = ports.parse_listeners(
        'tcp LISTEN 0 511 0.0.0.0:80 0.0.0.0:* users:(("apache2",pid=5,fd=4))\n'
        'tcp LISTEN 0 511 0.0.0.0:8080 0.0.0.0:* users:(("java",pid=6,fd=4))\n'
        "--roost-cgroups--\n5 /system.slice/apache2.service\n6 /system.slice/tomcat.service\n")
    blog = build_static_blog(None, {}, {})
    assert ports.refusal(blog, ports.conflicts(blog, apache), apache, {}).message == (
        "port 80 is already used by apache2 (apache2.service); deploy your static blog on "
        "another port with --option port=8081")
    two = Recipe("two", "two", "two", (EnsureDir("/x"),),
                 ports=(Port(8008, option="a"), Port(8009, option="b")))
    taken = ports.parse_listeners(
        'tcp LISTEN 0 5 0.0.0.0:8008 0.0.0.0:* users:(("x",pid=1,fd=3))\n'
        'tcp LISTEN 0 5 0.0.0.0:8009 0.0.0.0:* users:(("y",pid=2,fd=3))\n')
    assert ports.refusal(two, ports.conflicts(two, taken), taken, {}).message == (
        "port 8008 is already used by x (pid 1) and port 8009 by y (pid 2); deploy two on "
        "other ports with --option a=8010 --option b=8011")
    assert found.taken("tcp") >= {80, 8008}


# --- declarations and options --------------------------------------------------------------

def test_the_port_option_moves_the_declared_port_and_the_config() -> None:
    dlna = build_minidlna(None, {"port": "8300"}, {})
    assert [str(p) for p in dlna.ports] == ["8300/tcp", "1900/udp"]
    conf = next(s for s in dlna.steps if isinstance(s, RenderTemplate))
    assert conf.values["port"] == "8300"
    assert [str(p) for p in synapse(port="8448").ports] == ["8448/tcp"]
    moved = synapse(port="8448", address="10.0.0.5")
    assert moved.health is not None and moved.health.site is not None
    assert moved.health.site.url().startswith("http://10.0.0.5:8448/")
    text = "\n".join(plan_lines(moved))
    assert "http://127.0.0.1:8448" in text and "8008" not in text


@pytest.mark.parametrize("value", ["0", "65536", "http", "-1", "80.5", ""])
def test_port_options_take_1_to_65535_only(value: str) -> None:
    for build in (lambda: synapse(port=value), lambda: build_minidlna(None, {"port": value}, {}),
                  lambda: build_static_blog(None, {"port": value}, {})):
        with pytest.raises(RoostError, match=r"is not a port number\. Use 1 to 65535"):
            build()


def test_a_port_is_a_number_and_a_protocol_and_a_recipe_uses_each_once() -> None:
    with pytest.raises(RoostError, match="not a port number"):
        Port(70000)
    with pytest.raises(RoostError, match="not a protocol"):
        Port(80, "sctp")
    with pytest.raises(RoostError, match="not a systemd unit name"):
        Port(80, units=("x; rm -rf /",))
    assert [str(p) for p in build_minidlna(None, {"port": "1900"}, {}).ports] == [
        "1900/tcp", "1900/udp"]  # the same number, two protocols: no clash
    with pytest.raises(RoostError, match="would use one port twice"):
        Recipe("x", "x", "x", (EnsureDir("/x"),), ports=(Port(80), Port(80, option="listen")))


def test_the_dry_run_says_which_ports_it_checks() -> None:
    lines = plan_lines(build_static_blog(None, {"port": "8081"}, {}), "pi")
    assert lines[2] == "before step 1: check that port 8081 free, or already used by nginx"
    assert lines[3] == f"  {ports.COMMAND_SHOWN}"
    assert not any("before step 1" in line
                   for line in plan_lines(Recipe("x", "x", "x", (EnsureDir("/x"),))))


# --- a real read of this machine's sockets -------------------------------------------------

def test_check_reads_the_real_sockets_of_this_machine(tmp_path: Path) -> None:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        number = held.getsockname()[1]
        recipe = Recipe("demo", "demo", "the demo", (EnsureDir(str(tmp_path / "d")),),
                        sudo=False, ports=(Port(number),))
        with pytest.raises(RoostError) as err:
            ports.check(recipe, LocalTransport())
        pattern = (rf"port {number} is already used by python[0-9.]* "
                   r"\((pid \d+|.+\.service)\); deploy the demo on another port with "
                   r"--option port=\d+\.")
        assert re.fullmatch(pattern, err.value.line()), err.value.line()
    assert ports.check(recipe, LocalTransport()) is not None  # closed: free again
    assert ports.check(Recipe("none", "none", "none", (EnsureDir("/x"),)),
                       LocalTransport()) is None  # binds nothing: nothing is run
