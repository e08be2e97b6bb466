"""Security: hostile input through every CLI entry point, secrets never leak, paths never escape.

The hostile corpus goes through roost's real entry point (`roost.cli.main.main`) in this
process (fast: hundreds of runs), and a sample of it through the installed `roost` command
in a subprocess (the real process boundary: exit code and stderr). A canary file is the
proof that nothing reached a shell unquoted: every value that could run a command would
create it.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import tomli_w

from roost.cli.main import main
from roost.core.errors import RoostError

if TYPE_CHECKING:
    from sshd import Sshd

pytest_plugins = ["sshd"]

ROOT = Path(__file__).resolve().parents[1]
PASSPHRASE = "hostile-suite passphrase 4821"
NEW_PASSPHRASE = "second hostile passphrase 9917"
CANARY_NAME = "CANARY"

ANSWERS = {
    "uses": ["whatsapp", "gmail"], "hardware": ["pi"], "pi_ram_mb": 1024,
    "pi_arch": "aarch64", "has_domain": True, "domain": "example.org", "skill": "some",
    "pace": "days",
}


def hostile(canary: Path) -> list[str]:
    """Values that would run `touch CANARY` (or break a parser) if mishandled."""
    c = str(canary)
    return [
        f"; touch {c}",
        f"$(touch {c})",
        f"`touch {c}`",
        f"' ; touch {c} ; '",
        f'" ; touch {c} ; "',
        f"x && touch {c}",
        f"x | touch {c}",
        f"x\ntouch {c}",
        f"x\rtouch {c}",
        "a b  c",
        "",
        " ",
        "x\x00y",  # only in files: an argv cannot hold NUL
        "A" * 5000,
        "ünïcödé ☃ 𝔘𝔫𝔦 \u202eevil",
        "\x1b[2J\x1b]0;pwned\x07",
        "--help",
        "-h",
        f"-oProxyCommand=touch {c}",
        f"--option=site=$(touch {c})",
        "../../../../../../etc/passwd",
        "%s%n%x{0}{__class__}",
        "*",
        "~root",
        "alice@example.org; touch " + c,
    ]


def path_safe(value: str) -> bool:
    """Values that are harmless as a file name to write inside the test's own folder."""
    return ".." not in value and not value.startswith(("/", "~")) and "\x00" not in value


# --- the entry points -----------------------------------------------------------------------

def entry_points(v: str, files: Path) -> list[list[str]]:
    """Every CLI argument a person can type, with the hostile value in that place."""
    answers_file = files / "answers.toml"
    import_file = files / "import.toml"
    argvs = [
        ["catalog", v], ["catalog", v, "--json"],
        ["assess", "--answers", v], ["assess", "--answers", str(answers_file)],
        ["done", v], ["skip", v, "--reason", "because"], ["skip", "prosody", "--reason", v],
        ["progress", "import", v], ["progress", "import", str(import_file)],
        ["import", v], ["import", "mbox", v, "--dry-run"], ["import", "mbox", v, "--host", v],
        ["import", "mbox", str(import_file), "--dry-run"],
        ["next", v], ["plan", v], ["status", v], ["history", v], ["undo", v],
        ["reset", v],
        ["host", "add", v, "root@127.0.0.1:1"], ["host", "add", "box", v],
        ["host", "add", "box", f"{v}@127.0.0.1:1"], ["host", "add", "box", f"root@{v}"],
        ["host", "add", "box", f"root@127.0.0.1:{v}"],
        ["host", "add", "box", "root@127.0.0.1:1", "--key", v],
        ["host", "add", "box", "root@127.0.0.1:1", "--trust", v],
        ["host", "remove", v], ["host", "forget", v], ["host", "facts", v],
        ["keys", "new", v], ["keys", "new", "ssh", "--name", v],
        ["keys", "new", "ssh", "--comment", v], ["keys", "new", "xmpp", "--jid", v],
        ["keys", "new", "fediverse", "--handle", v, "--domain", "example.org",
         "--email", "a@example.org"],
        ["keys", "new", "fediverse", "--handle", "alice", "--domain", v,
         "--email", "a@example.org"],
        ["keys", "new", "fediverse", "--handle", "alice", "--domain", "example.org",
         "--email", v],
        ["keys", "new", "fediverse", "--handle", "alice", "--domain", "example.org",
         "--email", "a@example.org", "--software", v],
        ["keys", "new", "matrix", "--server-name", v],
        ["keys", "new", "ssb", "--profile-name", v],
        ["keys", "show", v], ["keys", "export", v, "--to", str(files / "out")],
        ["keys", "restore", v],
        ["deploy", v, "--dry-run"], ["deploy", "static-blog", "--host", v, "--dry-run"],
        ["deploy", "static-blog", "--dry-run", "--option", v],
        ["deploy", "static-blog", "--dry-run", "--option", f"site={v}"],
        ["deploy", "static-blog", "--dry-run", "--option", f"domain={v}"],
        ["deploy", "static-blog", "--dry-run", "--option", f"port={v}"],
        ["deploy", "static-blog", "--dry-run", "--option", f"address={v}"],
        ["deploy", "prosody", "--dry-run", "--option", f"domain={v}"],
        ["undeploy", v, "--dry-run"], ["undeploy", "static-blog", "--host", v, "--dry-run"],
        ["reach", v, "--tor", "--dry-run"], ["reach", "prosody", "--host", v, "--dry-run"],
        ["reach", "prosody", "--tor", "--identity", v, "--dry-run"],
        ["host", "dyndns", v, "--dry-run"],
        ["host", "dyndns", "local", "--domain", v, "--server", "x.org", "--login", "a",
         "--dry-run"],
        ["host", "dyndns", "local", "--domain", "h.example.org", "--server", v, "--login", "a",
         "--dry-run"],
        ["host", "dyndns", "local", "--domain", "h.example.org", "--server", "x.org",
         "--login", v, "--check", v, "--identity", v, "--dry-run"],
        [v], ["--plain", v],
    ]
    if path_safe(v):
        argvs += [["progress", "export", str(files / f"exp-{len(v)}-{v[:40]}")],
                  ["keys", "backup", str(files / f"bak-{len(v)}-{v[:40]}")],
                  ["keys", "export", "ssh", "--to", str(files / f"key-{v[:40]}")]]
    return argvs


def write_hostile_files(v: str, files: Path) -> None:
    """An answers file and an import file carrying the hostile value in every field."""
    answers = dict(ANSWERS)
    field = sum(map(ord, v)) % 6
    key = ("uses", "hardware", "domain", "skill", "pace", "pi_arch")[field]
    answers[key] = [v] if key in ("uses", "hardware") else v
    answers["pi_ram_mb"] = v if len(v) % 2 else 1024
    if "\x00" not in v:
        (files / "answers.toml").write_text(tomli_w.dumps(answers))
        events = [{"kind": "assessed", "at": "2026-01-01T00:00:00+00:00",
                   "detail": {"answers": answers}},
                  {"kind": "skipped", "at": "2026-01-02T00:00:00+00:00", "service": v,
                   "detail": {"reason": v}},
                  {"kind": v, "at": v, "service": "prosody"}]
        (files / "import.toml").write_text(
            tomli_w.dumps({"schema": 1, "kind": "roost-progress", "event": events}))
    else:
        (files / "answers.toml").write_bytes(b"domain = \"x\x00y\"\n")
        (files / "import.toml").write_bytes(b"schema = 1\nkind = \"x\x00\"\n")


def _make_world(tmp_path: Path, mp: pytest.MonkeyPatch) -> Path:
    """A data dir with answers, an ssh identity in a (fast) vault; cwd is a scratch folder."""
    from roost.keys import ssh
    from roost.keys.vault import FAST_LIMITS_FOR_TESTS, Vault

    home = tmp_path / "home"
    mp.setenv("ROOST_HOME", str(home))
    mp.setenv("ROOST_HOST_STATE_DIR", str(tmp_path / "hoststate"))
    pw = tmp_path / "pw"
    pw.write_text(PASSPHRASE)
    mp.setenv("ROOST_PASSPHRASE_FILE", str(pw))
    Vault.create(home, PASSPHRASE, limits=FAST_LIMITS_FOR_TESTS).add(ssh.create("ssh"))
    files = tmp_path / "files"
    files.mkdir()
    (files / "answers.toml").write_text(tomli_w.dumps(ANSWERS))
    assert main(["assess", "--answers", str(files / "answers.toml")]) == 0
    work = tmp_path / "cwd"
    work.mkdir()
    mp.chdir(work)
    return tmp_path


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return _make_world(tmp_path, monkeypatch)


def run_in_process(argv: list[str], capsys: pytest.CaptureFixture[str] | None = None
                   ) -> tuple[int, str, str]:
    import io

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = main(argv)
        except SystemExit as exc:  # argparse: --help (0) or a usage error (2)
            rc = exc.code if isinstance(exc.code, int) else 2
    return rc, out.getvalue(), err.getvalue()


# Control characters a terminal acts on (ESC, BEL, CR, backspace...), tab and newline aside.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\x9b]")
# Values after which the stored data is shown back (history, status, keys list).
SHOW_BACK = (["history"], ["status"], ["keys", "list"], ["host", "list"], ["plan"])


def _short(argv: list[str]) -> str:
    return repr([a if len(a) < 60 else a[:40] + f"...({len(a)} chars)" for a in argv])


@pytest.fixture(scope="module")
def corpus_results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[str]]:
    """Run the whole corpus once; problems by kind."""
    found: dict[str, list[str]] = {"shell": [], "traceback": [], "exit": [], "lines": [],
                                   "control": []}
    with pytest.MonkeyPatch.context() as mp:
        base = _make_world(tmp_path_factory.mktemp("hostile"), mp)
        canary = base / CANARY_NAME
        files = base / "files"
        runs = 0
        for v in hostile(canary):
            write_hostile_files(v, files)
            argvs = entry_points(v, files) if "\x00" not in v else []  # argv cannot hold NUL
            if "\x00" in v:
                argvs = [["assess", "--answers", str(files / "answers.toml")],
                         ["progress", "import", str(files / "import.toml")]]
            for argv in [*argvs, *SHOW_BACK]:
                runs += 1
                try:
                    rc, out, err = run_in_process(argv)
                except Exception as exc:  # uncaught: the user would see a traceback
                    found["traceback"].append(
                        f"{_short(argv)}: {type(exc).__name__}: {str(exc)[:80]}")
                    continue
                if rc not in (0, 2):
                    found["exit"].append(f"{_short(argv)}: exit code {rc}")
                if "Traceback" in err or "Traceback" in out:
                    found["traceback"].append(f"{_short(argv)}: a traceback was printed")
                if rc == 2 and len(err.strip().splitlines()) != 1:
                    found["lines"].append(f"{_short(argv)}: error is not one line: "
                                          f"{err[:120]!r}")
                if _CONTROL.search(out + err):
                    found["control"].append(f"{_short(argv)}: a raw control character "
                                            "reached the terminal")
                if canary.exists():
                    found["shell"].append(f"{_short(argv)}: THE CANARY WAS CREATED")
                    canary.unlink()
        assert runs > 500
    return found


def _report(problems: list[str]) -> str:
    return f"{len(problems)} problems:\n" + "\n".join(problems[:40])


def test_hostile_input_never_reaches_a_shell(corpus_results: dict[str, list[str]]) -> None:
    assert not corpus_results["shell"], _report(corpus_results["shell"])


def test_hostile_input_never_gives_a_traceback(corpus_results: dict[str, list[str]]) -> None:
    problems = corpus_results["traceback"] + corpus_results["exit"]
    assert not problems, _report(problems)


def test_hostile_input_errors_stay_one_line(corpus_results: dict[str, list[str]]) -> None:
    """A line break in a value must not split an error (or forge a second message)."""
    assert not corpus_results["lines"], _report(corpus_results["lines"])


def test_hostile_input_is_never_echoed_as_terminal_control(
        corpus_results: dict[str, list[str]]) -> None:
    """Escape sequences in a value (a skip reason, a file name) must not reach the terminal
    raw: they can clear the screen, retitle the window or confuse a screen reader."""
    assert not corpus_results["control"], _report(corpus_results["control"])


@pytest.mark.slow
def test_hostile_sample_through_the_roost_process(world: Path) -> None:
    """A sample through the real `roost` process: exit code 0 or 2 and no traceback."""
    canary = world / CANARY_NAME
    files = world / "files"
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT)
    sample = [hostile(canary)[i] for i in (1, 4, 7, 16, 18, 20)]
    problems: list[str] = []
    for v in sample:
        write_hostile_files(v, files)
        argvs = entry_points(v, files)
        for argv in argvs[:: max(1, len(argvs) // 12)]:
            r = subprocess.run([sys.executable, "-m", "roost", *argv], capture_output=True,
                               text=True, env=env, timeout=60, cwd=os.getcwd())
            if r.returncode not in (0, 2) or "Traceback" in r.stderr:
                problems.append(f"{argv!r}: exit {r.returncode}: {r.stderr[-300:]}")
            assert not canary.exists(), argv
    assert not problems, "\n".join(problems)


# --- secrets --------------------------------------------------------------------------------

class CmdlineWatcher:
    """Polls /proc/*/cmdline while flows run: every command line any process had."""

    def __init__(self) -> None:
        self.seen: set[bytes] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            for d in os.listdir("/proc"):
                if d.isdigit():
                    with contextlib.suppress(OSError):
                        self.seen.add(Path(f"/proc/{d}/cmdline").read_bytes())
            time.sleep(0.005)

    def __enter__(self) -> CmdlineWatcher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def secret_needles(values: list[str]) -> set[str]:
    """Each secret, and each long line of a multi-line one (a PEM body, say)."""
    out: set[str] = set()
    for v in values:
        if len(v) >= 8:
            out.add(v)
        for line in v.splitlines():
            line = line.strip()
            if len(line) >= 16 and not line.startswith("-----"):
                out.add(line)
    return out


@pytest.mark.slow
def test_no_secret_in_output_files_logs_or_command_lines(tmp_path: Path) -> None:
    from roost.keys.vault import Vault

    home = tmp_path / "home"
    out_dir = tmp_path / "exported"
    out_dir.mkdir(mode=0o700)
    pw = tmp_path / "pw"
    pw.write_text(PASSPHRASE + "\n")
    pw.chmod(0o600)
    new_pw = tmp_path / "newpw"
    new_pw.write_text(NEW_PASSPHRASE + "\n")
    env = dict(os.environ)
    env.update(ROOST_HOME=str(home), PYTHONPATH=str(ROOT), ROOST_PASSPHRASE_FILE=str(pw),
               ROOST_HOST_STATE_DIR=str(tmp_path / "hoststate"))
    answers = tmp_path / "answers.toml"
    answers.write_text(tomli_w.dumps(ANSWERS))
    flows = [
        ["assess", "--answers", str(answers)],
        ["keys", "new", "ssh"], ["keys", "new", "tor"], ["keys", "new", "wireguard"],
        ["keys", "new", "xmpp", "--jid", "alice@example.org"],
        ["keys", "new", "fediverse", "--handle", "alice", "--domain", "example.org",
         "--email", "alice@example.org"],
        ["keys", "new", "matrix", "--server-name", "example.org"],
        ["keys", "new", "ssb", "--profile-name", "Alice"],
        ["keys", "list"], ["keys", "list", "--json"],
        *(["keys", "show", k, "--json"] for k in ("ssh", "tor", "xmpp", "fediverse", "ssb")),
        *(["keys", "export", k, "--to", str(out_dir / k)]
          for k in ("ssh", "tor", "wireguard", "xmpp", "fediverse", "matrix", "ssb")),
        ["keys", "backup", str(tmp_path / "backup.roostkeys")],
        ["deploy", "prosody", "--dry-run", "--option", "domain=example.org"],
        ["deploy", "static-blog", "--dry-run"],
        ["deploy", "hello", "--option", f"root={tmp_path / 'hello-site'}"],
        ["status"], ["history"], ["progress", "export", str(tmp_path / "progress-export.toml")],
        ["plan", "--json"],
    ]
    captured: list[str] = []
    with CmdlineWatcher() as watcher:
        for argv in flows:
            r = subprocess.run([sys.executable, "-m", "roost", *argv], capture_output=True,
                               text=True, env=env, timeout=120, cwd=tmp_path)
            captured += [r.stdout, r.stderr]
            assert "Traceback" not in r.stderr, (argv, r.stderr)
            assert r.returncode in (0, 2), (argv, r.stderr)
        r = subprocess.run([sys.executable, "-m", "roost", "keys", "passwd"], capture_output=True,
                           text=True, env={**env, "ROOST_NEW_PASSPHRASE_FILE": str(new_pw)},
                           timeout=120, cwd=tmp_path)
        captured += [r.stdout, r.stderr]
        assert r.returncode == 0, r.stderr
    vault = Vault.open(home, NEW_PASSPHRASE)
    idents = [vault.get(i.id) for i in vault.list()]
    assert len(idents) >= 7
    secrets = [s for i in idents for s in i.secret_values()] + [PASSPHRASE, NEW_PASSPHRASE]
    needles = secret_needles(secrets)
    assert len(needles) >= 9

    # every file roost wrote, except the exported key files (they are the secrets, by request)
    haystack: dict[str, str] = {f"output {n}": text for n, text in enumerate(captured)}
    assert list(home.glob("deploys/*/hello.toml")), "the deploy left no journal to scan"
    for f in [*home.rglob("*"), *(tmp_path / "hoststate").rglob("*"),
              *(tmp_path / "hello-site").rglob("*"), tmp_path / "backup.roostkeys",
              tmp_path / "progress-export.toml"]:
        if f.is_file():
            haystack[str(f)] = f.read_bytes().decode("utf-8", "replace")
    for n, cmd in enumerate(watcher.seen):
        haystack[f"command line {n}"] = cmd.replace(b"\0", b" ").decode("utf-8", "replace")
    assert len(watcher.seen) > 20
    leaks = [f"{where} holds a secret ({needle[:6]}...)"
             for where, text in haystack.items() for needle in needles if needle in text]
    assert not leaks, "\n".join(leaks)

    # files with secrets are private
    assert (home.stat().st_mode & 0o777) == 0o700
    for name in ("keys.vault", "keys-index.toml", "progress.toml"):
        assert ((home / name).stat().st_mode & 0o777) == 0o600, name
    assert ((tmp_path / "backup.roostkeys").stat().st_mode & 0o077) == 0
    exported = [f for f in out_dir.rglob("*") if f.is_file()]
    assert len(exported) >= 9
    for f in exported:
        mode = f.stat().st_mode & 0o777
        if f.name.endswith(".pub"):
            assert mode == 0o644, f
        else:
            assert mode in (0o600, 0o400), (f, oct(mode))
    # and they do hold the secrets (the scan above would otherwise prove nothing)
    exported_text = "".join(f.read_bytes().decode("utf-8", "replace") for f in exported)
    assert sum(1 for n in needles if n in exported_text) >= 5


# --- host keys ------------------------------------------------------------------------------

@pytest.mark.slow
def test_cli_refuses_a_changed_host_key(sshd_factory: Callable[..., Sshd], tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    env = dict(os.environ)
    env.update(ROOST_HOME=str(tmp_path / "home"), PYTHONPATH=str(ROOT))
    first = sshd_factory("first")

    def roost(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "roost", *argv], capture_output=True,
                              text=True, env=env, timeout=120, stdin=subprocess.DEVNULL)

    target = f"{first.user}@{first.host}:{first.port}"
    r = roost("host", "add", "box", target, "--key", str(first.key))
    assert r.returncode == 2 and "Traceback" not in r.stderr  # unknown key, no terminal
    assert first.fingerprint() in r.stderr
    r = roost("host", "add", "box", target, "--key", str(first.key),
              "--trust", first.fingerprint())
    assert r.returncode == 0, r.stderr
    port = first.port
    first.stop()
    second = sshd_factory("second", port=port)
    landed = tmp_path / "hello-root"
    for argv in (("host", "facts", "box", "--refresh"),
                 ("deploy", "hello", "--host", "box", "--option", f"root={landed}")):
        r = roost(*argv)
        assert r.returncode == 2, (argv, r.stdout, r.stderr)
        assert "Traceback" not in r.stderr
        assert "STOP" in r.stderr and second.fingerprint() in r.stderr, r.stderr
    assert not landed.exists(), "a step ran on a host whose key changed"


# --- paths that try to leave their folder ---------------------------------------------------

def test_step_paths_cannot_climb_out() -> None:
    from roost.deploy.steps import EnsureDir, RemovePath, WriteFile

    for bad in ("/var/www/roost/../../../etc/shadow", "/var/www/..", "relative/x",
                "/var/www/x\n/etc/passwd", "/var/www/x\x00y"):
        for make in (lambda p: WriteFile(p, b"x"), lambda p: EnsureDir(p),
                     lambda p: RemovePath(p)):
            with pytest.raises(RoostError):
                make(bad)


def test_static_blog_site_never_uploads_outside_its_folder(tmp_path: Path) -> None:
    from roost.deploy.recipes.static_blog import site_files

    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("do not upload")
    site = tmp_path / "site"
    (site / "sub").mkdir(parents=True)
    (site / "index.html").write_text("<h1>hi</h1>")
    (site / "sub" / "page.html").write_text("page")
    (site / ".env").write_text("hidden")
    (site / "link-to-secret").symlink_to(outside / "secret.txt")
    (site / "link-to-dir").symlink_to(outside, target_is_directory=True)
    (site / "up").symlink_to("..", target_is_directory=True)
    files = dict(site_files(str(site)))
    assert set(files) == {"index.html", "sub/page.html"}
    assert all(not rel.startswith(("/", "..")) and "/../" not in rel for rel in files)
    (site / "bad\nname.html").write_text("x")
    with pytest.raises(RoostError):
        site_files(str(site))


def test_static_blog_recipe_writes_only_under_the_web_root(tmp_path: Path) -> None:
    from roost.deploy.recipes.static_blog import WEB_ROOT, build_static_blog
    from roost.deploy.steps import EnsureDir, WriteFile

    site = tmp_path / "site"
    (site / "a" / "b").mkdir(parents=True)
    (site / "index.html").write_text("x")
    (site / "a" / "b" / "c.html").write_text("y")
    recipe = build_static_blog(None, {"site": str(site)}, {})
    paths = [s.path for s in recipe.steps if isinstance(s, WriteFile | EnsureDir)
             and not str(s.path).startswith("/etc/nginx/")]
    assert paths and all(os.path.normpath(p).startswith(WEB_ROOT) for p in paths)


def test_key_export_never_replaces_or_follows_a_symlink(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from roost.keys import ssh
    from roost.keys.export import export_identity

    ident = ssh.create("k")
    victim = tmp_path / "victim"
    victim.write_text("keep me")
    link = tmp_path / "key"
    link.symlink_to(victim)
    with pytest.raises(RoostError):
        export_identity(ident, link)
    assert victim.read_text() == "keep me"
    dangling = tmp_path / "dangling"
    dangling.symlink_to(tmp_path / "nowhere")
    with pytest.raises(RoostError):
        export_identity(ident, dangling)
    assert not (tmp_path / "nowhere").exists()
    written = export_identity(ident, tmp_path / "fresh")
    assert [p.name for p in written] == ["fresh", "fresh.pub"]


def test_import_of_a_hostile_file_changes_nothing(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("ROOST_HOME", str(home))
    answers = tmp_path / "answers.toml"
    answers.write_text(tomli_w.dumps(ANSWERS))
    assert main(["assess", "--answers", str(answers)]) == 0
    before = (home / "progress.toml").read_bytes()
    bad = tmp_path / "bad.toml"
    bad.write_text(tomli_w.dumps({"schema": 1, "kind": "roost-progress", "event": [
        {"kind": "done", "at": "2026-01-01T00:00:00", "service": "../../etc/passwd"},
        {"kind": "skipped", "at": "not a time"}]}))
    rc, _, err = run_in_process(["progress", "import", str(bad)], capsys)
    assert rc == 2 and len(err.strip().splitlines()) == 1
    assert (home / "progress.toml").read_bytes() == before
