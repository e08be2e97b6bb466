"""The assessment: the planner's questions, one at a time; earlier answers are pre-filled,
so running it again changes them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widget import Widget
from textual.widgets import Input, Label

from roost.core.errors import RoostError
from roost.plan.answers import Question, answers_from_responses, check_response, questions
from roost.tui.a11y import AccessibleList, Row
from roost.tui.screens.base import RoostScreen

NEXT = "next"


def responses_from_answers(data: dict[str, object]) -> dict[str, object]:
    """Saved answers (Answers.to_dict) as question responses."""
    out: dict[str, object] = {}
    for k, v in data.items():
        if isinstance(v, bool):
            out[k] = "yes" if v else "no"
        elif isinstance(v, int):
            out[k] = str(v)
        else:
            out[k] = v
    return out


class AssessmentScreen(RoostScreen):
    LIST_ID = "choices"
    ENTER = "choose"
    NAME = "Questions"
    BACK_WORD = "previous question"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "next", "next question"),
        # Space ticks a box as in every other checklist a person has used; Enter does too.
        Binding("space", "choose_current", "choose", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.questions: tuple[Question, ...] = ()
        self.responses: dict[str, object] = {}
        self.index = 0

    def compose_extra(self) -> Iterable[Widget]:
        row = Horizontal(Label("Your answer: ", id="answer-label"),
                         Input(id="answer-input", select_on_focus=False),
                         classes="form-row", id="answer-row")
        yield row

    def on_mount(self) -> None:
        ws = self.ws
        self.questions = questions(ws.catalog, ws.facts)
        if ws.answers is not None:
            self.responses = responses_from_answers(ws.answers.to_dict())
        draft = ws.draft()  # answers given before the last run stopped (as in plain mode)
        if draft:
            self.responses.update(draft)
            asked = self.asked()
            self.index = next((n for n, q in enumerate(asked) if q.id not in draft),
                              len(asked) - 1)
            back = (f"Welcome back: {self.index} of {len(asked)} questions were answered "
                    "before and are kept. q goes back to them.")
            self.call_after_refresh(self.say, back)
        inp = self.query_one("#answer-input", Input)
        inp.cursor_blink = False
        super().on_mount()
        self._show()

    def first_focus(self) -> Widget:
        """The answer field when the first question shown asks for text (a resumed run)."""
        if self.questions and self.question.kind in ("text", "number"):
            return self.query_one("#answer-input", Input)
        return self.menu

    def on_screen_resume(self) -> None:
        """Nothing changes behind the questions: keep the place."""

    # --- which question ------------------------------------------------------------------

    def asked(self) -> list[Question]:
        return [q for q in self.questions if q.applies(self.responses)]

    @property
    def question(self) -> Question:
        qs = self.asked()
        self.index = max(0, min(self.index, len(qs) - 1))
        return qs[self.index]

    def title_text(self) -> str:
        if not self.questions:
            return "Questions"
        return f"Question {self.index + 1} of {len(self.asked())}: {self.question.prompt}"

    def intro(self) -> str:
        return self.question.help if self.questions else ""

    def rows(self) -> Sequence[Row]:
        if not self.questions:
            return ()
        q = self.question
        got = self.responses.get(q.id)
        out: list[Row] = []
        if q.kind == "many":
            chosen = set(got) if isinstance(got, (list, tuple)) else set()
            for value, label in q.choices:
                mark = "[x] chosen" if value in chosen else "[ ] not chosen"
                out.append(Row(f"choice:{value}", label, state=mark))
            n = len(chosen)
            out.append(Row(NEXT, "Done, next question",
                           state=f"{n} chosen" if n else "none chosen"))
        elif q.kind in ("one", "yesno"):
            for value, label in q.choices:
                mark = "(*) chosen" if got == value else "( ) not chosen"
                out.append(Row(f"choice:{value}", label, state=mark))
        else:
            value = str(got) if got is not None else ""
            out.append(Row(NEXT, "Done, next question",
                           state=f"answer: {value}" if value else "no answer yet"))
        return out

    def _show(self, keep: str | None = None) -> None:
        q = self.question
        text_kind = q.kind in ("text", "number")
        row = self.query_one("#answer-row")
        row.display = text_kind
        inp = self.query_one("#answer-input", Input)
        if text_kind:
            got = self.responses.get(q.id)
            inp.value = str(got) if got is not None else ""
            inp.placeholder = self.placeholder(
                "type, then Enter" if q.kind == "text" else "a number, then Enter")
        self.refresh_content(keep=keep)
        if text_kind:
            inp.focus()
        else:
            if keep is None:
                self.menu.highlighted = 0
                self._highlight_current()
            self.menu.focus()
            self.call_after_refresh(self.menu.park_cursor)

    def _highlight_current(self) -> None:
        got = self.responses.get(self.question.id)
        if isinstance(got, str):
            self.menu.highlight_key(f"choice:{got}")

    # --- answering -----------------------------------------------------------------------

    def activate(self, key: str) -> None:
        q = self.question
        if key == NEXT:
            self.action_next()
            return
        if not key.startswith("choice:"):
            return
        value = key.split(":", 1)[1]
        if q.kind == "many":
            cur = self.responses.get(q.id)
            chosen = list(cur) if isinstance(cur, (list, tuple)) else []
            if value in chosen:
                chosen.remove(value)
                self.say(f"Not chosen: {dict(q.choices).get(value, value)}.")
            else:
                chosen.append(value)
                self.say(f"Chosen: {dict(q.choices).get(value, value)}.")
            self.responses[q.id] = [v for v, _ in q.choices if v in chosen]
            self.refresh_content(keep=key)
        else:
            self.responses[q.id] = value
            self.say(f"{q.prompt} {dict(q.choices).get(value, value)}.")
            self._advance()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        q = self.question
        try:  # checked as it is given: the reason is said and the question stays
            self.responses[q.id] = check_response(q, event.value.strip())
        except RoostError as exc:
            self.say(exc.line())
            return
        self._advance()

    def action_choose_current(self) -> None:
        current = self.query_one(f"#{self.LIST_ID}", AccessibleList).current
        if current is not None:
            self.activate(current.key)

    def action_next(self) -> None:
        q = self.question
        if q.kind in ("text", "number"):
            try:
                self.responses[q.id] = check_response(
                    q, self.query_one("#answer-input", Input).value.strip())
            except RoostError as exc:
                self.say(exc.line())
                return
        got = self.responses.get(q.id)
        if got in (None, "") and not q.optional:
            self.say("Please choose an answer first.")
            return
        self._advance()

    def _advance(self) -> None:
        try:
            self.ws.save_draft(self.responses)  # each answer kept as it is given
        except (OSError, RoostError) as exc:
            self.say(exc.line() if isinstance(exc, RoostError) else
                     f"Your answers so far could not be kept: {exc.strerror}.")
        if self.index + 1 < len(self.asked()):
            self.index += 1
            self._show()
            return
        self._finish()

    def _finish(self) -> None:
        ws = self.ws
        try:
            answers = answers_from_responses(self.responses, ws.facts, ws.catalog)
            ws.save_answers(answers)
        except RoostError as exc:
            self.say(exc.line())
            return
        from roost.tui.screens.plan import PlanScreen

        # Replace the questions by the plan in one step: popping first would draw the
        # welcome screen in between (more writes, and a screen reader reads it).
        plan = PlanScreen()
        plan.say("Your answers are saved. Here is your plan.")  # shown once it is up
        self.app.switch_screen(plan)

    def action_back(self) -> None:
        if self.index > 0:
            self.index -= 1
            self._show()
            self.say("Previous question.")
        else:
            self.app.pop_screen()
