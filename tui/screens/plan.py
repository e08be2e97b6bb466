"""The plan checklist, one service's detail, and the skip question."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar

from textual.binding import Binding, BindingType

from roost.plan.detect import format_mb
from roost.plan.planner import WAY_NAMES, Plan, Step
from roost.tui.a11y import Row
from roost.tui.screens.base import RoostScreen

if TYPE_CHECKING:
    from roost.catalog.model import Service

WAY_TITLES = {"public": "Use a public instance", "home": "Host it at home",
              "vps": "Host it on a rented server (VPS)"}


def state_words(step: Step) -> str:
    """next, waiting until DATE, done, skipped, failed: reason..."""
    if step.state == "next":
        if step.not_before is not None:
            return f"next, waiting until {step.not_before.isoformat()}"
        return "next"
    if step.state in ("skipped", "failed") and step.reason:
        return f"{step.state}: {step.reason}"
    if step.state == "later":
        return "later"
    return step.state


def ordered(plan: Plan) -> list[Step]:
    """The suggested next step first, then the rest in plan order."""
    steps = list(plan.steps)
    if plan.next is not None:
        steps.remove(plan.next)
        steps.insert(0, plan.next)
    return steps


def _join(names: Sequence[str]) -> str:
    names = list(names)
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


class PlanScreen(RoostScreen):
    TITLE = "Your plan"
    LIST_ID = "steps"
    ENTER = "open the step"
    NAME = "Plan"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("m", "done", "mark done"),
        Binding("s", "skip", "skip"),
        Binding("u", "undo", "undo"),
        Binding("a", "answers", "change answers"),
        Binding("o", "reach", "can others reach it?"),
    ]

    def title_text(self) -> str:
        if self.ws.answers is None:
            return "Your plan"
        plan = self.ws.plan()
        c = plan.counts()
        nxt = f" Next: {plan.next.name}." if plan.next else " Nothing left to do."
        return f"Your plan: {c['done']} of {len(plan.steps)} done.{nxt}"

    def rows(self) -> Sequence[Row]:
        if self.ws.answers is None:
            return [Row("assess", "Answer a few questions first", state="no plan yet")]
        from roost.app.last_check import last_states

        plan = self.ws.plan()
        running = {(e.service_id, str(e.detail.get("host", "")))
                   for e in self.ws.progress.running()}
        checked = {k: v for k, v in last_states(self.ws.home).items() if k in running}
        out = []
        from roost.plan.protect import unprotected

        for sid, host in unprotected(self.ws.progress, self.ws.catalog)[:1]:
            svc = self.ws.catalog.get(sid)
            short = (svc.name if svc else sid).split(" (")[0]  # "Prosody", fits 40 columns
            out.append(Row(f"protect:{sid}:{host}", f"Back up {short}",
                           state="no backup yet", extra=self.ws.protect_offer() or ""))
        for s in ordered(plan):
            extra = [last.spoken(host) for (sid, host), last in checked.items()
                     if sid == s.service_id]
            if s.replaces and s.relevant:
                extra.append(f"Replaces {_join(s.replaces)}.")
            if s.state not in ("done", "skipped"):
                extra.append(f"Way: {WAY_NAMES[s.way]}.")
            if s.reach_short() and (s.ways_in or s.state not in ("done", "skipped")):
                extra.append(s.reach_short())
            out.append(Row(f"step:{s.service_id}", s.name, state=state_words(s),
                           extra=" ".join(extra)))
        for i, line in enumerate(plan.excluded):
            out.append(Row(f"excluded:{i}", "Left out", state="not in the plan", extra=line))
        return out

    def _current_service(self) -> str | None:
        row = self.menu.current
        if row is None or not row.key.startswith("step:"):
            self.say("Move to a step first.")
            return None
        return row.key.split(":", 1)[1]

    def activate(self, key: str) -> None:
        from roost.tui.screens import open_screen

        if key.startswith("step:"):
            open_screen(self.app, "detail", key.split(":", 1)[1])
        elif key == "assess":
            open_screen(self.app, "assess")
        elif key.startswith("protect:"):
            open_screen(self.app, "backup", key.split(":", 1)[1])

    def action_done(self) -> None:
        sid = self._current_service()
        if sid and self.act(self.ws.done, sid):
            self.refresh_content(keep=f"step:{sid}")
            svc = self.ws.catalog.get(sid)
            self.say(f"Marked {svc.name if svc else sid} done.")

    def action_skip(self) -> None:
        sid = self._current_service()
        if sid:
            self.app.push_screen(SkipScreen(sid))

    def action_undo(self) -> None:
        try:
            said = self.ws.undo()
        except Exception as exc:  # RoostError: nothing to undo
            self.say(str(exc))
            return
        self.refresh_content()
        self.say(said)

    def action_answers(self) -> None:
        from roost.tui.screens import open_screen

        open_screen(self.app, "assess")

    def action_reach(self) -> None:
        sid = self._current_service()
        if sid:
            from roost.tui.screens import open_screen

            open_screen(self.app, "reach", sid)


class ServiceScreen(RoostScreen):
    """Why, what it replaces, the ways to adopt it, what it needs, and the actions."""

    LIST_ID = "detail"
    ENTER = "act on the line"
    NAME = "Service"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("m", "done", "mark done"),
        Binding("s", "skip", "skip"),
        Binding("d", "deploy", "deploy"),
        Binding("u", "undo", "undo"),
    ]

    def __init__(self, service_id: str) -> None:
        super().__init__()
        self.service_id = service_id

    def _step(self) -> Step | None:
        if self.ws.answers is None:
            return None
        return self.ws.plan().get(self.service_id)

    def title_text(self) -> str:
        s = self.ws.catalog.get(self.service_id)
        return s.name if s else self.service_id

    def intro(self) -> str:
        s = self.ws.catalog.get(self.service_id)
        return s.summary if s else ""

    def rows(self) -> Sequence[Row]:
        svc = self.ws.catalog.get(self.service_id)
        if svc is None:
            return [Row("missing", f"roost does not know {self.service_id}")]
        step = self._step()
        out: list[Row] = []
        if step is not None:
            total = len(self.ws.plan().steps)
            out.append(Row("info:state", "State", state=state_words(step),
                           detail=f"step {step.position} of {total}"))
        out.append(Row("info:why", "Why", extra=svc.why))
        reps = [p.name for pid in svc.replaces if (p := self.ws.catalog.platform(pid))]
        if reps:
            out.append(Row("info:replaces", "Replaces", extra=_join(reps) + "."))
        if step is not None:
            out.append(Row("info:way", "Suggested way", state=WAY_NAMES[step.way],
                           extra=step.way_reason))
            if step.reach:
                out.append(Row("info:reach", "From outside",
                               state="reachable" if step.ways_in else "no way in yet",
                               extra=step.reach))
            for w in step.ways:
                out.append(Row(f"way:{w.kind}", WAY_TITLES.get(w.kind, w.kind),
                               state="fits" if w.possible else "does not fit",
                               extra=f"{w.summary} {w.reason[:1].upper()}{w.reason[1:]}."
                               + (f" Where: {w.where}" if w.where else "")))
        else:
            for a in svc.adopt:
                out.append(Row(f"way:{a.kind}", WAY_TITLES.get(a.kind, a.kind),
                               extra=a.summary))
        r = svc.requirements
        if svc.self_hostable:
            needs = [f"{format_mb(r.ram_mb)} of memory", f"{format_mb(r.disk_mb)} of disk",
                     "a " + " or ".join(r.arch) + " processor"]
            if r.needs_domain:
                needs.append("a domain name")
            if r.inbound_ports:
                needs.append("open ports " + ", ".join(r.inbound_ports))
            if not r.residential_ok:
                needs.append("a server address that is not a home connection")
            out.append(Row("info:needs", "To host it yourself it needs",
                           extra=_join(needs) + "."))
        answers = self.ws.answers
        if step is not None and answers is not None:
            # Where the service will run, from the answers (issue 20: not "this is an x86_64
            # computer" when the person said their services run on a Pi).
            from roost.plan.planner import where_it_runs

            fits = ("fits" if any(w.possible and w.kind != "public" for w in step.ways)
                    else "does not fit")
            out.append(Row("info:hardware", "Where it will run", state=fits,
                           extra=where_it_runs(step, answers)))
        out.append(Row("info:time", "Time and difficulty",
                       state=svc.difficulty, detail=f"about {svc.time_minutes} minutes"))
        if svc.asks:
            out.append(Row("info:asks", "roost will ask you for", extra=_join(svc.asks) + "."))
        for i, nxt in enumerate(svc.next_steps):
            out.append(Row(f"info:after:{i}", "Once it runs", extra=nxt))
        done = step is not None and step.state == "done"
        out += [
            Row("action:done", "Mark done", state="already done" if done else "action, key m"),
            Row("action:skip", "Skip this step", state="action, key s"),
            self._deploy_row(svc),
            *([Row("action:tor", "Reach it over Tor", state="action, Enter",
                   extra="A Tor onion service for private use: you and friends you give "
                   "its address.")] if step is not None and step.reach else []),
            *([self._upnp_row()] if step is not None and step.reach else []),
            Row("action:undo", "Undo the last change", state="action, key u"),
        ]
        return out

    def _deploy_row(self, svc: Service) -> Row:
        if svc.recipe:
            return Row("action:deploy", "Deploy it", state="action, key d")
        if svc.install is None:
            return Row("action:deploy", "Deploy it", state="no automatic setup yet")
        names = [o.name for i in svc.install.instead if (o := self.ws.catalog.get(i))]
        instead = f" Lighter choices: {_join(names)}." if names else ""
        return Row("action:deploy", "Deploy it", state="roost does not install it",
                   extra=svc.install.why + instead)

    def activate(self, key: str) -> None:
        actions = {"action:done": self.action_done, "action:skip": self.action_skip,
                   "action:deploy": self.action_deploy, "action:undo": self.action_undo,
                   "action:tor": self.action_tor, "action:upnp": self.action_upnp}
        if key in actions:
            actions[key]()

    def action_done(self) -> None:
        if self.act(self.ws.done, self.service_id):
            self.refresh_content()
            nxt = self.ws.next_step() if self.ws.answers else None
            after = f" Next: {nxt.name}." if nxt else ""
            self.say(f"Marked {self.title_text()} done.{after}")

    def action_skip(self) -> None:
        self.app.push_screen(SkipScreen(self.service_id))

    def action_undo(self) -> None:
        try:
            said = self.ws.undo()
        except Exception as exc:
            self.say(str(exc))
            return
        self.refresh_content()
        self.say(said)

    def action_deploy(self) -> None:
        svc = self.ws.catalog.get(self.service_id)
        if svc is not None and svc.install is not None and not svc.recipe:
            from roost.deploy.not_installed import explain
            from roost.deploy.recipes import RECIPES

            self.say(explain(svc, self.ws.catalog, RECIPES, in_app=True).line())
            return
        if svc is None or not svc.recipe:
            self.say(f"roost cannot set up {self.title_text()} by itself yet: "
                     "follow the way above and mark it done.")
            return
        from roost.tui.screens import open_screen

        open_screen(self.app, "deploy", self.service_id)


    def _upnp_row(self) -> Row:
        progress = self.ws.progress
        hosts = {str(e.detail.get("host", "")) for e in progress.running()
                 if e.service_id == self.service_id}
        if any(w.detail.get("way") == "upnp" for h in sorted(hosts)
               for w in progress.ways_in(self.service_id, h)):
            return Row("action:upnp", "Stop the router forwarding", state="action, Enter",
                       extra="The home router stops forwarding its ports (UPnP).")
        return Row("action:upnp", "Have your router forward the ports (UPnP)",
                   state="action, Enter", extra="roost asks your home router to forward the "
                   "ports people outside use; it asks you first.")

    def action_upnp(self) -> None:
        from roost.tui.screens import open_screen

        open_screen(self.app, "reach-upnp", self.service_id)

    def action_tor(self) -> None:
        from roost.tui.screens import open_screen

        open_screen(self.app, "reach-tor", self.service_id)


SKIP_REASONS = (
    ("not-now", "Not now, maybe later"),
    ("not-needed", "I do not need it"),
    ("have-one", "I already use something else for this"),
    ("too-hard", "It looks too hard for me"),
)


class SkipScreen(RoostScreen):
    """Why skip: a reason is recorded with the step (it can be undone)."""

    LIST_ID = "skip-reasons"
    ENTER = "skip with this reason"
    NAME = "Skip"
    BACK_WORD = "back without skipping"

    def __init__(self, service_id: str) -> None:
        super().__init__()
        self.service_id = service_id

    def title_text(self) -> str:
        s = self.ws.catalog.get(self.service_id)
        return f"Skip {s.name if s else self.service_id}: why?"

    def rows(self) -> Sequence[Row]:
        return [Row(f"reason:{k}", label) for k, label in SKIP_REASONS]

    def activate(self, key: str) -> None:
        label = dict(SKIP_REASONS).get(key.split(":", 1)[-1])
        if label and self.act(self.ws.skip, self.service_id, label):
            self.app.pop_screen()
            screen = self.app.screen
            if isinstance(screen, RoostScreen):
                svc = self.ws.catalog.get(self.service_id)
                screen.say(f"Skipped {svc.name if svc else self.service_id}: {label}.")
