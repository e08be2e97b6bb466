"""Ways in from outside, in the app (the checks are in reach.py).

`OnionScreen`: a Tor onion service for a service that runs on one of the person's hosts:
choose the host (those the progress says run it), then live progress as lines, as the deploy
screen shows them; at the end, the onion address and what to do with it (roost.app.onion).

`UpnpScreen`: the home router forwards the service's ports (UPnP), or stops: choose the host,
answer the question before anything changes on the router (a `YesNoScreen`), then the lines
as they come (roost.app.opening, as `roost reach ID --host NAME --upnp [--close]`); when the
router offers no UPnP, the lines say what to set on the router's page.

`DynDnsScreen`: a form for ddclient on a host whose home address changes (roost.app.dyndns),
opened from the host's screen."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from roost.core.errors import RoostError
from roost.tui.a11y import Row
from roost.tui.screens.deploy import DeployScreen, trusted_in_hosts, typed
from roost.tui.screens.forms import Field, FormScreen, YesNoScreen

if TYPE_CHECKING:
    from pathlib import Path

    from roost.deploy.hosts import Host
    from roost.deploy.options import Option
    from roost.deploy.sudo import SudoPassword


class WayInScreen(DeployScreen):
    """A way in for a service deployed already: no options to ask (the deploy's are used);
    CHOOSE_INTRO says what it is while the host is chosen."""

    CHOOSE_INTRO = ""

    def intro(self) -> str:
        return self.CHOOSE_INTRO if self.phase == "choose" else ""

    def service_name(self) -> str:
        svc = self.ws.catalog.get(self.service_id)
        return svc.name if svc else self.service_id

    def option_fields(self) -> tuple[Option, ...]:
        return ()


def onion_job(service_id: str, host: Host, home: Path, passphrase: str,
              sudo_password: SudoPassword, emit: Callable[[Any], None],
              cancel: threading.Event) -> list[str]:
    """Blocking: make the onion service (roost.app.onion) and return the lines to show."""
    from roost.app.deploying import Cancelled
    from roost.app.onion import Onion
    from roost.deploy.events import StepStarted

    def on_event(e: Any) -> None:
        if isinstance(e, StepStarted) and cancel.is_set():
            raise Cancelled("cancelled before this step", hint="press r to go on later")
        emit(e)

    with trusted_in_hosts():
        return Onion(service_id, host, home, on_event=on_event,
                     passphrase=typed(passphrase, "the onion service needs the Tor key"),
                     sudo_password=sudo_password or None).open()


class OnionScreen(WayInScreen):
    TITLE = "Tor onion service"
    NAME = "Tor onion service"
    ENTER = "start on the host / act on the line"

    def title_text(self) -> str:
        where = f" on {self.host_name}" if self.host_name else ""
        return f"{self.service_name()} over Tor{where}: {self.phase_words()}"

    CHOOSE_INTRO = ("A Tor onion service lets you and friends you give its address reach it "
                    "from the Tor Browser or Orbot, with no open port. Type the vault "
                    "passphrase, choose the host and press Enter.")

    def running_words(self) -> str:
        return "Making the onion service; each step is shown as a line."

    def rows(self) -> Sequence[Row]:
        if self.phase != "choose":
            return super().rows()
        hosts = sorted({str(e.detail.get("host", "")) for e in self.ws.progress.running()
                        if e.service_id == self.service_id})
        if not hosts:
            return [Row("none", "No host runs it yet", state="deploy it first")]
        return [Row(f"host:{h}", f"Reach it over Tor on {h}", state="action") for h in hosts]

    def refuse_unless_installable(self, host: Host) -> None:
        return None

    def make_job(self, host: Host, options: dict[str, str], passphrase: str, resume: bool,
                 emit: Callable[[Any], None]) -> Callable[[], Any]:
        sid, home = self.service_id, self.ws.home

        def job() -> Any:
            return onion_job(sid, host, home, passphrase,
                             lambda: self.ask_sudo_password(host), emit, self.cancel)

        return job

    def finished(self, result: Any) -> None:
        self.phase = "finished"
        lines = [str(x) for x in result] if isinstance(result, list) else []
        self.finish_rows = [Row(f"next:{i}", "What next", extra=text)
                            for i, text in enumerate(lines)]
        self.refresh_content()
        if self.finish_rows:
            self.menu.highlighted = len(self.menu.rows) - len(self.finish_rows)
            # The new rows are laid out in the next frame: scroll to them then (the list
            # moves the cursor along when it scrolls).
            self.call_after_refresh(self.menu.scroll_to_highlight)
            self.call_after_refresh(self.menu.park_cursor)
        self.say(f"Finished: {self.service_id} is reachable over Tor on {self.host_name}; "
                 "its address is below.")


def upnp_job(service_id: str, host: Host, home: Path, close: bool,
             sudo_password: SudoPassword, consent: Callable[[str], bool],
             say: Callable[[str], None]) -> Any:
    """Blocking: have the router forward the ports (an OpenResult), or stop it (the lines
    said), as roost.app.opening does for `roost reach ID --host NAME --upnp`."""
    from roost.app.opening import Opening

    with trusted_in_hosts():
        o = Opening(service_id, host, home, on_line=say, consent=consent,
                    sudo_password=sudo_password or None)
        if not close:
            return o.open()
        lines = o.close()
        for line in lines:
            say(line)
        return lines


class UpnpScreen(WayInScreen):
    TITLE = "Router forwarding (UPnP)"
    NAME = "Router forwarding (UPnP)"
    ENTER = "choose the host / act on the line"
    ASKS_PASSPHRASE = False

    def __init__(self, service_id: str = "") -> None:
        super().__init__(service_id)
        self.closing = False

    def title_text(self) -> str:
        where = f" to {self.host_name}" if self.host_name else ""
        return f"{self.service_name()}, the router forwards{where}: {self.phase_words()}"

    CHOOSE_INTRO = ("With UPnP, roost asks your home router to forward the ports people "
                    "outside use to the host. roost asks you first, and changes nothing on "
                    "the router without your yes. When the router does not offer UPnP, it "
                    "says what to set on the router's page. Choose the host and press Enter.")

    def running_words(self) -> str:
        return ("Stopping the router forwarding; each step is shown as a line." if self.closing
                else "Asking the router; each step is shown as a line.")

    def rows(self) -> Sequence[Row]:
        if self.phase != "choose":
            return super().rows()
        progress = self.ws.progress
        out: list[Row] = []
        for e in progress.running():
            h = str(e.detail.get("host", ""))
            if e.service_id != self.service_id or not h:
                continue
            ports = ", ".join(e.ports())
            if any(w.detail.get("way") == "upnp" for w in progress.ways_in(self.service_id, h)):
                out.append(Row(f"close:{h}", f"Stop forwarding to {h}",
                               state="action", extra=ports))
            else:
                out.append(Row(f"host:{h}", f"Forward the ports to {h}",
                               state="action", extra=ports))
        return out or [Row("none", "No host runs it yet", state="deploy it first")]

    def activate(self, key: str) -> None:
        if key.startswith(("host:", "close:")) and self.phase == "choose":
            self.closing = key.startswith("close:")
            self.host_name = key.split(":", 1)[1]
            self.start(resume=True)
        else:
            super().activate(key)

    def refuse_unless_installable(self, host: Host) -> None:
        return None

    def make_job(self, host: Host, options: dict[str, str], passphrase: str, resume: bool,
                 emit: Callable[[Any], None]) -> Callable[[], Any]:
        sid, home, close = self.service_id, self.ws.home, self.closing

        def consent(question: str) -> bool:
            return self.ask_from_worker(YesNoScreen(
                question, yes="Yes, ask the router", no="No, change nothing",
                title="Ask the router?")) is True

        def job() -> Any:
            return upnp_job(sid, host, home, close, lambda: self.ask_sudo_password(host),
                            consent, emit)

        return job

    def on_engine_event(self, e: Any) -> None:
        if isinstance(e, str):  # a line of roost.app.opening
            self.lines += e.splitlines()
            self._follow()
        else:
            super().on_engine_event(e)

    def finished(self, result: Any) -> None:
        self.phase = "finished"
        self.finish_rows = []
        self.refresh_content()
        if isinstance(result, list):
            first = result[0] if result else ""
        elif getattr(result, "opened", False):
            first = next((x for x in result.lines if x.startswith("The router forwards")), "")
        else:  # no UPnP (the steps by hand follow the first line), or the person said no
            lines = tuple(getattr(result, "lines", ()))
            first = next((x for x in lines if "opened nothing" in x or "Nothing was" in x),
                         lines[0] if lines else "")
        where = [i for i, line in enumerate(self.lines) if line == first]
        if where:
            self.menu.highlighted = where[-1]
            self.call_after_refresh(self.menu.scroll_to_highlight)
            self.call_after_refresh(self.menu.park_cursor)
        self.say(f"Finished. {first}" if first else "Finished.")


class DynDnsScreen(FormScreen):
    """The dynamic-DNS name, the provider and the vault passphrase; ddclient is installed
    and configured in a worker thread and the provider's answer checked."""

    TITLE = "Dynamic DNS"
    NAME = "Dynamic DNS"
    SUBMIT = "Set up ddclient on the host"
    BUSY = "Setting up ddclient and waiting for the provider's answer: up to a minute and a half."

    def __init__(self, host_name: str) -> None:
        super().__init__()
        self.host_name = host_name

    def title_text(self) -> str:
        return f"Dynamic DNS for {self.host_name}"

    def intro(self) -> str:
        return ("ddclient keeps the name pointed at the home's address. The provider's token "
                "is the password of the login named dyndns in your vault (roost keys new "
                "login --name dyndns --user LOGIN --type-password).")

    def fields(self) -> Sequence[Field]:
        return [Field("domain", "Name to keep up to date", placeholder="home.example.org"),
                Field("server", "Provider's dyndns2 server", placeholder="members.dyndns.org"),
                Field("login", "Login there", placeholder="the vault login's user"),
                Field("check", "Address check", value="dyndns"),
                Field("https", "Provider over https, yes or no", value="yes"),
                Field("passphrase", "Vault passphrase", password=True)]

    def work(self, values: dict[str, str]) -> Callable[[], Any]:
        from roost.app.dyndns import DynDns
        from roost.app.hosts import host_store

        https = values.get("https", "yes").strip().lower()
        if https not in ("yes", "no"):
            raise RoostError("say yes or no for https", hint="yes for every provider on the "
                             "internet, no for one on your own network")
        host = host_store(self.ws.home).get(self.host_name)
        d = DynDns(host, self.ws.home, domain=values.get("domain", "").strip(),
                   server=values.get("server", "").strip(),
                   login=values.get("login", "").strip(),
                   check=values.get("check", "").strip() or "dyndns", ssl=https == "yes",
                   passphrase=typed(values.get("passphrase", ""),
                                    "ddclient needs the provider's token"))
        return lambda: " ".join(d.run())
