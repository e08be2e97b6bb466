"""`counter`: a recipe of N small steps for fault-injection tests and the overhead benchmark.

Most steps run a command that appends its own name to `<root>/applied.log` (so a test can
count how often each step was applied); every tenth writes a file. Not in the registry of
services: build it with `counter_recipe()`.
"""

from __future__ import annotations

from roost.deploy.recipe import Recipe
from roost.deploy.steps import EnsureDir, RunCommand, Step, WriteFile

APPEND = 'echo "$1" >> "$2"'
APPEND_SLOW = 'sleep "$3"; echo "$1" >> "$2"'


def append_argv(root: str, i: int, delay: float = 0.0) -> tuple[str, ...]:
    """The command step `i` runs (the benchmark runs the same one by other means)."""
    log = f"{root}/applied.log"
    if delay > 0:
        return ("sh", "-c", APPEND_SLOW, "sh", f"step{i}", log, f"{delay:g}")
    return ("sh", "-c", APPEND, "sh", f"step{i}", log)


def counter_recipe(root: str, n: int = 50, delay: float = 0.0, files: bool = True) -> Recipe:
    steps: list[Step] = [EnsureDir(root, mode=0o755)]
    for i in range(1, n):
        if files and i % 10 == 5:
            steps.append(WriteFile(f"{root}/file{i}.txt", f"content of file {i}\n" * 50,
                                   mode=0o640))
        else:
            steps.append(RunCommand(append_argv(root, i, delay), description=f"append step {i}"))
    return Recipe(id="counter", service_id="counter", title=f"the {n}-step counter",
                  steps=tuple(steps), sudo=False)
