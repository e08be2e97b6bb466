"""Who watches the watchers: `roost check` asks each watcher host (roost.deploy.watch) whether
its timer is active and when it last ran, over the check's own connection, in one command.

A watcher is fine when its timer is active and it ran within three times its interval (or its
timer started less than that ago and has not run yet). Else its line says what is wrong and
what to do, in words. Ages are measured with the watcher host's own clock (its `date +%s`
against systemd's times), so a clock here that is off, or injected by a test, changes nothing.

    found = watchers(transport, [w for w in watches if w.watcher == host])
    lines = [c.words() for c in found]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from roost.core.text import printable
from roost.deploy.transport import Transport
from roost.deploy.watch import Watch

LATE_FACTOR = 3
"""A watcher whose last run is older than this many intervals needs attention."""
ASK = r"""now=$(date +%s)
age() {
  case "$1" in ''|n/a) echo -; return;; esac
  v=$(date -d "$1" +%s 2>/dev/null) && echo $((now - v)) || echo -
}
for t in "$@"; do
  a=$(systemctl is-active "$t" 2>/dev/null)
  last=$(age "$(systemctl show -p LastTriggerUSec --value "$t" 2>/dev/null)")
  since=$(age "$(systemctl show -p ActiveEnterTimestamp --value "$t" 2>/dev/null)")
  r=$(systemctl show -p Result --value "${t%.timer}.service" 2>/dev/null)
  printf '%s %s %s %s %s\n' "$t" "${a:-unknown}" "$last" "$since" "${r:-unknown}"
done"""
"""For each timer given: its name, is-active, seconds since its last run and since it became
active ("-": never or unknown), and its service's last result."""


@dataclass(frozen=True)
class WatcherCheck:
    """A watcher as its host says it runs."""

    watcher: str
    host: str
    service_id: str
    label: str
    timer: str
    every: int
    """Minutes between two runs."""
    active: str
    """systemctl is-active of the timer: active, inactive, failed..."""
    last_run_s: int | None
    since_s: int | None
    result: str
    """The last run's result (success, exit-code...)."""

    @property
    def attention(self) -> tuple[str, ...]:
        """What is wrong, in words (with what to do); empty when it watches as it should."""
        on = f"on {self.watcher}"
        if self.active != "active":
            return (f"its timer is {self.active}, so nothing is watched: start it again {on} "
                    f"with: sudo systemctl enable --now {self.timer}",)
        late = LATE_FACTOR * self.every * 60
        service = self.timer.removesuffix(".timer") + ".service"
        if self.last_run_s is None and (self.since_s is None or self.since_s > late):
            return (f"it has not run although it should every {self.every} minutes: see why "
                    f"{on} with: journalctl -u {service}",)
        if self.last_run_s is not None and self.last_run_s > late:
            return (f"it last ran {_ago(self.last_run_s)}, though it should every "
                    f"{self.every} minutes: see why {on} with: journalctl -u {service}",)
        if self.result not in ("success", "unknown"):
            return (f"its last run failed ({self.result}; an alert that could not be sent is "
                    f"sent at the next run): see why {on} with: journalctl -u {service}",)
        return ()

    def words(self) -> str:
        what = f"the watcher on {self.watcher} for {self.label} on {self.host}"
        problems = self.attention
        if problems:
            return f"{what}: needs attention, " + "; ".join(problems) + "."
        when = ("not yet (its first run is due within a minute)" if self.last_run_s is None
                else _ago(self.last_run_s))
        return f"{what}: watching, every {self.every} minutes; last run {when}."


def _ago(seconds: int) -> str:
    minutes = max(0, seconds) // 60
    if minutes < 1:
        return "less than a minute ago"
    if minutes < 120:
        return f"{minutes} minute{'s' if minutes != 1 else ''} ago"
    return f"{minutes // 60} hours ago"


def _int(text: str) -> int | None:
    return int(text) if text.lstrip("-").isdigit() and text != "-" else None


def watchers(t: Transport, watches: Sequence[Watch]) -> tuple[WatcherCheck, ...]:
    """Each watch's watcher as the host `t` says it runs (the watches whose watcher it is)."""
    if not watches:
        return ()
    res = t.run(("sh", "-c", ASK, "sh", *(w.timer for w in watches)), timeout=60)
    seen: dict[str, list[str]] = {}
    for line in res.stdout.splitlines():
        parts = line.split()
        if len(parts) == 5:
            seen[parts[0]] = parts
    out: list[WatcherCheck] = []
    for w in watches:
        _, active, last, since, result = seen.get(w.timer, ["", "unknown", "-", "-", ""])
        out.append(WatcherCheck(w.watcher, w.host, w.service_id, w.label, w.timer, w.every,
                                printable(active, 20), _int(last), _int(since),
                                printable(result, 30) or "unknown"))
    return tuple(out)
