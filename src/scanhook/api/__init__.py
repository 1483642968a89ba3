"""scanhook's HTTP API: a FastAPI application over a :class:`scanhook.Hub`.

``create_app(hub)`` gives the ASGI application; ``scanhook serve`` and ``scanhook api`` run it on
uvicorn, and embedding programs can mount it in their own server. It loads on first use, so that
the light parts of this package (the response models) do not bring in FastAPI.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from scanhook.api.app import create_app

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from scanhook.api.app import create_app

        return create_app
    raise AttributeError(f"module 'scanhook.api' has no attribute {name!r}")
