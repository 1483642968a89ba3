"""scanhook's version, from the installed distribution's metadata (a module of its own, so that
any layer can read it without importing the package root, which re-exports the Hub)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

__all__ = ["__version__"]

try:
    __version__ = version("scanhook")
except PackageNotFoundError:  # pragma: no cover - only when run from a bare source tree
    __version__ = "0.0.0"
