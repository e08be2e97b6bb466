"""Typed recipe steps: each knows what it does, how to tell whether it is already done, and how
to do it. One module per domain, all re-exported here (`from roost.deploy.steps import X`):

- `base`: `Secret`, `StepContext`, `StepError`, `Step`, argument checks and the fixed scripts;
- `packages`: `InstallPackages`, `RemovePackages`;
- `files`: `WriteFile`, `RenderTemplate`, `EnsureDir`, `RemovePath`;
- `accounts`: `EnsureUser`, `CreateAccount`;
- `services`: `EnableService`, `DisableService`, `Restart` (the one restart mechanism);
- `commands`: `RunCommand`;
- `health`: `WaitHealth`, `HealthResult`.

See `base` for what every step has (describe, commands, check, apply).
"""

from __future__ import annotations

from collections.abc import Iterable

from roost.deploy.steps.accounts import (
    CreateAccount,
    EnsureUser,
)
from roost.deploy.steps.base import (
    ADD_USER,
    DIR_STATE,
    FILE_STATE,
    PATH_EXISTS,
    RESTART,
    RESTART_DONE,
    RESTART_RECORD,
    SERVICE_ENABLE,
    SERVICE_STATE,
    SH,
    WATCH_HASH,
    Data,
    Secret,
    SecretValues,
    Step,
    StepContext,
    StepError,
    ctx_free_bytes,
    load_script,
    program_name,
    script,
    shell_text,
    step_key,
)
from roost.deploy.steps.commands import (
    RunCommand,
)
from roost.deploy.steps.files import (
    EnsureDir,
    RemovePath,
    RenderTemplate,
    WriteFile,
    load_template,
    render,
)
from roost.deploy.steps.health import (
    HealthResult,
    WaitHealth,
)
from roost.deploy.steps.packages import (
    InstallPackages,
    RemovePackages,
)
from roost.deploy.steps.services import (
    DisableService,
    EnableService,
    Restart,
)


def describe_all(steps: Iterable[Step]) -> list[str]:
    return [s.describe() for s in steps]


__all__ = [
    "ADD_USER",
    "DIR_STATE",
    "FILE_STATE",
    "PATH_EXISTS",
    "RESTART",
    "RESTART_DONE",
    "RESTART_RECORD",
    "SERVICE_ENABLE",
    "SERVICE_STATE",
    "SH",
    "WATCH_HASH",
    "CreateAccount",
    "Data",
    "DisableService",
    "EnableService",
    "EnsureDir",
    "EnsureUser",
    "HealthResult",
    "InstallPackages",
    "RemovePackages",
    "RemovePath",
    "RenderTemplate",
    "Restart",
    "RunCommand",
    "Secret",
    "SecretValues",
    "Step",
    "StepContext",
    "StepError",
    "WaitHealth",
    "WriteFile",
    "ctx_free_bytes",
    "describe_all",
    "load_script",
    "load_template",
    "program_name",
    "render",
    "script",
    "shell_text",
    "step_key",
]
