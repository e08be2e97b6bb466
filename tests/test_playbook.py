"""`roost playbook`: every recipe written out as an Ansible role, proven with ansible-core itself.

- every recipe in the registry exports, and `ansible-playbook --syntax-check` accepts the lot;
- every template, rendered by Ansible's own Jinja, gives byte for byte what roost writes;
- an upstream release's get_url checks roost's pin or, where roost pins none, upstream's own
  checksums file by its URL; run by Ansible against the local release server, the real file
  downloads and a tampered one is refused;
- the command writes a project whose only secrets are in the ansible-vault file: a grep of the
  folder for every secret of the vault finds none, and ansible-vault itself decrypts them;
- (container) Prosody exported and applied by `ansible-playbook` to a fresh Debian host: a real
  XMPP client logs in, and a second run reports changed=0.
"""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml
from support.identities import one_of_each, public, vault_for_commands, xmpp_pair
from support.releases import ReleaseServer
from test_dryrun import INPUTS, VPS

from roost.app.deploy_options import record_options
from roost.app.playbook import VAULT_FILE, export
from roost.cli.main import main
from roost.core.errors import RoostError
from roost.deploy import ansible
from roost.deploy.hosts import HOSTS_FILE, Host, HostStore
from roost.deploy.recipe import Recipe
from roost.deploy.recipes import RECIPES
from roost.deploy.recipes.upstream import InstallArtifact, choose
from roost.deploy.steps import RenderTemplate, Secret
from roost.keys.model import Identity

if TYPE_CHECKING:
    from testhost import TestHost

pytest_plugins = ["testhost"]

BIN = Path(sys.executable).parent
PASS = "correct horse battery staple 42"
DOMAIN = "chat.roost.test"


def ansible_cli(name: str, *args: str, cwd: Path | None = None,
                check: bool = True, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    # ssh's control socket lives under HOME: a short path, not the test's folder
    with tempfile.TemporaryDirectory(prefix="rpb") as short:
        res = subprocess.run([str(BIN / name), *args], cwd=cwd, capture_output=True,
                             text=True, timeout=timeout, check=False,
                             env={"PATH": f"{BIN}:/usr/bin:/bin", "ANSIBLE_NOCOLOR": "1",
                                  "ANSIBLE_HOST_KEY_CHECKING": "False", "LC_ALL": "C.UTF-8",
                                  "HOME": short})
    if check:
        assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    return res


@pytest.fixture(scope="module")
def people() -> dict[str, Any]:
    return one_of_each()


def build(service: str, people: dict[str, Any]) -> tuple[Recipe, dict[str, str]]:
    """The recipe as test_dryrun builds it; an upstream release that has neither a pinned hash
    nor upstream's checksums file (Pleroma: trust on first use) pinned with --option sha256 as
    a person would."""
    host, options = INPUTS.get(service, (None, {}))
    recipe = RECIPES[service](host, options, people)
    if any(isinstance(s, InstallArtifact) and not s.sha256 and not s.sums
           for s in recipe.steps):
        options = {**options, "sha256": "ab" * 32}
        recipe = RECIPES[service](VPS, options, people)
    return recipe, options


def write_every_recipe(people: dict[str, Any], folder: Path) -> list[str]:
    """Every recipe's role under `folder`/roles, and a site.yml with all of them."""
    roles = []
    for service in sorted(RECIPES):
        recipe, options = build(service, people)
        role = ansible.role(recipe, ansible.role_name(service), options)
        tasks = role.files["tasks/main.yml"]
        # Same steps, same order, the health check last.
        numbers = [int(n) for n in re.findall(r'name: "Step (\d+): ', tasks)]
        assert sorted(set(numbers)) == [n for n, _ in recipe.numbered()], service
        assert numbers == sorted(numbers), service
        assert "ansible.builtin." in tasks and not re.search(r"^\s+(?!ansible\.builtin\.)"
                                                             r"[a-z_]+\.[a-z_]+\.[a-z_]+:",
                                                             tasks, re.M)
        for rel, text in role.files.items():
            path = folder / "roles" / role.name / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        roles.append(role.name)
    (folder / "site.yml").write_text("---\n" + ansible.yaml([{
        "name": "Every recipe", "hosts": "all", "become": True, "roles": roles}]))
    return roles


def test_every_recipe_exports_and_ansible_accepts_it(people: dict[str, Any],
                                                     tmp_path: Path) -> None:
    write_every_recipe(people, tmp_path)
    res = ansible_cli("ansible-playbook", "--syntax-check", "-i", "localhost,", "site.yml",
                      cwd=tmp_path)
    assert "ERROR" not in res.stderr


@pytest.mark.slow  # ansible-lint reads 45 files: about half a minute
def test_ansible_lint_finds_nothing(
        people: dict[str, Any], tmp_path: Path) -> None:
    write_every_recipe(people, tmp_path)
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)  # lint's project root
    res = ansible_cli("ansible-lint", "--offline", "--nocolor", "-f", "pep8", "site.yml",
                      cwd=tmp_path, check=False)
    found = [line for line in res.stdout.splitlines() if re.match(r"^\S+:\d+", line)]
    assert found == [], res.stdout[-3000:] + res.stderr[-2000:]


@pytest.mark.slow  # a minute: Ansible runs its template module once per file
def test_templates_render_to_exactly_what_roost_writes(people: dict[str, Any],
                                                       tmp_path: Path) -> None:
    """Ansible's template module, on this computer, writes every non-secret template of every
    recipe byte for byte as roost renders it."""
    tasks, expected = [], {}
    for service in sorted(RECIPES):
        recipe, options = build(service, people)
        role = ansible.role(recipe, ansible.role_name(service), options)
        for step in recipe.steps:
            if not isinstance(step, RenderTemplate) or any(
                    isinstance(v, Secret) for v in step.values.values()):
                continue
            src = tmp_path / "src" / f"{len(expected)}.j2"
            src.parent.mkdir(exist_ok=True)
            (name,) = [k for k in role.files if k.startswith("templates/")
                       and k.endswith(ansible._file_name(step.path) + ".j2")]
            src.write_text(role.files[name])
            out = tmp_path / "out" / str(len(expected))
            expected[out] = step._render(lambda v: v if isinstance(v, str) else "")
            tasks.append({"ansible.builtin.template": {"src": str(src), "dest": str(out)}})
    assert len(expected) >= 10
    (tmp_path / "out").mkdir()
    play = tmp_path / "render.yml"
    play.write_text("---\n" + ansible.yaml([{"hosts": "localhost", "gather_facts": False,
                                              "connection": "local", "tasks": tasks}]))
    ansible_cli("ansible-playbook", "-i", "localhost,", str(play), cwd=tmp_path)
    for out, text in expected.items():
        assert out.read_text() == text, out


def test_release_downloads_are_checked_by_get_url_against_upstreams_checksums(
        people: dict[str, Any], tmp_path: Path) -> None:
    """The exported get_url tasks, run by Ansible on this computer against the local release
    server in upstream's layout: Navidrome against roost's pin, Friendica against upstream's
    .sum256 (by its URL); a tampered file is refused by get_url itself."""
    releases = ReleaseServer()
    try:
        tasks: list[Any] = []
        files = {}
        for service, options in (("navidrome", {}), ("friendica", {"domain": "f.example.org"})):
            art, _ = choose(service, None, {"mirror": releases.base})
            data = f"stand-in {service}\n".encode()
            sha = releases.publish(art, data)
            recipe = RECIPES[service](None, {**options, "mirror": releases.base,
                                             "sha256": sha if service == "navidrome" else ""},
                                      people)
            text = ansible.role(recipe, ansible.role_name(service), options
                                ).files["tasks/main.yml"]
            (task,) = [t for t in yaml.safe_load(text) if "ansible.builtin.get_url" in t]
            get = task["ansible.builtin.get_url"]
            assert get["checksum"] == (f"sha256:{sha}" if service == "navidrome"
                                       else f"sha256:{art.sums}")
            if service == "friendica":
                assert "ansible.builtin.stat" in text and ".stat.checksum[:16] }}" in text
            get["dest"] = str(tmp_path / art.file)
            files[art.file] = data
            tasks.append({"name": service, "ansible.builtin.get_url": get})
        play = tmp_path / "get.yml"
        play.write_text("---\n" + ansible.yaml([{"hosts": "localhost", "gather_facts": False,
                                                  "connection": "local", "tasks": tasks}]))
        ansible_cli("ansible-playbook", "-i", "localhost,", str(play), cwd=tmp_path)
        for name, data in files.items():
            assert (tmp_path / name).read_bytes() == data
            (tmp_path / name).unlink()
        art, _ = choose("friendica", None, {"mirror": releases.base})
        releases.tamper(art, b"tampered\n")
        res = ansible_cli("ansible-playbook", "-i", "localhost,", str(play), cwd=tmp_path,
                          check=False)
        assert res.returncode != 0 and "checksum" in res.stdout.lower(), res.stdout[-2000:]
        assert not (tmp_path / art.file).exists()
    finally:
        releases.close()
    host, options = INPUTS["pleroma"]  # trust on first use exports only with a hash given
    with pytest.raises(RoostError, match="publishes no checksums file"):
        ansible.role(RECIPES["pleroma"](host, options, people), "pleroma", options)


def _home(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, hosts: list[Host],
          *people: Identity) -> None:
    home.mkdir(mode=0o700)
    vault_for_commands(home, PASS, tmp_path, monkeypatch, *people)
    store = HostStore(home / HOSTS_FILE)
    for h in hosts:
        store.add(h)


def _files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()]


def test_the_command_writes_a_project_with_no_secret_in_the_clear(
        home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    alice, bob = xmpp_pair(DOMAIN)
    _home(home, tmp_path, monkeypatch, [Host("pi", "10.0.0.5", user="pi", port=2222)],
          alice, bob)
    record_options(home, "prosody", "pi", {"registration": "closed"})
    vp = tmp_path / "vault-password"
    vp.write_text("an ansible vault password\n")
    out = tmp_path / "project"
    assert main(["playbook", "prosody", "--host", "pi", "--to", str(out),
                 "--vault-password-file", str(vp)]) == 0
    said = capsys.readouterr().out
    assert "1 role (prosody on pi)" in said and "2 secrets are in" in said
    names = {str(p.relative_to(out)) for p in _files(out)}
    assert {"inventory.ini", "site.yml", "README.md", "ansible.cfg", VAULT_FILE,
            "roles/prosody/tasks/main.yml",
            "roles/prosody/handlers/main.yml", "roles/prosody/defaults/main.yml"} <= names
    assert "pi ansible_host=10.0.0.5 ansible_user=pi ansible_port=2222" in \
        (out / "inventory.ini").read_text()
    assert '"prosody_registration": "closed"' in \
        (out / "roles/prosody/defaults/main.yml").read_text() or \
        "prosody_registration: \"closed\"" in \
        (out / "roles/prosody/defaults/main.yml").read_text()
    # ansible-vault itself opens the vault file, and finds the passwords there.
    shown = ansible_cli("ansible-vault", "view", "--vault-password-file", str(vp),
                        str(out / VAULT_FILE), cwd=tmp_path).stdout
    secrets = [alice.secret["password"], bob.secret["password"]]
    assert all(s in shown for s in secrets)
    # ...and nowhere in the folder is one of them in the clear.
    for path in _files(out):
        data = path.read_bytes()
        assert not any(s.encode() in data for s in secrets), path
    ansible_cli("ansible-playbook", "--syntax-check", "-i", "inventory.ini", "site.yml",
                cwd=out)

    # A folder that is not empty is refused, then written over with --force.
    assert main(["playbook", "prosody", "--host", "pi", "--to", str(out),
                 "--vault-password-file", str(vp)]) == 2
    assert "is not empty" in capsys.readouterr().err
    assert main(["playbook", "prosody", "--host", "pi", "--to", str(out), "--force",
                 "--vault-password-file", str(vp)]) == 0
    # Names are checked where typed; unknown ones are one line, exit 2.
    for args in (["prosody", "--host", "bad;name"], ["no-such-service", "--host", "pi"],
                 ["prosody", "--host", "nowhere"], ["--all", "--host", "pi"]):
        capsys.readouterr()
        assert main(["playbook", *args, "--to", str(tmp_path / "x"),
                     "--vault-password-file", str(vp)]) == 2
        err = capsys.readouterr().err
        assert err.startswith("roost: ") and "Traceback" not in err


def test_a_typed_vault_password_reaches_ansible_vault_only_through_a_pipe(
        home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    alice, bob = xmpp_pair(DOMAIN)
    _home(home, tmp_path, monkeypatch, [Host("pi", "10.0.0.5", user="root")], alice, bob)
    done = export(home, tmp_path / "p", service="prosody", host="pi",
                  vault_password=lambda: "typed password", passphrase=lambda: PASS)
    assert done.secrets == 2
    vp = tmp_path / "vp"
    vp.write_text("typed password\n")
    shown = ansible_cli("ansible-vault", "view", "--vault-password-file", str(vp),
                        str(tmp_path / "p" / VAULT_FILE), cwd=tmp_path).stdout
    assert alice.secret["password"] in shown


# --------------------------------------------------------------------------------------------
# The proof on a real host


def _run_playbook(folder: Path, vp: Path | None = None) -> dict[str, int]:
    vault = ["--vault-password-file", str(vp)] if vp is not None else []
    res = ansible_cli("ansible-playbook", "-i", "inventory.ini", "site.yml", *vault,
                      cwd=folder)
    (recap,) = re.findall(r"^pi\s+:\s+(.*)$", res.stdout, re.M)
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", recap)}


@pytest.mark.slow
@pytest.mark.container
def test_playbooks_on_a_fresh_host_prosody_logs_in_and_the_blog_loads(
        pi_host: TestHost, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from testhost import record_time

    alice, bob = xmpp_pair(DOMAIN)
    _home(home, tmp_path, monkeypatch, [Host("pi", pi_host.address, user="root",
                                             port=pi_host.ssh_port,
                                             key_path=str(pi_host.key_path))], alice, bob)
    record_options(home, "prosody", "pi", {"registration": "closed"})
    vp = tmp_path / "vault-password"
    vp.write_text("an ansible vault password\n")
    folder = tmp_path / "project"
    export(home, folder, service="prosody", host="pi", vault_password=vp,
           passphrase=lambda: PASS)

    import time
    start = time.monotonic()
    first = _run_playbook(folder, vp)
    record_time("ansible_prosody", time.monotonic() - start)
    assert first["failed"] == 0 and first["changed"] > 0, first
    assert pi_host.active("prosody")
    # Nothing written on the host holds a password in plain text (ansible.cfg pipelines the
    # tasks: their arguments never land in a temporary file there).
    from testhost import files_containing
    assert files_containing(pi_host.changes, [alice.secret["password"],
                                              bob.secret["password"]]) == []

    # The proof: a real XMPP app logs in as alice with her password from the vault.
    cafile = tmp_path / "server.crt"
    cafile.write_text(pi_host.ssh(f"cat /etc/prosody/certs/{DOMAIN}.crt").stdout)
    login = Path(__file__).parent / "support" / "xmpp_login.py"
    said = subprocess.run([sys.executable, str(login), pi_host.address, alice.public["jid"],
                           str(cafile)], input=alice.secret["password"] + "\n", text=True,
                          capture_output=True, timeout=60, check=False)
    assert said.stdout.strip() == "logged in", said.stdout + said.stderr
    wrong = subprocess.run([sys.executable, str(login), pi_host.address, alice.public["jid"],
                            str(cafile)], input="not-her-password\n", text=True,
                           capture_output=True, timeout=60, check=False)
    assert wrong.stdout.strip() != "logged in"

    # A second run changes nothing.
    start = time.monotonic()
    second = _run_playbook(folder, vp)
    record_time("ansible_prosody_again", time.monotonic() - start)
    assert second["failed"] == 0 and second["changed"] == 0, second

    # The files it wrote are the ones roost writes (its dry run's template, byte for byte).
    recipe = dataclasses.replace(RECIPES["prosody"](None, {}, public(alice, bob)))
    (vhost,) = [s for s in recipe.steps if isinstance(s, RenderTemplate)]
    got = pi_host.ssh(f"cat {vhost.path}").stdout
    assert got == vhost._render(lambda v: v if isinstance(v, str) else "")

    # One more service, on the same host: the static blog, with a site of two pages.
    import httpx

    site = tmp_path / "site"
    (site / "notes").mkdir(parents=True)
    (site / "index.html").write_text("<h1>Notes from the roost {{ x }}</h1>\n")
    (site / "notes" / "first.html").write_text("<p>First {{ note }} {% raw %}</p>\n")
    record_options(home, "static-blog", "pi", {"site": str(site)})
    blog = tmp_path / "blog-project"
    done = export(home, blog, service="static-blog", host="pi", passphrase=lambda: PASS)
    assert done.secrets == 0 and not (blog / VAULT_FILE).exists()
    start = time.monotonic()
    assert _run_playbook(blog)["failed"] == 0
    record_time("ansible_static_blog", time.monotonic() - start)
    base = f"http://{pi_host.address}/"
    assert "Notes from the roost {{ x }}" in httpx.get(base, timeout=5).text
    assert httpx.get(base + "notes/first.html", timeout=5).text == \
        "<p>First {{ note }} {% raw %}</p>\n"
    again = _run_playbook(blog)
    assert again["failed"] == 0 and again["changed"] == 0, again


@pytest.mark.slow  # two ansible-playbook runs: about 25 s here
def test_a_role_run_here_writes_text_with_jinja_in_it_as_it_is(tmp_path: Path) -> None:
    """Shell's `${#x}`, a page's `{{ x }}`: Ansible evaluates none of it; a second run changes
    nothing. (A recipe of files and commands under a test folder, run on this computer.)"""
    from roost.deploy.steps import EnsureDir, RunCommand, WaitHealth, WriteFile

    d = tmp_path / "t"
    page = "page {{ x }} ${#y} {% raw %} {# c #}\n"
    word = "{{ nope }} ${#x}"
    recipe = Recipe(id="jinja-test", service_id="jinja-test", title="a test", steps=(
        EnsureDir(str(d), mode=0o750),
        WriteFile(f"{d}/page.html", page),
        RenderTemplate(f"{d}/conf", text="value = ${v}\n", values={"v": "{# not a comment"}),
        RunCommand(("sh", "-c", 'printf "%s" "$1" > "$2"', "sh", word, f"{d}/out"),
                   creates=f"{d}/out"),
        RunCommand(("touch", f"{d}/touched"), unless=("test", "-e", f"{d}/touched")),
    ), health=WaitHealth("the file is there", argv=("test", "-e", f"{d}/out")))
    role = ansible.role(recipe, "jinja_test", {})
    for rel, text in role.files.items():
        path = tmp_path / "roles" / role.name / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    play = tmp_path / "site.yml"
    play.write_text("---\n" + ansible.yaml([{"hosts": "localhost", "gather_facts": False,
                                              "connection": "local", "roles": [role.name]}]))
    runs = []
    for _ in range(2):
        out = ansible_cli("ansible-playbook", "-i", "localhost,", str(play), cwd=tmp_path)
        (recap,) = re.findall(r"^localhost\s+:\s+(.*)$", out.stdout, re.M)
        runs.append(dict(re.findall(r"(\w+)=(\d+)", recap)))
    assert (d / "page.html").read_text() == page
    assert (d / "conf").read_text() == "value = {# not a comment\n"
    assert (d / "out").read_text() == word
    assert oct((d.stat().st_mode) & 0o777) == "0o750"
    assert runs[0]["changed"] != "0" and runs[1]["changed"] == "0", runs


def test_all_exports_every_deployed_service_on_every_host(
        home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    from types import SimpleNamespace

    from roost.app.deploying import note_deployed

    alice, bob = xmpp_pair(DOMAIN)
    _home(home, tmp_path, monkeypatch, [Host("pi", "10.0.0.5", user="pi"),
                                        Host("vps", "192.0.2.9", user="root")], alice, bob)
    vp = tmp_path / "vp"
    vp.write_text("an ansible vault password\n")
    assert main(["playbook", "--all", "--to", str(tmp_path / "none"),
                 "--vault-password-file", str(vp)]) == 2
    assert "no service is deployed yet" in capsys.readouterr().err
    for service, host in (("prosody", "pi"), ("static-blog", "pi"), ("static-blog", "vps")):
        note_deployed(service, host, SimpleNamespace(version="1", ports=(), recipe=service,
                                                     options={}, health=None), home)
    out = tmp_path / "all"
    assert main(["playbook", "--all", "--to", str(out), "--vault-password-file", str(vp)]) == 0
    assert "3 roles" in capsys.readouterr().out
    assert {p.name for p in (out / "roles").iterdir()} == {
        "prosody", "static_blog_pi", "static_blog_vps"}
    inventory = (out / "inventory.ini").read_text()
    assert "pi ansible_host=10.0.0.5 ansible_user=pi" in inventory
    assert "vps ansible_host=192.0.2.9 ansible_user=root" in inventory
    site = (out / "site.yml").read_text()
    assert site.count("hosts:") == 2 and "static_blog_vps" in site
    ansible_cli("ansible-playbook", "--syntax-check", "-i", "inventory.ini", "site.yml",
                cwd=out)


def test_long_texts_fold_and_read_back_exactly() -> None:
    import yaml

    texts = ["word " * 60, 'sh -c "x=$1; [ -f \\"$x\\" ]"  \t end' * 9, "é ü ✓ " * 50,
             " " * 30 + "x" + " y" * 80, "a" * 300, "tab\there " * 40, "line\nbreak  " * 30]
    data = {"top": texts, "nested": [{"argv": texts}]}
    text = ansible.yaml(data)
    assert max(len(line) for line in text.splitlines()) <= 130
    assert yaml.safe_load(text) == data
