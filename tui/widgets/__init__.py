"""Small widgets shared by the screens (the accessible list lives in roost.tui.a11y)."""

from roost.tui.widgets.keybar import KeyBar

__all__ = ["KeyBar"]
