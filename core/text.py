"""Text that is safe to print on one line of a terminal and to read aloud.

`printable` makes any value safe for one line; `a` and `count` are the one place messages get
their articles and plurals ("an SSH key", "a Secure Scuttlebutt identity", "1 step", "2 steps"),
so no message says "an Secure Scuttlebutt" or "1 steps".
"""

from __future__ import annotations

import re


def printable(text: object, limit: int = 200) -> str:
    """Control characters (newlines, escape sequences) shown escaped, long text cut.

    Anything a user or a host supplied that ends up in a message goes through this, so a
    hostile value can neither break the one-line error rule nor drive the terminal.
    """
    out = "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in str(text))
    return out if len(out) <= limit else out[: limit - 1] + "…"


# Letters whose spoken name starts with a vowel sound: "an SSH key", "an XMPP account",
# "an MB", but "a URL", "a Tor key".
_VOWEL_LETTER_NAMES = frozenset("AEFHILMNORSX")
# Words that start with a vowel letter but a consonant sound ("a user", "a one-off"), and
# the reverse ("an hour").
_CONSONANT_SOUND = ("uni", "use", "usu", "uti", "ure", "eu", "one", "once")
_VOWEL_SOUND = ("hour", "honest", "honour", "heir")


def article(phrase: str) -> str:
    """"a" or "an", as the phrase is read aloud."""
    word = phrase.strip().split(maxsplit=1)[0] if phrase.strip() else ""
    letters = "".join(c for c in word if c.isalnum())
    if not letters:
        return "a"
    if len(letters) > 1 and letters.isupper():  # an initialism, read letter by letter
        return "an" if letters[0] in _VOWEL_LETTER_NAMES else "a"
    low = letters.lower()
    if low.startswith(_VOWEL_SOUND):
        return "an"
    if low[0] in "aeiou" and not low.startswith(_CONSONANT_SOUND):
        return "an"
    if low[0] == "8" or low in ("11", "18"):
        return "an"
    return "a"


def a(phrase: str) -> str:
    """The phrase with its article: `a("SSH key")` is "an SSH key"."""
    return f"{article(phrase)} {phrase}"


def count(n: int, singular: str, plural: str | None = None) -> str:
    """`count(1, "step")` is "1 step", `count(3, "step")` "3 steps",
    `count(2, "identity", "identities")` "2 identities"."""
    return f"{n} {singular if n == 1 else (plural or singular + 's')}"


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


def size(n_bytes: int) -> str:
    """A size read aloud: 900 -> '900 bytes', 3000 -> '3 KB', 2_500_000 -> '2.4 MB'."""
    for unit, scale in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if n_bytes >= scale:
            value = n_bytes / scale
            return f"{value:.0f} {unit}" if value >= 10 else f"{value:.1f} {unit}"
    return count(n_bytes, "byte")
