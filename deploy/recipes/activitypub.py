"""The fediverse account proof any ActivityPub recipe's health check can use.

`webfinger_probe(site, handle)` does from this computer what another fediverse
server does when someone types @handle@domain: it asks WebFinger
(`/.well-known/webfinger?resource=acct:handle@domain`) for the account, reads the actor's
address from the answer (the link rel=self of type application/activity+json), then fetches
that actor document and checks it is the account: its `id` is the address WebFinger gave,
`preferredUsername` is the handle, it has an `inbox`, and a key other servers verify its
signatures with (`publicKey` with `publicKeyPem`, or `assertionMethod`).

DNS for the domain is usually not there yet, so every request goes to the host's address
(`site`, a roost.deploy.reach.Site: nginx on the host) with `Host: domain`: nginx sites answer
only for their name, and the servers build their addresses from it. The actor's https address
is mapped onto the site the same way.

Servers that answer actor documents only to signed requests (bovine does, proven in
tests/test_service_bovine.py; servers with "authorized fetch" on may too) take a `sign`
function: given the method, the path and the headers of the request it returns the headers to
add (a signature), or None to send it unsigned. Unsigned, such a server's 401 is reported as
"the server wants a signed request".

GoToSocial answers every unsigned GET of an actor with 401, and a 404 when there is no such
account (internal/processing/fedi/user.go, UserGet: the account is looked up before the
request is authenticated; no setting there turns this off; read at upstream commit 57cb4fe,
October 2025, not run here). With `signed_actor=True` an unsigned
probe therefore takes that 401 as "the account is there" without reading the actor; with
`key_suffix` (GoToSocial: "/main-key") it then reads the account's public key document at the
actor's address plus that suffix, which GoToSocial serves unsigned as a minimal actor (id,
preferredUsername, publicKey; AccountToASMinimal), and checks it is the account's.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

if TYPE_CHECKING:
    import httpx

from roost.deploy.reach import Site

AP_TYPE = "application/activity+json"
AP_TYPES = (AP_TYPE, "application/ld+json")
Signer = Callable[[str, str, Mapping[str, str]], Mapping[str, str] | None]
"""(method, path with query, headers) -> headers to add to the request."""


def _json(r: httpx.Response, what: str) -> dict[str, Any] | str:
    try:
        data = r.json()
    except ValueError:
        return f"{what} did not answer JSON"
    if not isinstance(data, dict):
        return f"{what} answered JSON that is not an object"
    return data


def _ap_json(r: httpx.Response, what: str, path: str) -> dict[str, Any] | str:
    """`what`'s JSON object (served at `path`) when it answered 200 as an ActivityPub type,
    else one line saying what is wrong."""
    if r.status_code != 200:
        return f"{what} {path[:60]} answered {r.status_code}"
    kind = r.headers.get("content-type", "").split(";")[0].strip()
    if kind not in AP_TYPES:
        return f"{what} came as {kind[:40] or 'no type'}, not {AP_TYPE}"
    return _json(r, what)


def _self_link(jrd: Mapping[str, Any]) -> str | None:
    links = jrd.get("links")
    if not isinstance(links, list):
        return None
    for link in links:
        if not isinstance(link, dict) or link.get("rel") != "self":
            continue
        kind = str(link.get("type", "")).split(";")[0].strip()
        if kind in AP_TYPES:
            href = link.get("href")
            if isinstance(href, str) and href:
                return href
    return None


def _key_problem(actor: Mapping[str, Any]) -> str | None:
    key = actor.get("publicKey")
    keys = key if isinstance(key, list) else [key]
    if any(isinstance(k, dict) and k.get("publicKeyPem") for k in keys):
        return None
    if actor.get("assertionMethod"):
        return None
    return "the actor has no public key (no publicKey.publicKeyPem, no assertionMethod)"


def check_actor(actor: Mapping[str, Any], actor_id: str, handle: str) -> str | None:
    """None when `actor` is the account's actor document, else what is wrong (one line)."""
    if actor.get("id") != actor_id:
        return f"the actor document's id is {str(actor.get('id'))[:80]!r}, not {actor_id[:80]}"
    name = actor.get("preferredUsername")
    if name != handle:
        return f"the actor's preferredUsername is {str(name)[:40]!r}, not {handle!r}"
    if not isinstance(actor.get("inbox"), str) or not actor.get("inbox"):
        return "the actor document has no inbox"
    return _key_problem(actor)


def check_key_document(doc: Mapping[str, Any], actor_id: str, handle: str) -> str | None:
    """None when `doc` (a minimal actor served at the key's address) is the account's public
    key, else what is wrong (one line)."""
    if doc.get("id") != actor_id:
        return (f"the public key document's id is {str(doc.get('id'))[:80]!r}, "
                f"not {actor_id[:80]}")
    name = doc.get("preferredUsername")
    if name != handle:
        return f"the public key document's preferredUsername is {str(name)[:40]!r}, not {handle!r}"
    return _key_problem(doc)


def _actor_address(site: Site, acct: str, timeout: float) -> tuple[str, str]:
    """(the actor address WebFinger gives for `acct`, checked to be http(s) on the site's
    name, ""), or ("", one line saying what is wrong)."""
    import httpx

    domain = site.host_name
    wf = f"/.well-known/webfinger?resource={quote(acct, safe=':@')}"
    try:
        r = site.get(wf, headers={"Accept": "application/jrd+json"}, timeout=timeout)
    except httpx.HTTPError as exc:
        return "", f"WebFinger at {site.url('')} did not answer ({type(exc).__name__})"
    if r.status_code == 404:
        return "", f"WebFinger does not know {acct} (404)"
    if r.status_code != 200:
        return "", f"WebFinger answered {r.status_code} for {acct}"
    jrd = _json(r, "WebFinger")
    if isinstance(jrd, str):
        return "", jrd
    if str(jrd.get("subject", "")).lower() != acct:
        return "", f"WebFinger's subject is {str(jrd.get('subject'))[:80]!r}, not {acct}"
    actor_id = _self_link(jrd)
    if actor_id is None:
        return "", "WebFinger gave no link rel=self of type application/activity+json"
    parts = urlsplit(actor_id)
    if parts.scheme not in ("http", "https") or (parts.hostname or "").lower() != domain:
        return "", f"the actor address {actor_id[:80]} is not on {domain}"
    return actor_id, ""


def _key_document(site: Site, path: str, actor_id: str, handle: str, timeout: float
                  ) -> bool | str:
    """True when the public key document at `path` answers unsigned as the actor's key, else
    one line saying what is wrong."""
    import httpx

    try:
        k = site.get(path, headers={"Accept": AP_TYPE}, timeout=timeout)
    except httpx.HTTPError as exc:
        return f"the public key document did not answer ({type(exc).__name__})"
    doc = _ap_json(k, "the public key document", path)
    if isinstance(doc, str):
        return doc
    return check_key_document(doc, actor_id, handle) or True


def webfinger_probe(site: Site, handle: str, sign: Signer | None = None,
                    timeout: float = 5.0, *, signed_actor: bool = False,
                    key_suffix: str = "") -> Callable[[], bool | str]:
    """A WaitHealth probe: True when WebFinger finds acct:handle@domain (the site's name) and
    its actor document answers as that account, else one line saying what is wrong.

    `signed_actor`: the server answers actors only to signed requests, so an unsigned 401 means
    the account exists (see the module's docstring); then `key_suffix`, if given, is where the
    account's public key document is served unsigned (actor address + suffix)."""
    if key_suffix and not re.fullmatch(r"/[A-Za-z0-9_-]+", key_suffix):
        raise ValueError(f"{key_suffix[:40]!r} is not a path suffix like /main-key")
    domain = site.host_name
    base = site.url("")
    acct = f"acct:{handle}@{domain}"

    def probe() -> bool | str:
        import httpx

        actor_id, problem = _actor_address(site, acct, timeout)
        if problem:
            return problem
        parts = urlsplit(actor_id)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        headers = {"Accept": AP_TYPE}
        if sign is not None:
            headers.update(sign("GET", path, {"Host": domain, **headers}) or {})
        try:
            a = site.get(path, headers=headers, timeout=timeout)
        except httpx.HTTPError as exc:
            return f"the actor document did not answer ({type(exc).__name__})"
        if a.status_code == 401 and signed_actor and sign is None:
            return (_key_document(site, parts.path.rstrip("/") + key_suffix, actor_id, handle,
                                  timeout) if key_suffix else True)
        if a.status_code in (401, 403):
            return (f"the actor document answered {a.status_code}: the server wants a signed "
                    "request" + ("" if sign is None else " and did not accept this one"))
        if a.status_code == 404:
            return f"the actor document {parts.path[:60]} answered 404: no such account"
        actor = _ap_json(a, "the actor document", parts.path)
        if isinstance(actor, str):
            return actor
        return check_actor(actor, actor_id, handle) or True

    if signed_actor and sign is None:
        what = ("the actor's 401 (it wants signed requests)"
                + (f" and its public key document (actor + {key_suffix})" if key_suffix else ""))
    else:
        what = "its actor document"
    probe.__qualname__ = (f"WebFinger {acct} and {what} at {base} "
                          f"(Host: {domain}{', signed' if sign else ''})")
    return probe
