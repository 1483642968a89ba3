"""A small, safe expression language that selects which notifications an endpoint receives.

``compile_filter('ticket.severity in ["High", "Critical"]').matches(notification)``. Expressions
are tokenized, parsed and type-checked against the notification models; nothing is ever passed
to ``eval``. See ``docs/destinations.md`` for the language.
"""

from scanhook.filters.errors import FilterError
from scanhook.filters.fields import FIELDS, SEVERITY_ORDER
from scanhook.filters.filter import Filter, compile_filter

__all__ = ["FIELDS", "SEVERITY_ORDER", "Filter", "FilterError", "compile_filter"]
