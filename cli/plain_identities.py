"""Plain mode's Identities, as the full-screen Identities screens: the list (public parts
only), make one (kind, name, its questions, then the vault passphrase: the first identity
makes the vault), and for one identity: write its files, show a login's password (to a
terminal only), remove it; a sealed backup of the whole vault.

Every change is a use case of roost.app.identities, the one the screens call. Secrets are
typed without echo (getpass on the terminal, or ROOST_PASSPHRASE_FILE); never read from the
answers.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from roost.core.errors import RoostError

if TYPE_CHECKING:
    from roost.cli.plain import Plain
    from roost.keys.model import IdentityInfo


def identities(p: Plain) -> None:
    from roost.keys import KIND_NAMES, Vault
    from roost.keys.model import group

    while True:
        p.say()
        infos = Vault.public_index(p.ws.home)
        if not infos:
            p.say("No identities yet. An identity is a key pair: its public id is what others "
                  "see; the secret part stays in roost's vault, locked with your passphrase.")
        for n, info in enumerate(infos, start=1):
            pid = info.public_id
            core = pid.removeprefix("SHA256:")  # read by ear and compared in groups of four
            spoken = f" In groups: {group(core)}." if len(core) > 24 else ""
            p.say(f"{n}. {_cap(KIND_NAMES.get(info.kind, info.kind))} named {info.id}. "
                  f"Public id: {pid}.{spoken}")
        actions: list[tuple[str, Callable[[], None]]] = [
            ("Make a new identity", lambda: new_identity(p))]
        actions += [(f"Open {info.id}: write its files, remove it",
                     lambda i=info: one_identity(p, i))  # type: ignore[misc]
                    for info in infos]
        if infos:
            actions.append(("Export a backup of the vault", lambda: vault_backup(p)))
        picked = p.choose("What would you like to do with your identities?",
                          [t for t, _ in actions])
        if picked is None:
            return
        actions[picked][1]()


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _passphrase(p: Plain, new: bool) -> str:
    """The vault passphrase, asked without echo once everything typed is checked: twice, with
    what losing it means, for a new vault."""
    from roost.keys.vault import passphrase_from_env_or_prompt

    if new:
        p.say("This is your first identity, so roost makes the vault now: choose its "
              "passphrase (typed twice, not shown).")
    typed = passphrase_from_env_or_prompt(new=new)
    p.say("Sealing the vault; this takes a few seconds.")
    return typed


def new_identity(p: Plain) -> None:
    """As the New identity and identity form screens: the kind, its name, its questions
    (optional ones left empty with Enter), a login's own password if the person wants one,
    then the passphrase (roost.app.identities.make)."""
    from roost.app.identities import make
    from roost.keys import KIND_NAMES, KINDS, OPTIONS
    from roost.keys.factory import LOGIN_NAMES, OWN_PASSWORD
    from roost.keys.model import check_label

    def asks(kind: str) -> str:
        need = [what for what, required in OPTIONS[kind].values() if required]
        return "asks for " + " and ".join(need) if need else "no questions"

    picked = p.choose("Make a new identity: which kind?",
                      [f"{_cap(KIND_NAMES[k])}: {asks(k)}" for k in KINDS])
    if picked is None:
        return
    kind = KINDS[picked]
    if kind == "login":
        p.say(LOGIN_NAMES)
    label = p.ask_checked(f"Name (for you), Enter: {kind}",
                          lambda raw: check_label(raw.strip() or kind))
    if label is None:
        return
    options: dict[str, str] = {}
    for key, (what, required) in OPTIONS[kind].items():
        while True:
            value = p.ask(f"{_cap(what)}" + ("" if required else " (optional, Enter: none)")
                          + ":")
            if value or not required:
                break
            p.say("This one is needed. Please type it.")
        options[key] = value
    own = ""
    if kind in OWN_PASSWORD:
        way = p.choose("Its password:", ["roost makes a strong one (suggested)",
                                         "I type my own (asked twice, not shown)"])
        if way is None:
            return
        if way == 1:
            from roost.cli.keys_cmd import read_own_password

            try:
                own = read_own_password()
            except RoostError as exc:
                p.say(exc.line())
                return
    p.tell(lambda: [make(p.ws.home, kind, label, options, own_password=own,
                         passphrase=lambda new: _passphrase(p, new))])
    p.ws.reload()


def one_identity(p: Plain, info: IdentityInfo) -> None:
    from roost.keys import KIND_NAMES
    from roost.keys.model import WITH_PASSWORD

    actions: list[tuple[str, Callable[[], None]]] = [
        ("Write its files where you say", lambda: export_files(p, info.id))]
    if info.kind in WITH_PASSWORD:
        actions.append(("Show its password", lambda: show_password(p, info.id)))
    actions.append((f"Remove {info.id} from the vault", lambda: remove(p, info)))
    picked = p.choose(f"{info.id}, {KIND_NAMES.get(info.kind, info.kind)}: what would you "
                      "like to do?", [t for t, _ in actions])
    if picked is not None:
        actions[picked][1]()


def _opened(p: Plain) -> str:
    from roost.keys.vault import passphrase_from_env_or_prompt

    typed = passphrase_from_env_or_prompt()
    p.say("Opening the vault; this takes a few seconds.")
    return typed


def export_files(p: Plain, ident: str) -> None:
    from roost.app.identities import export_files as write
    from roost.keys import Vault
    from roost.keys.export import WHAT

    kind = next((i.kind for i in Vault.public_index(p.ws.home) if i.id == ident), "")
    p.say(f"This writes {WHAT.get(kind, 'its files')}. The files hold the secret key: keep "
          "them private; roost writes them readable by you alone, and never over a file.")
    default = p.ws.home / "export" / ident
    to = p.ask(f"Write it to (Enter: {default}):")
    target = Path(to) if to else default
    p.tell(lambda: [write(p.ws.home, ident, target, _opened(p))])


def vault_backup(p: Plain) -> None:
    from roost.app.identities import export_backup

    p.say("The backup is sealed with the same passphrase. Keep it on another device: a USB "
          "stick, another computer.")
    default = p.ws.home / f"roost-keys-{p.ws.today().strftime('%Y%m%d')}.backup"
    to = p.ask(f"Write it to (Enter: {default}):")
    target = Path(to) if to else default
    p.tell(lambda: [export_backup(p.ws.home, target, _opened(p))])


def remove(p: Plain, info: IdentityInfo) -> None:
    from roost.app.identities import remove as remove_it
    from roost.keys.model import a_kind

    if p.choose(f"This deletes {info.id} ({a_kind(info.kind)}, {info.public_id}) and its "
                "secrets from the vault. Only a backup made before can bring it back; "
                "services set up with it keep their accounts. Remove it?",
                [f"Remove {info.id} for good"], f"No, keep {info.id}") != 0:
        return
    p.tell(lambda: [remove_it(p.ws.home, info.id, _opened(p))])
    p.ws.reload()


def show_password(p: Plain, ident: str) -> None:
    """Only to a terminal: plain mode's output may be a log."""
    from roost.app.identities import password

    if not p.out.isatty():
        p.say("roost shows a password only on a terminal, and this output is not one. "
              f"On a terminal: roost keys show {ident} --secret.")
        return
    p.tell(lambda: [f"The password of {ident}: {password(p.ws.home, ident, _opened(p))}"])
