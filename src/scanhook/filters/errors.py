"""The one error of the filter language."""

from __future__ import annotations

from scanhook.errors import ScanhookError

__all__ = ["FilterError"]


class FilterError(ScanhookError):
    """The filter expression is not valid."""

    def __init__(self, problem: str, position: int) -> None:
        #: 1-based column of the offending character or token in the filter text.
        self.position = position
        #: The problem without its position, e.g. ``unknown field 'ticket.severty'``.
        self.problem = problem
        super().__init__(f"column {position}: {problem}")
