"""The plan: one service at a time, in an order that suits the person. Pure: no I/O.

Order: infrastructure identities first (they unlock self-hosting), then what replaces what the
person uses, easy before hard, quick before long, then by id. Each step gets the way that fits
their hardware (home, VPS or a public instance) and one sentence saying why; a self-hosted way
the hardware cannot run is never chosen.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from roost.catalog.model import Catalog, Service
from roost.plan.answers import Answers
from roost.plan.detect import format_mb
from roost.plan.progress import Progress, way_words

STATES = ("next", "waiting", "later", "done", "skipped", "failed", "started")
WAYS = ("public", "home", "vps")
PACE_DAYS = {"days": 3, "weekly": 7, "fast": 0}
DIFFICULTY_RANK = {"easy": 0, "medium": 1, "hard": 2}
INFRA_IDENTITIES = ("ssh", "wireguard", "tor")
"""Identity kinds that give access to a host: set up before self-hosted steps."""
MAIL_CATEGORIES = ("email", "mail")
PC_RAM_MB = 2048
"""Memory assumed for 'a spare computer' when it was not detected."""
VPS_RAM_MB = 1024
"""Memory assumed for a VPS whose size was not given (the common small plan)."""
HOME_OS = ("debian", "raspbian")
"""Systems a home Pi or spare computer is assumed to run (Raspberry Pi OS is Debian)."""
IDENTITY_WORDS = {
    "ssh": "an SSH key to reach your server",
    "wireguard": "a WireGuard key",
    "tor": "an onion address",
    "xmpp": "your chat address (XMPP)",
    "fediverse": "your fediverse account",
    "matrix": "your Matrix server's signing key",
    "ssb": "your Scuttlebutt identity",
    "login": "a login with a strong password for your admin account",
}
WAY_NAMES = {"public": "a public instance", "home": "at home", "vps": "on your VPS"}
REACH_OFFER = ("the router forwards its ports (roost can ask a router that offers UPnP), a "
               "relay through your VPS (for carrier-grade NAT, or when you cannot change the "
               "router), or a Tor onion service for private use (friends and your own phone)")
"""The ways in the plan offers for a service others must reach at home, in words."""
REACH_SHORT = {"router": "through the router", "upnp": "through the router (UPnP)",
               "relay": "through a relay", "tor": "over Tor"}


@dataclass(frozen=True)
class Way:
    """One way to adopt a step's service, and whether it fits this person."""

    kind: str
    summary: str
    possible: bool
    reason: str
    """One sentence: why it fits or why not."""
    where: str = ""


@dataclass(frozen=True)
class Step:
    service_id: str
    name: str
    state: str
    way: str
    """public, home or vps: the suggested way."""
    way_reason: str
    """One sentence: why this way."""
    replaces: tuple[str, ...]
    """Display names of the platforms it replaces that the person uses (or all, if none)."""
    why: str
    time_minutes: int
    asks: tuple[str, ...]
    not_before: date | None
    position: int
    """1-based."""
    identities: tuple[str, ...]
    ways: tuple[Way, ...] = ()
    """Every way, the public one always included."""
    summary: str = ""
    category: str = ""
    difficulty: str = ""
    relevant: bool = False
    """It replaces something the person uses."""
    alternative: bool = False
    """It replaces something they use, but another step is suggested first for the same
    platforms (one Mastodon-like server is enough to leave X); it waits as 'later'."""
    reason: str | None = None
    """The reason given when it was skipped or failed."""
    next_steps: tuple[str, ...] = ()
    needs_first: tuple[str, ...] = ()
    """Identity kinds roost creates at the start of this step because none exists yet: 'ssh'
    to reach a home or VPS server, then the service's own (e.g. 'xmpp')."""
    ways_in: tuple[str, ...] = ()
    """For a service others must reach, run at home: the ways in now in place (router, upnp,
    relay, tor; roost.plan.progress.WAYS_IN), as the progress recorded them."""
    reach: str = ""
    """For a service others must reach, at home: one sentence saying which way in people
    outside use, or that none is in place yet and which there are. "" otherwise."""

    def reach_short(self) -> str:
        """A few words for a list: "No way in from outside yet.", "Reached over Tor.", or ""
        when no way in is needed."""
        if not self.reach:
            return ""
        if not self.ways_in:
            return "No way in from outside yet."
        return f"Reached {_join([REACH_SHORT.get(w, w) for w in self.ways_in])}."

    def line(self, total: int) -> str:
        """One sentence, read aloud: '1 of 14: Prosody (XMPP chat), next. Replaces WhatsApp.'"""
        state = {"next": "next", "waiting": "waiting", "later": "later", "done": "done",
                 "skipped": "skipped", "failed": "failed", "started": "started"}[self.state]
        rep = ""
        if self.replaces and self.relevant:
            rep = f" {'Also replaces' if self.alternative else 'Replaces'} {_join(self.replaces)}."
        when = ""
        if self.not_before is not None:
            when = f" Suggested from {self.not_before.isoformat()}, or go ahead now."
        way = "" if self.state in ("done", "skipped") else f" Way: {WAY_NAMES[self.way]}."
        return f"{self.position} of {total}: {self.name}, {state}.{rep}{way}{when}"


@dataclass(frozen=True)
class Plan:
    steps: tuple[Step, ...]
    next: Step | None
    excluded: tuple[str, ...] = field(default=())
    """Services left out, one sentence each (e.g. unmaintained ones with a replacement)."""

    def get(self, service_id: str) -> Step | None:
        return next((s for s in self.steps if s.service_id == service_id), None)

    @property
    def finished(self) -> bool:
        return self.next is None

    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(STATES, 0)
        for s in self.steps:
            out[s.state] += 1
        return out


def _join(names: tuple[str, ...] | list[str]) -> str:
    names = list(names)
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def is_mail(s: Service) -> bool:
    return s.category.lower() in MAIL_CATEGORIES or "gmail" in s.replaces


def _home_host(a: Answers) -> tuple[str, int, tuple[str, ...]] | None:
    """(what, ram_mb, possible arches) of the home machine, Pi preferred; None without one."""
    if "pi" in a.hardware:
        arches = (a.pi_arch,) if a.pi_arch else ("aarch64", "armv7l")
        return ("your Pi", a.pi_ram_mb if a.pi_ram_mb else 1024, arches)
    if "pc" in a.hardware:
        return ("your spare computer", a.pc_ram_mb or PC_RAM_MB, ("x86_64",))
    return None


def _assumed(a: Answers, way: str) -> str:
    """' (assumed: ...)' when the memory in a reason is a guess, not an answer."""
    kind = _home_kind(a) if way == "home" else "vps"
    known = {"pi": a.pi_ram_mb, "pc": a.pc_ram_mb, "vps": a.vps_ram_mb}.get(kind or "")
    return "" if known else " (a guess: tell roost the real size in your answers)"


def where_it_runs(step: Step, a: Answers) -> str:
    """Where the step's suggested way runs the service, from the answers, in one sentence
    (not the machine roost happens to run on: that may be a laptop)."""
    if step.way == "home":
        host = _home_host(a)
        if host is not None:
            what, ram, arches = host
            arch = f", {arches[0]}" if len(arches) == 1 else ""
            return (f"It will run on {what} ({format_mb(ram)} of memory{arch})"
                    f"{_assumed(a, 'home')}.")
    if step.way == "vps":
        return (f"It will run on your VPS ({format_mb(a.vps_ram_mb or VPS_RAM_MB)} of memory)"
                f"{_assumed(a, 'vps')}.")
    return "It needs no machine of yours: a public instance runs it."


def _home_kind(a: Answers) -> str | None:
    return "pi" if "pi" in a.hardware else "pc" if "pc" in a.hardware else None


def _disk_short(s: Service, a: Answers, kind: str | None, what: str) -> str | None:
    """The reason a detected machine lacks disk space for `s`, or None."""
    if kind is None or a.this_machine != kind or a.disk_free_mb is None:
        return None
    if s.requirements.disk_mb > a.disk_free_mb:
        return (f"it needs {format_mb(s.requirements.disk_mb)} of disk space, "
                f"{what} has {format_mb(a.disk_free_mb)} free")
    return None


def check_home(s: Service, a: Answers) -> tuple[bool, str]:
    """Whether `s` can run at home for this person, and one sentence why (not)."""
    r = s.requirements
    host = _home_host(a)
    if is_mail(s):
        return False, ("mail is only offered on a VPS: home connections are treated as spam "
                       "and port 25 is often blocked")
    if s.way("home") is None:
        return False, f"{s.name} is not offered to run at home"
    if host is None:
        return False, "you have no Pi or spare computer at home"
    what, ram, arches = host
    if not r.residential_ok:
        return False, f"{s.name} needs a server address that is not a home connection"
    if r.os and not any(o.split("-")[0] in HOME_OS for o in r.os):
        return False, f"it runs only on {_join([_os_name(o) for o in r.os])}"
    if r.ram_mb > ram:
        return False, (f"it needs {format_mb(r.ram_mb)} of memory, {what} has "
                       f"{format_mb(ram)}{_assumed(a, 'home')}")
    bad = [x for x in arches if x not in r.arch]
    if bad:
        if len(arches) > 1:
            return False, ("it needs a 64-bit system, and you were not sure your Pi runs one")
        system = {"armv7l": "32-bit", "aarch64": "64-bit"}.get(bad[0], bad[0])
        return False, f"it does not run on {what}'s {system} system"
    if r.needs_domain and not a.has_domain:
        return False, "it needs a domain name, and you have none yet"
    disk = _disk_short(s, a, _home_kind(a), what)
    if disk:
        return False, disk
    return True, (f"it runs on {what}: it needs {format_mb(r.ram_mb)} of memory "
                  f"and {what} has {format_mb(ram)}{_assumed(a, 'home')}")


def check_vps(s: Service, a: Answers) -> tuple[bool, str]:
    r = s.requirements
    if s.way("vps") is None:
        return False, f"{s.name} is not offered on a VPS"
    if "vps" not in a.hardware:
        return False, "you have no rented server (VPS)"
    if r.lan_only:
        return False, f"{s.name} works only on a home network, never on the internet"
    ram = a.vps_ram_mb or VPS_RAM_MB
    if r.ram_mb > ram:
        return False, (f"it needs {format_mb(r.ram_mb)} of memory, your VPS has "
                       f"{format_mb(ram)}{_assumed(a, 'vps')}")
    if "x86_64" not in r.arch and "aarch64" not in r.arch:
        return False, "it does not run on a typical VPS processor"
    if r.needs_domain and not a.has_domain:
        return False, "it needs a domain name, and you have none yet"
    disk = _disk_short(s, a, "vps", "your VPS")
    if disk:
        return False, disk
    note = " (mail needs a server address that is not a home connection)" if is_mail(s) else ""
    if r.os:
        note += f"; it needs a fresh {_join([_os_name(o) for o in r.os])} server"
    return True, (f"it runs on your VPS: it needs {format_mb(r.ram_mb)} of memory "
                  f"and your VPS has {format_mb(ram)}{_assumed(a, 'vps')}{note}")


def ways_for(s: Service, a: Answers) -> tuple[Way, ...]:
    """All ways for `s`, public first, each with whether it fits and why."""
    out: list[Way] = []
    pub = s.way("public")
    if pub is not None:
        out.append(Way("public", pub.summary, True,
                       "a public instance needs no machine and no upkeep", pub.where))
    else:
        out.append(Way("public", f"Use {s.name} run by someone you trust, or keep what you have "
                       "until you can host it.", True,
                       "a public instance needs no machine and no upkeep"))
    for kind, check in (("home", check_home), ("vps", check_vps)):
        adopt = s.way(kind)
        if adopt is None:
            continue
        ok, why = check(s, a)
        out.append(Way(kind, adopt.summary, ok, why, adopt.where))
    return tuple(out)


def choose_way(s: Service, a: Answers, ways: tuple[Way, ...]) -> tuple[str, str]:
    """The suggested way and one sentence why."""
    fits = {w.kind: w for w in ways if w.possible}
    home_why = check_home(s, a)[1]
    vps_why = check_vps(s, a)[1]
    gentle = a.skill == "beginner" and s.difficulty == "hard"
    if gentle and ("home" in fits or "vps" in fits):
        if is_mail(s):
            return "public", (f"Mail is only offered on a VPS, and {s.name} is hard to run, so "
                              "a mail provider you trust is the gentle start for now.")
        return "public", (f"{s.name} is hard to run, so a public instance is the gentle start; "
                          "you can move to your own server later.")
    if "home" in fits and not (is_mail(s)):
        return "home", _sentence(home_why)
    if "vps" in fits:
        lead = f"{_cap(home_why)}, so your VPS it is" if s.way("home") and _home_host(a) \
            else _cap(vps_why)
        if is_mail(s):
            lead = "Mail is only offered on a VPS: home connections are treated as spam " \
                   "and port 25 is often blocked"
        return "vps", _sentence(lead)
    if not s.self_hostable:
        return "public", f"{s.name} is used through a public instance."
    reasons = []
    if s.way("home") is not None or is_mail(s):
        reasons.append(home_why)
    if s.way("vps") is not None and vps_why not in reasons:
        reasons.append(vps_why)
    why = "; ".join(reasons) if reasons else "a public instance needs no machine"
    return "public", _sentence(f"{_cap(why)}, so a public instance it is for now")


def _os_name(os_id: str) -> str:
    """'ubuntu-22.04' -> 'Ubuntu 22.04'."""
    name, _, version = os_id.partition("-")
    return f"{name.capitalize()} {version}".strip()


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _sentence(text: str) -> str:
    text = _cap(text.strip())
    return text if text.endswith(".") else text + "."


def _ease(s: Service) -> tuple[int, int, str]:
    return (DIFFICULTY_RANK.get(s.difficulty, 1), s.time_minutes, s.id)


def primaries(services: list[Service], a: Answers) -> set[str]:
    """For each platform the person uses, the easiest service that replaces it."""
    out: set[str] = set()
    for pid in a.uses:
        candidates = [s for s in services if pid in s.replaces]
        if candidates:
            out.add(min(candidates, key=_ease).id)
    return out


def _order_key(s: Service, a: Answers, infra_needed: bool,
               primary: set[str]) -> tuple[int, int, int, int, str]:
    relevant = any(p in a.uses for p in s.replaces)
    infra = infra_needed and any(i in INFRA_IDENTITIES for i in s.identities)
    return (
        0 if infra else 1,
        0 if s.id in primary else 1 if relevant else 2,
        *_ease(s),
    )


def reach_for(s: Service, way: str, progress: Progress) -> tuple[tuple[str, ...], str]:
    """(the ways in in place, one sentence) for a step whose service others must reach and
    that runs at home; ((), "") for any other."""
    if way != "home" or not s.requirements.reached_by_others:
        return (), ""
    found: dict[str, str] = {}
    for e in progress.running():
        if e.service_id != s.id:
            continue
        host = str(e.detail.get("host", ""))
        for w in progress.ways_in(s.id, host):
            kind = str(w.detail.get("way", ""))
            address = str(w.detail.get("address", "") or "")
            found.setdefault(kind, f"{way_words(w.detail)} on {host}"
                             + (f" (at {address})" if address else ""))
    if found:
        return tuple(found), _sentence("People outside reach it " + _join(list(found.values())))
    return (), (f"Others must reach {s.name} from outside, and no way in is in place yet. "
                f"The ways: {REACH_OFFER}. Once it runs: roost reach {s.id} --host NAME.")


def build_plan(catalog: Catalog, answers: Answers, progress: Progress, today: date) -> Plan:
    """The ordered plan for this person. Same inputs, same plan."""
    ids = set(catalog.ids)
    excluded: list[str] = []
    services: list[Service] = []
    for s in catalog.services:
        if s.experimental:
            continue  # in the catalog for tinkerers, never in a plan
        rb = s.upstream.replaced_by
        if rb is not None and rb in ids and rb != s.id:
            target = catalog.get(rb)
            excluded.append(f"{s.name} is {s.upstream.status}; the plan offers "
                            f"{target.name if target else rb} instead, which speaks the same "
                            "protocol.")
            continue
        services.append(s)
    chosen: dict[str, tuple[tuple[Way, ...], str, str]] = {}
    for s in services:
        ways = ways_for(s, answers)
        way, why = choose_way(s, answers, ways)
        chosen[s.id] = (ways, way, why)
    infra_needed = any(chosen[s.id][1] in ("home", "vps") for s in services)
    primary = primaries(services, answers)
    services.sort(key=lambda s: _order_key(s, answers, infra_needed, primary))

    states = progress.states()
    pace = PACE_DAYS.get(answers.pace, 0)
    last_done = progress.last_done()
    not_before: date | None = None
    if pace and last_done is not None:
        due = last_done + timedelta(days=pace)
        not_before = due if due > today else None

    have = {str(e.detail.get("kind")) for e in progress.identities()}
    steps: list[Step] = []
    next_given = False
    for pos, s in enumerate(services, start=1):
        ways, way, why = chosen[s.id]
        relevant = any(p in answers.uses for p in s.replaces)
        st = states.get(s.id)
        nb: date | None = None
        if st in ("done", "skipped", "started"):
            state = st
        elif not next_given:
            state, next_given, nb = "next", True, not_before
        elif st == "failed":
            state = "failed"
        else:
            state = "waiting" if s.id in primary else "later"
        needs = []
        if way in ("home", "vps") and "ssh" not in have and "ssh" not in s.identities:
            needs.append("ssh")
        needs += [k for k in s.identities if k not in have]
        ways_in, reach = reach_for(s, way, progress)
        names = [p.name for pid in s.replaces if (p := catalog.platform(pid)) is not None
                 and (pid in answers.uses or not relevant)]
        steps.append(Step(
            service_id=s.id, name=s.name, state=state, way=way, way_reason=why,
            replaces=tuple(names), why=s.why, time_minutes=s.time_minutes, asks=s.asks,
            not_before=nb, position=pos, identities=s.identities, ways=ways,
            summary=s.summary, category=s.category, difficulty=s.difficulty,
            relevant=relevant, alternative=relevant and s.id not in primary,
            reason=progress.reason_of(s.id) if st in ("skipped", "failed") else None,
            next_steps=s.next_steps, needs_first=tuple(needs), ways_in=ways_in,
            reach=reach,
        ))
    nxt = next((s for s in steps if s.state == "next"), None)
    return Plan(tuple(steps), nxt, tuple(excluded))
