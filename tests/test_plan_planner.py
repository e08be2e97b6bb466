"""The planner: order, ways and their reasons, one next step, the pace; properties by hypothesis."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from roost.catalog import load, load_from
from roost.catalog.model import (
    Adopt,
    Catalog,
    Platform,
    Requirements,
    Service,
    Upstream,
)
from roost.plan.answers import HARDWARE, PACE, SKILL, Answers
from roost.plan.planner import STATES, Plan, build_plan, check_home, is_mail
from roost.plan.progress import Event, Progress

TODAY = date(2026, 11, 25)
PLATFORMS = (
    Platform("whatsapp", "WhatsApp", "chat"),
    Platform("twitter", "X (Twitter)", "social"),
    Platform("gmail", "Gmail", "email"),
    Platform("spotify", "Spotify", "music"),
    Platform("youtube", "YouTube", "video"),
)


def svc(sid: str, *, replaces: tuple[str, ...] = (), difficulty: str = "easy",
        minutes: int = 30, ram: int = 64, disk: int = 10, os: tuple[str, ...] = (),
        arch: tuple[str, ...] = ("x86_64", "aarch64", "armv7l"),
        domain: bool = False, residential: bool = True, lan_only: bool = False,
        ways: tuple[str, ...] = ("public", "home", "vps"), identities: tuple[str, ...] = (),
        category: str = "chat", replaced_by: str | None = None) -> Service:
    return Service(
        id=sid, name=sid.capitalize(), category=category, replaces=replaces,
        summary=f"{sid} summary.", why=f"{sid} why.", protocol="x",
        upstream=Upstream("unmaintained" if replaced_by else "maintained", "https://x.example",
                          replaced_by=replaced_by),
        adopt=tuple(Adopt(k, f"{sid} {k}.") for k in ways),  # type: ignore[arg-type]
        requirements=Requirements(ram, disk, arch, domain, (), residential, lan_only, os),
        identities=identities, difficulty=difficulty, time_minutes=minutes,
        sources=("https://x.example",), asks=("a name",),
    )


def cat(*services: Service) -> Catalog:
    return Catalog(tuple(services), PLATFORMS)


def ans(uses: tuple[str, ...] = (), hardware: tuple[str, ...] = ("pi",), *,
        has_domain: bool = True, skill: str = "some", pace: str = "days",
        pi_ram_mb: int | None = 1024, pi_arch: str | None = "aarch64",
        vps_ram_mb: int | None = None, pc_ram_mb: int | None = None,
        this_machine: str | None = None, disk_free_mb: int | None = None) -> Answers:
    here = this_machine if this_machine in hardware else None
    return Answers(uses, hardware, has_domain, "example.org" if has_domain else None, skill, pace,
                   pi_ram_mb if "pi" in hardware else None,
                   pi_arch if "pi" in hardware else None,
                   vps_ram_mb if "vps" in hardware else None,
                   pc_ram_mb if "pc" in hardware else None,
                   here, disk_free_mb if here else None)


def at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 12, tzinfo=UTC)


def prog(*events: tuple[str, str, date]) -> Progress:
    return Progress(tuple(Event(kind, at(day), sid,
                                {"reason": "why"} if kind in ("skipped", "failed") else {})
                          for kind, sid, day in events))


def order(plan: Plan) -> list[str]:
    return [s.service_id for s in plan.steps]


# --- order ---------------------------------------------------------------------------------


def test_what_replaces_what_they_use_comes_first_then_easy_before_hard() -> None:
    c = cat(svc("aa", difficulty="easy"),
            svc("hardused", replaces=("whatsapp",), difficulty="hard"),
            svc("easyused", replaces=("whatsapp",), difficulty="easy", minutes=90),
            svc("medused", replaces=("twitter",), difficulty="medium"),
            svc("quickused", replaces=("twitter",), difficulty="easy", minutes=10))
    plan = build_plan(c, ans(("whatsapp", "twitter")), Progress(), TODAY)
    assert order(plan) == ["quickused", "easyused", "medused", "hardused", "aa"]
    assert [s.position for s in plan.steps] == [1, 2, 3, 4, 5]
    # One replacement per platform is suggested; the other candidates wait as alternatives.
    assert [s.state for s in plan.steps] == ["next", "waiting", "later", "later", "later"]
    assert [s.alternative for s in plan.steps] == [False, False, True, True, False]
    assert plan.steps[2].line(5) == "3 of 5: Medused, later. Also replaces X (Twitter). " \
                                    "Way: at home."
    assert plan.next is not None and plan.next.service_id == "quickused"
    assert plan.get("aa") is not None and plan.get("zz") is None


def test_host_access_identity_comes_before_self_hosted_steps() -> None:
    c = cat(svc("chat", replaces=("whatsapp",)),
            svc("keys", difficulty="medium", identities=("ssh",), ways=("home",)))
    plan = build_plan(c, ans(("whatsapp",)), Progress(), TODAY)
    assert order(plan) == ["keys", "chat"]
    # With no machine nothing is self-hosted, so the key step is not a prerequisite.
    plan = build_plan(c, ans(("whatsapp",), hardware=()), Progress(), TODAY)
    assert order(plan) == ["chat", "keys"]


def test_identities_needed_first_until_they_exist() -> None:
    c = cat(svc("chat", identities=("xmpp",)), svc("web", minutes=40))
    plan = build_plan(c, ans(), Progress(), TODAY)
    assert plan.get("chat").needs_first == ("ssh", "xmpp")  # type: ignore[union-attr]
    assert plan.get("web").needs_first == ("ssh",)  # type: ignore[union-attr]
    p = Progress((Event("identity", at(TODAY), None, {"kind": "ssh", "public_id": "SHA256:x"}),))
    plan = build_plan(c, ans(), p, TODAY)
    assert plan.get("chat").needs_first == ("xmpp",)  # type: ignore[union-attr]
    assert plan.get("web").needs_first == ()  # type: ignore[union-attr]
    # A public instance needs no key to a server.
    plan = build_plan(c, ans(hardware=()), Progress(), TODAY)
    assert plan.get("web").needs_first == ()  # type: ignore[union-attr]


def test_unmaintained_service_with_a_replacement_is_left_out_with_a_sentence() -> None:
    c = cat(svc("navidrome", replaces=("spotify",)),
            svc("airsonic", replaces=("spotify",), replaced_by="navidrome"))
    plan = build_plan(c, ans(("spotify",)), Progress(), TODAY)
    assert order(plan) == ["navidrome"]
    assert len(plan.excluded) == 1 and "Navidrome instead" in plan.excluded[0]


# --- ways ----------------------------------------------------------------------------------


def test_not_enough_ram_falls_back_to_vps_then_public_with_the_reason() -> None:
    big = svc("big", ram=2048)
    home_only = ans(pi_ram_mb=1024)
    step = build_plan(cat(big), home_only, Progress(), TODAY).steps[0]
    assert step.way == "public"
    assert "needs 2 GB of memory, your Pi has 1 GB" in step.way_reason
    assert step.way_reason.count(".") == 1 and step.way_reason.endswith(".")
    with_vps = ans(hardware=("pi", "vps"), vps_ram_mb=4096)
    step = build_plan(cat(big), with_vps, Progress(), TODAY).steps[0]
    assert step.way == "vps"
    assert "needs 2 GB of memory, your Pi has 1 GB" in step.way_reason
    small_vps = ans(hardware=("pi", "vps"), vps_ram_mb=1024)
    assert build_plan(cat(big), small_vps, Progress(), TODAY).steps[0].way == "public"
    assert build_plan(cat(big), ans(pi_ram_mb=4096), Progress(), TODAY).steps[0].way == "home"


def test_arch_domain_and_residential_rules() -> None:
    only64 = svc("only64", arch=("x86_64", "aarch64"))
    assert build_plan(cat(only64), ans(pi_arch="armv7l"), Progress(), TODAY).steps[0].way \
        == "public"
    step = build_plan(cat(only64), ans(pi_arch=None), Progress(), TODAY).steps[0]
    assert step.way == "public" and "64-bit" in step.way_reason
    assert build_plan(cat(only64), ans(pi_arch="aarch64"), Progress(), TODAY).steps[0].way \
        == "home"
    fed = svc("fed", domain=True)
    step = build_plan(cat(fed), ans(has_domain=False), Progress(), TODAY).steps[0]
    assert step.way == "public" and "domain name" in step.way_reason
    nores = svc("nores", residential=False)
    step = build_plan(cat(nores), ans(hardware=("pi", "vps")), Progress(), TODAY).steps[0]
    assert step.way == "vps"
    lan = svc("lan", lan_only=True)
    step = build_plan(cat(lan), ans(hardware=("vps",)), Progress(), TODAY).steps[0]
    assert step.way == "public" and "home network" in step.way_reason


def test_mail_only_ever_on_a_vps_with_the_reason() -> None:
    mail = svc("mail", category="email", replaces=("gmail",), ram=512)
    assert is_mail(mail)
    home = build_plan(cat(mail), ans(("gmail",), hardware=("pi", "pc"), pi_ram_mb=8192),
                      Progress(), TODAY).steps[0]
    assert home.way == "public"
    assert "Mail is only offered on a VPS" in home.way_reason
    assert "spam" in home.way_reason
    vps = build_plan(cat(mail), ans(("gmail",), hardware=("pi", "vps"), vps_ram_mb=2048),
                     Progress(), TODAY).steps[0]
    assert vps.way == "vps" and "Mail is only offered on a VPS" in vps.way_reason
    assert not check_home(mail, ans(pi_ram_mb=8192))[0]


def test_every_step_offers_a_public_way_even_when_the_manifest_has_none() -> None:
    c = cat(svc("homeonly", ways=("home",)), svc("all"))
    plan = build_plan(c, ans(), Progress(), TODAY)
    for step in plan.steps:
        assert step.ways[0].kind == "public" and step.ways[0].possible
    assert [w.kind for w in plan.get("homeonly").ways] == ["public", "home"]  # type: ignore[union-attr]


def test_a_beginner_gets_a_public_instance_for_a_hard_service() -> None:
    hard = svc("hard", difficulty="hard")
    step = build_plan(cat(hard), ans(skill="beginner"), Progress(), TODAY).steps[0]
    assert step.way == "public" and "hard to run" in step.way_reason
    assert build_plan(cat(hard), ans(skill="comfortable"), Progress(), TODAY).steps[0].way \
        == "home"


def test_a_service_for_one_os_never_goes_on_a_home_machine() -> None:
    ubuntu = svc("ubuntuonly", os=("ubuntu-22.04",))
    step = build_plan(cat(ubuntu), ans(hardware=("pi", "vps")), Progress(), TODAY).steps[0]
    assert step.way == "vps"
    assert "It runs only on Ubuntu 22.04" in step.way_reason
    vps_way = next(w for w in step.ways if w.kind == "vps")
    assert "needs a fresh Ubuntu 22.04 server" in vps_way.reason
    assert build_plan(cat(ubuntu), ans(), Progress(), TODAY).steps[0].way == "public"
    debian = svc("debianok", os=("debian-12", "ubuntu-22.04"))
    assert build_plan(cat(debian), ans(), Progress(), TODAY).steps[0].way == "home"


def test_detected_disk_space_is_respected() -> None:
    big = svc("bigdisk", disk=5000)
    step = build_plan(cat(big), ans(this_machine="pi", disk_free_mb=2048), Progress(),
                      TODAY).steps[0]
    assert step.way == "public"
    assert "needs 4.9 GB of disk space, your Pi has 2 GB free" in step.way_reason
    # Disk measured on the VPS says nothing about the Pi.
    both = ans(hardware=("pi", "vps"), this_machine="vps", disk_free_mb=2048)
    assert build_plan(cat(big), both, Progress(), TODAY).steps[0].way == "home"
    assert build_plan(cat(big), ans(), Progress(), TODAY).steps[0].way == "home"


def test_detected_pc_memory_replaces_the_assumption() -> None:
    mid = svc("mid", ram=3000, arch=("x86_64",))
    assert build_plan(cat(mid), ans(hardware=("pc",)), Progress(), TODAY).steps[0].way \
        == "public"
    step = build_plan(cat(mid), ans(hardware=("pc",), pc_ram_mb=16000, this_machine="pc"),
                      Progress(), TODAY).steps[0]
    assert step.way == "home" and "your spare computer has 15.6 GB" in step.way_reason


def test_a_guessed_memory_size_is_said_to_be_a_guess() -> None:
    mid = svc("mid", ram=1500, arch=("x86_64",))
    step = build_plan(cat(mid), ans(hardware=("pc",)), Progress(), TODAY).steps[0]
    assert step.way == "home"
    assert step.way_reason == ("It runs on your spare computer: it needs 1.5 GB of memory and "
                               "your spare computer has 2 GB (a guess: tell roost the real size "
                               "in your answers).")
    step = build_plan(cat(mid), ans(hardware=("vps",)), Progress(), TODAY).steps[0]
    assert step.way == "public" and "your VPS has 1 GB (a guess" in step.way_reason


def test_spare_pc_counts_as_home_x86() -> None:
    only_x86 = svc("x86", arch=("x86_64",))
    step = build_plan(cat(only_x86), ans(hardware=("pc",)), Progress(), TODAY).steps[0]
    assert step.way == "home" and "spare computer" in step.way_reason


# --- states and pace -----------------------------------------------------------------------


def test_done_skipped_failed_started_and_the_one_next() -> None:
    c = cat(*(svc(f"s{i}", replaces=("whatsapp",), minutes=10 + i) for i in range(5)))
    p = prog(("done", "s0", TODAY), ("skipped", "s1", TODAY), ("started", "s2", TODAY),
             ("failed", "s4", TODAY))
    plan = build_plan(c, ans(("whatsapp",), pace="fast"), p, TODAY)
    assert [s.state for s in plan.steps] == ["done", "skipped", "started", "next", "failed"]
    assert plan.get("s1").reason == "why"  # type: ignore[union-attr]
    # A failed step is retried when it is the first one left.
    p2 = prog(("done", "s0", TODAY), ("failed", "s1", TODAY))
    assert build_plan(c, ans(("whatsapp",)), p2, TODAY).next.service_id == "s1"  # type: ignore[union-attr]


@pytest.mark.parametrize(("pace", "days"), [("days", 3), ("weekly", 7), ("fast", 0)])
def test_not_before_follows_the_pace(pace: str, days: int) -> None:
    c = cat(svc("a", minutes=1), svc("b", minutes=2), svc("c", minutes=3))
    plan = build_plan(c, ans(pace=pace), Progress(), TODAY)
    assert plan.next is not None and plan.next.not_before is None
    p = prog(("done", "a", TODAY))
    plan = build_plan(c, ans(pace=pace), p, TODAY)
    assert plan.next is not None and plan.next.service_id == "b"
    expect = TODAY + timedelta(days=days) if days else None
    assert plan.next.not_before == expect
    assert all(s.not_before is None for s in plan.steps if s.state != "next")
    assert "go ahead now" in plan.next.line(3) or days == 0
    # Once the date has passed, no date is shown.
    later = build_plan(c, ans(pace=pace), p, TODAY + timedelta(days=days))
    assert later.next is not None and later.next.not_before is None


def test_step_line_reads_aloud() -> None:
    c = cat(svc("prosody", replaces=("whatsapp",)), svc("other"))
    plan = build_plan(c, ans(("whatsapp",)), Progress(), TODAY)
    assert plan.steps[0].line(2) == "1 of 2: Prosody, next. Replaces WhatsApp. Way: at home."


def test_undone_events_do_not_count() -> None:
    c = cat(svc("a", minutes=1), svc("b", minutes=2))
    p = prog(("done", "a", TODAY))
    p = p.with_event(Event("undone", at(TODAY), "a", {"index": 0}))
    plan = build_plan(c, ans(), p, TODAY)
    assert plan.next is not None and plan.next.service_id == "a"


# --- properties ----------------------------------------------------------------------------

ARCHES = ("x86_64", "aarch64", "armv7l")
PIDS = tuple(p.id for p in PLATFORMS)

services_st = st.lists(
    st.builds(
        lambda i, rep, diff, mins, ram, arch, dom, res, lan, ways, ident, cat_, disk, os_: svc(
            f"svc{i}", replaces=tuple(rep), difficulty=diff, minutes=mins, ram=ram,
            disk=disk, os=os_,
            arch=tuple(a for a in ARCHES if a in arch) or ("x86_64",), domain=dom,
            residential=res, lan_only=lan,
            ways=tuple(w for w in ("public", "home", "vps") if w in ways) or ("public",),
            identities=tuple(ident), category=cat_),
        st.integers(0, 10_000),
        st.sets(st.sampled_from(PIDS), max_size=2),
        st.sampled_from(("easy", "medium", "hard")),
        st.integers(1, 600),
        st.sampled_from((16, 64, 256, 512, 1024, 2048, 4096)),
        st.sets(st.sampled_from(ARCHES), min_size=1),
        st.booleans(), st.booleans(), st.booleans(),
        st.sets(st.sampled_from(("public", "home", "vps")), min_size=1),
        st.sets(st.sampled_from(("ssh", "xmpp", "fediverse", "tor")), max_size=2),
        st.sampled_from(("chat", "email", "social", "music")),
        st.sampled_from((10, 1000, 20_000)),
        st.sampled_from(((), ("ubuntu-22.04",), ("debian-12",))),
    ),
    min_size=1, max_size=12, unique_by=lambda s: s.id,
)

answers_st = st.builds(
    lambda uses, hw, dom, skill, pace, pram, parch, vram, cram, here, disk: ans(
        tuple(sorted(uses)), tuple(h for h in HARDWARE if h in hw), has_domain=dom, skill=skill,
        pace=pace, pi_ram_mb=pram, pi_arch=parch, vps_ram_mb=vram, pc_ram_mb=cram,
        this_machine=here, disk_free_mb=disk),
    st.sets(st.sampled_from(PIDS)),
    st.sets(st.sampled_from(HARDWARE)),
    st.booleans(),
    st.sampled_from(SKILL), st.sampled_from(PACE),
    st.sampled_from((None, 512, 1024, 2048, 4096, 8192)),
    st.sampled_from((None, "aarch64", "armv7l")),
    st.sampled_from((None, 512, 1024, 2048, 8192)),
    st.sampled_from((None, 1024, 16000)),
    st.sampled_from((None, *HARDWARE)),
    st.sampled_from((None, 500, 5000, 50_000)),
)


@st.composite
def progress_st(draw: st.DrawFn, ids: list[str]) -> Progress:
    events = []
    for _ in range(draw(st.integers(0, 2 * len(ids)))):
        kind = draw(st.sampled_from(("started", "done", "skipped", "failed")))
        day = TODAY - timedelta(days=draw(st.integers(0, 20)))
        events.append(Event(kind, at(day), draw(st.sampled_from(ids)), {}))
    return Progress(tuple(events))


@st.composite
def inputs(draw: st.DrawFn) -> tuple[Catalog, Answers, Progress]:
    services = draw(services_st)
    return cat(*services), draw(answers_st), draw(progress_st([s.id for s in services]))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(inputs())
def test_property_same_inputs_same_plan(data: tuple[Catalog, Answers, Progress]) -> None:
    c, a, p = data
    first = build_plan(c, a, p, TODAY)
    assert build_plan(c, a, p, TODAY) == first
    # The catalog's order does not matter either.
    shuffled = Catalog(tuple(reversed(c.services)), c.platforms)
    assert build_plan(shuffled, a, p, TODAY) == first


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(inputs())
def test_property_exactly_one_next_unless_all_finished(
        data: tuple[Catalog, Answers, Progress]) -> None:
    c, a, p = data
    plan = build_plan(c, a, p, TODAY)
    nexts = [s for s in plan.steps if s.state == "next"]
    open_ = [s for s in plan.steps if s.state not in ("done", "skipped", "started")]
    assert len(nexts) == (1 if open_ else 0)
    assert plan.next == (nexts[0] if nexts else None)
    assert all(s.state in STATES for s in plan.steps)
    assert [s.position for s in plan.steps] == list(range(1, len(plan.steps) + 1))
    if nexts:  # the next is the first step still open
        assert nexts[0] == open_[0]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(inputs())
def test_property_never_a_self_hosted_way_that_breaks_requirements(
        data: tuple[Catalog, Answers, Progress]) -> None:
    c, a, p = data
    plan = build_plan(c, a, p, TODAY)
    for step in plan.steps:
        s = c.get(step.service_id)
        assert s is not None
        r = s.requirements
        assert step.ways[0].kind == "public"
        assert step.way_reason.endswith(".") and "\n" not in step.way_reason
        assert step.way in {w.kind for w in step.ways if w.possible}
        if step.way == "home":
            assert s.way("home") is not None and not is_mail(s)
            assert r.residential_ok
            assert not r.needs_domain or a.has_domain
            assert not r.os or any(o.startswith(("debian-", "raspbian-")) for o in r.os)
            home_kind = "pi" if "pi" in a.hardware else "pc"
            if a.this_machine == home_kind and a.disk_free_mb is not None:
                assert r.disk_mb <= a.disk_free_mb
            if "pi" in a.hardware:
                assert r.ram_mb <= (a.pi_ram_mb or 1024)
                arches = [a.pi_arch] if a.pi_arch else ["aarch64", "armv7l"]
                assert all(x in r.arch for x in arches)
            else:
                assert "pc" in a.hardware and "x86_64" in r.arch
                assert r.ram_mb <= (a.pc_ram_mb or 2048)
        if step.way == "vps":
            assert "vps" in a.hardware and s.way("vps") is not None and not r.lan_only
            assert r.ram_mb <= (a.vps_ram_mb or 1024)
            assert not r.needs_domain or a.has_domain
            if a.this_machine == "vps" and a.disk_free_mb is not None:
                assert r.disk_mb <= a.disk_free_mb
        if is_mail(s):
            assert step.way in ("vps", "public")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(inputs())
def test_property_relevant_steps_before_the_rest_and_easy_before_hard(
        data: tuple[Catalog, Answers, Progress]) -> None:
    c, a, p = data
    plan = build_plan(c, a, p, TODAY)
    steps = [s for s in plan.steps if not any(i in ("ssh", "wireguard", "tor")
                                               for i in s.identities)]
    keys = [(0 if s.relevant and not s.alternative else 1 if s.relevant else 2,
             {"easy": 0, "medium": 1, "hard": 2}[s.difficulty]) for s in steps]
    assert keys == sorted(keys)
    # Every platform they use that something replaces has a first suggestion.
    for pid in a.uses:
        firsts = [s for s in steps if s.relevant and not s.alternative
                  and pid in (c.get(s.service_id).replaces)]  # type: ignore[union-attr]
        replacing = [s for s in plan.steps if pid in c.get(s.service_id).replaces]  # type: ignore[union-attr]
        if replacing and steps == list(plan.steps):
            assert firsts


# --- the real catalog ----------------------------------------------------------------------


def test_real_catalog_prosody_first_for_a_whatsapp_user_with_a_pi() -> None:
    c = load()
    if c.get("prosody") is None:
        pytest.skip("prosody manifest not in the catalog")
    a = Answers(("whatsapp",), ("pi",), True, "example.org", "beginner", "days", 1024,
                "aarch64", None)
    plan = build_plan(c, a, Progress(), TODAY)
    assert plan.next is not None
    assert plan.next.relevant and "WhatsApp" in plan.next.replaces
    assert plan.get("prosody").way == "home"  # type: ignore[union-attr]
    assert len(plan.steps) >= 1


def test_real_catalog_mail_never_at_home_and_every_step_has_a_public_way() -> None:
    c = load()
    a = Answers(("gmail", "twitter", "youtube"), ("pi", "pc"), True, "example.org",
                "comfortable", "weekly", 8192, "aarch64", None)
    plan = build_plan(c, a, Progress(), TODAY)
    for step in plan.steps:
        s = c.get(step.service_id)
        assert s is not None
        assert any(w.kind == "public" for w in step.ways)
        if is_mail(s):
            assert step.way != "home"
    assert sum(1 for s in plan.steps if s.state == "next") == 1


def test_real_catalog_a_one_gb_pi_never_gets_a_heavy_service_at_home() -> None:
    c = load()
    a = Answers((), ("pi",), True, "example.org", "comfortable", "fast", 1024, "armv7l", None)
    plan = build_plan(c, a, Progress(), TODAY)
    for step in plan.steps:
        s = c.get(step.service_id)
        assert s is not None
        if s.requirements.ram_mb > 1024:
            assert step.way != "home"
            assert "1 GB" in step.way_reason or "hard to run" in step.way_reason \
                or "64-bit" in step.way_reason or "does not run" in step.way_reason \
                or "not offered" in step.way_reason or "VPS" in step.way_reason


def test_small_catalog_from_files(tmp_path: Path) -> None:
    (tmp_path / "m").mkdir()
    (tmp_path / "platforms.toml").write_text(
        '[[platform]]\nid = "whatsapp"\nname = "WhatsApp"\ncategory = "chat"\n')
    (tmp_path / "m" / "chat.toml").write_text('''
id = "chat"
name = "Chat"
category = "chat"
replaces = ["whatsapp"]
summary = "s"
why = "w"
protocol = "XMPP"
identities = ["xmpp"]
difficulty = "easy"
time_minutes = 20
sources = ["https://example.org"]
[upstream]
status = "maintained"
url = "https://example.org"
[[adopt]]
kind = "home"
summary = "At home."
[requirements]
ram_mb = 3000
disk_mb = 10
arch = ["aarch64"]
needs_domain = false
inbound_ports = []
residential_ok = true
''')
    c = load_from(tmp_path / "m", tmp_path / "platforms.toml")
    assert c.ids == ("chat",), c.problems
    a = Answers(("whatsapp",), ("pi",), False, None, "some", "days", 2048, "aarch64", None)
    step = build_plan(c, a, Progress(), TODAY).steps[0]
    assert step.way == "public"
    assert "needs 2.9 GB of memory, your Pi has 2 GB" in step.way_reason
    assert step.replaces == ("WhatsApp",)


def test_wordpress_needs_a_login_first_until_one_is_made_and_again_once_removed() -> None:
    catalog = load()
    a = Answers(("hosted-blog",), ("vps",), True, "example.org", "some", "days", None, None,
                vps_ram_mb=2048)
    at = datetime(2026, 11, 25, 12, tzinfo=UTC)
    day = date(2026, 11, 25)

    def needs(p: Progress) -> tuple[str, ...]:
        step = build_plan(catalog, a, p, day).get("wordpress")
        assert step is not None
        return step.needs_first

    made = Event("identity", at, None, {"kind": "login", "public_id": "admin"})
    ssh = Event("identity", at, None, {"kind": "ssh", "public_id": "SHA256:x"})
    assert "login" in needs(Progress())
    assert "login" not in needs(Progress((made, ssh)))
    gone = Event("identity_removed", at, None, {"kind": "login", "public_id": "admin"})
    assert "login" in needs(Progress((made, ssh, gone)))
