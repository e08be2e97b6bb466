"""Checks shared by the roost accessibility tests: is a line something a screen reader can say?"""

from __future__ import annotations

import re
import unicodedata

# Box drawing (U+2500-257F) and block elements (U+2580-259F): Textual's borders and scrollbars.
BORDER_RE = re.compile("[\u2500-\u259f]")
# Pictographs and dingbats a speech synth reads as names ("check mark button").
EMOJI_RE = re.compile("[\u2600-\u27bf\U0001f000-\U0001faff\u2b00-\u2bff\ufe0f]")
# Words or marks that give the state of a focused item.
STATE_RE = re.compile(
    r"\[x\]|\[ \]|\(\*\)|\( \)|\bon\b|\boff\b|\bdone\b|\bnext\b|\bwaiting\b|\bskipped\b"
    r"|\bfailed\b|\bnot started\b|\bunder way\b|\bselected\b|\bnot selected\b|\bchecked\b"
    r"|\bnot checked\b|\byes\b|\bno\b|\b\d+ of \d+\b|\blater\b|\bchosen\b|\bfits\b"
    r"|\bdoes not fit\b|\bempty\b|\bidle\b|\brecorded\b|\bfinished\b|\bstart here\b",
    re.IGNORECASE,
)


def speakable_problems(line: str, *, allow_borders: bool = False) -> list[str]:
    """Why `line` would not read well aloud as the focused item ([] if fine)."""
    problems = []
    text = line.strip()
    if not re.search(r"[A-Za-z]{2,}", text):
        problems.append("no words on the cursor line")
    if not allow_borders and BORDER_RE.search(text):
        problems.append(f"border/block glyphs {sorted(set(BORDER_RE.findall(text)))}")
    if EMOJI_RE.search(text):
        problems.append(f"emoji/pictographs {sorted(set(EMOJI_RE.findall(text)))}")
    odd = [c for c in text if unicodedata.category(c) in ("Co", "Cn", "Cs")]
    if odd:
        problems.append(f"private/unassigned characters {odd}")
    return problems


def has_state(line: str) -> bool:
    return STATE_RE.search(line) is not None


def words(line: str) -> str:
    """The line without border glyphs and runs of spaces: roughly what Fenrir says."""
    return " ".join(BORDER_RE.sub(" ", line).split())
