"""A recipe written out as an Ansible role: tasks, handlers, templates and defaults, as data.

Pure: nothing here connects, resolves a secret or writes a file. `role(recipe, name, options)`
walks the recipe's own steps (`Recipe.numbered()`, the list the engine runs and a dry run
prints) and turns each typed step into `ansible.builtin` tasks, in the same order:

- InstallPackages → `apt`; EnsureDir, RemovePath → `file`; EnsureUser → `user`;
- WriteFile → `copy` (its bytes in `files/`); RenderTemplate → `template`: the file exactly as
  roost renders it, in `templates/`, fenced in `{% raw %}` so Jinja changes nothing;
- EnableService, DisableService → `systemd`; Restart(watch) → a handler, notified by the
  steps that write what it watches, flushed where the Restart stands in the recipe;
- RunCommand, CreateAccount → `command` with its `creates:`, or its `unless` command run first
  as a guard; a command with neither runs once per host (a marker file, as roost's journal);
- InstallArtifact → `get_url` with its `checksum:` (roost's pin, or upstream's checksums file
  by its URL), then roost's own unpack script;
- WaitHealth → `command` with retries, or `uri`, or `wait_for` for a probe run here.

A file or standard input that holds a secret is never written here: its task reads a variable
(`VaultVar`) the caller fills from the key vault into `group_vars/all/vault.yml`, encrypted.
"""

from __future__ import annotations

import json
import re
import textwrap
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeAlias

from roost.core.errors import RoostError
from roost.deploy import steps as st
from roost.deploy.options import recipe_options
from roost.deploy.recipe import Recipe
from roost.deploy.recipes.upstream import (
    INSTALLED,
    UNPACK,
    UNPACK_ZIP,
    InstallArtifact,
    sums_name,
)
from roost.deploy.steps.commands import _as_user

MARKER_DIR = "/var/lib/roost-ansible"
"""Where a command that has no check of its own leaves a marker once it ran."""

Resolve = Callable[[st.Secret], str]


@dataclass(frozen=True)
class VaultVar:
    """A variable of the vault file: its name, and how its value is made from the secrets."""

    name: str
    value: Callable[[Resolve], str]
    refs: tuple[st.Secret, ...]


@dataclass
class Role:
    """One service's role: file path (under roles/NAME/) -> text, and its vault variables."""

    name: str
    files: dict[str, str] = field(default_factory=dict)
    vault: list[VaultVar] = field(default_factory=list)


# --------------------------------------------------------------------------------------------
# YAML: block style, every scalar written as JSON (a subset of YAML), so nothing is misread


@dataclass(frozen=True)
class Comment:
    """A comment line in a task list or mapping (`# text`)."""

    text: str


Yaml: TypeAlias = ("str | int | float | bool | Comment | Sequence[Yaml] | Mapping[str, Yaml] "
                   "| None")
"""What `yaml` writes: scalars, comments, lists and mappings of them."""
Task: TypeAlias = dict[str, Yaml]
"""One task or handler, as a mapping."""


_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")


def _key(k: Yaml) -> str:
    return k if isinstance(k, str) and _PLAIN_KEY.match(k) else _scalar(k)


class Jinja(str):
    """Text Ansible is meant to evaluate (`{{ vault_x }}`); any other text that holds Jinja's
    delimiters (a shell's `${#x}`, a page's `{{`) is fenced so Ansible leaves it as it is."""


_DELIMITERS = re.compile(r"{[{%#]")


_TOKEN = re.compile(r"\\u[0-9a-fA-F]{4}|\\.|.", re.S)
WIDTH = 100


def _scalar(v: Yaml, indent: int = 0) -> str:
    """One scalar; a long text is folded over lines with escaped line breaks (YAML keeps
    exactly the text), breaking only before a character that is not a space."""
    if isinstance(v, bool) or v is None or isinstance(v, int | float):
        return json.dumps(v)
    text = str(v)
    if not isinstance(v, Jinja) and _DELIMITERS.search(text):
        text = _raw(text)
    quoted = json.dumps(text, ensure_ascii=False)
    if len(quoted) + indent <= WIDTH + 20:
        return quoted
    lines, line = [], ""
    for token in _TOKEN.findall(quoted):
        if len(line) >= WIDTH - indent and token not in (" ", "\t") and line:
            lines.append(line)
            line = ""
        line += token
    lines.append(line)
    return ("\\\n" + " " * (indent + 4)).join(lines)


def yaml(value: Yaml, indent: int = 0) -> str:
    """`value` (dicts, lists, scalars, `Comment`s) as YAML text."""
    pad = " " * indent
    if isinstance(value, Mapping):
        if not value:
            return pad + "{}\n"
        out = ""
        for k, v in value.items():
            if isinstance(v, Comment):
                out += _comment(v, pad)
            elif isinstance(v, Mapping | list) and v:
                out += f"{pad}{_key(k)}:\n" + yaml(v, indent + 2)
            else:
                out += f"{pad}{_key(k)}: {_inline(v, indent)}\n"
        return out
    if isinstance(value, list):
        if not value:
            return pad + "[]\n"
        out = ""
        for item in value:
            if isinstance(item, Comment):
                out += _comment(item, pad)
            elif isinstance(item, Mapping | list) and item:
                inner = yaml(item, indent + 2)
                out += f"{pad}- {inner[indent + 2:]}"
            else:
                out += f"{pad}- {_inline(item, indent)}\n"
        return out
    return pad + _scalar(value) + "\n"


def _comment(c: Comment, pad: str) -> str:
    return "".join(f"{pad}# {line}\n" for line in textwrap.wrap(c.text, WIDTH - len(pad)))


def _inline(v: Yaml, indent: int = 0) -> str:
    if isinstance(v, Mapping):
        return "{}"
    if isinstance(v, list):
        return "[]"
    return _scalar(v, indent)


# --------------------------------------------------------------------------------------------
# Steps to tasks


_JINJA = re.compile(r"{%-?\s*endraw\s*-?%}")


def _raw(text: str) -> str:
    """Text Jinja leaves exactly as it is."""
    if _JINJA.search(text):
        raise RoostError("a file of this recipe cannot be written as an Ansible template",
                         hint="report it: the file holds Jinja's own end-of-raw marker")
    return "{% raw %}" + text + "{% endraw %}"


def _mode(m: int) -> str:
    return f"0{m:o}" if m < 0o1000 else f"{m:o}"


def _owned(d: Task, owner: str | None, group: str | None) -> Task:
    if owner:
        d["owner"] = owner
    if group:
        d["group"] = group
    return d


def _file_name(path: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", path.strip("/"))


def _mentions(step: st.Step, paths: set[str]) -> bool:
    """The step writes, creates or names one of `paths` (the link `ln -sfn A B` makes)."""
    if set(step.touches()) & paths:
        return True
    if isinstance(step, st.RunCommand):
        return bool(set(step.argv) & paths) or step.creates in paths
    return False


class _Builder:
    def __init__(self, recipe: Recipe, name: str) -> None:
        self.recipe = recipe
        self.name = name
        self.role = Role(name)
        self.tasks: list[Yaml] = []
        self.handlers: list[Task] = []
        self.notify: dict[int, list[str]] = {}
        self.markers = False
        self._plan_handlers()

    # -- handlers: one per Restart, notified by the steps before it that touch what it watches

    def _handler(self, i: int, step: st.Restart) -> str:
        return f"{step.action.capitalize()} {step.unit} for {self.name} (step {i})"

    def _plan_handlers(self) -> None:
        steps = list(self.recipe.steps)
        for i, step in enumerate(steps, 1):
            if not isinstance(step, st.Restart):
                continue
            watch = set(step.watch)
            for j, earlier in enumerate(steps[:i - 1], 1):
                if _mentions(earlier, watch):
                    self.notify.setdefault(j, []).append(self._handler(i, step))
            if step.action == "reload-or-restart":
                task: Task = {
                    "name": self._handler(i, step), "changed_when": True,
                    "ansible.builtin.command": {
                        "argv": ["systemctl", "reload-or-restart", step.unit]}}
            else:
                task = {"name": self._handler(i, step), "ansible.builtin.systemd": {
                    "name": step.unit, "daemon_reload": True,
                    "state": "reloaded" if step.action == "reload" else "restarted"}}
            self.handlers.append(task)

    # -- vault variables

    def _vault(self, value: Callable[[Resolve], str], refs: Sequence[st.Secret]) -> str:
        name = f"vault_{self.name}_{len(self.role.vault) + 1}"
        self.role.vault.append(VaultVar(name, value, tuple(refs)))
        return name

    # -- tasks

    def _add(self, n: int, title: str, body: Task, **extra: Yaml) -> None:
        task: Task = {"name": f"Step {n}: {title}", **body, **extra}
        if n in self.notify:
            task["notify"] = list(self.notify[n])
        self.tasks.append(task)

    def _guard(self, n: int, argv: Sequence[str], what: str) -> str:
        """A check run before step n (`unless`): its result says whether the step runs."""
        var = f"{self.name}_step{n}_done"
        self.tasks.append({
            "name": f"Step {n}: is it done already? ({what})",
            "ansible.builtin.command": {"argv": list(argv)},
            "register": var, "changed_when": False, "failed_when": False,
            "check_mode": False})
        return f"{var}.rc != 0"

    def _marker(self, n: int, step: st.Step) -> str:
        self.markers = True
        return f"{MARKER_DIR}/{self.name}/{n:03d}-{step.digest()}.done"

    def step(self, n: int, step: st.Step) -> None:
        what = step.describe()
        if isinstance(step, st.InstallPackages):
            self._add(n, what, {"ansible.builtin.apt": {
                "name": list(step.packages), "state": "present", "install_recommends": False,
                "update_cache": True, "cache_valid_time": 3600}})
        elif isinstance(step, st.RemovePackages):
            self._add(n, what, {"ansible.builtin.apt": {
                "name": list(step.packages), "state": "absent", "purge": step.purge}})
        elif isinstance(step, st.RenderTemplate):
            self._template(n, step)
        elif isinstance(step, st.WriteFile):
            self._write(n, step)
        elif isinstance(step, st.EnsureDir):
            self._add(n, what, {"ansible.builtin.file": _owned({
                "path": step.path, "state": "directory", "mode": _mode(step.mode)},
                step.owner, step.group)})
        elif isinstance(step, st.RemovePath):
            self._add(n, what, {"ansible.builtin.file": {"path": step.path, "state": "absent"}})
        elif isinstance(step, st.EnsureUser):
            # Its own group first, as roost's useradd does (`-U`, or `-g` when it exists).
            self.tasks.append({"name": f"Step {n}: the group {step.name}",
                               "ansible.builtin.group": {"name": step.name, "system": True}})
            user: Task = {"name": step.name, "group": step.name, "system": True,
                                    "home": step.home, "create_home": False,
                                    "shell": step.shell}
            if step.groups:
                user.update(groups=list(step.groups), append=True)
            self._add(n, what, {"ansible.builtin.user": user})
        elif isinstance(step, st.EnableService):
            self._add(n, what, {"ansible.builtin.systemd": {
                "name": step.unit, "enabled": True, "state": "started", "daemon_reload": True}})
        elif isinstance(step, st.DisableService):
            self._add(n, what, {"ansible.builtin.systemd": {
                "name": step.unit, "enabled": False, "state": "stopped"}})
        elif isinstance(step, st.Restart):
            self.tasks.append(Comment(
                f"Step {n}: {what}: its handler runs here when a file it watches changed"))
            self.tasks.append({"name": f"Step {n}: {what}",
                               "ansible.builtin.meta": "flush_handlers"})
        elif isinstance(step, st.RunCommand):
            self._command(n, step)
        elif isinstance(step, st.CreateAccount):
            self._account(n, step)
        elif isinstance(step, InstallArtifact):
            self._artifact(n, step)
        elif isinstance(step, st.WaitHealth):
            self._health(n, step)
        else:
            raise RoostError(f"roost cannot write the step {what!r} as Ansible yet",
                             hint="report it; the recipe still deploys with roost")

    def _write(self, n: int, step: st.WriteFile) -> None:
        args = _owned({"dest": step.path, "mode": _mode(step.mode)}, step.owner, step.group)
        if isinstance(step.content, st.Secret):
            if step.content.binary:
                raise RoostError(f"{step.path} holds a binary secret Ansible cannot copy",
                                 hint="report it; the recipe still deploys with roost")
            secret = step.content
            var = self._vault(lambda r: r(secret), [secret])
            self._add(n, step.describe() + " (from the vault)", {"ansible.builtin.copy": {
                "content": Jinja("{{ " + var + " }}"), **args}}, no_log=True)
            return
        data = step.content.encode("utf-8") if isinstance(step.content, str) else step.content
        try:
            self.role.files[f"files/{_file_name(step.path)}"] = data.decode("utf-8")
        except UnicodeDecodeError:
            raise RoostError(f"{step.path} is binary: roost cannot write it into a role yet",
                             hint="report it; the recipe still deploys with roost") from None
        self._add(n, step.describe(), {"ansible.builtin.copy": {
            "src": _file_name(step.path), **args}})

    def _template(self, n: int, step: st.RenderTemplate) -> None:
        args = _owned({"dest": step.path, "mode": _mode(step.mode)}, step.owner, step.group)
        refs = [v for v in step.values.values() if isinstance(v, st.Secret)]
        if refs:
            # The whole rendered file is the secret: it goes to the vault as it is.
            def rendered(r: Resolve, s: st.RenderTemplate = step) -> str:
                return s._render(lambda v: r(v) if isinstance(v, st.Secret) else v)
            var = self._vault(rendered, refs)
            self._add(n, step.describe() + " (from the vault)", {"ansible.builtin.copy": {
                "content": Jinja("{{ " + var + " }}"), **args}}, no_log=True)
            return
        text = step._render(lambda v: v if isinstance(v, str) else v.shown())
        src = f"{_file_name(step.path)}.j2"
        self.role.files[f"templates/{src}"] = _raw(text)
        self._add(n, step.describe(), {"ansible.builtin.template": {"src": src, **args}})

    def _note(self, text: str) -> None:
        """A comment above the next task: why it is a `command`."""
        self.tasks.append(Comment(text))

    def _command(self, n: int, step: st.RunCommand) -> None:
        if step.unless:
            self._note(f"Step {n} is roost's own command; it runs when the check before it "
                       "fails, as roost's `unless`.")
        elif step.creates:
            self._note(f"Step {n} is roost's own command, done once {step.creates} exists.")
        else:
            self._note(f"Step {n} has no check: it runs once per host, as roost's journal "
                       "remembers it; the marker file is its `creates:`.")
        argv = _as_user(step.argv, step.as_user, step.cwd)
        args: Task = {"argv": argv}
        extra: Task = {}
        if isinstance(step.stdin, st.Secret):
            if step.stdin.binary:
                raise RoostError("a command reads a binary secret Ansible cannot pass",
                                 hint="report it; the recipe still deploys with roost")
            secret = step.stdin
            var = self._vault(lambda r: r(secret), [secret])
            args.update(stdin=Jinja("{{ " + var + " }}"), stdin_add_newline=False)
            extra["no_log"] = True
        elif step.stdin is not None:
            data = step.stdin if isinstance(step.stdin, str) else step.stdin.decode("utf-8")
            args.update(stdin=data, stdin_add_newline=False)
        if step.creates:
            args["creates"] = step.creates
        if step.unless:
            extra["when"] = self._guard(n, _as_user(step.unless, step.as_user, step.cwd),
                                        step.describe())
            if not step.creates:
                extra["changed_when"] = True  # it runs only when the check says it is needed
        if step.timeout is not None:
            extra["timeout"] = max(1, int(step.timeout))
        if not step.has_check:
            # No check of its own: roost runs it once per host (its journal); so does this.
            marker = self._marker(n, step)
            args["creates"] = marker
            self._add(n, step.describe() + " (once)", {"ansible.builtin.command": args},
                      register=f"{self.name}_step{n}", **extra)
            self.tasks.append({"name": f"Step {n}: remember that it ran",
                               "ansible.builtin.copy": {"content": "", "dest": marker,
                                                        "mode": "0644"},
                               "when": f"{self.name}_step{n} is changed"})
            return
        self._add(n, step.describe(), {"ansible.builtin.command": args}, **extra)

    def _account(self, n: int, step: st.CreateAccount) -> None:
        secret, encode, repeat = step.secret, step.encode, step.repeat

        def line(r: Resolve) -> str:
            value = r(secret)
            text = value if encode is None else encode(value)
            if "\n" in text or "\r" in text:
                raise RoostError(f"the secret {secret.name} ({secret.field}) has a line break",
                                 hint="make a new one with `roost keys`")
            return (text + "\n") * repeat
        var = self._vault(line, [secret])
        self._note(f"Step {n}: no ansible.builtin module makes this account: roost's command "
                   "does, its password on standard input from the vault, when the check "
                   "before it finds no account.")
        extra: Task = {"no_log": True, "changed_when": True}
        if step.exists:
            extra["when"] = self._guard(n, _as_user(step.exists, step.as_user, None),
                                        step.describe())
        self._add(n, step.describe() + " (password from the vault)", {
            "ansible.builtin.command": {"argv": _as_user(step.argv, step.as_user, None),
                                        "stdin": Jinja("{{ " + var + " }}"),
                                        "stdin_add_newline": False}}, **extra)

    def _artifact(self, n: int, step: InstallArtifact) -> None:
        """get_url checks the download against roost's pin, or, where roost pins none, against
        upstream's own checksums file (get_url reads the line for the file from its URL); the
        host's digest is then read back (stat) for roost's unpack script, which checks it
        again before unpacking. Trust on first use (Pleroma) has nothing to export."""
        if not step.sha256 and not step.sums:
            raise RoostError(f"{step.service}'s release has no pinned sha256 and upstream "
                             "publishes no checksums file", hint="deploy it with --option "
                             "sha256=HASH, then export again")
        self._note(f"Step {n}: get_url checks the release's sha256"
                   + ("" if step.sha256 else f" against upstream's {sums_name(step.sums)}")
                   + "; no ansible.builtin module unpacks it, checks it holds the program and "
                   "switches the `current` link at once, so roost's own unpack script does, "
                   "when the check finds another release in place.")
        if step.sha256:
            when = self._guard(n, st.script(INSTALLED, step.current, step.release,
                                            step.binary), f"{step.service} {step.version}")
        else:  # the release folder is named after a digest known only once downloaded
            when = self._guard(n, ["test", "-x", f"{step.current}/{step.binary}"],
                               f"{step.service} {step.version}")
        tarball = f"{step.root}/releases/{step.file}"
        unpack = UNPACK_ZIP if step.file.endswith(".zip") else UNPACK
        self.tasks.append({"name": f"Step {n}: make {step.root}/releases",
                           "ansible.builtin.file": {"path": f"{step.root}/releases",
                                                    "state": "directory", "mode": "0755"},
                           "when": when})
        checksum = f"sha256:{step.sha256 or step.sums}"
        self.tasks.append({"name": f"Step {n}: download {step.file}",
                           "ansible.builtin.get_url": {"url": step.url, "dest": tarball,
                                                       "checksum": checksum, "mode": "0600"},
                           "when": when})
        sha: str = step.sha256
        release: str = step.release
        if not sha:
            var = f"{self.name}_step{n}_file"
            self.tasks.append({"name": f"Step {n}: read the sha256 of {step.file}",
                               "ansible.builtin.stat": {"path": tarball,
                                                        "checksum_algorithm": "sha256"},
                               "register": var, "when": when})
            sha = Jinja("{{ " + var + ".stat.checksum }}")
            release = Jinja(f"{step.root}/releases/{{{{ {var}.stat.checksum[:16] }}}}")
        # No ansible.builtin module unpacks, checks and switches a `current` link at once:
        # roost's own unpack script does, guarded by the check above.
        self._add(n, step.describe(), {"ansible.builtin.command": {"argv": st.script(
            unpack, tarball, sha, release, step.current, step.binary)}},
            when=when, changed_when=True)

    def _health(self, n: int, step: st.WaitHealth) -> None:
        tries = max(1, int(step.timeout / max(step.interval, 1.0)))
        retry = {"retries": tries, "delay": max(1, int(step.interval))}
        if step.argv is not None:
            self._add(n, step.describe(), {"ansible.builtin.command": {"argv": list(step.argv)}},
                      register=f"{self.name}_health", until=f"{self.name}_health.rc == 0",
                      changed_when=False, **retry)
        elif step.probe is None and step.site is not None:
            site = step.site
            uri: Task = {"url": site.url(step.path), "status_code": step.expect_status,
                                   "follow_redirects": "none",
                                   "headers": {"Host": site.host_name},
                                   "validate_certs": step.verify_tls}
            until = f"{self.name}_health.status == {step.expect_status}"
            extra: Task = {}
            if step.expect_text is not None:
                uri["return_content"] = True
                # The text is a variable, never part of the expression.
                extra["vars"] = {"expected_text": step.expect_text}
                until += f" and expected_text in {self.name}_health.content"
            # Asked from this computer, as roost asks it.
            self._add(n, step.describe(), {"ansible.builtin.uri": uri},
                      delegate_to="localhost", become=False,
                      register=f"{self.name}_health", until=until, **extra, **retry)
        elif step.site is not None:
            # roost's probe speaks the service's protocol from here; ansible.builtin has no
            # such client, so this waits for the port to take connections.
            self._note(f"Step {n}: roost's own probe talks to port {step.site.port} from "
                       "here and checks the answer; ansible.builtin has no such client, so "
                       "this waits for the port to take connections.")
            self._add(n, step.describe() + " (its port answers)", {
                "ansible.builtin.wait_for": {"host": step.site.address,
                                             "port": step.site.port,
                                             "timeout": int(step.timeout)}},
                      delegate_to="localhost", become=False)
        else:
            raise RoostError(f"roost cannot write the health check {step.describe()!r} "
                             "as Ansible", hint="report it; the recipe still deploys with roost")

    def build(self, options: Mapping[str, str]) -> Role:
        body: list[Yaml] = []
        for n, step in self.recipe.numbered():
            self.step(n, step)
        if self.markers:
            body.append({"name": "A folder for the markers of commands that run once",
                         "ansible.builtin.file": {"path": f"{MARKER_DIR}/{self.name}",
                                                  "state": "directory", "mode": "0755"}})
        head = (f"# {self.recipe.title}: written by roost from its recipe "
                f"{self.recipe.id!r}, step for step.\n")
        self.role.files["tasks/main.yml"] = "---\n" + head + yaml(body + self.tasks)
        self.role.files["handlers/main.yml"] = "---\n" + yaml(self.handlers)
        self.role.files["defaults/main.yml"] = "---\n" + _defaults(self.recipe, self.name,
                                                                   options)
        return self.role


def _defaults(recipe: Recipe, name: str, options: Mapping[str, str]) -> str:
    sid = recipe.service_id
    lines = [f"# The options {sid} was deployed with. The tasks and templates were",
             "# written from them: to change one, deploy again with",
             f"# `roost deploy {sid} --host HOST --option NAME=VALUE`, then export again",
             f"# with `roost playbook {sid} --host HOST --to DIR --force`."]
    try:
        declared = {o.name: o for o in recipe_options(recipe.id).options}
    except RoostError:
        declared = {}
    values: Task = {}
    for key in sorted(set(declared) | set(options)):
        o = declared.get(key)
        value = options.get(key, o.default if o is not None else "")
        if o is not None and o.meaning:
            values[f"# {key}"] = Comment(" ".join(o.meaning.split()))
        values[f"{name}_{key.replace('-', '_')}"] = value or ""
    return "\n".join(lines) + "\n" + (yaml(values) if values else "{}\n")


def role(recipe: Recipe, name: str, options: Mapping[str, str]) -> Role:
    """The Ansible role that does what `recipe` does, named `name`."""
    if not re.match(r"^[a-z][a-z0-9_]{0,62}$", name):
        raise RoostError(f"{name!r} is not a role name")
    return _Builder(recipe, name).build(options)


def role_name(service: str) -> str:
    return service.replace("-", "_")
