"""Each port, checked with a TCP connection to the address people outside use.

From another host roost knows (`--from vps`): the connection is made THERE, over SSH, by bash's
/dev/tcp under `timeout`; the address and the port reach that host as arguments of `bash -c`
(data, quoted by the transport), never inside the script. From this computer, a connection
proves only that your own network reaches the service: a home router usually lets its own
network in where the internet is kept out, so the check says so.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Sequence

from roost.core.errors import RoostError
from roost.deploy.reachability.model import Check
from roost.deploy.transport import Transport

TIMEOUT = 5
CONNECT = 'exec 3<>"/dev/tcp/$1/$2"'
"""Run by `bash -c CONNECT reach ADDRESS PORT` on the other host: exit 0 when it connected."""
TIMED_OUT = 124  # timeout(1)'s status when the time ran out


def _split(port: str) -> tuple[int, str]:
    number, _, proto = port.partition("/")
    return int(number), (proto or "tcp")


def _fix(address: str, number: int) -> str:
    return (f"Make the service listen on {number} and let it through: forward port {number} "
            f"on your router to this host, or open it in the host's firewall, so "
            f"{address}:{number} answers.")


def _each_tcp(ports: Sequence[str], where: str,
              connect: Callable[[str, int], Check]) -> list[Check]:
    """One check a port, from `where`: `connect(subject, number)` for each TCP port; a port
    of another protocol is told as not checkable."""
    out = []
    for port in ports:
        number, proto = _split(port)
        subject = f"port {number}/{proto} from {where}"
        if proto != "tcp":
            out.append(Check("port", subject, "unknown",
                             f"{proto.upper()} has no connection to check.",
                             "roost checks TCP ports only."))
        else:
            out.append(connect(subject, number))
    return out


def from_host(t: Transport, address: str, ports: Sequence[str],
              timeout: int = TIMEOUT) -> list[Check]:
    """Connect from the host behind `t` to `address` on each TCP port."""
    def connect(subject: str, number: int) -> Check:
        try:
            r = t.run(("timeout", str(timeout), "bash", "-c", CONNECT, "reach", address,
                       str(number)), timeout=timeout + 15)
        except RoostError as exc:
            return Check("port", subject, "unknown", f"{t.name} could not be asked: "
                         f"{exc.message}.", "Check that roost reaches that host.")
        if r.exit_code == 0:
            return Check("port", subject, "ok", f"{address}:{number} answers from {t.name}.")
        if r.exit_code in (126, 127):
            return Check("port", subject, "unknown",
                         f"{t.name} has no bash or timeout to connect with.",
                         "Check from another host with --from.")
        if r.exit_code == TIMED_OUT:
            what = (f"gave no answer within {timeout} s from {t.name} (a firewall or router "
                    "drops it)")
        elif "refused" in r.stderr.lower():
            what = f"refused the connection from {t.name}"
        else:
            why = (r.stderr.strip().splitlines() or [f"exit {r.exit_code}"])[-1]
            why = why.rsplit(":", 1)[-1].strip() or why
            what = f"cannot be reached from {t.name} ({why})"
        return Check("port", subject, "closed", f"{address}:{number} {what}.",
                     _fix(address, number))

    return _each_tcp(ports, t.name, connect)


def from_here(address: str, ports: Sequence[str], timeout: float = TIMEOUT) -> list[Check]:
    """Connect from this computer: proves only that the local network reaches it."""
    def connect(subject: str, number: int) -> Check:
        try:
            with socket.create_connection((address, number), timeout=timeout):
                pass
        except TimeoutError:
            why = f"{address}:{number} gave no answer within {timeout:g} s."
        except OSError as exc:
            why = f"{address}:{number}: {exc.strerror or exc}."
        else:
            return Check("port", subject, "ok",
                         f"{address}:{number} answers from this computer; this proves "
                         "only that your own network reaches it.")
        return Check("port", subject, "closed", why, _fix(address, number))

    return _each_tcp(ports, "this computer", connect)


LOCAL_NOTE = ("The ports were checked from this computer, which proves only that your own "
              "network reaches them. To check from outside, add a host elsewhere (a VPS) "
              "with roost host add, then check from it with roost reach ID --host NAME "
              "--from VPS.")
