"""Destination formats: what an endpoint receives, shaped for its target.

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
from scanhook.formats.outcomes import (
    Failure,
    classify_failure,
    describe_failure,
    extract_remote_id,
)
from scanhook.formats.registry import FORMATS, render, validate_options

__all__ = [
    "FORMATS",
    "Failure",
    "FormatContext",
    "FormattedRequest",
    "RenderError",
    "Rendered",
    "Skip",
    "classify_failure",
    "correlation_key",
    "describe_failure",
    "extract_remote_id",
    "render",
    "validate_options",
]
