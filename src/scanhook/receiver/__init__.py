"""A webhook receiver for integrators and the demo: verifies Standard Webhooks signatures,
reports each request, and answers with a chosen status (or fails some) to rehearse failures.

``scanhook listen`` runs it from the command line; :class:`scanhook.receiver.app.Receiver` runs it
inside a program; :mod:`scanhook.receiver.summary` picks a notification's key fields. (Nothing is
imported here, so that the command line starts without loading the web server.)
"""

from __future__ import annotations

__all__: list[str] = []
