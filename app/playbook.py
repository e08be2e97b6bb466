"""Hand roost's work over to Ansible: `roost playbook ID --host NAME --to DIR` (or `--all`).

Each service is built as roost would deploy it again (the options it was deployed with, the
host's facts read last, the vault's public identities), then written out by
roost.deploy.ansible as a role. The project gets an inventory from the hosts roost knows, a
site.yml, a README, and the secrets the roles need in group_vars/all/vault.yml, encrypted by
ansible-core's own `ansible-vault` with the password the person chose: the secrets reach it
on standard input and the password as a file (the person's, or a pipe), never as an argument.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from roost.app.deploy_options import deployed_options
from roost.app.hosts import find
from roost.core import validate
from roost.core.atomic import atomic_write_text
from roost.core.errors import RoostError
from roost.core.text import count
from roost.deploy import ansible, session
from roost.deploy.hosts import Host
from roost.deploy.recipes import builder

VAULT_FILE = "group_vars/all/vault.yml"

ANSIBLE_CFG = """\
# Written by roost. Pipelining sends each task to the host on ssh's standard input, so a
# task's arguments (a password from the vault on a command's stdin) are never written to a
# temporary file on the host.
[ssh_connection]
pipelining = True
"""

VaultPassword = Path | Callable[[], str]
"""The vault password: a file the person gives (read by ansible-vault itself), or a function
that asks for it."""


@dataclass(frozen=True)
class Exported:
    folder: Path
    roles: tuple[tuple[str, str, str], ...]
    """(role, service, host) of every role written."""
    secrets: int
    """How many values the encrypted vault file holds."""

    def lines(self) -> list[str]:
        out = [f"Wrote an Ansible project to {self.folder}: "
               f"{count(len(self.roles), 'role')} "
               f"({', '.join(f'{s} on {h}' for _, s, h in self.roles)})."]
        if self.secrets:
            verb = "is" if self.secrets == 1 else "are"
            out.append(f"{count(self.secrets, 'secret')} {verb} in {VAULT_FILE}, encrypted "
                       "with your vault password.")
        vault = " --ask-vault-pass" if self.secrets else ""
        out.append(f"Run it: cd {self.folder} && ansible-playbook -i inventory.ini site.yml"
                   f"{vault}. Its README.md says what roost does that it does not.")
        return out


def _tool(name: str) -> str:
    """An ansible-core program: next to this Python's own (a virtualenv), else on PATH."""
    here = Path(sys.executable).parent / name
    if here.exists():
        return str(here)
    found = shutil.which(name)
    if found is None:
        raise RoostError(f"{name} is not installed on this computer",
                         hint="install ansible-core (`pipx install ansible-core`, or "
                              "`sudo apt install ansible-core`), then run again")
    return found


def _empty_or_forced(folder: Path, force: bool) -> None:
    if folder.exists() and not folder.is_dir():
        raise RoostError(f"{folder} is not a folder", hint="give a folder with --to")
    if folder.is_dir() and any(folder.iterdir()) and not force:
        raise RoostError(f"{folder} is not empty",
                         hint="give an empty or new folder, or add --force to write over "
                              "the files roost writes there")


def _pairs(home: Path, service: str | None, host: str | None, every: bool
           ) -> list[tuple[str, str]]:
    if every:
        from roost.app.backing_up import deployed_services

        found = sorted(set(deployed_services(home)))
        if not found:
            raise RoostError("no service is deployed yet, so there is nothing to export",
                             hint="deploy one with `roost deploy ID --host NAME`, or name one "
                                  "with `roost playbook ID --host NAME --to DIR`")
        return found
    if not service or not host:
        raise RoostError("name a service and its host, or give --all",
                         hint="write `roost playbook ID --host NAME --to DIR`")
    builder(service)  # an unknown service is refused by name
    return [(service, validate.short_name(host, "host name"))]


def _role_names(pairs: Sequence[tuple[str, str]]) -> list[str]:
    """The service's name, with the host's when one service runs on several hosts."""
    services = [s for s, _ in pairs]
    return [ansible.role_name(s if services.count(s) == 1 else f"{s}_{h}") for s, h in pairs]


def _inventory(hosts: Sequence[Host]) -> str:
    lines = ["# The hosts roost knows (`roost host list`), with their users and ports.", ""]
    for h in hosts:
        if h.is_local:
            lines.append(f"{h.name} ansible_connection=local")
            continue
        parts = [h.name, f"ansible_host={h.address}"]
        if h.user:
            parts.append(f"ansible_user={h.user}")
        if h.port:
            parts.append(f"ansible_port={h.port}")
        if h.key_path:
            parts.append(f"ansible_ssh_private_key_file={json.dumps(h.key_path)}")
        lines.append(" ".join(parts))
    return "\n".join(lines) + "\n"


def _site(by_host: dict[str, list[str]]) -> str:
    plays: list[ansible.Task] = [
        {"name": f"The services roost set up on {host}", "hosts": host, "become": True,
         "roles": roles} for host, roles in by_host.items()]
    return "---\n" + ansible.yaml(plays)


def _readme(roles: Sequence[tuple[str, str, str]], secrets: int) -> str:
    vault = " --ask-vault-pass" if secrets else ""
    listed = "\n".join(f"- `roles/{r}`: {s} on {h}" for r, s, h in roles)
    return f"""# Services written out by roost for Ansible

{listed}

## Run it

    ansible-playbook -i inventory.ini site.yml{vault}

(or `--vault-password-file FILE` instead of `--ask-vault-pass`; add `--ask-become-pass`
when the user in `inventory.ini` needs a password for sudo). It needs only ansible-core:
every task uses `ansible.builtin` modules; the hosts need Python 3, as Debian and Raspberry
Pi OS have. Run it again at any time: a run where nothing
changed reports `changed=0`.

Each role does what roost's recipe does, step for step and in the same order ("step 3: ..."
in the task names are roost's step numbers), and ends with the same health check.
The secrets the roles need (passwords, and files that hold one) are in
`{VAULT_FILE}`, encrypted: `ansible-vault view {VAULT_FILE}` shows them.
`defaults/main.yml` lists the options each service was deployed with; the files were
written from them, so to change one, deploy again with roost and export again.

## What roost does that this playbook does not

- It creates the identities and their keys (`roost keys`): the vault here holds copies of
  the ones these services use, made when this was written.
- It keeps the plan of what is moved and what is next (`roost plan`), and checks that
  the services are reachable from outside (`roost reach`, `roost check`).
- Backups (`roost backup`) are not part of this playbook.
- A restart roost missed because a run was cut off is caught up by its next run; Ansible
  runs a handler only in the run where the file changed (use `--force-handlers`).
- Commands with no check of their own run once per host, remembered by a marker in
  `/var/lib/roost-ansible/`; a host roost already deployed to runs them once more.
"""


def _encrypt(plain: str, out: Path, password: Path | str) -> None:
    """`ansible-vault encrypt` the text into `out`: the text on stdin, the password as a
    file (the person's, or a pipe), nothing secret in an argument or on disk in the clear."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".roost-tmp")
    tmp.unlink(missing_ok=True)
    argv = [_tool("ansible-vault"), "encrypt", "--output", str(tmp)]
    fds: tuple[int, ...] = ()
    if isinstance(password, Path):
        if not password.is_file():
            raise RoostError(f"{password} is not a file",
                             hint="give the file that holds the vault password")
        argv += ["--vault-password-file", str(password)]
        reader = -1
    else:
        reader, writer = os.pipe()
        os.write(writer, password.encode("utf-8") + b"\n")
        os.close(writer)
        fds = (reader,)
        argv += ["--vault-password-file", f"/dev/fd/{reader}"]
    try:
        res = subprocess.run(argv, input=plain, text=True, capture_output=True, pass_fds=fds,
                             timeout=120, check=False)
    finally:
        if reader >= 0:
            os.close(reader)
    if res.returncode != 0:
        tmp.unlink(missing_ok=True)
        last = (res.stderr.strip().splitlines() or ["no message"])[-1]
        raise RoostError(f"ansible-vault could not encrypt the secrets ({last[:200]})",
                         hint="check the vault password file, then run again")
    tmp.replace(out)


def export(home: Path, to: Path, *, service: str | None = None, host: str | None = None,
           every: bool = False, force: bool = False,
           vault_password: VaultPassword | None = None,
           passphrase: Callable[[], str] = lambda: "") -> Exported:
    """Write the Ansible project for `service` on `host` (or, `every`, each deployed service
    on its host) into the folder `to`. `passphrase` opens the key vault when a role needs a
    secret; `vault_password` then encrypts them."""
    _empty_or_forced(to, force)
    pairs = _pairs(home, service, host, every)
    names = _role_names(pairs)
    roles: list[ansible.Role] = []
    hosts: dict[str, Host] = {}
    for (svc, name), role_name in zip(pairs, names, strict=True):
        h = hosts.get(name) or find(home, name)
        hosts[name] = h
        options = deployed_options(home, svc, name)
        recipe = session.build_recipe(svc, h, options, None, home)
        roles.append(ansible.role(recipe, role_name, options))
    vault_vars = [v for r in roles for v in r.vault]
    plain = ""
    if vault_vars:
        if vault_password is None:
            raise RoostError("these services have secrets: they need a vault password",
                             hint="give --vault-password-file FILE, or type one when asked")
        resolve = session.vault_secrets(passphrase, home)
        plain = "---\n" + ansible.yaml({v.name: v.value(resolve) for v in vault_vars})
        password = vault_password if isinstance(vault_password, Path) else vault_password()
        if isinstance(password, str) and not password.strip():
            raise RoostError("the vault password is empty", hint="choose a password")
    to.mkdir(parents=True, exist_ok=True)
    for r in roles:
        for rel, text in r.files.items():
            path = to / "roles" / r.name / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(path, text)
    by_host: dict[str, list[str]] = {}
    for (_svc, name), r in zip(pairs, roles, strict=True):
        by_host.setdefault(name, []).append(r.name)
    listed = tuple((r.name, s, h) for (s, h), r in zip(pairs, roles, strict=True))
    atomic_write_text(to / "inventory.ini", _inventory(list(hosts.values())))
    atomic_write_text(to / "site.yml", _site(by_host))
    atomic_write_text(to / "README.md", _readme(listed, len(vault_vars)))
    atomic_write_text(to / "ansible.cfg", ANSIBLE_CFG)
    if vault_vars:
        _encrypt(plain, to / VAULT_FILE, password)
    return Exported(to, listed, len(vault_vars))
