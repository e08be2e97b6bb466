"""The assessment: what the person uses, has and wants, as questions and validated answers.

`questions()` lists what to ask, leaving out what detection on this machine already knows.
`answers_from_responses()` turns what the person chose (from the TUI, the CLI or an answers
file) into `Answers`, with one clear line for anything wrong.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from roost.core import validate
from roost.core.errors import RoostError

if TYPE_CHECKING:
    from roost.catalog.model import Catalog
    from roost.plan.detect import HostFacts

HARDWARE = ("pi", "vps", "pc")
SKILL = ("beginner", "some", "comfortable")
PACE = ("days", "weekly", "fast")
PI_ARCHES = ("aarch64", "armv7l")
QUESTION_KINDS = ("one", "many", "yesno", "text", "number")

HARDWARE_LABELS = {
    "pi": "a Raspberry Pi at home",
    "vps": "a rented server (a VPS)",
    "pc": "a spare computer at home that stays on",
}
SKILL_LABELS = {
    "beginner": "new to this: I would rather follow simple steps",
    "some": "I have used a terminal a few times",
    "comfortable": "comfortable: I run servers already",
}
PACE_LABELS = {
    "days": "one service today, another in a few days",
    "weekly": "one service a week",
    "fast": "as fast as possible",
}
RAM_CHOICES = (
    ("512", "512 MB (Pi Zero, Pi 1 or an early Pi 2)"),
    ("1024", "1 GB (Pi 3 or a small Pi 4)"),
    ("2048", "2 GB"),
    ("4096", "4 GB"),
    ("8192", "8 GB or more"),
)
VPS_RAM_CHOICES = (
    ("512", "512 MB"),
    ("1024", "1 GB"),
    ("2048", "2 GB"),
    ("4096", "4 GB"),
    ("8192", "8 GB or more"),
)


@dataclass(frozen=True)
class Answers:
    uses: tuple[str, ...]
    """Platform ids from catalog/platforms.toml."""
    hardware: tuple[str, ...]
    """A subset of HARDWARE, in HARDWARE order; empty means none."""
    has_domain: bool
    domain: str | None
    skill: str
    pace: str
    pi_ram_mb: int | None = None
    pi_arch: str | None = None
    vps_ram_mb: int | None = None
    pc_ram_mb: int | None = None
    """Only when detected (roost ran on the spare computer); otherwise 2 GB is assumed."""
    this_machine: str | None = None
    """Which of HARDWARE the machine roost ran the assessment on is, when it is one of them."""
    disk_free_mb: int | None = None
    """Free disk of `this_machine`, detected."""

    def __post_init__(self) -> None:
        _check(self)

    def to_dict(self) -> dict[str, Any]:
        """A TOML-ready table (None values are left out)."""
        d: dict[str, Any] = {
            "uses": list(self.uses),
            "hardware": list(self.hardware),
            "has_domain": self.has_domain,
            "skill": self.skill,
            "pace": self.pace,
        }
        for key in ("domain", "pi_ram_mb", "pi_arch", "vps_ram_mb", "pc_ram_mb", "this_machine",
                    "disk_free_mb"):
            value = getattr(self, key)
            if value is not None:
                d[key] = value
        return d

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], what: str = "answers") -> Answers:
        """Rebuild answers saved by to_dict; RoostError naming the field when wrong."""
        if not isinstance(data, Mapping):
            raise RoostError(f"the {what} are not a table", hint="run roost assess again")
        known = {"uses", "hardware", "has_domain", "domain", "skill", "pace",
                 "pi_ram_mb", "pi_arch", "vps_ram_mb", "pc_ram_mb", "this_machine",
                 "disk_free_mb"}
        extra = sorted(set(data) - known)
        if extra:
            raise RoostError(f"the {what} have an unknown field {extra[0]!r}",
                             hint=f"use only {', '.join(sorted(known))}")
        for key in ("uses", "hardware", "has_domain", "skill", "pace"):
            if key not in data:
                raise RoostError(f"the {what} miss the field {key!r}",
                                 hint="run roost assess again")
        return cls(
            uses=_str_tuple(data["uses"], "uses", what),
            hardware=_str_tuple(data["hardware"], "hardware", what),
            has_domain=_bool(data["has_domain"], "has_domain", what),
            domain=_opt_str(data.get("domain"), "domain", what),
            skill=_str(data["skill"], "skill", what),
            pace=_str(data["pace"], "pace", what),
            pi_ram_mb=_opt_int(data.get("pi_ram_mb"), "pi_ram_mb", what),
            pi_arch=_opt_str(data.get("pi_arch"), "pi_arch", what),
            vps_ram_mb=_opt_int(data.get("vps_ram_mb"), "vps_ram_mb", what),
            pc_ram_mb=_opt_int(data.get("pc_ram_mb"), "pc_ram_mb", what),
            this_machine=_opt_str(data.get("this_machine"), "this_machine", what),
            disk_free_mb=_opt_int(data.get("disk_free_mb"), "disk_free_mb", what),
        )


def _check(a: Answers) -> None:
    """Validate every field; raise RoostError with one line naming the field."""
    for field_name, value in (("uses", a.uses), ("hardware", a.hardware)):
        if not isinstance(value, tuple) or not all(isinstance(x, str) for x in value):
            raise RoostError(f"answer {field_name!r} must be a list of names")
        if len(set(value)) != len(value):
            raise RoostError(f"answer {field_name!r} lists the same entry twice")
    for u in a.uses:
        if not u or len(u) > 41 or not all(c.islower() or c.isdigit() or c == "-" for c in u):
            raise RoostError(f"answer 'uses' has {u[:40]!r}, which is not a platform id",
                             hint="use ids like facebook or google-drive")
    bad = [h for h in a.hardware if h not in HARDWARE]
    if bad:
        raise RoostError(f"answer 'hardware' has {bad[0][:40]!r}",
                         hint=f"use any of {', '.join(HARDWARE)}, or none")
    if tuple(h for h in HARDWARE if h in a.hardware) != a.hardware:
        object.__setattr__(a, "hardware", tuple(h for h in HARDWARE if h in a.hardware))
    if a.skill not in SKILL:
        raise RoostError(f"answer 'skill' is {str(a.skill)[:40]!r}",
                         hint=f"use one of {', '.join(SKILL)}")
    if a.pace not in PACE:
        raise RoostError(f"answer 'pace' is {str(a.pace)[:40]!r}",
                         hint=f"use one of {', '.join(PACE)}")
    if not isinstance(a.has_domain, bool):
        raise RoostError("answer 'has_domain' must be true or false")
    if a.domain is not None:
        if not a.has_domain:
            raise RoostError("answer 'domain' is set but 'has_domain' is false",
                             hint="set has_domain = true or leave the domain out")
        object.__setattr__(a, "domain", validate.domain(a.domain))
    if a.this_machine is not None and a.this_machine not in a.hardware:
        raise RoostError(f"answer 'this_machine' is {str(a.this_machine)[:40]!r}",
                         hint="it must be one of the machines under 'hardware'")
    if a.disk_free_mb is not None and (not isinstance(a.disk_free_mb, int)
                                       or isinstance(a.disk_free_mb, bool)
                                       or a.disk_free_mb < 0):
        raise RoostError("answer 'disk_free_mb' must be a whole number of MB")
    for name in ("pi_ram_mb", "vps_ram_mb", "pc_ram_mb"):
        v = getattr(a, name)
        if v is not None and (not isinstance(v, int) or isinstance(v, bool)
                              or not 64 <= v <= 4_194_304):
            raise RoostError(f"answer {name!r} must be a memory size in MB, like 1024",
                             hint="use a whole number from 64 up")
    if a.pi_arch is not None and a.pi_arch not in PI_ARCHES:
        raise RoostError(f"answer 'pi_arch' is {str(a.pi_arch)[:40]!r}",
                         hint=f"use one of {', '.join(PI_ARCHES)}, or leave it out if unsure")


def _str(v: object, key: str, what: str) -> str:
    if not isinstance(v, str):
        raise RoostError(f"the {what} field {key!r} must be text")
    return v


def _opt_str(v: object, key: str, what: str) -> str | None:
    if v is None or v == "":
        return None
    return _str(v, key, what)


def _bool(v: object, key: str, what: str) -> bool:
    if not isinstance(v, bool):
        raise RoostError(f"the {what} field {key!r} must be true or false")
    return v


def _opt_int(v: object, key: str, what: str) -> int | None:
    if v is None:
        return None
    if isinstance(v, str) and v.strip().isdigit():
        return int(v.strip())
    if not isinstance(v, int) or isinstance(v, bool):
        raise RoostError(f"the {what} field {key!r} must be a whole number")
    return v


def _str_tuple(v: object, key: str, what: str) -> tuple[str, ...]:
    if isinstance(v, str):
        v = [v] if v else []
    if not isinstance(v, (list, tuple)) or not all(isinstance(x, str) for x in v):
        raise RoostError(f"the {what} field {key!r} must be a list of names")
    return tuple(v)


@dataclass(frozen=True)
class Question:
    id: str
    prompt: str
    """One sentence, read aloud."""
    kind: str
    """one, many, yesno, text or number."""
    choices: tuple[tuple[str, str], ...] = ()
    """(value, label) pairs; labels read well aloud."""
    help: str = ""
    only_if: tuple[str, str] | None = None
    """Ask only when the answer to question only_if[0] is (or includes) only_if[1]."""
    optional: bool = False
    """An empty answer is fine (a text or many question)."""
    unless: tuple[str, str] | None = None
    """Do not ask when the answer to unless[0] is (or includes) unless[1]."""

    def applies(self, responses: Mapping[str, object]) -> bool:
        """Whether to ask this question, given the responses so far."""
        if self.unless is not None and _matches(responses, *self.unless):
            return False
        return self.only_if is None or _matches(responses, *self.only_if)


def check_response(q: Question, value: object) -> object:
    """One answer checked as it is given (the same rules `answers_from_responses` applies
    to all of them): the value to keep, or a RoostError saying why it cannot be used."""
    if q.kind == "number" and value not in (None, ""):
        if not isinstance(value, str | int) or isinstance(value, bool) \
                or not str(value).isdigit():
            raise RoostError(f"{str(value)[:20]!r} is not a whole number",
                             hint="type a whole number, like 1024")
        n = int(value)
        if q.id.endswith("_ram_mb") and not 64 <= n <= 4_194_304:
            raise RoostError(f"{n} MB is not a memory size roost can use",
                             hint="type the memory in MB, from 64 up, like 1024")
        return str(n)
    if q.id == "domain" and isinstance(value, str) and value.strip():
        return validate.domain(value.strip())
    return value


def _matches(responses: Mapping[str, object], qid: str, value: str) -> bool:
    got = responses.get(qid)
    if isinstance(got, (list, tuple)):
        return value in got
    if isinstance(got, bool):
        return (value == "yes") == got
    return got == value


def questions(catalog: Catalog, facts: HostFacts | None) -> tuple[Question, ...]:
    """The assessment questions in the order to ask them, minus what detection knows."""
    on_pi = facts is not None and facts.pi_model is not None
    here = facts is not None and not on_pi
    qs: list[Question] = [
        Question(
            "uses", "Which of these do you use now?", "many",
            tuple((p.id, p.name) for p in catalog.platforms),
            help="Pick all that apply. Roost suggests first what replaces these.",
            optional=True,
        ),
    ]
    if here and facts is not None:
        qs.append(Question(
            "this_machine", "Will your services run on this computer?", "one",
            (("vps", "yes, this is my rented server (VPS)"),
             ("pc", "yes, this is my spare computer at home"),
             ("", "no, they will run on another machine")),
            help=f"{facts.describe()} If it is the server, roost measures it instead of asking.",
            optional=True,
        ))
    qs += [
        Question(
            "hardware", "Which of these machines do you have?", "many",
            tuple((h, HARDWARE_LABELS[h]) for h in HARDWARE),
            help="Pick none if you have none: public instances need no machine at all.",
            optional=True,
        ),
    ]
    if not on_pi:
        qs += [
            Question("pi_ram_mb", "How much memory does your Raspberry Pi have?", "one",
                     RAM_CHOICES, help="It is printed on the board or the box; "
                     "running roost on the Pi finds it out by itself.",
                     only_if=("hardware", "pi")),
            Question("pi_arch", "Does your Pi run a 64-bit system?", "one",
                     (("aarch64", "yes, 64-bit"), ("armv7l", "no, 32-bit"),
                      ("", "I am not sure")),
                     help="Raspberry Pi OS says 64-bit in its download name; "
                     "if unsure, roost picks only what runs on both.",
                     only_if=("hardware", "pi"), optional=True),
        ]
    qs += [
        Question("vps_ram_mb", "How much memory does your rented server have?", "one",
                 VPS_RAM_CHOICES, help="Your provider's control panel shows it.",
                 only_if=("hardware", "vps"), unless=("this_machine", "vps")),
        Question("has_domain", "Do you own a domain name, like example.org?", "yesno",
                 (("yes", "yes"), ("no", "no")),
                 help="Chat and social servers that talk to others need one."),
        Question("domain", "What is your domain name?", "text",
                 help="Leave it empty to type it later.", only_if=("has_domain", "yes"),
                 optional=True),
        Question("skill", "How comfortable are you with technical work?", "one",
                 tuple((s, SKILL_LABELS[s]) for s in SKILL),
                 help="Roost suggests easier services and public instances first "
                 "when you are new to this."),
        Question("pace", "At what pace would you like to move?", "one",
                 tuple((p, PACE_LABELS[p]) for p in PACE),
                 help="You can always go ahead sooner; the pace only sets suggested dates."),
    ]
    return tuple(qs)


def measured_answers(hosts: Mapping[str, Mapping[str, Any]]) -> dict[str, tuple[object, str]]:
    """Answers that `roost host facts` already measured, so the questions are not asked:
    question id -> (value, a sentence saying the value used and where it was measured).

    `hosts` maps each host's name to its cached facts (as hosts.toml keeps them). A Raspberry
    Pi among them gives the Pi's memory and whether its system is 64-bit."""
    from roost.plan.detect import format_mb

    out: dict[str, tuple[object, str]] = {}
    for name in sorted(hosts):
        f = hosts[name]
        if not f.get("pi_model"):
            continue
        ram = f.get("ram_mb")
        if isinstance(ram, int) and not isinstance(ram, bool) and ram >= 64 \
                and "pi_ram_mb" not in out:
            out["pi_ram_mb"] = (ram, f"Your Raspberry Pi's memory: {format_mb(ram)}, as roost "
                                     f"measured on {name}.")
        arch = f.get("arch")
        if arch in PI_ARCHES and "pi_arch" not in out:
            bits = "64" if arch == "aarch64" else "32"
            out["pi_arch"] = (arch, f"Your Pi runs a {bits}-bit system, as roost measured on "
                                    f"{name}.")
    return out


def _yes(v: object, key: str) -> bool:
    if isinstance(v, bool):
        return v
    if isinstance(v, str) and v.strip().lower() in ("yes", "y", "true", "1"):
        return True
    if isinstance(v, str) and v.strip().lower() in ("no", "n", "false", "0"):
        return False
    raise RoostError(f"answer {key!r} must be yes or no")


def _names(v: object, key: str) -> tuple[str, ...]:
    if v is None:
        return ()
    if isinstance(v, str):
        return tuple(x.strip() for x in v.replace(",", " ").split() if x.strip())
    if isinstance(v, (list, tuple)) and all(isinstance(x, str) for x in v):
        return tuple(dict.fromkeys(x.strip() for x in v if x.strip()))
    raise RoostError(f"answer {key!r} must be a list of names")


def answers_from_responses(
    responses: Mapping[str, object],
    facts: HostFacts | None,
    catalog: Catalog | None = None,
) -> Answers:
    """Validated Answers from the raw responses (question id -> value).

    Values may be strings (as typed), lists, bools or ints. Detected facts fill the Pi's
    memory and architecture. With a catalog, platform ids are checked against it.
    """
    if not isinstance(responses, Mapping):
        raise RoostError("the answers are not a table of question ids and values")
    known = {"uses", "hardware", "this_machine", "pi_ram_mb", "pi_arch", "vps_ram_mb",
             "has_domain", "domain", "skill", "pace"}
    extra = sorted(str(k) for k in responses if k not in known)
    if extra:
        raise RoostError(f"there is no question called {extra[0][:40]!r}",
                         hint=f"the questions are {', '.join(sorted(known))}")
    for key in ("skill", "pace", "has_domain"):
        if key not in responses:
            raise RoostError(f"the answer to {key!r} is missing")
    uses = _names(responses.get("uses"), "uses")
    if catalog is not None:
        pids = {p.id for p in catalog.platforms}
        bad = [u for u in uses if u not in pids]
        if bad:
            raise RoostError(f"{bad[0][:40]!r} is not a platform roost knows",
                             hint=f"use any of {', '.join(sorted(pids))}")
    hardware = _names(responses.get("hardware"), "hardware")
    if "none" in hardware and len(hardware) == 1:
        hardware = ()
    on_pi = facts is not None and facts.pi_model is not None
    here = _opt_str(responses.get("this_machine"), "this_machine", "answers")
    if here is not None and here not in ("vps", "pc"):
        raise RoostError(f"answer 'this_machine' is {here[:40]!r}",
                         hint="use vps, pc, or leave it empty for another machine")
    if facts is None:
        here = None  # nothing was measured, so nothing to take from this machine
    if on_pi:
        here = "pi"
    if here is not None and here not in hardware:
        hardware = (*hardware, here)
    pi_ram = _opt_int(responses.get("pi_ram_mb"), "pi_ram_mb", "answers")
    arch_raw = responses.get("pi_arch")
    pi_arch = _opt_str(arch_raw, "pi_arch", "answers")
    if on_pi and facts is not None:
        pi_ram = facts.ram_mb
        pi_arch = facts.arch if facts.arch in PI_ARCHES else None
    vps_ram = _opt_int(responses.get("vps_ram_mb"), "vps_ram_mb", "answers")
    pc_ram: int | None = None
    disk: int | None = None
    if here is not None and facts is not None:
        disk = facts.disk_free_mb
        if here == "vps":
            vps_ram = facts.ram_mb
        elif here == "pc":
            pc_ram = facts.ram_mb
    has_domain = _yes(responses["has_domain"], "has_domain")
    domain = _opt_str(responses.get("domain"), "domain", "answers") if has_domain else None
    skill = _str(responses["skill"], "skill", "answers").strip()
    pace = _str(responses["pace"], "pace", "answers").strip()
    if "pi" not in hardware:
        pi_ram, pi_arch = None, None
    if "vps" not in hardware:
        vps_ram = None
    return Answers(
        uses=uses,
        hardware=tuple(h for h in HARDWARE if h in hardware) if set(hardware) <= set(HARDWARE)
        else hardware,
        has_domain=has_domain,
        domain=domain,
        skill=skill,
        pace=pace,
        pi_ram_mb=pi_ram,
        pi_arch=pi_arch,
        vps_ram_mb=vps_ram,
        pc_ram_mb=pc_ram,
        this_machine=here if here in hardware else None,
        disk_free_mb=disk if here in hardware else None,
    )
