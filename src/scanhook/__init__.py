"""scanhook: a Security Center's scan and ticket notifications, delivered as signed webhooks."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("scanhook")
except PackageNotFoundError:  # pragma: no cover - only when run from a bare source tree
    __version__ = "0.0.0"

__all__ = ["__version__"]
