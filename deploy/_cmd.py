"""Command lines both transports build the same way.

Everything a transport runs is an argument list. These helpers put a fixed prefix in front of
it (sudo, a plain environment) and, where a shell is involved (SSH), quote every argument
with `shlex.quote`. The only shell scripts are constants here; values reach them as
positional arguments ("$1", "$2"), never by pasting text into the script.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence

PLAIN_ENV = {"LC_ALL": "C", "LANG": "C"}
"""Every command runs with these, so its output is the same on every host."""

SAFE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

_ENV_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

SUDO_PREFIX = ("sudo", "-S", "-p", "", "-k", "--")
"""sudo reading its password from stdin (`-S`), with no prompt text (`-p ''`), ignoring any
cached credential (`-k`) so it reads the password every time it needs one and never leaves
the password line for the command to read."""

SUDO_PROBE = ("sudo", "-n", "true")

# Install a file uploaded to a private temp place into its folder, atomically: copy it next
# to the target under a temp name, set mode and owner, flush it, then rename over the target.
# $1 folder, $2 uploaded file, $3 temp name in the folder, $4 target, $5 mode (octal),
# $6 owner[:group] or "" to leave the owner alone.
INSTALL_SCRIPT = r"""set -e
trap 'rm -f -- "$3"' EXIT
mkdir -p -- "$1"
cp -- "$2" "$3"
chmod -- "$5" "$3"
if [ -n "$6" ]; then chown -- "$6" "$3"; fi
sync -- "$3" 2>/dev/null || true
mv -f -- "$3" "$4"
trap - EXIT
"""

# Print a file, or exit 44 when it does not exist. $1 the file.
CAT_SCRIPT = r"""if [ -e "$1" ] || [ -L "$1" ]; then exec cat -- "$1"; else exit 44; fi"""
CAT_MISSING = 44


def check_argv(argv: Sequence[str]) -> tuple[str, ...]:
    """A non-empty argument list of strings whose program name `env` will not misread."""
    if isinstance(argv, str | bytes):
        raise TypeError("argv must be a list of arguments, not a string")
    args = tuple(argv)
    if not args:
        raise ValueError("argv must not be empty")
    for a in args:
        if not isinstance(a, str):
            raise TypeError(f"argv items must be str, got {type(a).__name__}")
        if "\x00" in a:
            raise ValueError("an argument contains a NUL byte")
    if args[0].startswith("-") or "=" in args[0]:
        raise ValueError(f"{args[0]!r} is not a program name")
    return args


def env_args(env: dict[str, str] | None) -> list[str]:
    """`KEY=value` words for `env`, the plain environment first. Not for secrets: they would
    show in the process list; pass secrets on stdin."""
    merged = dict(PLAIN_ENV)
    merged["PATH"] = SAFE_PATH
    for key, value in (env or {}).items():
        if not _ENV_KEY.match(key):
            raise ValueError(f"{key!r} is not an environment variable name")
        if "\x00" in value:
            raise ValueError(f"the value of {key} contains a NUL byte")
        merged[key] = value
    return [f"{k}={v}" for k, v in merged.items()]


def full_argv(argv: Sequence[str], *, sudo: bool, env: dict[str, str] | None) -> list[str]:
    """The argument list actually run: [sudo …] env K=V … argv."""
    args = check_argv(argv)
    prefix = list(SUDO_PREFIX) if sudo else []
    return [*prefix, "env", *env_args(env), *args]


def shell_line(argv: Sequence[str]) -> str:
    """One line for a remote shell, every word quoted."""
    return " ".join(shlex.quote(a) for a in argv)


def remote_line(argv: Sequence[str], *, sudo: bool, env: dict[str, str] | None) -> str:
    """The line a remote (POSIX) login shell runs. Without sudo the shell exports the plain
    environment and execs the command (no extra process: `env` would cost a fork and exec
    per command); sudo resets the environment, so there `env` sets it after sudo."""
    if sudo:
        return shell_line(full_argv(argv, sudo=True, env=env))
    args = check_argv(argv)
    assigns = " ".join(shlex.quote(a) for a in env_args(env))
    return f"export {assigns}; exec {shell_line(args)}"


def split_path(path: str) -> tuple[str, str]:
    """(folder, file name) of an absolute path; refuses relative paths and folders."""
    if not path.startswith("/") or path.endswith("/") or "\x00" in path:
        raise ValueError(f"{path!r} is not an absolute file path")
    folder, _, name = path.rpartition("/")
    if name in ("", ".", ".."):
        raise ValueError(f"{path!r} is not an absolute file path")
    return folder or "/", name


def owner_spec(owner: str | None, group: str | None) -> str:
    if owner and group:
        return f"{owner}:{group}"
    if owner:
        return owner
    if group:
        return f":{group}"
    return ""
