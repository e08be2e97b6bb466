"""`roost --plain` checks each answer when it is given and keeps it (issue 20, points 13-15).

Through a real pty: every one-choice question says its range ("from 1 to 2"); a bad domain is
refused right after it is typed, with the reason, and asked again; input that ends in the
middle of the questions keeps the answers given so far, and the next run resumes at the first
question not answered, with the earlier ones kept; finishing saves the answers and forgets
the draft."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from a11y.pty_harness import PtySession
from a11y.roost_walk import roost_argv, roost_env
from test_a11y_plain import PROMPT, answer, menu_items

pytestmark = pytest.mark.slow

DOMAIN_Q = b"What is your domain name?"


class Asker:
    def __init__(self, s: PtySession) -> None:
        self.s, self.pos = s, 0

    def prompt(self) -> tuple[re.Match[bytes], bytes]:
        m = self.s.expect(PROMPT, timeout=20)
        chunk = self.s.raw[self.pos:m.end()]
        self.pos = m.end()
        return m, chunk

    def start_questions(self) -> tuple[re.Match[bytes], bytes]:
        m, chunk = self.prompt()
        assert m.group("menu"), chunk
        answer(self.s, str(menu_items(chunk)["Answer a few questions to get your plan"]))
        return self.prompt()


def answer_until_domain(a: Asker, m: re.Match[bytes], chunk: bytes) -> int:
    """Answer 1 to everything (yes: I own a domain) until the domain question; return how
    many were answered."""
    n = 0
    while DOMAIN_Q not in chunk:
        assert not m.group("menu") and n < 20, chunk
        if m.group("one"):  # point 15: the range is said
            count = len(re.findall(rb"^ +\d+\. \(", chunk, re.M))
            assert f"Type a number from 1 to {count}".encode() in chunk, chunk
        answer(a.s, "1")
        n += 1
        m, chunk = a.prompt()
    return n


def test_bad_domain_is_refused_at_once_and_answers_survive_end_of_input(
        tmp_path: Path) -> None:
    home = tmp_path / "home"
    draft = home / "answers-so-far.toml"
    with PtySession(roost_argv("--plain"), term="dumb", env=roost_env(home)) as s:
        a = Asker(s)
        m, chunk = a.start_questions()
        before = answer_until_domain(a, m, chunk)
        assert before >= 2
        answer(s, "not a domain")
        m, chunk = a.prompt()
        # point 13: refused now, with the reason, and the same question again
        assert b"is not a valid domain name" in chunk and b"Please type it again." in chunk, chunk
        assert m.group("text") and b"Question" not in chunk, chunk
        s.write(b"\x04")  # input ends in the middle of the questions
        s.expect(rb"Bye\. Your progress is saved\.")
        assert s.wait_exit(10) and s.exit_status == 0
    # point 14: what was answered is on disk
    assert draft.exists(), sorted(p.name for p in home.iterdir())
    with PtySession(roost_argv("--plain"), term="dumb", env=roost_env(home)) as s:
        a = Asker(s)
        m, chunk = a.start_questions()
        assert f"Welcome back: {before} of".encode() in chunk, chunk
        assert DOMAIN_Q in chunk and m.group("text"), chunk  # resumed at the first open one
        answer(s, "example.org")
        for _ in range(20):
            m, chunk = a.prompt()
            if m.group("menu"):
                break
            answer(s, "1")
        assert b"Your answers are saved." in chunk, chunk
        answer(s, "0")
        s.expect(rb"Bye\.")
        assert s.wait_exit(10) and s.exit_status == 0
    assert not draft.exists()
    assert 'domain = "example.org"' in (home / "progress.toml").read_text()
