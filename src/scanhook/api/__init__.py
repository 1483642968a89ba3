"""scanhook's HTTP API (contract §6): a FastAPI application over a :class:`scanhook.Hub`.

``create_app(hub)`` gives the ASGI application; ``scanhook serve`` and ``scanhook api`` run it on
uvicorn, and embedding programs can mount it in their own server.
"""

from __future__ import annotations

from scanhook.api.app import create_app

__all__ = ["create_app"]
