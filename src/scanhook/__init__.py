"""scanhook: a Security Center's scan and ticket notifications, delivered as signed webhooks.

``scanhook.Hub`` is the embedding API (loaded on first use, so that importing
``scanhook.notifications`` alone stays light); ``scanhook.notifications`` holds the models.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from scanhook._version import __version__
    from scanhook.hub import Hub

__all__ = ["Hub", "__version__"]


def __getattr__(name: str) -> Any:
    if name == "Hub":
        from scanhook.hub import Hub

        return Hub
    if name == "__version__":
        # Reading the distribution's metadata costs tens of milliseconds: only when asked.
        from scanhook._version import __version__

        return __version__
    raise AttributeError(f"module 'scanhook' has no attribute {name!r}")
