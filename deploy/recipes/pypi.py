"""A Python service installed from PyPI into its own virtual environment on the host (bovine,
Synapse): the environment is made once, and pip runs only when the installed version is not
the one asked for."""

from __future__ import annotations

from roost.deploy.steps.base import Step
from roost.deploy.steps.commands import RunCommand


def pip_install(venv: str, package: str, version: str, version_is: str, *, env_for: str,
                shown: str, free_mb: int) -> list[Step]:
    """Make `venv` (described as a Python environment for `env_for`), then install
    `package`==`version` into it unless `version_is` (a `python -c` script given the version)
    says that version is there. `free_mb`: the room pip needs, named when it fails."""
    python = f"{venv}/bin/python"
    return [
        RunCommand(("python3", "-m", "venv", venv), creates=python,
                   description=f"make a Python environment for {env_for}"),
        RunCommand((f"{venv}/bin/pip", "install", "-q", "--disable-pip-version-check",
                    f"{package}=={version}"),
                   unless=(python, "-c", version_is, version), timeout=1800,
                   description=f"install {shown} {version} from PyPI",
                   on_failure=f"check that the host reaches pypi.org and has {free_mb} MB free"),
    ]
