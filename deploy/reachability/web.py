"""Matrix delegation and the fediverse's WebFinger: what other servers ask the domain over
HTTPS before they talk to the service. Asked at the address people reach, with the domain as
Host and TLS name (roost.deploy.reach.Site); the certificate itself is tls.py's check, so it
is not checked twice here."""

from __future__ import annotations

import json

from roost.deploy.reach import Site
from roost.deploy.reachability.dns import Dns, srv_records
from roost.deploy.reachability.model import Check

MATRIX_PATH = "/.well-known/matrix/server"
WEBFINGER_PATH = "/.well-known/webfinger"


def _get(address: str, domain: str, path: str, port: int) -> tuple[int, str] | str:
    import httpx

    try:
        r = Site(address, domain, port=port, https=True).get(path, verify=False)
    except httpx.HTTPError as exc:
        return f"https://{domain}{path} could not be fetched at {address} ({type(exc).__name__})"
    return r.status_code, r.text


def check_matrix(d: Dns, address: str, domain: str, port: int = 443) -> Check:
    subject = f"Matrix delegation for {domain}"
    for name in ("_matrix-fed._tcp", "_matrix._tcp"):
        found = d.ask(f"{name}.{domain}", "SRV")
        records = srv_records(found) if isinstance(found, list) else []
        if records:
            port, target = records[0]
            return Check("web", subject, "ok", f"SRV {name}.{domain} points at {target} "
                         f"port {port}.")
    got = _get(address, domain, MATRIX_PATH, port)
    fix = (f"Serve https://{domain}{MATRIX_PATH} with {{\"m.server\": \"{domain}:443\"}}, or "
           f"add an SRV record _matrix-fed._tcp.{domain} pointing at {domain} port 8448.")
    if isinstance(got, str):
        return Check("web", subject, "missing", got + ".", fix)
    status, body = got
    try:
        server = json.loads(body).get("m.server") if status == 200 else None
    except (ValueError, AttributeError):
        server = None
    if not isinstance(server, str) or not server:
        return Check("web", subject, "missing",
                     f"https://{domain}{MATRIX_PATH} answers {status} without m.server.", fix)
    return Check("web", subject, "ok", f"{MATRIX_PATH} names {server}.")


def check_webfinger(address: str, domain: str, port: int = 443) -> Check:
    """WebFinger answers at the domain: any answer but 404 or a server error (a server asked
    without a resource answers 400, which still shows it is there)."""
    subject = f"WebFinger at {domain}"
    fix = (f"Serve https://{domain}{WEBFINGER_PATH} from the service (the domain must point "
           "at it, and its web server pass /.well-known/webfinger on).")
    got = _get(address, domain, WEBFINGER_PATH, port)
    if isinstance(got, str):
        return Check("web", subject, "missing", got + ".", fix)
    status, _ = got
    if status == 404 or status >= 500:
        return Check("web", subject, "missing",
                     f"https://{domain}{WEBFINGER_PATH} answers {status}.", fix)
    return Check("web", subject, "ok", f"https://{domain}{WEBFINGER_PATH} answers ({status}).")
