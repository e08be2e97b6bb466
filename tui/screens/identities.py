"""Identities: list (public parts only, no passphrase needed), create, export one identity's
files, show a login's password (with the passphrase, on its own screen until the person
leaves it), remove one (after a screen that says what is lost, with the passphrase), export a
backup of the whole vault.

roost.keys is imported only when this screen is opened: it pulls in nacl.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from textual.binding import Binding, BindingType

from roost.core.errors import RoostError
from roost.tui.a11y import Row
from roost.tui.screens.base import RoostScreen
from roost.tui.screens.forms import Field, FormScreen


def spoken(value: str) -> str:
    """Long ids in groups of four, so they can be read aloud and compared by ear."""
    from roost.keys.model import group

    core = value.removeprefix("SHA256:")
    return group(core) if len(core) > 24 else value


def capital(text: str) -> str:
    """A row's label starts with a capital, as the other lists' rows do."""
    return text[:1].upper() + text[1:]


class IdentitiesScreen(RoostScreen):
    TITLE = "Identities"
    LIST_ID = "identities"
    ENTER = "open"
    NAME = "Identities"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "new", "new identity"),
        Binding("p", "password", "show its password"),
        Binding("x", "remove", "remove the identity"),
        Binding("e", "export", "export a backup"),
    ]

    def intro(self) -> str:
        return ("An identity is a key pair: its public id is what others see; the secret "
                "part stays in roost's vault, locked with your passphrase.")

    def rows(self) -> Sequence[Row]:
        from roost.keys import KIND_NAMES, Vault
        from roost.keys.model import WITH_PASSWORD

        out: list[Row] = []
        for info in Vault.public_index(self.ws.home):
            pid = info.public_id
            said = (f"Logs in as {pid}." if info.kind == "login" else f"Public id: {pid}."
                    + (f" In groups: {spoken(pid)}." if spoken(pid) != pid else ""))
            out.append(Row(f"identity:{info.id}", capital(KIND_NAMES.get(info.kind, info.kind)),
                           state="in the vault", detail=f"named {info.id}",
                           extra="Enter exports its files, "
                           + ("p shows its password, " if info.kind in WITH_PASSWORD else "")
                           + f"x removes it. {said}"))
        if not out:
            out.append(Row("none", "No identities yet", state="empty",
                           extra="Make one here, or when a step of your plan needs one."))
        out.append(Row("new", "Make a new identity", state="action, key n"))
        out.append(Row("export", "Export a backup of the vault", state="action, key e"))
        return out

    def activate(self, key: str) -> None:
        if key == "new":
            self.action_new()
        elif key == "export":
            self.action_export()
        elif key.startswith("identity:"):
            self.app.push_screen(ExportIdentityScreen(key.removeprefix("identity:")))

    def action_new(self) -> None:
        self.app.push_screen(KindScreen())

    def action_password(self) -> None:
        from roost.keys import Vault
        from roost.keys.model import WITH_PASSWORD

        row = self.menu.current
        if row is None or not row.key.startswith("identity:"):
            self.say("Move to a login first, then press p to see its password.")
            return
        ident = row.key.removeprefix("identity:")
        kind = next((i.kind for i in Vault.public_index(self.ws.home) if i.id == ident), "")
        if kind not in WITH_PASSWORD:
            self.say(f"{ident} has no password: its secrets are keys. Enter exports them.")
            return
        self.app.push_screen(ShowPasswordScreen(ident))

    def action_remove(self) -> None:
        row = self.menu.current
        if row is None or not row.key.startswith("identity:"):
            self.say("Move to an identity first, then press x to remove it.")
            return
        self.app.push_screen(RemoveIdentityScreen(row.key.removeprefix("identity:")))

    def action_export(self) -> None:
        from roost.keys import Vault

        if not Vault.exists(self.ws.home):
            self.say("There is no vault yet: make an identity first.")
            return
        self.app.push_screen(BackupScreen())


class KindScreen(RoostScreen):
    TITLE = "Make a new identity: which kind?"
    LIST_ID = "identity-kinds"
    ENTER = "choose"
    NAME = "New identity"

    def rows(self) -> Sequence[Row]:
        from roost.keys import KIND_NAMES, KINDS, OPTIONS

        out = []
        for kind in KINDS:
            need = [what for what, required in OPTIONS[kind].values() if required]
            out.append(Row(f"kind:{kind}", capital(KIND_NAMES[kind]),
                           state="asks for " + " and ".join(need) if need else "no questions"))
        return out

    def activate(self, key: str) -> None:
        if key.startswith("kind:"):
            self.app.switch_screen(IdentityFormScreen(key.split(":", 1)[1]))


class IdentityFormScreen(FormScreen):
    NAME = "Identity form"
    SUBMIT = "Make it and keep it in the vault"
    BUSY = "Making the identity and sealing the vault; this takes a few seconds."
    LIST_ID = "identity-form"

    def __init__(self, kind: str) -> None:
        self.kind = kind
        super().__init__()

    def title_text(self) -> str:
        from roost.keys import KIND_NAMES

        return f"Make a new {KIND_NAMES.get(self.kind, self.kind)}"

    def _new_vault(self) -> bool:
        from roost.keys import Vault

        return not Vault.exists(self.ws.home)

    def intro(self) -> str:
        from roost.keys import LOSS_WARNING

        about = ""
        if self.kind == "login":
            from roost.keys.factory import LOGIN_NAMES

            about = LOGIN_NAMES + " "
        if self._new_vault():
            return (about + "This is your first identity: choose the vault's passphrase. "
                    + LOSS_WARNING)
        return about + "Type the vault's passphrase to add the new identity to it."

    def fields(self) -> Sequence[Field]:
        from roost.keys import OPTIONS
        from roost.keys.factory import OWN_PASSWORD

        out = [Field("label", "Name (for you)", value=self.kind)]
        for key, (what, required) in OPTIONS[self.kind].items():
            out.append(Field(key, what[:1].upper() + what[1:] + ("" if required
                                                                   else " (optional)")))
        if self.kind in OWN_PASSWORD:
            out.append(Field("own_password", "Your own password (optional)", password=True))
            out.append(Field("own_again", "Your password again", password=True))
        out.append(Field("passphrase", "Vault passphrase", password=True))
        if self._new_vault():
            out.append(Field("again", "The passphrase again", password=True))
        return out

    def work(self, values: dict[str, str]) -> Callable[[], Any]:
        home = self.ws.home
        kind = self.kind
        new_vault = self._new_vault()
        limits = getattr(self.roost, "kdf_limits", None)
        # Checked before anything is said to be under way (the form says BUSY only once
        # work() has returned): "sealing the vault" must not come before "they differ".
        if values.get("own_password", "") != values.get("own_again", ""):
            raise RoostError("the two passwords differ", hint="type the same one twice, "
                             "or leave both empty and roost makes one")
        if new_vault and values.get("again") != values.get("passphrase", ""):
            raise RoostError("the two passphrases differ", hint="type the same one twice")

        def make() -> str:
            from roost.app.identities import make

            passphrase = values.pop("passphrase", "")
            again = values.pop("again", None)
            own = values.pop("own_password", "")
            own_again = values.pop("own_again", "")
            label = values.pop("label", "")
            if own != own_again or (new_vault and again != passphrase):  # checked above
                raise RoostError("the two passwords differ")
            return make(home, kind, label, values, passphrase=lambda new: passphrase,
                        own_password=own, limits=limits)

        return make

    def done(self, result: Any) -> None:
        self.ws.reload()
        super().done(result)


class BackupScreen(FormScreen):
    NAME = "Vault backup"
    TITLE = "Export a backup of the vault"
    SUBMIT = "Write the backup"
    BUSY = "Opening the vault and writing the backup; this takes a few seconds."
    LIST_ID = "backup-form"

    def intro(self) -> str:
        return ("The backup is sealed with the same passphrase. Keep it on another device: "
                "a USB stick, another computer.")

    def fields(self) -> Sequence[Field]:
        stamp = self.ws.today().strftime("%Y%m%d")
        default = str(self.ws.home / f"roost-keys-{stamp}.backup")
        return [Field("path", "Write it to", value=default),
                Field("passphrase", "Vault passphrase", password=True)]

    def work(self, values: dict[str, str]) -> Callable[[], Any]:
        home = self.ws.home

        def export() -> str:
            from pathlib import Path

            from roost.app.identities import export_backup

            return export_backup(home, Path(values["path"].strip()), values["passphrase"])

        return export


class ExportIdentityScreen(FormScreen):
    """Write one identity's files (an SSH key pair, ~/.ssb/secret, a Tor folder...) where the
    person says, with the right modes; roost never overwrites an existing key file."""

    NAME = "Export an identity"
    SUBMIT = "Write the files"
    BUSY = "Opening the vault and writing the files; this takes a few seconds."
    LIST_ID = "export-form"

    def __init__(self, identity_id: str) -> None:
        self.identity_id = identity_id
        super().__init__()

    def title_text(self) -> str:
        return f"Export the identity {self.identity_id}"

    def intro(self) -> str:
        from roost.keys import Vault
        from roost.keys.export import WHAT

        kind = next((i.kind for i in Vault.public_index(self.ws.home)
                     if i.id == self.identity_id), "")
        what = WHAT.get(kind, "its files")
        return (f"This writes {what}. The files hold the secret key: keep them private; "
                "roost writes them readable by you alone.")

    def fields(self) -> Sequence[Field]:
        default = str(self.ws.home / "export" / self.identity_id)
        return [Field("path", "Write it to", value=default),
                Field("passphrase", "Vault passphrase", password=True)]

    def work(self, values: dict[str, str]) -> Callable[[], Any]:
        home, ident = self.ws.home, self.identity_id

        def export() -> str:
            from pathlib import Path

            from roost.app.identities import export_files

            return export_files(home, ident, Path(values["path"].strip()),
                                values["passphrase"])

        return export


class RemoveIdentityScreen(FormScreen):
    """Remove one identity from the vault. The screen says what is lost; the vault's
    passphrase is the confirmation, and Cancel (or q from the list) keeps it."""

    NAME = "Remove an identity"
    BUSY = "Opening the vault and removing the identity; this takes a few seconds."
    LIST_ID = "remove-form"

    def __init__(self, identity_id: str) -> None:
        self.identity_id = identity_id
        super().__init__()

    def title_text(self) -> str:
        return f"Remove the identity {self.identity_id}?"

    def intro(self) -> str:
        from roost.keys import Vault
        from roost.keys.model import a_kind

        info = next((i for i in Vault.public_index(self.ws.home) if i.id == self.identity_id),
                    None)
        what = f"{a_kind(info.kind)}, {info.public_id}" if info is not None else "an identity"
        return (f"This deletes {self.identity_id} ({what}) and its secrets from the vault. "
                "Only a backup made before can bring it back; services set up with it keep "
                "their accounts. Type the vault's passphrase to remove it, or choose Cancel.")

    def fields(self) -> Sequence[Field]:
        return [Field("passphrase", "Vault passphrase", password=True)]

    def rows(self) -> Sequence[Row]:
        return [Row("submit", f"Remove {self.identity_id} for good", state="action, Enter"),
                Row("cancel", f"Cancel, keep {self.identity_id}", state="action, q")]

    def work(self, values: dict[str, str]) -> Callable[[], Any]:
        home, ident = self.ws.home, self.identity_id

        def remove() -> str:
            from roost.app.identities import remove

            return remove(home, ident, values["passphrase"])

        return remove


class ShowPasswordScreen(FormScreen):
    """A login's password, to log in with: asked for with the vault's passphrase, shown as
    the first line of the list on this screen only, gone when the person leaves it."""

    NAME = "Show a password"
    SUBMIT = "Show the password"
    BUSY = "Opening the vault; this takes a few seconds."
    LIST_ID = "password-form"

    def __init__(self, identity_id: str) -> None:
        self.identity_id = identity_id
        self.password: str | None = None
        super().__init__()

    def title_text(self) -> str:
        return f"The password of {self.identity_id}"

    def intro(self) -> str:
        from roost.keys import Vault

        info = next((i for i in Vault.public_index(self.ws.home) if i.id == self.identity_id),
                    None)
        user = info.public.get("user") or info.public.get("jid") or info.public.get("email") \
            if info is not None else None
        who = f"It logs in as {user}. " if user else ""
        return (f"{who}Type the vault's passphrase to see the password. It stays on this "
                "screen only, until you leave it.")

    def fields(self) -> Sequence[Field]:
        return [Field("passphrase", "Vault passphrase", password=True)]

    def rows(self) -> Sequence[Row]:
        if self.password is None:
            return super().rows()
        return [Row("password", "Password", state=self.password),
                Row("cancel", "Back, and hide it", state="action, q")]

    def work(self, values: dict[str, str]) -> Callable[[], Any]:
        home, ident = self.ws.home, self.identity_id

        def read() -> str:
            from roost.app.identities import password

            return password(home, ident, values["passphrase"])

        return read

    def done(self, result: Any) -> None:
        from textual.widgets import Input

        self.password = str(result)
        for field in self.query(Input):
            field.value = ""
        self.refresh_content()
        self.menu.focus()
        self.say("The password is the first line of the list.")
