"""What the app keeps for its routes: the Hub it was created with (``create_app(hub)``)."""

from __future__ import annotations

from fastapi import Request

from scanhook.hub import Hub

__all__ = ["hub_of"]


def hub_of(request: Request) -> Hub:
    """The Hub of the app serving ``request``."""
    hub: Hub = request.app.state.hub
    return hub
