"""`hello`: a demo recipe that only writes files and runs commands — no packages, no services.

It proves the engine end to end anywhere (even in a temporary folder with `--option
root=/tmp/x`): a folder, a rendered greeting, a command that runs once, and a health check.
"""

from __future__ import annotations

from collections.abc import Mapping

from roost.deploy.options import recipe_options
from roost.deploy.recipe import (
    Identities,
    Recipe,
    TargetHost,
    register,
    take_options,
)
from roost.deploy.steps import EnsureDir, RemovePath, RenderTemplate, RunCommand, WaitHealth

SERVICE = "hello"
"""The catalog id this recipe installs: its registry name, options and journal."""
OPTIONS = recipe_options(SERVICE)
"""Declared in recipes/options.toml; `roost deploy ID --help` lists them."""


@register(SERVICE)
def build_hello(facts: TargetHost | None, options: Mapping[str, str],
                identities: Identities) -> Recipe:
    o = take_options(options, OPTIONS, SERVICE)
    root = o["root"].rstrip("/") or "/"
    greeting = f"{root}/greeting.txt"
    return Recipe(
        id=SERVICE,
        service_id=SERVICE,
        title="the hello demo",
        steps=(
            EnsureDir(root, mode=0o755),
            RenderTemplate(greeting, template="hello.txt", values={"name": o["name"]},
                           mode=0o644),
            RunCommand(("cp", "--", greeting, f"{root}/greeting.copy"),
                       creates=f"{root}/greeting.copy",
                       description="copy the greeting once"),
        ),
        health=WaitHealth("check the greeting is there", argv=("test", "-s", greeting),
                          timeout=5, interval=0.2),
        next_steps=(f"Read {greeting} on the host.",),
        uninstall=(RemovePath(f"{root}/greeting.copy"), RemovePath(greeting)),
        purge=(RemovePath(root),),
    )
