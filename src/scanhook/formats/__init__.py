"""Destination formats: what an endpoint receives, shaped for its target (issue 7).

The engine calls :func:`render` for each attempt and sends the :class:`FormattedRequest` it
returns (or records a :class:`Skip`); the API calls :func:`validate_options` when an endpoint is
saved. Every format is a pure function; see ``docs/destinations.md``.
"""

from scanhook.formats.base import (
    FormatContext,
    FormattedRequest,
    Rendered,
    RenderError,
    Skip,
    correlation_key,
)
from scanhook.formats.registry import FORMATS, render, validate_options

__all__ = [
    "FORMATS",
    "FormatContext",
    "FormattedRequest",
    "RenderError",
    "Rendered",
    "Skip",
    "correlation_key",
    "render",
    "validate_options",
]
