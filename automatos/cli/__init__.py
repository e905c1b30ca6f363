"""``automatos …`` commands. Each reads the same settings as the server (environment, current directory).

One module per command group; this one assembles them under :func:`main` (the ``automatos``
entry point). What the commands share (settings, the data-location check and ``--init``, a
started kernel for one command, ``--json`` output discipline) is in :mod:`automatos.cli.common`.

============================  ==================================================
``automatos serve``           :mod:`automatos.cli.serve`
``automatos db …``, ``seed``  :mod:`automatos.cli.db`
``automatos extensions …``    :mod:`automatos.cli.extensions`
``automatos settings …``      :mod:`automatos.cli.settings`
``automatos keys …``          :mod:`automatos.cli.keys`
``automatos plugin …``        :mod:`automatos.cli.plugin`
``automatos admin …``         :mod:`automatos.cli.admin`
``automatos route …``         :mod:`automatos.cli.route`
``automatos worker``,         :mod:`automatos.cli.worker`
``automatos sandbox …``
============================  ==================================================
"""

from __future__ import annotations

import sys

import click

from automatos.cli.admin import admin
from automatos.cli.db import db, seed
from automatos.cli.extensions import extensions
from automatos.cli.keys import keys
from automatos.cli.plugin import plugin
from automatos.cli.route import route
from automatos.cli.serve import serve
from automatos.cli.settings import settings_group
from automatos.cli.worker import sandbox, worker

__all__ = ["main"]


@click.group()
@click.version_option(package_name="automatos")
def main() -> None:
    """Automatos: orchestrate AI agents for many teams at once."""


for _command in (serve, db, seed, extensions, settings_group, keys, plugin, admin, route, worker, sandbox):
    main.add_command(_command)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
