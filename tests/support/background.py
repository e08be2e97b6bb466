"""A command left running on a transport in another thread, to cut its connection under it."""

from __future__ import annotations

import threading

from roost.deploy.transport import Transport


def run_in_thread(t: Transport, argv: list[str]) -> tuple[threading.Thread, list[BaseException]]:
    """Start `t.run(argv)` in a thread; the thread and the list that gathers what it raised."""
    errors: list[BaseException] = []

    def run() -> None:
        try:
            t.run(argv)
        except BaseException as exc:
            errors.append(exc)

    th = threading.Thread(target=run)
    th.start()
    return th, errors
