"""The TLS certificate people get for the domain: trusted, for the name, and days left.

OpenSSL checks the chain and the name (the system's trusted authorities, or SSL_CERT_FILE);
the dates are read from the certificate and compared with roost's clock (core/clock.py), so
"expires in 5 days" is the same answer in a test on any day. OpenSSL is told not to check the
time itself (X509_V_FLAG_NO_CHECK_TIME) for the same reason. XMPP starts TLS inside its stream
(STARTTLS), as every XMPP app does; other services speak TLS from the first byte.
"""

from __future__ import annotations

import socket
import ssl
from datetime import datetime

from roost.core.clock import Clock, from_environment
from roost.deploy.reachability.model import Check
from roost.deploy.reachability.needs import Tls

TIMEOUT = 5.0
SOON_DAYS = 14
"""A certificate with fewer days left needs attention (certbot renews at 30)."""
NO_CHECK_TIME = 0x200000  # OpenSSL's X509_V_FLAG_NO_CHECK_TIME
HOSTNAME_MISMATCH = 62  # X509_V_ERR_HOSTNAME_MISMATCH
TLS_NS = b"urn:ietf:params:xml:ns:xmpp-tls"


class _NoTls(Exception):
    """The server offered no way to start TLS."""


def _read_until(sock: socket.socket, marks: tuple[bytes, ...]) -> bytes:
    data = b""
    while not any(m in data for m in marks) and len(data) < 65536:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def _xmpp_starttls(sock: socket.socket, domain: str) -> None:
    sock.sendall((f"<?xml version='1.0'?><stream:stream to='{domain}' version='1.0' "
                  "xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>"
                  ).encode("ascii"))
    features = _read_until(sock, (b"</stream:features>", b"</stream:stream>"))
    if b"starttls" not in features:
        raise _NoTls(f"the server offers no STARTTLS for {domain}")
    sock.sendall(b"<starttls xmlns='" + TLS_NS + b"'/>")
    answer = _read_until(sock, (b"<proceed", b"<failure"))
    if b"<proceed" not in answer:
        raise _NoTls("the server refused to start TLS")


def _handshake(address: str, domain: str, tls: Tls, ctx: ssl.SSLContext) -> bytes:
    with socket.create_connection((address, tls.port), timeout=TIMEOUT) as raw:
        raw.settimeout(TIMEOUT)
        if tls.starttls == "xmpp":
            _xmpp_starttls(raw, domain)
        with ctx.wrap_socket(raw, server_hostname=domain) as s:
            der = s.getpeercert(binary_form=True)
    if not der:
        raise _NoTls("the server sent no certificate")
    return der


def _names(der: bytes) -> tuple[list[str], datetime, datetime]:
    from cryptography import x509

    cert = x509.load_der_x509_certificate(der)
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        names = [str(n) for n in san.value.get_values_for_type(x509.DNSName)]
    except x509.ExtensionNotFound:
        names = []
    return names, cert.not_valid_before_utc, cert.not_valid_after_utc


def check(address: str, domain: str, tls: Tls, clock: Clock | None = None,
          cafile: str | None = None) -> list[Check]:
    """Three checks for the certificate served at `address`:`tls.port` for `domain`."""
    now = (clock or from_environment())()
    where = f"port {tls.port}"
    trusted_subject = f"TLS certificate for {domain} on {where}"
    verified = ssl.create_default_context(cafile=cafile)
    verified.verify_flags = verified.verify_flags | NO_CHECK_TIME
    loose = ssl.create_default_context(cafile=cafile)
    loose.check_hostname = False
    loose.verify_mode = ssl.CERT_NONE
    problem = ""
    name_ok: bool | None = None
    try:
        der = _handshake(address, domain, tls, verified)
        name_ok = True
    except ssl.SSLCertVerificationError as exc:
        if exc.verify_code == HOSTNAME_MISMATCH:
            name_ok = False
        else:
            problem = str(exc.verify_message or exc.reason or exc)
        try:
            der = _handshake(address, domain, tls, loose)
        except (OSError, _NoTls) as again:
            return [Check("tls", trusted_subject, "unknown",
                          f"roost could not read it from {address}: {again}.",
                          "Check that the service runs and the port is open.")]
    except _NoTls as exc:
        return [Check("tls", trusted_subject, "wrong", f"{exc}.",
                      "Configure a certificate for the domain and deploy again.")]
    except (OSError, ssl.SSLError) as exc:
        why = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        return [Check("tls", trusted_subject, "unknown",
                      f"roost could not connect to {address}:{tls.port} ({why}).",
                      "Check that the service runs and the port is open.")]
    names, not_before, not_after = _names(der)
    out = []
    if problem:
        if name_ok is None and not problem.lower().startswith("hostname"):
            out.append(Check("tls", trusted_subject, "untrusted",
                             f"apps will warn: {problem}.",
                             "Get a certificate from a known authority: deploy again with "
                             "--option tls=letsencrypt once the domain points at the host "
                             "and port 80 is open."))
    else:
        out.append(Check("tls", trusted_subject, "ok",
                         "signed by an authority apps trust."))
    if name_ok is None:
        name_ok = _matches(domain, names)
    shown = ", ".join(names[:4]) or "no names"
    if name_ok:
        out.append(Check("tls", f"certificate name for {domain}", "ok",
                         f"the certificate is for {shown}."))
    else:
        out.append(Check("tls", f"certificate name for {domain}", "wrong",
                         f"the certificate is for {shown}, not {domain}.",
                         f"Get a certificate for {domain} and deploy again."))
    days = (not_after - now).days
    subject = f"certificate days left for {domain}"
    if now < not_before:
        out.append(Check("tls", subject, "wrong",
                         f"it is valid only from {not_before.date().isoformat()}.",
                         "Check the host's clock, then get a new certificate."))
    elif now >= not_after:
        out.append(Check("tls", subject, "expiring",
                         f"it expired on {not_after.date().isoformat()}.",
                         "Renew it now (certbot renew on the host)."))
    elif days < SOON_DAYS:
        out.append(Check("tls", subject, "expiring",
                         f"{days} days left (until {not_after.date().isoformat()}).",
                         "Renew it soon: certbot renews at 30 days left, so check that "
                         "certbot.timer runs on the host."))
    else:
        out.append(Check("tls", subject, "ok",
                         f"{days} days left (until {not_after.date().isoformat()})."))
    return out


def _matches(domain: str, names: list[str]) -> bool:
    d = domain.lower()
    for n in (x.lower() for x in names):
        if n == d:
            return True
        if n.startswith("*.") and d.count(".") >= 2 and d.split(".", 1)[1] == n[2:]:
            return True
    return False
