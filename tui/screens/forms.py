"""A form: labelled one-line fields, then the actions as a list. Each field sits on one line
with its label, so the line under the cursor says what is being typed."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from textual.containers import Horizontal
from textual.widget import Widget
from textual.widgets import Input, Label
from textual.worker import Worker, WorkerState

from roost.core.errors import RoostError
from roost.tui.a11y import Row
from roost.tui.screens.base import RoostScreen
from roost.tui.widgets.secret import SecretInput


@dataclass(frozen=True)
class Field:
    key: str
    label: str
    password: bool = False
    value: str = ""
    placeholder: str = ""


class FormScreen(RoostScreen):
    """Fill the fields, Enter on the last one (or on 'submit' in the list) does the work in a
    worker thread, so the screen never freezes; the result is said on the status line."""

    LIST_ID = "form-actions"
    ENTER = "do it"
    FIELDS = True
    SUBMIT: ClassVar[str] = "Save"
    BUSY: ClassVar[str] = "Working, this takes a few seconds."

    def fields(self) -> Sequence[Field]:
        return ()

    def compose_form(self) -> Iterable[Widget]:
        for f in self.fields():
            cls = SecretInput if f.password else Input
            inp = cls(value=f.value, placeholder=f.placeholder, id=f"field-{f.key}",
                      select_on_focus=False)
            inp.cursor_blink = False
            yield Horizontal(Label(f"{f.label}: "), inp, classes="form-row")

    def first_focus(self) -> Widget:
        inputs = list(self.query(Input))
        return inputs[0] if inputs else self.menu

    def rows(self) -> Sequence[Row]:
        return [Row("submit", self.SUBMIT, state="action, Enter"),
                Row("cancel", "Cancel", state="action, q")]

    def values(self) -> dict[str, str]:
        return {i.id.removeprefix("field-"): i.value for i in self.query(Input) if i.id}

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        inputs = list(self.query(Input))
        if event.input is inputs[-1]:
            self.activate("submit")
        else:
            inputs[inputs.index(event.input) + 1].focus()

    def activate(self, key: str) -> None:
        if key == "cancel":
            self.app.pop_screen()
        elif key == "submit":
            try:
                work = self.work(self.values())
            except RoostError as exc:  # what was typed, said in one line before any work
                self.say(exc.line())
                return
            self.say(self.BUSY)
            self.run_worker(work, thread=True, exclusive=True, exit_on_error=False,
                            name="form")

    def work(self, values: dict[str, str]) -> Callable[[], Any]:
        """The blocking call to run in a thread; its result goes to `done`."""
        raise NotImplementedError

    def done(self, result: Any) -> None:
        """Back on the screen with the worker's result: by default, close the form and say
        the result on the screen it was opened from."""
        self.app.pop_screen()
        screen = self.app.screen
        if isinstance(screen, RoostScreen):
            screen.say(str(result))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.name != "form":
            return
        if event.state == WorkerState.SUCCESS:
            self.done(event.worker.result)
        elif event.state == WorkerState.ERROR:
            err = event.worker.error
            if isinstance(err, RoostError):
                self.say(err.line())
            else:
                self.say(f"That did not work: {type(err).__name__}.")


class YesNoScreen(RoostScreen):
    """A question the person answers yes or no, the question as the text and the two answers
    as the list, "no" first (Enter on the first line changes nothing). Dismissed with True
    or False; going back is no."""

    TITLE = "A question"
    LIST_ID = "answers"
    ENTER = "answer"
    NAME = "A yes or no question"
    BACK_WORD = "no"
    YES = "Yes"
    NO = "No"

    def __init__(self, question: str, yes: str = "", no: str = "", title: str = "") -> None:
        super().__init__()
        self.question = question
        self.yes, self.no = yes or self.YES, no or self.NO
        self.heading = title or self.TITLE

    def title_text(self) -> str:
        return self.heading

    def intro(self) -> str:
        return self.question

    def rows(self) -> Sequence[Row]:
        return [Row("no", self.no, state="answer"), Row("yes", self.yes, state="answer")]

    def activate(self, key: str) -> None:
        self.dismiss(key == "yes")  # type: ignore[arg-type]

    def action_back(self) -> None:
        self.dismiss(False)  # type: ignore[arg-type]
