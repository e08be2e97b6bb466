#!/usr/bin/python3
"""roost's watcher: is a service on another host still up? Tell the person once when it goes
down, and once when it is back. Python 3's standard library only (it runs on the watcher host,
a VPS or another Pi; roost installs it as /usr/local/lib/roost/roost-watch).

    roost-watch CONFIG          probe, and send an alert when the state changed
    roost-watch --test CONFIG   send one test message now (the state is left alone)
    roost-watch --probe CONFIG  probe once and say "up" or what is wrong (exit 0 or 1)

CONFIG is the watch's JSON file (roost.deploy.watch writes it): what to probe (`probe`: an
XMPP stream, an HTTP GET, or a TCP connection, from this host as any client connects), who
gets the alert (`alert`: the person's JID, the sender's JID and server) and where the state is
kept (`state`). The sender's password is read from systemd's credential `sender` (the unit's
LoadCredential= of a root-only 0600 file) or, when run by root by hand, from that file itself;
never from an argument or the environment.

By e-mail instead (`alert.via` "email"): SMTP with STARTTLS, logged in as `alert.user`.

Over Matrix (`alert.via` "matrix"): the client-server API over HTTPS (TLS verified, never plain
HTTP) at `alert.server`:`alert.port`, logged in as `alert.user` with a password (a new login
each time, logged out after: no access token is kept on disk), an `m.room.message` sent to a
room: the one in `alert.room_file`, made at set-up (`--room`: a direct room the person's
Matrix ID `alert.to` is invited to, or the room ID `alert.to` joined).

    roost-watch --room CONFIG   make (or join) the Matrix room and remember it (run by root)

The state file says whether the service was up at the last run. A change is told once: down
(after one more try `retry_seconds` later, so a restart is not an outage), then back. When the
alert cannot be sent, the state is not written, so the next run tries again.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import os
import secrets
import smtplib
import socket
import ssl
import sys
import time
import urllib.parse
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import TypedDict
from xml.sax.saxutils import escape, quoteattr

TIMEOUT = 10.0
NS_STREAM = "http://etherx.jabber.org/streams"
NS_TLS = "urn:ietf:params:xml:ns:xmpp-tls"
NS_SASL = "urn:ietf:params:xml:ns:xmpp-sasl"
NS_BIND = "urn:ietf:params:xml:ns:xmpp-bind"
NS_SESSION = "urn:ietf:params:xml:ns:xmpp-session"
CREDENTIAL = "sender"


class _Probe(TypedDict):
    kind: str
    """xmpp, http or tcp."""
    address: str
    port: int


class ProbeConfig(_Probe, total=False):
    """What to probe, as roost.deploy.watch.Probe.to_json writes it. (total=False for the
    optional keys, not NotRequired: the watcher host's Python may be 3.10, Ubuntu 22.04's.)"""

    domain: str
    name: str
    path: str
    https: bool
    status: int
    text: str | None
    verify: bool


class _Alert(TypedDict):
    via: str
    to: str
    sender: str
    server: str
    port: int
    ca: str
    secret: str


class AlertConfig(_Alert, total=False):
    """Who is told and how (no secret: `secret` is the path of the root-only file)."""

    user: str
    room_file: str


class Config(TypedDict):
    """The watch's JSON file (roost.deploy.watch.Watch.config)."""

    service: str
    host: str
    watcher: str
    label: str
    probe: ProbeConfig
    retry_seconds: float
    state: str
    alert: AlertConfig


class State(TypedDict, total=False):
    """The state file: up at the last run, since when, and why not."""

    up: bool
    since: str
    problem: str


class Refused(Exception):
    """Why an alert could not be sent, in one line."""


# -- probes: the service as a client sees it ------------------------------------------------

def _stream_header(domain: str) -> bytes:
    return ("<?xml version='1.0'?><stream:stream to=" + quoteattr(domain)
            + " version='1.0' xmlns='jabber:client' "
            f"xmlns:stream='{NS_STREAM}'>").encode()


def probe_xmpp(p: ProbeConfig) -> str | None:
    """An XMPP client stream: the server must answer for the domain and offer STARTTLS."""
    address, port, domain = str(p["address"]), int(p["port"]), str(p["domain"])
    with socket.create_connection((address, port), timeout=TIMEOUT) as sock:
        sock.settimeout(TIMEOUT)
        sock.sendall(_stream_header(domain))
        data = b""
        while b"</stream:features>" not in data and len(data) < 65536:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
    if b"host-unknown" in data:
        return f"the server at {address} does not serve {domain}"
    if b"starttls" not in data:
        return f"the server at {address}:{port} did not greet as an XMPP server"
    return None


def probe_http(p: ProbeConfig) -> str | None:
    """GET the path from the address, with the site's name as Host (and TLS server name)."""
    address, port, name = str(p["address"]), int(p["port"]), str(p["name"])
    path, https = str(p.get("path", "/")), bool(p.get("https"))
    sock = socket.create_connection((address, port), timeout=TIMEOUT)
    if https:
        ctx = ssl.create_default_context()
        if not p.get("verify", True):
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        sock = ctx.wrap_socket(sock, server_hostname=name)
    conn = http.client.HTTPConnection(name, port, timeout=TIMEOUT)
    conn.sock = sock
    try:
        default = port == (443 if https else 80)
        conn.request("GET", path, headers={"Host": name if default else f"{name}:{port}",
                                           "User-Agent": "roost-watch"})
        r = conn.getresponse()
        body = r.read(1 << 20).decode("utf-8", "replace")
    finally:
        conn.close()
    shown = f"{'https' if https else 'http'}://{name}:{port}{path}"
    if r.status != int(p.get("status", 200)):
        return f"{shown} answered {r.status}, not {p.get('status', 200)}"
    text = p.get("text")
    if text and str(text) not in body:
        return f"{shown} answered without the expected text"
    return None


def probe_tcp(p: ProbeConfig) -> str | None:
    with socket.create_connection((str(p["address"]), int(p["port"])), timeout=TIMEOUT):
        return None


PROBES: dict[str, Callable[[ProbeConfig], str | None]] = {
    "xmpp": probe_xmpp, "http": probe_http, "tcp": probe_tcp}


def probe(p: ProbeConfig) -> str | None:
    """None when the service answers, else what is wrong (one line)."""
    try:
        return PROBES[str(p["kind"])](p)
    except (OSError, http.client.HTTPException) as exc:
        return f"{p.get('address')}:{p.get('port')}: {type(exc).__name__}: {exc}"[:300]


# -- sending: a small XMPP client -----------------------------------------------------------

class Stream:
    """One XML stream over a socket: `element()` returns the next top-level element."""

    def __init__(self, sock: socket.socket, domain: str) -> None:
        self.sock, self.domain = sock, domain
        self.parser: ET.XMLPullParser[ET.Element] = ET.XMLPullParser(events=("start", "end"))
        self.depth = 0
        self.send(_stream_header(domain).decode())

    def send(self, text: str) -> None:
        self.sock.sendall(text.encode("utf-8"))

    def element(self) -> ET.Element:
        while True:
            for item in self.parser.read_events():
                event, el = item[0], item[-1]
                if not isinstance(el, ET.Element):
                    continue  # namespace declarations: asked for none
                if event == "start":
                    self.depth += 1
                    continue
                self.depth -= 1
                if self.depth == 1:
                    if el.tag == f"{{{NS_STREAM}}}error":
                        names = [c.tag.rpartition("}")[2] for c in el]
                        raise Refused("the server ended the stream: " + ", ".join(names))
                    return el
                if self.depth == 0:
                    raise Refused("the server closed the stream")
            data = self.sock.recv(65536)
            if not data:
                raise Refused("the server closed the connection")
            self.parser.feed(data)

    def expect(self, *tags: str) -> ET.Element:
        el = self.element()
        if el.tag not in tags:
            raise Refused(f"the server answered {el.tag.rpartition('}')[2]}, not "
                          + " or ".join(t.rpartition("}")[2] for t in tags))
        return el


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _scram(s: Stream, user: str, password: str, name: str, hash_name: str) -> None:
    """SASL SCRAM (RFC 5802), the server's signature checked too."""
    cnonce = secrets.token_urlsafe(24)
    bare = "n=" + user.replace("=", "=3D").replace(",", "=2C") + ",r=" + cnonce
    s.send(f"<auth xmlns='{NS_SASL}' mechanism='{name}'>{_b64(('n,,' + bare).encode())}</auth>")
    el = s.expect(f"{{{NS_SASL}}}challenge", f"{{{NS_SASL}}}failure")
    if el.tag.endswith("failure"):
        raise Refused("the server refused the sender's login")
    first = base64.b64decode(el.text or "").decode()
    fields = {k: v for k, _, v in (kv.partition("=") for kv in first.split(","))}
    if not fields.get("r", "").startswith(cnonce):
        raise Refused("the server's login answer does not match (SCRAM nonce)")
    salted = hashlib.pbkdf2_hmac(hash_name, password.encode(), base64.b64decode(fields["s"]),
                                 int(fields["i"]))

    def mac(key: bytes, msg: str) -> bytes:
        return hmac.new(key, msg.encode(), hash_name).digest()

    client_key = hmac.new(salted, b"Client Key", hash_name).digest()
    stored = hashlib.new(hash_name, client_key).digest()
    final = "c=" + _b64(b"n,,") + ",r=" + fields["r"]
    message = ",".join((bare, first, final))
    proof = bytes(a ^ b for a, b in zip(client_key, mac(stored, message), strict=True))
    s.send(f"<response xmlns='{NS_SASL}'>{_b64((final + ',p=' + _b64(proof)).encode())}"
           "</response>")
    el = s.expect(f"{{{NS_SASL}}}success", f"{{{NS_SASL}}}challenge", f"{{{NS_SASL}}}failure")
    if el.tag.endswith("failure"):
        raise Refused("the server refused the sender's password")
    said = base64.b64decode(el.text or "").decode()
    server_sig = mac(hmac.new(salted, b"Server Key", hash_name).digest(), message)
    if not hmac.compare_digest(said, "v=" + _b64(server_sig)):
        raise Refused("the server did not prove it knows the sender's account (SCRAM)")
    if el.tag.endswith("challenge"):
        s.send(f"<response xmlns='{NS_SASL}'/>")
        s.expect(f"{{{NS_SASL}}}success")


def _login(s: Stream, features: ET.Element, user: str, password: str) -> None:
    offered = {m.text or "" for m in features.iter(f"{{{NS_SASL}}}mechanism")}
    for name, hash_name in (("SCRAM-SHA-256", "sha256"), ("SCRAM-SHA-1", "sha1")):
        if name in offered:
            _scram(s, user, password, name, hash_name)
            return
    if "PLAIN" not in offered:
        raise Refused("the server offers no login roost-watch knows (SCRAM or PLAIN)")
    token = _b64(f"\0{user}\0{password}".encode())
    s.send(f"<auth xmlns='{NS_SASL}' mechanism='PLAIN'>{token}</auth>")
    if s.expect(f"{{{NS_SASL}}}success", f"{{{NS_SASL}}}failure").tag.endswith("failure"):
        raise Refused("the server refused the sender's password")


def _iq(s: Stream, ident: str, body: str, to: str = "", kind: str = "set") -> ET.Element:
    """Send an iq and wait for its answer; an error answers a `set` with a refusal (a `get`
    is only asked to know that the server got this far)."""
    s.send(f"<iq type='{kind}' id='{ident}'" + (f" to={quoteattr(to)}" if to else "")
           + f">{body}</iq>")
    while True:
        el = s.element()
        if el.tag == "{jabber:client}iq" and el.get("id") == ident:
            if el.get("type") == "error" and kind == "set":
                raise Refused(f"the server refused {ident}")
            return el


def send(alert: AlertConfig, password: str, text: str) -> None:
    """Log in as the sender over STARTTLS (never without TLS), send `text` to the person, and
    wait until the server has taken it (a ping answered after it)."""
    user, _, domain = str(alert["sender"]).partition("@")
    server, port = str(alert.get("server") or domain), int(alert.get("port", 5222))
    ca = str(alert.get("ca") or "") or None
    raw = socket.create_connection((server, port), timeout=TIMEOUT)
    raw.settimeout(TIMEOUT)
    try:
        s = Stream(raw, domain)
        features = s.expect(f"{{{NS_STREAM}}}features")
        if features.find(f"{{{NS_TLS}}}starttls") is None:
            raise Refused(f"{server}:{port} offers no TLS; the password is not sent without it")
        s.send(f"<starttls xmlns='{NS_TLS}'/>")
        s.expect(f"{{{NS_TLS}}}proceed")
        sock = ssl.create_default_context(cafile=ca).wrap_socket(raw, server_hostname=domain)
        s = Stream(sock, domain)
        _login(s, s.expect(f"{{{NS_STREAM}}}features"), user, password)
        s = Stream(sock, domain)
        features = s.expect(f"{{{NS_STREAM}}}features")
        _iq(s, "bind", f"<bind xmlns='{NS_BIND}'><resource>roost-watch</resource></bind>")
        session = features.find(f"{{{NS_SESSION}}}session")
        if session is not None and session.find(f"{{{NS_SESSION}}}optional") is None:
            _iq(s, "session", f"<session xmlns='{NS_SESSION}'/>")
        s.send(f"<message to={quoteattr(str(alert['to']))} type='chat' "
               f"id='{secrets.token_hex(8)}'><body>{escape(text)}</body></message>")
        _iq(s, "ping", "<ping xmlns='urn:xmpp:ping'/>", to=domain, kind="get")
        s.send("</stream:stream>")
        sock.close()
    except ssl.SSLError as exc:
        raise Refused(f"TLS with {server}:{port} failed: {exc.reason or exc}") from None
    except OSError as exc:
        raise Refused(f"{server}:{port}: {type(exc).__name__}: {exc}") from None
    finally:
        raw.close()


def send_email(alert: AlertConfig, password: str, text: str, subject: str) -> None:
    """The same message by e-mail: SMTP with STARTTLS (port 465: TLS from the start), logged
    in as the sender; never without TLS."""
    from email.message import EmailMessage
    from email.utils import formatdate, make_msgid

    server, port = str(alert["server"]), int(alert.get("port", 587))
    ctx = ssl.create_default_context(cafile=str(alert.get("ca") or "") or None)
    msg = EmailMessage()
    msg["From"], msg["To"] = str(alert["sender"]), str(alert["to"])
    msg["Subject"] = subject[:150]
    msg["Date"], msg["Message-ID"] = formatdate(usegmt=True), make_msgid("roost-watch")
    msg.set_content(text + "\n")
    try:
        if port == 465:
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(server, port, timeout=TIMEOUT, context=ctx)
        else:
            smtp = smtplib.SMTP(server, port, timeout=TIMEOUT)
            smtp.starttls(context=ctx)
        with smtp:
            smtp.login(str(alert["user"]), password)
            smtp.send_message(msg)
    except smtplib.SMTPNotSupportedError:
        raise Refused(f"{server}:{port} offers no TLS; the password is not sent without "
                      "it") from None
    except smtplib.SMTPAuthenticationError:
        raise Refused(f"{server}:{port} refused the sender's password") from None
    except (smtplib.SMTPException, ssl.SSLError, OSError) as exc:
        raise Refused(f"{server}:{port}: {type(exc).__name__}: {exc}"[:300]) from None


# -- sending over Matrix: the client-server API ----------------------------------------------

class Matrix:
    """One HTTPS connection to the homeserver, logged in as the sender until `close`."""

    def __init__(self, alert: AlertConfig, password: str) -> None:
        sender = str(alert["sender"])
        self.server = str(alert.get("server") or sender.split(":")[1])
        self.port = int(alert.get("port") or 443)
        ctx = ssl.create_default_context(cafile=str(alert.get("ca") or "") or None)
        self.conn = http.client.HTTPSConnection(self.server, self.port, timeout=TIMEOUT,
                                                context=ctx)
        self.token = ""
        said = self.call("POST", "login", {
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": str(alert.get("user") or sender)},
            "password": password, "initial_device_display_name": "roost-watch"}, login=True)
        self.token = str(said.get("access_token", ""))
        if not self.token:
            raise Refused(f"{self.where}: the homeserver's login answer has no access token")

    @property
    def where(self) -> str:
        return f"{self.server}:{self.port}"

    def call(self, method: str, path: str, body: dict[str, object],
             login: bool = False) -> dict[str, object]:
        headers = {"Content-Type": "application/json", "User-Agent": "roost-watch"}
        if self.token:
            headers["Authorization"] = "Bearer " + self.token
        try:
            self.conn.request(method, "/_matrix/client/v3/" + path,
                              body=json.dumps(body).encode("utf-8"), headers=headers)
            r = self.conn.getresponse()
            raw = r.read(1 << 20)
        except ssl.SSLError as exc:
            raise Refused(f"TLS with {self.where} failed: {exc.reason or exc}") from None
        except (OSError, http.client.HTTPException) as exc:
            raise Refused(f"{self.where}: {type(exc).__name__}: {exc}"[:300]) from None
        try:
            data = json.loads(raw.decode("utf-8"))
        except ValueError:
            data = {}
        if not isinstance(data, dict):
            data = {}
        if r.status == 200:
            return data
        if login and r.status == 403:
            raise Refused(f"{self.where} refused the sender's password")
        why = f"{data.get('errcode', '')} {str(data.get('error', ''))[:120]}".strip()
        raise Refused(f"{self.where} answered {r.status} to {path.partition('/')[0]}"
                      + (f" ({why})" if why else ""))

    def room(self, alert: AlertConfig) -> str:
        """The remembered room; else a new one: the room ID `to` joined, or a direct room
        the person is invited to (remembered in `room_file` when this user may write it)."""
        path = Path(str(alert.get("room_file") or ""))
        try:
            known = path.read_text("utf-8").strip() if str(path) != "." else ""
        except OSError:
            known = ""
        if known:
            return known
        to = str(alert["to"])
        if to.startswith("!"):
            self.call("POST", "join/" + urllib.parse.quote(to, safe=""), {})
            room = to
        else:
            made = self.call("POST", "createRoom", {
                "preset": "trusted_private_chat", "is_direct": True, "invite": [to],
                "name": "roost alerts",
                "topic": "roost-watch tells you here when a service goes down"})
            room = str(made.get("room_id", ""))
            if not room.startswith("!"):
                raise Refused(f"{self.where} made no room for the alerts")
        if str(path) != ".":
            try:
                tmp = path.with_name(path.name + ".tmp")
                tmp.write_text(room + "\n", "utf-8")
                tmp.replace(path)
            except OSError as exc:
                print(f"roost-watch: could not remember the room {room} in {path}: {exc}",
                      file=sys.stderr)
        return room

    def say(self, room: str, text: str) -> None:
        self.call("PUT", f"rooms/{urllib.parse.quote(room, safe='')}/send/m.room.message/"
                  f"roost-watch-{secrets.token_hex(8)}", {"msgtype": "m.text", "body": text})

    def close(self) -> None:
        """Log out (the access token ends here), whatever happened before."""
        try:
            if self.token:
                self.call("POST", "logout", {})
        except Refused:
            pass
        finally:
            self.token = ""
            self.conn.close()


def send_matrix(alert: AlertConfig, password: str, text: str | None) -> str:
    """Log in as the sender, send `text` to the alert room (made first when needed; None:
    only make it), log out. Returns the room's ID."""
    m = Matrix(alert, password)
    try:
        room = m.room(alert)
        if text is not None:
            m.say(room, text)
        return room
    finally:
        m.close()


def deliver(alert: AlertConfig, text: str, subject: str) -> None:
    """Send `text` the way the watch says (XMPP, Matrix, or e-mail with `subject`)."""
    secret = password(alert)
    if alert.get("via") == "email":
        send_email(alert, secret, text, subject)
    elif alert.get("via") == "matrix":
        send_matrix(alert, secret, text)
    else:
        send(alert, secret, text)


def password(alert: AlertConfig) -> str:
    """systemd's credential when the unit runs, else the root-only file itself."""
    folder = os.environ.get("CREDENTIALS_DIRECTORY")
    path = Path(folder) / CREDENTIAL if folder else Path(str(alert["secret"]))
    return path.read_text("utf-8").strip("\n")


# -- the state: tell a change once ----------------------------------------------------------

def decide(was_up: bool | None, problem: str | None) -> str | None:
    """"down", "back" or None (nothing to tell) for the previous state and this probe."""
    if problem is not None and was_up is not False:
        return "down"
    if problem is None and was_up is False:
        return "back"
    return None


def words(config: Config, change: str, problem: str | None, state: State,
          now: datetime) -> str:
    what, host = config["label"], config["host"]
    if change == "down":
        return (f"roost: {what} on {host} is down ({problem}). Seen from "
                f"{config['watcher']} at {now:%H:%M} UTC; you hear again when it is back.")
    since = state.get("since", "")
    took = ""
    if since:
        minutes = int((now - datetime.fromisoformat(since)).total_seconds() // 60)
        took = f" after {minutes} minute{'s' if minutes != 1 else ''}"
    return f"roost: {what} on {host} is back{took}. Seen from {config['watcher']}."


def run(config: Config, now: Callable[[], datetime]) -> int:
    state_path = Path(str(config["state"]))
    try:
        state: State = json.loads(state_path.read_text("utf-8"))
    except (OSError, ValueError):
        state = {}
    was_up = state.get("up")
    problem = probe(config["probe"])
    if problem is not None and float(config.get("retry_seconds", 5)) > 0:
        time.sleep(float(config.get("retry_seconds", 5)))
        problem = probe(config["probe"])
    change = decide(was_up if isinstance(was_up, bool) else None, problem)
    at = now()
    if change is not None:
        try:
            deliver(config["alert"], words(config, change, problem, state, at),
                    f"roost: {config['label']} on {config['host']} is {change}")
        except (Refused, OSError) as exc:
            print(f"roost-watch: could not send the alert: {exc}", file=sys.stderr)
            return 1  # the state stays: the next run tells it again
        print(f"roost-watch: told {config['alert']['to']}: {config['label']} is {change}")
    if change is not None or was_up is None:
        state = {"up": problem is None, "since": at.isoformat(), "problem": problem or ""}
        tmp = state_path.with_name(state_path.name + ".tmp")
        tmp.write_text(json.dumps(state) + "\n", "utf-8")
        tmp.replace(state_path)
    return 0


def main(argv: list[str]) -> int:
    mode = argv[0] if argv[:1] in (["--test"], ["--probe"], ["--room"]) else ""
    args = argv[1:] if mode else argv
    if len(args) != 1:
        print("usage: roost-watch [--test | --probe | --room] CONFIG", file=sys.stderr)
        return 2
    config = json.loads(Path(args[0]).read_text("utf-8"))
    if not mode:
        return run(config, lambda: datetime.now(timezone.utc))  # noqa: UP017 (Python 3.10 hosts)
    if mode == "--probe":
        problem = probe(config["probe"])
        print(problem or "up")
        return 0 if problem is None else 1
    if mode == "--room":
        try:
            room = send_matrix(config["alert"], password(config["alert"]), None)
        except (Refused, OSError) as exc:
            print(f"roost-watch: could not make the alert room: {exc}", file=sys.stderr)
            return 1
        print(f"roost-watch: alerts go to the Matrix room {room} ({config['alert']['to']})")
        return 0
    text = (f"roost: a test from {config['watcher']}. When {config['label']} on "
            f"{config['host']} goes down, the alert comes here.")
    try:
        deliver(config["alert"], text, f"roost: a test from {config['watcher']}")
    except (Refused, OSError) as exc:
        print(f"roost-watch: could not send the test message: {exc}", file=sys.stderr)
        return 1
    print(f"roost-watch: sent a test message to {config['alert']['to']}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
