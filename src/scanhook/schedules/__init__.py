"""Scan schedules (issue 6): recurrences, leads and the notices they produce.

A pure library: no storage, no clock, no I/O. The scheduler, the store and the API call it.
"""

from scanhook.schedules.leads import MAX_LEAD, Lead, parse_lead
from scanhook.schedules.recurrence import (
    CronRecurrence,
    Recurrence,
    RRuleRecurrence,
    explicit_zone,
    parse_recurrence,
)

__all__ = [
    "MAX_LEAD",
    "CronRecurrence",
    "Lead",
    "RRuleRecurrence",
    "Recurrence",
    "explicit_zone",
    "parse_lead",
    "parse_recurrence",
]
