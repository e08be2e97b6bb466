"""Text that is safe to print on one line of a terminal and to read aloud."""

from __future__ import annotations

import re


def printable(text: object, limit: int = 200) -> str:
    """Control characters (newlines, escape sequences) shown escaped, long text cut.

    Anything a user or a host supplied that ends up in a message goes through this, so a
    hostile value can neither break the one-line error rule nor drive the terminal.
    """
    out = "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in str(text))
    return out if len(out) <= limit else out[: limit - 1] + "…"


# CSI (ESC [ ... final), OSC (ESC ] ... BEL or ESC \), DCS/SOS/PM/APC strings, two-byte
# escapes (ESC + one char), the 8-bit C1 forms of CSI/OSC, then any other C0/C1 control.
_ESCAPES = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?"
    r"|(?:\x1b[\]PX^_]|[\x9d\x90\x98\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
    r"|\x1b[ -/]*[0-~]?"
    r"|[\x00-\x08\x0b-\x1f\x7f-\x9f]"
)


def terminal_clean(text: str) -> str:
    """Host output made safe to relay: escape sequences and control characters removed, tabs
    as spaces, newlines kept. `Enter new password: \\x1b[08m\\x1b[00m` becomes
    `Enter new password: `, so a screen reader does not read out `^[[08m`."""
    return _ESCAPES.sub("", text.replace("\t", " "))
