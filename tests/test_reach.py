"""Health checks reach the host by its address and ask for the domain (roost.deploy.reach).

On a first day the domain points nowhere: every recipe's check must still connect to the
host's address and send the domain as Host (and, over https, as the TLS server name), and
the deploy result then says, as a note, that the domain does not point at the host yet.
The servers here are real ones on 127.0.0.1 that answer like nginx with name-based sites: the
site for the name they serve, Debian's welcome page for any other name."""

from __future__ import annotations

import datetime as dt
import socket
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from routeserver import Answer, RouteServer
from support.certs import self_signed
from support.fake import FakeTransport

from roost.core.errors import RoostError
from roost.deploy.events import Finished, as_text
from roost.deploy.reach import Site
from roost.deploy.recipe import TargetHost
from roost.deploy.recipes import RECIPES
from roost.deploy.steps import HealthResult, StepContext, WaitHealth
from roost.keys import fediverse, login

# Reserved names (RFC 2606 / 6761): they never resolve, as a domain on its first day.
DOMAIN = "blog.roost.invalid"
WELCOME = "<h1>Welcome to nginx!</h1>"


class NameServer:
    """HTTP on 127.0.0.1 answering `routes` (path -> (content type, body)) only when the Host
    header names `name`; any other name gets Debian's welcome page (/) or 404, as nginx's
    default site would. `seen` keeps (path, Host) of every request."""

    def __init__(self, name: str, tls: ssl.SSLContext | None = None) -> None:
        self.name = name
        self.routes: dict[str, tuple[str, Any]] = {}
        self.seen: list[tuple[str, str]] = []
        self.server = RouteServer(self._answer, tls)
        self.port = self.server.port

    def _answer(self, path: str, headers: dict[str, str]) -> Answer:
        host = next((v for k, v in headers.items() if k.lower() == "host"), "")
        self.seen.append((path, host))
        asked = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
        found = self.routes.get(path) if asked == self.name else None
        if found is None:
            return (200, "text/html", WELCOME) if path == "/" else (404, "text/html", "not found")
        return 200, found[0], found[1]

    def close(self) -> None:
        self.server.close()


@pytest.fixture
def site_server() -> Iterator[NameServer]:
    s = NameServer(DOMAIN)
    yield s
    s.close()


def ctx() -> StepContext:
    t = FakeTransport()
    return StepContext(transport=t, secrets={})


def test_the_name_does_not_resolve_here() -> None:
    with pytest.raises(socket.gaierror):
        socket.getaddrinfo(DOMAIN, 80)


def test_a_site_is_asked_at_the_address_for_its_name(site_server: NameServer) -> None:
    site_server.routes["/"] = ("text/html", "<h1>my blog</h1>")
    site = Site("127.0.0.1", DOMAIN, site_server.port)
    r = site.get("/")
    assert r.status_code == 200 and r.text == "<h1>my blog</h1>"
    assert site_server.seen == [("/", f"{DOMAIN}:{site_server.port}")]
    assert site.url("/x") == f"http://127.0.0.1:{site_server.port}/x"
    assert site.shown("/x") == f"http://{DOMAIN}:{site_server.port}/x at 127.0.0.1"
    # The old way, the name in the URL, fails on a first day: the name is not in DNS.
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://{DOMAIN}:{site_server.port}/", timeout=5)
    # "_" (nginx's catch-all) and no name ask for the address itself.
    assert Site("127.0.0.1", "_", 8080).host_name == "127.0.0.1"
    assert Site("::1", port=80).url("/") == "http://[::1]/"
    with pytest.raises(RoostError):
        Site("127.0.0.1", "bad name;rm", 80)


def test_a_passing_check_notes_a_name_that_does_not_point_at_the_host(
        site_server: NameServer) -> None:
    site_server.routes["/"] = ("text/html", "<h1>my blog</h1>")
    health = WaitHealth("fetch the blog", site=Site("127.0.0.1", DOMAIN, site_server.port),
                        expect_text="my blog", timeout=5, interval=0.1)
    result = health.wait(FakeTransport(), ctx())
    assert result.ok, result.detail
    assert result.note is not None
    assert result.note.startswith(f"{DOMAIN} does not point at this host yet: it has no "
                                  "address in DNS.")
    text = as_text(Finished(True, "static-blog", 3, 0, result, ("open it",)))
    assert f"note: {DOMAIN} does not point at this host yet" in text
    assert text.index("healthy: ") < text.index("note: ") < text.index("next steps:")
    # A name that does resolve to the address gets no note; an address is never noted.
    assert Site("127.0.0.1", "localhost", site_server.port).dns_note() is None
    assert Site("127.0.0.1", port=site_server.port).dns_note() is None
    # A name that resolves elsewhere says where it leads.
    other = Site("127.0.0.2", "localhost", 80).dns_note()
    assert other is not None and "DNS gives 127.0.0.1" in other and "127.0.0.2" in other
    # A failing check has no note: the failure is what is said.
    site_server.routes.clear()
    failed = WaitHealth("fetch the blog", site=Site("127.0.0.1", DOMAIN, site_server.port),
                        expect_text="my blog", timeout=0.2, interval=0.1).wait(
                            FakeTransport(), ctx())
    assert not failed.ok and failed.note is None
    assert "answered without the expected text" in failed.detail


def _certificate(tmp_path: Path, name: str) -> tuple[Path, Path]:
    start = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    return self_signed(tmp_path, name, start, start + dt.timedelta(days=365 * 80), ca=True,
                       files=("site.crt", "site.key"))


def test_https_sends_the_name_as_tls_server_name_and_checks_the_certificate_for_it(
        tmp_path: Path) -> None:
    crt, key = _certificate(tmp_path, DOMAIN)
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(crt, key)
    names: list[str | None] = []
    server_ctx.sni_callback = lambda sock, name, c: names.append(name)  # type: ignore[assignment,misc,return-value]
    server = NameServer(DOMAIN, tls=server_ctx)
    try:
        server.routes["/"] = ("text/html", "<h1>secure blog</h1>")
        trust = ssl.create_default_context(cafile=str(crt))
        site = Site("127.0.0.1", DOMAIN, server.port, https=True)
        r = site.get("/", verify=trust)
        assert r.status_code == 200 and r.text == "<h1>secure blog</h1>"
        assert names == [DOMAIN]
        # The certificate is checked against the name, not the address: fetched by address
        # alone it does not match.
        with pytest.raises(httpx.ConnectError, match=r"certificate|IP address mismatch"):
            Site("127.0.0.1", port=server.port, https=True).get("/", verify=trust)
    finally:
        server.close()


# --------------------------------------------------------------------------------------------
# Every recipe that takes a domain: its health check, as built, against a real server.

PLACEHOLDER_TEXT = "static-blog"


def _recipe(service: str, port: int) -> Any:
    host = TargetHost("vps", "127.0.0.1")
    people: dict[str, Any] = {}
    options: dict[str, str] = {"domain": DOMAIN}
    if service in ("static-blog", "wordpress"):
        options["port"] = str(port)
    else:
        options["listen"] = str(port)
    if service == "friendica":
        person = login.create("friendica", user="robin", email="robin@example.org")
        people = {person.id: person.info()}
        options["scheme"] = "http"
    if service in ("akkoma", "pleroma"):  # their secrets come from the vault's identity
        person = fediverse.create("social", user="robin", domain=DOMAIN,
                                  admin_email="robin@example.org", server="akkoma")
        people = {person.id: person.info()}
    return RECIPES[service](host, options, people)


def _serve(service: str, server: NameServer, recipe: Any) -> None:
    """What the service answers when it is healthy, at the paths its check asks."""
    if service == "static-blog":
        health = recipe.health
        server.routes["/"] = ("text/html", health.expect_text)
    elif service == "wordpress":
        server.routes["/"] = ("text/html", '<meta name="generator" content="WordPress 6.8" />')
    elif service == "navidrome":
        server.routes["/ping"] = ("application/json", {"match": True})
    elif service == "gotosocial":
        server.routes["/api/v1/instance"] = ("application/json", {"uri": f"https://{DOMAIN}"})
    elif service == "friendica":
        server.routes["/friendica/json"] = ("application/json", {
            "platform": "friendica", "url": f"http://{DOMAIN}:{server.port}"})
    elif service in ("bovine", "akkoma", "pleroma"):  # WebFinger finds the account's actor
        user = "bovine" if service == "bovine" else "robin"
        actor = f"https://{DOMAIN}/activitypub/{user}"
        server.routes[f"/.well-known/webfinger?resource=acct:{user}@{DOMAIN}"] = (
            "application/jrd+json", {"subject": f"acct:{user}@{DOMAIN}", "links": [
                {"rel": "self", "type": "application/activity+json", "href": actor}]})
        server.routes[f"/activitypub/{user}"] = ("application/activity+json", {
            "id": actor, "preferredUsername": user, "inbox": actor + "/inbox",
            "publicKey": {"id": actor + "#key", "publicKeyPem": "-----BEGIN PUBLIC KEY-----"}})


@pytest.mark.parametrize("service", ["static-blog", "wordpress", "navidrome", "gotosocial",
                                     "akkoma", "pleroma", "friendica", "bovine"])
def test_each_recipe_checks_health_at_the_address_with_the_domain(
        service: str, site_server: NameServer, monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path) -> None:
    monkeypatch.setenv("ROOST_HOME", str(tmp_path))
    recipe = _recipe(service, site_server.port)
    health = recipe.health
    assert isinstance(health, WaitHealth)
    assert health.site == Site("127.0.0.1", DOMAIN, site_server.port)
    # Not healthy while the server does not answer as the service, and said in one line.
    first = health.once(FakeTransport(), ctx())
    assert first is not None and "\n" not in first
    _serve(service, site_server, recipe)
    result: HealthResult = health.wait(FakeTransport(), ctx())
    assert result.ok, result.detail
    assert site_server.seen and {host for _, host in site_server.seen} == {
        f"{DOMAIN}:{site_server.port}"}
    assert result.note is not None and result.note.startswith(
        f"{DOMAIN} does not point at this host yet")


def test_synapse_and_prosody_ask_the_address_for_their_names(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Synapse's port (8008) and Prosody's (5222) are fixed, so their checks are shown here by
    what they target; their container tests deploy with names under .test that do not
    resolve (tests/test_service_matrix_synapse.py, tests/test_service_prosody.py)."""
    from roost.keys import matrix, xmpp

    monkeypatch.setenv("ROOST_HOME", str(tmp_path))
    host = TargetHost("vps", "192.0.2.7")
    m = matrix.create("matrix", server_name="matrix.roost.invalid")
    synapse = RECIPES["matrix-synapse"](host, {}, {m.id: m.info()})
    assert synapse.health.site == Site("192.0.2.7", "matrix.roost.invalid", 8008)
    x = xmpp.create("alice", address="alice@chat.roost.invalid")
    prosody = RECIPES["prosody"](host, {}, {x.id: x.info()})
    assert prosody.health.site == Site("192.0.2.7", "chat.roost.invalid", 5222)
    assert "at 192.0.2.7:5222" in prosody.health.commands()[0]
