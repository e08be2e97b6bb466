"""The app's own settings (screen-reader mode, colours), kept next to the progress file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from roost.core.errors import RoostError
from roost.core.versioned import read_versioned, write_versioned

SETTINGS_FILE = "settings.toml"
SCHEMA = 1


@dataclass
class Settings:
    screen_reader: bool = False
    colours: bool = True

    @classmethod
    def load(cls, home: Path) -> Settings:
        try:
            data = read_versioned(home / SETTINGS_FILE, "settings", SCHEMA)
        except RoostError:
            return cls()
        if data is None:
            return cls()
        sr, colours = data.get("screen_reader", False), data.get("colours", True)
        return cls(screen_reader=sr if isinstance(sr, bool) else False,
                   colours=colours if isinstance(colours, bool) else True)

    def save(self, home: Path) -> None:
        write_versioned(home / SETTINGS_FILE,
                        {"screen_reader": self.screen_reader, "colours": self.colours}, SCHEMA)
