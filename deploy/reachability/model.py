"""The typed result of the reach checks: one `Check` a question, a `Report` for a service.

States, in words (also the `--json` values):
- ok: it works;
- missing / wrong / closed / expiring / untrusted: it needs the person's attention, and `fix`
  says what to do;
- unknown: roost could not check it (no answer from the resolver, the other host could not
  be reached...), and `fix` says why.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal

State = Literal["ok", "missing", "wrong", "closed", "expiring", "untrusted", "unknown"]
ATTENTION: frozenset[str] = frozenset({"missing", "wrong", "closed", "expiring", "untrusted"})

Kind = Literal["dns", "port", "tls", "web"]


@dataclass(frozen=True)
class Check:
    kind: Kind
    subject: str
    """What was checked: "SRV _xmpp-client._tcp.example.org", "port 5222/tcp"..."""
    state: State
    found: str
    """What roost found, as a sentence."""
    fix: str = ""
    """What to do, when the state is not ok."""

    @property
    def ok(self) -> bool:
        return self.state == "ok"

    @property
    def needs_attention(self) -> bool:
        return self.state in ATTENTION

    def line(self) -> str:
        """One line in words: "missing: SRV _xmpp-client._tcp.example.org: ... Add ..."."""
        text = f"{self.state}: {self.subject}: {self.found}"
        if self.fix and not self.ok:
            text = f"{text.rstrip('.')}. {self.fix}"
        return text


@dataclass(frozen=True)
class Report:
    service_id: str
    host: str
    domain: str
    address: str
    """The address people outside reach (from DNS, else the host's)."""
    checked_from: str
    """The host the ports were checked from, or "" for this computer."""
    checks: tuple[Check, ...] = field(default_factory=tuple)
    notes: tuple[str, ...] = ()

    @property
    def exit_code(self) -> int:
        """0 when every check is fine, 1 when one needs attention, 2 when one could not be
        checked (and none needs attention)."""
        if any(c.needs_attention for c in self.checks):
            return 1
        if any(c.state == "unknown" for c in self.checks):
            return 2
        return 0

    def summary(self) -> str:
        bad = sum(c.needs_attention for c in self.checks)
        unknown = sum(c.state == "unknown" for c in self.checks)
        where = f" on {self.host}" if self.host else ""
        if not bad and not unknown:
            return (f"Others can reach {self.service_id}{where}: all {len(self.checks)} "
                    "checks are fine.")
        parts = []
        if bad:
            parts.append(f"{bad} of {len(self.checks)} checks need your attention")
        if unknown:
            parts.append(f"{unknown} could not be checked")
        return f"{self.service_id}{where}: " + ", ".join(parts) + "."

    def lines(self) -> list[str]:
        return [self.summary(), *(c.line() for c in self.checks), *self.notes]

    def to_json(self) -> dict[str, object]:
        return {**asdict(self), "checks": [asdict(c) for c in self.checks],
                "notes": list(self.notes), "exit_code": self.exit_code,
                "summary": self.summary()}
