"""Steps that write files, render templates, make folders and remove paths."""

from __future__ import annotations

import hashlib
import importlib.resources
import re
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from roost.core.errors import RoostError
from roost.deploy.steps.base import (
    DIR_STATE,
    FILE_STATE,
    PATH_EXISTS,
    Data,
    Secret,
    Step,
    StepContext,
    _abs_path,
    _mode,
    _owner_text,
    _preview,
    _user,
    ctx_free_bytes,
    script,
    shell_text,
)
from roost.deploy.transport import Transport

# --------------------------------------------------------------------------------------------
# Files


def _file_matches(ctx: StepContext, path: str, data: bytes, mode: int, owner: str | None,
                  group: str | None) -> bool:
    res = ctx.run(script(FILE_STATE, path), quiet=True)
    if not res.ok:
        return False
    lines = res.stdout.split()
    if len(lines) != 4:
        return False
    digest, m, o, g = lines
    if digest != hashlib.sha256(data).hexdigest() or int(m, 8) != mode:
        return False
    return (owner is None or o == owner) and (group is None or g == group)


def _private(mode: int, group: str | None) -> bool:
    """Fit for a secret: nothing for others; read by the group only when one is named (0640
    root:<service> lets the service read it, as 0600 would not)."""
    return not mode & (0o037 if group is not None else 0o077)


def _placed(path: str, mode: int, owner: str | None, group: str | None) -> None:
    """Check where a file or folder goes and whose it is: an absolute path, a mode, and the
    owner and group (when given) as user names."""
    _abs_path(path)
    _mode(mode)
    if owner is not None:
        _user(owner, "owner")
    if group is not None:
        _user(group, "group")


@dataclass(frozen=True)
class WriteFile(Step):
    """Write a file atomically on the host (temp file, then rename) with mode and owner."""

    path: str
    content: Data
    mode: int = 0o644
    owner: str | None = None
    group: str | None = None

    def __post_init__(self) -> None:
        _placed(self.path, self.mode, self.owner, self.group)
        if isinstance(self.content, Secret) and not _private(self.mode, self.group):
            raise RoostError(f"{self.path} holds a secret but would be readable by others",
                             hint="give it mode 0o600 or 0o640")

    def _data(self, ctx: StepContext) -> bytes:
        return ctx.data(self.content)

    def _shown(self) -> Data:
        return self.content

    def describe(self) -> str:
        return f"write {self.path}"

    def commands(self) -> list[str]:
        shown = self._shown()
        size = "a secret" if isinstance(shown, Secret) else f"{len(ctx_free_bytes(shown))} bytes"
        return [f"write file {self.path} ({size}, "
                f"{_owner_text(self.owner, self.group, self.mode)}), atomically:",
                *_preview(shown)]

    def check(self, t: Transport, ctx: StepContext) -> bool:
        return _file_matches(ctx, self.path, self._data(ctx), self.mode, self.owner, self.group)

    def apply(self, t: Transport, ctx: StepContext) -> None:
        t.put_file(self.path, self._data(ctx), mode=self.mode, owner=self.owner,
                   group=self.group)
        ctx.changed_paths.add(self.path)

    def touches(self) -> tuple[str, ...]:
        return (self.path,)

    def hint(self) -> str:
        return "check that the folder exists or can be created, the owner exists, and disk space"


class _TemplateText(string.Template):
    # ${name} and $name, names may hold dots and dashes after the first letter.
    idpattern = r"(?a:[_a-z][_a-z0-9.\-]*)"
    flags = re.IGNORECASE


def load_template(name: str) -> str:
    """A template file shipped in roost/deploy/templates/."""
    if "/" in name or name.startswith("."):
        raise RoostError(f"{name!r} is not a template name")
    try:
        return (importlib.resources.files("roost.deploy") / "templates" / name).read_text("utf-8")
    except (FileNotFoundError, OSError):
        raise RoostError(f"the template {name} is missing from roost",
                         hint="reinstall roost") from None


def render(text: str, values: Mapping[str, str], what: str = "template") -> str:
    """Substitute `${name}` with values: plain text replacement, nothing is evaluated.
    A placeholder with no value is an error; `$$` is a literal `$`."""
    try:
        return _TemplateText(text).substitute(values)
    except KeyError as exc:
        raise RoostError(f"the {what} needs a value for {exc.args[0]}") from None
    except ValueError as exc:
        raise RoostError(f"the {what} has a bad placeholder: {exc}") from None


@dataclass(frozen=True)
class RenderTemplate(WriteFile):
    """Render `template` (a file in deploy/templates/) or `text` with `values` and write it;
    or, for a file whose syntax needs its values quoted, call `render` (a module-level
    function) with the values, secrets resolved, at apply time.

    Values are inserted as text, never evaluated. A value with a line break is refused unless
    `multiline=True`, so an option can never add lines to a config file."""

    content: Data = ""
    template: str | None = None
    text: str | None = None
    values: Mapping[str, str | Secret] = field(default_factory=dict)
    multiline: bool = False
    render: Callable[[Mapping[str, str]], str] | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if sum(x is not None for x in (self.template, self.text, self.render)) != 1:
            raise RoostError("RenderTemplate needs exactly one of template=, text= or render=")
        has_secret = any(isinstance(v, Secret) for v in self.values.values())
        if has_secret and not _private(self.mode, self.group):
            raise RoostError(f"{self.path} holds a secret but would be readable by others",
                             hint="give it mode 0o600 or 0o640")
        for k, v in self.values.items():
            if isinstance(v, str) and not self.multiline and ("\n" in v or "\r" in v
                                                                  or "\0" in v):
                raise RoostError(f"the value for {k} has a line break",
                                 hint="give it on one line")

    def _source(self) -> str:
        return self.text if self.text is not None else load_template(self.template or "")

    def _render(self, value_of: Callable[[str | Secret], str]) -> str:
        values = {k: value_of(v) for k, v in self.values.items()}
        if self.render is not None:
            return self.render(values)
        return render(self._source(), values, f"template for {self.path}")

    def _data(self, ctx: StepContext) -> bytes:
        def value(v: str | Secret) -> str:
            if isinstance(v, Secret):
                s = ctx.secret(v)
                if not self.multiline and ("\n" in s or "\r" in s):
                    raise RoostError(f"the secret {v.name} ({v.field}) has a line break")
                return s
            return v
        return self._render(value).encode("utf-8")

    def _shown(self) -> Data:
        return self._render(lambda v: v.shown() if isinstance(v, Secret) else v)

    def describe(self) -> str:
        return f"write {self.path} from a template"

    def commands(self) -> list[str]:
        return [f"write file {self.path} (rendered, "
                f"{_owner_text(self.owner, self.group, self.mode)}), atomically:",
                *_preview(self._shown())]


@dataclass(frozen=True)
class EnsureDir(Step):
    path: str
    mode: int = 0o755
    owner: str | None = None
    group: str | None = None

    def __post_init__(self) -> None:
        _placed(self.path, self.mode, self.owner, self.group)

    def describe(self) -> str:
        return f"create the folder {self.path}"

    def _argv(self) -> list[str]:
        argv = ["install", "-d", "-m", f"{self.mode:04o}"]
        if self.owner:
            argv += ["-o", self.owner]
        if self.group:
            argv += ["-g", self.group]
        return [*argv, "--", self.path]

    def commands(self) -> list[str]:
        return [shell_text(self._argv())]

    def check(self, t: Transport, ctx: StepContext) -> bool:
        res = ctx.run(script(DIR_STATE, self.path), quiet=True)
        parts = res.stdout.split()
        if not res.ok or len(parts) != 3:
            return False
        return (int(parts[0], 8) == self.mode and (self.owner is None or parts[1] == self.owner)
                and (self.group is None or parts[2] == self.group))

    def apply(self, t: Transport, ctx: StepContext) -> None:
        ctx.must(self._argv(), f"creating {self.path}", self.hint(), final=True)

    def touches(self) -> tuple[str, ...]:
        return (self.path,)


@dataclass(frozen=True)
class RemovePath(Step):
    """Remove a file or a folder with everything in it (uninstall, --purge-data)."""

    path: str

    def __post_init__(self) -> None:
        _abs_path(self.path)
        if self.path.rstrip("/").count("/") < 2 and self.path.rstrip("/") not in ("/srv",):
            raise RoostError(f"refusing to remove {self.path}: too close to the root folder")

    def describe(self) -> str:
        return f"remove {self.path}"

    def _argv(self) -> list[str]:
        return ["rm", "-rf", "--", self.path]

    def commands(self) -> list[str]:
        return [shell_text(self._argv())]

    def check(self, t: Transport, ctx: StepContext) -> bool:
        return not ctx.run(script(PATH_EXISTS, self.path), quiet=True).ok

    def apply(self, t: Transport, ctx: StepContext) -> None:
        ctx.must(self._argv(), f"removing {self.path}", self.hint(), final=True)

    def touches(self) -> tuple[str, ...]:
        return (self.path,)
