"""`roost keys` as a person and a script use it, in real subprocesses.

The security test runs every keys flow under strace, then looks for every secret the flows
created (and both passphrases) in everything that could leak one: captured stdout and
stderr, the vault, the index, the progress file, the backup, and the argv and environment
of every process spawned.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from support.pty_run import pty_run

from roost.keys import KINDS, Vault
from roost.keys.vault import FAST_LIMITS_FOR_TESTS, LOSS_WARNING

PASS = "tests only: plum orbit canyon"
NEW_PASS = "tests only: second, longer passphrase"


def _env(home: Path, passfile: Path | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROOST_")}
    env["ROOST_HOME"] = str(home)
    if passfile is not None:
        env["ROOST_PASSPHRASE_FILE"] = str(passfile)
    return env


class Runner:
    """Runs `roost` in a subprocess (optionally under strace) and keeps everything it said."""

    def __init__(self, home: Path, passfile: Path, trace_dir: Path | None = None) -> None:
        self.home = home
        self.passfile = passfile
        self.trace_dir = trace_dir
        self.said: list[str] = []
        self.n = 0

    def __call__(self, *args: str, extra_env: dict[str, str] | None = None,
                 expect: int = 0) -> subprocess.CompletedProcess[str]:
        cmd = [sys.executable, "-m", "roost", *args]
        if self.trace_dir is not None:
            self.n += 1
            cmd = ["strace", "-f", "-qq", "-v", "-e", "trace=execve", "-s", "65536",
                   "-o", str(self.trace_dir / f"trace-{self.n}.txt"), *cmd]
        env = _env(self.home, self.passfile) | (extra_env or {})
        result = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120,
                                stdin=subprocess.DEVNULL, check=False)
        self.said += [result.stdout, result.stderr]
        assert result.returncode == expect, (args, result.stdout, result.stderr)
        return result


@pytest.fixture
def fast_home(tmp_path: Path) -> tuple[Path, Path]:
    """A home with an empty vault made with the fast test cost (the CLI keeps the file's)."""
    home = tmp_path / "home"
    Vault.create(home, PASS, limits=FAST_LIMITS_FOR_TESTS)
    passfile = tmp_path / "pass"
    passfile.write_text(PASS + "\n")
    return home, passfile


KIND_ARGS = {
    "ssb": ["--profile-name", "Robin at home"],
    "xmpp": ["--jid", "robin@chat.example.org"],
    "fediverse": ["--handle", "robin", "--domain", "social.example.org", "--email",
                  "robin@example.org"],
    "matrix": ["--server-name", "example.org"],
    "ssh": ["--comment", "robin@laptop"],
    "wireguard": [],
    "tor": [],
    "login": ["--email", "robin@example.org"],
}


@pytest.mark.slow
def test_no_secret_leaks_anywhere(fast_home: tuple[Path, Path], tmp_path: Path) -> None:
    if shutil.which("strace") is None:
        pytest.fail("strace is not installed: run scripts/test.sh, which installs it")
    home, passfile = fast_home
    traces = tmp_path / "traces"
    traces.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    roost = Runner(home, passfile, traces)

    for kind in KINDS:
        roost("keys", "new", kind, *KIND_ARGS[kind])
    roost("keys", "new", "ssh", "--name", "second-ssh")
    roost("keys", "list")
    roost("keys", "list", "--json")
    for kind in KINDS:
        roost("keys", "show", kind)
    for kind in KINDS:
        roost("keys", "export", kind, "--to", str(out / f"{kind}-export"))
    roost("keys", "show", "login", "--secret", expect=2)  # not a terminal: refused
    roost("keys", "export", "ssh", "--to", str(out / "ssh-export"), expect=2)
    roost("keys", "backup", str(tmp_path / "keys.backup"))
    wrong = tmp_path / "wrong"
    wrong.write_text("not the passphrase\n")
    roost("keys", "list", extra_env={"ROOST_PASSPHRASE_FILE": str(wrong)})
    roost("keys", "export", "tor", "--to", str(out / "nope"),
          extra_env={"ROOST_PASSPHRASE_FILE": str(wrong)}, expect=2)
    newfile = tmp_path / "newpass"
    newfile.write_text(NEW_PASS + "\n")
    roost("keys", "passwd", extra_env={"ROOST_NEW_PASSPHRASE_FILE": str(newfile)})
    roost("keys", "restore", str(tmp_path / "keys.backup"),
          extra_env={"ROOST_PASSPHRASE_FILE": str(newfile)}, expect=2)  # backup: old pass

    vault = Vault.open(home, NEW_PASS)
    idents = [vault.get(i.id) for i in vault.list()]
    assert sorted({i.kind for i in idents}) == sorted(KINDS)
    secrets = {PASS, NEW_PASS}
    for ident in idents:
        for value in ident.secret_values():
            secrets.add(value)
            # A multi-line secret (a PEM key) must not leak even one of its lines.
            secrets.update(line for line in value.splitlines() if len(line) >= 16)
    assert all(len(s) >= 8 for s in secrets)

    places: dict[str, str] = {f"output {n}": text for n, text in enumerate(roost.said)}
    for path in [Vault.path(home), Vault.index_path(home), home / "progress.toml",
                 tmp_path / "keys.backup", *sorted(traces.iterdir())]:
        places[path.name] = path.read_bytes().decode("latin-1")
    assert "identity" in places["progress.toml"]
    assert len(list(traces.iterdir())) == roost.n
    assert all("execve(" in places[p.name] for p in traces.iterdir())
    leaks = [(secret[:6] + "...", where) for secret in secrets
             for where, text in places.items() if secret in text]
    assert not leaks, f"secrets found in: {leaks}"

    # The files roost writes hold secrets only where asked, with the right modes.
    for path in (Vault.path(home), Vault.index_path(home), home / "progress.toml",
                 tmp_path / "keys.backup"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    modes = {p.relative_to(out).as_posix(): stat.S_IMODE(p.stat().st_mode)
             for p in out.rglob("*")}
    assert modes["ssb-export"] == 0o400
    assert modes["ssh-export"] == 0o600 and modes["ssh-export.pub"] == 0o644
    assert modes["tor-export"] == 0o700
    assert modes["tor-export/hs_ed25519_secret_key"] == 0o600
    for kind in ("xmpp", "fediverse", "matrix", "wireguard", "login"):
        assert modes[f"{kind}-export"] == 0o600
    assert "nope" not in modes


def test_export_to_a_folder_writes_the_usual_file_name_in_it(fast_home: tuple[Path, Path],
                                                             tmp_path: Path) -> None:
    """`keys export ID --to FOLDER` writes the file its software usually names it inside the
    folder, byte for byte what `--to FILE` writes, with the same modes, never overwriting."""
    home, passfile = fast_home
    roost = Runner(home, passfile)
    for kind in KINDS:
        roost("keys", "new", kind, *KIND_ARGS[kind])
    roost("keys", "new", "fediverse", "--name", "akkoma", "--handle", "robin", "--domain",
          "social.example.org", "--email", "robin@example.org", "--software", "akkoma")
    folder, files = tmp_path / "keys folder", tmp_path / "by name"
    folder.mkdir()
    files.mkdir()
    usual = {"ssb": ["secret"], "xmpp": ["xmpp.txt"], "fediverse": [".env.production"],
             "akkoma": ["prod.secret.exs"], "matrix": ["example.org.signing.key"],
             "ssh": ["id_ed25519", "id_ed25519.pub"], "wireguard": ["privatekey"],
             "tor": ["hidden_service", "hidden_service/hostname",
                     "hidden_service/hs_ed25519_public_key",
                     "hidden_service/hs_ed25519_secret_key"],
             "login": ["login.txt"]}
    for ident_id, names in usual.items():
        said = roost("keys", "export", ident_id, "--to", str(folder)).stdout
        roost("keys", "export", ident_id, "--to", str(files / ident_id))
        for name in names:
            assert (folder / name).exists(), (ident_id, name)
            if "/" not in name:
                assert f"Wrote {folder / name} (mode " in said or ident_id == "tor", said
            by_name = files / name.replace(names[0], ident_id, 1)
            written, reference = folder / name, by_name
            assert stat.S_IMODE(written.stat().st_mode) == stat.S_IMODE(
                reference.stat().st_mode), (ident_id, name)
            if written.is_file():
                assert written.read_bytes() == reference.read_bytes(), (ident_id, name)
        # Again: the usual name is taken now, so it is refused and nothing changes.
        again = roost("keys", "export", ident_id, "--to", str(folder), expect=2)
        assert again.stderr == (f"roost: {folder / names[0]} already exists. Roost never "
                                "overwrites a key file; choose a new name.\n")
    assert stat.S_IMODE((folder / "secret").stat().st_mode) == 0o400
    assert stat.S_IMODE((folder / "id_ed25519.pub").stat().st_mode) == 0o644
    assert stat.S_IMODE((folder / "hidden_service").stat().st_mode) == 0o700
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        n for names in usual.values() for n in names if "/" not in n)


def test_list_and_show_need_no_passphrase(fast_home: tuple[Path, Path]) -> None:
    home, passfile = fast_home
    roost = Runner(home, passfile)
    made = roost("keys", "new", "ssh", "--name", "laptop").stdout
    fingerprint = next(line for line in made.splitlines() if line.startswith("Fingerprint: "))
    nobody = Runner(home, home / "no-such-file")
    listed = nobody("keys", "list").stdout
    assert listed.startswith("laptop: an SSH key, SHA256:")
    shown = nobody("keys", "show", "laptop").stdout.splitlines()
    assert shown[0].startswith("laptop, an SSH key, made ")
    assert fingerprint in shown
    grouped = next(line for line in shown if "in groups of four" in line)
    groups = grouped.split(": ", 1)[1].split(" ")
    assert all(len(g) == 4 for g in groups[:-1]) and "".join(groups) in fingerprint
    bad = nobody("keys", "export", "laptop", "--to", str(home.parent / "x"), expect=2)
    assert bad.stderr.count("\n") == 1 and "passphrase file" in bad.stderr


@pytest.mark.parametrize(("args", "says"), [
    (["keys", "new", "pgp"], "'pgp' is not a kind of identity roost knows"),
    (["keys", "new", "ssh", "--name", "Bad Name"], "is not a valid identity name"),
    (["keys", "new", "ssh", "--name", "x;rm -rf /"], "is not a valid identity name"),
    (["keys", "new", "xmpp"], "an xmpp identity needs --jid"),
    (["keys", "new", "xmpp", "--jid", "a b@example.org"], "is not a valid XMPP user name"),
    (["keys", "new", "ssh", "--jid", "a@example.org"], "--jid does not apply"),
    (["keys", "new", "fediverse", "--handle", "x", "--domain=bad_.org", "--email", "a@b.org"],
     "is not a valid domain"),
    (["keys", "show", "nothing"], "there is no identity called 'nothing'"),
    (["keys", "export", "nothing", "--to", "/tmp/never"], "there is no identity called"),
    (["keys", "bogus"], "invalid choice"),
])
def test_bad_input_is_one_line_and_exit_2(fast_home: tuple[Path, Path], args: list[str],
                                          says: str) -> None:
    home, passfile = fast_home
    before = Vault.path(home).read_bytes()
    result = Runner(home, passfile)(*args, expect=2)
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and says in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert Vault.path(home).read_bytes() == before


def test_wrong_passphrase_from_the_cli_changes_nothing(fast_home: tuple[Path, Path],
                                                      tmp_path: Path) -> None:
    home, passfile = fast_home
    Runner(home, passfile)("keys", "new", "wireguard")
    before = {p.name: p.read_bytes() for p in home.iterdir() if p.is_file()}
    wrong = tmp_path / "wrong"
    wrong.write_text("definitely not it\n")
    result = Runner(home, wrong)("keys", "new", "tor", expect=2)
    assert result.stderr.startswith("roost: the passphrase is wrong.")
    assert {p.name: p.read_bytes() for p in home.iterdir() if p.is_file()} == before


def test_backup_and_restore_on_a_new_machine(fast_home: tuple[Path, Path],
                                             tmp_path: Path) -> None:
    home, passfile = fast_home
    roost = Runner(home, passfile)
    roost("keys", "new", "wireguard")
    roost("keys", "new", "tor")
    roost("keys", "backup", str(tmp_path / "b"))
    roost("keys", "backup", str(tmp_path / "b"), expect=2)
    other = Runner(tmp_path / "other", passfile)
    said = other("keys", "restore", str(tmp_path / "b")).stdout
    assert "2 identities" in said
    assert other("keys", "list").stdout == roost("keys", "list").stdout
    said = other("keys", "restore", str(tmp_path / "b")).stdout
    assert "Added 0 identities" in said and "Kept your current" in said


@pytest.mark.slow
def test_prompt_warns_about_loss_and_never_echoes(tmp_path: Path) -> None:
    """A person at a terminal: the first `keys new` makes the vault (default cost)."""
    home = tmp_path / "home"
    env = _env(home, None)
    typed = b"my long typed passphrase"
    code, seen = pty_run(
        [sys.executable, "-m", "roost", "keys", "new", "wireguard"], env,
        [(b"New vault passphrase: ", typed + b"\r"), (b"Type it again: ", typed + b"\r")])
    text = seen.decode("utf-8", "replace")
    assert code == 0, text
    assert typed not in seen
    flat = " ".join(text.split())
    assert LOSS_WARNING in flat
    assert "Made wireguard" in text
    code, seen = pty_run(
        [sys.executable, "-m", "roost", "keys", "export", "wireguard", "--to",
         str(tmp_path / "wg.key")], env, [(b"Vault passphrase: ", typed + b"\r")])
    assert code == 0, seen
    assert typed not in seen
    assert stat.S_IMODE((tmp_path / "wg.key").stat().st_mode) == 0o600
    code, seen = pty_run(
        [sys.executable, "-m", "roost", "keys", "new", "tor"], env,
        [(b"Vault passphrase: ", b"wrong one\r")])
    assert code == 2 and b"the passphrase is wrong" in seen and b"wrong one" not in seen


# --- login identities, showing a password, removing -------------------------------------------

def test_a_login_for_wordpress_from_the_cli(fast_home: tuple[Path, Path]) -> None:
    """`keys create login --name wordpress` makes what `deploy wordpress` reads by default:
    the identity `wordpress` with a `password` secret; `show --secret` gives it back."""
    home, passfile = fast_home
    roost = Runner(home, passfile)
    made = roost("keys", "create", "login", "--name", "wordpress").stdout
    assert made.startswith("Made wordpress, a login with a password.")
    assert "User name: admin" in made
    vault = Vault.open(home, PASS)
    pw = vault.get("wordpress").secret["password"]
    assert pw not in made and pw not in Vault.index_path(home).read_text()
    nobody = Runner(home, home / "no-such-file")
    assert nobody("keys", "list").stdout == "wordpress: a login with a password, admin.\n"
    shown = nobody("keys", "show", "wordpress").stdout
    assert "User name: admin" in shown and "Password made: by roost" in shown
    assert pw not in shown
    # Not a terminal and not asked for: refused, one line, before the passphrase is read.
    refused = nobody("keys", "show", "wordpress", "--secret", expect=2)
    assert refused.stderr == ("roost: roost prints secrets only to a terminal. Add "
                              "--to-pipe to send the password to a pipe or a file on "
                              "purpose.\n")
    assert nobody("keys", "show", "wordpress", "--secret", "--to-pipe", expect=2).stderr \
        .startswith("roost: cannot read the passphrase file")
    piped = roost("keys", "show", "wordpress", "--secret", "--to-pipe")
    assert piped.stdout == pw + "\n" and piped.stderr == ""
    roost("keys", "show", "wordpress", "--to-pipe", expect=2)
    roost("keys", "show", "wordpress", "--secret", "--json", expect=2)
    # Keys have no password to show.
    roost("keys", "new", "wireguard")
    no_pw = roost("keys", "show", "wireguard", "--secret", "--to-pipe", expect=2)
    assert "has no password to show" in no_pw.stderr
    # A second login without --name gets a free label.
    roost("keys", "new", "login")
    roost("keys", "new", "login")
    assert [i.id for i in Vault.public_index(home)] == ["wordpress", "wireguard", "login",
                                                        "login-2"]


def test_a_typed_password_comes_from_stdin_never_argv(fast_home: tuple[Path, Path]) -> None:
    home, passfile = fast_home
    typed = "plum-orbit-9-canyon"
    argv = [sys.executable, "-m", "roost", "keys", "new", "login", "--name", "mail",
            "--email", "robin@example.org", "--type-password"]
    result = subprocess.run(argv, input=typed + "\n", capture_output=True, text=True,
                            env=_env(home, passfile), timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert typed not in result.stdout + result.stderr
    assert "Password made: typed by you" in result.stdout
    ident = Vault.open(home, PASS).get("mail")
    assert ident.secret["password"] == typed
    assert ident.public["user"] == "robin@example.org"
    # Too short, or nothing at all on stdin: refused, nothing stored, the value not echoed.
    for given, says in (("qz7x\n", "too short"), ("", "no password was given")):
        bad = subprocess.run([*argv[:-3], "--name", "mail2", "--type-password"], input=given,
                             capture_output=True, text=True, env=_env(home, passfile),
                             timeout=120, check=False)
        assert bad.returncode == 2 and says in bad.stderr and "qz7x" not in bad.stderr
    assert "mail2" not in Vault.open(home, PASS)
    # Only a login takes a typed password.
    bad = subprocess.run([sys.executable, "-m", "roost", "keys", "new", "tor",
                          "--type-password"], input=typed + "\n", capture_output=True,
                         text=True, env=_env(home, passfile), timeout=120, check=False)
    assert bad.returncode == 2 and "roost makes the password" in bad.stderr


@pytest.mark.slow
def test_on_a_terminal_the_password_is_asked_twice_and_shown_after_the_passphrase(
        fast_home: tuple[Path, Path]) -> None:
    home, _ = fast_home
    env = _env(home, None)
    roost = [sys.executable, "-m", "roost", "keys"]
    typed = b"my own login password"
    code, seen = pty_run([*roost, "new", "login", "--type-password"], env,
                          [(b"Your password (not shown): ", typed + b"\r"),
                           (b"Type it again: ", typed + b"\r"),
                           (b"Vault passphrase: ", PASS.encode() + b"\r")])
    assert code == 0, seen
    assert typed not in seen and PASS.encode() not in seen
    code, seen = pty_run([*roost, "new", "login", "--type-password"], env,
                          [(b"Your password (not shown): ", typed + b"\r"),
                           (b"Type it again: ", b"something else\r")])
    assert code == 2 and b"the two passwords differ" in seen
    code, seen = pty_run([*roost, "show", "login", "--secret"], env,
                          [(b"Vault passphrase: ", PASS.encode() + b"\r")])
    text = seen.decode()
    assert code == 0, text
    assert text.index("<<answered>>") < text.index("Password: ")
    assert f"Password: {typed.decode()}" in text and PASS not in text
    code, seen = pty_run([*roost, "show", "login", "--secret"], env,
                          [(b"Vault passphrase: ", b"not the passphrase\r")])
    assert code == 2 and b"the passphrase is wrong" in seen and typed not in seen


def test_show_secret_reads_out_every_secret_of_every_kind(fast_home: tuple[Path, Path]) -> None:
    """Every secret field every kind stores is declared with a label in words, and `keys show
    ID --secret` on a terminal reads each out under that label: a field added to a kind's
    `create` without a label fails here. `--to-pipe` gives the password alone, a Matrix
    identity's admin password included."""
    from roost.keys.model import PASSWORD_FIELD, SECRET_LABELS

    home, passfile = fast_home
    roost = Runner(home, passfile)
    for kind in KINDS:
        roost("keys", "new", kind, *KIND_ARGS[kind])
    vault = Vault.open(home, PASS)
    env = _env(home, passfile)
    for kind in KINDS:
        ident = vault.get(kind)
        labels = dict(SECRET_LABELS[kind])
        assert sorted(labels) == sorted(ident.secret), f"{kind}: declare every secret field"
        code, seen = pty_run([sys.executable, "-m", "roost", "keys", "show", kind,
                               "--secret"], env, [])
        text = seen.decode().replace("\r\n", "\n")
        assert code == 0, text
        lines = text.splitlines()
        for field, label in labels.items():
            assert label[0].isupper() and label != field, (kind, label)
            value = ident.secret[field].strip()
            if "\n" in value:
                start = lines.index(f"{label}, {len(value.splitlines())} lines:")
                assert lines[start + 1:start + 1 + len(value.splitlines())] == \
                    value.splitlines(), (kind, field)
            else:
                assert f"{label}: {value}" in lines, (kind, field)
        if kind in PASSWORD_FIELD:
            piped = roost("keys", "show", kind, "--secret", "--to-pipe").stdout
            assert piped == ident.secret[PASSWORD_FIELD[kind]] + "\n"
            assert lines.index(f"{labels[PASSWORD_FIELD[kind]]}: "
                               f"{ident.secret[PASSWORD_FIELD[kind]]}") == \
                min(i for i, line in enumerate(lines) if ": " in line and any(
                    line.startswith(lab + ":") for lab in labels.values())), \
                f"{kind}: the password comes first"
        else:
            said = roost("keys", "show", kind, "--secret", "--to-pipe", expect=2).stderr
            assert f"roost keys show {kind} --secret in a terminal" in said


def test_remove_asks_first_and_really_removes(fast_home: tuple[Path, Path],
                                              tmp_path: Path) -> None:
    from roost.plan.workspace import Workspace

    home, passfile = fast_home
    roost = Runner(home, passfile)
    roost("keys", "new", "login", "--name", "wordpress")
    roost("keys", "new", "ssh")
    vault_before = Vault.path(home).read_bytes()
    asked = roost("keys", "remove", "wordpress", expect=2)  # no terminal, no --yes
    assert "add --yes" in asked.stderr.lower() and asked.stderr.count("\n") == 1
    roost("keys", "remove", "nothing", "--yes", expect=2)
    wrong = tmp_path / "wrong"
    wrong.write_text("not the passphrase\n")
    roost("keys", "remove", "wordpress", "--yes",
          extra_env={"ROOST_PASSPHRASE_FILE": str(wrong)}, expect=2)
    assert Vault.path(home).read_bytes() == vault_before
    said = roost("keys", "remove", "wordpress", "--yes").stdout
    assert said.startswith("Removed wordpress from the vault.") and said.count("\n") == 1
    # Gone from the sealed vault (opened again) and from the public index.
    reopened = Vault.open(home, PASS)
    assert "wordpress" not in reopened and [i.id for i in reopened.list()] == ["ssh"]
    assert [i.id for i in Vault.public_index(home)] == ["ssh"]
    assert stat.S_IMODE(Vault.path(home).stat().st_mode) == 0o600
    assert roost("keys", "list").stdout.startswith("ssh: an SSH key")
    roost("keys", "show", "wordpress", expect=2)
    # The progress keeps the history, and knows the login is gone: a plan offers one again.
    ws = Workspace.open(home, detect=False)
    assert [e.detail["kind"] for e in ws.progress.identities()] == ["ssh"]
    assert [e.kind for e in ws.history()][-1] == "identity_removed"
    assert "removed a login identity" in ws.history()[-1].describe()
    # The name is free again.
    roost("keys", "new", "login", "--name", "wordpress")
    ws.reload()
    assert sorted(e.detail["kind"] for e in ws.progress.identities()) == ["login", "ssh"]


@pytest.mark.slow
def test_remove_on_a_terminal_asks_yes(fast_home: tuple[Path, Path]) -> None:
    home, passfile = fast_home
    Runner(home, passfile)("keys", "new", "login", "--name", "mail")
    env = _env(home, None)
    argv = [sys.executable, "-m", "roost", "keys", "remove", "mail"]
    code, seen = pty_run(argv, env, [(b"Type yes to remove it: ", b"no\r")])
    assert code == 1 and b"Nothing was removed" in seen, seen
    assert b"Remove mail, a login with a password, admin?" in seen
    assert "mail" in Vault.open(home, PASS)
    code, seen = pty_run(argv, env, [(b"Type yes to remove it: ", b"yes\r"),
                                      (b"Vault passphrase: ", PASS.encode() + b"\r")])
    assert code == 0 and b"Removed mail" in seen, seen
    assert "mail" not in Vault.open(home, PASS)
