"""The one root of scanhook's exceptions. Each class's docstring is its message."""

from __future__ import annotations

__all__ = [
    "ConfigurationError",
    "ConflictError",
    "DatabaseError",
    "InvalidNotification",
    "InvalidRequest",
    "NotFound",
    "ScanhookError",
    "StorageFull",
]


class ScanhookError(Exception):
    """scanhook failed."""

    def __init__(self, message: str | None = None) -> None:
        self.message = message or (self.__doc__ or "").strip()
        super().__init__(self.message)


class InvalidNotification(ScanhookError):
    """The notification is not valid."""

    def __init__(self, problems: list[dict[str, object]], message: str | None = None) -> None:
        #: One entry per problem: ``{"field": "finished_scan.low_cnt", "message": …, "value": …}``.
        self.problems = problems
        if message is None:
            message = "; ".join(f"{p['field']}: {p['message']}" for p in problems)
        super().__init__(message)


class InvalidRequest(ScanhookError):
    """The request is not valid."""

    def __init__(self, message: str | None = None, *, field: str | None = None) -> None:
        self.field = field
        super().__init__(message)


class NotFound(ScanhookError):
    """No such object."""


class ConflictError(ScanhookError):
    """The request conflicts with the current state."""


class ConfigurationError(ScanhookError):
    """The configuration is not valid."""


class DatabaseError(ScanhookError):
    """The database failed; the operation was not carried out."""


class StorageFull(DatabaseError):
    """The database's storage is full; the operation was not carried out."""


class WorkersRunElsewhere(ScanhookError):
    """Another process runs delivery workers on this database, which allows only one."""
