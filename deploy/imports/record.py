"""Where an import stopped: one small JSON file per archive, host and service, in the data
folder (`imports/HOST/SERVICE/KEY.json`), replaced atomically after each batch the host
stored. A rerun starts at the byte it names; the host's own check (a message id already
there is never stored again) covers a batch stored but not yet recorded."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from roost.core.atomic import atomic_write_text
from roost.core.validate import short_name

FOLDER = "imports"


def archive_key(path: Path, size: int) -> str:
    """Names one archive by its size and first and last 64 KB, so a renamed copy continues
    and a changed file starts over."""
    h = hashlib.sha256(str(size).encode())
    with path.open("rb") as f:
        h.update(f.read(65536))
        if size > 65536:
            f.seek(max(size - 65536, 65536))
            h.update(f.read(65536))
    return h.hexdigest()[:24]


@dataclass
class ImportRecord:
    offset: int = 0
    """The byte where the first message not yet stored starts."""
    stored: int = 0
    """Messages stored so far (copies in several folders counted once)."""
    bytes: int = 0
    skipped: list[str] = field(default_factory=list)
    """What was not imported, each `at byte N: why`."""
    finished: bool = False


class ImportJournal:
    def __init__(self, home: Path, host: str, service: str, key: str) -> None:
        short_name(host, "host name")
        self.path = home / FOLDER / host / service / f"{key}.json"

    def load(self) -> ImportRecord:
        try:
            data = json.loads(self.path.read_text("utf-8"))
            return ImportRecord(offset=int(data["offset"]), stored=int(data["stored"]),
                                bytes=int(data["bytes"]),
                                skipped=[str(s) for s in data["skipped"]][:1000],
                                finished=bool(data["finished"]))
        except (OSError, ValueError, KeyError, TypeError):
            return ImportRecord()  # none yet, or unreadable: start over (the host dedupes)

    def save(self, record: ImportRecord) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        atomic_write_text(self.path, json.dumps(asdict(record)), 0o600)
