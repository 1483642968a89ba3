"""scanhook's command line: a thin shell over the packages that do the work.

Each group of commands lives in its own module with a ``register(app)`` function; this module
puts them on the root :data:`app`. ``main`` is the ``scanhook`` console script.
"""

from __future__ import annotations

from scanhook.cli import (
    admin,
    demo,
    emit,
    endpoints,
    listen,
    notifications,
    operating,
    run,
    schedules,
    secrets,
    serve,
)
from scanhook.cli.app import app

__all__ = ["app", "main"]

notifications.register(app)
endpoints.register(app)
schedules.register(app)
emit.register(app)
operating.register(app)
admin.register(app)
secrets.register(app)
listen.register(app)
run.register(app)
serve.register(app)
demo.register(app)


def main() -> None:
    """Run the ``scanhook`` command."""
    app()
