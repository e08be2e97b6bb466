"""Text that is safe to print on one line of a terminal and to read aloud."""

from __future__ import annotations


def printable(text: object, limit: int = 200) -> str:
    """Control characters (newlines, escape sequences) shown escaped, long text cut.

    Anything a user or a host supplied that ends up in a message goes through this, so a
    hostile value can neither break the one-line error rule nor drive the terminal.
    """
    out = "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in str(text))
    return out if len(out) <= limit else out[: limit - 1] + "…"
