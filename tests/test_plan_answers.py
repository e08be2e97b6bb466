"""Assessment questions and answers; host detection parsers on real and sample texts."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from roost.catalog import load
from roost.core.errors import RoostError
from roost.plan.answers import (
    HARDWARE,
    PACE,
    SKILL,
    Answers,
    answers_from_responses,
    questions,
)
from roost.plan.detect import (
    HostFacts,
    detect_local,
    format_mb,
    parse_df,
    parse_meminfo,
    parse_os_release,
    parse_pi_model,
)

PI = HostFacts("aarch64", 3797, 20_000, "debian", "12", "bookworm",
               "Raspberry Pi 4 Model B Rev 1.4", "pi")
LAPTOP = HostFacts("x86_64", 16_000, 100_000, "debian", "12", "bookworm", None, "laptop")
BASE = {"uses": ["whatsapp"], "hardware": ["pi"], "pi_ram_mb": "1024", "pi_arch": "armv7l",
        "has_domain": "yes", "domain": "Example.ORG", "skill": "beginner", "pace": "weekly"}


def test_questions_skip_what_detection_knows() -> None:
    c = load()
    ids = [q.id for q in questions(c, None)]
    assert ids == ["uses", "hardware", "pi_ram_mb", "pi_arch", "vps_ram_mb", "has_domain",
                   "domain", "skill", "pace"]
    # On a computer that is not a Pi, roost asks whether this is the server.
    assert [q.id for q in questions(c, LAPTOP)] == ["uses", "this_machine", *ids[1:]]
    on_pi = [q.id for q in questions(c, PI)]
    assert "pi_ram_mb" not in on_pi and "pi_arch" not in on_pi
    for q in questions(c, None):
        assert q.prompt.endswith("?") and q.prompt.count("?") == 1
        assert q.kind in ("one", "many", "yesno", "text", "number")
        assert all(label and value is not None for value, label in q.choices)
    uses = questions(c, None)[0]
    assert {v for v, _ in uses.choices} == {p.id for p in c.platforms}


def test_conditional_questions() -> None:
    qs = {q.id: q for q in questions(load(), LAPTOP)}
    assert qs["vps_ram_mb"].applies({"hardware": ["vps"], "this_machine": "pc"})
    assert not qs["vps_ram_mb"].applies({"hardware": ["vps"], "this_machine": "vps"})
    assert qs["pi_ram_mb"].applies({"hardware": ["pi", "vps"]})
    assert not qs["pi_ram_mb"].applies({"hardware": ["vps"]})
    assert qs["domain"].applies({"has_domain": True})
    assert not qs["domain"].applies({"has_domain": False})
    assert qs["skill"].applies({})


def test_answers_from_responses_validates_and_normalises() -> None:
    a = answers_from_responses(BASE, LAPTOP, load())
    assert a == Answers(("whatsapp",), ("pi",), True, "example.org", "beginner", "weekly",
                        1024, "armv7l", None)
    # On a Pi, detection wins over what was typed and adds the Pi.
    on_pi = answers_from_responses({**BASE, "hardware": ["vps"], "vps_ram_mb": 2048}, PI)
    assert on_pi.hardware == ("pi", "vps")
    assert (on_pi.pi_ram_mb, on_pi.pi_arch, on_pi.vps_ram_mb) == (3797, "aarch64", 2048)
    # Without the Pi, Pi details are dropped; without a domain, the domain is dropped.
    none = answers_from_responses({**BASE, "hardware": [], "has_domain": False}, None)
    assert (none.hardware, none.pi_ram_mb, none.domain) == ((), None, None)
    # Run on the VPS itself: its memory and free disk are measured, not asked.
    vps = answers_from_responses({**BASE, "hardware": [], "this_machine": "vps",
                                  "vps_ram_mb": 512}, LAPTOP)
    assert (vps.hardware, vps.vps_ram_mb, vps.this_machine, vps.disk_free_mb) == \
        (("vps",), 16_000, "vps", 100_000)
    pc = answers_from_responses({**BASE, "this_machine": "pc"}, LAPTOP)
    assert (pc.hardware, pc.pc_ram_mb, pc.this_machine) == (("pi", "pc"), 16_000, "pc")
    elsewhere = answers_from_responses({**BASE, "this_machine": ""}, LAPTOP)
    assert (elsewhere.this_machine, elsewhere.disk_free_mb) == (None, None)
    # Without facts, a claim about this machine adds nothing measured.
    assert answers_from_responses({**BASE, "this_machine": "vps"}, None).this_machine is None
    # "I am not sure" of the arch stays unknown.
    assert answers_from_responses({**BASE, "pi_arch": ""}, None).pi_arch is None


@pytest.mark.parametrize(("change", "words"), [
    ({"skill": "guru"}, "answer 'skill'"),
    ({"pace": "now"}, "answer 'pace'"),
    ({"hardware": ["mainframe"]}, "answer 'hardware'"),
    ({"uses": ["myspace"]}, "not a platform roost knows"),
    ({"domain": "not a domain"}, "not a valid domain name"),
    ({"has_domain": "maybe"}, "yes or no"),
    ({"pi_ram_mb": "lots"}, "whole number"),
    ({"pi_ram_mb": 3}, "memory size"),
    ({"pi_arch": "sparc"}, "pi_arch"),
    ({"colour": "blue"}, "no question called 'colour'"),
    ({"this_machine": "toaster"}, "answer 'this_machine'"),
])
def test_bad_responses_give_one_clear_line(change: dict[str, object], words: str) -> None:
    with pytest.raises(RoostError) as err:
        answers_from_responses({**BASE, **change}, None, load())
    assert words in str(err.value)
    assert "\n" not in str(err.value)


def test_missing_required_answer() -> None:
    with pytest.raises(RoostError, match="'pace' is missing"):
        answers_from_responses({k: v for k, v in BASE.items() if k != "pace"}, None)


answers_st = st.builds(
    lambda uses, hw, dom, skill, pace, pr, pa, vr, cr, here, disk: Answers(
        tuple(uses), tuple(hw), dom, "example.org" if dom else None, skill, pace,
        pr, pa, vr, cr, here if here in hw else None, disk if here in hw else None),
    st.lists(st.sampled_from(("facebook", "gmail", "whatsapp", "google-drive")), unique=True),
    st.lists(st.sampled_from(HARDWARE), unique=True),
    st.booleans(), st.sampled_from(SKILL), st.sampled_from(PACE),
    st.none() | st.integers(64, 65536), st.sampled_from((None, "aarch64", "armv7l")),
    st.none() | st.integers(64, 65536),
    st.none() | st.integers(64, 65536),
    st.sampled_from((None, *HARDWARE)),
    st.none() | st.integers(0, 10**7),
)


@given(answers_st)
def test_to_dict_from_dict_round_trip(a: Answers) -> None:
    assert Answers.from_dict(a.to_dict()) == a
    assert list(a.hardware) == [h for h in HARDWARE if h in a.hardware]


def test_from_dict_rejects_bad_data() -> None:
    good = Answers(("gmail",), ("vps",), False, None, "some", "fast").to_dict()
    with pytest.raises(RoostError, match="miss the field 'skill'"):
        Answers.from_dict({k: v for k, v in good.items() if k != "skill"})
    with pytest.raises(RoostError, match="unknown field 'extra'"):
        Answers.from_dict({**good, "extra": 1})
    with pytest.raises(RoostError, match="'has_domain' must be true or false"):
        Answers.from_dict({**good, "has_domain": "yes"})
    with pytest.raises(RoostError, match="'domain' is set but 'has_domain' is false"):
        Answers.from_dict({**good, "domain": "example.org"})


# --- detection -----------------------------------------------------------------------------

RPI_OS = '''PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
HOME_URL="https://www.debian.org/"
# a comment
'''
MEMINFO_PI = "MemTotal:        3885032 kB\nMemFree:         2994264 kB\n"
DF = """Filesystem     1024-blocks    Used Available Capacity Mounted on
/dev/root         30358348 4123456  24876544      15% /
"""
DF_SPACES = """Filesystem 1024-blocks Used Available Capacity Mounted on
/dev/mapper/a-b 1000 200 2097152 10% /mnt/my disk
"""


def test_parsers_on_sample_texts() -> None:
    osr = parse_os_release(RPI_OS)
    assert (osr["ID"], osr["VERSION_ID"], osr["VERSION_CODENAME"]) == ("debian", "12", "bookworm")
    assert osr["PRETTY_NAME"] == "Debian GNU/Linux 12 (bookworm)"
    assert parse_os_release('NAME="a \\"quoted\\" name"')["NAME"] == 'a "quoted" name'
    assert parse_meminfo(MEMINFO_PI) == 3794
    assert parse_meminfo("nothing here") is None
    assert parse_df(DF) == 24293
    assert parse_df(DF_SPACES) == 2048
    assert parse_df("") is None and parse_df("Filesystem\n") is None
    assert parse_pi_model("Raspberry Pi 4 Model B Rev 1.4\x00") == "Raspberry Pi 4 Model B Rev 1.4"
    assert parse_pi_model("QEMU Virtual Machine") is None
    assert format_mb(512) == "512 MB" and format_mb(1024) == "1 GB" and format_mb(3000) == "2.9 GB"


def test_parsers_on_this_machine_agree_with_the_system_tools() -> None:
    text = Path("/etc/os-release").read_text()
    ids = dict(line.split("=", 1) for line in subprocess.run(
        ["sh", "-c", ". /etc/os-release; echo ID=$ID; echo VERSION_ID=$VERSION_ID"],
        capture_output=True, text=True, check=True).stdout.split())
    osr = parse_os_release(text)
    assert osr["ID"] == ids["ID"] and osr["VERSION_ID"] == ids["VERSION_ID"]
    df = subprocess.run(["df", "-P", "/"], capture_output=True, text=True, check=True).stdout
    free = os.statvfs("/").f_bavail * os.statvfs("/").f_frsize // (1024 * 1024)
    got = parse_df(df)
    assert got is not None and abs(got - free) <= max(64, free // 100)
    pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // (1024 * 1024)
    ram = parse_meminfo(Path("/proc/meminfo").read_text())
    assert ram is not None and abs(ram - pages) <= 2


def test_detect_local() -> None:
    facts = detect_local()
    assert facts.arch == {"amd64": "x86_64", "arm64": "aarch64"}.get(
        platform.machine(), platform.machine())
    assert facts.ram_mb and facts.ram_mb > 100
    assert facts.disk_free_mb is not None and facts.disk_free_mb >= 0
    assert facts.os_id == parse_os_release(Path("/etc/os-release").read_text())["ID"]
    model = Path("/proc/device-tree/model")
    assert facts.is_pi == (model.exists() and model.read_text().startswith("Raspberry Pi"))
    assert facts.describe().endswith(".")


def test_detect_local_reads_free_space_without_running_df(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """On this machine the free space comes from statvfs (shutil.disk_usage): a `df` first on
    PATH is never run (over SSH, a remote host's df output is what gets parsed)."""
    import shutil

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    ran = tmp_path / "df-ran"
    (bin_dir / "df").write_text(f"#!/bin/sh\ntouch {ran}\nexit 1\n")
    (bin_dir / "df").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ.get('PATH', '')}")
    facts = detect_local(tmp_path)
    assert not ran.exists()
    free = shutil.disk_usage(tmp_path).free // (1024 * 1024)
    assert facts.disk_free_mb is not None and abs(facts.disk_free_mb - free) <= 64


def test_detect_local_on_a_fake_pi_root(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/os-release").write_text(RPI_OS)
    (tmp_path / "proc/device-tree").mkdir(parents=True)
    (tmp_path / "proc/meminfo").write_text(MEMINFO_PI)
    (tmp_path / "proc/device-tree/model").write_bytes(b"Raspberry Pi 3 Model B Plus Rev 1.3\x00")
    facts = detect_local(tmp_path)
    assert facts.pi_model == "Raspberry Pi 3 Model B Plus Rev 1.3"
    assert facts.ram_mb == 3794 and facts.os_codename == "bookworm"
    assert facts.describe().startswith("This is Raspberry Pi 3 Model B Plus Rev 1.3 with 3.7 GB")
