"""Step logic: each step type checks, applies, and is done afterwards; secrets stay out of
argv, output and the dry run. Uses the in-memory FakeTransport (fast); the real transports
are exercised in test_engine.py."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from support.fake import FakeFile, FakeHost, FakeTransport

from roost.core.errors import RoostError
from roost.deploy.dryrun import plan_lines
from roost.deploy.reach import Site
from roost.deploy.recipe import Recipe, parse_options, take_options
from roost.deploy.steps import (
    CreateAccount,
    DisableService,
    EnableService,
    EnsureDir,
    EnsureUser,
    InstallPackages,
    RemovePackages,
    RemovePath,
    RenderTemplate,
    Restart,
    RunCommand,
    Secret,
    Step,
    StepContext,
    StepError,
    WaitHealth,
    WriteFile,
    render,
    step_key,
)

PW = "correct horse battery staple 42"
SECRET = Secret("xmpp/alice@example.org", "password")


def ctx_for(t: FakeTransport, **kw: object) -> StepContext:
    return StepContext(transport=t, secrets={SECRET.ref: PW}, **kw)  # type: ignore[arg-type]


def converge(step: Step, t: FakeTransport | None = None) -> FakeTransport:
    """check is False, apply, then check is True."""
    t = t or FakeTransport()
    ctx = ctx_for(t)
    assert not step.check(t, ctx)
    step.apply(t, ctx)
    assert step.check(t, ctx), f"{step.describe()} not done after apply"
    return t


def test_install_packages() -> None:
    t = converge(InstallPackages(("prosody", "lua-dbi-sqlite3")))
    assert t.host.packages == {"prosody", "lua-dbi-sqlite3"}
    install = next(c for c in t.log if "install" in c)
    assert install[:2] == ("env", "DEBIAN_FRONTEND=noninteractive")
    assert InstallPackages(("prosody", "x")).describe() == "install packages prosody, x"


def test_install_packages_updates_stale_lists_once() -> None:
    t = FakeTransport(host=FakeHost(lists_fresh=False))
    converge(InstallPackages(("nginx",)), t)
    assert [c[3] for c in t.commands_run() if c[2:3] == ("apt-get",)] == [
        "install", "update", "install"]


def test_install_unknown_package_fails_with_tail_and_hint() -> None:
    t = FakeTransport(host=FakeHost(available={"nginx"}))
    with pytest.raises(StepError) as err:
        InstallPackages(("nosuchpkg",)).apply(t, ctx_for(t))
    assert "Unable to locate package nosuchpkg" in err.value.tail
    assert "apt-get" in err.value.message and err.value.hint


@pytest.mark.parametrize("bad", ["foo;rm", "$(x)", "Foo", "-o", "a b"])
def test_package_names_are_validated(bad: str) -> None:
    with pytest.raises(RoostError):
        InstallPackages((bad,))


def test_write_file_mode_owner_and_change_detection() -> None:
    t = FakeTransport()
    t.host.users["prosody"] = set()
    step = WriteFile("/etc/prosody/x.cfg", "a = 1\n", mode=0o640, owner="prosody",
                     group="root")
    converge(step, t)
    f = t.host.files["/etc/prosody/x.cfg"]
    assert (f.data, f.mode, f.owner) == (b"a = 1\n", 0o640, "prosody")
    ctx = ctx_for(t)
    f.mode = 0o644
    assert not step.check(t, ctx)  # mode drift is noticed
    f.mode, f.data = 0o640, b"a = 2\n"
    assert not step.check(t, ctx)  # content drift is noticed
    step.apply(t, ctx)
    assert step.check(t, ctx) and ctx.changed_paths == {"/etc/prosody/x.cfg"}


def test_write_file_with_secret_content_needs_private_mode() -> None:
    with pytest.raises(RoostError, match="readable by others"):
        WriteFile("/etc/x/pw", SECRET, mode=0o644)
    # 0640 is private only with a named group (the service's); 0660 lets the group write it.
    with pytest.raises(RoostError, match="readable by others"):
        WriteFile("/etc/x/pw", SECRET, mode=0o640)
    with pytest.raises(RoostError, match="readable by others"):
        WriteFile("/etc/x/pw", SECRET, mode=0o660, group="svc")
    with pytest.raises(RoostError, match="readable by others"):
        RenderTemplate("/etc/x/pw", text="${p}", values={"p": SECRET}, mode=0o644, group="svc")
    WriteFile("/etc/x/pw", SECRET, mode=0o640, owner="root", group="svc")
    RenderTemplate("/etc/x/pw", text="${p}", values={"p": SECRET}, mode=0o640, group="svc")
    t = converge(WriteFile("/etc/x/pw", SECRET, mode=0o600))
    assert t.host.files["/etc/x/pw"].data == PW.encode()
    assert all(PW not in " ".join(c) for c in t.log)


@pytest.mark.parametrize("bad", ["relative/x", "/a/../etc/passwd", "/a\nb", "/a\0b"])
def test_paths_are_validated(bad: str) -> None:
    with pytest.raises(RoostError):
        WriteFile(bad, "x")


def test_render_template_values_are_text_not_code() -> None:
    values = {"name": "$(touch /tmp/canary) ${other} `id` {{x}} %(y)s"}
    step = RenderTemplate("/etc/x.conf", text="name = ${name}\nother = $other\nprice = $$5\n",
                          values={**values, "other": "${name}"})
    t = converge(step)
    assert t.host.files["/etc/x.conf"].data.decode() == (
        "name = $(touch /tmp/canary) ${other} `id` {{x}} %(y)s\nother = ${name}\nprice = $5\n")


def test_render_template_refuses_line_breaks_and_missing_values() -> None:
    with pytest.raises(RoostError, match="line break"):
        RenderTemplate("/etc/x.conf", text="a = ${v}", values={"v": "1\nadmin = true"})
    t = FakeTransport()
    with pytest.raises(RoostError, match="needs a value for v"):
        RenderTemplate("/etc/x.conf", text="a = ${v}").apply(t, ctx_for(t))
    with pytest.raises(RoostError):
        RenderTemplate("/etc/x.conf", values={"v": "1"})  # neither template nor text


def test_render_template_from_shipped_file_and_secret_value() -> None:
    step = RenderTemplate("/etc/hello.txt", template="hello.txt", values={"name": SECRET},
                          mode=0o600)
    t = converge(step)
    assert t.host.files["/etc/hello.txt"].data.decode().startswith(f"Hello, {PW}!")
    shown = "\n".join(step.commands())
    assert PW not in shown and "<secret: xmpp/alice@example.org password>" in shown
    with pytest.raises(RoostError, match="missing"):
        RenderTemplate("/etc/y", template="no-such-template").apply(t, ctx_for(t))
    assert render("x ${a.b-c}", {"a.b-c": "1"}) == "x 1"


def test_ensure_dir_and_user() -> None:
    t = converge(EnsureUser("prosody", home="/var/lib/prosody", groups=("ssl-cert",)))
    assert t.host.users["prosody"] == {"ssl-cert"}
    converge(EnsureDir("/var/lib/prosody", mode=0o750, owner="prosody", group="prosody"), t)
    assert t.host.dirs["/var/lib/prosody"] == (0o750, "prosody", "prosody")
    with pytest.raises(RoostError):
        EnsureUser("Bad;name")


def test_enable_disable_restart_service() -> None:
    t = converge(EnableService("prosody"))
    assert "prosody" in t.host.enabled and "prosody" in t.host.active
    converge(DisableService("prosody"), t)
    with pytest.raises(RoostError):
        EnableService("-bad")
    restart = Restart("prosody", watch=("/etc/prosody/prosody.cfg.lua",))
    ctx = ctx_for(t)
    assert restart.check(t, ctx)  # nothing changed: nothing to do
    ctx.changed_paths.add("/etc/prosody/prosody.cfg.lua")
    assert not restart.check(t, ctx)
    restart.apply(t, ctx)
    assert t.host.restarts == ["prosody"]


def test_run_command_unless_and_creates() -> None:
    t = FakeTransport()
    seen: list[tuple[str, ...]] = []
    t.handlers["myapp"] = lambda a, s: (seen.append(tuple(a)), (0, "ok\n", ""))[1]
    step = RunCommand(("myapp", "init"), creates="/srv/app/state")
    ctx = ctx_for(t)
    assert not step.check(t, ctx)
    step.apply(t, ctx)
    assert seen == [("myapp", "init")]
    t.host.files["/srv/app/state"] = t.host.files.get("/x") or FakeFile(b"")
    assert step.check(t, ctx)
    u = RunCommand(("myapp", "migrate"), unless=("true",))
    assert u.check(t, ctx) and u.has_check
    assert not RunCommand(("myapp",)).has_check


def test_run_command_as_user_in_folder() -> None:
    t = FakeTransport()
    t.handlers["myapp"] = lambda a, s: (0, "", "")
    RunCommand(("myapp",), as_user="synapse", cwd="/opt/synapse").apply(t, ctx_for(t))
    assert t.commands_run()[-1] == ("runuser", "-u", "synapse", "--", "env", "-C",
                                    "/opt/synapse", "myapp")


def test_commands_are_argument_lists_and_secrets_never_arguments() -> None:
    with pytest.raises(RoostError, match="not a shell string"):
        RunCommand("rm -rf /")  # type: ignore[arg-type]
    with pytest.raises(RoostError, match="secret cannot be a command argument"):
        RunCommand(("prosodyctl", "register", "alice", "example.org", SECRET))  # type: ignore[arg-type]


def test_create_account_sends_secret_on_stdin_only() -> None:
    t = FakeTransport()
    users: set[str] = set()

    def adduser(a: list[str], stdin: bytes | None) -> tuple[int, str, str]:
        assert stdin == (PW + "\n").encode() * 2
        users.add(a[-1])
        return 0, f"created {a[-1]} with password {PW}\n", ""

    t.handlers["prosodyctl"] = lambda a, s: (0 if a[-1] in users else 1, "", "") \
        if a[1] == "exists" else adduser(a, s)
    step = CreateAccount(("prosodyctl", "adduser", "alice@example.org"), SECRET,
                         exists=("prosodyctl", "exists", "alice@example.org"), repeat=2)
    lines: list[str] = []
    ctx = StepContext(transport=t, secrets=lambda s: PW, on_output=lines.append)
    assert not step.check(t, ctx)
    step.apply(t, ctx)
    assert step.check(t, ctx)
    assert all(PW not in " ".join(c) for c in t.log)
    # output that echoes the secret is redacted before anyone sees it
    assert lines == ["created alice@example.org with password "
                     "<secret: xmpp/alice@example.org password>"]
    assert PW not in "\n".join(step.commands())


def test_missing_secret_is_a_clear_error_without_value() -> None:
    t = FakeTransport()
    step = WriteFile("/etc/pw", Secret("nobody", "password"), mode=0o600)
    with pytest.raises(RoostError, match="secret nobody \\(password\\) is not available"):
        step.check(t, StepContext(transport=t, secrets={}))


def test_wait_health_retries_until_healthy_or_timeout() -> None:
    t = FakeTransport()
    answers = iter([False, "still starting", True])
    step = WaitHealth("probe", probe=lambda: next(answers), timeout=5, interval=0.01)
    res = step.wait(t, ctx_for(t))
    assert res.ok
    bad = WaitHealth("never", argv=("false",), timeout=0.05, interval=0.01)
    with pytest.raises(StepError, match="not healthy"):
        bad.apply(t, ctx_for(t))
    with pytest.raises(RoostError):
        WaitHealth("two", argv=("true",), site=Site("127.0.0.1"))
    assert not WaitHealth.changes_host


def test_remove_steps() -> None:
    t = FakeTransport()
    t.host.packages.add("nginx")
    converge(RemovePackages(("nginx",), purge=True), t)
    t.host.dirs["/srv/blog"] = (0o755, "root", "root")
    t.host.files["/srv/blog/index.html"] = FakeFile(b"x")
    converge(RemovePath("/srv/blog"), t)
    assert not t.host.files and not t.host.dirs
    with pytest.raises(RoostError, match="too close"):
        RemovePath("/etc")


def test_step_keys_are_stable_and_follow_the_definition() -> None:
    a = WriteFile("/etc/a", "x")
    assert step_key(3, a) == step_key(3, WriteFile("/etc/a", "x"))
    assert step_key(3, a) != step_key(4, a)
    assert step_key(3, a) != step_key(3, WriteFile("/etc/a", "y"))
    assert step_key(3, a) != step_key(3, WriteFile("/etc/a", "x", mode=0o600))
    # a secret's value never enters the key (it is not even known when keys are made)
    s = WriteFile("/etc/pw", SECRET, mode=0o600)
    assert PW not in s.definition() and SECRET.ref in s.definition()


def test_dry_run_lists_every_command_and_file_with_secrets_hidden() -> None:
    r = Recipe("demo", "demo", "demo", (
        InstallPackages(("prosody",)),
        WriteFile("/etc/pw", SECRET, mode=0o600),
        CreateAccount(("prosodyctl", "adduser", "alice@example.org"), SECRET),
        RunCommand(("prosodyctl", "reload")),
    ))
    text = "\n".join(plan_lines(r, "pi"))
    assert "apt-get install" in text and "prosody" in text
    assert "write file /etc/pw (a secret, mode 0600)" in text
    assert text.count("<secret: xmpp/alice@example.org password>") == 2
    assert "step 4 of 4: run prosodyctl (runs once)" in text
    assert PW not in text


def test_recipe_options() -> None:
    assert parse_options(["a=1", "b=x=y", "c="]) == {"a": "1", "b": "x=y", "c": ""}
    with pytest.raises(RoostError):
        parse_options(["novalue"])
    with pytest.raises(RoostError, match="no option 'zzz'"):
        take_options({"zzz": "1"}, {"a": "x"}, "demo")
    with pytest.raises(RoostError, match="needs the option a"):
        take_options({}, {"a": None}, "demo")
    assert take_options({}, {"a": "x"}, "demo") == {"a": "x"}
    with pytest.raises(RoostError):
        Recipe("Bad Id", "x", "x", ())
    r = Recipe("demo", "demo", "demo", (WriteFile("/etc/a", "x"),),
               uninstall=(RemovePath("/etc/a"),))
    assert r.removal().id == "demo-uninstall"
    with pytest.raises(RoostError, match="no uninstall steps"):
        dataclasses.replace(r, uninstall=()).removal()


def test_wait_health_fetches_a_real_page_over_http(tmp_path: Path) -> None:
    import functools
    import http.server
    import threading

    (tmp_path / "index.html").write_text("<h1>my blog</h1>\n")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    th = threading.Thread(target=server.serve_forever, daemon=True)
    th.start()
    try:
        site = Site("127.0.0.1", port=server.server_address[1])
        t = FakeTransport()
        ok = WaitHealth("fetch", site=site, expect_text="<h1>my blog</h1>", timeout=5,
                        interval=0.05).wait(t, ctx_for(t))
        assert ok.ok
        wrong = WaitHealth("fetch", site=site, expect_text="nginx welcome", timeout=0.3,
                           interval=0.05).wait(t, ctx_for(t))
        assert not wrong.ok and "without the expected text" in wrong.detail
        missing = WaitHealth("fetch", site=site, path="/nope", timeout=0.2,
                             interval=0.05).wait(
            t, ctx_for(t))
        assert not missing.ok and "answered 404" in missing.detail
    finally:
        server.shutdown()
        server.server_close()
    gone = WaitHealth("fetch", site=site, timeout=0.2, interval=0.05).wait(t, ctx_for(t))
    assert not gone.ok and "did not answer" in gone.detail
