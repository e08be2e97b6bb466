"""Validation of names a user types that may reach a shell, DNS or a config file.

Each function returns the cleaned value or raises RoostError with one line saying what is
accepted. Validation is a first wall; every value is still quoted when it reaches a shell.
"""

from __future__ import annotations

import ipaddress
import re

from roost.core.errors import RoostError

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_USER = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
_EMAIL_LOCAL = re.compile(r"^[A-Za-z0-9.!#$%&*+=?^_`{|}~-]{1,64}$")
"""The local part of an e-mail address: RFC 5322's atext and dots (no quoted forms)."""
_UNIT = re.compile(r"^[A-Za-z0-9@._:\\-]+$")
_MATRIX_LOCAL = re.compile(r"^[a-z0-9._=/+-]{1,255}$")
_MATRIX_ROOM = re.compile(r"^[A-Za-z0-9._~=+/-]{1,255}$")


def _show(value: str) -> str:
    return repr(value[:60])


def hostname(value: str, what: str = "host name") -> str:
    """A DNS name or an IP address."""
    v = value.strip().lower().rstrip(".")
    try:
        return str(ipaddress.ip_address(v.strip("[]")))
    except ValueError:
        pass
    labels = v.split(".")
    if not v or len(v) > 253 or not all(_LABEL.match(lbl) for lbl in labels):
        raise RoostError(
            f"{_show(value)} is not a valid {what}",
            hint="use letters, digits, hyphens and dots, like pi.local or example.org",
        )
    return v


_URL_PATH = re.compile(r"^(/[A-Za-z0-9._~-]+)*/?$")


def base_url(value: str, what: str = "address") -> str:
    """An http(s) address of a server, with an optional port and path (no query, no user):
    `https://mirror.example.org/roost`. Returned without a trailing slash."""
    from urllib.parse import urlsplit

    v = value.strip()
    try:
        u = urlsplit(v)
        port = u.port
    except ValueError:
        u, port = None, None
    if u is None or u.scheme not in ("http", "https") or not u.hostname or u.query \
            or u.fragment or "@" in u.netloc or not _URL_PATH.match(u.path or "/") \
            or any(part in (".", "..") for part in u.path.split("/")):
        raise RoostError(f"{_show(value)} is not a valid {what}",
                         hint="give an address like https://mirror.example.org or "
                              "http://192.168.1.5:8080/releases")
    host = hostname(u.hostname, what)
    host = f"[{host}]" if ":" in host else host
    return f"{u.scheme}://{host}{f':{port}' if port else ''}{u.path.rstrip('/')}"


def domain(value: str) -> str:
    """A public domain name: a host name with at least one dot and a non-numeric top label."""
    v = hostname(value, "domain name")
    labels = v.split(".")
    if len(labels) < 2 or labels[-1].isdigit():
        raise RoostError(
            f"{_show(value)} is not a domain name",
            hint="use a name you own, like example.org",
        )
    return v


def unix_user(value: str, what: str = "user name") -> str:
    """A Unix user or group name (a system account roost makes or logs in as)."""
    return _lower_name(_USER, value, what)


def short_name(value: str, what: str = "name") -> str:
    """A roost-local name (host nickname, identity label)."""
    return _lower_name(_NAME, value, what)


def _lower_name(pattern: re.Pattern[str], value: str, what: str) -> str:
    if not pattern.match(value):
        raise RoostError(
            f"{_show(value)} is not a valid {what}",
            hint="start with a lower-case letter; use lower-case letters, digits, - and _",
        )
    return value


def port(value: str | int) -> int:
    try:
        n = int(value)
    except (TypeError, ValueError):
        n = -1
    if not 1 <= n <= 65535:
        raise RoostError(f"{_show(str(value))} is not a port number", hint="use 1 to 65535")
    return n


def email(value: str, *, public: bool = False,
          hint: str = "write it as name@example.org") -> str:
    """An e-mail address: a dot-atom local part and a host name (with `public`, a domain
    name: at least one dot and a non-numeric top label). The domain comes back lower-case."""
    v = str(value).strip()
    local, at, dom = v.rpartition("@")
    if (not at or not _EMAIL_LOCAL.match(local) or local.startswith(".")
            or local.endswith(".") or ".." in local):
        raise RoostError(f"{_show(v)} is not an e-mail address", hint=hint)
    try:
        host = domain(dom) if public else hostname(dom, "e-mail domain")
    except RoostError:
        raise RoostError(f"{_show(v)} is not an e-mail address", hint=hint) from None
    return f"{local}@{host}"


def matrix_id(value: str, *, room: bool = False) -> str:
    """A Matrix user ID, @name:server[:port] (with `room`, a room ID !opaque:server is taken
    too). The server part comes back lower-case."""
    v = str(value).strip()
    sigil, body = v[:1], v[1:]
    local, _, server = body.partition(":")
    host, _, port_text = server.partition(":")
    ok = (sigil == "@" and bool(_MATRIX_LOCAL.match(local))) or (
        room and sigil == "!" and bool(_MATRIX_ROOM.match(local)))
    hint = ("write it as @name:example.org, or a room ID !abc:example.org" if room else
            "write it as @name:example.org")
    try:
        name = hostname(host, "Matrix server name") if ok and host else ""
        if port_text:
            port(port_text)
    except RoostError:
        name = ""
    if not name:
        raise RoostError(f"{_show(v)} is not a Matrix {'ID' if room else 'user ID'}", hint=hint)
    return f"{sigil}{local}:{name}" + (f":{port_text}" if port_text else "")


def abs_path(value: str, what: str = "path") -> str:
    """An absolute path on a host, without '..', NUL or line breaks."""
    if not value.startswith("/") or "\0" in value or "\n" in value or "/../" in value + "/":
        raise RoostError(f"{value[:80]!r} is not a usable {what}",
                         hint="use an absolute path without '..' or line breaks")
    return value


def unit(value: str) -> str:
    """A systemd unit name (prosody, prosody.service, getty@tty1.service)."""
    if not _UNIT.match(value) or value.startswith("-"):
        raise RoostError(f"{value[:80]!r} is not a systemd unit name",
                         hint="use a name like prosody or prosody.service")
    return value
