"""A webhook receiver for integrators and the demo: verifies Standard Webhooks signatures,
reports each request, and answers with a chosen status (or fails some) to rehearse failures.

``scanhook listen`` runs it from the command line; :class:`Receiver` runs it inside a program.
"""

from __future__ import annotations

from scanhook.receiver.app import Received, Receiver, ReceiverOptions, receiver_app
from scanhook.receiver.summary import key_fields

__all__ = ["Received", "Receiver", "ReceiverOptions", "key_fields", "receiver_app"]
