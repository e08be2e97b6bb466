"""When a service's TLS certificate expires, as a client of it sees it: connect to the host's
address, ask for the service's name (TLS server name), read the certificate it serves.

The certificate is read, not trusted: a self-signed one has an expiry date too. XMPP serves
its certificate after STARTTLS on the client port, so that port is asked the XMPP way.
"""

from __future__ import annotations

import socket
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime

XMPP_PORT = 5222
HTTPS_PORT = 443
TIMEOUT = 5.0


@dataclass(frozen=True)
class Served:
    """The certificate a port served: when it stops being valid, and for which name."""

    not_after: datetime
    """Aware, UTC."""
    port: int


def _starttls_xmpp(sock: socket.socket, domain: str) -> None:
    header = ("<?xml version='1.0'?><stream:stream to='" + domain + "' version='1.0' "
              "xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>")
    sock.sendall(header.encode("ascii"))
    _read_until(sock, b"</stream:features>")
    sock.sendall(b"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
    if b"<proceed" not in _read_until(sock, b"proceed"):
        raise OSError("the XMPP server refused STARTTLS")


def _read_until(sock: socket.socket, end: bytes) -> bytes:
    data = b""
    while end not in data and len(data) < 65536:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def served(address: str, name: str, port: int, *, xmpp: bool = False,
           timeout: float = TIMEOUT) -> Served | None:
    """The certificate `address`:`port` serves for `name`; None when nothing answers there
    with TLS (no port open, plain text only). Never raises for a network problem."""
    from cryptography import x509

    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # read it, do not judge it: self-signed has a date too
    try:
        with socket.create_connection((address, port), timeout=timeout) as raw:
            raw.settimeout(timeout)
            if xmpp:
                _starttls_xmpp(raw, name)
            with ctx.wrap_socket(raw, server_hostname=name) as tls:
                der = tls.getpeercert(binary_form=True)
    except (OSError, ssl.SSLError, UnicodeError, ValueError):
        return None
    if not der:
        return None
    cert = x509.load_der_x509_certificate(der)
    return Served(cert.not_valid_after_utc.astimezone(UTC), port)
