"""The screens of the app; `open_screen` pushes one by name so screens need not import
each other (and the heavy ones load only when opened)."""

from __future__ import annotations

from textual.app import App


def open_screen(app: App[int], name: str, arg: str | None = None) -> None:
    if name == "plan":
        from roost.tui.screens.plan import PlanScreen

        app.push_screen(PlanScreen())
    elif name == "detail" and arg is not None:
        from roost.tui.screens.plan import ServiceScreen

        app.push_screen(ServiceScreen(arg))
    elif name == "assess":
        from roost.tui.screens.assessment import AssessmentScreen

        app.push_screen(AssessmentScreen())
    elif name == "identities":
        from roost.tui.screens.identities import IdentitiesScreen

        app.push_screen(IdentitiesScreen())
    elif name == "hosts":
        from roost.tui.screens.hosts import HostsScreen

        app.push_screen(HostsScreen())
    elif name == "deploy" and arg is not None:
        from roost.tui.screens.deploy import DeployScreen

        app.push_screen(DeployScreen(arg))
    elif name == "reach":
        from roost.tui.screens.reach import ReachScreen

        service, _, host = (arg or "").partition(":")  # "prosody:pi", "prosody", ":pi"
        app.push_screen(ReachScreen(service, host))
    elif name == "reach-tor" and arg is not None:
        from roost.tui.screens.ways_in import OnionScreen

        app.push_screen(OnionScreen(arg))
    elif name == "reach-upnp" and arg is not None:
        from roost.tui.screens.ways_in import UpnpScreen

        app.push_screen(UpnpScreen(arg))
    elif name == "backups":
        from roost.tui.screens.backups import BackupsScreen

        app.push_screen(BackupsScreen())
    elif name == "backup" and arg is not None:
        from roost.tui.screens.backups import BackupFormScreen

        service, _, host = arg.partition(":")  # "prosody:pi"
        app.push_screen(BackupFormScreen(service, host))
    elif name == "restore" and arg is not None:
        from roost.tui.screens.backups import RestoreFormScreen

        app.push_screen(RestoreFormScreen(arg))
    elif name == "home-copy":
        from roost.tui.screens.backups import HomeCopyScreen

        app.push_screen(HomeCopyScreen())
    elif name == "import":
        from roost.tui.screens.importing import ImportFormScreen

        app.push_screen(ImportFormScreen())
    elif name == "settings":
        from roost.tui.screens.settings import SettingsScreen

        app.push_screen(SettingsScreen())
    elif name == "status":
        from roost.tui.screens.status import StatusScreen

        app.push_screen(StatusScreen())
    elif name == "alerts":
        from roost.tui.screens.alerts import AlertsScreen

        app.push_screen(AlertsScreen())
    elif name == "updates":
        from roost.tui.screens.updates import UpdatesScreen

        app.push_screen(UpdatesScreen())
    elif name == "help":
        from roost.tui.screens.settings import HelpScreen

        app.push_screen(HelpScreen(at=arg))  # arg: the screen it was asked from
