"""A MariaDB database for a PHP service run as www-data (friendica, wordpress), reached over
the local socket without a password (unix_socket): the steps that make it, and its port."""

from __future__ import annotations

from roost.deploy.recipe import Port
from roost.deploy.steps.base import Step
from roost.deploy.steps.commands import RunCommand
from roost.deploy.steps.services import EnableService

PORT = Port(3306, units=("mariadb", "mysql"), option=None)
"""MariaDB's port, the service's own (no option moves it)."""


def database_steps(name: str, sql: bytes) -> list[Step]:
    """Start MariaDB and run `sql` (makes database `name` and lets www-data in), unless
    www-data can already use the database."""
    return [
        EnableService("mariadb"),
        RunCommand(("mysql",), stdin=sql,
                   unless=("runuser", "-u", "www-data", "--", "mysql", name, "-e", "SELECT 1"),
                   description="make the database, reached by www-data over the socket"),
    ]
