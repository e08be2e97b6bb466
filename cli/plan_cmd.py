"""`roost assess`, `plan`, `next`, `status`, `done`, `skip`, `undo`, `reset`, `history`,
`progress export`, `progress import`.

Every line reads well aloud. Anything the person can get wrong (an unknown id, a broken answers
file) is one line on stderr and exit code 2, raised as RoostError and printed by cli.main.
"""

from __future__ import annotations

import argparse
import json
import sys
import tomllib
from dataclasses import asdict
from datetime import date
from pathlib import Path
from typing import Any, TextIO

from roost.core import paths
from roost.core.errors import RoostError
from roost.core.text import count
from roost.plan.answers import (
    Answers,
    Question,
    answers_from_responses,
    measured_answers,
    questions,
)
from roost.plan.detect import format_mb
from roost.plan.planner import IDENTITY_WORDS, WAY_NAMES, Plan, Step
from roost.plan.progress import ports_words
from roost.plan.workspace import Workspace, shown


def register(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser("assess", help="answer a few questions so roost can plan with you")
    p.add_argument("--answers", metavar="FILE.toml", type=Path,
                   help="read the answers from a TOML file instead of asking (every key, "
                   "with an example: docs/answers.md)")
    p.set_defaults(handler=run_assess)

    for name, helptext, fn in (
        ("plan", "your whole plan, one service a line", run_plan),
        ("next", "what to do next, in detail", run_next),
        ("status", "how far you are", run_status),
    ):
        p = sub.add_parser(name, help=helptext)
        p.add_argument("--json", action="store_true", help="print JSON instead")
        p.set_defaults(handler=fn)

    p = sub.add_parser("done", help="mark a step done")
    p.add_argument("id", help="the service id, as roost plan shows it")
    p.set_defaults(handler=run_done)

    p = sub.add_parser("skip", help="skip a step, saying why")
    p.add_argument("id", help="the service id, as roost plan shows it")
    p.add_argument("--reason", required=True, help="a few words on why")
    p.set_defaults(handler=run_skip)

    p = sub.add_parser("undo", help="undo your latest change")
    p.set_defaults(handler=run_undo)

    p = sub.add_parser("reset", help="forget your answers and progress")
    p.add_argument("--yes", action="store_true", help="really forget them")
    p.set_defaults(handler=run_reset)

    p = sub.add_parser("history", help="everything you did, oldest first")
    p.set_defaults(handler=run_history)

    p = sub.add_parser("progress", help="move your progress between machines (no secrets)")
    ps = p.add_subparsers(dest="progress_command", metavar="ACTION", required=True,
                          parser_class=type(p))
    s = ps.add_parser("export", help="save your progress to a file (no secrets)")
    s.add_argument("file", type=Path)
    s.set_defaults(handler=run_export)
    s = ps.add_parser("import", help="load progress from a file made by roost progress export")
    s.add_argument("file", type=Path)
    s.set_defaults(handler=run_import)


# --- assess --------------------------------------------------------------------------------


def workspace(detect: bool = False) -> Workspace:
    """The person's workspace, in the data folder (ROOST_HOME, else the usual place)."""
    return Workspace.open(paths.data_dir(), detect=detect)


def hosts_measured() -> dict[str, tuple[object, str]]:
    """Answers the hosts' cached facts already hold (`roost host facts` measured them)."""
    from roost.app.hosts import host_store
    from roost.core.paths import data_dir

    return measured_answers({h.name: h.facts for h in host_store(data_dir()).all() if h.facts})


def run_assess(args: argparse.Namespace) -> int:
    ws = workspace(detect=True)
    known = hosts_measured()
    if args.answers is not None:
        answers = answers_from_file(args.answers, ws, known)
    else:
        if ws.facts is not None and ws.facts.is_pi:
            print(f"{ws.facts.describe()} Roost will not ask what it found out.")
        answers = ask(ws, sys.stdin, sys.stdout, known)
    again = ws.answers is not None
    ws.save_answers(answers)
    plan = ws.plan()
    kept = " Your progress is kept; roost undo brings the old answers back." if again else ""
    print(f"Saved your answers. Your plan has {count(len(plan.steps), 'step')}.{kept}")
    if plan.next is not None:
        print(f"Next: {plan.next.name}. Run roost next for the details.")
    return 0


def answers_from_file(path: Path, ws: Workspace,
                      known: dict[str, tuple[object, str]] | None = None) -> Answers:
    name = shown(path)
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        raise RoostError(f"there is no file {name}", hint="check the path") from None
    except OSError as exc:
        raise RoostError(f"cannot read {name}: {exc.strerror or 'error'}",
                         hint="check the path") from None
    except UnicodeDecodeError:
        raise RoostError(f"{name} is not UTF-8 text", hint="save it as UTF-8") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RoostError(f"{name} is not valid TOML ({shown(str(exc))})",
                         hint="see roost assess --help") from None
    data.pop("schema", None)
    for qid, (value, _) in (known or {}).items():
        data.setdefault(qid, value)  # what the file says wins
    return answers_from_responses(data, ws.facts, ws.catalog)


def _read(inp: TextIO) -> str:
    line = inp.readline()
    if not line:
        raise RoostError("the questions were not all answered, so nothing was saved",
                         hint="run roost assess again")
    return line.strip()


def ask_one(q: Question, inp: TextIO, out: TextIO) -> object:
    """Ask one question line by line; repeat until the answer fits."""
    out.write(q.prompt + "\n")
    if q.help:
        out.write(q.help + "\n")
    for i, (_, label) in enumerate(q.choices, start=1):
        out.write(f"{i}. {label}\n")
    how = {
        "one": "Type a number, then Enter.",
        "many": "Type the numbers separated by spaces, or just Enter for none.",
        "yesno": "Type 1 for yes or 2 for no, then Enter.",
        "text": "Type it, then Enter." + (" Enter alone leaves it empty." if q.optional else ""),
        "number": "Type a number, then Enter.",
    }[q.kind]
    out.write(how + "\n")
    out.flush()
    for _ in range(20):
        raw = _read(inp)
        value = _parse_choice(q, raw)
        if value is not None:
            return value
        out.write("That answer does not fit. " + how + "\n")
        out.flush()
    raise RoostError("too many answers that did not fit, so nothing was saved")


def _parse_choice(q: Question, raw: str) -> object | None:
    values = [v for v, _ in q.choices]
    def pick(tok: str) -> str | None:
        if tok.isdigit() and 1 <= int(tok) <= len(values):
            return values[int(tok) - 1]
        return tok if tok in values else None

    if q.kind == "many":
        toks = raw.replace(",", " ").split()
        picked = [pick(t) for t in toks]
        if any(p is None for p in picked):
            return None
        return list(dict.fromkeys(p for p in picked if p is not None))
    if q.kind == "yesno":
        low = raw.lower()
        if low in ("1", "y", "yes"):
            return True
        if low in ("2", "n", "no"):
            return False
        return None
    if q.kind == "one":
        return pick(raw.strip())
    if q.kind == "number":
        return int(raw) if raw.isdigit() else None
    return raw if raw or q.optional else None


def ask(ws: Workspace, inp: TextIO, out: TextIO,
        known: dict[str, tuple[object, str]] | None = None) -> Answers:
    """Ask each question that applies, except those `known` answers (measured on a host):
    for those, say the value used."""
    responses: dict[str, object] = {}
    qs = questions(ws.catalog, ws.facts)
    for n, q in enumerate(qs, start=1):
        if not q.applies(responses):
            continue
        if known and q.id in known:
            responses[q.id], said = known[q.id]
            out.write(f"\n{said}\n")
            continue
        out.write(f"\nQuestion {n} of {len(qs)}. ")
        responses[q.id] = ask_one(q, inp, out)
    return answers_from_responses(responses, ws.facts, ws.catalog)


# --- plan, next, status --------------------------------------------------------------------


def step_json(step: Step) -> dict[str, Any]:
    d = asdict(step)
    d["not_before"] = step.not_before.isoformat() if step.not_before else None
    return d


def _plan(ws: Workspace) -> Plan:
    return ws.plan()


def running_json(ws: Workspace) -> list[dict[str, Any]]:
    """Which host runs what on which port: the latest deploy of each service on each host."""
    return [{"service": e.service_id, "host": str(e.detail.get("host", "")),
             "version": str(e.detail.get("version", "")), "ports": list(e.ports()),
             "since": e.at.isoformat()} for e in ws.progress.running()]


def run_plan(args: argparse.Namespace) -> int:
    ws = workspace()
    plan = _plan(ws)
    if args.json:
        _dump({"steps": [step_json(s) for s in plan.steps],
               "next": plan.next.service_id if plan.next else None,
               "excluded": list(plan.excluded), "running": running_json(ws),
               "protect": protect_json(ws)})
        return 0
    protect = ws.protect_offer()
    if protect:
        print(protect)
    for s in plan.steps:
        print(f"{s.line(len(plan.steps))} Id: {s.service_id}.{_reach(s)}")
    for line in plan.excluded:
        print(line)
    return 0


def protect_json(ws: Workspace) -> list[dict[str, str]]:
    """The running services with no backup yet, for scripts: [{"service", "host"}]."""
    from roost.plan.protect import unprotected

    return [{"service": sid, "host": host} for sid, host in unprotected(ws.progress, ws.catalog)]


def _reach(step: Step) -> str:
    short = step.reach_short() if step.state not in ("done", "skipped") or step.ways_in else ""
    return f" {short}" if short else ""


def next_lines(step: Step, total: int) -> list[str]:
    lines = [step.line(total)]
    if step.summary:
        lines.append(step.summary)
    lines.append(f"Why: {step.why}")
    lines.append(f"Suggested way: {WAY_NAMES[step.way]}. {step.way_reason}")
    if step.reach:
        lines.append(f"From outside: {step.reach}")
    titles = {"public": "On a public instance", "home": "At home", "vps": "On your VPS"}
    for w in step.ways:
        if w.kind == step.way:
            fit = "suggested"
        elif w.possible:
            fit = "also possible"
        else:
            fit = f"not possible because {w.reason}"
        where = f" Find one at {w.where}." if w.where else ""
        lines.append(f"{titles[w.kind]}, {fit}: {w.summary}{where}")
    lines.append(f"It takes about {step.time_minutes} minutes.")
    if step.needs_first and step.state not in ("done", "skipped"):
        words = [IDENTITY_WORDS.get(k, k) for k in step.needs_first]
        made = words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]
        lines.append(f"First, roost creates {made}.")
    if step.asks:
        lines.append(f"Roost will ask for: {'; '.join(step.asks)}.")
    if step.reason:
        lines.append(f"Last time: {step.reason}.")
    lines.append(f"When it is done: roost done {step.service_id}. "
                 f"To skip it: roost skip {step.service_id} --reason TEXT.")
    return lines


def run_next(args: argparse.Namespace) -> int:
    ws = workspace()
    plan = _plan(ws)
    if args.json:
        _dump({"next": step_json(plan.next) if plan.next else None,
               "total": len(plan.steps), "protect": protect_json(ws)})
        return 0
    protect = ws.protect_offer()
    if protect:
        print(protect)
    if plan.next is None:
        print("Every step is done, skipped or under way. Well done.")
        return 0
    for line in next_lines(plan.next, len(plan.steps)):
        print(line)
    return 0


def status_summary(plan: Plan, answers: Answers, today: date | None = None) -> str:
    c = plan.counts()
    parts = [f"{c['done']} of {len(plan.steps)} done"]
    for key in ("skipped", "started", "failed"):
        if c[key]:
            parts.append(f"{c[key]} {key}")
    text = ", ".join(parts) + "."
    if plan.next is not None:
        when = (f", suggested from {plan.next.not_before.isoformat()}"
                if plan.next.not_before else "")
        text += f" Next: {plan.next.name}{when}."
    else:
        text += " Nothing is waiting."
    return text


def answers_line(a: Answers) -> str:
    hw = {"pi": "a Pi", "vps": "a VPS", "pc": "a spare computer"}
    have = [hw[h] for h in a.hardware]
    if a.pi_ram_mb and "pi" in a.hardware:
        have[have.index("a Pi")] = f"a Pi with {format_mb(a.pi_ram_mb)}"
    hws = ", ".join(have) if have else "no machine"
    dom = f"the domain {a.domain}" if a.domain else ("a domain" if a.has_domain else "no domain")
    return f"You have {hws} and {dom}; pace: {a.pace}; comfort: {a.skill}."


def run_status(args: argparse.Namespace) -> int:
    ws = workspace()
    plan = _plan(ws)
    answers = ws.answers
    assert answers is not None
    if args.json:
        _dump({"counts": plan.counts(), "total": len(plan.steps),
               "next": plan.next.service_id if plan.next else None,
               "answers": answers.to_dict(),
               "steps": {s.service_id: s.state for s in plan.steps},
               "running": running_json(ws)})
        return 0
    print(status_summary(plan, answers))
    print(answers_line(answers))
    for e in ws.progress.running():
        step = plan.get(e.service_id or "")
        name = step.name if step else shown(e.service_id or "", 60)
        print(f"Running: {name} on {shown(e.detail.get('host', 'a host'), 80)}"
              f"{ports_words(e.ports(), ', ')}, "
              f"version {shown(e.detail.get('version', 'unknown'), 40)}.")
    kinds = sorted({shown(e.detail.get("kind", ""), 40) for e in ws.progress.identities()})
    if kinds:
        print(f"Identities roost keeps for you: {', '.join(kinds)}.")
    return 0


# --- changes -------------------------------------------------------------------------------


def run_done(args: argparse.Namespace) -> int:
    ws = workspace()
    step = ws.step(args.id)
    if step.state == "done":
        print(f"{step.name} is already done.")
        return 0
    ws.done(args.id)
    plan = ws.plan()
    print(f"Done: {step.name}.")
    if plan.next is not None:
        when = (f" Suggested from {plan.next.not_before.isoformat()}, or go ahead now."
                if plan.next.not_before else "")
        print(f"Next: {plan.next.name}.{when}")
    else:
        print("Nothing is waiting. Well done.")
    return 0


def run_skip(args: argparse.Namespace) -> int:
    ws = workspace()
    step = ws.step(args.id)
    ws.skip(args.id, args.reason)
    plan = ws.plan()
    nxt = f" Next: {plan.next.name}." if plan.next else ""
    print(f"Skipped: {step.name}.{nxt}")
    return 0


def run_undo(args: argparse.Namespace) -> int:
    ws = workspace()
    print(ws.undo())
    return 0


def run_reset(args: argparse.Namespace) -> int:
    if not args.yes:
        raise RoostError("reset forgets your answers and progress",
                         hint="run roost reset --yes if you mean it")
    ws = workspace()
    ws.reset()
    print("Forgot your answers and progress; the old file was kept next to the new one.")
    return 0


def run_history(args: argparse.Namespace) -> int:
    ws = workspace()
    events = ws.history()
    if not events:
        print("Nothing yet.")
    for e in events:
        print(e.describe())
    return 0


def run_export(args: argparse.Namespace) -> int:
    ws = workspace()
    ws.export_to(args.file)
    print(f"Saved your progress to {shown(args.file)}. It holds no secrets.")
    return 0


def run_import(args: argparse.Namespace) -> int:
    ws = workspace()
    ws.import_from(args.file)
    print(f"Loaded your progress from {shown(args.file)}; "
          "the previous one was kept as a backup.")
    return 0


def _dump(obj: object) -> None:
    json.dump(obj, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")
