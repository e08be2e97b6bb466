"""A password field drawn with ASCII stars: Textual's bullets are read aloud as 'bullet'."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Input


class SecretInput(Input):
    def __init__(self, **kwargs: object) -> None:
        super().__init__(password=True, **kwargs)  # type: ignore[arg-type]

    @property
    def _value(self) -> Text:
        return Text("*" * len(self.value), no_wrap=True, overflow="ignore", end="")
